//! wasmjit.
