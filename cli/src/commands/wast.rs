//! `wasmjit wast`: runs `.wast` scripts with the spec suite's runner and prints each
//! directive's outcome, then a summary; the exit status is 1 if any directive failed.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use wasmjit::Config;

use super::CliError;

/// Runs spec-style `.wast` scripts (Wasm 2.0 and threads), directive by directive.
#[derive(Args)]
pub struct WastCommand {
    /// Prints only the failing directives and the summary.
    #[arg(short, long)]
    quiet: bool,

    /// The scripts.
    #[arg(value_name = "FILE", required = true)]
    files: Vec<PathBuf>,
}

impl WastCommand {
    /// Runs every script; failure if a directive failed.
    pub fn execute(self) -> Result<ExitCode, CliError> {
        let config = Config::default();
        let (mut passed, mut failed) = (0usize, 0usize);
        for file in &self.files {
            let text = std::fs::read_to_string(file)
                .map_err(|e| CliError::Wasm(format!("cannot read {}: {e}", file.display())))?;
            for result in wasmjit_wast::run_wast(&text, &config, wasmjit_wast::Loading::Compile) {
                match result.failure {
                    None => {
                        passed += 1;
                        if !self.quiet {
                            println!("{}:{}: ok", file.display(), result.line);
                        }
                    }
                    Some(reason) => {
                        failed += 1;
                        println!("{}:{}: FAILED: {reason}", file.display(), result.line);
                    }
                }
            }
        }
        println!("wast: {passed} passed, {failed} failed");
        Ok(if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}
