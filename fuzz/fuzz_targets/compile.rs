//! `Module::new` on arbitrary bytes must return, with a module or an error: never panic,
//! abort or run away.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

fn engine() -> &'static wasmjit::Engine {
    static ENGINE: OnceLock<wasmjit::Engine> = OnceLock::new();
    ENGINE.get_or_init(wasmjit::Engine::default)
}

fuzz_target!(|bytes: &[u8]| {
    let _ = wasmjit::Module::new(engine(), bytes);
});
