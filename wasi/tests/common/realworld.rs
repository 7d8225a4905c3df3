//! The real programs of `benches/realworld` (built by its `build.sh`) and how the tests run
//! them. Shared by the WASI tests (`realworld.rs`, `against_wasmtime.rs`) and the CLI's
//! (`cli/tests/cli.rs`, through `#[path]`), so it needs nothing but std.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// A real program: its name (`OUT/NAME.wasm`, `OUT/NAME.native`), its arguments, and the
/// files of `benches/realworld` it reads from its folder (copied there before a run).
#[derive(Clone, Copy, Debug)]
pub struct Program {
    pub name: &'static str,
    pub args: &'static [&'static str],
    pub inputs: &'static [&'static str],
}

/// Every real program, with arguments sized for the tests (each run takes well under a
/// second natively).
pub const PROGRAMS: [Program; 5] = [
    Program {
        name: "zlib",
        args: &["512"],
        inputs: &[],
    },
    Program {
        name: "sqlite",
        args: &["3000"],
        inputs: &[],
    },
    Program {
        name: "lua",
        args: &["bench.lua", "8"],
        inputs: &["bench.lua"],
    },
    Program {
        name: "quickjs",
        args: &["bench.js", "8"],
        inputs: &["bench.js"],
    },
    Program {
        name: "rust",
        args: &["8"],
        inputs: &[],
    },
];

/// The program that starts threads (wasi-threads): not among [`PROGRAMS`], which also run
/// under wasmtime's Python package, whose WASI has no threads.
pub const THREADS: Program = Program {
    name: "threads",
    args: &["4"],
    inputs: &[],
};

/// The program called `name`.
pub fn program(name: &str) -> Program {
    *PROGRAMS
        .iter()
        .chain([&THREADS])
        .find(|p| p.name == name)
        .unwrap()
}

/// `benches/realworld`.
pub fn sources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/realworld")
}

/// Builds every real program with `build.sh` (once per test binary; the script rebuilds
/// only what changed, and all test binaries share `target/tmp/realworld`) and returns the
/// folder of the builds. Fails, saying what to install, where the toolchain is missing.
pub fn built() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("realworld");
        let script = sources().join("build.sh");
        let status = Command::new("bash")
            .arg(&script)
            .arg(&out)
            .env("CARGO", env!("CARGO"))
            .status()
            .expect("bash runs");
        assert!(
            status.success(),
            "{} failed: it needs clang, wasi-libc, cc and rustup's wasm32-wasip1 and \
             wasm32-wasip1-threads targets (.ci/run installs them)",
            script.display()
        );
        out
    })
}

/// Copies the inputs of `program` into `dir`.
pub fn copy_inputs(program: Program, dir: &Path) {
    for input in program.inputs {
        std::fs::copy(sources().join(input), dir.join(input)).unwrap();
    }
}

/// Runs the native build of `program` in `dir` (after copying its inputs there); its
/// stdout. Fails unless it exits with status 0.
pub fn run_native(program: Program, dir: &Path) -> String {
    copy_inputs(program, dir);
    let out = Command::new(built().join(format!("{}.native", program.name)))
        .args(program.args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}: {out:?}", program.name);
    String::from_utf8(out.stdout).unwrap()
}
