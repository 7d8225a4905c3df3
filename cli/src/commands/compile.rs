//! `wasmjit compile`: writes a module's precompiled form (`.cwasm`), which `wasmjit run`
//! and `Module::deserialize` load without compiling.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use wasmjit::{Config, Engine};

use super::CliError;

/// Precompiles a module for this machine or for another target.
#[derive(Args)]
pub struct CompileCommand {
    /// Where to write it (default: FILE with the extension `.cwasm`).
    #[arg(short, long, value_name = "OUTPUT")]
    output: Option<PathBuf>,

    /// The target triple to compile for, such as `aarch64-unknown-linux-gnu` (default: this
    /// machine).
    #[arg(long, value_name = "TRIPLE")]
    target: Option<String>,

    /// The module, as `.wasm` or `.wat`.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

impl CompileCommand {
    /// Compiles and writes the artifact.
    pub fn execute(self) -> Result<ExitCode, CliError> {
        let mut config = Config::new();
        if let Some(target) = &self.target {
            config.target(target)?;
        }
        let output = self
            .output
            .unwrap_or_else(|| self.file.with_extension("cwasm"));
        let bytes = std::fs::read(&self.file)
            .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", self.file.display())))?;
        let engine = Engine::new(&config)?;
        let artifact = engine.precompile_module(&bytes)?;
        std::fs::write(&output, artifact)
            .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", output.display())))?;
        Ok(ExitCode::SUCCESS)
    }
}
