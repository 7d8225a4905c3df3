//! Settings that change the generated code.

use serde::{Deserialize, Serialize};
use wasmparser::WasmFeatures;

/// How heap accesses are kept inside linear memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BoundsChecks {
    /// Rely on the memory's 4 GiB reservation and its guard region: an access whose static
    /// offset plus size fits in the guard compiles to `base + zext(index) + offset` with no
    /// compare, and a stray access faults. Larger offsets get a compare against a constant.
    GuardPages,
    /// Compare every access against the memory's current length.
    Explicit,
}

/// Cranelift's optimisation level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OptLevel {
    /// No optimisation: fastest compile.
    None,
    /// Optimise for speed (the default).
    Speed,
    /// Optimise for speed and size.
    SpeedAndSize,
}

/// Everything that shapes the code of a module.
#[derive(Clone, Debug)]
pub struct CodegenConfig {
    /// The WebAssembly features accepted by validation.
    pub features: WasmFeatures,
    /// How heap accesses are bounds-checked.
    pub bounds_checks: BoundsChecks,
    /// Bytes of inaccessible address space reserved after each 32-bit memory's 4 GiB.
    pub guard_size: u64,
    /// Cranelift optimisation level.
    pub opt_level: OptLevel,
    /// Keep a listing of each function's machine instructions (for inspection and tests).
    pub emit_disassembly: bool,
    /// Trap with "interrupt" at function entries and loop headers once the engine's epoch
    /// reaches the store's deadline: loop headers test the store's stack limit, which the
    /// runtime sets above every stack then (function entries check it anyway).
    pub epoch_interruption: bool,
    /// Count executed operators against the store's fuel, trapping once it runs out.
    pub consume_fuel: bool,
    /// Where an access is compared with its bound, also make its address 0 when out of
    /// bounds (`select_spectre_guard`), so a mispredicted check cannot read past the memory.
    pub spectre_guard: bool,
    /// Inline small callees the module defines into their callers, one level deep, where
    /// they are called in a loop or recursively (direct calls only; imports are never
    /// inlined; see [`crate::inline`]).
    pub inlining: bool,
}

impl Default for CodegenConfig {
    fn default() -> Self {
        CodegenConfig {
            features: WasmFeatures::WASM2
                .union(WasmFeatures::THREADS)
                .union(WasmFeatures::TAIL_CALL)
                .union(WasmFeatures::MEMORY64)
                .union(WasmFeatures::RELAXED_SIMD)
                .union(WasmFeatures::FUNCTION_REFERENCES)
                .union(WasmFeatures::MULTI_MEMORY)
                .union(WasmFeatures::EXTENDED_CONST)
                .union(WasmFeatures::EXCEPTIONS)
                .union(WasmFeatures::GC),
            bounds_checks: BoundsChecks::GuardPages,
            guard_size: 32 << 20,
            opt_level: OptLevel::Speed,
            emit_disassembly: false,
            epoch_interruption: false,
            consume_fuel: false,
            spectre_guard: true,
            inlining: true,
        }
    }
}

/// Bytes of address space each 32-bit memory reserves in guard-page mode: the whole
/// range a 32-bit index can reach.
pub const MEMORY_RESERVATION: u64 = 1 << 32;
