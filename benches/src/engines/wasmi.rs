//! wasmi 2 (an interpreter), compiling eagerly so that its compile time is comparable.

use std::time::Instant;

use wasmi::{CompilationMode, Config, Linker, Memory, MemoryType, Module, Store};

use super::{timed_call, Engine, Loaded};
use crate::error::{Context, Result};
use crate::kernels::{Kernel, Size};
use crate::stats::elapsed_ns;

/// A wasmi engine with eager translation (the default translates each function lazily, on
/// its first call, which would move compile time into the warm-up run).
pub struct Wasmi {
    engine: wasmi::Engine,
}

impl Wasmi {
    /// A wasmi engine with default settings except eager compilation.
    pub fn new() -> Self {
        let mut config = Config::default();
        config.compilation_mode(CompilationMode::Eager);
        Wasmi {
            engine: wasmi::Engine::new(&config),
        }
    }

    /// The underlying wasmi engine.
    pub fn engine(&self) -> &wasmi::Engine {
        &self.engine
    }
}

impl Engine for Wasmi {
    fn name(&self) -> &str {
        "wasmi"
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
            .define("env", "memory", memory)
            .context("defining env.memory")?;
        let instance = linker
            .instantiate_and_start(&mut store, &module)
            .context("instantiating")?;
        let instantiate_ns = elapsed_ns(start);

        let size_fn = size.export();
        let n = instance
            .get_typed_func::<(), u32>(&store, size_fn)
            .context(size_fn)?
            .call(&mut store, ())
            .context(size_fn)?;
        let run = instance
            .get_typed_func::<u32, u64>(&store, "run")
            .context("run")?;
        Ok(Loaded {
            compile_ns,
            instantiate_ns,
            n,
            run: Box::new(move || timed_call(|| run.call(&mut store, n).context("calling run"))),
        })
    }
}
