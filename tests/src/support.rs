//! Helpers the acceptance tests share.

use wasmjit::{Engine, Error, Instance, Module, Store, Trap};

/// The kind of trap `result` holds; panics, showing what came instead, if it is not a trap.
pub fn trap_kind<T: std::fmt::Debug>(result: wasmjit::Result<T>) -> Trap {
    match result {
        Err(Error::Trap(t)) => t,
        other => panic!("expected a trap, got {other:?}"),
    }
}

/// A new store with one instance of the module `wat`, which must compile, need no imports
/// and instantiate.
pub fn instance(engine: &Engine, wat: &str) -> (Store<()>, Instance) {
    let module = Module::new(engine, wat).unwrap();
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    (store, instance)
}
