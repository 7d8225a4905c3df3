//! wasmjit, the engine under test, with either bounds-checking strategy and optionally
//! epoch interruption or fuel metering.

use std::time::Instant;

use wasmjit::{BoundsChecks, Config, Linker, Memory, MemoryType, Module, Store};

use super::{timed_call, Engine, Loaded};
use crate::error::{Context, Result};
use crate::kernels::{Kernel, Size};
use crate::stats::elapsed_ns;

/// A wasmjit engine with one configuration.
pub struct WasmJit {
    name: String,
    engine: wasmjit::Engine,
    /// Fuel metering is on: each store gets all the fuel it can hold.
    fuel: bool,
}

impl WasmJit {
    /// An engine named `name` in the reports, with default settings except `bounds_checks`.
    pub fn new(name: &str, bounds_checks: BoundsChecks) -> Result<Self> {
        let mut config = Config::new();
        config.bounds_checks(bounds_checks);
        Self::with_config(name, &config)
    }

    /// An engine named `name` in the reports, with `config`.
    pub fn with_config(name: &str, config: &Config) -> Result<Self> {
        let engine = wasmjit::Engine::new(config).context("creating the wasmjit engine")?;
        let fuel = Store::new(&engine, ()).get_fuel().is_ok();
        Ok(WasmJit {
            name: name.to_owned(),
            engine,
            fuel,
        })
    }
}

impl Engine for WasmJit {
    fn name(&self) -> &str {
        &self.name
    }

    fn load(&self, kernel: &Kernel, size: Size, _runs: usize) -> Result<Loaded<'_>> {
        let start = Instant::now();
        let module = Module::new(&self.engine, &kernel.wasm).context("compiling")?;
        let compile_ns = elapsed_ns(start);

        let start = Instant::now();
        let mut store = Store::new(&self.engine, ());
        if self.fuel {
            store.set_fuel(u64::MAX).context("setting fuel")?;
        }
        let pages = u64::from(kernel.memory_pages);
        let memory = if kernel.memory64 {
            let ty = MemoryType::builder()
                .min(pages)
                .memory64(true)
                .build()
                .context("the 64-bit memory's type")?;
            Memory::with_type(&mut store, &ty)
        } else {
            Memory::new(&mut store, pages, None, false)
        }
        .context("creating the memory")?;
        let mut linker = Linker::new(&self.engine);
        linker
            .define(&mut store, "env", "memory", memory)
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
