//! Fast start: instantiation with the pooling allocator and copy-on-write memory images,
//! against wasmtime configured alike (its pooling allocator and `memory_init_cow`, when built
//! with `--features wasmtime`).
//!
//! One instantiation is `Store::new` + `Instance::new` of a module with a memory, a data
//! segment and a start function that reads the segment; the store is dropped (and the
//! memory's slot reset) outside the timed span in the single-thread median, inside it in
//! the throughput measurements, which time whole create-instantiate-call-drop cycles.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Instant;

use wasmjit::{
    Config, Instance, InstanceAllocationStrategy, Module, PoolingAllocationConfig, Store,
};

use crate::error::{bail, Context, Error, Result};
use crate::focused::Scale;
use crate::report::Table;
use crate::stats::{elapsed_ns, format_ns, format_ratio, median};

/// The small module: one page, a data segment, a start function that reads it.
const SMALL_WAT: &str = r#"(module
  (memory (export "memory") 1)
  (global $seen (mut i32) (i32.const 0))
  (data (i32.const 64) "wasmjit instantiation benchmark: a small data segment.")
  (func $start (global.set $seen (i32.load8_u (i32.const 64))))
  (start $start)
  (func (export "peek") (result i32) (global.get $seen)))"#;

/// The first byte of the data segment, which `peek` returns after the start function ran.
const SMALL_FIRST_BYTE: i32 = b'w' as i32;

/// The large module: 32 pages holding a 1 MiB data segment, and the same start function.
fn large_wat() -> String {
    let data: String = (0..1usize << 20)
        .map(|i| format!("\\{:02x}", (i * 31 + 7) as u8))
        .collect();
    format!(
        r#"(module
          (memory (export "memory") 32)
          (global $seen (mut i32) (i32.const 0))
          (data (i32.const 64) "{data}")
          (func $start (global.set $seen (i32.load8_u (i32.const 64))))
          (start $start)
          (func (export "peek") (result i32) (global.get $seen)))"#
    )
}

/// The first byte of the large module's segment.
const LARGE_FIRST_BYTE: i32 = 7;

/// Memory slots in every pool: more than the threads ever hold at once.
const POOL_SLOTS: u32 = 64;

/// One timed instantiation (returns its nanoseconds); checks that the start function ran
/// and drops the store before returning.
type Instantiate = Arc<dyn Fn() -> Result<u64> + Send + Sync>;

/// Returned slots given back to the kernel together, by both engines (wasmjit's default;
/// wasmtime's is 1).
const DECOMMIT_BATCH: usize = 16;

/// Bytes of each pooled memory kept resident (restored by hand) in the `KEEP` setups: all
/// of the small module's memory.
const KEEP: usize = 64 << 10;

/// How an engine allocates: pooled or not, with or without memory images, and how much of
/// a pooled memory stays resident between instances.
#[derive(Clone, Copy)]
struct Setup {
    pooling: bool,
    cow: bool,
    keep_resident: usize,
}

impl Setup {
    const POOLED_COW_KEPT: Setup = Setup {
        pooling: true,
        cow: true,
        keep_resident: KEEP,
    };
    const POOLED_COW: Setup = Setup {
        pooling: true,
        cow: true,
        keep_resident: 0,
    };
    const POOLED_COPY: Setup = Setup {
        pooling: true,
        cow: false,
        keep_resident: 0,
    };
    const ON_DEMAND_COW: Setup = Setup {
        pooling: false,
        cow: true,
        keep_resident: 0,
    };
    const ON_DEMAND_COPY: Setup = Setup {
        pooling: false,
        cow: false,
        keep_resident: 0,
    };

    fn name(self) -> &'static str {
        match (self.pooling, self.cow, self.keep_resident > 0) {
            (true, true, true) => "pooling + CoW, 64 KiB kept resident",
            (true, true, false) => "pooling + CoW",
            (true, false, _) => "pooling, copying",
            (false, true, _) => "on-demand + CoW",
            (false, false, _) => "on-demand, copying",
        }
    }
}

fn wasmjit_instantiate(setup: Setup, wat: &str, first_byte: i32) -> Result<Instantiate> {
    let mut config = Config::new();
    config.memory_init_cow(setup.cow);
    if setup.pooling {
        let mut pool = PoolingAllocationConfig::new();
        pool.total_memories(POOL_SLOTS)
            .linear_memory_keep_resident(setup.keep_resident)
            .decommit_batch_size(DECOMMIT_BATCH);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    let engine = wasmjit::Engine::new(&config).context("creating the wasmjit engine")?;
    let module = Module::new(&engine, wat).context("compiling the module")?;
    Ok(Arc::new(move || {
        let start = Instant::now();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).context("instantiating")?;
        let ns = elapsed_ns(start);
        let peek = instance
            .get_typed_func::<(), i32>(&mut store, "peek")
            .context("peek")?;
        if peek.call(&mut store, ()).context("calling peek")? != first_byte {
            bail!("wasmjit: the start function did not see the data segment");
        }
        Ok(ns)
    }))
}

#[cfg(feature = "wasmtime")]
fn wasmtime_instantiate(setup: Setup, wat: &str, first_byte: i32) -> Result<Instantiate> {
    let mut config = wasmtime::Config::new();
    config.memory_init_cow(setup.cow);
    if setup.pooling {
        let mut pool = wasmtime::PoolingAllocationConfig::default();
        pool.total_memories(POOL_SLOTS)
            .total_core_instances(POOL_SLOTS)
            .total_tables(POOL_SLOTS)
            .linear_memory_keep_resident(setup.keep_resident)
            .decommit_batch_size(DECOMMIT_BATCH);
        config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(pool));
    }
    let engine = wasmtime::Engine::new(&config).context("creating the wasmtime engine")?;
    let bytes = wat::parse_str(wat).context("assembling the module")?;
    let module = wasmtime::Module::new(&engine, bytes).context("compiling the module")?;
    Ok(Arc::new(move || {
        let start = Instant::now();
        let mut store = wasmtime::Store::new(&engine, ());
        let instance =
            wasmtime::Instance::new(&mut store, &module, &[]).context("instantiating")?;
        let ns = elapsed_ns(start);
        let peek = instance
            .get_typed_func::<(), i32>(&mut store, "peek")
            .context("peek")?;
        if peek.call(&mut store, ()).context("calling peek")? != first_byte {
            bail!("wasmtime: the start function did not see the data segment");
        }
        Ok(ns)
    }))
}

/// The wasmtime peer configured as `setup`.
#[cfg(feature = "wasmtime")]
fn peer(setup: Setup, wat: &str, first_byte: i32) -> Result<Option<Instantiate>> {
    wasmtime_instantiate(setup, wat, first_byte).map(Some)
}

/// No peer: wasmtime is not compiled in.
#[cfg(not(feature = "wasmtime"))]
fn peer(_setup: Setup, _wat: &str, _first_byte: i32) -> Result<Option<Instantiate>> {
    Ok(None)
}

/// The median of `count` instantiations, after `count / 10 + 1` untimed ones.
fn median_ns(instantiate: &Instantiate, count: usize) -> Result<u64> {
    for _ in 0..count / 10 + 1 {
        instantiate()?;
    }
    let samples = (0..count)
        .map(|_| instantiate())
        .collect::<Result<Vec<u64>>>()?;
    Ok(median(&samples))
}

/// How many times the scale's instantiation count each thread of the scaling measurement
/// runs.
const SCALING_RUN_FACTOR: usize = 20;

/// What [`throughput`] measured.
struct Throughput {
    /// Cycles per second of wall time, all threads together.
    per_second: f64,
    /// CPU time per cycle, summed over the threads: flat as threads are added when nothing
    /// is shared (unlike wall time, it does not depend on idle cores of a busy machine),
    /// higher when threads contend for locks or cache lines.
    cpu_ns_per_cycle: f64,
}

/// Instantiations per second with `threads` threads each doing `count` cycles together.
fn throughput(instantiate: &Instantiate, threads: usize, count: usize) -> Result<Throughput> {
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (instantiate, barrier) = (instantiate.clone(), barrier.clone());
            thread::spawn(move || -> Result<(Instant, Instant, u64)> {
                instantiate()?;
                barrier.wait();
                let start = Instant::now();
                let cpu_start = thread_cpu_ns();
                for _ in 0..count {
                    instantiate()?;
                }
                Ok((start, Instant::now(), thread_cpu_ns() - cpu_start))
            })
        })
        .collect();
    let mut spans = Vec::new();
    for handle in handles {
        let span = handle
            .join()
            .map_err(|_| Error("an instantiation thread panicked".to_owned()))??;
        spans.push(span);
    }
    let first = spans.iter().map(|s| s.0).min();
    let last = spans.iter().map(|s| s.1).max();
    let (Some(first), Some(last)) = (first, last) else {
        bail!("no threads ran");
    };
    let cycles = (threads * count) as f64;
    Ok(Throughput {
        per_second: cycles / (last - first).as_secs_f64(),
        cpu_ns_per_cycle: spans.iter().map(|s| s.2 as f64).sum::<f64>() / cycles,
    })
}

/// CPU time the calling thread has used, in nanoseconds.
fn thread_cpu_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec to write; the clock id is a constant Linux has.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

fn cell_ns(ns: Option<u64>) -> String {
    ns.map_or_else(|| "-".to_owned(), |ns| format_ns(ns as f64))
}

fn cell_ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format_ratio(a / b),
        _ => "-".to_owned(),
    }
}

/// Single-threaded median instantiation of the small module, each allocation setup, with
/// wasmtime alike.
pub fn single_thread(scale: Scale) -> Result<Table> {
    let mut rows = Vec::new();
    for setup in [
        Setup::POOLED_COW_KEPT,
        Setup::POOLED_COW,
        Setup::POOLED_COPY,
        Setup::ON_DEMAND_COW,
        Setup::ON_DEMAND_COPY,
    ] {
        let ours = median_ns(
            &wasmjit_instantiate(setup, SMALL_WAT, SMALL_FIRST_BYTE)?,
            scale.instantiations,
        )?;
        let theirs = match peer(setup, SMALL_WAT, SMALL_FIRST_BYTE)? {
            Some(peer) => Some(median_ns(&peer, scale.instantiations)?),
            None => None,
        };
        rows.push(vec![
            setup.name().to_owned(),
            format_ns(ours as f64),
            cell_ns(theirs),
            cell_ratio(Some(ours as f64), theirs.map(|t| t as f64)),
        ]);
    }
    Ok(Table {
        title: "Fast start: instantiation median, one thread (memory + data segment + start)"
            .to_owned(),
        header: vec![
            "allocation".to_owned(),
            "wasmjit".to_owned(),
            "wasmtime".to_owned(),
            "wasmjit / wasmtime".to_owned(),
        ],
        rows,
    })
}

/// Throughput of 1, 2 and 4 threads instantiating the small module together, pooling + CoW
/// with and without the memory kept resident.
pub fn scaling(scale: Scale) -> Result<Table> {
    let mut rows = Vec::new();
    for setup in [Setup::POOLED_COW_KEPT, Setup::POOLED_COW] {
        let ours = wasmjit_instantiate(setup, SMALL_WAT, SMALL_FIRST_BYTE)?;
        let theirs = peer(setup, SMALL_WAT, SMALL_FIRST_BYTE)?;
        let (mut ours_one, mut theirs_one) = (None, None);
        // Long enough per thread (some 100 ms) that threads starting and stopping apart do not
        // show up as lost throughput.
        let cycles = scale.instantiations * SCALING_RUN_FACTOR;
        for threads in [1usize, 2, 4] {
            let rate = throughput(&ours, threads, cycles)?;
            let peer_rate = match &theirs {
                Some(peer) => Some(throughput(peer, threads, cycles)?),
                None => None,
            };
            if threads == 1 {
                ours_one = Some(rate.per_second);
                theirs_one = peer_rate.as_ref().map(|r| r.per_second);
            }
            rows.push(vec![
                setup.name().to_owned(),
                threads.to_string(),
                format!("{:.0}", rate.per_second),
                cell_ratio(Some(rate.per_second), ours_one),
                format_ns(rate.cpu_ns_per_cycle),
                peer_rate
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), |r| format!("{:.0}", r.per_second)),
                cell_ratio(peer_rate.as_ref().map(|r| r.per_second), theirs_one),
                peer_rate
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), |r| format_ns(r.cpu_ns_per_cycle)),
            ]);
        }
    }
    Ok(Table {
        title: format!(
            "Fast start: instantiate-call-drop cycles per second, threads together \
             ({} cores available; CPU time per cycle summed over the threads)",
            thread::available_parallelism().map_or(1, |n| n.get())
        ),
        header: vec![
            "allocation".to_owned(),
            "threads".to_owned(),
            "wasmjit/s".to_owned(),
            "wasmjit vs 1 thread".to_owned(),
            "wasmjit CPU/cycle".to_owned(),
            "wasmtime/s".to_owned(),
            "wasmtime vs 1 thread".to_owned(),
            "wasmtime CPU/cycle".to_owned(),
        ],
        rows,
    })
}

/// Instantiation of a module with a 1 MiB data segment: CoW against copying, pooled and
/// not, with wasmtime alike.
pub fn large_segment(scale: Scale) -> Result<Table> {
    let wat = large_wat();
    let count = (scale.instantiations / 20).max(10);
    let mut rows = Vec::new();
    for setup in [
        Setup::POOLED_COW,
        Setup::POOLED_COPY,
        Setup::ON_DEMAND_COW,
        Setup::ON_DEMAND_COPY,
    ] {
        let ours = median_ns(&wasmjit_instantiate(setup, &wat, LARGE_FIRST_BYTE)?, count)?;
        let theirs = match peer(setup, &wat, LARGE_FIRST_BYTE)? {
            Some(peer) => Some(median_ns(&peer, count)?),
            None => None,
        };
        rows.push(vec![
            setup.name().to_owned(),
            format_ns(ours as f64),
            cell_ns(theirs),
            cell_ratio(Some(ours as f64), theirs.map(|t| t as f64)),
        ]);
    }
    Ok(Table {
        title: "Fast start: instantiation median, 1 MiB data segment".to_owned(),
        header: vec![
            "allocation".to_owned(),
            "wasmjit".to_owned(),
            "wasmtime".to_owned(),
            "wasmjit / wasmtime".to_owned(),
        ],
        rows,
    })
}
