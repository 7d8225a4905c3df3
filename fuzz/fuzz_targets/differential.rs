//! wasmjit against the wasmi interpreter on modules `wasm-smith` builds from the fuzzer's
//! input: any difference in results, traps, globals, memories or tables is a crash.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wasmjit_tests::differential;

fuzz_target!(|bytes: &[u8]| {
    let mut u = arbitrary::Unstructured::new(bytes);
    let Ok(disallow_traps) = u.arbitrary::<bool>() else {
        return;
    };
    let Ok(wasm) = differential::generate_from(&mut u, disallow_traps) else {
        return;
    };
    let seed = bytes.len() as u64;
    if let Err(diff) = differential::check(&wasm, seed) {
        let _ = std::fs::write("differential-mismatch.wasm", &wasm);
        panic!("wasmjit and wasmi differ (module in differential-mismatch.wasm, seed {seed}):\n{diff}");
    }
});
