//! Builds the C API's static library, compiles each C example in `c-api/examples/` with the
//! system C compiler against it, runs it and checks its output; then does the same under
//! AddressSanitizer (or, without clang's sanitizer runtime, valgrind), failing on a leak or an
//! invalid access. A missing compiler fails the test: nothing is skipped silently.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Each example and the lines its output must contain, in order.
const EXAMPLES: &[(&str, &[&str])] = &[
    ("accumulate", &["45", "grew from 10 to 11 pages"]),
    (
        "callback",
        &[
            "add_ten: 1 param, 1 result",
            "run(32) = 42",
            "count = 2",
            "finalizer: count was 2",
        ],
    ),
    (
        "trap",
        &[
            "div(7, 0): trap: integer divide by zero",
            "div(7, 2): no trap",
            "div(7, 2) = 3",
            "call_fail: trap: host says no",
        ],
    ),
    ("types", &["types: all checks passed"]),
    ("shared_memory", &["counter = 200000", "pages = 2"]),
    (
        "serialize",
        &[
            "serialized: yes",
            "damaged artifact: refused",
            "sparc target: refused",
            "artifact for the other architecture: refused",
            "run(32) = 42",
        ],
    ),
    (
        "start",
        &[
            "calls host: instantiated, trap NULL",
            "host called 1 time(s) by start",
            "traps: no instance, trap: unreachable",
            "host called 2 time(s) by start",
            "wrong import: no instance, trap: incompatible import type for ``.`hello`: expected a \
             function of type (i32) -> (), found one of type () -> ()",
        ],
    ),
    (
        "multi",
        &[
            "host: 4 params, 4 results",
            "reverse got 4 args, gives 4 results",
            "result kinds: f64 f32 i64 i32",
            "g(1, 2, 3.5, 4.25) = 4.25 3.5 2 1",
            "two result slots: trap",
        ],
    ),
    (
        "finalize",
        &[
            "before the store goes: 0 finalized",
            "after replacing module info: 1 finalized",
            "after deleting the module, a copy left: 1 finalized",
            "after deleting the copy: 2 finalized",
            "after the store goes: 1004 finalized, each once: yes",
        ],
    ),
    (
        "table",
        &[
            "size 2",
            "slot 0 null, slot 1 is double: yes",
            "call_indirect(1, 21) = 42",
            "call_indirect(0, 1): trap: uninitialized element",
            "set slot 0: ok",
            "set slot 2: failed",
            "call_indirect(0, 5) = -5",
            "grow by 3: ok, size 5",
            "call_indirect(3, 7) = -7",
            "set slot 4 to null: ok",
            "call_indirect(4, 1): trap: uninitialized element",
            "call_indirect(5, 1): trap: out of bounds table access",
            "grow by 6: failed, size 5",
            "new table: size 3, slot 0 is negate: yes, grow: failed",
        ],
    ),
    ("global", &["sum = 127", "globals: all checks passed"]),
    (
        "reflect",
        &[
            "import \"env\" \"log\": func (i32) -> ()",
            "import \"env\" \"limit\": global const i64",
            "export \"f\": func (i32 f64) -> (i64)",
            "export \"counter\": global var f32",
            "export \"table\": table 1..8 externref",
            "export \"memory\": memory 1",
            "export \"grow\": func () -> ()",
            "after grow, \"memory\": memory 3",
        ],
    ),
    (
        "threads",
        &[
            "thread 0: 3 calls, last id 0, ok",
            "thread 1: 3 calls, last id 1, ok",
            "thread 2: 3 calls, last id 2, ok",
            "thread 3: 3 calls, last id 3, ok",
        ],
    ),
    ("hostref", &["hostref: all checks passed"]),
    (
        "anyref",
        &[
            "struct: x = 42",
            "array: 3 elements, last 0xffff",
            "bumped: 105",
            "anyref: all checks passed",
        ],
    ),
    (
        "memory",
        &[
            "pages 1, bytes 65536, data segment \"wasm\"",
            "load(100) = 42",
            "byte 200 from C: 7",
            "load(65535) = 0",
            "load(65536): trap: out of bounds memory access",
            "grow by 1: ok, pages 2, bytes 131072",
            "size(0) = 2",
            "load(65536) = 0",
            "grow past the maximum: failed, pages 2",
            "new memory: limits 2..3, bytes 131072, zeroed: yes",
        ],
    ),
];

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The workspace's target directory: this test runs from `<target>/release/deps/`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    exe.ancestors()
        .nth(3)
        .expect("the test runs from <target>/<profile>/deps")
        .to_path_buf()
}

/// Builds `libwasmjit.a` so that the examples link against the current code. The outer
/// `cargo test` has released the build lock by the time tests run. The whole workspace's
/// targets are named, as `cargo test --workspace` builds them, so that dependencies keep the
/// features they were built with and nothing is rebuilt but the library (`-p` alone would
/// rebuild Cranelift with another feature set).
fn build_library() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "--workspace",
            "--all-targets",
            "--target-dir",
        ])
        .arg(target_dir())
        .current_dir(crate_dir())
        .status()
        .expect("running cargo build");
    assert!(status.success(), "building libwasmjit.a failed");
    let lib = target_dir().join("release").join("libwasmjit.a");
    assert!(lib.exists(), "{} was not built", lib.display());
    lib
}

fn compile(compiler: &str, extra: &[&str], name: &str, lib: &Path, out: &Path) {
    let source = crate_dir().join("examples").join(format!("{name}.c"));
    let result = Command::new(compiler)
        .args(["-std=c11", "-Wall", "-Werror", "-g"])
        .args(extra)
        .arg("-I")
        .arg(crate_dir().join("include"))
        .arg(&source)
        .arg(lib)
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(out)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{compiler}`: {e}"));
    assert!(
        result.status.success(),
        "{compiler} failed on {}:\n{}",
        source.display(),
        String::from_utf8_lossy(&result.stderr)
    );
}

fn check_output(name: &str, how: &str, output: &std::process::Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{name} ({how}) exited with {}:\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    let expected = EXAMPLES.iter().find(|(n, _)| *n == name).unwrap().1;
    let mut lines = stdout.lines();
    for want in expected {
        assert!(
            lines.any(|l| l == *want),
            "{name} ({how}): expected a line `{want}` in:\n{stdout}"
        );
    }
    println!("{name} ({how}):\n{stdout}");
}

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("c-api-examples");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Whether clang can link an AddressSanitizer program here.
fn asan_available() -> bool {
    let dir = out_dir();
    let src = dir.join("probe.c");
    std::fs::write(&src, "int main(void) { return 0; }\n").unwrap();
    Command::new("clang")
        .args(["-fsanitize=address", "-o"])
        .arg(dir.join("probe"))
        .arg(&src)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The headers compile and link as C++ (`extern "C"`), with the value macros (C++20's
/// designated initializers).
#[test]
fn headers_work_from_cpp() {
    let lib = build_library();
    let dir = out_dir();
    let src = dir.join("cpp_check.cc");
    std::fs::write(
        &src,
        "#include \"wasmjit.h\"\n#include <cstdio>\nint main() {\n  wasm_engine_t* e = wasm_engine_new();\n  \
         wasm_store_t* s = wasm_store_new(e);\n  wasm_val_t v = WASM_I32_VAL(42);\n  \
         std::printf(\"%d\\n\", v.of.i32);\n  wasm_store_delete(s);\n  wasm_engine_delete(e);\n}\n",
    )
    .unwrap();
    let exe = dir.join("cpp_check");
    let result = Command::new("c++")
        .args(["-std=c++20", "-Wall", "-Werror", "-I"])
        .arg(crate_dir().join("include"))
        .arg(&src)
        .arg(&lib)
        .args(["-lpthread", "-ldl", "-lm", "-o"])
        .arg(&exe)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C++ compiler `c++`: {e}"));
    assert!(
        result.status.success(),
        "c++ failed:\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let output = Command::new(&exe).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "42\n");
}

#[test]
fn c_examples() {
    let lib = build_library();
    let dir = out_dir();

    for (name, _) in EXAMPLES {
        let exe = dir.join(name);
        compile("cc", &[], name, &lib, &exe);
        let output = Command::new(&exe).output().expect("running the example");
        check_output(name, "cc", &output);
    }

    if asan_available() {
        for (name, _) in EXAMPLES {
            let exe = dir.join(format!("{name}-asan"));
            compile("clang", &["-fsanitize=address"], name, &lib, &exe);
            // wasmjit turns faults into traps with its own signal handlers: ASan must leave
            // those signals alone. Leak detection stays on.
            let output = Command::new(&exe)
                .env(
                    "ASAN_OPTIONS",
                    "detect_leaks=1:handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_sigill=0:exitcode=99",
                )
                .output()
                .expect("running the example under ASan");
            check_output(name, "AddressSanitizer", &output);
        }
    } else {
        for (name, _) in EXAMPLES {
            let exe = dir.join(name);
            let output = Command::new("valgrind")
                .args(["--leak-check=full", "--error-exitcode=1", "-q"])
                .arg(&exe)
                .output()
                .expect("neither clang's AddressSanitizer nor valgrind is available");
            check_output(name, "valgrind", &output);
        }
    }
}
