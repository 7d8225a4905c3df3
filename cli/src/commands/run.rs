//! `wasmjit run`: runs a WASI command, or calls one export with arguments from the command
//! line. FILE is a `.wasm` or `.wat` module, or a `.cwasm` that `wasmjit compile` wrote.
//!
//! Without `--invoke`, a module exporting `_start` runs as a WASI command: ARGS after FILE
//! are its arguments (FILE is its `argv[0]`), it inherits stdin, stdout and stderr, sees the
//! folders given by `--dir` (none otherwise) and the variables given by `--env`, and its exit
//! status (from `proc_exit` or 0) is the process's. A program that imports `thread-spawn`
//! (wasi-threads) gets its shared memory and threads. With `--invoke NAME` (before or right
//! after FILE), ARGS are parsed by the export's parameter types and each result is printed
//! on its own line.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use wasmjit::{Engine, Linker, Module, Store, Val, ValType};
use wasmjit_wasi::threads::{self, WasiThreadsCtx};
use wasmjit_wasi::{DirPerms, I32Exit, WasiCtx};

use super::CliError;

/// The store's data: the guest's WASI context and, for a program that starts threads
/// (wasi-threads), what `thread-spawn` needs. Each of the program's threads gets a clone.
#[derive(Clone)]
struct Host {
    wasi: WasiCtx,
    threads: Option<Arc<WasiThreadsCtx<Host>>>,
}

/// Runs a WebAssembly module: a WASI command, or one export with `--invoke`.
#[derive(Args)]
pub struct RunCommand {
    /// Gives the guest the host folder HOST (read and write), named GUEST inside (HOST
    /// itself if no GUEST). May be repeated. `--dir .` gives the current folder.
    #[arg(long = "dir", value_name = "HOST[::GUEST]")]
    dirs: Vec<String>,

    /// Sets an environment variable for the guest. May be repeated.
    #[arg(long = "env", value_name = "NAME=VALUE")]
    envs: Vec<String>,

    /// Calls the export NAME with ARGS parsed by its parameter types, printing its results.
    #[arg(long, value_name = "NAME")]
    invoke: Option<String>,

    /// The module (`.wasm`, `.wat` or `.cwasm`), then the program's arguments, or the export's with
    /// `--invoke` (which may also come right after FILE). Everything after FILE is an
    /// argument, never an option of ours.
    #[arg(
        value_name = "FILE [ARGS]",
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    command: Vec<String>,

    #[arg(skip)]
    file: PathBuf,

    #[arg(skip)]
    args: Vec<String>,
}

impl RunCommand {
    /// Runs the command; the exit code of the guest or of the call.
    pub fn execute(mut self) -> Result<ExitCode, CliError> {
        let mut command = std::mem::take(&mut self.command).into_iter();
        let file = command.next().unwrap_or_default();
        if file.starts_with('-') {
            return Err(CliError::Usage(format!("unexpected option `{file}`")));
        }
        self.file = PathBuf::from(file);
        self.args = command.collect();
        self.take_trailing_invoke()?;
        let engine = Engine::default();
        let cannot_read = |e: std::io::Error| {
            CliError::Usage(format!("cannot read {}: {e}", self.file.display()))
        };
        let mut start = Vec::with_capacity(8);
        std::fs::File::open(&self.file)
            .and_then(|file| file.take(8).read_to_end(&mut start))
            .map_err(cannot_read)?;
        let module = if Module::is_precompiled(&start) {
            // SAFETY: the user named this file to run, as they would a native program; it is
            // checked against this engine (version, target, settings, checksums) before use,
            // and this process does not write it while it runs.
            unsafe { Module::deserialize_file(&engine, &self.file) }
        } else {
            Module::new(&engine, std::fs::read(&self.file).map_err(cannot_read)?)
        }
        .map_err(|e| CliError::Wasm(format!("cannot load {}: {e}", self.file.display())))?;
        let mut linker = Linker::new(&engine);
        wasmjit_wasi::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi)?;
        let threaded = threads::uses_threads(&module);
        if threaded {
            threads::add_to_linker(&mut linker, |host: &mut Host| host.threads.clone())?;
        }
        let wasi = self.wasi_ctx()?;
        let mut store = Store::new(
            &engine,
            Host {
                wasi,
                threads: None,
            },
        );
        if threaded {
            threads::define_shared_memories(&mut linker, &mut store, &module)?;
        }
        let linker = Arc::new(linker);
        if threaded {
            store.data_mut().threads = Some(Arc::new(WasiThreadsCtx::new(&module, &linker)?));
        }
        let instance = linker.instantiate(&mut store, &module)?;

        let name = match self.invoke.as_deref() {
            Some(name) => name,
            None if module.exports().iter().any(|e| e.name() == "_start") => {
                let start = instance
                    .get_typed_func::<(), ()>(&mut store, "_start")
                    .map_err(|e| CliError::Wasm(format!("`_start`: {e}")))?;
                let result = start.call(&mut store, ());
                // The guest's output may sit in Rust's buffer: flush before exiting.
                let _ = std::io::stdout().flush();
                return match result {
                    Ok(()) => Ok(ExitCode::SUCCESS),
                    Err(e) => match e.downcast_ref::<I32Exit>() {
                        Some(I32Exit(status)) => Ok(ExitCode::from(*status as u8)),
                        None => Err(e.into()),
                    },
                };
            }
            None if self.args.is_empty() => return Ok(ExitCode::SUCCESS),
            None => {
                return Err(CliError::Usage(
                    "arguments given without --invoke, and the module exports no `_start`".into(),
                ))
            }
        };
        let func = instance
            .get_func(&mut store, name)
            .ok_or_else(|| CliError::Usage(format!("the module exports no function `{name}`")))?;
        let ty = func.ty(&store);
        if self.args.len() != ty.params().len() {
            return Err(CliError::Usage(format!(
                "`{name}` takes {} arguments {ty}, {} given",
                ty.params().len(),
                self.args.len()
            )));
        }
        let params = self
            .args
            .iter()
            .zip(ty.params())
            .map(|(arg, ty)| parse_arg(arg, ty))
            .collect::<Result<Vec<_>, _>>()?;
        let mut results = vec![Val::I32(0); ty.results().len()];
        func.call(&mut store, &params, &mut results)?;
        for result in results {
            println!("{result}");
        }
        Ok(ExitCode::SUCCESS)
    }

    /// Accepts `FILE --invoke NAME ARGS` (and `--invoke=NAME`), the form of the command line
    /// before it moved to clap, which takes everything after FILE as ARGS.
    fn take_trailing_invoke(&mut self) -> Result<(), CliError> {
        let name = match self.args.first().map(String::as_str) {
            Some("--invoke") => {
                let name = self
                    .args
                    .get(1)
                    .cloned()
                    .ok_or_else(|| CliError::Usage("--invoke needs a function name".into()))?;
                self.args.drain(..2);
                name
            }
            Some(arg) if arg.starts_with("--invoke=") => {
                let name = arg["--invoke=".len()..].to_string();
                self.args.remove(0);
                name
            }
            _ => return Ok(()),
        };
        if self.invoke.is_some() {
            return Err(CliError::Usage("--invoke given twice".into()));
        }
        self.invoke = Some(name);
        Ok(())
    }

    /// The guest's WASI context: FILE and ARGS as its arguments, the host's stdio, the
    /// `--env` variables and the `--dir` folders.
    fn wasi_ctx(&self) -> Result<WasiCtx, CliError> {
        let mut builder = WasiCtx::builder();
        builder.arg(self.file.to_string_lossy()).inherit_stdio();
        if self.invoke.is_none() {
            builder.args(&self.args);
        }
        for env in &self.envs {
            let (name, value) = env
                .split_once('=')
                .ok_or_else(|| CliError::Usage(format!("--env {env}: expected NAME=VALUE")))?;
            builder.env(name, value);
        }
        for dir in &self.dirs {
            let (host, guest) = dir.split_once("::").unwrap_or((dir, dir));
            builder
                .preopened_dir(host, guest, DirPerms::ReadWrite)
                .map_err(|e| CliError::Usage(format!("--dir {dir}: {e}")))?;
        }
        Ok(builder.build())
    }
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
