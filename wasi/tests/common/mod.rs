//! Shared by the WASI tests: building the C programs of `tests/programs/` with clang and
//! wasi-libc, the folders each program runs in, running a program under our WASI, and a
//! snapshot of what it left in its folders.

#![allow(dead_code)] // each test binary uses its part

pub mod realworld;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use wasmjit::{Engine, Linker, Module, Store};
use wasmjit_wasi::threads::{self, WasiThreadsCtx};
use wasmjit_wasi::{DirPerms, I32Exit, OutputPipe, WasiCtx, WasiCtxBuilder};

/// The folder of the C sources.
pub fn sources() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/programs")
}

/// Builds every `tests/programs/*.c` (once per test binary, and only those older than
/// their source) and returns the folder of the `.wasm` files. Fails, saying what to
/// install, where clang or wasi-libc is missing: `.ci/run` installs them.
pub fn programs() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasi-programs");
        std::fs::create_dir_all(&out).unwrap();
        let header = std::fs::metadata(sources().join("common.h"))
            .and_then(|m| m.modified())
            .unwrap();
        for entry in std::fs::read_dir(sources()).unwrap() {
            let source = entry.unwrap().path();
            if source.extension().is_none_or(|e| e != "c") {
                continue;
            }
            let wasm = out.join(source.file_stem().unwrap()).with_extension("wasm");
            let newest = std::fs::metadata(&source)
                .unwrap()
                .modified()
                .unwrap()
                .max(header);
            let fresh = std::fs::metadata(&wasm)
                .and_then(|m| m.modified())
                .is_ok_and(|built| built >= newest);
            if fresh {
                continue;
            }
            let result = Command::new("clang")
                .args(["--target=wasm32-wasi", "-O1", "-Wall", "-Werror"])
                .arg(&source)
                .arg("-o")
                .arg(&wasm)
                .output();
            match result {
                Ok(o) if o.status.success() => {}
                Ok(o) => panic!(
                    "clang could not build {}: {}\nThe WASI tests need clang with wasi-libc: \
                     `apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32` \
                     (.ci/run installs them).",
                    source.display(),
                    String::from_utf8_lossy(&o.stderr)
                ),
                Err(e) => panic!(
                    "cannot run clang ({e}): the WASI tests need clang with wasi-libc: \
                     `apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32` \
                     (.ci/run installs them)."
                ),
            }
        }
        out
    })
}

/// The built program `name`.
pub fn program(name: &str) -> PathBuf {
    programs().join(name).with_extension("wasm")
}

/// A fresh, empty folder for one run, its own even when tests running at the same time
/// ask for the same `name` (a process-wide count makes it unique).
pub fn scratch(name: &str) -> PathBuf {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("wasi-runs")
        .join(format!("{name}-{}-{run}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// How a program runs: its arguments, environment, stdin, and folders (host path relative
/// to the run's root, guest name, read-only).
#[derive(Clone, Default)]
pub struct Setup {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub stdin: Vec<u8>,
    pub dirs: Vec<(String, String, bool)>,
}

/// What a run gave: exit status, stdout, stderr.
#[derive(Debug, PartialEq, Eq)]
pub struct Outcome {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the program `name` under our WASI with `setup`, in the folder `root`.
pub fn run_ours(name: &str, setup: &Setup, root: &Path) -> Outcome {
    let mut builder = WasiCtxBuilder::new();
    builder
        .arg(name)
        .args(&setup.args)
        .stdin_bytes(setup.stdin.clone());
    for (key, value) in &setup.env {
        builder.env(key, value);
    }
    for (host, guest, read_only) in &setup.dirs {
        let perms = if *read_only {
            DirPerms::ReadOnly
        } else {
            DirPerms::ReadWrite
        };
        builder
            .preopened_dir(root.join(host), guest, perms)
            .unwrap();
    }
    run_with(name, &mut builder)
}

/// Runs the program `name` with the context `builder` makes; stdout and stderr are
/// captured.
pub fn run_with(name: &str, builder: &mut WasiCtxBuilder) -> Outcome {
    run_module(&program(name), builder)
}

/// A run's store data: the WASI context and, for a program that starts threads, theirs.
#[derive(Clone)]
pub struct Host {
    wasi: WasiCtx,
    threads: Option<Arc<WasiThreadsCtx<Host>>>,
}

/// Runs the WASI command `wasm` with the context `builder` makes, with wasi-threads if it
/// imports `thread-spawn`; stdout and stderr are captured.
pub fn run_module(wasm: &Path, builder: &mut WasiCtxBuilder) -> Outcome {
    run_module_with(&Engine::default(), wasm, builder, |_| Ok(()))
}

/// As [`run_module`], in `engine`, with `setup` run on the store and on each thread's.
pub fn run_module_with(
    engine: &Engine,
    wasm: &Path,
    builder: &mut WasiCtxBuilder,
    setup: impl Fn(&mut Store<Host>) -> wasmjit::Result<()> + Clone + Send + Sync + 'static,
) -> Outcome {
    let name = wasm.display();
    let (stdout, stderr) = (OutputPipe::new(), OutputPipe::new());
    let wasi = builder
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .build();
    let module = Module::from_file(engine, wasm).unwrap();
    let mut linker = Linker::new(engine);
    wasmjit_wasi::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi).unwrap();
    threads::add_to_linker(&mut linker, |host: &mut Host| host.threads.clone()).unwrap();
    let host = Host {
        wasi,
        threads: None,
    };
    let mut store = Store::new(engine, host);
    setup(&mut store).unwrap();
    threads::define_shared_memories(&mut linker, &mut store, &module).unwrap();
    let linker = Arc::new(linker);
    if threads::uses_threads(&module) {
        let cx = WasiThreadsCtx::new(&module, &linker)
            .unwrap()
            .on_new_store(setup);
        store.data_mut().threads = Some(Arc::new(cx));
    }
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .unwrap();
    let status = match start.call(&mut store, ()) {
        Ok(()) => 0,
        Err(e) => match e.downcast_ref::<I32Exit>() {
            Some(exit) => exit.0,
            None => panic!("{name} trapped: {e}"),
        },
    };
    Outcome {
        status,
        stdout: String::from_utf8(stdout.contents()).unwrap(),
        stderr: String::from_utf8(stderr.contents()).unwrap(),
    }
}

/// Lays out, in `root`, the folders the sandbox program expects (see `sandbox.c`).
pub fn sandbox_layout(root: &Path) {
    use std::os::unix::fs::symlink;
    std::fs::create_dir_all(root.join("sandbox/sub")).unwrap();
    std::fs::create_dir_all(root.join("outside")).unwrap();
    std::fs::write(root.join("outside/secret.txt"), "secret\n").unwrap();
    std::fs::write(root.join("sandbox/inside.txt"), "inside\n").unwrap();
    symlink("../outside", root.join("sandbox/out")).unwrap();
    symlink("../../outside", root.join("sandbox/sub/up")).unwrap();
    symlink("sub/up", root.join("sandbox/chain")).unwrap();
    symlink(root.join("outside/secret.txt"), root.join("sandbox/abs")).unwrap();
    symlink("sub", root.join("sandbox/ok")).unwrap();
}

/// Lays out the read-only folder of `readonly.c`.
pub fn readonly_layout(root: &Path) {
    std::fs::create_dir_all(root.join("ro/sub")).unwrap();
    std::fs::write(root.join("ro/file.txt"), "content\n").unwrap();
}

/// Every file, folder and link under `root`, by path relative to it: a file's contents, a
/// link's target (with `root` itself spelled `ROOT`), or `dir`.
pub fn snapshot(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_symlink() {
                let target = std::fs::read_link(&path).unwrap().display().to_string();
                let target = target.replace(&root.display().to_string(), "ROOT");
                out.insert(rel, format!("link {target}"));
            } else if meta.is_dir() {
                out.insert(rel, "dir".into());
                walk(root, &path, out);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.insert(rel, format!("file {}", String::from_utf8_lossy(&bytes)));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// A program's name, how it runs, and the folder layout to make first.
pub type Case = (&'static str, Setup, fn(&Path));

/// The programs and how each runs, shared by the expectation test and the differential
/// one.
pub fn cases() -> Vec<Case> {
    fn empty_sandbox(root: &Path) {
        std::fs::create_dir_all(root.join("sandbox")).unwrap();
    }
    fn nothing(_: &Path) {}
    let sandbox = |read_only| vec![("sandbox".to_string(), "/sandbox".to_string(), read_only)];
    vec![
        (
            "args_env",
            Setup {
                args: vec!["one".into(), "two words".into(), "three".into()],
                env: vec![
                    ("GREETING".into(), "hello".into()),
                    ("OTHER".into(), "x".into()),
                ],
                ..Setup::default()
            },
            nothing,
        ),
        (
            "stdio",
            Setup {
                stdin: b"mixed Case input\nsecond line\n".to_vec(),
                ..Setup::default()
            },
            nothing,
        ),
        (
            "files",
            Setup {
                dirs: sandbox(false),
                ..Setup::default()
            },
            empty_sandbox,
        ),
        (
            "sandbox",
            Setup {
                dirs: sandbox(false),
                ..Setup::default()
            },
            sandbox_layout,
        ),
        ("misc", Setup::default(), nothing),
    ]
}
