//! wasmjit's test support: the spec-suite runner, its `spectest` host module and its list of
//! expected failures, and the differential tester that compares wasmjit with wasmi.

pub mod differential;
pub mod expected;
pub mod modules;
pub mod spectest;
pub mod support;
pub mod wast_runner;
