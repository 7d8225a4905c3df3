//! The standard WebAssembly C API (`include/wasm.h`) and wasmjit's extensions
//! (`include/wasmjit.h`), built on the public `wasmjit` crate.
//!
//! Every function here is `#[no_mangle] extern "C"` and meant to be called from C (or any
//! language with a C FFI) through the headers; `README.md` says how to build and link, what is
//! implemented and where wasmjit differs from the standard. Pointers the standard requires to
//! be valid are taken as Rust references (`&T`), nullable ones as `Option<&T>`, and `own`
//! arguments and results as `Option<Box<T>>`, so that the ownership rules of `wasm.h` are the
//! ownership rules of the Rust code.

#![allow(non_camel_case_types)]

mod anyref;
mod ext;
mod objects;
#[cfg(test)]
mod panic_tests;
mod types;
mod vec;

use std::cell::UnsafeCell;
use std::ffi::c_void;
use std::sync::{Arc, Weak};

use wasmjit_api::{Config, Engine, Store};

pub use vec::CVec;

/// What the C API's stores keep besides wasmjit's own state: host info attached to the
/// store's objects, finalized when the store goes.
#[derive(Default)]
pub(crate) struct StoreData {
    pub(crate) host_info: objects::HostInfoTable,
}

/// A store shared by its `wasm_store_t` and every object created in it, so that it lives as
/// long as the last of them.
pub(crate) struct StoreCell(UnsafeCell<Store<StoreData>>);

// SAFETY: the C API's objects of one store are used by one thread at a time (the standard's
// rule, restated in README.md), so the cell is never reached from two threads at once; the
// store itself is `Send`.
unsafe impl Send for StoreCell {}
// SAFETY: as above: sharing the `Arc` between threads is only ever sequential use.
unsafe impl Sync for StoreCell {}

pub(crate) type StoreRef = Arc<StoreCell>;
pub(crate) type WeakStore = Weak<StoreCell>;

/// Runs `f` on the store. The C API has no borrow of the store outliving one of its calls,
/// except across a host callback, where wasmjit itself reaches the store only through raw
/// pointers (see `Func::call`), so the exclusive reference is the only one in use.
pub(crate) fn with_store<R>(store: &StoreCell, f: impl FnOnce(&mut Store<StoreData>) -> R) -> R {
    // SAFETY: see above: one thread at a time uses a store, and no other reference made
    // from the cell is used while `f` runs.
    let store = unsafe { &mut *store.0.get() };
    f(store)
}

/// Host info: a pointer and the finalizer to call on it when the object goes.
pub(crate) struct HostInfo {
    data: *mut c_void,
    finalizer: Option<extern "C" fn(*mut c_void)>,
}

// SAFETY: the pointer is the host's, only handed back to it; a store moves between threads
// as a whole, and the host promised (README.md) that its info may go with it.
unsafe impl Send for HostInfo {}
// SAFETY: as above; the C API never dereferences the pointer.
unsafe impl Sync for HostInfo {}

impl Drop for HostInfo {
    fn drop(&mut self) {
        if let Some(finalizer) = self.finalizer {
            finalizer(self.data);
        }
    }
}

/// `wasm_config_t`: an engine configuration.
pub struct wasm_config_t {
    pub(crate) config: Config,
}

/// `wasm_engine_t`: compiles modules; shared by the stores made from it.
pub struct wasm_engine_t {
    pub(crate) engine: Engine,
}

/// `wasm_store_t`: owns instances and everything they create.
pub struct wasm_store_t {
    pub(crate) store: StoreRef,
}

/// `wasm_config_new`: the default configuration.
#[no_mangle]
pub extern "C" fn wasm_config_new() -> Box<wasm_config_t> {
    Box::new(wasm_config_t {
        config: Config::new(),
    })
}

/// `wasm_config_delete`.
#[no_mangle]
pub extern "C" fn wasm_config_delete(_config: Option<Box<wasm_config_t>>) {}

/// `wasm_engine_new`: an engine with the default configuration.
#[no_mangle]
pub extern "C" fn wasm_engine_new() -> Box<wasm_engine_t> {
    Box::new(wasm_engine_t {
        engine: Engine::default(),
    })
}

/// `wasm_engine_new_with_config`: NULL if the configuration is refused.
#[no_mangle]
pub extern "C" fn wasm_engine_new_with_config(
    config: Option<Box<wasm_config_t>>,
) -> Option<Box<wasm_engine_t>> {
    let config = config?;
    let engine = Engine::new(&config.config).ok()?;
    Some(Box::new(wasm_engine_t { engine }))
}

/// `wasm_engine_delete`.
#[no_mangle]
pub extern "C" fn wasm_engine_delete(_engine: Option<Box<wasm_engine_t>>) {}

/// `wasm_store_new`.
#[no_mangle]
pub extern "C" fn wasm_store_new(engine: &wasm_engine_t) -> Box<wasm_store_t> {
    let store = Store::new(&engine.engine, StoreData::default());
    Box::new(wasm_store_t {
        store: Arc::new(StoreCell(UnsafeCell::new(store))),
    })
}

/// `wasm_store_delete`: the store itself goes when the last object made in it is deleted.
#[no_mangle]
pub extern "C" fn wasm_store_delete(_store: Option<Box<wasm_store_t>>) {}
