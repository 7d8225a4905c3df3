//! Which values are references to GC objects, so that Cranelift keeps them where the
//! collector finds them.
//!
//! The collector finds the objects a wasm frame holds through Cranelift's user stack maps:
//! a value declared with [`FunctionBuilder::declare_value_needs_stack_map`] that is live
//! across a call is spilled to a stack slot before it, and the slot is listed in the call's
//! stack map (the frontend reloads it after the call). A reference may point to an object
//! when its type is of the `any` hierarchy but `i31` and `none`, or `externref`, which may
//! hold an object made external with `extern.convert_any` (see
//! [`crate::module::RefType::may_be_gc_object`]); null words and `i31`s in a map are
//! harmless, the collector ignores what is not an object of its heap.
//!
//! The operand types come from wasmparser's function validator, which runs alongside the
//! translation (see [`super::validation`]): after each operator, the values it pushed are
//! typed by the validator's operand stack, which matches ours in reachable code. Locals are
//! typed by their declarations. Only modules that [may hold GC
//! references](crate::module::ModuleInfo::may_hold_gc_refs) pay for the typing.

use cranelift_frontend::{FunctionBuilder, Variable};
use wasmparser::{
    AbstractHeapType, CompositeInnerType, HeapType, ValidatorResources, WasmModuleResources,
};

use super::operands::OperandStack;
use super::validation::FuncValidation;
use crate::module::{ModuleInfo, ValType};

impl FuncValidation {
    /// Declares local `var`, of type `ty` in `module`, as needing stack maps if it may hold
    /// an object.
    pub fn declare_local(
        &self,
        module: &ModuleInfo,
        builder: &mut FunctionBuilder<'_>,
        var: Variable,
        ty: ValType,
    ) {
        if let (true, ValType::Ref(r)) = (self.gc_refs, ty) {
            if r.may_be_gc_object(module) {
                builder.declare_var_needs_stack_map(var);
            }
        }
    }

    /// After an operator was translated in reachable code: declares each value it pushed
    /// that may be an object as needing stack maps.
    pub fn declare_new_operands(
        &self,
        stack: &mut OperandStack,
        builder: &mut FunctionBuilder<'_>,
    ) {
        let new = stack.take_new();
        if !self.gc_refs {
            return;
        }
        let validator = &self.validator;
        let height = stack.len();
        debug_assert_eq!(validator.operand_stack_height() as usize, height);
        for i in new {
            let Some(Some(ty)) = validator.get_operand_type(height - 1 - i) else {
                continue;
            };
            if may_be_object(ty, validator.resources()) {
                builder.declare_value_needs_stack_map(stack[i]);
            }
        }
    }
}

/// Whether a value of wasmparser type `ty` may be a GC object (as
/// [`crate::module::RefType::may_be_gc_object`]).
fn may_be_object(ty: wasmparser::ValType, resources: &ValidatorResources) -> bool {
    let wasmparser::ValType::Ref(r) = ty else {
        return false;
    };
    match r.heap_type() {
        HeapType::Abstract { ty, .. } => matches!(
            ty,
            AbstractHeapType::Any
                | AbstractHeapType::Eq
                | AbstractHeapType::Struct
                | AbstractHeapType::Array
                | AbstractHeapType::Extern
        ),
        HeapType::Concrete(index) | HeapType::Exact(index) => {
            let sub = match index.as_core_type_id() {
                Some(id) => resources.sub_type_at_id(id),
                None => match index
                    .as_module_index()
                    .and_then(|i| resources.sub_type_at(i))
                {
                    Some(sub) => sub,
                    None => return true,
                },
            };
            !matches!(sub.composite_type.inner, CompositeInnerType::Func(_))
        }
    }
}
