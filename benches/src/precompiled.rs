//! Loading precompiled modules: `Module::deserialize` against compiling, for wasmjit and
//! wasmtime, on the generated module of the compile-throughput measurement.

use std::time::Instant;

use wasmjit::Module;

use crate::error::{Context, Result};
use crate::focused::{generated_module, Scale};
use crate::kernels::Size;
use crate::report::Table;
use crate::stats::{elapsed_ns, format_ns, format_ratio, median};

/// Median time of `runs` calls of `f`, in nanoseconds.
fn timed(runs: usize, f: &mut dyn FnMut() -> Result<()>) -> Result<f64> {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        f()?;
        samples.push(elapsed_ns(start));
    }
    Ok(median(&samples) as f64)
}

/// One engine's row: compile, serialize size, deserialize from bytes and from a file.
struct Row {
    engine: &'static str,
    compile_ns: f64,
    artifact_bytes: usize,
    deserialize_ns: f64,
    deserialize_file_ns: f64,
}

/// Compile against deserialize (from memory and from a file) of the generated module of
/// `scale.functions` functions; deserialize times also as a ratio to wasmtime's.
pub fn deserialize(scale: Scale) -> Result<Table> {
    let wasm = wat::parse_str(generated_module(scale.functions))
        .context("assembling the generated module")?;
    let (compile_runs, load_runs) = match scale.size {
        Size::Smoke => (1, 3),
        Size::Full => (3, 21),
    };
    let dir = std::env::temp_dir().join(format!("wasmjit-bench-cwasm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).context("creating a temporary folder")?;
    let mut rows = Vec::new();

    let engine = wasmjit::Engine::default();
    let compile_ns = timed(compile_runs, &mut || {
        Module::new(&engine, &wasm)
            .map(drop)
            .context("wasmjit compile")
    })?;
    let artifact = engine
        .precompile_module(&wasm)
        .context("wasmjit precompile")?;
    let path = dir.join("wasmjit.cwasm");
    std::fs::write(&path, &artifact).context("writing the wasmjit artifact")?;
    rows.push(Row {
        engine: "wasmjit",
        compile_ns,
        artifact_bytes: artifact.len(),
        // SAFETY: the artifact was written by this engine's `precompile_module` above.
        deserialize_ns: timed(load_runs, &mut || unsafe {
            Module::deserialize(&engine, &artifact)
                .map(drop)
                .context("wasmjit deserialize")
        })?,
        // SAFETY: as above; nothing else writes the file.
        deserialize_file_ns: timed(load_runs, &mut || unsafe {
            Module::deserialize_file(&engine, &path)
                .map(drop)
                .context("wasmjit deserialize_file")
        })?,
    });

    #[cfg(feature = "wasmtime")]
    {
        let peer = crate::engines::wasmtime::Wasmtime::new()?;
        let engine = peer.engine();
        let compile_ns = timed(compile_runs, &mut || {
            wasmtime::Module::new(engine, &wasm)
                .map(drop)
                .context("wasmtime compile")
        })?;
        let artifact = engine
            .precompile_module(&wasm)
            .context("wasmtime precompile")?;
        let path = dir.join("wasmtime.cwasm");
        std::fs::write(&path, &artifact).context("writing the wasmtime artifact")?;
        rows.push(Row {
            engine: "wasmtime",
            compile_ns,
            artifact_bytes: artifact.len(),
            // SAFETY: written by wasmtime's `precompile_module` with this engine above.
            deserialize_ns: timed(load_runs, &mut || unsafe {
                wasmtime::Module::deserialize(engine, &artifact)
                    .map(drop)
                    .context("wasmtime deserialize")
            })?,
            // SAFETY: as above; nothing else writes the file.
            deserialize_file_ns: timed(load_runs, &mut || unsafe {
                wasmtime::Module::deserialize_file(engine, &path)
                    .map(drop)
                    .context("wasmtime deserialize_file")
            })?,
        });
    }
    std::fs::remove_dir_all(&dir).context("removing the temporary folder")?;

    let wasmtime = rows
        .iter()
        .find(|r| r.engine == "wasmtime")
        .map(|r| (r.deserialize_ns, r.deserialize_file_ns));
    let rows = rows
        .iter()
        .map(|r| {
            let vs_wasmtime = |ours: f64, theirs: Option<f64>| {
                theirs.map_or("-".to_owned(), |t| format_ratio(ours / t))
            };
            vec![
                r.engine.to_owned(),
                format_ns(r.compile_ns),
                format!("{:.1}", r.artifact_bytes as f64 / 1024.0),
                format_ns(r.deserialize_ns),
                format!("{:.0}x", r.compile_ns / r.deserialize_ns),
                vs_wasmtime(r.deserialize_ns, wasmtime.map(|w| w.0)),
                format_ns(r.deserialize_file_ns),
                vs_wasmtime(r.deserialize_file_ns, wasmtime.map(|w| w.1)),
            ]
        })
        .collect();
    Ok(Table {
        title: format!(
            "Focused: precompiled modules, generated module of {} functions (medians; compile {compile_runs} runs, loads {load_runs})",
            scale.functions
        ),
        header: [
            "engine",
            "compile",
            "artifact KiB",
            "deserialize",
            "compile / deserialize",
            "vs wasmtime",
            "deserialize_file",
            "vs wasmtime",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows,
    })
}
