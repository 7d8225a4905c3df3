//! wasmjit's extensions (`include/wasmjit.h`): errors, `WebAssembly.Memory`-style memories,
//! configuration knobs, fuel, epochs and the text format.

use std::ffi::c_char;
use std::mem::MaybeUninit;

use wasmjit_api::{BoundsChecks, Error, Memory};

use crate::objects::{memory_grow, memory_info, wasm_memory_t, wasm_ref_t, Obj};
use crate::vec::{wasm_byte_vec_t, CVec};
use crate::{wasm_config_t, wasm_engine_t, wasm_store_t, with_store};

/// `wasmjit_error_t`: why an extension call failed.
pub struct wasmjit_error_t {
    message: String,
}

pub(crate) fn error(e: impl ToString) -> Option<Box<wasmjit_error_t>> {
    Some(Box::new(wasmjit_error_t {
        message: e.to_string(),
    }))
}

/// `wasmjit_error_message`: the message, NUL-terminated (the NUL counted in the size).
#[no_mangle]
pub extern "C" fn wasmjit_error_message(
    error: &wasmjit_error_t,
    out: &mut MaybeUninit<wasm_byte_vec_t>,
) {
    let mut bytes = error.message.clone().into_bytes();
    bytes.push(0);
    out.write(CVec::from_vec(bytes));
}

/// `wasmjit_error_delete`.
#[no_mangle]
pub extern "C" fn wasmjit_error_delete(_error: Option<Box<wasmjit_error_t>>) {}

/// `wasmjit_memory_new`: a memory of `initial` pages, growable to `*maximum` pages (no
/// maximum if `maximum` is NULL), shared between threads if `shared`, following
/// `WebAssembly.Memory`'s rules (`initial <= maximum <= 65536`, a shared memory needs a
/// maximum). NULL and `*memory_out` set on success.
#[no_mangle]
pub extern "C" fn wasmjit_memory_new(
    store: &wasm_store_t,
    initial: u64,
    maximum: Option<&u64>,
    shared: bool,
    memory_out: &mut MaybeUninit<Option<Box<wasm_memory_t>>>,
) -> Option<Box<wasmjit_error_t>> {
    let result = with_store(&store.store, |s| {
        Memory::new(s, initial, maximum.copied(), shared)
    });
    match result {
        Ok(memory) => {
            memory_out.write(Some(wasm_ref_t::new(&store.store, Obj::Memory(memory))));
            None
        }
        Err(e) => {
            memory_out.write(None);
            error(e)
        }
    }
}

/// `wasmjit_memory_grow`: grows by `delta` pages, writing the old size in pages to
/// `*old_pages` (if not NULL), as `WebAssembly.Memory.grow` returns it.
#[no_mangle]
pub extern "C" fn wasmjit_memory_grow(
    memory: &wasm_memory_t,
    delta: u64,
    old_pages: Option<&mut u64>,
) -> Option<Box<wasmjit_error_t>> {
    match memory_grow(memory, delta) {
        Ok(old) => {
            if let Some(out) = old_pages {
                *out = old;
            }
            None
        }
        Err(e) => error(e),
    }
}

/// `wasmjit_memory_size`: the size in pages, as a 64-bit number.
#[no_mangle]
pub extern "C" fn wasmjit_memory_size(memory: &wasm_memory_t) -> u64 {
    memory_info(memory).3
}

/// `wasmjit_memory_is_shared`.
#[no_mangle]
pub extern "C" fn wasmjit_memory_is_shared(memory: &wasm_memory_t) -> bool {
    memory_info(memory).0.is_shared()
}

/// `wasmjit_config_bounds_checks_set`: 0 for guard pages (the default), 1 for explicit
/// checks; false for another value.
#[no_mangle]
pub extern "C" fn wasmjit_config_bounds_checks_set(config: &mut wasm_config_t, mode: u8) -> bool {
    let mode = match mode {
        0 => BoundsChecks::GuardPages,
        1 => BoundsChecks::Explicit,
        _ => return false,
    };
    config.config.bounds_checks(mode);
    true
}

/// `wasmjit_config_guard_size_set`: the guard region after each memory, in bytes.
#[no_mangle]
pub extern "C" fn wasmjit_config_guard_size_set(config: &mut wasm_config_t, bytes: u64) {
    config.config.guard_size(bytes);
}

/// `wasmjit_config_consume_fuel_set`.
#[no_mangle]
pub extern "C" fn wasmjit_config_consume_fuel_set(config: &mut wasm_config_t, enable: bool) {
    config.config.consume_fuel(enable);
}

/// `wasmjit_config_epoch_interruption_set`.
#[no_mangle]
pub extern "C" fn wasmjit_config_epoch_interruption_set(config: &mut wasm_config_t, enable: bool) {
    config.config.epoch_interruption(enable);
}

/// `wasmjit_config_max_wasm_stack_set`: in bytes.
#[no_mangle]
pub extern "C" fn wasmjit_config_max_wasm_stack_set(config: &mut wasm_config_t, bytes: usize) {
    config.config.max_wasm_stack(bytes);
}

/// `wasmjit_config_target_set`: compile for another target, named by its triple
/// (`"aarch64-unknown-linux-gnu"`, NUL-terminated); an error if it is not one wasmjit
/// supports. An engine for another target compiles and precompiles (`wasm_module_serialize`)
/// but runs nothing.
#[no_mangle]
pub extern "C" fn wasmjit_config_target_set(
    config: &mut wasm_config_t,
    triple: &std::ffi::c_char,
) -> Option<Box<wasmjit_error_t>> {
    // SAFETY: the caller passes a NUL-terminated string (the function's documented contract).
    let triple = unsafe { std::ffi::CStr::from_ptr(triple) };
    let Ok(triple) = triple.to_str() else {
        return error("the target triple is not UTF-8");
    };
    match config.config.target(triple) {
        Ok(_) => None,
        Err(e) => error(e),
    }
}

/// `wasmjit_engine_new_with_config`: like `wasm_engine_new_with_config`, saying why a
/// configuration is refused. Takes the configuration.
#[no_mangle]
pub extern "C" fn wasmjit_engine_new_with_config(
    config: Box<wasm_config_t>,
    engine_out: &mut MaybeUninit<Option<Box<wasm_engine_t>>>,
) -> Option<Box<wasmjit_error_t>> {
    match wasmjit_api::Engine::new(&config.config) {
        Ok(engine) => {
            engine_out.write(Some(Box::new(wasm_engine_t { engine })));
            None
        }
        Err(e) => {
            engine_out.write(None);
            error(e)
        }
    }
}

/// `wasmjit_engine_increment_epoch`.
#[no_mangle]
pub extern "C" fn wasmjit_engine_increment_epoch(engine: &wasm_engine_t) {
    engine.engine.increment_epoch();
}

/// `wasmjit_store_set_epoch_deadline`: `ticks` epochs from now.
#[no_mangle]
pub extern "C" fn wasmjit_store_set_epoch_deadline(store: &wasm_store_t, ticks: u64) {
    with_store(&store.store, |s| s.set_epoch_deadline(ticks));
}

/// `wasmjit_store_set_fuel`: fails unless fuel consumption is configured.
#[no_mangle]
pub extern "C" fn wasmjit_store_set_fuel(
    store: &wasm_store_t,
    fuel: u64,
) -> Option<Box<wasmjit_error_t>> {
    with_store(&store.store, |s| s.set_fuel(fuel))
        .err()
        .and_then(error)
}

/// `wasmjit_store_get_fuel`: fails unless fuel consumption is configured.
#[no_mangle]
pub extern "C" fn wasmjit_store_get_fuel(
    store: &wasm_store_t,
    fuel: &mut u64,
) -> Option<Box<wasmjit_error_t>> {
    match with_store(&store.store, |s| s.get_fuel()) {
        Ok(f) => {
            *fuel = f;
            None
        }
        Err(e) => error(e),
    }
}

/// `wasmjit_wat2wasm`: the binary of a module in the text format.
///
/// # Safety
/// `wat` points at `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn wasmjit_wat2wasm(
    wat: *const c_char,
    len: usize,
    out: &mut MaybeUninit<wasm_byte_vec_t>,
) -> Option<Box<wasmjit_error_t>> {
    let bytes = if len == 0 {
        &[][..]
    } else {
        // SAFETY: per the contract.
        unsafe { std::slice::from_raw_parts(wat.cast::<u8>(), len) }
    };
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            out.write(CVec::empty());
            return error(e);
        }
    };
    match wat::parse_str(text) {
        Ok(binary) => {
            out.write(CVec::from_vec(binary));
            None
        }
        Err(e) => {
            out.write(CVec::empty());
            error(Error::Text(e.to_string()))
        }
    }
}

/// `wasmjit_shared_memory_t`: a shared memory that other stores and threads can obtain.
pub struct wasmjit_shared_memory_t {
    memory: wasmjit_api::SharedMemory,
}

/// `wasmjit_memory_share`: NULL unless the memory is shared.
#[no_mangle]
pub extern "C" fn wasmjit_memory_share(
    memory: &wasm_memory_t,
) -> Option<Box<wasmjit_shared_memory_t>> {
    let shared = match &memory.obj {
        Obj::Memory(m) => with_store(memory.store(), |s| m.shared(&*s))?,
        Obj::SharedMemory(m) => m.clone(),
        _ => return None,
    };
    Some(Box::new(wasmjit_shared_memory_t { memory: shared }))
}

/// `wasmjit_shared_memory_obtain`: the shared memory as a memory of `store` (for imports).
#[no_mangle]
pub extern "C" fn wasmjit_shared_memory_obtain(
    store: &wasm_store_t,
    shared: &wasmjit_shared_memory_t,
) -> Box<wasm_memory_t> {
    wasm_ref_t::new(&store.store, Obj::SharedMemory(shared.memory.clone()))
}

/// `wasmjit_shared_memory_delete`.
#[no_mangle]
pub extern "C" fn wasmjit_shared_memory_delete(_shared: Option<Box<wasmjit_shared_memory_t>>) {}
