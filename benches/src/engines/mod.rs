//! The engines that run a kernel, each behind the [`Engine`] trait, and the interleaved
//! timing loop that measures several of them on one kernel.

use std::time::Instant;

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
    /// The timed `run(n)` calls after the warm-ups, in ns each, in the order they ran.
    pub run_ns: Vec<u64>,
    /// `run(n)`'s result (the same on every call).
    pub checksum: u64,
}

/// A kernel compiled and instantiated by one engine, ready to be run.
pub struct Loaded<'a> {
    /// Compiling the module, in ns.
    pub compile_ns: u64,
    /// Creating the memory and instantiating, in ns.
    pub instantiate_ns: u64,
    /// The size `run` is called with.
    pub n: u32,
    /// Calls `run(n)` once; returns its duration in ns and its result.
    pub run: Box<dyn FnMut() -> Result<(u64, u64)> + 'a>,
}

/// Something that can compile, instantiate and run a kernel.
pub trait Engine {
    /// The engine's column name in the reports.
    fn name(&self) -> &str;

    /// Compiles and instantiates `kernel` and reads its size `n` for `size`. `runs` is the
    /// number of `run` calls that will follow (engines in another process make them all
    /// up front).
    fn load(&self, kernel: &Kernel, size: Size, runs: usize) -> Result<Loaded<'_>>;
}

/// The engines the harness knows, in report order. The last three are wasmjit with one
/// setting changed, for measuring what it brings or costs: [`::wasmjit::Config::inlining`]
/// off, [`::wasmjit::Config::consume_fuel`] on (with all the fuel a store holds), and
/// [`::wasmjit::Config::epoch_interruption`] on (no deadline reached).
pub const ALL: &[&str] = &[
    "wasmjit",
    "native",
    "node",
    "wasmtime",
    "wasmi",
    "wasmjit-no-inline",
    "wasmjit-fuel",
    "wasmjit-epochs",
];

/// Creates the engine called `name`, failing if it is unknown or not compiled in.
pub fn create(name: &str, repo_root: &std::path::Path) -> Result<Box<dyn Engine>> {
    Ok(match name {
        "wasmjit" => Box::new(wasmjit::WasmJit::new(
            "wasmjit",
            ::wasmjit::BoundsChecks::GuardPages,
        )?),
        "wasmjit-no-inline" | "wasmjit-fuel" | "wasmjit-epochs" => {
            let mut config = ::wasmjit::Config::new();
            match name {
                "wasmjit-no-inline" => config.inlining(false),
                "wasmjit-fuel" => config.consume_fuel(true),
                _ => config.epoch_interruption(true),
            };
            Box::new(wasmjit::WasmJit::with_config(name, &config)?)
        }
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

/// Times one call of `run`, through [`counted_call`].
pub fn timed_call(run: impl FnOnce() -> Result<u64>) -> Result<(u64, u64)> {
    let start = Instant::now();
    let checksum = counted_call(run)?;
    Ok((crate::stats::elapsed_ns(start), checksum))
}

/// Calls `run`. Never inlined, so that its symbol marks the span of one kernel call:
/// `benches/instructions.sh` counts the instructions executed inside it with callgrind's
/// `--toggle-collect=*counted_call*`.
#[inline(never)]
pub fn counted_call<T>(run: impl FnOnce() -> T) -> T {
    std::hint::black_box(run())
}

/// How the timing loop runs.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    /// The kernel size.
    pub size: Size,
    /// Untimed calls of each engine before the timed ones.
    pub warmups: usize,
    /// Timed calls of each engine.
    pub runs: usize,
}

/// Measures each `(engine, kernel)` pair: loads all of them, warms each up, then makes
/// `schedule.runs` rounds in which every pair runs once, the order rotating from round to
/// round, so that a slow phase of a noisy machine falls on all engines alike. Every call of
/// a pair must return the checksum of its first call. Returns one result per pair.
pub fn measure_interleaved(
    pairs: &[(&dyn Engine, &Kernel)],
    schedule: Schedule,
) -> Vec<Result<Measurement>> {
    struct Live<'a> {
        loaded: Loaded<'a>,
        run_ns: Vec<u64>,
        checksum: Option<u64>,
    }
    let call = |live: &mut Live<'_>, timed: bool| -> Result<()> {
        let (ns, checksum) = (live.loaded.run)()?;
        match live.checksum {
            Some(first) if first != checksum => {
                bail!("a run returned {checksum:#x}, the first returned {first:#x}")
            }
            _ => live.checksum = Some(checksum),
        }
        if timed {
            live.run_ns.push(ns);
        }
        Ok(())
    };
    let mut states: Vec<Result<Live<'_>>> = pairs
        .iter()
        .map(|(engine, kernel)| {
            let loaded = engine.load(kernel, schedule.size, schedule.warmups + schedule.runs)?;
            let mut live = Live {
                loaded,
                run_ns: Vec::with_capacity(schedule.runs),
                checksum: None,
            };
            for _ in 0..schedule.warmups {
                call(&mut live, false)?;
            }
            Ok(live)
        })
        .collect();
    for round in 0..schedule.runs {
        for offset in 0..states.len() {
            let i = (round + offset) % states.len();
            if let Ok(live) = &mut states[i] {
                if let Err(e) = call(live, true) {
                    states[i] = Err(e);
                }
            }
        }
    }
    states
        .into_iter()
        .map(|state| {
            let live = state?;
            Ok(Measurement {
                compile_ns: live.loaded.compile_ns,
                instantiate_ns: live.loaded.instantiate_ns,
                n: live.loaded.n,
                run_ns: live.run_ns,
                checksum: live
                    .checksum
                    .ok_or_else(|| crate::error::Error("no run was made".to_owned()))?,
            })
        })
        .collect()
}
