//! The `wasmjit run` command on the example modules.

use std::path::PathBuf;
use std::process::{Command, Output};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
}

/// The `wasmjit` binary, started through the configured runner if any (`WASMJIT_TEST_RUNNER`,
/// else cargo's `CARGO_TARGET_<ARCH>_UNKNOWN_LINUX_GNU_RUNNER`, split on whitespace): when
/// the tests run as aarch64 code under QEMU, so must the binary.
fn wasmjit_command() -> Command {
    let binary = env!("CARGO_BIN_EXE_wasmjit");
    let cargo_runner = format!(
        "CARGO_TARGET_{}_UNKNOWN_LINUX_GNU_RUNNER",
        std::env::consts::ARCH.to_uppercase()
    );
    let runner = std::env::var("WASMJIT_TEST_RUNNER")
        .or_else(|_| std::env::var(cargo_runner))
        .unwrap_or_default();
    let mut words = runner.split_whitespace();
    match words.next() {
        Some(first) => {
            let mut command = Command::new(first);
            command.args(words).arg(binary);
            command
        }
        None => Command::new(binary),
    }
}

fn wasmjit(args: &[&str]) -> Output {
    wasmjit_command()
        .args(args)
        .output()
        .expect("the wasmjit binary runs")
}

fn run(file: &str, args: &[&str]) -> Output {
    let path = example(file);
    let mut all = vec!["run", path.to_str().unwrap()];
    all.extend_from_slice(args);
    wasmjit(&all)
}

#[test]
fn fib_30_prints_832040() {
    let out = run("fib.wat", &["--invoke", "fib", "30"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "832040\n");
}

#[test]
fn an_out_of_bounds_store_prints_the_trap_and_fails() {
    let out = run("oob.wat", &["--invoke", "store", "65536"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("out of bounds memory access"), "{stderr}");
    let ok = run("oob.wat", &["--invoke", "store", "65532"]);
    assert!(ok.status.success(), "{ok:?}");
}

#[test]
fn arguments_are_parsed_by_parameter_type() {
    let dir = std::env::temp_dir().join(format!("wasmjit-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("args.wat");
    std::fs::write(
        &file,
        r#"(module (func (export "f") (param i32 i64 f32 f64) (result i32 i64 f32 f64)
             local.get 0 local.get 1 local.get 2 local.get 3))"#,
    )
    .unwrap();
    let out = wasmjit(&[
        "run",
        file.to_str().unwrap(),
        "--invoke",
        "f",
        "-7",
        "0x10",
        "1.5",
        "-inf",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "-7\n16\n1.5\n-inf\n");
    let bad = wasmjit(&[
        "run",
        file.to_str().unwrap(),
        "--invoke",
        "f",
        "x",
        "1",
        "1",
        "1",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a valid i32"));
}

#[test]
fn bad_modules_and_missing_exports_fail_clearly() {
    let missing = run("fib.wat", &["--invoke", "nope"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no function `nope`"));
    let dir = std::env::temp_dir().join(format!("wasmjit-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.wasm");
    std::fs::write(&file, b"\0asm\x01\0\0\0\x01\xff").unwrap();
    let out = wasmjit(&["run", file.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("offset"));
}

#[test]
fn a_precompiled_module_runs_and_one_for_another_target_is_refused() {
    let dir = std::env::temp_dir().join(format!("wasmjit-cli-compile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fib = example("fib.wat");
    let cwasm = dir.join("fib.cwasm");
    let out = wasmjit(&[
        "compile",
        fib.to_str().unwrap(),
        "-o",
        cwasm.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let out = wasmjit(&["run", cwasm.to_str().unwrap(), "--invoke", "fib", "30"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "832040\n");

    let other = if cfg!(target_arch = "x86_64") {
        "aarch64-unknown-linux-gnu"
    } else {
        "x86_64-unknown-linux-gnu"
    };
    let foreign = dir.join("fib-other.cwasm");
    let out = wasmjit(&[
        "compile",
        fib.to_str().unwrap(),
        "--target",
        other,
        "-o",
        foreign.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let out = wasmjit(&["run", foreign.to_str().unwrap(), "--invoke", "fib", "30"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("it was compiled for {other}")),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
