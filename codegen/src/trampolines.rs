//! Per-signature trampolines between the host's value arrays and wasm's calling convention.
//!
//! The host calls any wasm function through the *array-to-wasm* trampoline of its type, which
//! takes the arguments from an array of 16-byte slots and writes the results back to it, so
//! the runtime needs no per-signature Rust code. Wasm calls a host function through the
//! *wasm-to-array* trampoline of its type: a function with the wasm signature whose callee
//! vmctx is a host-function context. It spills the arguments into such an array on its stack
//! and calls the context's callback (the `extern "C"` function pointer at offset
//! [`HOST_CONTEXT_CALLBACK`]) as `callback(host_context, caller_vmctx, values, len)`, then
//! loads the results from the array. The callback returns 0, or an exception the host
//! function throws: the trampoline then throws it into its caller with the context's throw
//! function (at [`HOST_CONTEXT_THROW`], the runtime's `throw_ref` entry).
//!
//! Before calling the host, the wasm-to-array trampoline records its caller's frame (the
//! return address into it and its frame pointer) as the store's exit record, at
//! [`VMOffsets::STORE_CONTEXT_EXIT_PC`] and [`VMOffsets::STORE_CONTEXT_EXIT_FP`] of the
//! store context the host context points at ([`HOST_CONTEXT_STORE_CONTEXT`]), and clears it
//! when the host returns: a walk over the stack started while the host function runs (a
//! collection, or a nested call into wasm saving the record) finds the wasm frames from
//! there.
//!
//! With fuel metering, wasm functions take the fuel left as their last parameter and return
//! what is left as their last result (see [`crate::abi::wasm_signature`]). The array-to-wasm
//! trampoline passes the store's fuel and writes back to the store what its callee returns;
//! the wasm-to-array trampoline returns the store's fuel after the host (which may read or
//! set it) returns, its wasm caller having written it there before the call.

use cranelift_codegen::ir::{
    self, types, AbiParam, InstBuilder, MemFlagsData, Signature, StackSlotData, StackSlotKind,
};
use cranelift_codegen::isa::TargetIsa;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};

use crate::abi::{value_type, wasm_signature, Callers};
use crate::module::FuncType;
use crate::vmoffsets::{VMOffsets, VALRAW_SIZE};

/// Offset of the callback pointer in a host-function context.
pub const HOST_CONTEXT_CALLBACK: u32 = 0;

/// Offset of the throw function pointer in a host-function context: `fn(vmctx, exn)` in the
/// `tail` convention, which never returns.
pub const HOST_CONTEXT_THROW: u32 = 8;

/// Offset of the store context's address in a host-function context.
pub const HOST_CONTEXT_STORE_CONTEXT: u32 = 16;

/// Builds the host-to-wasm trampoline for functions of type `ty` (with `fuel`: metering
/// fuel): `extern "C" fn(callee_vmctx, caller_vmctx, func_ptr, values, store_context)`.
pub(crate) fn array_to_wasm(isa: &dyn TargetIsa, ty: &FuncType, fuel: bool) -> ir::Function {
    let mut sig = Signature::new(isa.default_call_conv());
    sig.params.extend([AbiParam::new(types::I64); 5]);
    let mut func = ir::Function::with_name_signature(ir::UserFuncName::default(), sig);
    let mut builder_ctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut builder_ctx);
    let params = enter(&mut b);
    let [callee_vmctx, caller_vmctx, func_ptr, values, store_ctx] = params[..] else {
        unreachable!("the trampoline signature has five parameters")
    };
    // The host's value array is only byte-aligned: no `aligned` flag.
    let flags = MemFlagsData::new().with_notrap();
    let mut args = vec![callee_vmctx, caller_vmctx];
    for (i, param) in ty.params.iter().enumerate() {
        let offset = slot_offset(i);
        args.push(b.ins().load(value_type(*param), flags, values, offset));
    }
    if fuel {
        args.push(store_fuel(&mut b, store_ctx));
    }
    let wasm_sig = b.import_signature(wasm_signature(ty, fuel, Callers::Any));
    let call = b.ins().call_indirect(wasm_sig, func_ptr, &args);
    let results = b.inst_results(call).to_vec();
    let (results, fuel_left) = results.split_at(ty.results.len());
    if let Some(fuel_left) = fuel_left.first() {
        b.ins().store(
            MemFlagsData::trusted(),
            *fuel_left,
            store_ctx,
            VMOffsets::STORE_CONTEXT_FUEL as i32,
        );
    }
    for (i, result) in results.iter().enumerate() {
        b.ins().store(flags, *result, values, slot_offset(i));
    }
    b.ins().return_(&[]);
    b.finalize(isa.frontend_config());
    func
}

/// Builds the wasm-to-host trampoline for host functions of type `ty` (with `fuel`: metering
/// fuel).
pub(crate) fn wasm_to_array(isa: &dyn TargetIsa, ty: &FuncType, fuel: bool) -> ir::Function {
    let mut func = ir::Function::with_name_signature(
        ir::UserFuncName::default(),
        wasm_signature(ty, fuel, Callers::Any),
    );
    let mut builder_ctx = FunctionBuilderContext::new();
    let mut b = FunctionBuilder::new(&mut func, &mut builder_ctx);
    let params = enter(&mut b);
    let (host_ctx, caller_vmctx) = (params[0], params[1]);
    let len = ty.params.len().max(ty.results.len());
    let slot = b.create_sized_stack_slot(StackSlotData::new(
        StackSlotKind::ExplicitSlot,
        VALRAW_SIZE * len.max(1) as u32,
        4,
    ));
    // The fuel parameter, after the wasm ones, is in the store too: the caller wrote it.
    let first = Callers::Any.first_wasm_param();
    let args = &params[first..first + ty.params.len()];
    for (i, arg) in args.iter().enumerate() {
        b.ins().stack_store(types::I64, *arg, slot, slot_offset(i));
    }
    let values = b.ins().stack_addr(types::I64, slot, 0);
    let flags = MemFlagsData::trusted().with_readonly();
    let callback = b
        .ins()
        .load(types::I64, flags, host_ctx, HOST_CONTEXT_CALLBACK as i32);
    let mut callback_sig = Signature::new(isa.default_call_conv());
    callback_sig.params.extend([AbiParam::new(types::I64); 4]);
    callback_sig.returns.push(AbiParam::new(types::I64));
    let callback_sig = b.import_signature(callback_sig);
    let len = b.ins().iconst(types::I64, len as i64);
    let store_ctx = b.ins().load(
        types::I64,
        flags,
        host_ctx,
        HOST_CONTEXT_STORE_CONTEXT as i32,
    );
    let fp = b.ins().get_frame_pointer(types::I64);
    let caller_fp = b.ins().load(types::I64, MemFlagsData::trusted(), fp, 0);
    let caller_pc = b.ins().get_return_address(types::I64);
    let exit_pc = VMOffsets::STORE_CONTEXT_EXIT_PC as i32;
    let exit_fp = VMOffsets::STORE_CONTEXT_EXIT_FP as i32;
    b.ins()
        .store(MemFlagsData::trusted(), caller_pc, store_ctx, exit_pc);
    b.ins()
        .store(MemFlagsData::trusted(), caller_fp, store_ctx, exit_fp);
    let call = b.ins().call_indirect(
        callback_sig,
        callback,
        &[host_ctx, caller_vmctx, values, len],
    );
    let zero = b.ins().iconst(types::I64, 0);
    b.ins()
        .store(MemFlagsData::trusted(), zero, store_ctx, exit_fp);
    let exn = b.inst_results(call)[0];
    let throw_block = b.create_block();
    let done = b.create_block();
    b.set_cold_block(throw_block);
    b.ins().brif(exn, throw_block, &[], done, &[]);
    b.seal_block(throw_block);
    b.seal_block(done);
    b.switch_to_block(throw_block);
    let throw = b
        .ins()
        .load(types::I64, flags, host_ctx, HOST_CONTEXT_THROW as i32);
    // The throw stub takes its arguments in the `tail` convention, as wasm code calls it.
    let mut throw_sig = Signature::new(crate::abi::WASM_CALL_CONV);
    throw_sig.params.extend([AbiParam::new(types::I64); 2]);
    let throw_sig = b.import_signature(throw_sig);
    b.ins()
        .call_indirect(throw_sig, throw, &[caller_vmctx, exn]);
    b.ins()
        .trap(crate::TrapKind::UnreachableCodeReached.trap_code());
    b.switch_to_block(done);
    let mut results: Vec<_> = ty
        .results
        .iter()
        .enumerate()
        .map(|(i, r)| {
            b.ins()
                .stack_load(types::I64, value_type(*r), slot, slot_offset(i))
        })
        .collect();
    if fuel {
        results.push(store_fuel(&mut b, store_ctx));
    }
    b.ins().return_(&results);
    b.finalize(isa.frontend_config());
    func
}

/// Loads the (complemented) fuel of the store whose context is `store_ctx`.
fn store_fuel(b: &mut FunctionBuilder<'_>, store_ctx: ir::Value) -> ir::Value {
    b.ins().load(
        types::I64,
        MemFlagsData::trusted(),
        store_ctx,
        VMOffsets::STORE_CONTEXT_FUEL as i32,
    )
}

/// Starts the trampoline's only block and returns the function's parameters.
fn enter(b: &mut FunctionBuilder<'_>) -> Vec<ir::Value> {
    let block = b.create_block();
    b.append_block_params_for_function_params(block);
    b.switch_to_block(block);
    b.seal_block(block);
    b.block_params(block).to_vec()
}

fn slot_offset(i: usize) -> i32 {
    (i as u32 * VALRAW_SIZE) as i32
}
