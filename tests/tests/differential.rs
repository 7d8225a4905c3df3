//! Differential run: modules generated from fixed seeds run in wasmjit and in the wasmi
//! interpreter, and every result, trap, global, memory and table must agree.
//!
//! `WASMJIT_DIFF_MODULES` sets how many seeds (3000 by default), `WASMJIT_DIFF_START` the
//! first one. A mismatch writes the module to `target/differential/seed-N.wasm`, which
//! `cargo run --release -p wasmjit-tests --bin diff-replay -- FILE` replays. Mismatches that
//! `differential::looks_like_known_wasmi_bug` attributes to wasmi's known `select`/`i32.eqz`
//! bug are counted apart, in any seed range; the seeds in `tests/differential-oracle-bugs.txt`
//! check that the classifier still recognises that bug.
//!
//! Modules using Wasm 3.0 features come from their own seeds (`WASMJIT_DIFF_WASM3_MODULES`,
//! 600 by default): two in three use only what wasmi 2 runs too (tail calls, memory64,
//! extended constants, multi-memory) and are compared with wasmi; the others add relaxed
//! SIMD and are compared between unoptimised, explicitly checked and optimised guard-page
//! wasmjit code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use wasmjit_tests::differential::{self, Features, Outcome};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// How a listed wasmi bug shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Listed {
    /// wasmi traps with "integer divide by zero": the classifier must recognise it.
    Trap,
    /// wasmi computes a wrong value (it divided by 1 instead of x), which no narrow pattern
    /// can tell from a wasmjit bug: excused by seed, if the module holds the divisor guard.
    Value,
}

/// The seeds listed in `tests/differential-oracle-bugs.txt`: `SEED` or `SEED value`.
fn oracle_bugs() -> BTreeMap<u64, Listed> {
    let text = include_str!("../differential-oracle-bugs.txt");
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let mut words = line.split_whitespace();
            let seed = words.next().and_then(|w| w.parse().ok());
            let kind = match words.next() {
                None => Listed::Trap,
                Some("value") => Listed::Value,
                Some(other) => panic!("unknown kind {other:?} in {line:?}"),
            };
            (seed.expect("a seed per line"), kind)
        })
        .collect()
}

/// Runs `wasm` in wasmi on a thread with a large stack: wasmi's translator recurses deeply on
/// some modules, more than the 2 MiB a spawned thread gets by default (seed 25927 overflows
/// it).
fn run_wasmi(wasm: &[u8], seed: u64) -> Outcome {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(16 << 20)
            .spawn_scoped(s, || differential::run_wasmi(wasm, seed))
            .expect("spawn the wasmi thread")
            .join()
            .expect("wasmi panicked")
    })
}

#[test]
fn wasmjit_agrees_with_wasmi() {
    let start = env_u64("WASMJIT_DIFF_START", 0);
    let count = env_u64("WASMJIT_DIFF_MODULES", 3000);
    let listed = oracle_bugs();
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
                    let value_seed = listed.get(&seed) == Some(&Listed::Value)
                        && differential::module_has_divisor_guard(&wasm);
                    if value_seed || differential::looks_like_known_wasmi_bug(&wasm, &ours, &theirs)
                    {
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
        "differential: seeds {start}..{}: {compared} modules compared, {} calls, {} mismatches, \
         {} known wasmi bugs {oracle_wrong:?}",
        start + count,
        calls.into_inner(),
        mismatches.len(),
        oracle_wrong.len()
    );
    assert!(compared >= count * 9 / 10, "too few modules generated");
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// The first seed of the Wasm 3.0 run, far from the Wasm 2.0 run's.
const WASM3_SEEDS: u64 = 1 << 40;

#[test]
fn wasm3_features_agree() {
    let count = env_u64("WASMJIT_DIFF_WASM3_MODULES", 600);
    let next = AtomicU64::new(0);
    let counts = Mutex::new(BTreeMap::<&str, u64>::new());
    let mismatches = Mutex::new(Vec::new());
    let out_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/differential");
    let [optimised, plain] = differential::self_configs();

    std::thread::scope(|s| {
        for _ in 0..2 {
            let worker = std::thread::Builder::new().stack_size(16 << 20);
            let spawned = worker.spawn_scoped(s, || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let seed = WASM3_SEEDS + i;
                let features = if i % 3 == 2 {
                    Features::WASMJIT
                } else {
                    Features::WASMI
                };
                let Ok(wasm) = differential::generate_with(seed, features) else {
                    continue;
                };
                let wasm2 = wasmparser::WasmFeatures::WASM2;
                if wasmparser::Validator::new_with_features(wasm2)
                    .validate_all(&wasm)
                    .is_err()
                {
                    *counts.lock().unwrap().entry("beyond Wasm 2.0").or_default() += 1;
                }
                let without_exceptions = wasmparser::WasmFeatures::all()
                    .difference(wasmparser::WasmFeatures::EXCEPTIONS);
                if wasmparser::Validator::new_with_features(without_exceptions)
                    .validate_all(&wasm)
                    .is_err()
                {
                    *counts.lock().unwrap().entry("with exceptions").or_default() += 1;
                }
                let without_gc =
                    wasmparser::WasmFeatures::all().difference(wasmparser::WasmFeatures::GC);
                if wasmparser::Validator::new_with_features(without_gc)
                    .validate_all(&wasm)
                    .is_err()
                {
                    *counts.lock().unwrap().entry("with GC").or_default() += 1;
                }
                let (kind, result) = if features.wasmi_runs() {
                    let ours = differential::run_wasmjit(&wasm, seed);
                    let theirs = differential::run_wasmi(&wasm, seed);
                    let diff = differential::compare(&ours, &theirs);
                    if diff.is_err()
                        && differential::looks_like_known_wasmi_bug(&wasm, &ours, &theirs)
                    {
                        ("known wasmi bugs", Ok(()))
                    } else {
                        let diff =
                            diff.map_err(|d| format!("{d}\nwasmjit:\n{ours}wasmi:\n{theirs}"));
                        ("against wasmi", diff)
                    }
                } else {
                    let ours = differential::run_wasmjit_with(&wasm, seed, &optimised);
                    let plain = differential::run_wasmjit_with(&wasm, seed, &plain);
                    let diff = differential::compare(&ours, &plain).map_err(|d| {
                        format!("{d}\noptimised:\n{ours}unoptimised, explicit checks:\n{plain}")
                    });
                    ("optimised against unoptimised", diff)
                };
                *counts.lock().unwrap().entry(kind).or_default() += 1;
                if let Err(diff) = result {
                    std::fs::create_dir_all(&out_dir).expect("create target/differential");
                    let file = out_dir.join(format!("seed-{seed}.wasm"));
                    std::fs::write(&file, &wasm).expect("write module");
                    mismatches
                        .lock()
                        .unwrap()
                        .push(format!("seed {seed} ({}), {kind}: {diff}", file.display()));
                }
            });
            spawned.expect("spawn a differential worker");
        }
    });

    let counts = counts.into_inner().unwrap();
    let mismatches = mismatches.into_inner().unwrap();
    println!(
        "differential (Wasm 3.0 features): {count} seeds: {counts:?}, {} mismatches",
        mismatches.len()
    );
    let beyond = counts.get("beyond Wasm 2.0").copied().unwrap_or(0);
    let with_exceptions = counts.get("with exceptions").copied().unwrap_or(0);
    let with_gc = counts.get("with GC").copied().unwrap_or(0);
    let compared: u64 = counts.values().sum::<u64>() - beyond - with_exceptions - with_gc;
    assert!(compared >= count * 9 / 10, "too few modules generated");
    assert!(
        beyond >= count / 4,
        "too few modules use a Wasm 3.0 feature: {counts:?}"
    );
    assert!(
        counts.get("optimised against unoptimised") >= Some(&(count / 4)),
        "too few relaxed-SIMD modules: {counts:?}"
    );
    assert!(
        with_exceptions >= count / 20,
        "too few modules use exceptions: {counts:?}"
    );
    assert!(
        with_gc >= count / 20,
        "too few modules use GC or typed references: {counts:?}"
    );
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// The listed seeds, whatever range the run above covers: each must still mismatch, and the
/// classifier must attribute each `Trap` seed to the known wasmi bug (a `Value` seed's module
/// must hold the divisor guard). A listed seed the engines agree on (wasmi fixed, or the
/// generator changed) is to be removed from the list; one the classifier no longer recognises
/// means it has become too narrow, or the mismatch is something else.
#[test]
fn listed_oracle_bugs_are_recognised() {
    let mut failures = Vec::new();
    for (seed, kind) in oracle_bugs() {
        let wasm = differential::generate(seed).expect("a listed seed generates a module");
        let ours = differential::run_wasmjit(&wasm, seed);
        let theirs = run_wasmi(&wasm, seed);
        match differential::compare(&ours, &theirs) {
            Ok(()) => failures.push(format!("seed {seed}: the engines agree")),
            Err(_) if kind == Listed::Value && !differential::module_has_divisor_guard(&wasm) => {
                failures.push(format!("seed {seed}: the module has no divisor guard"))
            }
            Err(diff)
                if kind == Listed::Trap
                    && !differential::looks_like_known_wasmi_bug(&wasm, &ours, &theirs) =>
            {
                failures.push(format!(
                    "seed {seed}: not recognised as the known wasmi bug: {diff}\n\
                     wasmjit:\n{ours}wasmi:\n{theirs}"
                ))
            }
            Err(_) => {}
        }
    }
    assert!(
        failures.is_empty(),
        "differential-oracle-bugs.txt:\n{}",
        failures.join("\n")
    );
}

/// The classifier excuses only the known pattern: the same outcomes on a module without the
/// divisor guard, or with wasmi trapping differently, are not excused.
#[test]
fn classifier_is_narrow() {
    use differential::Step;

    let outcome = |step: Step| Outcome {
        steps: vec![("instantiate".into(), Step::Ok(vec![])), ("f".into(), step)],
        ..Outcome::default()
    };
    let divide = Step::Trap("integer divide by zero");
    let guarded = wat::parse_str(
        r#"(module (func (export "f") (param i32) (result i32) (local i32)
            i32.const 7
            local.get 0
            local.set 1
            i32.const 1
            local.get 1
            local.get 1
            i32.eqz
            select
            i32.div_u))"#,
    )
    .unwrap();
    let unguarded = wat::parse_str(
        r#"(module (func (export "f") (param i32) (result i32)
            i32.const 7
            local.get 0
            i32.div_u))"#,
    )
    .unwrap();
    let ours = outcome(Step::Ok(vec![differential::Value::I32(7)]));
    let known = |wasm: &[u8], ours: &Outcome, theirs: Step| {
        differential::looks_like_known_wasmi_bug(wasm, ours, &outcome(theirs))
    };
    assert!(known(&guarded, &ours, divide.clone()));
    assert!(!known(&unguarded, &ours, divide.clone()));
    assert!(!known(
        &guarded,
        &ours,
        Step::Ok(vec![differential::Value::I32(0)])
    ));
    assert!(!known(&guarded, &ours, Step::Trap("integer overflow")));
    assert!(!known(&guarded, &outcome(divide.clone()), divide.clone()));
    let error = outcome(Step::Error("failed".into()));
    assert!(!known(&guarded, &error, divide));
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
