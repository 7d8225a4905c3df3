//! wasmtime 48 (Cranelift 0.135, like wasmjit), with its default configuration.

use std::time::Instant;

use wasmtime::{Config, Linker, Memory, MemoryType, Module, Store};

use super::{timed_call, Engine, Loaded};
use crate::error::{Context, Result};
use crate::kernels::{Kernel, Size};
use crate::stats::elapsed_ns;

/// A wasmtime engine with default settings (guard pages, parallel compilation).
pub struct Wasmtime {
    engine: wasmtime::Engine,
}

impl Wasmtime {
    /// A default-configured wasmtime engine.
    pub fn new() -> Result<Self> {
        let engine =
            wasmtime::Engine::new(&Config::new()).context("creating the wasmtime engine")?;
        Ok(Wasmtime { engine })
    }

    /// The underlying wasmtime engine.
    pub fn engine(&self) -> &wasmtime::Engine {
        &self.engine
    }
}

impl Engine for Wasmtime {
    fn name(&self) -> &str {
        "wasmtime"
    }

    fn load(&self, kernel: &Kernel, size: Size, _runs: usize) -> Result<Loaded<'_>> {
        let start = Instant::now();
        let module = Module::new(&self.engine, &kernel.wasm).context("compiling")?;
        let compile_ns = elapsed_ns(start);

        let start = Instant::now();
        let mut store = Store::new(&self.engine, ());
        let memory = Memory::new(&mut store, MemoryType::new(kernel.memory_pages, None))
            .context("creating the memory")?;
        let mut linker = Linker::new(&self.engine);
        linker
            .define(&store, "env", "memory", memory)
            .context("defining env.memory")?;
        let instance = linker
            .instantiate(&mut store, &module)
            .context("instantiating")?;
        let instantiate_ns = elapsed_ns(start);

        let size_fn = size.export();
        let n = instance
            .get_typed_func::<(), u32>(&mut store, size_fn)
            .context(size_fn)?
            .call(&mut store, ())
            .context(size_fn)?;
        let run = instance
            .get_typed_func::<u32, u64>(&mut store, "run")
            .context("run")?;
        Ok(Loaded {
            compile_ns,
            instantiate_ns,
            n,
            run: Box::new(move || timed_call(|| run.call(&mut store, n).context("calling run"))),
        })
    }
}
