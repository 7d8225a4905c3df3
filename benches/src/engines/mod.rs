//! The engines that run a kernel, each behind the [`Engine`] trait.

use crate::error::{bail, Result};
use crate::kernels::{Kernel, Size};

pub mod native;
pub mod node;
#[cfg(feature = "wasmi")]
pub mod wasmi;
pub mod wasmjit;
#[cfg(feature = "wasmtime")]
pub mod wasmtime;

/// What one engine measured for one kernel.
#[derive(Clone, Debug)]
pub struct Measurement {
    /// Compiling the module (for `native`: `dlopen`), in ns.
    pub compile_ns: u64,
    /// Creating the memory and instantiating, including the start function, in ns.
    pub instantiate_ns: u64,
    /// The size passed to `run`.
    pub n: u32,
    /// The timed `run(n)` calls after one warm-up, in ns each.
    pub run_ns: Vec<u64>,
    /// `run(n)`'s result (the same on every call).
    pub checksum: u64,
}

/// Something that can compile, instantiate and run a kernel.
pub trait Engine {
    /// The engine's column name in the reports.
    fn name(&self) -> &str;

    /// Compiles and instantiates `kernel`, calls `run(n)` once to warm up and then `runs`
    /// more times, timing each call.
    fn measure(&self, kernel: &Kernel, size: Size, runs: usize) -> Result<Measurement>;
}

/// The engines the harness knows, in report order.
pub const ALL: &[&str] = &["wasmjit", "native", "node", "wasmtime", "wasmi"];

/// Creates the engine called `name`, failing if it is unknown or not compiled in.
pub fn create(name: &str, repo_root: &std::path::Path) -> Result<Box<dyn Engine>> {
    Ok(match name {
        "wasmjit" => Box::new(wasmjit::WasmJit::new(
            "wasmjit",
            ::wasmjit::BoundsChecks::GuardPages,
        )?),
        "native" => Box::new(native::Native),
        "node" => Box::new(node::Node::new(repo_root)),
        #[cfg(feature = "wasmtime")]
        "wasmtime" => Box::new(wasmtime::Wasmtime::new()?),
        #[cfg(feature = "wasmi")]
        "wasmi" => Box::new(wasmi::Wasmi::new()),
        #[cfg(not(feature = "wasmtime"))]
        "wasmtime" => bail!("engine wasmtime is not compiled in: build with `--features wasmtime`"),
        #[cfg(not(feature = "wasmi"))]
        "wasmi" => bail!("engine wasmi is not compiled in: build with `--features wasmi`"),
        _ => bail!("unknown engine {name} (known: {})", ALL.join(", ")),
    })
}

/// Calls `run` once to warm up and then `runs` times timed; checks that every call returns
/// the warm-up's checksum. Returns the timings and the checksum.
pub fn timed_runs(runs: usize, mut run: impl FnMut() -> Result<u64>) -> Result<(Vec<u64>, u64)> {
    let checksum = run()?;
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs {
        let start = std::time::Instant::now();
        let result = run()?;
        times.push(crate::stats::elapsed_ns(start));
        if result != checksum {
            bail!("run {i} returned {result:#x}, the warm-up returned {checksum:#x}");
        }
    }
    Ok((times, checksum))
}
