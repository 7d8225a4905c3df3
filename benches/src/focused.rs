//! Focused measurements of single wasmjit mechanisms: bounds checks, interruption checks,
//! `memory.grow`, instantiation, compile throughput, and atomics/wait/notify across threads.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Instant;

use wasmjit::{BoundsChecks, Config, Instance, Linker, Memory, Module, SharedMemory, Store};

use crate::engines::wasmjit::WasmJit;
use crate::engines::{measure_interleaved, Engine, Schedule};
use crate::error::{bail, Context, Error, Result};
use crate::kernels::{Kernel, Size};
use crate::report::{add_spreads, ratio_table, run_time_summary, Table};
use crate::stats::{elapsed_ns, fastest, format_ns, format_ratio, median, spread};

/// The kernels whose speed depends most on how memory accesses are checked.
pub const MEMORY_BOUND: &[&str] = &[
    "pointer_chase",
    "random_access",
    "stencil",
    "apsp",
    "matmul",
    "bytecopy",
    "sha256",
    "sieve",
];

/// How big the focused measurements are.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    /// Kernel size for the bounds-check comparison.
    pub size: Size,
    /// Timed runs per kernel.
    pub runs: usize,
    /// Fresh memories per size in the `memory.grow` measurement.
    pub grow_memories: usize,
    /// Instantiations per thread.
    pub instantiations: usize,
    /// Functions in the generated compile-throughput module.
    pub functions: usize,
    /// Increments per thread in the contended-atomic measurement.
    pub increments: u32,
    /// Round trips in the wait/notify ping-pong.
    pub round_trips: u32,
}

impl Scale {
    /// The full sizes, with `runs` timed kernel runs.
    pub fn full(runs: usize) -> Self {
        Scale {
            size: Size::Full,
            runs,
            grow_memories: 40,
            instantiations: 5000,
            functions: 5000,
            increments: 1_000_000,
            round_trips: 100_000,
        }
    }

    /// Tiny sizes for CI.
    pub fn smoke() -> Self {
        Scale {
            size: Size::Smoke,
            runs: 1,
            grow_memories: 4,
            instantiations: 200,
            functions: 200,
            increments: 10_000,
            round_trips: 1000,
        }
    }
}

/// Guard pages vs explicit bounds checks, with and without the Spectre guard on the
/// explicit checks: run time of the memory-bound kernels in `kernels`.
pub fn bounds_checks(kernels: &[Kernel], scale: Scale) -> Result<Table> {
    let mut unguarded = Config::new();
    unguarded
        .bounds_checks(BoundsChecks::Explicit)
        .spectre_guard(false);
    let engines = [
        WasmJit::new("guard", BoundsChecks::GuardPages)?,
        WasmJit::new("explicit", BoundsChecks::Explicit)?,
        WasmJit::with_config("explicit-no-spectre", &unguarded)?,
    ];
    let names: Vec<String> = engines.iter().map(|e| e.name().to_owned()).collect();
    let mut rows = Vec::new();
    let mut times = Vec::new();
    for kernel in kernels
        .iter()
        .filter(|k| MEMORY_BOUND.contains(&k.name.as_str()))
    {
        let pairs: Vec<_> = engines.iter().map(|engine| (engine, kernel)).collect();
        times.push(agreeing_fastest(&pairs, scale, "with guard pages")?);
        rows.push(kernel.name.clone());
    }
    Ok(run_time_table(
        "Focused: wasmjit run time, guard pages vs explicit bounds checks (with and without \
         the Spectre guard)",
        &rows,
        &names,
        &["guard", "explicit-no-spectre"],
        &times,
        scale,
    ))
}

/// Each pair's fastest run time and spread (see [`crate::stats::spread`]), the pairs
/// interleaved run by run, failing if a checksum differs from the first pair's (described
/// as `first`, e.g. "with guard pages").
fn agreeing_fastest(
    pairs: &[(&WasmJit, &Kernel)],
    scale: Scale,
    first: &str,
) -> Result<Vec<(f64, Option<f64>)>> {
    let dyn_pairs: Vec<(&dyn Engine, &Kernel)> = pairs
        .iter()
        .map(|&(engine, kernel)| (engine as &dyn Engine, kernel))
        .collect();
    let schedule = Schedule {
        size: scale.size,
        warmups: 1,
        runs: scale.runs,
    };
    let mut row = Vec::with_capacity(pairs.len());
    let mut checksum = None;
    for ((engine, kernel), m) in pairs.iter().zip(measure_interleaved(&dyn_pairs, schedule)) {
        let m = m.context(format_args!("{} (wasmjit, {})", kernel.name, engine.name()))?;
        match checksum {
            Some(c) if c != m.checksum => bail!(
                "{}: checksum mismatch: {:#x} {first}, {:#x} with {}",
                kernel.name,
                c,
                m.checksum,
                engine.name()
            ),
            _ => checksum = Some(m.checksum),
        }
        row.push((fastest(&m.run_ns) as f64, spread(&m.run_ns)));
    }
    Ok(row)
}

/// A run-time table of `times[row][engine]` (from [`agreeing_fastest`]) with ratio columns
/// against `baselines` and the spreads beside the times.
fn run_time_table(
    title: &str,
    rows: &[String],
    names: &[String],
    baselines: &[&str],
    times: &[Vec<(f64, Option<f64>)>],
    scale: Scale,
) -> Table {
    let cell = |row: &str, engine: &str| {
        let i = rows.iter().position(|r| r == row)?;
        let j = names.iter().position(|n| n == engine)?;
        Some(times[i][j])
    };
    let schedule = Schedule {
        size: scale.size,
        warmups: 1,
        runs: scale.runs,
    };
    let title = format!("{title} ({})", run_time_summary(schedule));
    let mut table = ratio_table(&title, "kernel", rows, names, baselines, |r, e| {
        cell(r, e).map(|(ns, _)| ns)
    });
    add_spreads(&mut table, |r, e| cell(r, e)?.1);
    table
}

/// The cost of 64-bit addressing: run time of the memory-bound kernels built for wasm64
/// (with the default configuration, which checks every access to a 64-bit memory
/// explicitly) against the same kernels built for wasm32 by the same compiler
/// (`build.sh`'s `CC64`), with guard pages (the default) and with explicit checks.
pub fn memory64(out_dir: &std::path::Path, kernels: &[Kernel], scale: Scale) -> Result<Table> {
    let guard = WasmJit::new("wasm32 guard", BoundsChecks::GuardPages)?;
    let explicit = WasmJit::new("wasm32 explicit", BoundsChecks::Explicit)?;
    let wasm64 = WasmJit::new("wasm64", BoundsChecks::GuardPages)?;
    let names: Vec<String> = [&guard, &explicit, &wasm64]
        .iter()
        .map(|e| e.name().to_owned())
        .collect();
    let mut rows = Vec::new();
    let mut times = Vec::new();
    for kernel in kernels
        .iter()
        .filter(|k| MEMORY_BOUND.contains(&k.name.as_str()))
    {
        let Some([k32, k64]) = crate::kernels::load_memory64_pair(out_dir, &kernel.name)? else {
            continue;
        };
        let pairs = [(&guard, &k32), (&explicit, &k32), (&wasm64, &k64)];
        times.push(agreeing_fastest(&pairs, scale, "in wasm32")?);
        rows.push(kernel.name.clone());
    }
    if rows.is_empty() {
        bail!("no kernel has a wasm64 build (build.sh needs clang-19 and wasm-ld-19, or CC64)");
    }
    Ok(run_time_table(
        "Focused: wasmjit run time, wasm64 (64-bit memory, explicit bounds checks) vs wasm32 \
         builds of the same kernels by the same compiler",
        &rows,
        &names,
        &["wasm32 guard", "wasm32 explicit"],
        &times,
        scale,
    ))
}

/// The kernels on which interruption checks (at function entries and loop headers) weigh
/// most: tight loops and many calls.
pub const LOOP_HEAVY: &[&str] = &["fib", "interp", "quicksort", "crc32", "sieve", "matmul"];

/// The cost of epoch interruption and of fuel metering: run time of the loop-heavy kernels
/// with each against neither.
pub fn interruption(kernels: &[Kernel], scale: Scale) -> Result<Table> {
    let mut epochs = Config::new();
    epochs.epoch_interruption(true);
    let mut fuel = Config::new();
    fuel.consume_fuel(true);
    let engines = [
        WasmJit::with_config("plain", &Config::new())?,
        WasmJit::with_config("epochs", &epochs)?,
        WasmJit::with_config("fuel", &fuel)?,
    ];
    let names: Vec<String> = engines.iter().map(|e| e.name().to_owned()).collect();
    let mut rows = Vec::new();
    let mut times = Vec::new();
    for kernel in kernels
        .iter()
        .filter(|k| LOOP_HEAVY.contains(&k.name.as_str()))
    {
        let pairs: Vec<_> = engines.iter().map(|engine| (engine, kernel)).collect();
        times.push(agreeing_fastest(&pairs, scale, "plain")?);
        rows.push(kernel.name.clone());
    }
    Ok(run_time_table(
        "Focused: wasmjit run time with epoch interruption and with fuel metering",
        &rows,
        &names,
        &["plain"],
        &times,
        scale,
    ))
}

/// `memory.grow` cost against the memory's size, from the host API and from wasm.
pub fn memory_grow(scale: Scale) -> Result<Table> {
    const SIZES_MIB: [u64; 5] = [1, 16, 256, 1024, 2048];
    /// Grows of one page timed per fresh memory.
    const GROWS: u32 = 16;
    let engine = wasmjit::Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
          (memory (import "env" "memory") 0)
          ;; Grows the memory by one page `n` times; returns 0, or -1 if a grow failed.
          (func (export "grow") (param $n i32) (result i32)
            (loop $next
              (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1))
                (then (return (i32.const -1))))
              (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
            (i32.const 0)))"#,
    )
    .context("compiling the memory.grow module")?;

    let mut host = Vec::new();
    let mut wasm = Vec::new();
    for mib in SIZES_MIB {
        let pages = mib * 16;
        let (mut host_samples, mut wasm_samples) = (Vec::new(), Vec::new());
        for _ in 0..scale.grow_memories {
            let mut store = Store::new(&engine, ());
            let memory = Memory::new(&mut store, pages, None, false)
                .context(format_args!("creating a {mib} MiB memory"))?;
            for i in 0..u64::from(GROWS) {
                let start = Instant::now();
                let old = memory.grow(&mut store, 1).context("Memory::grow")?;
                host_samples.push(elapsed_ns(start));
                if old != pages + i {
                    bail!("Memory::grow returned {old}, expected {}", pages + i);
                }
            }

            let mut store = Store::new(&engine, ());
            let memory = Memory::new(&mut store, pages, None, false)
                .context(format_args!("creating a {mib} MiB memory"))?;
            let instance = Instance::new(&mut store, &module, &[memory.into()])
                .context("instantiating the memory.grow module")?;
            let grow = instance
                .get_typed_func::<u32, i32>(&mut store, "grow")
                .context("grow")?;
            let start = Instant::now();
            let status = grow.call(&mut store, GROWS).context("calling grow")?;
            wasm_samples.push(elapsed_ns(start) / u64::from(GROWS));
            if status != 0 || memory.size(&store) != pages + u64::from(GROWS) {
                bail!("wasm memory.grow failed from {mib} MiB");
            }
        }
        host.push(median(&host_samples) as f64);
        wasm.push(median(&wasm_samples) as f64);
    }
    let rows: Vec<String> = SIZES_MIB.iter().map(|m| format!("{m} MiB")).collect();
    let mut table = ratio_table(
        "Focused: ns per 64 KiB memory grow vs memory size (wasmjit)",
        "size",
        &rows,
        &["Memory::grow".to_owned(), "memory.grow".to_owned()],
        &[],
        |row, engine| {
            let i = rows.iter().position(|r| r == row)?;
            Some(if engine == "Memory::grow" {
                host[i]
            } else {
                wasm[i]
            })
        },
    );
    // Flat means every size costs the same as the smallest; show that instead of a geomean.
    table.header.extend([
        "Memory::grow/1 MiB".to_owned(),
        "memory.grow/1 MiB".to_owned(),
    ]);
    for (i, row) in table.rows.iter_mut().enumerate() {
        match (host.get(i), wasm.get(i)) {
            (Some(h), Some(w)) => {
                row.push(format_ratio(h / host[0]));
                row.push(format_ratio(w / wasm[0]));
            }
            _ => row.extend([String::new(), String::new()]),
        }
    }
    table.rows.retain(|row| row[0] != "geomean");
    Ok(table)
}

/// Instantiations of a small module with a memory and a data segment, on 1 and 2 threads.
pub fn instantiation(scale: Scale) -> Result<Table> {
    let engine = wasmjit::Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
          (memory 1)
          (data (i32.const 64) "wasmjit instantiation benchmark: a small data segment.")
          (func (export "peek") (result i32) (i32.load8_u (i32.const 64))))"#,
    )
    .context("compiling the instantiation module")?;

    let mut rows = Vec::new();
    let mut single_rate = 0.0;
    for threads in [1usize, 2] {
        let barrier = Arc::new(Barrier::new(threads + 1));
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let (engine, module, barrier) = (engine.clone(), module.clone(), barrier.clone());
                let count = scale.instantiations;
                thread::spawn(move || -> Result<Vec<u64>> {
                    let mut samples = Vec::with_capacity(count);
                    barrier.wait();
                    for _ in 0..count {
                        let start = Instant::now();
                        let mut store = Store::new(&engine, ());
                        let instance =
                            Instance::new(&mut store, &module, &[]).context("instantiating")?;
                        samples.push(elapsed_ns(start));
                        let peek = instance
                            .get_typed_func::<(), i32>(&mut store, "peek")
                            .context("peek")?;
                        if peek.call(&mut store, ()).context("calling peek")? != i32::from(b'w') {
                            bail!("the data segment was not copied");
                        }
                    }
                    Ok(samples)
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let mut samples = Vec::new();
        for worker in workers {
            samples.extend(join(worker)??);
        }
        let wall = elapsed_ns(start) as f64;
        let rate = samples.len() as f64 / (wall / 1e9);
        if threads == 1 {
            single_rate = rate;
        }
        rows.push(vec![
            format!("{threads} thread{}", if threads == 1 { "" } else { "s" }),
            format_ns(median(&samples) as f64),
            format!("{rate:.0}"),
            format_ratio(rate / single_rate),
        ]);
    }
    Ok(Table {
        title: "Focused: wasmjit instantiation (Store::new + Instance::new, memory + data segment)"
            .to_owned(),
        header: vec![
            "threads".to_owned(),
            "median per instantiation".to_owned(),
            "instantiations/s".to_owned(),
            "throughput vs 1 thread".to_owned(),
        ],
        rows,
    })
}

/// A module of `functions` functions with moderately sized bodies (loops, branches, memory
/// accesses, calls), as text.
pub fn generated_module(functions: usize) -> String {
    let mut wat = String::from("(module\n  (memory (export \"memory\") 1)\n");
    for i in 0..functions {
        let callee = if i == 0 {
            "(local.get $a)".to_owned()
        } else {
            format!("(call $f{} (local.get $x) (local.get $b))", i - 1)
        };
        wat += &format!(
            r#"  (func $f{i} (export "f{i}") (param $a i32) (param $b i32) (result i32)
    (local $x i32) (local $y i32) (local $i i32)
    (local.set $x (i32.mul (local.get $a) (i32.const {m})))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $b)))
        (local.set $y (i32.load (i32.and (i32.shl (local.get $i) (i32.const 2)) (i32.const 0xfffc))))
        (if (i32.and (local.get $y) (i32.const 1))
          (then (local.set $x (i32.add (local.get $x) (i32.rotl (local.get $y) (i32.const {r})))))
          (else (local.set $x (i32.xor (local.get $x) (i32.shr_u (local.get $y) (i32.const 3))))))
        (i32.store (i32.and (i32.add (local.get $x) (i32.const {o})) (i32.const 0xfffc)) (local.get $x))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.add {callee} (i32.div_u (local.get $x) (i32.or (local.get $b) (i32.const 1)))))
"#,
            m = 2 * i + 1,
            r = i % 31 + 1,
            o = (i * 4) % 4096,
        );
    }
    wat += ")\n";
    wat
}

/// Compile throughput on a generated module, for wasmjit and the enabled peer engines.
pub fn compile_throughput(scale: Scale) -> Result<Table> {
    let wasm = wat::parse_str(generated_module(scale.functions))
        .context("assembling the generated module")?;
    let mb = wasm.len() as f64 / 1e6;
    let repeats = if matches!(scale.size, Size::Smoke) {
        1
    } else {
        3
    };
    let mut rows = Vec::new();
    let mut push = |name: &str, compile: &mut dyn FnMut() -> Result<()>| -> Result<()> {
        let mut samples = Vec::new();
        for _ in 0..repeats {
            let start = Instant::now();
            compile()?;
            samples.push(elapsed_ns(start));
        }
        let ns = median(&samples) as f64;
        rows.push(vec![
            name.to_owned(),
            format!("{mb:.2}"),
            format_ns(ns),
            format!("{:.2}", mb / (ns / 1e9)),
        ]);
        Ok(())
    };
    let engine = wasmjit::Engine::default();
    push("wasmjit", &mut || {
        Module::new(&engine, &wasm)
            .map(drop)
            .context("wasmjit compile")
    })?;
    #[cfg(feature = "wasmtime")]
    {
        let wasmtime = crate::engines::wasmtime::Wasmtime::new()?;
        push("wasmtime", &mut || {
            wasmtime::Module::new(wasmtime.engine(), &wasm)
                .map(drop)
                .context("wasmtime compile")
        })?;
    }
    #[cfg(feature = "wasmi")]
    {
        let wasmi = crate::engines::wasmi::Wasmi::new();
        push("wasmi (eager)", &mut || {
            wasmi::Module::new(wasmi.engine(), &wasm)
                .map(drop)
                .context("wasmi compile")
        })?;
    }
    Ok(Table {
        title: format!(
            "Focused: compile throughput, generated module of {} functions",
            scale.functions
        ),
        header: vec![
            "engine".to_owned(),
            "module MB".to_owned(),
            "compile time".to_owned(),
            "MB/s".to_owned(),
        ],
        rows,
    })
}

/// Joins a measurement thread, turning a panic into an error.
fn join<T>(handle: thread::JoinHandle<T>) -> Result<T> {
    handle
        .join()
        .map_err(|_| Error("a measurement thread panicked".to_owned()))
}

/// The module for the thread measurements: both functions work on the word at address 0.
const THREADS_WAT: &str = r#"(module
  (memory (import "env" "memory") 1 1 shared)
  ;; Adds 1 to the word at 0, `n` times.
  (func (export "increment") (param $n i32)
    (loop $next
      (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  ;; `n` times: wait until the word at 0 is `me`, then set it to 1 - `me` and notify.
  (func (export "pingpong") (param $me i32) (param $n i32)
    (local $other i32)
    (local.set $other (i32.sub (i32.const 1) (local.get $me)))
    (loop $round
      (block $mine
        (loop $wait
          (br_if $mine (i32.eq (i32.atomic.load (i32.const 0)) (local.get $me)))
          (drop (memory.atomic.wait32 (i32.const 0) (local.get $other) (i64.const -1)))
          (br $wait)))
      (i32.atomic.store (i32.const 0) (local.get $other))
      (drop (memory.atomic.notify (i32.const 0) (i32.const 1)))
      (br_if $round (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))"#;

/// Threads contending on one atomic word in the contended-increment measurement.
const INCREMENT_THREADS: usize = 4;

/// Starts `threads` threads; each calls `prepare(thread_index)` (untimed) to get its job,
/// then all run their jobs together. Returns the wall time from the first job's start to the
/// last job's end, as seen by the workers (the spawning thread may wake up late).
fn run_threads<P, J>(threads: usize, prepare: P) -> Result<u64>
where
    P: Fn(usize) -> Result<J> + Send + Sync + 'static,
    J: FnOnce() -> Result<()>,
{
    let prepare = Arc::new(prepare);
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (prepare, barrier) = (prepare.clone(), barrier.clone());
            thread::spawn(move || {
                let job = prepare(i);
                barrier.wait();
                let start = Instant::now();
                job.and_then(|job| job())?;
                Ok((start, Instant::now()))
            })
        })
        .collect();
    let mut spans: Vec<(Instant, Instant)> = Vec::new();
    for handle in handles {
        spans.push(join(handle)??);
    }
    let first = spans.iter().map(|s| s.0).min();
    let last = spans.iter().map(|s| s.1).max();
    match (first, last) {
        (Some(first), Some(last)) => {
            Ok(u64::try_from((last - first).as_nanos()).unwrap_or(u64::MAX))
        }
        _ => bail!("no threads ran"),
    }
}

/// wasmjit: on each of `threads` threads, instantiates [`THREADS_WAT`] on `memory` in its
/// own store, then times `call(store, instance, thread_index)` on all threads together.
fn wasmjit_threads<C>(
    module: &Module,
    memory: &SharedMemory,
    threads: usize,
    call: C,
) -> Result<u64>
where
    C: Fn(&mut Store<()>, &Instance, usize) -> Result<()> + Send + Sync + 'static,
{
    let (module, memory) = (module.clone(), memory.clone());
    let call = Arc::new(call);
    run_threads(threads, move |i| {
        let mut store = Store::new(module.engine(), ());
        let mut linker = Linker::new(module.engine());
        linker
            .define(&mut store, "env", "memory", memory.clone())
            .context("defining env.memory")?;
        let instance = linker
            .instantiate(&mut store, &module)
            .context("instantiating the threads module")?;
        let call = call.clone();
        Ok(move || call(&mut store, &instance, i))
    })
}

/// Blocks while `word` holds `expected` (or until woken), like `memory.atomic.wait32`.
fn futex_wait(word: &AtomicU32, expected: u32) {
    // SAFETY: FUTEX_WAIT reads the aligned u32 behind a live `&AtomicU32` and sleeps; the
    // null timeout means "no timeout". Spurious returns are handled by the caller's loop.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            std::ptr::null::<libc::timespec>(),
        );
    }
}

/// Wakes one thread waiting on `word`, like `memory.atomic.notify(addr, 1)`.
fn futex_wake(word: &AtomicU32) {
    // SAFETY: FUTEX_WAKE only uses the address as a key; `word` is live.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            1,
        );
    }
}

/// Contended atomic increments and a wait/notify ping-pong, wasmjit vs native Rust.
pub fn threads(scale: Scale) -> Result<Table> {
    let engine = wasmjit::Engine::default();
    let module = Module::new(&engine, THREADS_WAT).context("compiling the threads module")?;
    let increments = scale.increments;
    let round_trips = scale.round_trips;

    // Contended increments.
    let memory = SharedMemory::new(&engine, 1, 1).context("creating the shared memory")?;
    let wasm_increment = wasmjit_threads(
        &module,
        &memory,
        INCREMENT_THREADS,
        move |store, instance, _| {
            instance
                .get_typed_func::<u32, ()>(&mut *store, "increment")
                .context("increment")?
                .call(&mut *store, increments)
                .context("calling increment")
        },
    )?;
    let total = memory
        .atomic_u32(0)
        .context("the counter")?
        .load(Ordering::SeqCst);
    let expected = increments * INCREMENT_THREADS as u32;
    if total != expected {
        bail!("wasmjit atomic increments: counter is {total}, expected {expected}");
    }
    let counter = Arc::new(AtomicU32::new(0));
    let native_counter = counter.clone();
    let native_increment = run_threads(INCREMENT_THREADS, move |_| {
        let counter = native_counter.clone();
        Ok(move || {
            for _ in 0..increments {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            Ok(())
        })
    })?;
    if counter.load(Ordering::SeqCst) != expected {
        bail!("native atomic increments: wrong total");
    }
    let ops = f64::from(expected);

    // Ping-pong.
    let memory = SharedMemory::new(&engine, 1, 1).context("creating the shared memory")?;
    let wasm_pingpong = wasmjit_threads(&module, &memory, 2, move |store, instance, i| {
        instance
            .get_typed_func::<(u32, u32), ()>(&mut *store, "pingpong")
            .context("pingpong")?
            .call(&mut *store, (i as u32, round_trips))
            .context("calling pingpong")
    })?;
    let turn = Arc::new(AtomicU32::new(0));
    let native_turn = turn.clone();
    let native_pingpong = run_threads(2, move |i| {
        let turn = native_turn.clone();
        let (me, other) = (i as u32, 1 - i as u32);
        Ok(move || {
            for _ in 0..round_trips {
                while turn.load(Ordering::SeqCst) != me {
                    futex_wait(&turn, other);
                }
                turn.store(other, Ordering::SeqCst);
                futex_wake(&turn);
            }
            Ok(())
        })
    })?;

    let per_op = |ns: u64, count: f64| ns as f64 / count;
    let rows = vec![
        format!("atomic rmw.add, {INCREMENT_THREADS} threads (ns per add)"),
        "wait/notify ping-pong, 2 threads (ns per round trip)".to_owned(),
    ];
    let values = [
        (per_op(wasm_increment, ops), per_op(native_increment, ops)),
        (
            per_op(wasm_pingpong, f64::from(round_trips)),
            per_op(native_pingpong, f64::from(round_trips)),
        ),
    ];
    let mut table = ratio_table(
        "Focused: threads, wasmjit (shared memory) vs native Rust (std atomics + futex)",
        "operation",
        &rows,
        &["wasmjit".to_owned(), "native".to_owned()],
        &["native"],
        |row, engine| {
            let i = rows.iter().position(|r| r == row)?;
            Some(if engine == "wasmjit" {
                values[i].0
            } else {
                values[i].1
            })
        },
    );
    table.rows.retain(|row| row[0] != "geomean");
    Ok(table)
}
