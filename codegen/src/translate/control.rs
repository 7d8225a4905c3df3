//! Structured control flow: blocks, loops, ifs, branches, returns, traps.

use cranelift_codegen::ir::{self, BlockArg, InstBuilder, JumpTableData, Value};
use wasmparser::{BlockType, Catch, Operator};

use super::conditions::Condition;
use super::FuncTranslator;
use crate::abi::value_type;
use crate::error::CompileError;
use crate::trap::TrapKind;

/// What kind of construct a control frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FrameKind {
    /// The function body; its end returns.
    Function,
    /// `block`.
    Block,
    /// `loop`: branches go back to the header.
    Loop { header: ir::Block },
    /// `if`, with the block its `else` arm starts in.
    If {
        else_block: ir::Block,
        else_seen: bool,
        reachable_at_start: bool,
        /// The operators not yet charged for fuel at the `if`, which both arms start with.
        fuel_pending: i64,
    },
    /// `try_table`: calls inside it unwind to `dispatch` (an `i64` exception parameter),
    /// filled at `end` when `used`.
    TryTable { dispatch: ir::Block, used: bool },
}

/// One entry of the control stack.
#[derive(Clone, Debug)]
pub(super) struct ControlFrame {
    pub(super) kind: FrameKind,
    /// Where control continues after `end`, with the frame's results as parameters.
    next: ir::Block,
    /// Number of parameters and results of the block type.
    params: usize,
    results: usize,
    /// The frame's parameters, for the `else` arm of an `if`.
    if_params: Vec<Value>,
    /// Operand stack height below the frame's parameters.
    height: usize,
    /// Whether anything branches to or falls through to `next`.
    next_reachable: bool,
    /// The `catch` clauses of a `try_table`.
    catches: Vec<Catch>,
    /// With fuel metering, the forward branches to `next` whose charge waits for `end`.
    fuel_edges: Vec<FuelEdge>,
    /// Whether a branch reaches `next` with its fuel charged (one that charges before
    /// branching, like `br_table`).
    charged_edges: bool,
}

/// A branch to a frame's `next` (with fuel metering) that goes through a block of its own,
/// filled at the frame's `end`: when every way into `next` owes the same count of
/// operators, `next` charges it once (so a run is charged once however its ends branch);
/// otherwise each way charges its own count before joining.
#[derive(Clone, Debug)]
struct FuelEdge {
    /// The block the branch goes to, empty until `end`.
    block: ir::Block,
    /// The operators the branch owes.
    pending: i64,
    /// The values it carries to `next`.
    values: Vec<Value>,
}

impl ControlFrame {
    /// The block a branch to this frame jumps to, and how many values it carries.
    fn target(&self) -> (ir::Block, usize) {
        match self.kind {
            FrameKind::Loop { header } => (header, self.params),
            _ => (self.next, self.results),
        }
    }
}

fn args(values: &[Value]) -> Vec<BlockArg> {
    values.iter().map(|v| BlockArg::Value(*v)).collect()
}

impl FuncTranslator<'_, '_> {
    /// The parameter and result types of a block type.
    fn block_signature(&self, ty: BlockType) -> (Vec<ir::Type>, Vec<ir::Type>) {
        match ty {
            BlockType::Empty => (Vec::new(), Vec::new()),
            BlockType::Type(t) => {
                let t = crate::module::ValType::from_wasm(t).map(value_type);
                (Vec::new(), t.into_iter().collect())
            }
            BlockType::FuncType(index) => {
                let ty = self.env.module.signature(index);
                (
                    ty.params.iter().map(|t| value_type(*t)).collect(),
                    ty.results.iter().map(|t| value_type(*t)).collect(),
                )
            }
        }
    }

    fn block_with_params(&mut self, types: &[ir::Type]) -> ir::Block {
        let block = self.builder.create_block();
        for ty in types {
            self.builder.append_block_param(block, *ty);
        }
        block
    }

    /// Opens the frame of the function body, whose end returns `results`.
    pub(super) fn push_function_frame(&mut self, results: &[ir::Type]) {
        let next = self.block_with_params(results);
        self.control.push(ControlFrame {
            kind: FrameKind::Function,
            next,
            params: 0,
            results: results.len(),
            if_params: Vec::new(),
            height: 0,
            next_reachable: false,
            catches: Vec::new(),
            fuel_edges: Vec::new(),
            charged_edges: false,
        });
    }

    /// Jumps to `block` with the top `count` values, leaving them on the stack.
    fn jump_with(&mut self, block: ir::Block, count: usize) {
        let values = args(self.peek(count));
        self.builder.ins().jump(block, &values);
    }

    /// Marks the frame `depth` levels up as a branch target and returns its target block and
    /// arity.
    pub(super) fn branch_target(&mut self, depth: u32) -> (ir::Block, usize) {
        let index = self.control.len() - 1 - depth as usize;
        let frame = &mut self.control[index];
        if !matches!(frame.kind, FrameKind::Loop { .. }) {
            frame.next_reachable = true;
            frame.charged_edges = true;
        }
        frame.target()
    }

    /// `brif` on `cond`, its targets swapped when the condition is negated.
    fn brif(
        &mut self,
        cond: Condition,
        then_block: ir::Block,
        then_args: &[BlockArg],
        else_block: ir::Block,
        else_args: &[BlockArg],
    ) {
        if cond.negated {
            self.builder
                .ins()
                .brif(cond.value, else_block, else_args, then_block, then_args);
        } else {
            self.builder
                .ins()
                .brif(cond.value, then_block, then_args, else_block, else_args);
        }
    }

    /// `br` (no `cond`) or `br_if` to the frame `depth` levels up. With fuel metering, a
    /// branch back to a loop header charges first (every iteration then pays, and traps
    /// once the fuel is spent); a forward branch goes through a [`FuelEdge`].
    fn branch(&mut self, depth: u32, cond: Option<Condition>) {
        let index = self.control.len() - 1 - depth as usize;
        let frame = &self.control[index];
        let forward = !matches!(frame.kind, FrameKind::Loop { .. });
        if forward && self.fuel_var.is_some() {
            let values = self.peek(frame.results).to_vec();
            self.jump_forward(index, cond, values);
            return;
        }
        self.flush_fuel();
        let (block, count) = self.branch_target(depth);
        let values = args(self.peek(count));
        match cond {
            Some(cond) => {
                let fallthrough = self.builder.create_block();
                self.brif(cond, block, &values, fallthrough, &[]);
                self.builder.seal_block(fallthrough);
                self.builder.switch_to_block(fallthrough);
            }
            None => {
                self.builder.ins().jump(block, &values);
            }
        }
    }

    /// Branches (when `cond`, else always) to the `next` of frame `index` with `values`
    /// through a new [`FuelEdge`] owing the operators not yet charged; a conditional
    /// branch's fall-through owes them too.
    fn jump_forward(&mut self, index: usize, cond: Option<Condition>, values: Vec<Value>) {
        let edge = self.builder.create_block();
        match cond {
            Some(cond) => {
                let fallthrough = self.builder.create_block();
                self.brif(cond, edge, &[], fallthrough, &[]);
                self.builder.seal_block(fallthrough);
                self.builder.seal_block(edge);
                self.builder.switch_to_block(fallthrough);
            }
            None => {
                self.builder.ins().jump(edge, &[]);
                self.builder.seal_block(edge);
            }
        }
        let frame = &mut self.control[index];
        frame.next_reachable = true;
        frame.fuel_edges.push(FuelEdge {
            block: edge,
            pending: self.fuel_pending,
            values,
        });
    }

    /// `br_table` with fuel metering, when every target is forward and operators are not yet
    /// charged: each target frame gets one [`FuelEdge`] (shared by the entries that name it)
    /// owing them, so a target that only the table reaches charges them with its own run,
    /// once (an interpreter's dispatch and the case it picks cost one charge, not two).
    fn br_table_forward(&mut self, index: Value, depths: &[u32]) {
        let top = self.control.len() - 1;
        let mut edges: Vec<(u32, ir::Block)> = Vec::new();
        let mut entries = Vec::with_capacity(depths.len());
        for &depth in depths {
            let edge = match edges.iter().find(|(d, _)| *d == depth) {
                Some((_, edge)) => *edge,
                None => {
                    let edge = self.builder.create_block();
                    edges.push((depth, edge));
                    edge
                }
            };
            entries.push(edge);
        }
        self.emit_br_table(index, &entries);
        for (depth, edge) in edges {
            self.builder.seal_block(edge);
            let frame_index = top - depth as usize;
            let values = self.peek(self.control[frame_index].results).to_vec();
            let frame = &mut self.control[frame_index];
            frame.next_reachable = true;
            frame.fuel_edges.push(FuelEdge {
                block: edge,
                pending: self.fuel_pending,
                values,
            });
        }
        self.set_unreachable();
    }

    /// Emits `br_table index` over `entries`, blocks that take no arguments, the last being
    /// the default.
    fn emit_br_table(&mut self, index: Value, entries: &[ir::Block]) {
        let (default, targets) = entries.split_last().expect("the default target");
        let calls: Vec<_> = targets
            .iter()
            .map(|block| self.builder.func.dfg.block_call(*block, &[]))
            .collect();
        let default_call = self.builder.func.dfg.block_call(*default, &[]);
        let table = self
            .builder
            .create_jump_table(JumpTableData::new(default_call, &calls));
        self.builder.ins().br_table(index, table);
    }

    /// Marks the current position unreachable (after a branch, return or trap).
    pub(super) fn set_unreachable(&mut self) {
        self.reachable = false;
        self.unreachable_depth = 0;
        self.fuel_pending = 0;
    }

    /// Translates a control operator; `false` if `op` is not one.
    pub(super) fn translate_control(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        match op {
            Operator::Block { blockty } => {
                let (params, results) = self.block_signature(*blockty);
                let next = self.block_with_params(&results);
                self.control.push(ControlFrame {
                    kind: FrameKind::Block,
                    next,
                    params: params.len(),
                    results: results.len(),
                    if_params: Vec::new(),
                    height: self.stack.len() - params.len(),
                    next_reachable: false,
                    catches: Vec::new(),
                    fuel_edges: Vec::new(),
                    charged_edges: false,
                });
            }
            Operator::TryTable { try_table } => {
                let (params, results) = self.block_signature(try_table.ty);
                let next = self.block_with_params(&results);
                let dispatch = self.block_with_params(&[ir::types::I64]);
                self.control.push(ControlFrame {
                    kind: FrameKind::TryTable {
                        dispatch,
                        used: false,
                    },
                    next,
                    params: params.len(),
                    results: results.len(),
                    if_params: Vec::new(),
                    height: self.stack.len() - params.len(),
                    next_reachable: false,
                    catches: try_table.catches.clone(),
                    fuel_edges: Vec::new(),
                    charged_edges: false,
                });
            }
            Operator::Loop { blockty } => {
                let (params, results) = self.block_signature(*blockty);
                let header = self.block_with_params(&params);
                let next = self.block_with_params(&results);
                self.jump_with(header, params.len());
                let height = self.stack.len() - params.len();
                self.stack.truncate(height);
                self.builder.switch_to_block(header);
                self.stack
                    .extend_from_slice(self.builder.block_params(header));
                self.open_loops += 1;
                self.control.push(ControlFrame {
                    kind: FrameKind::Loop { header },
                    next,
                    params: params.len(),
                    results: results.len(),
                    if_params: Vec::new(),
                    height,
                    next_reachable: false,
                    catches: Vec::new(),
                    fuel_edges: Vec::new(),
                    charged_edges: false,
                });
            }
            Operator::If { blockty } => {
                let cond = self.pop_condition(true);
                let (params, results) = self.block_signature(*blockty);
                let then_block = self.builder.create_block();
                let else_block = self.builder.create_block();
                let next = self.block_with_params(&results);
                self.brif(cond, then_block, &[], else_block, &[]);
                self.builder.seal_block(then_block);
                self.builder.seal_block(else_block);
                self.builder.switch_to_block(then_block);
                self.control.push(ControlFrame {
                    kind: FrameKind::If {
                        else_block,
                        else_seen: false,
                        reachable_at_start: true,
                        fuel_pending: self.fuel_pending,
                    },
                    next,
                    params: params.len(),
                    results: results.len(),
                    if_params: self.peek(params.len()).to_vec(),
                    height: self.stack.len() - params.len(),
                    next_reachable: false,
                    catches: Vec::new(),
                    fuel_edges: Vec::new(),
                    charged_edges: false,
                });
            }
            Operator::Else => self.translate_else(),
            Operator::End => self.translate_end()?,
            Operator::Br { relative_depth } => {
                self.branch(*relative_depth, None);
                self.set_unreachable();
            }
            Operator::BrIf { relative_depth } => {
                let cond = self.pop_condition(true);
                self.branch(*relative_depth, Some(cond));
            }
            Operator::BrOnNull { relative_depth } => {
                // Branches, dropping the reference, when it is null; else keeps it.
                let reference = self.pop();
                let (block, count) = self.branch_target(*relative_depth);
                let values = args(self.peek(count));
                let fallthrough = self.builder.create_block();
                self.builder
                    .ins()
                    .brif(reference, fallthrough, &[], block, &values);
                self.builder.seal_block(fallthrough);
                self.builder.switch_to_block(fallthrough);
                self.push(reference);
            }
            Operator::BrOnNonNull { relative_depth } => {
                // Branches with the reference as the last value when it is not null; else
                // drops it.
                let reference = self.pop();
                let (block, count) = self.branch_target(*relative_depth);
                let mut values = args(self.peek(count - 1));
                values.push(BlockArg::Value(reference));
                let fallthrough = self.builder.create_block();
                self.builder
                    .ins()
                    .brif(reference, block, &values, fallthrough, &[]);
                self.builder.seal_block(fallthrough);
                self.builder.switch_to_block(fallthrough);
            }
            Operator::BrTable { targets } => {
                let index = self.pop();
                let mut depths = targets.targets().collect::<Result<Vec<_>, _>>()?;
                depths.push(targets.default());
                if self.fuel_var.is_some() {
                    let top = self.control.len() - 1;
                    let forward = depths.iter().all(|&depth| {
                        !matches!(
                            self.control[top - depth as usize].kind,
                            FrameKind::Loop { .. }
                        )
                    });
                    if forward && self.fuel_pending > 0 {
                        self.br_table_forward(index, &depths);
                        return Ok(true);
                    }
                    self.flush_fuel();
                }
                let count = self.branch_target(targets.default()).1;
                let values = args(self.peek(count));
                // Jump-table entries carry no values: with values, each edge goes through a
                // block of its own that forwards them.
                let mut hops = Vec::new();
                let mut entries = Vec::with_capacity(depths.len());
                for depth in depths {
                    let (block, _) = self.branch_target(depth);
                    let entry = if count == 0 {
                        block
                    } else {
                        let hop = self.builder.create_block();
                        hops.push((hop, block));
                        hop
                    };
                    entries.push(entry);
                }
                self.emit_br_table(index, &entries);
                for (hop, block) in hops {
                    self.builder.switch_to_block(hop);
                    self.builder.seal_block(hop);
                    self.builder.ins().jump(block, &values);
                }
                self.set_unreachable();
            }
            Operator::Return => {
                self.translate_return();
                self.set_unreachable();
            }
            Operator::Unreachable => {
                self.builder
                    .ins()
                    .trap(TrapKind::UnreachableCodeReached.trap_code());
                self.set_unreachable();
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn translate_return(&mut self) {
        let count = self.control[0].results;
        let results = self.peek(count).to_vec();
        self.return_with(&results);
    }

    /// Returns `results`, after the fuel left with fuel metering on.
    fn return_with(&mut self, results: &[Value]) {
        let fuel = self.return_fuel();
        let values: Vec<Value> = results.iter().copied().chain(fuel).collect();
        self.builder.ins().return_(&values);
    }

    fn translate_else(&mut self) {
        let frame = self.control.last_mut().expect("validated: else inside if");
        let FrameKind::If {
            else_block,
            reachable_at_start,
            fuel_pending,
            ..
        } = frame.kind
        else {
            unreachable!("validated: else closes an if");
        };
        frame.kind = FrameKind::If {
            else_block,
            else_seen: true,
            reachable_at_start,
            fuel_pending,
        };
        let (next, results, height) = (frame.next, frame.results, frame.height);
        let if_params = frame.if_params.clone();
        if self.reachable {
            if self.fuel_var.is_some() {
                let index = self.control.len() - 1;
                let values = self.peek(results).to_vec();
                self.jump_forward(index, None, values);
            } else {
                self.control.last_mut().expect("frame").next_reachable = true;
                self.jump_with(next, results);
            }
        }
        self.stack.truncate(height);
        self.reachable = reachable_at_start;
        self.unreachable_depth = 0;
        self.fuel_pending = 0;
        if reachable_at_start {
            self.stack.extend(if_params);
            self.builder.switch_to_block(else_block);
            self.fuel_pending = fuel_pending;
        }
    }

    /// Closes the innermost frame. An `end` with no frame open would mean the translator
    /// lost count of the blocks: an error rather than a panic.
    fn translate_end(&mut self) -> Result<(), CompileError> {
        let frame = self.control.pop().ok_or_else(|| {
            CompileError::Codegen("an `end` closes no open block (the block count is off)".into())
        })?;
        if matches!(frame.kind, FrameKind::Loop { .. }) {
            self.open_loops -= 1;
        }
        // The fuel each way into `next` owes: the fall-through, the forward branches, and
        // the false branch of an `if` without `else`.
        let no_else = match frame.kind {
            FrameKind::If {
                else_block,
                else_seen: false,
                reachable_at_start: true,
                fuel_pending,
            } => Some((else_block, fuel_pending)),
            _ => None,
        };
        let mut owed = frame
            .fuel_edges
            .iter()
            .map(|edge| edge.pending)
            .chain(self.reachable.then_some(self.fuel_pending))
            .chain(no_else.map(|(_, pending)| pending))
            .chain(frame.charged_edges.then_some(0));
        let first = owed.next();
        // `Some(n)`: every way owes `n`, which `next` charges; `None`: each charges its own.
        let carried = match first {
            Some(n) if owed.all(|m| m == n) => Some(n),
            Some(_) => None,
            None => Some(0),
        };
        if self.reachable {
            if carried.is_none() {
                self.flush_fuel();
            }
            self.jump_with(frame.next, frame.results);
        }
        let mut next_reachable = frame.next_reachable || self.reachable;
        for edge in &frame.fuel_edges {
            self.builder.switch_to_block(edge.block);
            if carried.is_none() {
                self.fuel_pending = edge.pending;
                self.flush_fuel();
            }
            self.builder.ins().jump(frame.next, &args(&edge.values));
        }
        if let Some((else_block, pending)) = no_else {
            // No else arm: the false branch passes the parameters on as the results.
            self.builder.switch_to_block(else_block);
            if carried.is_none() {
                self.fuel_pending = pending;
                self.flush_fuel();
            }
            self.builder.ins().jump(frame.next, &args(&frame.if_params));
            next_reachable = true;
        }
        self.fuel_pending = 0;
        if let FrameKind::Loop { header } = frame.kind {
            self.builder.seal_block(header);
        }
        if let FrameKind::TryTable {
            dispatch,
            used: true,
        } = frame.kind
        {
            self.emit_dispatch(dispatch, &frame.catches);
        }
        self.stack.truncate(frame.height);
        self.builder.seal_block(frame.next);
        self.reachable = next_reachable;
        self.unreachable_depth = 0;
        if next_reachable {
            self.fuel_pending = carried.unwrap_or(0);
            self.builder.switch_to_block(frame.next);
            let results = self.builder.block_params(frame.next).to_vec();
            if frame.kind == FrameKind::Function {
                self.return_with(&results);
            } else {
                self.stack.extend(results);
            }
        }
        Ok(())
    }

    /// Skips an operator of unreachable code, tracking nested blocks to find the `else` or
    /// `end` that makes code reachable again.
    ///
    /// Every operator that opens a block counts, whether or not wasmjit compiles it where it
    /// is reachable: an uncounted `try_table` would let its `end` close an outer frame.
    pub(super) fn translate_unreachable(&mut self, op: &Operator<'_>) -> Result<(), CompileError> {
        match op {
            Operator::Block { .. }
            | Operator::Loop { .. }
            | Operator::If { .. }
            | Operator::TryTable { .. }
            | Operator::Try { .. } => {
                self.unreachable_depth += 1;
            }
            Operator::Else if self.unreachable_depth == 0 => self.translate_else(),
            Operator::End if self.unreachable_depth == 0 => self.translate_end()?,
            // `delegate` ends a legacy `try` block as `end` does.
            Operator::End | Operator::Delegate { .. } => {
                self.unreachable_depth = self.unreachable_depth.saturating_sub(1);
            }
            _ => {}
        }
        Ok(())
    }
}
