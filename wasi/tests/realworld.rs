//! Real programs (`benches/realworld/build.sh`) under our WASI, their output and the files
//! they leave compared with the same program built natively: zlib (in memory, and a gzip
//! file that the host's `gzip` reads back), SQLite (in memory and on a file), Lua 5.4 and
//! QuickJS running their benchmark scripts, a Rust program built for wasm32-wasip1, and one
//! built for wasm32-wasip1-threads that starts threads (wasi-threads). Building needs clang,
//! wasi-libc and rustup's wasm32-wasip1 and wasm32-wasip1-threads targets (`build.sh` adds
//! them) and fetches the sources with cargo; the builds are kept in `target/tmp/realworld`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::realworld::{self, built, copy_inputs, run_native};
use common::{run_module, run_module_with, scratch, snapshot, Host};
use wasmjit::{Config, Engine, Store};
use wasmjit_wasi::{DirPerms, WasiCtxBuilder};

/// Runs the real program `name` natively and under wasmjit, each in its own fresh folder;
/// both must print the same and leave the same files. Returns the two folders.
fn same_as_native(name: &str) -> (PathBuf, PathBuf) {
    same_as_native_in(&Engine::default(), name, |_| Ok(()))
}

/// As [`same_as_native`], in `engine`, with `setup` run on every store of the run.
fn same_as_native_in(
    engine: &Engine,
    name: &str,
    setup: impl Fn(&mut Store<Host>) -> wasmjit::Result<()> + Clone + Send + Sync + 'static,
) -> (PathBuf, PathBuf) {
    let program = realworld::program(name);
    let native_dir = scratch(&format!("{name}-native"));
    let wasm_dir = scratch(&format!("{name}-wasm"));
    let native = run_native(program, &native_dir);

    copy_inputs(program, &wasm_dir);
    let mut builder = WasiCtxBuilder::new();
    builder
        .arg(name)
        .args(program.args)
        .preopened_dir(&wasm_dir, ".", DirPerms::ReadWrite)
        .unwrap();
    let wasm = run_module_with(
        engine,
        &built().join(format!("{name}.wasm")),
        &mut builder,
        setup,
    );
    assert_eq!(wasm.status, 0, "{}{}", wasm.stdout, wasm.stderr);
    assert_eq!(wasm.stdout, native);
    assert!(!native.is_empty());
    assert_eq!(snapshot(&wasm_dir), snapshot(&native_dir));
    (native_dir, wasm_dir)
}

#[test]
fn zlib_compresses_as_natively_and_gzip_reads_its_files() {
    let (native_dir, wasm_dir) = same_as_native("zlib");
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

#[test]
fn sqlite_answers_as_natively_in_memory_and_on_a_file() {
    let (_, wasm_dir) = same_as_native("sqlite");
    let header = std::fs::read(wasm_dir.join("bench.db")).unwrap();
    assert!(header.starts_with(b"SQLite format 3\0"));
}

#[test]
fn lua_runs_its_benchmark_as_natively() {
    let (_, wasm_dir) = same_as_native("lua");
    let written = std::fs::read_to_string(wasm_dir.join("lua-out.txt")).unwrap();
    assert_eq!(written.lines().count(), 800);
}

#[test]
fn quickjs_runs_its_benchmark_as_natively() {
    let (_, wasm_dir) = same_as_native("quickjs");
    let written = std::fs::read_to_string(wasm_dir.join("js-out.json")).unwrap();
    assert!(written.starts_with("{\"n\":8,"), "{written}");
}

#[test]
fn the_rust_program_runs_as_natively() {
    let (_, wasm_dir) = same_as_native("rust");
    let left: Vec<_> = std::fs::read_dir(wasm_dir.join("rust-out"))
        .unwrap()
        .collect();
    assert_eq!(left.len(), 3);
}

/// An error in a Lua script ends the wasm build as it ends the native one (the wasm build
/// has no setjmp: `benches/realworld/lua-wasi/setjmp.h`): the message on stderr, status 1.
#[test]
fn a_program_with_threads_runs_as_natively() {
    let (_, wasm_dir) = same_as_native("threads");
    let mut written: Vec<_> = std::fs::read_dir(wasm_dir.join("threads-out"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    assert_eq!(written, ["0.txt", "1.txt", "2.txt", "3.txt"]);
}

/// With fuel on, each thread's store must be given fuel too (a store starts with none, and a
/// thread out of fuel would end the program): `on_new_store` does it.
#[test]
fn threads_get_their_stores_set_up_as_the_first() {
    let engine = Engine::new(Config::new().consume_fuel(true)).unwrap();
    same_as_native_in(&engine, "threads", |store| store.set_fuel(u64::MAX / 2));
}

#[test]
fn a_lua_error_ends_the_program_with_its_message() {
    let dir = scratch("lua-error");
    std::fs::write(dir.join("fail.lua"), "print('before')\nerror('boom')\n").unwrap();
    let native = Command::new(built().join("lua.native"))
        .arg("fail.lua")
        .current_dir(&dir)
        .output()
        .unwrap();
    let mut builder = WasiCtxBuilder::new();
    builder
        .arg("lua")
        .arg("fail.lua")
        .preopened_dir(&dir, ".", DirPerms::ReadOnly)
        .unwrap();
    let wasm = run_module(&built().join("lua.wasm"), &mut builder);
    assert_eq!(native.status.code(), Some(1));
    assert_eq!(wasm.status, 1);
    assert_eq!(wasm.stdout, "before\n");
    assert_eq!(wasm.stdout.as_bytes(), native.stdout);
    assert_eq!(wasm.stderr, "lua: fail.lua:2: boom\n");
    assert_eq!(wasm.stderr.as_bytes(), native.stderr);
}
