//! Runs `.wast` scripts (the spec suite's format) against wasmjit: each directive
//! (`module`, `register`, `invoke`, `assert_return`, `assert_trap`, `assert_invalid`, ...,
//! `thread`/`wait`) passes or fails with a reason. The spec test and `wasmjit wast` use it.

mod runner;
pub mod spectest;

pub use runner::{run_wast, DirectiveResult, Loading};
