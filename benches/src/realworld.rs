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
use crate::report::{add_spreads, ratio_table, Table};
use crate::stats::{elapsed_ns, fastest, spread};

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

/// One engine as the real programs' measurement drives it: compile, then instantiate and
/// run `_start`, one step at a time, so that the engines' runs interleave.
trait Contender {
    /// The engine's name in the tables.
    fn name(&self) -> &'static str;

    /// Compiles `wasm` on every core (`parallel`) or on one; keeps the module for [`run`].
    ///
    /// [`run`]: Contender::run
    fn compile(&mut self, wasm: &[u8], parallel: bool) -> Result<()>;

    /// Instantiates the kept module with `program`'s arguments and `dir` preopened as `.`,
    /// and runs `_start`: the time from instantiation to exit, the exit status and stdout.
    fn run(&mut self, program: &Program, dir: &Path) -> Result<(u64, i32, Vec<u8>)>;
}

/// wasmjit with `wasmjit-wasi`.
struct WasmJit {
    engine: Engine,
    linker: Linker<WasiCtx>,
    module: Option<Module>,
}

impl WasmJit {
    fn new() -> Result<Self> {
        let engine = Engine::default();
        let mut linker = Linker::new(&engine);
        wasmjit_wasi::add_to_linker(&mut linker, |cx: &mut WasiCtx| cx)
            .context("wasmjit: adding WASI")?;
        Ok(WasmJit {
            engine,
            linker,
            module: None,
        })
    }
}

impl Contender for WasmJit {
    fn name(&self) -> &'static str {
        "wasmjit"
    }

    fn compile(&mut self, wasm: &[u8], parallel: bool) -> Result<()> {
        let module = if parallel {
            Module::new(&self.engine, wasm)
        } else {
            on_one_cpu(|| Module::new(&self.engine, wasm))?
        };
        self.module = Some(module.context("wasmjit: compiling")?);
        Ok(())
    }

    fn run(&mut self, program: &Program, dir: &Path) -> Result<(u64, i32, Vec<u8>)> {
        let module = self.module.as_ref().context("wasmjit: nothing compiled")?;
        let stdout = OutputPipe::new();
        let mut builder = WasiCtxBuilder::new();
        builder
            .arg(program.name)
            .args(program.args)
            .stdout(stdout.clone())
            .stderr(OutputPipe::new())
            .preopened_dir(dir, ".", DirPerms::ReadWrite)
            .context("wasmjit: preopening the folder")?;
        let wasi = builder.build();
        let start = Instant::now();
        let mut store = Store::new(&self.engine, wasi);
        let instance = self
            .linker
            .instantiate(&mut store, module)
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
        let ns = elapsed_ns(start);
        Ok((ns, status, stdout.contents()))
    }
}

/// wasmtime with `wasmtime-wasi`'s preview1; one thread means
/// `Config::parallel_compilation(false)`.
#[cfg(feature = "wasmtime")]
struct Wasmtime {
    engine: wasmtime::Engine,
    serial: wasmtime::Engine,
    linker: wasmtime::Linker<wasmtime_wasi::p1::WasiP1Ctx>,
    module: Option<wasmtime::Module>,
}

#[cfg(feature = "wasmtime")]
impl Wasmtime {
    fn new() -> Result<Self> {
        let engine = wasmtime::Engine::default();
        let mut serial = wasmtime::Config::new();
        serial.parallel_compilation(false);
        let serial = wasmtime::Engine::new(&serial).context("creating the wasmtime engine")?;
        let mut linker = wasmtime::Linker::new(&engine);
        wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |cx| cx)
            .context("wasmtime: adding WASI")?;
        Ok(Wasmtime {
            engine,
            serial,
            linker,
            module: None,
        })
    }
}

#[cfg(feature = "wasmtime")]
impl Contender for Wasmtime {
    fn name(&self) -> &'static str {
        "wasmtime"
    }

    fn compile(&mut self, wasm: &[u8], parallel: bool) -> Result<()> {
        if parallel {
            let module =
                wasmtime::Module::new(&self.engine, wasm).context("wasmtime: compiling")?;
            self.module = Some(module);
        } else {
            // A module of the serial engine cannot run in the other's stores: compiled to be
            // timed only.
            wasmtime::Module::new(&self.serial, wasm).context("wasmtime: compiling")?;
        }
        Ok(())
    }

    fn run(&mut self, program: &Program, dir: &Path) -> Result<(u64, i32, Vec<u8>)> {
        use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
        use wasmtime_wasi::FsPerms;

        let module = self.module.as_ref().context("wasmtime: nothing compiled")?;
        let stdout = MemoryOutputPipe::new(usize::MAX);
        let mut builder = wasmtime_wasi::WasiCtxBuilder::new();
        builder
            .arg(program.name)
            .args(program.args)
            .stdout(stdout.clone())
            .preopened_dir(dir, ".", FsPerms::ReadWrite)
            .context("wasmtime: preopening the folder")?;
        let wasi = builder.build_p1();
        let start = Instant::now();
        let mut store = wasmtime::Store::new(&self.engine, wasi);
        let instance = self
            .linker
            .instantiate(&mut store, module)
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
        let ns = elapsed_ns(start);
        Ok((ns, status, stdout.contents().to_vec()))
    }
}

/// Measures `program` (`wasm`) `runs` times in each contender and natively, the engines
/// taking turns at each step (compile on every core, compile on one, run), so that a slow
/// phase of a shared machine falls on all of them alike. Every run's output must be the
/// native build's.
fn measure(
    program: &Program,
    wasm: &[u8],
    native_binary: &Path,
    contenders: &mut [Box<dyn Contender>],
    runs: usize,
    folders: &mut Folders,
) -> Result<Vec<(String, Times)>> {
    let mut times: Vec<Times> = contenders.iter().map(|_| Times::default()).collect();
    let mut native = Times::default();
    for _ in 0..runs {
        let (ns, expected) = run_native(native_binary, program, &folders.fresh(program)?)?;
        native.run_ns.push(ns);
        for parallel in [true, false] {
            for (contender, times) in contenders.iter_mut().zip(&mut times) {
                let start = Instant::now();
                contender.compile(wasm, parallel)?;
                let ns = elapsed_ns(start);
                match parallel {
                    true => times.compile_ns.push(ns),
                    false => times.compile_one_thread_ns.push(ns),
                }
            }
        }
        for (contender, times) in contenders.iter_mut().zip(&mut times) {
            let (ns, status, stdout) = contender.run(program, &folders.fresh(program)?)?;
            if status != 0 {
                bail!(
                    "{} in {} exited with {status}",
                    program.name,
                    contender.name()
                );
            }
            check_output(program, contender.name(), &stdout, &expected)?;
            times.run_ns.push(ns);
        }
    }
    let mut measured: Vec<(String, Times)> = contenders
        .iter()
        .map(|c| c.name().to_owned())
        .zip(times)
        .collect();
    measured.push(("native".to_owned(), native));
    Ok(measured)
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
    let mut contenders: Vec<Box<dyn Contender>> = vec![Box::new(WasmJit::new()?)];
    #[cfg(feature = "wasmtime")]
    contenders.push(Box::new(Wasmtime::new()?));
    let engines: Vec<String> = contenders.iter().map(|c| c.name().to_owned()).collect();
    let mut measured: Vec<(String, Vec<(String, Times)>)> = Vec::new();
    for program in &PROGRAMS {
        let wasm_path = built.join(format!("{}.wasm", program.name));
        let wasm = std::fs::read(&wasm_path).context(format_args!("{}", wasm_path.display()))?;
        let native_binary = built.join(format!("{}.native", program.name));
        eprintln!("bench: real program {} ...", program.name);
        let times = measure(
            program,
            &wasm,
            &native_binary,
            &mut contenders,
            runs,
            &mut folders,
        )?;
        measured.push((program.name.to_owned(), times));
    }

    let rows: Vec<String> = measured.iter().map(|(name, _)| name.clone()).collect();
    let samples = |select: fn(&Times) -> &Vec<u64>, row: &str, engine: &str| {
        let (_, times) = measured.iter().find(|(name, _)| name == row)?;
        let (_, t) = times.iter().find(|(e, _)| e == engine)?;
        Some(select(t).clone()).filter(|s| !s.is_empty())
    };
    let summary = format!(
        "fastest of {runs} runs, engines taking turns; (+x%): the median's distance from the \
         fastest"
    );
    let table = |title: &str, engines: &[String], select: fn(&Times) -> &Vec<u64>| {
        let mut table = ratio_table(
            &format!("Real programs (WASI): {title} ({summary})"),
            "program",
            &rows,
            engines,
            &["wasmtime", "native"],
            |row, engine| samples(select, row, engine).map(|s| fastest(&s) as f64),
        );
        add_spreads(&mut table, |row, engine| {
            spread(&samples(select, row, engine)?)
        });
        table
    };
    let mut run_engines = engines.clone();
    run_engines.push("native".to_owned());
    Ok(vec![
        table(
            "run time, instantiate + _start to exit",
            &run_engines,
            |t| &t.run_ns,
        ),
        table("compile time, parallel", &engines, |t| &t.compile_ns),
        table("compile time, one thread", &engines, |t| {
            &t.compile_one_thread_ns
        }),
    ])
}
