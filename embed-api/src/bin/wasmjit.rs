//! The `wasmjit` command: runs a function of a `.wasm` or `.wat` module.
//!
//! ```text
//! wasmjit run FILE [--invoke NAME] [ARGS...]
//! ```
//!
//! Arguments are parsed by the export's parameter types; each result is printed on its own
//! line. Without `--invoke`, the module's `_start` export is called if it has one (its start
//! function, if any, runs at instantiation either way).

use std::process::ExitCode;

use wasmjit::{Engine, Error, Instance, Module, Store, Val, ValType};

const USAGE: &str = "usage: wasmjit run FILE [--invoke NAME] [ARGS...]";

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
    if command != "run" {
        return Err(CliError::Usage(format!("unknown command `{command}`")));
    }
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
    let module = Module::from_file(&engine, file)?;
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
