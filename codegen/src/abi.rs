//! How WebAssembly values and functions map onto Cranelift types and signatures.
//!
//! Every compiled wasm function takes `(callee_vmctx, caller_vmctx, params...)` and returns
//! its results, in Cranelift's `tail` calling convention, which lets `return_call` replace
//! the caller's frame with the callee's whatever their stack arguments. With fuel metering
//! on, the fuel left goes in after the parameters and comes back after the results: see
//! [`wasm_signature`]. Host functions are reached through a trampoline with the same
//! signature, so callers never need to know which kind of function they call; the host
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

/// The native signature of a wasm function of type `ty`; with `fuel` (fuel metering on),
/// with the fuel parameter and result.
///
/// With fuel metering, every wasm function takes the fuel left (complemented, as the store
/// keeps it: see `translate::interrupts`) as its last parameter and returns what is left
/// as its last result, so that the fuel goes from caller to callee and back in registers.
/// Reloading it from the store on either side put a store-to-load chain on every call's
/// critical path (`fib` ran 1.5x slower with fuel when both sides reloaded it, 1.24x when
/// the callee still did).
pub(crate) fn wasm_signature(ty: &FuncType, fuel: bool) -> Signature {
    let mut sig = Signature::new(WASM_CALL_CONV);
    sig.params
        .push(AbiParam::special(types::I64, ArgumentPurpose::VMContext));
    sig.params.push(AbiParam::new(types::I64));
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

/// The index of the first wasm parameter in [`wasm_signature`].
pub(crate) const WASM_PARAMS: usize = 2;
