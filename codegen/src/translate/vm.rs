//! Operators that go through the vmctx: calls, indirect calls, globals, builtins.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    self, types, ExtFuncData, ExternalName, InstBuilder, MemFlagsData, Value,
};
use cranelift_codegen::isa::CallConv;
use wasmparser::Operator;

use super::control::FrameKind;
use super::exceptions::CallTarget;
use super::{FuncTranslator, Signature};
use crate::abi::{value_type, wasm_signature, Callers};
use crate::builtins::Builtin;
use crate::error::CompileError;
use crate::trap::TrapKind;
use crate::vmoffsets::VMOffsets;

impl FuncTranslator<'_, '_> {
    /// Calls a runtime builtin with this function's vmctx and `args`; returns its results.
    pub(super) fn call_builtin(&mut self, builtin: Builtin, args: &[Value]) -> Vec<Value> {
        let table = self.vmctx_field(types::I64, VMOffsets::BUILTINS);
        let flags = MemFlagsData::trusted().with_readonly();
        let callee =
            self.builder
                .ins()
                .load(types::I64, flags, table, (builtin.index() * 8) as i32);
        let sig = self.builtin_signature(builtin, self.env.isa.default_call_conv());
        let mut all = vec![self.vmctx];
        all.extend_from_slice(args);
        let call = self.builder.ins().call_indirect(sig, callee, &all);
        self.builder.inst_results(call).to_vec()
    }

    /// The signature of wasm type `type_index` for a callee that `callers` may call,
    /// imported into the function on first use.
    pub(super) fn wasm_signature(&mut self, type_index: u32, callers: Callers) -> ir::SigRef {
        let (module, builder) = (self.env.module, &mut self.builder);
        let fuel = self.env.config.consume_fuel;
        *self
            .signatures
            .entry(Signature::Wasm(type_index, callers))
            .or_insert_with(|| {
                let ty = module.signature(type_index);
                builder.import_signature(wasm_signature(ty, fuel, callers))
            })
    }

    /// The signature of `builtin` in `call_conv`, imported into the function on first use.
    pub(super) fn builtin_signature(
        &mut self,
        builtin: Builtin,
        call_conv: CallConv,
    ) -> ir::SigRef {
        let builder = &mut self.builder;
        *self
            .signatures
            .entry(Signature::Builtin(builtin, call_conv))
            .or_insert_with(|| builder.import_signature(builtin.signature(call_conv)))
    }

    /// Defined function `function_index` (of signature `sig`) as a direct callee, imported
    /// into the function on first use.
    fn defined_callee(&mut self, function_index: u32, sig: ir::SigRef) -> ir::FuncRef {
        let builder = &mut self.builder;
        *self.callees.entry(function_index).or_insert_with(|| {
            let name = builder
                .func
                .declare_imported_user_function(ir::UserExternalName::new(0, function_index));
            builder.import_function(ExtFuncData {
                name: ExternalName::user(name),
                signature: sig,
                colocated: true,
                patchable: false,
            })
        })
    }

    /// Calls a builtin that reports failure with a status, trapping with its trap kind when
    /// the status is non-zero.
    pub(super) fn call_checked_builtin(&mut self, builtin: Builtin, args: &[Value]) {
        let status = self.call_builtin(builtin, args);
        if let (Some(kind), Some(status)) = (builtin.trap(), status.first()) {
            self.builder.ins().trapnz(*status, kind.trap_code());
        }
    }

    /// Pops the arguments of a call to a function of type `type_index` and calls `callee`
    /// with them, pushing the results; with `tail`, tail-calls it instead (the callee's
    /// results are this function's, and the current position becomes unreachable).
    fn call_with(&mut self, type_index: u32, callee: Callee, tail: bool) {
        let count = self.env.module.signature(type_index).params.len();
        let args = self.stack.split_off(self.stack.len() - count);
        let (callee_vmctx, callers) = match callee {
            Callee::Defined(function_index) => (self.vmctx, self.env.callers(function_index)),
            Callee::Pointer { vmctx, .. } => (vmctx, Callers::Any),
        };
        let sig = self.wasm_signature(type_index, callers);
        let fuel = self.pass_fuel();
        let mut all = vec![callee_vmctx];
        if callers == Callers::Any {
            all.push(self.vmctx);
        }
        all.extend(args);
        all.extend(fuel);
        let target = match callee {
            Callee::Defined(function_index) => {
                CallTarget::Direct(self.defined_callee(function_index, sig))
            }
            Callee::Pointer { code, .. } => CallTarget::Indirect(code),
        };
        if tail {
            match target {
                CallTarget::Direct(func) => self.builder.ins().return_call(func, &all),
                CallTarget::Indirect(code) => {
                    self.builder.ins().return_call_indirect(sig, code, &all)
                }
            };
            self.set_unreachable();
        } else {
            let (call, mut results) = self.emit_call(sig, target, &all);
            if matches!(target, CallTarget::Direct(_)) && self.in_loop() {
                self.calls_in_loops.push(call);
            }
            if fuel.is_some() {
                let left = results.pop().expect("the fuel result");
                self.fuel_returned(left);
            }
            self.stack.extend(results);
        }
    }

    /// Whether the current position is inside a `loop`.
    pub(super) fn in_loop(&self) -> bool {
        self.control
            .iter()
            .any(|frame| matches!(frame.kind, FrameKind::Loop { .. }))
    }

    /// `call` or, with `tail`, `return_call` of function `function_index`.
    fn translate_call(&mut self, function_index: u32, tail: bool) {
        let module = self.env.module;
        let type_index = module.functions[function_index as usize];
        let callee = if module.is_imported_func(function_index) {
            let offsets = self.env.offsets;
            Callee::Pointer {
                code: self.vmctx_field(types::I64, offsets.imported_func_ptr(function_index)),
                vmctx: self.vmctx_field(types::I64, offsets.imported_func_vmctx(function_index)),
            }
        } else {
            Callee::Defined(function_index)
        };
        self.call_with(type_index, callee, tail);
    }

    /// `call_indirect` or, with `tail`, `return_call_indirect`: the table's element at the
    /// popped index must be a non-null function of type `type_index`.
    fn translate_call_indirect(&mut self, type_index: u32, table: u32, tail: bool) {
        let index = self.pop();
        let trusted = MemFlagsData::trusted();
        let slot = self.table_element(table, index);
        let func_ref = self.builder.ins().load(types::I64, trusted, slot, 0);
        self.builder
            .ins()
            .trapz(func_ref, TrapKind::IndirectCallToNull.trap_code());
        let actual = self.builder.ins().load(
            types::I32,
            trusted,
            func_ref,
            VMOffsets::FUNCREF_TYPE_ID as i32,
        );
        let expected = self.vmctx_field(types::I32, self.env.offsets.type_id(type_index));
        let mismatch = self.builder.ins().icmp(IntCC::NotEqual, actual, expected);
        if self.env.module.types[type_index as usize].is_final {
            // A final type has no subtypes: only its own functions match.
            self.builder
                .ins()
                .trapnz(mismatch, TrapKind::BadSignature.trap_code());
        } else {
            // A function of a declared subtype matches too: asked of the runtime, which
            // knows the supertype chains, when the ids differ.
            let subtype_test = self.builder.create_block();
            let matched = self.builder.create_block();
            self.builder
                .ins()
                .brif(mismatch, subtype_test, &[], matched, &[]);
            self.builder.switch_to_block(subtype_test);
            self.builder.seal_block(subtype_test);
            let is_subtype = self.call_builtin(Builtin::RefTest, &[func_ref, expected])[0];
            self.builder
                .ins()
                .trapz(is_subtype, TrapKind::BadSignature.trap_code());
            self.builder.ins().jump(matched, &[]);
            self.builder.switch_to_block(matched);
            self.builder.seal_block(matched);
        }
        let code = self.builder.ins().load(
            types::I64,
            trusted,
            func_ref,
            VMOffsets::FUNCREF_FUNC_PTR as i32,
        );
        let vmctx = self.builder.ins().load(
            types::I64,
            trusted,
            func_ref,
            VMOffsets::FUNCREF_VMCTX as i32,
        );
        self.call_with(type_index, Callee::Pointer { code, vmctx }, tail);
    }

    /// `call_ref` or, with `tail`, `return_call_ref`: the popped reference, whose static
    /// type is `(ref null $type_index)`, must not be null. No signature check: validation
    /// guarantees a function of `$type_index` or of a subtype, whose parameters and results
    /// have the same machine types.
    fn translate_call_ref(&mut self, type_index: u32, tail: bool) {
        let func_ref = self.pop();
        self.builder
            .ins()
            .trapz(func_ref, TrapKind::NullReference.trap_code());
        let trusted = MemFlagsData::trusted();
        let code = self.builder.ins().load(
            types::I64,
            trusted,
            func_ref,
            VMOffsets::FUNCREF_FUNC_PTR as i32,
        );
        let vmctx = self.builder.ins().load(
            types::I64,
            trusted,
            func_ref,
            VMOffsets::FUNCREF_VMCTX as i32,
        );
        self.call_with(type_index, Callee::Pointer { code, vmctx }, tail);
    }

    /// The storage address of global `index` and its Cranelift type.
    fn global_slot(&mut self, index: u32) -> (Value, ir::Type) {
        let ptr = self.vmctx_field(types::I64, self.env.offsets.global_ptr(index));
        let ty = value_type(self.env.module.globals[index as usize].content);
        (ptr, ty)
    }

    /// Translates a call or global operator; `false` if `op` is not one.
    pub(super) fn translate_vm(&mut self, op: &Operator<'_>) -> Result<bool, CompileError> {
        match op {
            Operator::Call { function_index } => self.translate_call(*function_index, false),
            Operator::ReturnCall { function_index } => self.translate_call(*function_index, true),
            Operator::CallIndirect {
                type_index,
                table_index,
            } => self.translate_call_indirect(*type_index, *table_index, false),
            Operator::ReturnCallIndirect {
                type_index,
                table_index,
            } => self.translate_call_indirect(*type_index, *table_index, true),
            Operator::CallRef { type_index } => self.translate_call_ref(*type_index, false),
            Operator::ReturnCallRef { type_index } => self.translate_call_ref(*type_index, true),
            Operator::GlobalGet { global_index } => {
                let (ptr, ty) = self.global_slot(*global_index);
                let mut flags = MemFlagsData::trusted();
                if !self.env.module.globals[*global_index as usize].mutable {
                    flags = flags.with_readonly();
                }
                let v = self.builder.ins().load(ty, flags, ptr, 0);
                self.push(v);
            }
            Operator::GlobalSet { global_index } => {
                let value = self.pop();
                let (ptr, _) = self.global_slot(*global_index);
                self.builder
                    .ins()
                    .store(MemFlagsData::trusted(), value, ptr, 0);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// What a call goes to.
#[derive(Clone, Copy)]
enum Callee {
    /// A function defined in this module, called directly with this instance's vmctx.
    Defined(u32),
    /// Code reached through a pointer (an import, a table element), with its vmctx.
    Pointer { code: Value, vmctx: Value },
}
