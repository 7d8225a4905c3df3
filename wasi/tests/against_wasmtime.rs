//! Our WASI against wasmtime's: each shared case of `common::cases()` runs under both (the
//! `wasmtime` package on PyPI, driven by `wasmtime_run.py`), each in a fresh copy of its
//! folders, and stdout, stderr, the exit status and every file, folder and link left behind
//! must be the same.
//!
//! Skipped, with the reason printed, only where there is no `python3`; a Python without the
//! `wasmtime` package fails the test (`pip install wasmtime`; `.ci/run` installs it).
//! `strict.c` and `readonly.c` are not compared: there the spec and wasmtime differ (rights,
//! invalid enum values; see those files).

mod common;

use std::process::Command;

use common::{cases, run_ours, scratch, snapshot};

#[test]
fn same_as_wasmtime() {
    let python = match Command::new("python3").arg("--version").output() {
        Ok(o) if o.status.success() => "python3",
        _ => {
            println!("skipped: no python3 to run the wasmtime reference with");
            return;
        }
    };
    let probe = Command::new(python)
        .args(["-c", "import wasmtime"])
        .output()
        .unwrap();
    assert!(
        probe.status.success(),
        "the differential test needs the wasmtime package: `pip install wasmtime` \
         (.ci/run installs it): {}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let script = common::sources().join("../wasmtime_run.py");

    let mut compared = 0;
    for (name, setup, layout) in cases() {
        let ours_root = scratch(&format!("{name}-ours"));
        let theirs_root = scratch(&format!("{name}-wasmtime"));
        layout(&ours_root);
        layout(&theirs_root);

        let ours = run_ours(name, &setup, &ours_root);

        let stdin = theirs_root.join("../stdin.txt");
        std::fs::write(&stdin, &setup.stdin).unwrap();
        let (stdout, stderr) = (
            theirs_root.join("../stdout.txt"),
            theirs_root.join("../stderr.txt"),
        );
        let mut command = Command::new(python);
        command.arg(&script).current_dir(&theirs_root);
        for (host, guest, read_only) in &setup.dirs {
            let spec = format!(
                "{}::{guest}{}",
                theirs_root.join(host).display(),
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
            .arg(common::program(name))
            .args(&setup.args);
        let status = command.status().unwrap();
        let theirs = common::Outcome {
            status: status.code().unwrap(),
            stdout: std::fs::read_to_string(&stdout).unwrap(),
            stderr: std::fs::read_to_string(&stderr).unwrap(),
        };

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
