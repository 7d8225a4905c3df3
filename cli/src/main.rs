//! The `wasmjit` command.
//!
//! ```text
//! wasmjit run [--dir HOST[::GUEST]]... [--env NAME=VALUE]... FILE [ARGS...]
//! wasmjit run [--invoke NAME] FILE [--invoke NAME] [ARGS...]
//! wasmjit compile FILE [-o OUTPUT] [--target TRIPLE]
//! wasmjit wast FILE...
//! ```
//!
//! One module per subcommand under `commands/`; each has its clap arguments and an
//! `execute` that returns the process's exit code.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;

/// A WebAssembly runtime: Cranelift compiles each function to native code.
#[derive(Parser)]
#[command(name = "wasmjit", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Run(commands::run::RunCommand),
    Compile(commands::compile::CompileCommand),
    Wast(commands::wast::WastCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(command) => command.execute(),
        Command::Compile(command) => command.execute(),
        Command::Wast(command) => command.execute(),
    };
    match result {
        Ok(code) => code,
        Err(e @ commands::CliError::Usage(_)) => {
            eprintln!("error: {e}\n\nFor more information, try '--help'.");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
