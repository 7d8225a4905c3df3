//! A guest's WASI state and the builder that makes it.

use std::fmt;
use std::io;
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use cap_rand::{RngCore, TryRngCore};
use cap_std::fs::Dir;

use crate::clocks::{HostMonotonicClock, HostWallClock, MonotonicTime, WallClock};
use crate::fd::{Descriptor, FdTable, Kind};
use crate::stdio::{Input, Output, OutputPipe};
use crate::types::rights;

/// What a guest may do in a preopened folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirPerms {
    /// Look up, open and read files; nothing that creates, changes or removes anything.
    ReadOnly,
    /// Everything, inside the folder.
    ReadWrite,
}

/// The WASI state of one guest program: its arguments, environment, descriptors (standard
/// streams, preopened folders and what it opened since), clocks and randomness.
///
/// Reached by the host functions through the store's data (see
/// [`add_to_linker`](crate::add_to_linker)). It is `Send` and `Sync`, so the store can move
/// to another thread. A clone is the same context, not a copy: the threads of one program
/// (wasi-threads, see [`crate::threads`]) each have a store whose data holds a clone, and see
/// the same descriptors. Each call of a WASI function holds the context's lock for its
/// length (a clock-only `poll_oneoff` sleeps without it); separate programs get contexts of
/// their own from [`WasiCtx::builder`].
#[derive(Clone)]
pub struct WasiCtx {
    state: Arc<Mutex<WasiState>>,
}

/// What a [`WasiCtx`] holds, reached under its lock.
pub(crate) struct WasiState {
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<String>,
    pub(crate) fds: FdTable,
    pub(crate) wall_clock: Box<dyn WallClock>,
    pub(crate) monotonic_clock: Box<dyn MonotonicTime>,
    pub(crate) random: Box<dyn RngCore + Send + Sync>,
}

impl fmt::Debug for WasiCtx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("WasiCtx")
            .field("args", &state.args)
            .field("env", &state.env)
            .finish_non_exhaustive()
    }
}

impl WasiCtx {
    /// A builder, as wasmtime's `WasiCtxBuilder`.
    pub fn builder() -> WasiCtxBuilder {
        WasiCtxBuilder::new()
    }

    /// The state, locked. A WASI function that panicked (a bug of ours) leaves it usable:
    /// every function keeps the state consistent between its steps.
    pub(crate) fn lock(&self) -> MutexGuard<'_, WasiState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Builds a [`WasiCtx`]. By default the guest has no arguments (not even a program name),
/// no environment, no folders, an empty stdin, its stdout and stderr discarded, the host's
/// clocks and a cryptographically secure random source.
pub struct WasiCtxBuilder {
    args: Vec<String>,
    env: Vec<String>,
    stdin: Input,
    stdout: Output,
    stderr: Output,
    preopens: Vec<(Kind, u64, u64)>,
    wall_clock: Box<dyn WallClock>,
    monotonic_clock: Box<dyn MonotonicTime>,
    random: Box<dyn RngCore + Send + Sync>,
}

impl Default for WasiCtxBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl WasiCtxBuilder {
    /// A builder with the defaults above.
    pub fn new() -> Self {
        WasiCtxBuilder {
            args: Vec::new(),
            env: Vec::new(),
            stdin: Input::Bytes(io::Cursor::new(Vec::new())),
            stdout: Output::Discard,
            stderr: Output::Discard,
            preopens: Vec::new(),
            wall_clock: Box::new(HostWallClock::new()),
            monotonic_clock: Box::new(HostMonotonicClock::new()),
            random: Box::new(
                cap_rand::rngs::OsRng::default(cap_rand::ambient_authority()).unwrap_err(),
            ),
        }
    }

    /// Appends one argument (the first is by convention the program's name).
    pub fn arg(&mut self, arg: impl Into<String>) -> &mut Self {
        self.args.push(arg.into());
        self
    }

    /// Appends arguments.
    pub fn args<S: AsRef<str>>(&mut self, args: &[S]) -> &mut Self {
        self.args
            .extend(args.iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// Sets the environment variable `name` to `value`.
    pub fn env(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> &mut Self {
        self.env
            .push(format!("{}={}", name.as_ref(), value.as_ref()));
        self
    }

    /// Gives the guest the host process's environment (variables whose name or value is not
    /// UTF-8 are left out).
    pub fn inherit_env(&mut self) -> &mut Self {
        for (name, value) in std::env::vars_os() {
            if let (Some(name), Some(value)) = (name.to_str(), value.to_str()) {
                self.env(name, value);
            }
        }
        self
    }

    /// The guest reads the host process's stdin.
    pub fn inherit_stdin(&mut self) -> &mut Self {
        self.stdin = Input::Inherit;
        self
    }

    /// The guest's stdout is the host process's.
    pub fn inherit_stdout(&mut self) -> &mut Self {
        self.stdout = Output::Inherit { stderr: false };
        self
    }

    /// The guest's stderr is the host process's.
    pub fn inherit_stderr(&mut self) -> &mut Self {
        self.stderr = Output::Inherit { stderr: true };
        self
    }

    /// All three standard streams are the host process's.
    pub fn inherit_stdio(&mut self) -> &mut Self {
        self.inherit_stdin().inherit_stdout().inherit_stderr()
    }

    /// The guest reads `bytes` from stdin, then end of file.
    pub fn stdin_bytes(&mut self, bytes: impl Into<Vec<u8>>) -> &mut Self {
        self.stdin = Input::Bytes(io::Cursor::new(bytes.into()));
        self
    }

    /// The guest's stdout goes to `pipe`.
    pub fn stdout(&mut self, pipe: OutputPipe) -> &mut Self {
        self.stdout = Output::Pipe(pipe);
        self
    }

    /// The guest's stderr goes to `pipe`.
    pub fn stderr(&mut self, pipe: OutputPipe) -> &mut Self {
        self.stderr = Output::Pipe(pipe);
        self
    }

    /// Gives the guest the host folder `host_path` under the name `guest_path`, with
    /// `perms`. The guest reaches nothing outside it: paths with `..` or absolute paths that
    /// leave it, and symbolic links pointing out of it, are refused. Preopens get descriptors
    /// 3, 4, ... in the order of these calls.
    pub fn preopened_dir(
        &mut self,
        host_path: impl AsRef<Path>,
        guest_path: impl Into<String>,
        perms: DirPerms,
    ) -> io::Result<&mut Self> {
        let host_path = host_path.as_ref();
        let dir = Dir::open_ambient_dir(host_path, cap_std::ambient_authority()).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot open the folder {}: {e}", host_path.display()),
            )
        })?;
        Ok(self.preopened_cap_dir(dir, guest_path, perms))
    }

    /// As [`WasiCtxBuilder::preopened_dir`], for a folder the host already opened.
    pub fn preopened_cap_dir(
        &mut self,
        dir: Dir,
        guest_path: impl Into<String>,
        perms: DirPerms,
    ) -> &mut Self {
        let (base, inheriting) = match perms {
            DirPerms::ReadOnly => (rights::DIR_READ, rights::DIR_READ | rights::FILE_READ),
            DirPerms::ReadWrite => (rights::DIR_ALL, rights::DIR_ALL | rights::FILE_ALL),
        };
        let kind = Kind::Dir {
            dir,
            preopen: Some(guest_path.into()),
        };
        self.preopens.push((kind, base, inheriting));
        self
    }

    /// Gives the guest a listening TCP socket as a preopened descriptor (after the folders'
    /// numbers, in call order), on which it can `sock_accept` connections.
    pub fn preopened_socket(&mut self, listener: TcpListener) -> &mut Self {
        self.preopens
            .push((Kind::Listener(listener), rights::SOCKET, rights::SOCKET));
        self
    }

    /// Replaces the wall clock (for deterministic runs).
    pub fn wall_clock(&mut self, clock: impl WallClock + 'static) -> &mut Self {
        self.wall_clock = Box::new(clock);
        self
    }

    /// Replaces the monotonic clock (for deterministic runs).
    pub fn monotonic_clock(&mut self, clock: impl MonotonicTime + 'static) -> &mut Self {
        self.monotonic_clock = Box::new(clock);
        self
    }

    /// Replaces the source of `random_get` (a seeded generator for deterministic runs).
    pub fn random(&mut self, random: impl RngCore + Send + Sync + 'static) -> &mut Self {
        self.random = Box::new(random);
        self
    }

    /// The context. The builder is left with the defaults, ready for another.
    pub fn build(&mut self) -> WasiCtx {
        let built = std::mem::take(self);
        let mut fds = FdTable::default();
        let streams = [
            Kind::Input(built.stdin),
            Kind::Output(built.stdout),
            Kind::Output(built.stderr),
        ];
        // The table is empty, so neither these pushes nor the preopens' can fail.
        for stream in streams {
            let _ = fds.push(Descriptor::new(stream, rights::STDIO, 0));
        }
        // Sockets after folders: wasi-libc looks for folders among the first preopens.
        let (dirs, sockets): (Vec<_>, Vec<_>) = built
            .preopens
            .into_iter()
            .partition(|(kind, _, _)| matches!(kind, Kind::Dir { .. }));
        for (kind, base, inheriting) in dirs.into_iter().chain(sockets) {
            let _ = fds.push(Descriptor::new(kind, base, inheriting));
        }
        let state = WasiState {
            args: built.args,
            env: built.env,
            fds,
            wall_clock: built.wall_clock,
            monotonic_clock: built.monotonic_clock,
            random: built.random,
        };
        WasiCtx {
            state: Arc::new(Mutex::new(state)),
        }
    }
}
