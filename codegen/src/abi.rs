//! How WebAssembly values and functions map onto Cranelift types and signatures.
//!
//! A compiled wasm function that escapes its module takes `(callee_vmctx, caller_vmctx,
//! params...)` and returns its results, in Cranelift's `tail` calling convention, which lets
//! `return_call` replace the caller's frame with the callee's whatever their stack
//! arguments. One that only its module's direct calls reach takes no caller vmctx (see
//! [`Callers`]). With fuel metering on, the fuel left goes in after the parameters and
//! comes back after the results: see [`wasm_signature`]. Host functions are reached through
//! a trampoline with the escaping functions' signature, so callers through a table, a
//! reference or an import never need to know which kind of function they call; the host
//! enters wasm through the array-to-wasm trampolines, which use the platform's convention
//! (see [`crate::trampolines`]).

use cranelift_codegen::ir::{self, types, AbiParam, ArgumentPurpose, Signature};
use cranelift_codegen::isa::CallConv;

use crate::module::{FuncType, ValType};

/// The Cranelift type of a wasm value: references are pointers, vectors are `i8x16`.
pub(crate) fn value_type(ty: ValType) -> ir::Type {
    match ty {
        ValType::I32 => types::I32,
        ValType::I64 => types::I64,
        ValType::F32 => types::F32,
        ValType::F64 => types::F64,
        ValType::V128 => types::I8X16,
        ValType::Ref(_) => types::I64,
    }
}

/// The calling convention of every wasm function (Cranelift's `tail`, so that `return_call`
/// is a real tail call). Precompiled modules record it ([`crate::CodeSettings`]): code of
/// another convention is never linked with this one.
pub(crate) const WASM_CALL_CONV: CallConv = CallConv::Tail;

/// Who may call a function, which decides whether its signature has the caller's vmctx.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Callers {
    /// Any caller: the host, other instances, `call_indirect`, `call_ref` (the function
    /// escapes its module, see [`crate::ModuleInfo::escaping_functions`]). All such callees
    /// share one signature per type, host functions' trampolines included, and those need
    /// the caller's vmctx: it is the second parameter.
    Any,
    /// Only direct calls within the module, whose callee is a wasm function of the same
    /// instance: the caller's vmctx is the callee's own, and the signature leaves it out
    /// (one argument register less to fill at each call).
    Module,
}

impl Callers {
    /// The index of the first wasm parameter in a function's [`wasm_signature`].
    pub(crate) fn first_wasm_param(self) -> usize {
        match self {
            Callers::Any => 2,
            Callers::Module => 1,
        }
    }
}

/// The native signature of a wasm function of type `ty` called by `callers`: the callee's
/// vmctx, for [`Callers::Any`] the caller's, then the wasm parameters; with `fuel` (fuel
/// metering on), with the fuel parameter and result.
///
/// With fuel metering, every wasm function takes the fuel left (complemented, as the store
/// keeps it: see `translate::interrupts`) as its last parameter and returns what is left
/// as its last result, so that the fuel goes from caller to callee and back in registers.
/// Reloading it from the store on either side put a store-to-load chain on every call's
/// critical path (`fib` ran 1.5x slower with fuel when both sides reloaded it, 1.24x when
/// the callee still did).
pub(crate) fn wasm_signature(ty: &FuncType, fuel: bool, callers: Callers) -> Signature {
    let mut sig = Signature::new(WASM_CALL_CONV);
    sig.params
        .push(AbiParam::special(types::I64, ArgumentPurpose::VMContext));
    if callers == Callers::Any {
        sig.params.push(AbiParam::new(types::I64));
    }
    sig.params
        .extend(ty.params.iter().map(|t| AbiParam::new(value_type(*t))));
    sig.returns
        .extend(ty.results.iter().map(|t| AbiParam::new(value_type(*t))));
    if fuel {
        sig.params.push(AbiParam::new(types::I64));
        sig.returns.push(AbiParam::new(types::I64));
    }
    sig
}
