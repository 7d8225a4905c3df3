//! WASI preview1 (`wasi_snapshot_preview1`) for wasmjit: what programs built for
//! `wasm32-wasi` (wasi-libc) or `wasm32-wasip1` (Rust) import to reach their arguments,
//! environment, standard streams, clocks, randomness and files.
//!
//! A host builds a [`WasiCtx`] with [`WasiCtxBuilder`], keeps it in its store's data, and
//! adds the functions to a [`Linker`] with [`add_to_linker`]. The guest sees only the
//! folders it was given (cap-std resolves every path inside them: `..`, absolute paths and
//! symbolic links that leave a folder are refused) and only with the rights they were given
//! ([`DirPerms`]). `proc_exit` ends the run with an [`I32Exit`] error the host can read.
//! Programs that start threads (wasi-threads) also need [`threads`].
//!
//! ```no_run
//! use wasmjit::{Engine, Linker, Module, Store};
//! use wasmjit_wasi::{DirPerms, I32Exit, WasiCtx};
//!
//! let engine = Engine::default();
//! let module = Module::from_file(&engine, "hello.wasm").unwrap();
//! let mut linker = Linker::new(&engine);
//! wasmjit_wasi::add_to_linker(&mut linker, |cx: &mut WasiCtx| cx).unwrap();
//! let wasi = WasiCtx::builder()
//!     .arg("hello")
//!     .inherit_stdio()
//!     .preopened_dir(".", ".", DirPerms::ReadOnly)
//!     .unwrap()
//!     .build();
//! let mut store = Store::new(&engine, wasi);
//! let instance = linker.instantiate(&mut store, &module).unwrap();
//! let start = instance.get_typed_func::<(), ()>(&mut store, "_start").unwrap();
//! let status = match start.call(&mut store, ()) {
//!     Ok(()) => 0,
//!     Err(e) => e.downcast_ref::<I32Exit>().map(|exit| exit.0).unwrap_or(1),
//! };
//! ```

mod clocks;
mod ctx;
mod fd;
mod memory;
mod poll;
mod preview1;
mod stdio;
pub mod threads;
mod types;

use std::fmt;

use wasmjit::{AsContextMut, Caller, Error, Extern, Linker};

pub use cap_rand;
pub use cap_std;
pub use clocks::{MonotonicTime, WallClock};
pub use ctx::{DirPerms, WasiCtx, WasiCtxBuilder};
pub use stdio::OutputPipe;

use memory::GuestMemory;

/// The import module name of WASI preview1.
pub const MODULE: &str = "wasi_snapshot_preview1";

/// The guest called `proc_exit` with this status: the error its `_start` call returns, as
/// in wasmtime (`err.downcast_ref::<I32Exit>()`). It is not a trap: status 0 is a success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct I32Exit(pub i32);

impl fmt::Display for I32Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exited with status {}", self.0)
    }
}

impl std::error::Error for I32Exit {}

/// The calling instance's memory (its export `memory`), shared or not, and the store's data.
fn memory_and_data<'a, T>(
    caller: &'a mut Caller<'_, T>,
) -> wasmjit::Result<(GuestMemory<'a>, &'a mut T)> {
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => match memory.shared(&*caller) {
            Some(shared) => Ok((GuestMemory::Shared(shared), caller.data_mut())),
            None => {
                let (bytes, data) = memory.data_and_store_mut(caller.as_context_mut());
                Ok((GuestMemory::Exclusive(bytes), data))
            }
        },
        Some(Extern::SharedMemory(shared)) => Ok((GuestMemory::Shared(shared), caller.data_mut())),
        _ => Err(Error::msg(
            "WASI: the guest does not export its memory as `memory`",
        )),
    }
}

/// Defines every function of `wasi_snapshot_preview1` in `linker`. `get_cx` finds the
/// [`WasiCtx`] in the store's data (`|cx: &mut WasiCtx| cx` when the data is the context).
pub fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get_cx: impl Fn(&mut T) -> &mut WasiCtx + Send + Sync + Copy + 'static,
) -> wasmjit::Result<()> {
    macro_rules! define {
        ($module:ident :: $name:ident ( $($arg:ident : $ty:ty),* )) => {
            linker.func_wrap(
                MODULE,
                stringify!($name),
                move |mut caller: Caller<'_, T>, $($arg: $ty),*| -> wasmjit::Result<i32> {
                    let (mut mem, data) = memory_and_data(&mut caller)?;
                    let result = $module::$name(&mut get_cx(data).lock(), &mut mem, $($arg),*);
                    Ok(result.err().map_or(0, |errno| errno as i32))
                },
            )?;
        };
    }
    define!(preview1::args_get(argv: u32, buf: u32));
    define!(preview1::args_sizes_get(count: u32, size: u32));
    define!(preview1::environ_get(environ: u32, buf: u32));
    define!(preview1::environ_sizes_get(count: u32, size: u32));
    define!(preview1::clock_res_get(id: u32, res: u32));
    define!(preview1::clock_time_get(id: u32, precision: u64, time: u32));
    define!(preview1::fd_advise(fd: u32, offset: u64, len: u64, advice: u32));
    define!(preview1::fd_allocate(fd: u32, offset: u64, len: u64));
    define!(preview1::fd_close(fd: u32));
    define!(preview1::fd_datasync(fd: u32));
    define!(preview1::fd_fdstat_get(fd: u32, stat: u32));
    define!(preview1::fd_fdstat_set_flags(fd: u32, flags: u32));
    define!(preview1::fd_fdstat_set_rights(fd: u32, base: u64, inheriting: u64));
    define!(preview1::fd_filestat_get(fd: u32, buf: u32));
    define!(preview1::fd_filestat_set_size(fd: u32, size: u64));
    define!(preview1::fd_filestat_set_times(fd: u32, atim: u64, mtim: u64, fst: u32));
    define!(preview1::fd_pread(fd: u32, iovs: u32, len: u32, offset: u64, nread: u32));
    define!(preview1::fd_prestat_get(fd: u32, buf: u32));
    define!(preview1::fd_prestat_dir_name(fd: u32, path: u32, len: u32));
    define!(preview1::fd_pwrite(fd: u32, iovs: u32, len: u32, offset: u64, nwritten: u32));
    define!(preview1::fd_read(fd: u32, iovs: u32, len: u32, nread: u32));
    define!(preview1::fd_readdir(fd: u32, buf: u32, len: u32, cookie: u64, bufused: u32));
    define!(preview1::fd_renumber(from: u32, to: u32));
    define!(preview1::fd_seek(fd: u32, offset: u64, whence: u32, newoffset: u32));
    define!(preview1::fd_sync(fd: u32));
    define!(preview1::fd_tell(fd: u32, offset: u32));
    define!(preview1::fd_write(fd: u32, iovs: u32, len: u32, nwritten: u32));
    define!(preview1::path_create_directory(fd: u32, path: u32, len: u32));
    define!(preview1::path_filestat_get(fd: u32, flags: u32, path: u32, len: u32, buf: u32));
    define!(preview1::path_filestat_set_times(
        fd: u32, flags: u32, path: u32, len: u32, atim: u64, mtim: u64, fst: u32
    ));
    define!(preview1::path_link(
        old_fd: u32, old_flags: u32, old_path: u32, old_len: u32, new_fd: u32, new_path: u32,
        new_len: u32
    ));
    define!(preview1::path_open(
        fd: u32, dirflags: u32, path: u32, len: u32, oflags: u32, base: u64, inheriting: u64,
        fdflags: u32, opened: u32
    ));
    define!(preview1::path_readlink(
        fd: u32, path: u32, len: u32, buf: u32, buf_len: u32, bufused: u32
    ));
    define!(preview1::path_remove_directory(fd: u32, path: u32, len: u32));
    define!(preview1::path_rename(
        fd: u32, old_path: u32, old_len: u32, new_fd: u32, new_path: u32, new_len: u32
    ));
    define!(preview1::path_symlink(
        old_path: u32, old_len: u32, fd: u32, new_path: u32, new_len: u32
    ));
    define!(preview1::path_unlink_file(fd: u32, path: u32, len: u32));
    linker.func_wrap(
        MODULE,
        "poll_oneoff",
        move |mut caller: Caller<'_, T>,
              subscriptions: u32,
              events: u32,
              count: u32,
              nevents: u32| {
            let (mut mem, data) = memory_and_data(&mut caller)?;
            let result = poll::poll_oneoff(
                get_cx(data),
                &mut mem,
                subscriptions,
                events,
                count,
                nevents,
            );
            Ok(result.err().map_or(0, |errno| errno as i32))
        },
    )?;
    define!(preview1::proc_raise(signal: u32));
    define!(preview1::random_get(buf: u32, len: u32));
    define!(preview1::sched_yield());
    define!(preview1::sock_accept(fd: u32, flags: u32, opened: u32));
    define!(preview1::sock_recv(
        fd: u32, iovs: u32, len: u32, flags: u32, datalen: u32, oflags: u32
    ));
    define!(preview1::sock_send(fd: u32, iovs: u32, len: u32, flags: u32, datalen: u32));
    define!(preview1::sock_shutdown(fd: u32, how: u32));
    linker.func_wrap(MODULE, "proc_exit", |status: u32| -> wasmjit::Result<()> {
        Err(Error::Host(Box::new(I32Exit(status as i32))))
    })?;
    Ok(())
}
