//! Exception handling: `throw`, `throw_ref` and the handlers of `try_table`.
//!
//! Nothing runs on the non-throwing path. A call inside a `try_table` is a Cranelift
//! `try_call` whose exception table has one default entry: the *dispatch block* of the
//! innermost `try_table`. Cranelift records, per call site, the return address, the handler
//! and the frame's size; the runtime's unwinder walks the frame-pointer chain from the throw
//! and resumes at the first call site that has a handler, with the exception in the first
//! payload register. The dispatch block compares the exception's tag with each `catch`
//! clause's tag in order (a tag's identity is its runtime address, read from the vmctx) and
//! branches to the first that matches with the payload; when none does, it continues with the
//! enclosing `try_table`'s dispatch block, or rethrows from this frame.
//!
//! Exceptions are runtime records (`VMException`): the tag's address at
//! [`VMOffsets::EXCEPTION_TAG`] and a pointer to the payload's 16-byte value slots at
//! [`VMOffsets::EXCEPTION_PAYLOAD`]. An `exnref` is the record's address.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    self, types, BlockArg, ExceptionTableData, ExceptionTableItem, InstBuilder, MemFlagsData,
    StackSlotData, StackSlotKind, Value,
};
use wasmparser::{Catch, Operator};

use super::control::FrameKind;
use super::FuncTranslator;
use crate::abi::{value_type, WASM_CALL_CONV};
use crate::builtins::Builtin;
use crate::error::CompileError;
use crate::trap::TrapKind;
use crate::vmoffsets::{VMOffsets, VALRAW_SIZE};

/// What a call goes to, for [`FuncTranslator::emit_call`].
#[derive(Clone, Copy)]
pub(super) enum CallTarget {
    /// A function imported into the function being compiled.
    Direct(ir::FuncRef),
    /// Code at an address.
    Indirect(Value),
}

impl FuncTranslator<'_, '_> {
    /// The dispatch block of the innermost `try_table`, marked as used; `None` outside one.
    fn exception_handler(&mut self) -> Option<ir::Block> {
        self.control
            .iter_mut()
            .rev()
            .find_map(|frame| match &mut frame.kind {
                FrameKind::TryTable { dispatch, used } => {
                    *used = true;
                    Some(*dispatch)
                }
                _ => None,
            })
    }

    /// Calls `target` with `args` and returns the call instruction and its results: a plain
    /// call outside `try_table`, a `try_call` to the innermost dispatch block inside one.
    pub(super) fn emit_call(
        &mut self,
        sig: ir::SigRef,
        target: CallTarget,
        args: &[Value],
    ) -> (ir::Inst, Vec<Value>) {
        let Some(dispatch) = self.exception_handler() else {
            let call = match target {
                CallTarget::Direct(func) => self.builder.ins().call(func, args),
                CallTarget::Indirect(code) => self.builder.ins().call_indirect(sig, code, args),
            };
            return (call, self.builder.inst_results(call).to_vec());
        };
        let returns: Vec<ir::Type> = self.builder.func.dfg.signatures[sig]
            .returns
            .iter()
            .map(|p| p.value_type)
            .collect();
        let normal = self.builder.create_block();
        for ty in &returns {
            self.builder.append_block_param(normal, *ty);
        }
        let ret_args: Vec<BlockArg> = (0..returns.len() as u32)
            .map(BlockArg::TryCallRet)
            .collect();
        let dfg = &mut self.builder.func.dfg;
        let normal_call = dfg.block_call(normal, &ret_args);
        let exn_call = dfg.block_call(dispatch, &[BlockArg::TryCallExn(0)]);
        let table = dfg.exception_tables.push(ExceptionTableData::new(
            sig,
            normal_call,
            [ExceptionTableItem::Default(exn_call)],
        ));
        let call = match target {
            CallTarget::Direct(func) => self.builder.ins().try_call(func, args, table),
            CallTarget::Indirect(code) => self.builder.ins().try_call_indirect(code, args, table),
        };
        self.builder.seal_block(normal);
        self.builder.switch_to_block(normal);
        (call, self.builder.block_params(normal).to_vec())
    }

    /// Throws `exn` (non-null) from here: through the innermost dispatch block when inside a
    /// `try_table`. Ends the current block.
    fn throw(&mut self, exn: Value) {
        self.save_fuel();
        let table = self.vmctx_readonly(types::I64, VMOffsets::BUILTINS);
        let flags = MemFlagsData::trusted().with_readonly();
        let callee = self.builder.ins().load(
            types::I64,
            flags,
            table,
            (Builtin::ThrowRef.index() * 8) as i32,
        );
        // In the `tail` convention: Cranelift expects the unwinder to restore the callee-saved
        // registers of a platform-convention `try_call`, and ours restores none (a `tail`
        // `try_call` clobbers every register on the exceptional edge). The two integer
        // arguments travel in the same registers in both conventions, which the stub relies on.
        let sig = self.builtin_signature(Builtin::ThrowRef, WASM_CALL_CONV);
        let vmctx = self.vmctx;
        self.emit_call(sig, CallTarget::Indirect(callee), &[vmctx, exn]);
        // The builtin never returns.
        self.builder
            .ins()
            .trap(TrapKind::UnreachableCodeReached.trap_code());
        self.set_unreachable();
    }

    /// Translates an exception operator; `false` if `op` is not one.
    pub(super) fn translate_exceptions(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        match op {
            Operator::Throw { tag_index } => {
                let count = self.env.module.tag_type(*tag_index).params.len();
                let values = self.stack.split_off(self.stack.len() - count);
                let slot = self.builder.create_sized_stack_slot(StackSlotData::new(
                    StackSlotKind::ExplicitSlot,
                    VALRAW_SIZE * count.max(1) as u32,
                    4,
                ));
                for (i, value) in values.into_iter().enumerate() {
                    let ty = self.builder.func.dfg.value_type(value);
                    self.builder.ins().stack_store(
                        ty,
                        value,
                        slot,
                        (i as u32 * VALRAW_SIZE) as i32,
                    );
                }
                let addr = self.builder.ins().stack_addr(types::I64, slot, 0);
                let tag = self.builder.ins().iconst(types::I32, *tag_index as i64);
                let exn = self.call_builtin(Builtin::ExnNew, &[tag, addr])[0];
                self.throw(exn);
            }
            Operator::ThrowRef => {
                let exn = self.pop();
                self.builder
                    .ins()
                    .trapz(exn, TrapKind::NullReference.trap_code());
                self.throw(exn);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Fills the dispatch block of a `try_table` that has just been closed (the control stack
    /// is the one its `catch` labels refer to): tries `catches` in order on the exception in
    /// the block's parameter.
    pub(super) fn emit_dispatch(&mut self, dispatch: ir::Block, catches: &[Catch]) {
        self.builder.switch_to_block(dispatch);
        self.builder.set_cold_block(dispatch);
        self.load_fuel();
        let exn = self.builder.block_params(dispatch)[0];
        let flags = MemFlagsData::trusted();
        let thrown =
            self.builder
                .ins()
                .load(types::I64, flags, exn, VMOffsets::EXCEPTION_TAG as i32);
        for catch in catches {
            let (tag, label, with_ref) = match *catch {
                Catch::One { tag, label } => (Some(tag), label, false),
                Catch::OneRef { tag, label } => (Some(tag), label, true),
                Catch::All { label } => (None, label, false),
                Catch::AllRef { label } => (None, label, true),
            };
            let mut values = Vec::new();
            let next = tag.map(|tag| {
                let expected = self.vmctx_readonly(types::I64, self.env.offsets.tag(tag));
                let matched = self.builder.ins().icmp(IntCC::Equal, thrown, expected);
                let clause = self.builder.create_block();
                let next = self.builder.create_block();
                self.builder.ins().brif(matched, clause, &[], next, &[]);
                self.builder.seal_block(clause);
                self.builder.seal_block(next);
                self.builder.switch_to_block(clause);
                let payload = self.builder.ins().load(
                    types::I64,
                    flags,
                    exn,
                    VMOffsets::EXCEPTION_PAYLOAD as i32,
                );
                let params = self.env.module.tag_type(tag).params.clone();
                for (i, ty) in params.iter().enumerate() {
                    let offset = (i as u32 * VALRAW_SIZE) as i32;
                    values.push(
                        self.builder
                            .ins()
                            .load(value_type(*ty), flags, payload, offset),
                    );
                }
                next
            });
            if with_ref {
                values.push(exn);
            }
            let (target, _) = self.branch_target(label);
            let args: Vec<BlockArg> = values.iter().map(|v| BlockArg::Value(*v)).collect();
            self.builder.ins().jump(target, &args);
            match next {
                Some(next) => self.builder.switch_to_block(next),
                None => return,
            }
        }
        match self.exception_handler() {
            Some(outer) => {
                self.builder.ins().jump(outer, &[BlockArg::Value(exn)]);
            }
            None => self.throw(exn),
        }
        self.builder.seal_block(dispatch);
    }
}
