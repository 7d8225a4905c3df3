//! The `wasmjit` command: `run` on the example modules (with `--invoke`) and on WASI
//! commands, `wast`, `--help` and `--version`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "../../wasi/tests/common/realworld.rs"]
#[allow(dead_code)] // shared with the WASI tests, which use all of it
mod realworld;

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
fn invoke_may_come_before_the_file() {
    let path = example("fib.wat");
    let out = wasmjit(&["run", "--invoke", "fib", path.to_str().unwrap(), "30"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "832040\n");
    let twice = wasmjit(&[
        "run",
        "--invoke",
        "fib",
        path.to_str().unwrap(),
        "--invoke",
        "fib",
    ]);
    assert!(!twice.status.success());
    assert!(String::from_utf8_lossy(&twice.stderr).contains("--invoke given twice"));
}

#[test]
fn help_and_version() {
    let help = wasmjit(&["--help"]);
    assert!(help.status.success());
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("run") && text.contains("wast"), "{text}");
    let run_help = wasmjit(&["run", "--help"]);
    let text = String::from_utf8_lossy(&run_help.stdout);
    assert!(
        text.contains("--dir") && text.contains("--invoke"),
        "{text}"
    );
    let version = wasmjit(&["--version"]);
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("wasmjit {}\n", env!("CARGO_PKG_VERSION"))
    );
    let bad = wasmjit(&["run", "--no-such-flag", "x.wasm"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--no-such-flag"));
}

#[test]
fn a_missing_file_is_named() {
    let out = wasmjit(&["run", "/no/such/module.wasm"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/no/such/module.wasm"));
}

/// A WASI command in text: prints its arguments after the program name, one per line, the
/// value of `$NAME` and the first line of `/data/in.txt` (when it can open it; `no file`
/// otherwise), writes `/data/out.txt`, and exits with the number of arguments.
const WASI_COMMAND: &str = r#"(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $env_sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $env_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 900) "in.txt")
  (data (i32.const 910) "out.txt")
  (data (i32.const 920) "no file\n")
  (data (i32.const 930) "written\n")
  (data (i32.const 940) "\n")
  ;; Writes the NUL-terminated string at $p, then a newline.
  (func $puts (param $p i32) (local $n i32)
    (block $done (loop $scan
      (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $scan)))
    (i32.store (i32.const 0) (local.get $p))
    (i32.store (i32.const 4) (local.get $n))
    (i32.store (i32.const 8) (i32.const 940))
    (i32.store (i32.const 12) (i32.const 1))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 2) (i32.const 16))))
  (func (export "_start") (local $argc i32) (local $i i32) (local $fd i32)
    (drop (call $args_sizes (i32.const 20) (i32.const 24)))
    (local.set $argc (i32.load (i32.const 20)))
    (drop (call $args_get (i32.const 1000) (i32.const 2000)))
    (local.set $i (i32.const 1))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $argc)))
      (call $puts (i32.load (i32.add (i32.const 1000) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each)))
    (drop (call $env_sizes (i32.const 20) (i32.const 24)))
    (if (i32.load (i32.const 20)) (then
      (drop (call $env_get (i32.const 3000) (i32.const 4000)))
      (call $puts (i32.load (i32.const 3000)))))
    ;; fd 3 is the first preopen, if any.
    (if (i32.eqz (call $open (i32.const 3) (i32.const 1) (i32.const 900) (i32.const 6)
                    (i32.const 0) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 28)))
      (then
        (local.set $fd (i32.load (i32.const 28)))
        (i32.store (i32.const 0) (i32.const 5000))
        (i32.store (i32.const 4) (i32.const 100))
        (drop (call $read (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 16)))
        (i32.store (i32.const 0) (i32.const 5000))
        (i32.store (i32.const 4) (i32.load (i32.const 16)))
        (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
        ;; out.txt: created and written.
        (drop (call $open (i32.const 3) (i32.const 1) (i32.const 910) (i32.const 7)
                 (i32.const 9) (i64.const -1) (i64.const -1) (i32.const 0) (i32.const 28)))
        (i32.store (i32.const 0) (i32.const 930))
        (i32.store (i32.const 4) (i32.const 8))
        (drop (call $write (i32.load (i32.const 28)) (i32.const 0) (i32.const 1) (i32.const 16))))
      (else
        (i32.store (i32.const 0) (i32.const 920))
        (i32.store (i32.const 4) (i32.const 8))
        (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))))
    (call $exit (i32.sub (local.get $argc) (i32.const 1)))))"#;

#[test]
fn run_a_wasi_command_with_arguments_environment_and_a_folder() {
    let dir = std::env::temp_dir().join(format!("wasmjit-cli-wasi-{}", std::process::id()));
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("in.txt"), "from the host\n").unwrap();
    let _ = std::fs::remove_file(data.join("out.txt"));
    let file = dir.join("command.wat");
    std::fs::write(&file, WASI_COMMAND).unwrap();
    let file = file.to_str().unwrap();

    let dir_arg = format!("{}::/data", data.display());
    let out = wasmjit(&[
        "run",
        "--dir",
        &dir_arg,
        "--env",
        "NAME=value",
        file,
        "a",
        "-b",
        "--dir",
    ]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "a\n-b\n--dir\nNAME=value\nfrom the host\n"
    );
    assert_eq!(
        std::fs::read_to_string(data.join("out.txt")).unwrap(),
        "written\n"
    );

    // Without --dir, no file system.
    let out = wasmjit(&["run", file]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no file\n");

    let bad = wasmjit(&["run", "--dir", "/no/such/folder", file]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("/no/such/folder"));
    let bad = wasmjit(&["run", "--env", "NOEQUALS", file]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("NAME=VALUE"));
}

/// The files under `dir` with their contents, by path relative to it.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(
                files(&path)
                    .into_iter()
                    .map(|(p, c)| (Path::new(path.file_name().unwrap()).join(p), c)),
            );
        } else {
            out.push((
                path.strip_prefix(dir).unwrap().into(),
                std::fs::read(&path).unwrap(),
            ));
        }
    }
    out.sort();
    out
}

/// `wasmjit run --dir . PROGRAM.wasm ARGS` in a folder holding the program's inputs prints
/// what the native build prints there and leaves the same files: the Lua and QuickJS
/// interpreters on their benchmark scripts, the Rust program, and the one that starts threads
/// (wasi-threads).
#[test]
fn real_programs_run_as_natively() {
    for name in ["lua", "quickjs", "rust", "threads"] {
        let program = realworld::program(name);
        let base = std::env::temp_dir().join(format!("wasmjit-cli-{name}-{}", std::process::id()));
        let (native_dir, wasm_dir) = (base.join("native"), base.join("wasm"));
        for dir in [&native_dir, &wasm_dir] {
            let _ = std::fs::remove_dir_all(dir);
            std::fs::create_dir_all(dir).unwrap();
        }
        let native = realworld::run_native(program, &native_dir);
        realworld::copy_inputs(program, &wasm_dir);
        let wasm = realworld::built().join(format!("{name}.wasm"));
        let out = wasmjit_command()
            .args(["run", "--dir", "."])
            .arg(&wasm)
            .args(program.args)
            .current_dir(&wasm_dir)
            .output()
            .expect("the wasmjit binary runs");
        assert!(out.status.success(), "{name}: {out:?}");
        assert_eq!(String::from_utf8(out.stdout).unwrap(), native, "{name}");
        assert_eq!(files(&wasm_dir), files(&native_dir), "{name}: files left");
        std::fs::remove_dir_all(&base).unwrap();
    }
}

#[test]
fn a_thread_calling_proc_exit_ends_the_program_with_its_status() {
    let wasm = realworld::built().join("threads.wasm");
    let out = wasmjit_command()
        .arg("run")
        .arg(&wasm)
        .args(["exit", "3"])
        .output()
        .expect("the wasmjit binary runs");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "thread: exiting with 3\n"
    );
}

#[test]
fn wast_prints_each_directive_and_a_summary() {
    let dir = std::env::temp_dir().join(format!("wasmjit-cli-wast-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("t.wast");
    std::fs::write(
        &file,
        r#"(module (func (export "add") (param i32 i32) (result i32)
             local.get 0 local.get 1 i32.add))
           (assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 3))
           (assert_return (invoke "add" (i32.const 1) (i32.const 2)) (i32.const 4))
           (assert_trap (invoke "add" (i32.const 1) (i32.const 2)) "unreachable")"#,
    )
    .unwrap();
    let out = wasmjit(&["wast", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("t.wast:1: ok"), "{text}");
    assert!(text.contains("t.wast:3: ok"), "{text}");
    assert!(text.contains("t.wast:4: FAILED"), "{text}");
    assert!(text.ends_with("wast: 2 passed, 2 failed\n"), "{text}");
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
