//! Replays one module of the differential tester: `diff-replay FILE.wasm [SEED]`.
//!
//! Runs the module in wasmjit and in wasmi with the arguments the seed gives (the seed is in
//! the file name the tester wrote, `seed-N.wasm`, and is taken from there when not given),
//! prints both outcomes, and exits with 1 when they differ.

use std::process::ExitCode;

use wasmjit_tests::differential;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: diff-replay FILE.wasm [SEED]");
        return ExitCode::from(2);
    };
    let seed = args
        .next()
        .or_else(|| {
            let stem = std::path::Path::new(&path).file_stem()?.to_str()?;
            stem.strip_prefix("seed-").map(str::to_string)
        })
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let wasm = match std::fs::read(&path) {
        Ok(wasm) => wasm,
        Err(e) => {
            eprintln!("error: {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let ours = differential::run_wasmjit(&wasm, seed);
    let theirs = differential::run_wasmi(&wasm, seed);
    println!("wasmjit:\n{ours}wasmi:\n{theirs}");
    match differential::compare(&ours, &theirs) {
        Ok(()) => {
            println!("same");
            ExitCode::SUCCESS
        }
        Err(diff) => {
            println!("different: {diff}");
            ExitCode::FAILURE
        }
    }
}
