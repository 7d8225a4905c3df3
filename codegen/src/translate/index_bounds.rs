//! Heap addresses that x86-64 and aarch64 addressing modes absorb, from upper bounds of the
//! 32-bit index read off the instructions that compute it.
//!
//! A 32-bit memory's access at `index = a + c` (wasm's `i32.add`, wrapping) is at
//! `base + zext(a + c)`, which takes a 32-bit add (`lea`) and then the access: the add
//! must wrap, so it cannot join the base in the addressing mode. When `a` is known to be at
//! most `2^32 - 1 - c` the add never wraps, `zext(a + c) = zext(a) + c`, and the constant
//! goes into the access's static offset. Likewise `zext(y << k)` for `k <= 3` equals
//! `zext(y) << k` when `y << k` does not overflow, which the addressing mode scales
//! (`(base, y, 4)` for `table[i]` of 4-byte entries). C compilers emit exactly this shape
//! for a global array indexed by a masked or byte-sized value (`table[(crc ^ b) & 0xff]`,
//! `regs[op.a]`, `t[h & mask]`). Only the address changes; the bounds check (if any) still
//! tests the original index, and both compute the same number.
//!
//! Only plain loads take the split form. Stores through a base + scaled index +
//! displacement address measured slower: the bench's interpreter kernel, whose register
//! file and memory are stored and reloaded at such addresses, ran 1.38x slower on an AMD
//! EPYC with its stores split (0.96-0.99x wasmtime with loads only), though it executed 1%
//! fewer instructions. Atomic accesses keep the plain form too.
//!
//! The bounds come from the defining instructions only (constants, `band`, `ushr`, `bor`,
//! `bxor`, `ishl`, `iadd`, narrow unsigned loads and `uextend`s), a few levels deep; a block
//! parameter (a loop variable) or anything else is unbounded (`u32::MAX`).

use cranelift_codegen::ir::{types, DataFlowGraph, InstBuilder, Opcode, Value, ValueDef};

use super::block_values::Computed;
use super::FuncTranslator;

/// How many definitions deep a bound is sought: enough for `((x & m) ^ y) << 2`, and a
/// small cost per access.
const MAX_DEPTH: u32 = 4;

impl FuncTranslator<'_, '_> {
    /// An access's `i64` index as an `i64` to add to the memory's base and a constant to
    /// add to the access's static offset, their sum equal to `index` (see the module docs).
    /// Only a zero-extended 32-bit index is split; any other is returned whole.
    pub(super) fn split_index(&mut self, index: Value) -> (Value, u64) {
        let dfg = &self.builder.func.dfg;
        let narrow = match def(dfg, index) {
            Some(inst) if dfg.insts[inst].opcode() == Opcode::Uextend => dfg.inst_args(inst)[0],
            _ => return (index, 0),
        };
        if dfg.value_type(narrow) != types::I32 {
            return (index, 0);
        }
        match iadd_const(dfg, narrow) {
            // Both terms are below 2^32: the sum fits.
            Some((a, c)) if upper_bound(dfg, a, MAX_DEPTH) + c <= u64::from(u32::MAX) => {
                (self.widen_index32(a), c)
            }
            _ => match self.scaled_index32(narrow) {
                Some(wide) => (wide, 0),
                None => (index, 0),
            },
        }
    }

    /// `zext(index)` of an `i32` as an `i64`, as [`Self::scaled_index32`] computes it if it
    /// can.
    fn widen_index32(&mut self, index: Value) -> Value {
        match self.scaled_index32(index) {
            Some(wide) => wide,
            None => self.reuse(Computed::Uextend(index)),
        }
    }

    /// `zext(index)` of an `i32` computed as `zext(y) << k`, when `index = y << k` with
    /// `k <= 3` does not overflow, so that the addressing mode does the shift.
    fn scaled_index32(&mut self, index: Value) -> Option<Value> {
        let dfg = &self.builder.func.dfg;
        let scaled = op_const(dfg, index, Opcode::Ishl).filter(|&(y, k)| {
            (1..=3).contains(&k) && upper_bound(dfg, y, MAX_DEPTH) << k <= u64::from(u32::MAX)
        });
        let (y, k) = scaled?;
        let y = self.reuse(Computed::Uextend(y));
        Some(self.builder.ins().ishl_imm_u(y, k as i64))
    }
}

/// `value`'s defining instruction, if it has one.
pub(super) fn def(dfg: &DataFlowGraph, value: Value) -> Option<cranelift_codegen::ir::Inst> {
    match dfg.value_def(value) {
        ValueDef::Result(inst, 0) => Some(inst),
        _ => None,
    }
}

/// The value of an `iconst`, as its type's unsigned bits.
pub(super) fn iconst(dfg: &DataFlowGraph, value: Value) -> Option<u64> {
    let inst = def(dfg, value)?;
    let bits = dfg.value_type(value).bits();
    match dfg.insts[inst] {
        cranelift_codegen::ir::InstructionData::UnaryImm {
            opcode: Opcode::Iconst,
            imm,
        } if bits <= 64 => Some((imm.bits() as u64) & (u64::MAX >> (64 - bits))),
        _ => None,
    }
}

/// `(x, c)` when `value = opcode(x, iconst c)`.
pub(super) fn op_const(dfg: &DataFlowGraph, value: Value, opcode: Opcode) -> Option<(Value, u64)> {
    let inst = def(dfg, value)?;
    if dfg.insts[inst].opcode() != opcode {
        return None;
    }
    let [x, y] = dfg.inst_args(inst) else {
        return None;
    };
    iconst(dfg, *y).map(|c| (*x, c))
}

/// `(x, c)` when `value = x + iconst c` (either operand the constant).
fn iadd_const(dfg: &DataFlowGraph, value: Value) -> Option<(Value, u64)> {
    let inst = def(dfg, value)?;
    if dfg.insts[inst].opcode() != Opcode::Iadd {
        return None;
    }
    let [x, y] = *dfg.inst_args(inst) else {
        return None;
    };
    match (iconst(dfg, x), iconst(dfg, y)) {
        (_, Some(c)) => Some((x, c)),
        (Some(c), None) => Some((y, c)),
        (None, None) => None,
    }
}

/// An upper bound of the `i32` (or narrower) `value` as an unsigned number, from its
/// definition `depth` levels deep; `u32::MAX` when nothing better is known.
fn upper_bound(dfg: &DataFlowGraph, value: Value, depth: u32) -> u64 {
    let unknown = u64::from(u32::MAX);
    let ty_max = match dfg.value_type(value).bits() {
        bits @ 1..=32 => u64::MAX >> (64 - bits),
        _ => return unknown,
    };
    if let Some(c) = iconst(dfg, value) {
        return c;
    }
    let Some(inst) = def(dfg, value) else {
        return ty_max;
    };
    if depth == 0 {
        return ty_max;
    }
    let bound = |v| upper_bound(dfg, v, depth - 1);
    let args = dfg.inst_args(inst);
    let found = match (dfg.insts[inst].opcode(), args) {
        (Opcode::Band, [a, b]) => bound(*a).min(bound(*b)),
        // Neither sets a bit above the higher of the operands' highest bits.
        (Opcode::Bor | Opcode::Bxor, [a, b]) => all_ones_up_to(bound(*a) | bound(*b)),
        (Opcode::Iadd, [a, b]) => bound(*a) + bound(*b),
        (Opcode::Ushr, [a, b]) => match iconst(dfg, *b) {
            Some(k) => bound(*a) >> (k % u64::from(dfg.value_type(value).bits())),
            None => ty_max,
        },
        (Opcode::Ishl, [a, b]) => match iconst(dfg, *b) {
            Some(k) => bound(*a) << (k % u64::from(dfg.value_type(value).bits())),
            None => ty_max,
        },
        (Opcode::Uextend, [a]) => bound(*a),
        (Opcode::Uload8, _) => 0xff,
        (Opcode::Uload16, _) => 0xffff,
        _ => ty_max,
    };
    // A sum or shift past the type's width wraps: nothing is known then.
    if found > ty_max {
        ty_max
    } else {
        found
    }
}

/// The smallest `2^n - 1` at least `x`.
pub(super) fn all_ones_up_to(x: u64) -> u64 {
    match x {
        0 => 0,
        x => u64::MAX >> x.leading_zeros(),
    }
}
