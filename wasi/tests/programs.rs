//! The C programs of `tests/programs/` under our WASI, each output compared with its
//! expected one (`NAME.stdout`, cross-checked against wasmtime by `against_wasmtime.rs` where
//! wasmtime agrees with the spec); the sandbox with its escapes, a read-only folder, injected
//! clocks and randomness, exit statuses, and guests on several threads at once.
//!
//! `WASI_BLESS=1 cargo test ...` rewrites the expected outputs from ours (review the diff).

mod common;

use std::path::Path;
use std::time::Duration;

use common::{
    cases, readonly_layout, run_ours, run_with, sandbox_layout, scratch, snapshot, Setup,
};
use wasmjit_wasi::cap_rand::{rngs::StdRng, SeedableRng};
use wasmjit_wasi::{MonotonicTime, WallClock, WasiCtxBuilder};

/// Checks `stdout` against `tests/programs/NAME.stdout`.
fn expect_stdout(name: &str, stdout: &str) {
    let path = common::sources().join(name).with_extension("stdout");
    if std::env::var_os("WASI_BLESS").is_some() {
        std::fs::write(&path, stdout).unwrap();
        return;
    }
    let expected =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        stdout,
        expected,
        "{name}: stdout differs from {}",
        path.display()
    );
}

fn case(name: &str) -> (Setup, fn(&Path)) {
    let (_, setup, layout) = cases().into_iter().find(|c| c.0 == name).unwrap();
    (setup, layout)
}

/// Runs a shared case in a fresh folder; the outcome and the folder.
fn run_case(name: &str) -> (common::Outcome, std::path::PathBuf) {
    let (setup, layout) = case(name);
    let root = scratch(name);
    layout(&root);
    (run_ours(name, &setup, &root), root)
}

#[test]
fn arguments_environment_and_exit_status() {
    let (out, _) = run_case("args_env");
    expect_stdout("args_env", &out.stdout);
    assert_eq!(out.status, 3, "exit(argc - 1)");
}

#[test]
fn standard_streams() {
    let (out, _) = run_case("stdio");
    expect_stdout("stdio", &out.stdout);
    assert_eq!(out.stderr, "read 29 bytes\n");
    assert_eq!(out.status, 0);
}

#[test]
fn files_and_folders() {
    let (out, root) = run_case("files");
    expect_stdout("files", &out.stdout);
    assert_eq!(out.status, 0);
    let tree = snapshot(&root);
    assert_eq!(tree["sandbox/d/a.txt"], "file HELLO+tail");
    assert_eq!(tree["sandbox/b.txt"], "file bee");
    assert_eq!(
        tree.keys()
            .filter(|k| k.starts_with("sandbox/many/"))
            .count(),
        100
    );
}

#[test]
fn clocks_randomness_polling_and_sockets() {
    let (out, _) = run_case("misc");
    expect_stdout("misc", &out.stdout);
    assert_eq!(out.status, 0);
}

#[test]
fn rights_and_invalid_arguments() {
    let root = scratch("strict");
    std::fs::create_dir_all(root.join("sandbox")).unwrap();
    let setup = Setup {
        dirs: vec![("sandbox".into(), "/sandbox".into(), false)],
        ..Setup::default()
    };
    let out = run_ours("strict", &setup, &root);
    expect_stdout("strict", &out.stdout);
    assert_eq!(out.status, 0);
}

#[test]
fn no_escape_from_the_sandbox() {
    let (out, root) = run_case("sandbox");
    expect_stdout("sandbox", &out.stdout);
    // Every escape was refused: the outside is as it was, nothing appeared next to it.
    let tree = snapshot(&root);
    assert_eq!(tree["outside/secret.txt"], "file secret\n");
    let outside: Vec<_> = tree.keys().filter(|k| !k.starts_with("sandbox")).collect();
    assert_eq!(outside, ["outside", "outside/secret.txt"]);
    assert!(!out.stdout.contains("secret"), "{}", out.stdout);
    for escape in [
        "dot-dot:",
        "link out:",
        "chained link out:",
        "absolute link:",
        "rename out:",
    ] {
        let line = out.stdout.lines().find(|l| l.starts_with(escape)).unwrap();
        assert!(line.ends_with("EPERM"), "{line}");
    }
    assert!(
        out.stdout.contains("4 descriptors open\n"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_preopen_that_is_a_symlink_is_followed_once_and_still_confines() {
    let root = scratch("sandbox-via-link");
    sandbox_layout(&root);
    std::os::unix::fs::symlink("sandbox", root.join("link-to-sandbox")).unwrap();
    let setup = Setup {
        dirs: vec![("link-to-sandbox".into(), "/sandbox".into(), false)],
        ..Setup::default()
    };
    let out = run_ours("sandbox", &setup, &root);
    expect_stdout("sandbox", &out.stdout);
    assert_eq!(snapshot(&root)["outside/secret.txt"], "file secret\n");
}

#[test]
fn a_read_only_folder_cannot_be_changed() {
    let root = scratch("readonly");
    readonly_layout(&root);
    let before = snapshot(&root);
    let setup = Setup {
        dirs: vec![("ro".into(), "/ro".into(), true)],
        ..Setup::default()
    };
    let out = run_ours("readonly", &setup, &root);
    expect_stdout("readonly", &out.stdout);
    assert_eq!(snapshot(&root), before, "the read-only folder changed");
}

/// A wall clock stopped at one instant.
struct FixedClock;

impl WallClock for FixedClock {
    fn now(&self) -> Duration {
        Duration::new(1_700_000_000, 123)
    }
    fn resolution(&self) -> Duration {
        Duration::from_millis(1)
    }
}

impl MonotonicTime for FixedClock {
    fn now(&self) -> u64 {
        42
    }
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }
}

#[test]
fn clocks_and_randomness_can_be_injected() {
    let run = |seed| {
        let mut builder = WasiCtxBuilder::new();
        builder
            .wall_clock(FixedClock)
            .monotonic_clock(FixedClock)
            .random(StdRng::seed_from_u64(seed));
        run_with("deterministic", &mut builder).stdout
    };
    let first = run(7);
    assert!(first.contains("realtime 1700000000000000123\n"), "{first}");
    assert!(first.contains("monotonic 42\n"), "{first}");
    assert!(first.contains("resolution 1000000\n"), "{first}");
    assert_eq!(run(7), first, "the same seed gives the same bytes");
    assert_ne!(run(8), first, "another seed gives other bytes");
}

#[test]
fn guests_run_on_several_threads_each_with_its_own_context() {
    let threads: Vec<_> = (0..4)
        .map(|n| {
            std::thread::spawn(move || {
                let setup = Setup {
                    args: (0..n).map(|i| format!("arg{i}")).collect(),
                    ..Setup::default()
                };
                let out = run_ours("args_env", &setup, Path::new("."));
                (n, out)
            })
        })
        .collect();
    for thread in threads {
        let (n, out) = thread.join().unwrap();
        assert_eq!(out.status, n);
        assert!(
            out.stdout.starts_with(&format!("argc={}\n", n + 1)),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn proc_exit_is_an_exit_status_not_a_trap() {
    use wasmjit::{Engine, Linker, Module, Store};
    use wasmjit_wasi::{I32Exit, WasiCtx};
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
             (memory (export "memory") 1)
             (func (export "_start") (call $exit (i32.const 9)) unreachable))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    wasmjit_wasi::add_to_linker(&mut linker, |cx: &mut WasiCtx| cx).unwrap();
    let mut store = Store::new(&engine, WasiCtx::builder().build());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap();
    let err = start.call(&mut store, ()).unwrap_err();
    assert_eq!(err.downcast_ref::<I32Exit>(), Some(&I32Exit(9)));
    assert_eq!(err.trap(), None);
}

#[test]
fn a_guest_without_exported_memory_gets_a_clear_error() {
    use wasmjit::{Engine, Linker, Module, Store};
    use wasmjit_wasi::WasiCtx;
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "wasi_snapshot_preview1" "sched_yield" (func $y (result i32)))
             (func (export "_start") (drop (call $y))))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    wasmjit_wasi::add_to_linker(&mut linker, |cx: &mut WasiCtx| cx).unwrap();
    let mut store = Store::new(&engine, WasiCtx::builder().build());
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap();
    let err = start.call(&mut store, ()).unwrap_err();
    assert!(err.to_string().contains("memory"), "{err}");
}
