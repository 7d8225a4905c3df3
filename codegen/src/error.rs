//! Errors from decoding, validating and compiling a module.

use std::fmt;

/// Why a module could not be compiled.
#[derive(Debug)]
pub enum CompileError {
    /// The bytes are not a valid module; the message names the byte offset.
    Invalid(wasmparser::BinaryReaderError),
    /// The module is valid but uses something wasmjit does not compile yet.
    Unsupported(String),
    /// Cranelift rejected the generated code (a bug in wasmjit).
    Codegen(String),
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::Invalid(e) => write!(
                f,
                "invalid module: {} (at offset 0x{:x})",
                e.message(),
                e.offset()
            ),
            CompileError::Unsupported(what) => write!(f, "unsupported: {what}"),
            CompileError::Codegen(msg) => write!(f, "code generation failed: {msg}"),
        }
    }
}

impl std::error::Error for CompileError {}

impl From<wasmparser::BinaryReaderError> for CompileError {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        CompileError::Invalid(e)
    }
}
