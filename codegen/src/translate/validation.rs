//! Validation of a function body while it is translated.
//!
//! [`crate::module::ModuleInfo::parse`] validates everything but the function bodies; each
//! body is validated by the thread that translates it, operator by operator just before the
//! operator is translated (as wasmtime does), so the translator only ever sees valid code
//! and the bodies are read once, in parallel. The validator's operand stack also types the
//! values the translator pushes, which tells it where GC references are (see
//! [`super::stack_maps`]).

use wasmparser::{
    FuncToValidate, FuncValidator, FuncValidatorAllocations, Operator, ValidatorResources,
};

use crate::error::CompileError;
use crate::module::ModuleInfo;

/// wasmparser's validator of the function being translated.
pub(crate) struct FuncValidation {
    pub(super) validator: FuncValidator<ValidatorResources>,
    /// Whether the module [may hold GC references](ModuleInfo::may_hold_gc_refs): only then
    /// are values declared as needing stack maps.
    pub(super) gc_refs: bool,
}

impl FuncValidation {
    /// For function `func_index` of `module`, reusing `allocations`.
    pub fn new(
        module: &ModuleInfo,
        func_index: u32,
        allocations: FuncValidatorAllocations,
    ) -> Result<Self, CompileError> {
        let (resources, features) = module.validation.as_ref().ok_or_else(|| {
            CompileError::Codegen(format!(
                "function {func_index}: no validation resources (a module read back from an \
                 artifact is not translated again)"
            ))
        })?;
        let validator = FuncToValidate {
            resources: resources.clone(),
            index: func_index,
            ty: module.functions[func_index as usize],
            features: *features,
        }
        .into_validator(allocations);
        Ok(FuncValidation {
            validator,
            gc_refs: module.may_hold_gc_refs(),
        })
    }

    /// Checks the declaration of `count` locals of type `ty` at `offset`.
    pub fn define_locals(
        &mut self,
        offset: u64,
        count: u32,
        ty: wasmparser::ValType,
    ) -> Result<(), CompileError> {
        Ok(self.validator.define_locals(offset, count, ty)?)
    }

    /// Checks `op`, at `offset`, before it is translated.
    pub fn op(&mut self, offset: u64, op: &Operator<'_>) -> Result<(), CompileError> {
        Ok(self.validator.op(offset, op)?)
    }

    /// The validator's allocations, for the next body. (That the body ends where its last
    /// `end` is, with no frame left open, is the operators reader's check.)
    pub fn into_allocations(self) -> FuncValidatorAllocations {
        self.validator.into_allocations()
    }
}
