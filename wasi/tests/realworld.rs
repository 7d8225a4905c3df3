//! Real programs (`benches/realworld/build.sh`) under our WASI, their output compared with
//! the same program built natively: zlib (in memory, and a gzip file that the host's `gzip`
//! reads back) and SQLite (in memory and on a file; on request, see below). Building needs
//! clang and wasi-libc (`.ci/run` installs them) and fetches the sources with cargo.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{run_module, scratch};
use wasmjit_wasi::{DirPerms, WasiCtxBuilder};

/// Builds `program` with `build.sh` (only when its driver changed); its folder.
fn build(program: &str) -> PathBuf {
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("realworld");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/realworld/build.sh");
    let status = Command::new("bash")
        .arg(&script)
        .arg(&out)
        .arg(program)
        .env("CARGO", env!("CARGO"))
        .status()
        .expect("bash runs");
    assert!(
        status.success(),
        "{} failed: it needs clang, wasi-libc and cc (.ci/run installs them)",
        script.display()
    );
    out
}

/// Runs `program` natively and under wasmjit, each in its own fresh folder, with `args`;
/// both outputs must be the same. Returns the two folders.
fn same_as_native(program: &str, args: &[&str]) -> (PathBuf, PathBuf) {
    let out = build(program);
    let native_dir = scratch(&format!("{program}-native"));
    let wasm_dir = scratch(&format!("{program}-wasm"));
    let native = Command::new(out.join(format!("{program}.native")))
        .args(args)
        .current_dir(&native_dir)
        .output()
        .unwrap();
    assert!(native.status.success(), "{native:?}");

    let mut builder = WasiCtxBuilder::new();
    builder
        .arg(program)
        .args(args)
        .preopened_dir(&wasm_dir, ".", DirPerms::ReadWrite)
        .unwrap();
    let wasm = run_module(&out.join(format!("{program}.wasm")), &mut builder);
    assert_eq!(wasm.status, 0, "{}", wasm.stdout);
    assert_eq!(wasm.stdout, String::from_utf8(native.stdout).unwrap());
    (native_dir, wasm_dir)
}

#[test]
fn zlib_compresses_as_natively_and_gzip_reads_its_files() {
    let (native_dir, wasm_dir) = same_as_native("zlib", &["512"]);
    let gunzip = |dir: &Path| {
        let out = Command::new("gzip")
            .args(["-dc", "out.gz"])
            .current_dir(dir)
            .output()
            .expect("gzip runs");
        assert!(out.status.success(), "{out:?}");
        out.stdout
    };
    let from_wasm = gunzip(&wasm_dir);
    assert_eq!(from_wasm.len(), 512 * 1024);
    assert_eq!(from_wasm, gunzip(&native_dir));
}

/// Building the SQLite amalgamation twice (wasm and native) takes minutes on CI's two cores,
/// so this one runs on request: `cargo test --release --workspace --test realworld --
/// --ignored`.
#[test]
#[ignore = "builds SQLite for wasm and natively (minutes); run with --ignored"]
fn sqlite_answers_as_natively_in_memory_and_on_a_file() {
    let (_, wasm_dir) = same_as_native("sqlite", &["3000"]);
    let header = std::fs::read(wasm_dir.join("bench.db")).unwrap();
    assert!(header.starts_with(b"SQLite format 3\0"));
}
