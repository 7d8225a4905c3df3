//! The C API's call cost: `wasm_func_call` from C (benches/capi/call_cost.c, linked against
//! `libwasmjit.a`) against `Func::call` and `TypedFunc::call` from Rust, on the same empty
//! function and `accumulate(0, 10)`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use wasmjit::{Engine, Instance, Module, Store, Val};

use crate::error::{bail, Context, Result};
use crate::report::Table;
use crate::stats::{format_ratio, median};

/// Calls per batch (11 batches, medians, as in the C driver).
const CALLS: u64 = 1_000_000;
const BATCHES: usize = 11;

/// The module of the C driver, which reads it from its own source: one place for both.
fn module_text(source: &str) -> Result<String> {
    let start = source.find("\"(module").context("the driver's WAT")?;
    let end = source[start..]
        .find(";\n")
        .context("the end of the driver's WAT")?;
    Ok(source[start..start + end]
        .lines()
        .map(|l| l.trim().trim_matches('"').replace("\\\"", "\""))
        .collect::<Vec<_>>()
        .join(" "))
}

/// Median nanoseconds per call of `call`, over [`BATCHES`] batches of [`CALLS`].
fn per_call(mut call: impl FnMut() -> wasmjit::Result<()>) -> Result<f64> {
    let mut samples = Vec::with_capacity(BATCHES);
    for _ in 0..BATCHES {
        let start = Instant::now();
        for _ in 0..CALLS {
            call().context("calling from Rust")?;
        }
        samples.push((start.elapsed().as_nanos() / CALLS as u128) as u64);
    }
    Ok(median(&samples) as f64)
}

/// `libwasmjit.a` beside this program (both are in `<target>/release`), built with cargo if
/// it is missing.
fn static_library() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("the bench's path")?;
    let dir = exe.parent().context("the bench's folder")?;
    let lib = dir.join("libwasmjit.a");
    if !lib.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let target = dir.parent().context("the target folder")?;
        let status = Command::new(cargo)
            .args(["build", "--release", "-p", "wasmjit-c-api", "--target-dir"])
            .arg(target)
            .status()
            .context("running cargo build for the C library")?;
        if !status.success() || !lib.exists() {
            bail!("building {} failed", lib.display());
        }
    }
    Ok(lib)
}

/// Compiles and runs the C driver; returns its (empty, accumulate) ns per call.
fn c_calls(repo: &Path, out_dir: &Path) -> Result<(f64, f64)> {
    let lib = static_library()?;
    let exe = out_dir.join("call_cost");
    let status = Command::new("cc")
        .args(["-O2", "-I"])
        .arg(repo.join("c-api/include"))
        .arg(repo.join("benches/capi/call_cost.c"))
        .arg(&lib)
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&exe)
        .status()
        .context("running cc")?;
    if !status.success() {
        bail!("compiling benches/capi/call_cost.c failed");
    }
    let output = Command::new(&exe)
        .arg(CALLS.to_string())
        .output()
        .context("running the C driver")?;
    if !output.status.success() {
        bail!(
            "the C driver failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let value = |name: &str| -> Result<f64> {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .context(format_args!("`{name}` in the driver's output {stdout:?}"))
    };
    Ok((value("empty ")?, value("accumulate ")?))
}

/// The table: ns per call from C and from Rust (untyped and typed), and C / Rust untyped.
pub fn call_cost(repo: &Path, out_dir: &Path) -> Result<Table> {
    let source = std::fs::read_to_string(repo.join("benches/capi/call_cost.c"))
        .context("reading benches/capi/call_cost.c")?;
    let engine = Engine::default();
    let module = Module::new(&engine, module_text(&source)?).context("compiling")?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).context("instantiating")?;
    let memory = instance
        .get_memory(&mut store, "mem")
        .context("the memory export")?;
    for i in 0..10u32 {
        memory
            .write(&mut store, i as usize * 4, &i.to_le_bytes())
            .context("filling the memory")?;
    }
    let empty = instance.get_func(&mut store, "empty").context("`empty`")?;
    let accumulate = instance
        .get_func(&mut store, "accumulate")
        .context("`accumulate`")?;
    let rust_empty = per_call(|| empty.call(&mut store, &[], &mut []))?;
    let args = [Val::I32(0), Val::I32(10)];
    let mut results = [Val::I32(0)];
    let rust_accumulate = per_call(|| accumulate.call(&mut store, &args, &mut results))?;
    if results[0].i32() != Some(45) {
        bail!("accumulate returned {:?}", results[0]);
    }
    let typed_empty = empty.typed::<(), ()>(&store).context("typed `empty`")?;
    let typed_accumulate = accumulate
        .typed::<(i32, i32), i32>(&store)
        .context("typed `accumulate`")?;
    let rust_typed_empty = per_call(|| typed_empty.call(&mut store, ()))?;
    let rust_typed_accumulate = per_call(|| typed_accumulate.call(&mut store, (0, 10)).map(drop))?;
    let (c_empty, c_accumulate) = c_calls(repo, out_dir)?;
    let row = |name: &str, c: f64, rust: f64, typed: f64| {
        vec![
            name.to_owned(),
            format!("{c:.1}"),
            format!("{rust:.1}"),
            format!("{typed:.1}"),
            format_ratio(c / rust),
        ]
    };
    Ok(Table {
        title: format!(
            "Focused: calling wasm from C (wasm_func_call) and from Rust, ns per call (medians of {BATCHES} batches of {CALLS})"
        ),
        header: ["function", "C", "Rust Func::call", "Rust TypedFunc::call", "C / Rust"]
            .map(str::to_owned)
            .to_vec(),
        rows: vec![
            row("empty", c_empty, rust_empty, rust_typed_empty),
            row("accumulate(0, 10)", c_accumulate, rust_accumulate, rust_typed_accumulate),
        ],
    })
}
