//! wasmjit against the wasmi interpreter on modules `wasm-smith` builds from the fuzzer's
//! input: any difference in results, traps, globals, memories or tables is a crash, except
//! the pattern of wasmi's known `select`/`i32.eqz` bug. The input's first bytes choose the
//! features: Wasm 2.0, the Wasm 3.0 features wasmi 2 runs too (compared with wasmi), or
//! every feature wasmjit compiles (relaxed SIMD too; compared between wasmjit's optimised
//! guard-page code and its unoptimised, explicitly checked code).

#![no_main]

use libfuzzer_sys::fuzz_target;
use wasmjit_tests::differential::{self, Features};

fuzz_target!(|bytes: &[u8]| {
    let mut u = arbitrary::Unstructured::new(bytes);
    let (Ok(disallow_traps), Ok(which)) = (u.arbitrary::<bool>(), u.arbitrary::<u8>()) else {
        return;
    };
    let features = match which % 3 {
        0 => Features::WASM2,
        1 => Features::WASMI,
        _ => Features::WASMJIT,
    };
    let Ok(wasm) = differential::generate_from(&mut u, disallow_traps, features) else {
        return;
    };
    let seed = bytes.len() as u64;
    if !features.wasmi_runs() {
        let [optimised, plain] = differential::self_configs();
        let ours = differential::run_wasmjit_with(&wasm, seed, &optimised);
        let plain = differential::run_wasmjit_with(&wasm, seed, &plain);
        if let Err(diff) = differential::compare(&ours, &plain) {
            let _ = std::fs::write("differential-mismatch.wasm", &wasm);
            panic!(
                "optimised and unoptimised wasmjit differ (module in \
                 differential-mismatch.wasm, seed {seed}):\n{diff}\n\
                 optimised:\n{ours}unoptimised, explicit checks:\n{plain}"
            );
        }
        return;
    }
    let ours = differential::run_wasmjit(&wasm, seed);
    // wasmi's translator recurses deeply on some modules, past even the main thread's 8 MiB.
    let theirs = std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn_scoped(s, || differential::run_wasmi(&wasm, seed))
            .expect("spawn the wasmi thread")
            .join()
            .expect("wasmi panicked")
    });
    if let Err(diff) = differential::compare(&ours, &theirs) {
        if differential::looks_like_known_wasmi_bug(&wasm, &ours, &theirs) {
            return;
        }
        let _ = std::fs::write("differential-mismatch.wasm", &wasm);
        panic!(
            "wasmjit and wasmi differ (module in differential-mismatch.wasm, seed {seed}):\n{diff}\n\
             wasmjit:\n{ours}wasmi:\n{theirs}"
        );
    }
});
