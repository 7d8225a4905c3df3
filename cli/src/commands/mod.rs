//! The subcommands, one module each.

pub mod compile;
pub mod run;
pub mod wast;

use std::fmt;

/// Why a subcommand failed: a usage mistake (exit status 2, as clap's own) or an error of
/// loading or running WebAssembly (exit status 1). Its message names the problem.
#[derive(Debug)]
pub enum CliError {
    /// The command line asks for something impossible.
    Usage(String),
    /// Loading, linking or running failed.
    Wasm(String),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(msg) | CliError::Wasm(msg) => f.write_str(msg),
        }
    }
}

impl From<wasmjit::Error> for CliError {
    fn from(e: wasmjit::Error) -> Self {
        CliError::Wasm(e.to_string())
    }
}
