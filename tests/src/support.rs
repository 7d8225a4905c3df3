//! Helpers the acceptance tests share.

use std::ffi::OsStr;
use std::process::Command;
use std::thread::{self, JoinHandle};
use std::time::Duration;

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

/// A thread that bumps `engine`'s epoch once, 20 ms from now: long enough for the caller
/// to be running wasm by then.
pub fn bump_epoch_soon(engine: &Engine) -> JoinHandle<()> {
    let engine = engine.clone();
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        engine.increment_epoch();
    })
}

/// A command starting `program`, an executable built for the same target as this test:
/// through the configured runner, if any (`WASMJIT_TEST_RUNNER`, else cargo's
/// `CARGO_TARGET_<ARCH>_UNKNOWN_LINUX_GNU_RUNNER`; split on whitespace), so that a test
/// running as aarch64 code under QEMU starts its aarch64 children under QEMU as well.
pub fn target_command(program: impl AsRef<OsStr>) -> Command {
    let cargo_runner = format!(
        "CARGO_TARGET_{}_UNKNOWN_LINUX_GNU_RUNNER",
        std::env::consts::ARCH.to_uppercase()
    );
    let runner = std::env::var("WASMJIT_TEST_RUNNER")
        .or_else(|_| std::env::var(cargo_runner))
        .unwrap_or_default();
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(first) => {
            let mut command = Command::new(first);
            command.args(words).arg(program);
            command
        }
        None => Command::new(program),
    }
}
