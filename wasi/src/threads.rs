//! wasi-threads: `wasi` `thread-spawn`, with which a program built for
//! `wasm32-wasip1-threads` (Rust) or `wasm32-wasi-threads` (wasi-libc) starts threads that
//! share its memory.
//!
//! Such a program imports its memory, shared, and exports `wasi_thread_start(id, arg)`.
//! `thread-spawn(arg)` starts an OS thread that instantiates the same module again, in a
//! store of its own whose data is a clone of the caller's (so its [`WasiCtx`](crate::WasiCtx),
//! cloned, is the same context) and with the same linker (so the same shared memory), and
//! calls `wasi_thread_start(id, arg)` there. It returns the new thread's id, from 1 up to
//! 0x1FFFFFFF, or a negative number when no thread could be started.
//!
//! As wasi-threads specifies, one thread ending the program ends all of it: a thread that
//! calls `proc_exit` exits the host process with that status, one that traps prints the trap
//! and exits the process with status 1 (wasmtime does the same). A host that must survive its
//! guests runs threaded programs in a process of their own. The new thread's store starts with
//! the engine's defaults; limits, fuel and epoch deadlines are set on it by the function given
//! to [`WasiThreadsCtx::on_new_store`], if any (an engine that consumes fuel needs one: a
//! store starts with none).
//!
//! ```no_run
//! use std::sync::Arc;
//! use wasmjit::{Engine, Linker, Module, Store};
//! use wasmjit_wasi::threads::{self, WasiThreadsCtx};
//! use wasmjit_wasi::WasiCtx;
//!
//! #[derive(Clone)]
//! struct Host {
//!     wasi: WasiCtx,
//!     threads: Option<Arc<WasiThreadsCtx<Host>>>,
//! }
//!
//! let engine = Engine::default();
//! let module = Module::from_file(&engine, "threads.wasm").unwrap();
//! let mut linker = Linker::new(&engine);
//! wasmjit_wasi::add_to_linker(&mut linker, |host: &mut Host| &mut host.wasi).unwrap();
//! threads::add_to_linker(&mut linker, |host: &mut Host| host.threads.clone()).unwrap();
//! let wasi = WasiCtx::builder().inherit_stdio().build();
//! let mut store = Store::new(&engine, Host { wasi, threads: None });
//! threads::define_shared_memories(&mut linker, &mut store, &module).unwrap();
//! let linker = Arc::new(linker);
//! store.data_mut().threads = Some(Arc::new(WasiThreadsCtx::new(&module, &linker).unwrap()));
//! let instance = linker.instantiate(&mut store, &module).unwrap();
//! ```

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use wasmjit::{
    AsContextMut, Caller, Error, ExternType, Linker, Module, SharedMemory, Store, ValType,
};

use crate::I32Exit;

/// The import module name of wasi-threads.
pub const MODULE: &str = "wasi";

/// The name of the spawning function.
pub const SPAWN: &str = "thread-spawn";

/// The export each new thread starts in, `(thread_id: i32, start_arg: i32) -> ()`.
pub const START: &str = "wasi_thread_start";

/// The largest thread id: wasi-threads keeps ids positive within 29 bits.
const MAX_ID: u32 = 0x1FFF_FFFF;

/// The native stack of each guest thread: room for the engine's largest wasm stack and the
/// host calls below it.
const THREAD_STACK_SIZE: usize = 8 << 20;

/// Whether `module` imports `thread-spawn`: a program that may start threads.
pub fn uses_threads(module: &Module) -> bool {
    module
        .imports()
        .iter()
        .any(|i| i.module() == MODULE && i.name() == SPAWN)
}

/// Defines in `linker` a new shared memory for each shared memory `module` imports, of the
/// import's size (the memory every thread of the program then shares).
pub fn define_shared_memories<T: 'static>(
    linker: &mut Linker<T>,
    mut store: impl AsContextMut<Data = T>,
    module: &Module,
) -> wasmjit::Result<()> {
    for import in module.imports() {
        let ExternType::Memory(ty) = import.ty() else {
            continue;
        };
        if !ty.is_shared() {
            continue;
        }
        let maximum = ty.maximum().unwrap_or(ty.minimum());
        let memory = SharedMemory::new(module.engine(), ty.minimum(), maximum)?;
        linker.define(&mut store, import.module(), import.name(), memory)?;
    }
    Ok(())
}

/// What `thread-spawn` needs: the module to instantiate in each new thread and the linker
/// that instantiates it. Shared by all the threads of one program.
pub struct WasiThreadsCtx<T> {
    module: Module,
    linker: Arc<Linker<T>>,
    next_id: AtomicU32,
    setup: Option<Box<StoreSetup<T>>>,
}

/// What [`WasiThreadsCtx::on_new_store`] runs on each new thread's store.
type StoreSetup<T> = dyn Fn(&mut Store<T>) -> wasmjit::Result<()> + Send + Sync;

impl<T: Clone + Send + 'static> WasiThreadsCtx<T> {
    /// The context for `module`'s threads, instantiated by `linker`. An error if the module
    /// does not export [`START`] with type `(i32, i32) -> ()`.
    pub fn new(module: &Module, linker: &Arc<Linker<T>>) -> wasmjit::Result<Self> {
        let start = module.exports().into_iter().find(|e| e.name() == START);
        match start.map(|e| e.ty()) {
            Some(ExternType::Func(ty))
                if ty.params().eq([ValType::I32, ValType::I32]) && ty.results().len() == 0 => {}
            _ => {
                return Err(Error::msg(format!(
                    "wasi-threads: the module does not export `{START}` of type (i32, i32) -> ()"
                )))
            }
        }
        Ok(WasiThreadsCtx {
            module: module.clone(),
            linker: Arc::clone(linker),
            next_id: AtomicU32::new(1),
            setup: None,
        })
    }

    /// Has `setup` run on each new thread's store before the instance is made: to give it
    /// fuel, an epoch deadline or a limiter, as the host did for the first store. An error
    /// from it ends the program as a trap would.
    pub fn on_new_store(
        mut self,
        setup: impl Fn(&mut Store<T>) -> wasmjit::Result<()> + Send + Sync + 'static,
    ) -> Self {
        self.setup = Some(Box::new(setup));
        self
    }

    /// Starts a thread running `wasi_thread_start(id, start_arg)` in a new instance whose
    /// store holds `host`; its id.
    fn spawn(self: &Arc<Self>, host: T, start_arg: i32) -> wasmjit::Result<i32> {
        let id = self
            .next_id
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |id| {
                (id <= MAX_ID).then_some(id + 1)
            })
            .map_err(|_| Error::msg("wasi-threads: no thread ids left"))?;
        let cx = Arc::clone(self);
        std::thread::Builder::new()
            .name(format!("wasi-thread-{id}"))
            .stack_size(THREAD_STACK_SIZE)
            .spawn(move || {
                let mut store = Store::new(cx.module.engine(), host);
                let result = cx
                    .setup
                    .as_ref()
                    .map_or(Ok(()), |setup| setup(&mut store))
                    .and_then(|()| cx.linker.instantiate(&mut store, &cx.module))
                    .and_then(|instance| {
                        instance.get_typed_func::<(i32, i32), ()>(&mut store, START)
                    })
                    .and_then(|start| start.call(&mut store, (id as i32, start_arg)));
                if let Err(e) = result {
                    let status = match e.downcast_ref::<I32Exit>() {
                        Some(I32Exit(status)) => *status,
                        None => {
                            eprintln!("Error: wasi thread {id}: {e}");
                            1
                        }
                    };
                    // What the guest wrote may sit in the host's stdout buffer.
                    let _ = std::io::stdout().flush();
                    std::process::exit(status);
                }
            })
            .map_err(|e| Error::msg(format!("wasi-threads: cannot start a thread: {e}")))?;
        Ok(id as i32)
    }
}

/// Defines `wasi` `thread-spawn` in `linker`. `get_cx` finds the program's
/// [`WasiThreadsCtx`] in the store's data (`None` before the host has set it: spawning then
/// fails with a negative result).
pub fn add_to_linker<T: Clone + Send + 'static>(
    linker: &mut Linker<T>,
    get_cx: impl Fn(&mut T) -> Option<Arc<WasiThreadsCtx<T>>> + Send + Sync + 'static,
) -> wasmjit::Result<()> {
    linker.func_wrap(
        MODULE,
        SPAWN,
        move |mut caller: Caller<'_, T>, start_arg: i32| -> i32 {
            let host = caller.data().clone();
            match get_cx(caller.data_mut()) {
                Some(cx) => cx.spawn(host, start_arg).unwrap_or(-1),
                None => -1,
            }
        },
    )?;
    Ok(())
}
