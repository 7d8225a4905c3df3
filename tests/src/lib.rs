//! wasmjit's test support: the spec suite's list of expected failures, and the differential
//! tester that compares wasmjit with wasmi. The `.wast` runner itself is the crate
//! `wasmjit-wast` (shared with `wasmjit wast`), re-exported here as `wast_runner`.

pub mod differential;
pub mod expected;
pub mod modules;
pub mod support;

pub use wasmjit_wast as wast_runner;
