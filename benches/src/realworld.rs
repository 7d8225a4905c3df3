//! The real programs of `realworld/` (zlib, SQLite, Lua, QuickJS, a Rust program; built by
//! `realworld/build.sh` for wasm32-wasi and natively) under WASI: run time (instantiate +
//! `_start` to exit) in wasmjit, in wasmtime with `wasmtime-wasi` (when compiled in) and
//! natively (process start to exit), and compile time, on every core and on one, each as a
//! ratio to wasmtime's. Every run's stdout must be the native build's.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use wasmjit::{Engine, Linker, Module, Store};
use wasmjit_wasi::{DirPerms, I32Exit, OutputPipe, WasiCtx, WasiCtxBuilder};

use crate::error::{bail, Context, Result};
use crate::report::{ratio_table, Table};
use crate::stats::{elapsed_ns, median};

/// A real program and the arguments of its measured run; `inputs` are the files of
/// `realworld/` it reads from its folder.
struct Program {
    name: &'static str,
    args: &'static [&'static str],
    inputs: &'static [&'static str],
}

/// The programs, sized so that each native run takes a few tens of milliseconds.
const PROGRAMS: [Program; 5] = [
    Program {
        name: "zlib",
        args: &["1024"],
        inputs: &[],
    },
    Program {
        name: "sqlite",
        args: &["20000"],
        inputs: &[],
    },
    Program {
        name: "lua",
        args: &["bench.lua", "20"],
        inputs: &["bench.lua"],
    },
    Program {
        name: "quickjs",
        args: &["bench.js", "20"],
        inputs: &["bench.js"],
    },
    Program {
        name: "rust",
        args: &["20"],
        inputs: &[],
    },
];

/// Times of one program in one engine: compile (on every core, on one) and each run.
#[derive(Default)]
struct Times {
    compile_ns: Vec<u64>,
    compile_one_thread_ns: Vec<u64>,
    run_ns: Vec<u64>,
}

/// The flag of the child mode `bench --compile-child ENGINE FILE`, which compiles FILE once on
/// one thread with ENGINE (`wasmjit` or `wasmtime`) and exits: what `benches/instructions.sh
/// --compile` counts the instructions of, per real program and engine.
pub const COMPILE_CHILD_FLAG: &str = "--compile-child";

/// The child mode of [`COMPILE_CHILD_FLAG`].
pub fn compile_child(args: &[String]) -> ExitCode {
    let result = match args {
        [engine, file] => compile_once(engine, file),
        _ => Err(crate::error::Error(format!(
            "usage: bench {COMPILE_CHILD_FLAG} ENGINE FILE"
        ))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench {COMPILE_CHILD_FLAG}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn compile_once(engine: &str, file: &str) -> Result<()> {
    let wasm = std::fs::read(file).context(format_args!("reading {file}"))?;
    match engine {
        "wasmjit" => {
            on_one_cpu(|| Module::new(&Engine::default(), &wasm))?.context("wasmjit: compiling")?;
        }
        #[cfg(feature = "wasmtime")]
        "wasmtime" => {
            let mut config = wasmtime::Config::new();
            config.parallel_compilation(false);
            let engine = wasmtime::Engine::new(&config).context("creating the wasmtime engine")?;
            wasmtime::Module::new(&engine, &wasm).context("wasmtime: compiling")?;
        }
        other => bail!("no engine {other:?} in this build"),
    }
    Ok(())
}

/// Fresh folders for runs, holding a program's inputs; removed when dropped.
struct Folders {
    root: PathBuf,
    sources: PathBuf,
    next: usize,
}

impl Folders {
    fn new(sources: &Path) -> Result<Self> {
        let root =
            std::env::temp_dir().join(format!("wasmjit-bench-realworld-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).context("creating a temporary folder")?;
        Ok(Folders {
            root,
            sources: sources.to_owned(),
            next: 0,
        })
    }

    /// A new empty folder with `program`'s inputs copied in.
    fn fresh(&mut self, program: &Program) -> Result<PathBuf> {
        self.next += 1;
        let dir = self.root.join(format!("{}-{}", program.name, self.next));
        std::fs::create_dir_all(&dir).context("creating a run folder")?;
        for input in program.inputs {
            std::fs::copy(self.sources.join(input), dir.join(input))
                .context(format_args!("copying {input}"))?;
        }
        Ok(dir)
    }
}

impl Drop for Folders {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Runs `f` with the calling thread, and the threads it starts, allowed on one CPU only:
/// wasmjit's compiler starts as many threads as `available_parallelism` reports, which
/// follows the thread's CPU affinity, so it compiles on one thread.
fn on_one_cpu<T>(f: impl FnOnce() -> T) -> Result<T> {
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: `cpu_set_t` is plain data, for which all zeroes is the empty set.
    let (mut old, mut one): (libc::cpu_set_t, libc::cpu_set_t) =
        unsafe { (std::mem::zeroed(), std::mem::zeroed()) };
    // SAFETY: `old` is a writable `cpu_set_t` of `size` bytes; pid 0 is the calling thread.
    if unsafe { libc::sched_getaffinity(0, size, &mut old) } != 0 {
        bail!("sched_getaffinity: {}", std::io::Error::last_os_error());
    }
    // SAFETY: the CPU numbers stay below CPU_SETSIZE, the sets' capacity.
    let first = (0..libc::CPU_SETSIZE as usize).find(|&cpu| unsafe { libc::CPU_ISSET(cpu, &old) });
    let Some(cpu) = first else {
        bail!("this thread may run on no CPU");
    };
    // SAFETY: as above.
    unsafe { libc::CPU_SET(cpu, &mut one) };
    // SAFETY: `one` is a `cpu_set_t` of `size` bytes; pid 0 is the calling thread.
    if unsafe { libc::sched_setaffinity(0, size, &one) } != 0 {
        bail!("sched_setaffinity: {}", std::io::Error::last_os_error());
    }
    let result = f();
    // SAFETY: as above, with the set read at the start.
    if unsafe { libc::sched_setaffinity(0, size, &old) } != 0 {
        bail!("sched_setaffinity: {}", std::io::Error::last_os_error());
    }
    Ok(result)
}

/// The median of `samples` in nanoseconds, or `None` if there are none.
fn median_ns(samples: &[u64]) -> Option<f64> {
    (!samples.is_empty()).then(|| median(samples) as f64)
}

/// Checks that `engine` printed what the native build printed.
fn check_output(program: &Program, engine: &str, stdout: &[u8], native: &[u8]) -> Result<()> {
    if stdout != native {
        bail!(
            "{} in {engine}: the output differs from the native build's:\n{}\n-- native:\n{}",
            program.name,
            String::from_utf8_lossy(stdout),
            String::from_utf8_lossy(native)
        );
    }
    Ok(())
}

/// One native run in `dir`: its time and stdout.
fn run_native(binary: &Path, program: &Program, dir: &Path) -> Result<(u64, Vec<u8>)> {
    let start = Instant::now();
    let out = Command::new(binary)
        .args(program.args)
        .current_dir(dir)
        .output()
        .context(format_args!("running {}", binary.display()))?;
    let ns = elapsed_ns(start);
    if !out.status.success() {
        bail!("{} natively: {:?}", program.name, out);
    }
    Ok((ns, out.stdout))
}

/// wasmjit: compiles `wasm` `runs` times on every core and on one, and runs it `runs` times.
fn measure_wasmjit(
    wasm: &[u8],
    program: &Program,
    runs: usize,
    folders: &mut Folders,
    native: &[u8],
) -> Result<Times> {
    let engine = Engine::default();
    let mut times = Times::default();
    let mut module = None;
    for _ in 0..runs {
        let start = Instant::now();
        module = Some(Module::new(&engine, wasm).context("wasmjit: compiling")?);
        times.compile_ns.push(elapsed_ns(start));
        let start = Instant::now();
        on_one_cpu(|| Module::new(&engine, wasm))?.context("wasmjit: compiling")?;
        times.compile_one_thread_ns.push(elapsed_ns(start));
    }
    let module = module.context("no compilation")?;
    let mut linker = Linker::new(&engine);
    wasmjit_wasi::add_to_linker(&mut linker, |cx: &mut WasiCtx| cx)
        .context("wasmjit: adding WASI")?;
    for _ in 0..runs {
        let dir = folders.fresh(program)?;
        let stdout = OutputPipe::new();
        let mut builder = WasiCtxBuilder::new();
        builder
            .arg(program.name)
            .args(program.args)
            .stdout(stdout.clone())
            .stderr(OutputPipe::new())
            .preopened_dir(&dir, ".", DirPerms::ReadWrite)
            .context("wasmjit: preopening the folder")?;
        let wasi = builder.build();
        let start = Instant::now();
        let mut store = Store::new(&engine, wasi);
        let instance = linker
            .instantiate(&mut store, &module)
            .context("wasmjit: instantiating")?;
        let status = match instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .context("wasmjit: _start")?
            .call(&mut store, ())
        {
            Ok(()) => 0,
            Err(e) => match e.downcast_ref::<I32Exit>() {
                Some(exit) => exit.0,
                None => bail!("{} in wasmjit: {e}", program.name),
            },
        };
        times.run_ns.push(elapsed_ns(start));
        if status != 0 {
            bail!("{} in wasmjit exited with {status}", program.name);
        }
        check_output(program, "wasmjit", &stdout.contents(), native)?;
    }
    Ok(times)
}

/// wasmtime with `wasmtime-wasi`'s preview1: as [`measure_wasmjit`], one thread meaning
/// `Config::parallel_compilation(false)`.
#[cfg(feature = "wasmtime")]
fn measure_wasmtime(
    wasm: &[u8],
    program: &Program,
    runs: usize,
    folders: &mut Folders,
    native: &[u8],
) -> Result<Times> {
    use wasmtime_wasi::p1::{self, WasiP1Ctx};
    use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
    use wasmtime_wasi::FsPerms;

    let engine = wasmtime::Engine::default();
    let mut serial = wasmtime::Config::new();
    serial.parallel_compilation(false);
    let serial = wasmtime::Engine::new(&serial).context("creating the wasmtime engine")?;
    let mut times = Times::default();
    let mut module = None;
    for _ in 0..runs {
        let start = Instant::now();
        module = Some(wasmtime::Module::new(&engine, wasm).context("wasmtime: compiling")?);
        times.compile_ns.push(elapsed_ns(start));
        let start = Instant::now();
        wasmtime::Module::new(&serial, wasm).context("wasmtime: compiling")?;
        times.compile_one_thread_ns.push(elapsed_ns(start));
    }
    let module = module.context("no compilation")?;
    let mut linker = wasmtime::Linker::<WasiP1Ctx>::new(&engine);
    p1::add_to_linker_sync(&mut linker, |cx| cx).context("wasmtime: adding WASI")?;
    for _ in 0..runs {
        let dir = folders.fresh(program)?;
        let stdout = MemoryOutputPipe::new(usize::MAX);
        let mut builder = wasmtime_wasi::WasiCtxBuilder::new();
        builder
            .arg(program.name)
            .args(program.args)
            .stdout(stdout.clone())
            .preopened_dir(&dir, ".", FsPerms::ReadWrite)
            .context("wasmtime: preopening the folder")?;
        let wasi = builder.build_p1();
        let start = Instant::now();
        let mut store = wasmtime::Store::new(&engine, wasi);
        let instance = linker
            .instantiate(&mut store, &module)
            .context("wasmtime: instantiating")?;
        let status = match instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .context("wasmtime: _start")?
            .call(&mut store, ())
        {
            Ok(()) => 0,
            Err(e) => match e.downcast_ref::<wasmtime_wasi::I32Exit>() {
                Some(exit) => exit.0,
                None => bail!("{} in wasmtime: {e}", program.name),
            },
        };
        times.run_ns.push(elapsed_ns(start));
        if status != 0 {
            bail!("{} in wasmtime exited with {status}", program.name);
        }
        check_output(program, "wasmtime", &stdout.contents(), native)?;
    }
    Ok(times)
}

/// Builds the programs into `target/tmp/realworld` (where the tests keep them too) and
/// measures each `runs` times: the run-time table and the compile-time tables.
pub fn programs(repo_root: &Path, runs: usize) -> Result<Vec<Table>> {
    let sources = repo_root.join("benches/realworld");
    let built = repo_root.join("target/tmp/realworld");
    eprintln!("bench: building the real programs into {}", built.display());
    let status = Command::new("bash")
        .arg(sources.join("build.sh"))
        .arg(&built)
        .status()
        .context("running realworld/build.sh")?;
    if !status.success() {
        bail!("realworld/build.sh failed (it needs clang, wasi-libc, cc and rustup)");
    }
    let mut folders = Folders::new(&sources)?;
    let mut engines = vec!["wasmjit".to_owned()];
    if cfg!(feature = "wasmtime") {
        engines.push("wasmtime".to_owned());
    }
    let mut measured: Vec<(String, Vec<(String, Times)>)> = Vec::new();
    for program in &PROGRAMS {
        let wasm_path = built.join(format!("{}.wasm", program.name));
        let wasm = std::fs::read(&wasm_path).context(format_args!("{}", wasm_path.display()))?;
        let native_binary = built.join(format!("{}.native", program.name));
        let mut native = Times::default();
        let mut expected = Vec::new();
        for _ in 0..runs {
            let (ns, stdout) = run_native(&native_binary, program, &folders.fresh(program)?)?;
            native.run_ns.push(ns);
            expected = stdout;
        }
        eprintln!("bench: real program {} in wasmjit ...", program.name);
        let mut times = vec![(
            "wasmjit".to_owned(),
            measure_wasmjit(&wasm, program, runs, &mut folders, &expected)?,
        )];
        #[cfg(feature = "wasmtime")]
        {
            eprintln!("bench: real program {} in wasmtime ...", program.name);
            times.push((
                "wasmtime".to_owned(),
                measure_wasmtime(&wasm, program, runs, &mut folders, &expected)?,
            ));
        }
        times.push(("native".to_owned(), native));
        measured.push((program.name.to_owned(), times));
    }

    let rows: Vec<String> = measured.iter().map(|(name, _)| name.clone()).collect();
    let value = |select: fn(&Times) -> &Vec<u64>| {
        let measured = &measured;
        move |row: &str, engine: &str| {
            let (_, times) = measured.iter().find(|(name, _)| name == row)?;
            let (_, t) = times.iter().find(|(e, _)| e == engine)?;
            median_ns(select(t))
        }
    };
    let mut run_engines = engines.clone();
    run_engines.push("native".to_owned());
    Ok(vec![
        ratio_table(
            "Real programs (WASI): run time, instantiate + _start to exit",
            "program",
            &rows,
            &run_engines,
            &["wasmtime", "native"],
            value(|t| &t.run_ns),
        ),
        ratio_table(
            "Real programs (WASI): compile time, parallel",
            "program",
            &rows,
            &engines,
            &["wasmtime"],
            value(|t| &t.compile_ns),
        ),
        ratio_table(
            "Real programs (WASI): compile time, one thread",
            "program",
            &rows,
            &engines,
            &["wasmtime"],
            value(|t| &t.compile_one_thread_ns),
        ),
    ])
}
