//! Heap addresses indexed by loop counters: a pass over a translated function that proves
//! from the bounds of its loops' counters that a 32-bit memory's index sum does not wrap,
//! and gives the sum's terms to the addressing mode.
//!
//! [`super::index_bounds`] splits an index while the function is translated, from the
//! instructions that define it; a loop's counter is a block parameter, whose values on the
//! back edges are not known yet then. C's `for (i = 0; i != n; i++) d[i] = s[i]` reaches
//! wasm as `s + i` and `d + i`, wrapping `i32.add`s: a 32-bit `lea` per access before the
//! access at `base + zext(s + i)`. Once the function is complete, a counter's bound follows
//! from the edges into its loop header: the entry edges give their values' bounds, and a
//! back edge that passes `i + c` must be a conditional branch that takes it only when
//! `i + c <u K` (or `<=u`), or `i + c != K` for a constant `K` that every constant start
//! below it reaches in steps of `c` (then `i + c` never passes `K`). With both terms of
//! `s + i` bounded so that the sum fits in 32 bits, `zext(s + i) = zext(s) + zext(i)`, and
//! the access is at `(base + zext(s)) + zext(i)` plus the constants in its offset: the
//! first sum is loop-invariant (Cranelift hoists it) and the second is the addressing mode.
//!
//! Only plain loads and stores of 32-bit memories whose address is still
//! `base + zext(index)` are rewritten (an access behind a Spectre guard's select keeps its
//! form); the bounds check, if any, still tests the original index, and both forms compute
//! the same address. Stores take no scaled index (see [`super::index_bounds`] for what that
//! cost them on an AMD EPYC).

use cranelift_codegen::cursor::{Cursor, FuncCursor};
use cranelift_codegen::entity::{EntityRef, SecondaryMap};
use cranelift_codegen::ir::condcodes::{CondCode, IntCC};
use cranelift_codegen::ir::{
    types, Block, Function, Inst, InstBuilder, InstructionData, Opcode, Value, ValueDef,
};

use super::index_bounds::{all_ones_up_to, def, iconst, op_const};

/// How many definitions deep a bound is sought.
const MAX_DEPTH: u32 = 8;

/// How many terms of an index sum are split off, at most: the addressing mode takes the
/// base and one register, and one more term is a loop-invariant add.
const MAX_TERMS: usize = 2;

/// A heap access recorded while translating, for [`widen_loop_indices`].
#[derive(Clone, Copy)]
pub(super) struct Access {
    /// The load or store.
    pub inst: Inst,
    /// Whether it is a store (stores take no scaled index).
    pub store: bool,
}

/// Rewrites the addresses of `accesses` in `func` whose index sum provably does not wrap
/// (see the module docs).
pub(super) fn widen_loop_indices(func: &mut Function, accesses: &[Access]) {
    if accesses.is_empty() {
        return;
    }
    let mut bounds = Bounds::new(func);
    let mut rewrites = Vec::new();
    for access in accesses {
        if let Some(rewrite) = plan(func, &mut bounds, *access) {
            rewrites.push(rewrite);
        }
    }
    for rewrite in rewrites {
        apply(func, rewrite);
    }
}

/// A planned address: `base + terms + offset`.
struct Rewrite {
    inst: Inst,
    base: Value,
    /// The terms to widen, each `(value, shift)`: `zext(value) << shift`.
    terms: Vec<(Value, u8)>,
    offset: i32,
}

/// The address `access` should take, if its index splits.
fn plan(func: &Function, bounds: &mut Bounds, access: Access) -> Option<Rewrite> {
    let dfg = &func.dfg;
    let (addr, offset) = match dfg.insts[access.inst] {
        InstructionData::Load { arg, offset, .. } if !access.store => (arg, offset),
        InstructionData::Store { args, offset, .. } if access.store => (args[1], offset),
        _ => return None,
    };
    let add = def(dfg, addr).filter(|&i| dfg.insts[i].opcode() == Opcode::Iadd)?;
    let [base, wide] = *dfg.inst_args(add) else {
        return None;
    };
    let narrow = def(dfg, wide).filter(|&i| dfg.insts[i].opcode() == Opcode::Uextend)?;
    let index = dfg.inst_args(narrow)[0];
    if dfg.value_type(index) != types::I32 || dfg.value_type(wide) != types::I64 {
        return None;
    }
    let mut terms = Vec::new();
    let constant = bounds.split(index, 2, &mut terms);
    if terms.len() > MAX_TERMS || (terms == [index] && constant == 0) {
        return None;
    }
    let offset =
        i32::try_from(i64::from(i32::from(offset)) + i64::try_from(constant).ok()?).ok()?;
    // A loop's counter last: `base + the other term` is then the loop-invariant sum.
    terms.sort_by_key(|&t| matches!(dfg.value_def(t), ValueDef::Param(..)));
    let terms = terms
        .into_iter()
        .map(|t| match op_const(dfg, t, Opcode::Ishl) {
            Some((y, k))
                if !access.store
                    && (1..=3).contains(&k)
                    && bounds.bound(y, MAX_DEPTH) << k <= u64::from(u32::MAX) =>
            {
                (y, k as u8)
            }
            _ => (t, 0),
        })
        .collect();
    Some(Rewrite {
        inst: access.inst,
        base,
        terms,
        offset,
    })
}

/// Gives `rewrite.inst` its new address.
fn apply(func: &mut Function, rewrite: Rewrite) {
    let mut pos = FuncCursor::new(func).at_inst(rewrite.inst);
    let mut addr = rewrite.base;
    for (term, shift) in rewrite.terms {
        let mut wide = pos.ins().uextend(types::I64, term);
        if shift > 0 {
            wide = pos.ins().ishl_imm_u(wide, i64::from(shift));
        }
        addr = pos.ins().iadd(addr, wide);
    }
    match &mut func.dfg.insts[rewrite.inst] {
        InstructionData::Load { arg, offset, .. } => {
            *arg = addr;
            *offset = rewrite.offset.into();
        }
        InstructionData::Store { args, offset, .. } => {
            args[1] = addr;
            *offset = rewrite.offset.into();
        }
        _ => unreachable!("only loads and stores are planned"),
    }
}

/// Upper bounds of a function's integer values as unsigned numbers, block parameters
/// included (memoized: each value's bound is sought once).
struct Bounds<'a> {
    func: &'a Function,
    /// The bounds found so far, by value (dense maps: most functions ask about a few values
    /// near each access, and a hash of every key cost more than the search itself).
    known: SecondaryMap<Value, Option<u64>>,
    /// Each block's incoming edges: the branch and the successor's position in it. Built on
    /// the first question about a block parameter, which most functions never ask.
    edges: Option<Edges>,
}

/// The incoming edges of every block of a function, in one list ordered by target block:
/// two allocations, not one per block (most blocks have one or two edges; sqlite's compile
/// executes 0.27% fewer instructions than with a vector per block).
struct Edges {
    /// Where each block's edges start in `list`, by block number; one more entry at the end.
    start: Vec<u32>,
    /// The edges: the branch and the successor's position in it.
    list: Vec<(Inst, usize)>,
}

impl Edges {
    /// The edges of `func`, each block's in the layout order of their branches.
    fn new(func: &Function) -> Self {
        let dfg = &func.dfg;
        let branches = || {
            func.layout
                .blocks()
                .filter_map(|block| func.layout.last_inst(block))
        };
        let targets = |branch: Inst| {
            dfg.insts[branch]
                .branch_destination(&dfg.jump_tables, &dfg.exception_tables)
                .iter()
                .map(|call| call.block(&dfg.value_lists).index())
        };
        // Each block's count at the next block's entry, then running sums: where each
        // block's edges start.
        let mut start = vec![0u32; dfg.num_blocks() + 1];
        for branch in branches() {
            for target in targets(branch) {
                start[target + 1] += 1;
            }
        }
        for i in 1..start.len() {
            start[i] += start[i - 1];
        }
        let mut next = start.clone();
        let mut list = vec![(Inst::from_u32(0), 0); start[start.len() - 1] as usize];
        for branch in branches() {
            for (i, target) in targets(branch).enumerate() {
                list[next[target] as usize] = (branch, i);
                next[target] += 1;
            }
        }
        Edges { start, list }
    }

    /// The incoming edges of `block`.
    fn of(&self, block: Block) -> &[(Inst, usize)] {
        let i = block.index();
        &self.list[self.start[i] as usize..self.start[i + 1] as usize]
    }
}

impl<'a> Bounds<'a> {
    fn new(func: &'a Function) -> Self {
        Self {
            func,
            known: SecondaryMap::with_capacity(func.dfg.num_values()),
            edges: None,
        }
    }

    /// Splits the `i32` `value` into terms whose sum (with the returned constant) does not
    /// wrap, appending them to `terms`, at most `depth` additions deep.
    fn split(&mut self, value: Value, depth: u32, terms: &mut Vec<Value>) -> u64 {
        let func: &'a Function = self.func;
        let dfg = &func.dfg;
        if let Some(c) = iconst(dfg, value) {
            return c;
        }
        let sum = def(dfg, value).filter(|&i| dfg.insts[i].opcode() == Opcode::Iadd);
        if let (Some(sum), true) = (sum, depth > 0) {
            let [a, b] = *dfg.inst_args(sum) else {
                unreachable!("iadd has two operands")
            };
            if self.bound(a, MAX_DEPTH) + self.bound(b, MAX_DEPTH) <= u64::from(u32::MAX) {
                return self.split(a, depth - 1, terms) + self.split(b, depth - 1, terms);
            }
        }
        terms.push(value);
        0
    }

    /// An upper bound of integer `value` (at most 64 bits) as an unsigned number, from its
    /// definition `depth` levels deep; the type's maximum when nothing better is known.
    fn bound(&mut self, value: Value, depth: u32) -> u64 {
        let value = self.func.dfg.resolve_aliases(value);
        let ty_max = match self.func.dfg.value_type(value).bits() {
            bits @ 1..=64 => u64::MAX >> (64 - bits),
            _ => return u64::MAX,
        };
        if let Some(known) = self.known[value] {
            return known;
        }
        if depth == 0 {
            return ty_max;
        }
        // A cycle through a block parameter finds this first: nothing known.
        self.known[value] = Some(ty_max);
        let found = self.compute(value, depth, ty_max).min(ty_max);
        self.known[value] = Some(found);
        found
    }

    fn compute(&mut self, value: Value, depth: u32, ty_max: u64) -> u64 {
        let func: &'a Function = self.func;
        let dfg = &func.dfg;
        if let Some(c) = iconst(dfg, value) {
            return c;
        }
        let inst = match dfg.value_def(value) {
            ValueDef::Result(inst, 0) => inst,
            ValueDef::Param(block, index) => return self.counter(block, index, value, depth),
            _ => return ty_max,
        };
        let bits = u64::from(dfg.value_type(value).bits());
        let shift = |v| iconst(dfg, v).map(|k| k % bits);
        let mut bound = |v| self.bound(v, depth - 1);
        match (dfg.insts[inst].opcode(), dfg.inst_args(inst)) {
            (Opcode::Band, [a, b]) => bound(*a).min(bound(*b)),
            (Opcode::Bor | Opcode::Bxor, [a, b]) => all_ones_up_to(bound(*a) | bound(*b)),
            (Opcode::Iadd, [a, b]) => bound(*a).saturating_add(bound(*b)),
            (Opcode::Imul, [a, b]) => bound(*a).saturating_mul(bound(*b)),
            (Opcode::Ushr, [a, b]) => match shift(*b) {
                Some(k) => bound(*a) >> k,
                None => ty_max,
            },
            (Opcode::Ishl, [a, b]) => match shift(*b) {
                Some(k) => bound(*a).saturating_mul(1 << k),
                None => ty_max,
            },
            (Opcode::Uextend | Opcode::Ireduce, [a]) => bound(*a),
            (Opcode::Uload8, _) => 0xff,
            (Opcode::Uload16, _) => 0xffff,
            (Opcode::Uload32, _) => 0xffff_ffff,
            _ => ty_max,
        }
    }

    /// The bound of `param`, parameter `index` of `block`, as a loop counter (see the module
    /// docs): the largest of its entry values' bounds and of what its back edges allow.
    fn counter(&mut self, block: Block, index: usize, param: Value, depth: u32) -> u64 {
        let unknown = u64::MAX;
        let func: &'a Function = self.func;
        let edges = self.edges.get_or_insert_with(|| Edges::new(func)).of(block);
        if edges.is_empty() {
            return unknown;
        }
        let mut starts = Vec::new();
        let mut steps = Vec::new();
        let dfg = &func.dfg;
        for &(branch, successor) in edges {
            let call = dfg.insts[branch]
                .branch_destination(&dfg.jump_tables, &dfg.exception_tables)[successor];
            let Some(arg) = call.args(&dfg.value_lists).nth(index) else {
                return unknown;
            };
            let Some(arg) = arg.as_value() else {
                return unknown;
            };
            let arg = dfg.resolve_aliases(arg);
            match stepped(dfg, arg, param) {
                Some(step) => steps.push((branch, successor, arg, step)),
                None => starts.push(arg),
            }
        }
        let mut bound = 0;
        for &start in &starts {
            bound = bound.max(self.bound(start, depth - 1));
        }
        // Every start a constant and every back edge `!= K` with one `K` and step.
        let mut exact: Option<(u64, u64)> = None;
        for (branch, successor, arg, step) in steps {
            let Some((cc, limit)) = taken_when(dfg, branch, successor, arg) else {
                return unknown;
            };
            match cc {
                IntCC::UnsignedLessThan => match self.bound(limit, depth - 1) {
                    0 => return unknown,
                    k => bound = bound.max(k - 1),
                },
                IntCC::UnsignedLessThanOrEqual => {
                    bound = bound.max(self.bound(limit, depth - 1));
                }
                IntCC::NotEqual => {
                    let Some(k) = iconst(dfg, limit) else {
                        return unknown;
                    };
                    if exact.is_some_and(|e| e != (k, step)) {
                        return unknown;
                    }
                    exact = Some((k, step));
                }
                _ => return unknown,
            }
        }
        if let Some((k, step)) = exact {
            // Counting up from below `k`, `i + step` meets `k` exactly and no value passes it.
            for &start in &starts {
                match iconst(dfg, start) {
                    Some(s) if step >= 1 && s < k && (k - s) % step == 0 => {}
                    _ => return unknown,
                }
            }
            bound = bound.max(k - step);
        }
        bound
    }
}

/// `c` when `value = param + iconst c` (as a 32-bit step, `c` not 0).
fn stepped(dfg: &cranelift_codegen::ir::DataFlowGraph, value: Value, param: Value) -> Option<u64> {
    let inst = def(dfg, value)?;
    if dfg.insts[inst].opcode() != Opcode::Iadd {
        return None;
    }
    let [x, y] = *dfg.inst_args(inst) else {
        return None;
    };
    let (x, y) = (dfg.resolve_aliases(x), dfg.resolve_aliases(y));
    let c = if x == param {
        iconst(dfg, y)?
    } else if y == param {
        iconst(dfg, x)?
    } else {
        return None;
    };
    (c != 0).then_some(c)
}

/// The condition under which `branch` takes its successor `successor`, as `arg cc limit`,
/// when `branch` is a `brif` on an `icmp` of `arg` (either side).
fn taken_when(
    dfg: &cranelift_codegen::ir::DataFlowGraph,
    branch: Inst,
    successor: usize,
    arg: Value,
) -> Option<(IntCC, Value)> {
    let InstructionData::Brif { arg: cond, .. } = dfg.insts[branch] else {
        return None;
    };
    let compare = def(dfg, cond)?;
    let InstructionData::IntCompare { cond: cc, args, .. } = dfg.insts[compare] else {
        return None;
    };
    let [x, y] = args.map(|v| dfg.resolve_aliases(v));
    let (cc, limit) = if x == arg {
        (cc, y)
    } else if y == arg {
        (cc.swap_args(), x)
    } else {
        return None;
    };
    // The `else` successor runs when the compare is false.
    let cc = if successor == 0 { cc } else { cc.complement() };
    Some((cc, limit))
}
