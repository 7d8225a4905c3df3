//! Translation of one WebAssembly function body into Cranelift IR.
//!
//! The translator walks the operators once, keeping wasm's operand stack as a stack of
//! Cranelift values and its control stack as frames that know their branch targets. Code
//! after an unconditional branch is skipped until the `else` or `end` that makes it
//! reachable again. The work is split by what the operators touch: [`control`] (blocks and
//! branches), [`numeric`] (arithmetic, comparisons, conversions), [`heap`] (linear memory),
//! [`bounds_checks`] (how each access stays inside its memory), [`tables`] (references and
//! tables), [`simd`] (`v128`), [`atomics`] (threads), [`vm`] (calls, globals and builtins)
//! [`exceptions`] (`throw`, `throw_ref`, `try_table`'s handlers) and [`gc`] (structs, arrays,
//! `i31` and casts). [`validation`] runs wasmparser's validator over each operator before it
//! is translated; [`stack_maps`] tells Cranelift which values are references to GC objects
//! (typed by that validator), so that calls get stack maps; [`operands`] is the operand
//! stack that shows which values each operator pushed.

mod alias_regions;
mod atomics;
mod block_values;
mod bounds_checks;
mod conditions;
mod control;
mod exceptions;
mod gc;
mod heap;
mod index_bounds;
mod interrupts;
mod loop_indices;
mod numeric;
mod operands;
mod simd;
mod stack_maps;
mod tables;
#[cfg(test)]
mod test_util;
mod validation;
mod vm;

use std::collections::HashMap;

use cranelift_codegen::ir::{self, types, InstBuilder, MemFlagsData, Value};
use cranelift_codegen::isa::{CallConv, TargetIsa};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use wasmparser::{FuncValidatorAllocations, FunctionBody, Operator};

use crate::abi::{value_type, Callers};
use crate::builtins::Builtin;
use crate::config::CodegenConfig;
use crate::error::CompileError;
use crate::memory_layout::MemoryAssumptions;
use crate::module::{ModuleInfo, ValType};
use crate::vmoffsets::VMOffsets;

use block_values::BlockValues;
use control::ControlFrame;
pub(crate) use interrupts::drop_inlined_return_fuel_writes;
use operands::OperandStack;
use validation::FuncValidation;

/// What the translator of one function may consult about its module and target.
pub(crate) struct FuncEnv<'a> {
    /// The target's Cranelift backend.
    pub isa: &'a dyn TargetIsa,
    /// The module being compiled.
    pub module: &'a ModuleInfo,
    /// The vmctx layout for the module.
    pub offsets: &'a VMOffsets,
    /// What the code may assume of each memory's layout (see [`crate::memory_layout`]).
    pub memories: &'a [MemoryAssumptions],
    /// Bounds-check mode, guard size and the like.
    pub config: &'a CodegenConfig,
    /// Which functions escape the module, by function index
    /// ([`ModuleInfo::escaping_functions`]): they decide the functions' [`Callers`].
    pub escaping: &'a [bool],
}

impl FuncEnv<'_> {
    /// Who may call function `func_index`, which decides its signature.
    pub fn callers(&self, func_index: u32) -> Callers {
        if self.escaping[func_index as usize] {
            Callers::Any
        } else {
            Callers::Module
        }
    }
}

/// What translating one function after another reuses: the allocations of Cranelift's
/// frontend and of wasmparser's function validator.
#[derive(Default)]
pub(crate) struct TranslateContext {
    builder: FunctionBuilderContext,
    validator: FuncValidatorAllocations,
}

/// What the inliner ([`crate::inline`]) needs to know of a translated function.
pub(crate) struct Translation {
    /// The direct calls made inside a `loop`, in order: the calls worth inlining.
    pub calls_in_loops: Vec<ir::Inst>,
    /// The function's size in IR values, each value reused within a block counted again
    /// (see [`block_values`]): the measure of the inliner's limits, which reuse leaves as
    /// they were.
    pub size: usize,
}

/// Validates and translates the body of function `func_index` into `func`, whose signature
/// is already set.
pub(crate) fn translate_function(
    env: &FuncEnv<'_>,
    func_index: u32,
    body: FunctionBody<'_>,
    func: &mut ir::Function,
    ctx: &mut TranslateContext,
) -> Result<Translation, CompileError> {
    let result = translate_body(env, func_index, body, func, ctx);
    if result.is_err() {
        // The frontend's context still holds the abandoned function's blocks and variables.
        *ctx = TranslateContext::default();
    }
    result
}

/// [`translate_function`], which leaves `ctx` dirty on error.
fn translate_body(
    env: &FuncEnv<'_>,
    func_index: u32,
    body: FunctionBody<'_>,
    func: &mut ir::Function,
    ctx: &mut TranslateContext,
) -> Result<Translation, CompileError> {
    set_stack_limit(func);
    let mut builder = FunctionBuilder::new(func, &mut ctx.builder);
    let entry = builder.create_block();
    builder.append_block_params_for_function_params(entry);
    builder.switch_to_block(entry);
    builder.seal_block(entry);
    // In the layout from the start: instructions hoisted to the top of the function (a
    // memory's base) go there before the entry block may have any of its own (a memory64
    // load of a parameter, the function's first operator, emits none before the load).
    builder.ensure_inserted_block();
    let vmctx = builder.block_params(entry)[0];

    let ty = env.module.func_type(func_index);
    let first_param = env.callers(func_index).first_wasm_param();
    let mut validation =
        FuncValidation::new(env.module, func_index, std::mem::take(&mut ctx.validator))?;
    let mut locals = Vec::new();
    let mut initial_locals = Vec::new();
    for (i, param) in ty.params.iter().enumerate() {
        let var = builder.declare_var(value_type(*param));
        validation.declare_local(env.module, &mut builder, var, *param);
        let value = builder.block_params(entry)[first_param + i];
        builder.def_var(var, value);
        locals.push(var);
        initial_locals.push(Some(value));
    }
    // Locals start at zero: one zero value per type, whatever the number of locals.
    let mut zeros: Vec<(ValType, Value)> = Vec::new();
    let mut reused_zeros = 0;
    let mut reader = body.get_locals_reader()?;
    for _ in 0..reader.get_count() {
        let offset = reader.original_position();
        let (count, wasm_ty) = reader.read()?;
        validation.define_locals(offset, count, wasm_ty)?;
        let ty = ValType::from_wasm(wasm_ty)?;
        for _ in 0..count {
            let var = builder.declare_var(value_type(ty));
            validation.declare_local(env.module, &mut builder, var, ty);
            let zero = match zeros.iter().find(|(t, _)| *t == ty) {
                Some(&(_, zero)) => {
                    reused_zeros += 1;
                    zero
                }
                None => {
                    let zero = zero(&mut builder, ty);
                    zeros.push((ty, zero));
                    zero
                }
            };
            builder.def_var(var, zero);
            locals.push(var);
            initial_locals.push(Some(zero));
        }
    }

    let results: Vec<_> = ty.results.iter().map(|t| value_type(*t)).collect();
    let mut t = FuncTranslator {
        env,
        builder,
        vmctx,
        locals,
        initial_locals,
        open_loops: 0,
        stack: OperandStack::default(),
        control: Vec::new(),
        reachable: true,
        unreachable_depth: 0,
        fuel_pending: 0,
        fuel_var: None,
        fuel_entry: None,
        signatures: HashMap::new(),
        callees: HashMap::new(),
        calls_in_loops: Vec::new(),
        heap_accesses: Vec::new(),
        memory_bases: Vec::new(),
        values_before_op: 0,
        values_before_previous_op: 0,
        block_values: BlockValues::new(reused_zeros),
    };
    t.push_function_frame(&results);
    t.enter_fuel(entry);
    let mut ops = body.get_operators_reader()?;
    while !ops.eof() {
        let offset = ops.original_position();
        let op = ops.read()?;
        validation.op(offset, &op)?;
        t.values_before_previous_op = t.values_before_op;
        t.values_before_op = t.builder.func.dfg.num_values();
        if t.reachable {
            t.charge_fuel(&op);
            t.translate(&op)?;
            if matches!(op, Operator::Loop { .. }) {
                t.check_interruption();
            }
        } else {
            t.translate_unreachable(&op)?;
        }
        // After the function's last `end` the validator holds its results; the translator
        // has returned them.
        if t.reachable && !t.control.is_empty() {
            validation.declare_new_operands(&mut t.stack, &mut t.builder);
        }
    }
    ops.finish()?;
    t.settle_entry_fuel();
    ctx.validator = validation.into_allocations();
    t.builder.seal_all_blocks();
    let calls_in_loops = std::mem::take(&mut t.calls_in_loops);
    let heap_accesses = std::mem::take(&mut t.heap_accesses);
    let reused = t.block_values.reused();
    t.builder.finalize(env.isa.frontend_config());
    loop_indices::widen_loop_indices(func, &heap_accesses);
    Ok(Translation {
        calls_in_loops,
        size: func.dfg.num_values() + reused,
    })
}

/// Makes the prologue compare the stack pointer with the store's stack limit:
/// `vmctx -> store context -> stack_limit`.
fn set_stack_limit(func: &mut ir::Function) {
    let flags = func
        .dfg
        .mem_flags
        .insert(MemFlagsData::trusted())
        .expect("one flag set fits");
    let vmctx = func.create_global_value(ir::GlobalValueData::VMContext);
    let store = func.create_global_value(ir::GlobalValueData::Load {
        base: vmctx,
        offset: (VMOffsets::STORE_CONTEXT as i32).into(),
        global_type: types::I64,
        flags,
    });
    let limit = func.create_global_value(ir::GlobalValueData::Load {
        base: store,
        offset: (VMOffsets::STORE_CONTEXT_STACK_LIMIT as i32).into(),
        global_type: types::I64,
        flags,
    });
    func.stack_limit = Some(limit);
}

/// The zero value of a wasm type: locals start with it.
fn zero(builder: &mut FunctionBuilder<'_>, ty: ValType) -> Value {
    match ty {
        ValType::I32 => builder.ins().iconst(types::I32, 0),
        ValType::I64 | ValType::Ref(_) => builder.ins().iconst(types::I64, 0),
        ValType::F32 => builder.ins().f32const(0.0),
        ValType::F64 => builder.ins().f64const(0.0),
        ValType::V128 => {
            let zero = builder.func.dfg.constants.insert(vec![0u8; 16].into());
            builder.ins().vconst(types::I8X16, zero)
        }
    }
}

/// The state of one function's translation.
pub(crate) struct FuncTranslator<'a, 'f> {
    env: &'a FuncEnv<'a>,
    builder: FunctionBuilder<'f>,
    /// The function's own vmctx (its first parameter).
    vmctx: Value,
    locals: Vec<Variable>,
    /// Each local's value at entry (its parameter or its type's zero) while no reachable
    /// `local.set` or `local.tee` has written it yet. Outside loops nothing written later
    /// can flow back, so a `local.get` of such a local is that value, without asking the
    /// SSA builder, whose lookups walk the blocks back to the local's definition. It saves
    /// 0.25% (zlib) to 0.37% (sqlite) of a compile's instructions.
    initial_locals: Vec<Option<Value>>,
    /// The `loop`s open at the current operator.
    open_loops: u32,
    /// wasm's operand stack.
    stack: OperandStack,
    control: Vec<ControlFrame>,
    /// Whether the current position can execute.
    reachable: bool,
    /// Blocks opened inside unreachable code, whose `end`s are skipped too.
    unreachable_depth: u32,
    /// Operators run since fuel was last subtracted (with fuel metering on).
    fuel_pending: i64,
    /// The fuel left, while this function runs (with fuel metering on).
    fuel_var: Option<Variable>,
    /// The entry's load of the store's fuel and the fuel parameter, until a `loop` shows
    /// that the function keeps the load (see `interrupts::enter_fuel`).
    fuel_entry: Option<(ir::Inst, Value)>,
    /// The signatures imported so far: one per wasm type or builtin however many calls use
    /// it, so that Cranelift computes each signature's ABI once per function.
    signatures: HashMap<Signature, ir::SigRef>,
    /// The defined functions imported so far, by function index, for direct calls.
    callees: HashMap<u32, ir::FuncRef>,
    /// The direct calls made inside a `loop`.
    calls_in_loops: Vec<ir::Inst>,
    /// The plain heap loads and stores inside loops, for
    /// [`loop_indices::widen_loop_indices`].
    heap_accesses: Vec<loop_indices::Access>,
    /// Each memory's base, by memory index, once an access has loaded it (see
    /// [`FuncTranslator::memory_base`]).
    memory_bases: Vec<Option<Value>>,
    /// The number of values before the operator being translated, and before the one
    /// before it: the values at or above the latter were made by those two operators (see
    /// [`FuncTranslator::pop_condition`]).
    values_before_op: usize,
    values_before_previous_op: usize,
    /// Address arithmetic and constants already computed in the current block.
    block_values: BlockValues,
}

/// What an imported signature is the signature of.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Signature {
    /// A wasm function type, by type index, for a callee called by whom it says.
    Wasm(u32, Callers),
    /// A runtime builtin, called in a calling convention.
    Builtin(Builtin, CallConv),
}

impl FuncTranslator<'_, '_> {
    fn pop(&mut self) -> Value {
        self.stack
            .pop()
            .expect("validated code never underflows the stack")
    }

    fn set_local(&mut self, index: u32, value: Value) {
        self.initial_locals[index as usize] = None;
        self.builder.def_var(self.locals[index as usize], value);
    }

    fn pop2(&mut self) -> (Value, Value) {
        let b = self.pop();
        let a = self.pop();
        (a, b)
    }

    fn push(&mut self, value: Value) {
        self.stack.push(value);
    }

    /// The top `n` values, left on the stack.
    fn peek(&self, n: usize) -> &[Value] {
        &self.stack[self.stack.len() - n..]
    }

    /// Translates one reachable operator.
    fn translate(&mut self, op: &Operator<'_>) -> Result<(), CompileError> {
        if self.translate_control(op)?
            || self.translate_numeric(op)?
            || self.translate_heap(op)?
            || self.translate_tables(op)?
            || self.translate_simd(op)?
            || self.translate_atomics(op)?
            || self.translate_vm(op)?
            || self.translate_exceptions(op)?
            || self.translate_gc(op)?
        {
            return Ok(());
        }
        match op {
            Operator::Nop => {}
            Operator::Drop => {
                self.pop();
            }
            Operator::Select | Operator::TypedSelect { .. } => {
                let cond = self.pop_condition(false);
                let (a, b) = self.pop2();
                let v = self.builder.ins().select(cond.value, a, b);
                self.push(v);
            }
            Operator::LocalGet { local_index } => {
                let i = *local_index as usize;
                let v = match self.initial_locals[i] {
                    Some(v) if self.open_loops == 0 => v,
                    _ => self.builder.use_var(self.locals[i]),
                };
                self.push(v);
            }
            Operator::LocalSet { local_index } => {
                let v = self.pop();
                self.set_local(*local_index, v);
            }
            Operator::LocalTee { local_index } => {
                let v = *self.stack.last().expect("validated");
                self.set_local(*local_index, v);
            }
            other => {
                return Err(CompileError::Unsupported(format!("operator {other:?}")));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use cranelift_codegen::entity::EntityRef;
    use cranelift_codegen::ir::{InstructionData, Opcode, Value, ValueDef};

    use super::test_util::translate;

    #[test]
    fn a_local_not_yet_written_outside_loops_is_its_entry_value() {
        // After the `if`, the parameter is read at a join of two paths: the SSA builder
        // would give it a parameter there, find it redundant and leave an alias of the
        // entry value in its place.
        let (func, _) = translate(
            r#"(module (func (param i32) (result i32)
                (if (local.get 0) (then (nop)))
                (local.get 0)))"#,
        );
        let aliases = (0..func.dfg.num_values())
            .map(Value::new)
            .filter(|&v| !func.dfg.value_is_real(v))
            .count();
        assert_eq!(aliases, 0);
    }

    #[test]
    fn a_function_only_its_module_calls_takes_no_caller_vmctx() {
        // `$g` (the function translated) is neither exported nor in a table: its callers
        // are its module's direct calls, which pass its vmctx and its parameter. `$h`, in
        // the table, takes the caller's vmctx too.
        let (func, _) = translate(
            r#"(module
                (table funcref (elem $h))
                (func $g (param i32) (result i32)
                  (if (result i32) (local.get 0)
                    (then (call $g (i32.sub (local.get 0) (i32.const 1))))
                    (else (call $h (local.get 0)))))
                (func $h (param i32) (result i32) (local.get 0))
                (func (export "f") (param i32) (result i32) (call $g (local.get 0))))"#,
        );
        assert_eq!(func.signature.params.len(), 2);
        let calls: Vec<usize> = func
            .layout
            .blocks()
            .flat_map(|block| func.layout.block_insts(block))
            .filter(|&inst| func.dfg.insts[inst].opcode() == Opcode::Call)
            .map(|inst| func.dfg.inst_args(inst).len())
            .collect();
        assert_eq!(calls, [2, 3]);
    }

    #[test]
    fn a_memory64_load_of_a_parameter_can_begin_a_function() {
        // Reading the parameter emits nothing: the load's memory base is the first
        // instruction, hoisted into the entry block.
        let (func, _) = translate(
            r#"(module (memory i64 1)
                (func (param i64) (result i32) (i32.load (local.get 0))))"#,
        );
        assert!(func.layout.entry_block().is_some());
    }

    #[test]
    fn a_local_read_in_a_loop_that_writes_it_later_is_the_loops_parameter() {
        // `acc` is read before the loop writes it: the read must see the loop's parameter
        // (the value of the iteration before), not the entry value zero.
        let (func, _) = translate(
            r#"(module (func (param $n i32) (result i32) (local $acc i32)
                (loop $l
                    (local.set $acc (i32.add (local.get $acc) (local.get $n)))
                    (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                    (br_if $l (local.get $n)))
                (local.get $acc)))"#,
        );
        let add = func
            .layout
            .blocks()
            .flat_map(|b| func.layout.block_insts(b))
            .find(|&inst| func.dfg.insts[inst].opcode() == Opcode::Iadd)
            .unwrap();
        let InstructionData::Binary { args, .. } = func.dfg.insts[add] else {
            panic!("iadd is binary");
        };
        let entry = func.layout.entry_block().unwrap();
        for arg in args {
            let arg = func.dfg.resolve_aliases(arg);
            match func.dfg.value_def(arg) {
                ValueDef::Param(block, _) => assert_ne!(block, entry, "{arg} is an entry value"),
                other => panic!("{arg} is {other:?}, not a loop parameter"),
            }
        }
    }
}
