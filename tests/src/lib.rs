//! wasmjit's test support: the spec-suite runner, its `spectest` host module and its list of
//! expected failures.

pub mod expected;
pub mod modules;
pub mod spectest;
pub mod wast_runner;
