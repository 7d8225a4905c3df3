//! `bench`: runs the C kernels in wasmjit, natively and in peer engines, prints comparison
//! tables, writes `target/bench-report/{results.json,run_time.svg}`, and runs focused
//! measurements of single wasmjit mechanisms. See `benches/README.md`.

mod capi;
mod chart;
mod engines;
mod error;
mod exceptions;
mod fast_start;
mod focused;
mod gc;
mod kernels;
mod precompiled;
mod realworld;
mod report;
mod stats;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use engines::{Engine, Measurement, Schedule};
use error::{bail, Context, Result};
use kernels::{Kernel, Size};
use report::{KernelResult, Table};

/// The command line, parsed.
struct Options {
    /// Smoke mode: tiny sizes, one run, wasmjit + native unless `--engines` says otherwise.
    smoke: bool,
    /// Timed runs per kernel and engine.
    runs: usize,
    /// Untimed runs per kernel and engine before the timed ones.
    warmups: usize,
    /// Engine names, in column order.
    engines: Vec<String>,
    /// Kernel names; all kernels if `None`.
    kernels: Option<Vec<String>>,
    /// Run the kernel comparison.
    comparison: bool,
    /// Run the focused measurements.
    focused: bool,
    /// Names of the focused measurements to run (`--focused a,b`); all if `None`.
    focused_steps: Option<Vec<String>>,
}

/// The usage line printed for `--help` and bad arguments.
const USAGE: &str =
    "usage: bench [--smoke] [--runs N] [--warmups N] [--engines wasmjit,native,node,wasmtime,wasmi] \
[--kernels a,b] [--only-focused | --no-focused] [--focused \"precompiled modules\",...]";

/// Timed runs per kernel and engine of a full run: the table shows the fastest of them.
const DEFAULT_RUNS: usize = 10;

/// Parses the arguments after the program name.
fn parse_options(args: impl Iterator<Item = String>) -> Result<Options> {
    let (mut smoke, mut runs, mut engines, mut kernels) = (false, None, None, None);
    let mut warmups = 1;
    let (mut only_focused, mut no_focused) = (false, false);
    let mut focused_steps = None;
    let mut args = args.peekable();
    let list = |value: Option<String>, flag: &str| -> Result<Vec<String>> {
        let value = value.ok_or_else(|| error::Error(format!("{flag} needs a value")))?;
        Ok(value
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect())
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--smoke" => smoke = true,
            "--runs" => {
                let value = args.next().unwrap_or_default();
                let n: usize = value.parse().context(format_args!("--runs {value:?}"))?;
                if n == 0 {
                    bail!("--runs must be at least 1");
                }
                runs = Some(n);
            }
            "--warmups" => {
                let value = args.next().unwrap_or_default();
                warmups = value.parse().context(format_args!("--warmups {value:?}"))?;
            }
            "--engines" => engines = Some(list(args.next(), "--engines")?),
            "--kernels" => kernels = Some(list(args.next(), "--kernels")?),
            "--only-focused" => only_focused = true,
            "--no-focused" => no_focused = true,
            "--focused" => focused_steps = Some(list(args.next(), "--focused")?),
            "-h" | "--help" => bail!("{USAGE}"),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    if only_focused && no_focused {
        bail!("--only-focused and --no-focused exclude each other");
    }
    let engines = engines.unwrap_or_else(|| {
        let defaults: &[&str] = if smoke {
            &["wasmjit", "native"]
        } else {
            &["wasmjit", "native", "node"]
        };
        let peers = [
            ("wasmtime", cfg!(feature = "wasmtime")),
            ("wasmi", cfg!(feature = "wasmi")),
        ];
        let peers = peers
            .iter()
            .filter(|(_, on)| *on && !smoke)
            .map(|(name, _)| *name);
        defaults
            .iter()
            .copied()
            .chain(peers)
            .map(str::to_owned)
            .collect()
    });
    Ok(Options {
        smoke,
        runs: runs.unwrap_or(if smoke { 1 } else { DEFAULT_RUNS }),
        warmups,
        engines,
        kernels,
        comparison: !only_focused,
        focused: !no_focused,
        focused_steps,
    })
}

/// `KERNEL_FAIL(code)` from `kernels/kernel.h`: the kernel's self-check failed.
fn is_kernel_fail(checksum: u64) -> bool {
    checksum >> 36 == 0xBAD_C0DE
}

/// Runs every kernel in every engine, the engines interleaved run by run; failures and
/// checksum disagreements go to `errors`.
fn compare(
    kernels: &[Kernel],
    engines: &[Box<dyn Engine>],
    schedule: Schedule,
    errors: &mut Vec<String>,
) -> Vec<KernelResult> {
    let mut results = Vec::new();
    for kernel in kernels {
        let names: Vec<&str> = engines.iter().map(|e| e.name()).collect();
        eprintln!("bench: {} in {} ...", kernel.name, names.join(", "));
        let pairs: Vec<(&dyn Engine, &Kernel)> =
            engines.iter().map(|e| (e.as_ref(), kernel)).collect();
        let mut measurements: Vec<(String, Measurement)> = Vec::new();
        for (name, result) in names
            .iter()
            .zip(engines::measure_interleaved(&pairs, schedule))
        {
            match result {
                Ok(m) if is_kernel_fail(m.checksum) => errors.push(format!(
                    "{} in {name}: the kernel's self-check failed (checksum {:#x})",
                    kernel.name, m.checksum
                )),
                Ok(m) => measurements.push(((*name).to_owned(), m)),
                Err(e) => errors.push(format!("{} in {name}: {e}", kernel.name)),
            }
        }
        let first = measurements.first().map(|(_, m)| (m.checksum, m.n));
        if measurements
            .iter()
            .any(|(_, m)| Some((m.checksum, m.n)) != first)
        {
            let all: Vec<String> = measurements
                .iter()
                .map(|(e, m)| format!("{e}: n={} checksum={} ({:#x})", m.n, m.checksum, m.checksum))
                .collect();
            errors.push(format!(
                "{}: CHECKSUM MISMATCH: {}",
                kernel.name,
                all.join(", ")
            ));
        }
        results.push(KernelResult {
            name: kernel.name.clone(),
            measurements,
        });
    }
    results
}

/// Writes the run-time chart: every non-native engine's run time relative to native.
fn write_chart(path: &Path, results: &[KernelResult], engines: &[String]) -> Result<()> {
    let others: Vec<String> = engines.iter().filter(|e| *e != "native").cloned().collect();
    let kernels: Vec<String> = results.iter().map(|r| r.name.clone()).collect();
    let ratios: Vec<Vec<Option<f64>>> = results
        .iter()
        .map(|r| {
            let native = r.get("native").map(|m| stats::fastest(&m.run_ns) as f64);
            others
                .iter()
                .map(|e| {
                    let time = stats::fastest(&r.get(e)?.run_ns) as f64;
                    native.filter(|&n| n > 0.0).map(|n| time / n)
                })
                .collect()
        })
        .collect();
    chart::run_time_svg(path, &kernels, &others, &ratios)
}

/// The focused measurements' tables so far, and which measurements to run.
struct FocusedTables<'a> {
    tables: &'a mut Vec<Table>,
    only: Option<&'a [String]>,
}

/// Runs one focused measurement (unless `--focused` names others), printing its table or
/// recording its error.
fn focused_step(
    name: &str,
    measure: impl FnOnce() -> Result<Table>,
    tables: &mut FocusedTables<'_>,
    errors: &mut Vec<String>,
) {
    if tables
        .only
        .is_some_and(|only| !only.iter().any(|n| n == name))
    {
        return;
    }
    eprintln!("bench: focused: {name} ...");
    match measure() {
        Ok(table) => {
            print!("{}", table.render());
            tables.tables.push(table);
        }
        Err(e) => errors.push(format!("focused {name}: {e}")),
    }
}

/// Everything `main` does, with errors that stop the run early.
fn run(options: &Options, errors: &mut Vec<String>) -> Result<()> {
    let repo_root: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .context("finding the repository root")?;
    // Built for this binary's architecture: an aarch64 bench under QEMU on an x86-64 machine
    // needs aarch64 shared objects, kept apart from the x86-64 ones (and reports apart too).
    let suffix = match std::env::consts::ARCH {
        "x86_64" => String::new(),
        arch => format!("-{arch}"),
    };
    let kernel_dir = repo_root.join(format!("target/bench-kernels{suffix}"));
    let report_dir = repo_root.join(format!("target/bench-report{suffix}"));
    eprintln!("bench: building the kernels into {}", kernel_dir.display());
    kernels::build(&repo_root, &kernel_dir)?;

    let all = kernels::all_names(&repo_root)?;
    let names = match &options.kernels {
        Some(names) => {
            if let Some(unknown) = names.iter().find(|n| !all.contains(n)) {
                bail!("unknown kernel {unknown} (known: {})", all.join(", "));
            }
            names.clone()
        }
        None => all,
    };
    let kernels: Vec<Kernel> = names
        .iter()
        .map(|name| kernels::load(&kernel_dir, name))
        .collect::<Result<_>>()?;

    let size = if options.smoke {
        Size::Smoke
    } else {
        Size::Full
    };
    let mut tables = Vec::new();
    let mut results = Vec::new();
    if options.comparison {
        let engines: Vec<Box<dyn Engine>> = options
            .engines
            .iter()
            .map(|name| engines::create(name, &repo_root))
            .collect::<Result<_>>()?;
        let schedule = Schedule {
            size,
            warmups: options.warmups,
            runs: options.runs,
        };
        results = compare(&kernels, &engines, schedule, errors);
        for table in report::kernel_tables(&results, &options.engines, schedule) {
            print!("{}", table.render());
            tables.push(table);
        }
        std::fs::create_dir_all(&report_dir).context("creating target/bench-report")?;
        if options.engines.iter().any(|e| e == "native") && options.engines.len() > 1 {
            let svg = report_dir.join("run_time.svg");
            write_chart(&svg, &results, &options.engines)?;
            eprintln!("bench: wrote {}", svg.display());
        }
    }

    if options.focused {
        let scale = if options.smoke {
            focused::Scale::smoke()
        } else {
            focused::Scale::full(options.runs)
        };
        let mut focused = FocusedTables {
            tables: &mut tables,
            only: options.focused_steps.as_deref(),
        };
        let (t, e) = (&mut focused, &mut *errors);
        focused_step(
            "bounds checks",
            || focused::bounds_checks(&kernels, scale),
            t,
            e,
        );
        focused_step(
            "memory64",
            || focused::memory64(&kernel_dir, &kernels, scale),
            t,
            e,
        );
        focused_step(
            "epochs and fuel",
            || focused::interruption(&kernels, scale),
            t,
            e,
        );
        focused_step("memory.grow", || focused::memory_grow(scale), t, e);
        focused_step("instantiation", || focused::instantiation(scale), t, e);
        focused_step("fast start", || fast_start::single_thread(scale), t, e);
        focused_step("fast start threads", || fast_start::scaling(scale), t, e);
        focused_step(
            "fast start large segment",
            || fast_start::large_segment(scale),
            t,
            e,
        );
        focused_step(
            "compile throughput",
            || focused::compile_throughput(scale),
            t,
            e,
        );
        focused_step(
            "precompiled modules",
            || precompiled::deserialize(scale),
            t,
            e,
        );
        focused_step("threads", || focused::threads(scale), t, e);
        focused_step("exceptions", || exceptions::exceptions(scale), t, e);
        focused_step(
            "gc",
            || gc::kernels(&repo_root, options.smoke, scale.runs),
            t,
            e,
        );
        // Compiles a C program against libwasmjit.a for this machine: not in smoke runs,
        // which also run as aarch64 code under QEMU.
        if !options.smoke {
            std::fs::create_dir_all(&report_dir).context("creating target/bench-report")?;
            focused_step(
                "C API call cost",
                || capi::call_cost(&repo_root, &report_dir),
                t,
                e,
            );
        }
        // Builds SQLite, QuickJS and the others for wasm and natively (minutes the first
        // time): full runs only.
        let wanted = t
            .only
            .is_none_or(|only| only.iter().any(|n| n == "real programs"));
        if !options.smoke && wanted {
            eprintln!("bench: focused: real programs ...");
            match realworld::programs(&repo_root, options.runs) {
                Ok(programs) => {
                    for table in programs {
                        print!("{}", table.render());
                        t.tables.push(table);
                    }
                }
                Err(error) => e.push(format!("focused real programs: {error}")),
            }
        }
    }

    std::fs::create_dir_all(&report_dir).context("creating target/bench-report")?;
    let json_path = report_dir.join("results.json");
    let mode = if options.smoke { "smoke" } else { "full" };
    let json = report::to_json(mode, options.runs, &results, &tables, errors);
    let text = serde_json::to_string_pretty(&json).context("serialising the report")?;
    std::fs::write(&json_path, text).context(format_args!("writing {}", json_path.display()))?;
    eprintln!("bench: wrote {}", json_path.display());
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(gc::CHILD_FLAG) {
        return gc::child(&args[1..]);
    }
    if args.first().map(String::as_str) == Some(realworld::COMPILE_CHILD_FLAG) {
        return realworld::compile_child(&args[1..]);
    }
    let options = match parse_options(args.into_iter()) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("bench: {e}");
            return ExitCode::from(2);
        }
    };
    let mut errors = Vec::new();
    if let Err(e) = run(&options, &mut errors) {
        errors.push(e.to_string());
    }
    if errors.is_empty() {
        return ExitCode::SUCCESS;
    }
    eprintln!("\nbench: FAILED with {} error(s):", errors.len());
    for error in &errors {
        eprintln!("  - {error}");
    }
    ExitCode::FAILURE
}
