//! The `wasmjit` command: runs a function of a module, or precompiles one.
//!
//! ```text
//! wasmjit run FILE [--invoke NAME] [ARGS...]
//! wasmjit compile FILE [-o OUTPUT] [--target TRIPLE]
//! ```
//!
//! `run` takes a `.wasm` or `.wat` file, or a precompiled `.cwasm` that `compile` wrote.
//! Arguments are parsed by the export's parameter types; each result is printed on its own
//! line. Without `--invoke`, the module's `_start` export is called if it has one (its start
//! function, if any, runs at instantiation either way).
//!
//! `compile` writes the precompiled form (by default next to the input, with the extension
//! `.cwasm`), for this machine or for another target such as `aarch64-unknown-linux-gnu`.

use std::path::PathBuf;
use std::process::ExitCode;

use wasmjit::{Config, Engine, Error, Instance, Module, Store, Val, ValType};

const USAGE: &str = "usage: wasmjit run FILE [--invoke NAME] [ARGS...]
       wasmjit compile FILE [-o OUTPUT] [--target TRIPLE]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Usage(msg)) => {
            eprintln!("error: {msg}\n{USAGE}");
            ExitCode::from(2)
        }
        Err(CliError::Wasm(e)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

enum CliError {
    Usage(String),
    Wasm(Error),
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        CliError::Wasm(e)
    }
}

fn run(args: &[String]) -> Result<(), CliError> {
    let (command, rest) = args
        .split_first()
        .ok_or_else(|| CliError::Usage("no command given".into()))?;
    match command.as_str() {
        "run" => run_module(rest),
        "compile" => compile(rest),
        _ => Err(CliError::Usage(format!("unknown command `{command}`"))),
    }
}

/// `wasmjit compile FILE [-o OUTPUT] [--target TRIPLE]`.
fn compile(args: &[String]) -> Result<(), CliError> {
    let mut input = None;
    let mut output = None;
    let mut config = Config::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| {
            args.next()
                .ok_or_else(|| CliError::Usage(format!("{flag} needs a value")))
        };
        match arg.as_str() {
            "-o" | "--output" => output = Some(PathBuf::from(value(arg)?)),
            "--target" => {
                config.target(value(arg)?)?;
            }
            flag if flag.starts_with('-') => {
                return Err(CliError::Usage(format!("unknown option `{flag}`")))
            }
            file if input.is_none() => input = Some(PathBuf::from(file)),
            extra => return Err(CliError::Usage(format!("unexpected argument `{extra}`"))),
        }
    }
    let input = input.ok_or_else(|| CliError::Usage("no module file given".into()))?;
    let output = output.unwrap_or_else(|| input.with_extension("cwasm"));
    let bytes = std::fs::read(&input)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", input.display())))?;
    let engine = Engine::new(&config)?;
    let artifact = engine.precompile_module(&bytes)?;
    std::fs::write(&output, artifact)
        .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", output.display())))
}

/// `wasmjit run FILE [--invoke NAME] [ARGS...]`.
fn run_module(rest: &[String]) -> Result<(), CliError> {
    let (file, rest) = rest
        .split_first()
        .ok_or_else(|| CliError::Usage("no module file given".into()))?;
    let (invoke, args) = match rest {
        [flag, name, args @ ..] if flag == "--invoke" => (Some(name.as_str()), args),
        [flag] if flag == "--invoke" => {
            return Err(CliError::Usage("--invoke needs a function name".into()))
        }
        args => (None, args),
    };

    let engine = Engine::default();
    let bytes =
        std::fs::read(file).map_err(|e| CliError::Usage(format!("cannot read {file}: {e}")))?;
    let module = if Module::is_precompiled(&bytes) {
        // SAFETY: the user named this file to run, as they would a native program; it is
        // checked against this engine (version, target, settings, checksum) before use.
        unsafe { Module::deserialize(&engine, &bytes)? }
    } else {
        Module::new(&engine, &bytes)?
    };
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let name = match invoke {
        Some(name) => name,
        None if module.exports().iter().any(|e| e.name() == "_start") => "_start",
        None if args.is_empty() => return Ok(()),
        None => return Err(CliError::Usage("arguments given without --invoke".into())),
    };
    let func = instance
        .get_func(&mut store, name)
        .ok_or_else(|| CliError::Usage(format!("the module exports no function `{name}`")))?;
    let ty = func.ty(&store);
    if args.len() != ty.params().len() {
        return Err(CliError::Usage(format!(
            "`{name}` takes {} arguments {ty}, {} given",
            ty.params().len(),
            args.len()
        )));
    }
    let params = args
        .iter()
        .zip(ty.params())
        .map(|(arg, ty)| parse_arg(arg, ty))
        .collect::<Result<Vec<_>, _>>()?;
    let mut results = vec![Val::I32(0); ty.results().len()];
    func.call(&mut store, &params, &mut results)?;
    for result in results {
        println!("{result}");
    }
    Ok(())
}

/// Parses a command-line argument as a value of type `ty`: decimal or `0x` hex integers
/// (negative ones too; unsigned spellings wrap), and floats including `nan` and `inf`.
fn parse_arg(arg: &str, ty: ValType) -> Result<Val, CliError> {
    let bad = || CliError::Usage(format!("`{arg}` is not a valid {ty}"));
    let int = |bits: u32| -> Result<i128, CliError> {
        let (negative, digits) = match arg.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, arg),
        };
        let magnitude = match digits.strip_prefix("0x") {
            Some(hex) => i128::from_str_radix(hex, 16),
            None => digits.parse::<i128>(),
        }
        .map_err(|_| bad())?;
        let value = if negative { -magnitude } else { magnitude };
        let min = -(1i128 << (bits - 1));
        let max = (1i128 << bits) - 1;
        if value < min || value > max {
            return Err(bad());
        }
        Ok(value)
    };
    Ok(match ty {
        ValType::I32 => Val::I32(int(32)? as u32 as i32),
        ValType::I64 => Val::I64(int(64)? as u64 as i64),
        ValType::F32 => Val::from_f32(arg.parse().map_err(|_| bad())?),
        ValType::F64 => Val::from_f64(arg.parse().map_err(|_| bad())?),
        other => {
            return Err(CliError::Usage(format!(
                "parameters of type {other} cannot be given on the command line"
            )))
        }
    })
}
