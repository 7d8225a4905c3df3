//! Differential run: modules generated from fixed seeds run in wasmjit and in the wasmi
//! interpreter, and every result, trap, global, memory and table must agree.
//!
//! `WASMJIT_DIFF_MODULES` sets how many seeds (3000 by default), `WASMJIT_DIFF_START` the
//! first one. A mismatch writes the module to `target/differential/seed-N.wasm`, which
//! `cargo run --release -p wasmjit-tests --bin diff-replay -- FILE` replays. Seeds where the
//! oracle itself is wrong are listed in `tests/differential-oracle-bugs.txt`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use wasmjit_tests::differential;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The seeds listed in `tests/differential-oracle-bugs.txt`.
fn oracle_bugs() -> BTreeSet<u64> {
    let text = include_str!("../differential-oracle-bugs.txt");
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| line.parse().expect("a seed per line"))
        .collect()
}

#[test]
fn wasmjit_agrees_with_wasmi() {
    let start = env_u64("WASMJIT_DIFF_START", 0);
    let count = env_u64("WASMJIT_DIFF_MODULES", 3000);
    let oracle_bugs = oracle_bugs();
    let oracle_wrong = Mutex::new(BTreeSet::new());
    let next = AtomicU64::new(start);
    let compared = AtomicU64::new(0);
    let calls = AtomicU64::new(0);
    let mismatches = Mutex::new(Vec::new());
    let out_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/differential");

    std::thread::scope(|s| {
        for _ in 0..2 {
            // wasmi's translator recurses deeply on some modules: more than the 2 MiB a
            // spawned thread gets by default (seed 25927 overflows it).
            let worker = std::thread::Builder::new().stack_size(16 << 20);
            let spawned = worker.spawn_scoped(s, || loop {
                let seed = next.fetch_add(1, Ordering::Relaxed);
                if seed >= start + count {
                    break;
                }
                let Ok(wasm) = differential::generate(seed) else {
                    continue;
                };
                let ours = differential::run_wasmjit(&wasm, seed);
                let theirs = differential::run_wasmi(&wasm, seed);
                compared.fetch_add(1, Ordering::Relaxed);
                calls.fetch_add(ours.steps.len() as u64, Ordering::Relaxed);
                if let Err(diff) = differential::compare(&ours, &theirs) {
                    if oracle_bugs.contains(&seed) {
                        oracle_wrong.lock().unwrap().insert(seed);
                        continue;
                    }
                    std::fs::create_dir_all(&out_dir).expect("create target/differential");
                    let file = out_dir.join(format!("seed-{seed}.wasm"));
                    std::fs::write(&file, &wasm).expect("write module");
                    mismatches.lock().unwrap().push(format!(
                        "seed {seed} ({}): {diff}\nwasmjit:\n{ours}wasmi:\n{theirs}",
                        file.display()
                    ));
                }
            });
            spawned.expect("spawn a differential worker");
        }
    });

    let compared = compared.into_inner();
    let mismatches = mismatches.into_inner().unwrap();
    let oracle_wrong = oracle_wrong.into_inner().unwrap();
    println!(
        "differential: {compared} modules compared, {} calls, {} mismatches, {} known wasmi bugs",
        calls.into_inner(),
        mismatches.len(),
        oracle_wrong.len()
    );
    let fixed: Vec<_> = oracle_bugs
        .iter()
        .filter(|&&seed| (start..start + count).contains(&seed) && !oracle_wrong.contains(&seed))
        .collect();
    assert!(
        fixed.is_empty(),
        "listed in differential-oracle-bugs.txt but the engines agree: {fixed:?}"
    );
    assert!(compared >= count * 9 / 10, "too few modules generated");
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// The pattern behind every listed oracle bug, with the values the spec (and V8) give:
/// `select(1, x, i32.eqz x)` is 1 when x is 0 and x otherwise.
#[test]
fn select_of_eqz_picks_the_spec_operand() {
    use wasmjit::{Engine, Instance, Module, Store};

    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (func (export "div") (param i32) (result i32)
            i32.const 7
            i32.const 1
            local.get 0
            local.get 0
            i32.eqz
            select
            i32.div_u))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let div = instance
        .get_typed_func::<i32, i32>(&mut store, "div")
        .unwrap();
    assert_eq!(div.call(&mut store, 0).unwrap(), 7);
    assert_eq!(div.call(&mut store, 9).unwrap(), 0);
    assert_eq!(div.call(&mut store, 2).unwrap(), 3);
}
