//! Our WASI against wasmtime's: each shared case of `common::cases()`, and each real program
//! of `benches/realworld`, runs under both (the `wasmtime` package on PyPI, driven by
//! `wasmtime_run.py`), each in a fresh copy of its folders, and stdout, stderr, the exit
//! status and every file, folder and link left behind must be the same.
//!
//! Skipped, with the reason printed, only where there is no `python3`; a Python without the
//! `wasmtime` package fails the test (`pip install wasmtime`; `.ci/run` installs it).
//! `strict.c` and `readonly.c` are not compared: there the spec and wasmtime differ (rights,
//! invalid enum values; see those files).

mod common;

use std::path::Path;
use std::process::Command;

use common::realworld::{self, built, copy_inputs, PROGRAMS};
use common::{cases, run_module, run_ours, scratch, snapshot, Outcome, Setup};
use wasmjit_wasi::{DirPerms, WasiCtxBuilder};

/// `python3` with the `wasmtime` package, or `None` (printing why) where there is no
/// `python3`.
fn python() -> Option<&'static str> {
    match Command::new("python3").arg("--version").output() {
        Ok(o) if o.status.success() => {}
        _ => {
            println!("skipped: no python3 to run the wasmtime reference with");
            return None;
        }
    }
    let probe = Command::new("python3")
        .args(["-c", "import wasmtime"])
        .output()
        .unwrap();
    assert!(
        probe.status.success(),
        "the differential test needs the wasmtime package: `pip install wasmtime` \
         (.ci/run installs it): {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    Some("python3")
}

/// Runs `wasm` under wasmtime with `setup` (folders relative to `root`), in `root`.
fn run_wasmtime(python: &str, wasm: &Path, setup: &Setup, root: &Path) -> Outcome {
    let script = common::sources().join("../wasmtime_run.py");
    // Beside `root`, named after it: the tests run in parallel.
    let stdin = root.with_extension("stdin");
    std::fs::write(&stdin, &setup.stdin).unwrap();
    let (stdout, stderr) = (root.with_extension("stdout"), root.with_extension("stderr"));
    let mut command = Command::new(python);
    command.arg(&script).current_dir(root);
    for (host, guest, read_only) in &setup.dirs {
        let spec = format!(
            "{}::{guest}{}",
            root.join(host).display(),
            if *read_only { "::ro" } else { "" }
        );
        command.args(["--dir", &spec]);
    }
    for (key, value) in &setup.env {
        command.args(["--env", &format!("{key}={value}")]);
    }
    command
        .arg("--stdin")
        .arg(&stdin)
        .arg("--stdout")
        .arg(&stdout)
        .arg("--stderr")
        .arg(&stderr)
        .arg(wasm)
        .args(&setup.args);
    let status = command.status().unwrap();
    Outcome {
        status: status.code().unwrap(),
        stdout: std::fs::read_to_string(&stdout).unwrap(),
        stderr: std::fs::read_to_string(&stderr).unwrap(),
    }
}

#[test]
fn same_as_wasmtime() {
    let Some(python) = python() else { return };
    let mut compared = 0;
    for (name, setup, layout) in cases() {
        let ours_root = scratch(&format!("{name}-ours"));
        let theirs_root = scratch(&format!("{name}-wasmtime"));
        layout(&ours_root);
        layout(&theirs_root);

        let ours = run_ours(name, &setup, &ours_root);
        let theirs = run_wasmtime(python, &common::program(name), &setup, &theirs_root);

        assert_eq!(
            ours, theirs,
            "{name}: wasmjit (left) and wasmtime (right) differ"
        );
        assert_eq!(
            snapshot(&ours_root),
            snapshot(&theirs_root),
            "{name}: the files left differ (wasmjit left, wasmtime right)"
        );
        compared += 1;
    }
    assert_eq!(compared, cases().len());
    println!("{compared} programs behave as under wasmtime");
}

/// The real programs, each given its folder as `.`: the same output, status and files.
#[test]
fn real_programs_same_as_wasmtime() {
    let Some(python) = python() else { return };
    for program in PROGRAMS {
        let name = program.name;
        let wasm = built().join(format!("{name}.wasm"));
        let ours_root = scratch(&format!("{name}-real-ours"));
        let theirs_root = scratch(&format!("{name}-real-wasmtime"));
        copy_inputs(program, &ours_root);
        copy_inputs(program, &theirs_root);

        let mut builder = WasiCtxBuilder::new();
        builder
            .arg(wasm.to_str().unwrap())
            .args(program.args)
            .preopened_dir(&ours_root, ".", DirPerms::ReadWrite)
            .unwrap();
        let ours = run_module(&wasm, &mut builder);
        let setup = Setup {
            args: program.args.iter().map(|a| a.to_string()).collect(),
            dirs: vec![(".".into(), ".".into(), false)],
            ..Setup::default()
        };
        let theirs = run_wasmtime(python, &wasm, &setup, &theirs_root);

        assert_eq!(ours.status, 0, "{name}: {}", ours.stderr);
        assert!(!ours.stdout.is_empty(), "{name} printed nothing");
        assert_eq!(
            ours, theirs,
            "{name}: wasmjit (left) and wasmtime (right) differ"
        );
        assert_eq!(
            snapshot(&ours_root),
            snapshot(&theirs_root),
            "{name}: the files left differ (wasmjit left, wasmtime right)"
        );
    }
    println!(
        "{} real programs behave as under wasmtime",
        realworld::PROGRAMS.len()
    );
}
