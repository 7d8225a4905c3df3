//! The native baseline: the kernel's shared object, loaded with `dlopen`.

use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::time::Instant;

use super::{timed_call, Engine, Loaded};
use crate::error::{bail, Context, Result};
use crate::kernels::{Kernel, Size};
use crate::stats::elapsed_ns;

/// Runs `OUT/<kernel>.so`. "Compile" is the `dlopen` time; instantiation is free.
pub struct Native;

/// A `dlopen` handle, closed on drop.
struct Library(*mut libc::c_void);

impl Library {
    /// `dlopen`s `path` with `RTLD_NOW | RTLD_LOCAL`.
    fn open(path: &std::path::Path) -> Result<Self> {
        let c_path = CString::new(path.as_os_str().as_bytes()).context("library path")?;
        // SAFETY: `c_path` is a NUL-terminated string that outlives the call. Loading the
        // kernel runs no initialisers beyond the C runtime's (the kernels are freestanding).
        let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if handle.is_null() {
            bail!("dlopen {}: {}", path.display(), last_dl_error());
        }
        Ok(Library(handle))
    }

    /// The address of the exported symbol `name`.
    fn symbol(&self, name: &CStr) -> Result<*mut libc::c_void> {
        // SAFETY: `self.0` is a live handle from `dlopen` and `name` is NUL-terminated.
        let address = unsafe { libc::dlsym(self.0, name.as_ptr()) };
        if address.is_null() {
            bail!("dlsym {name:?}: {}", last_dl_error());
        }
        Ok(address)
    }
}

impl Drop for Library {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from a successful `dlopen` and no function pointer obtained
        // from it outlives `self` (they are only used inside `Native::measure`).
        unsafe { libc::dlclose(self.0) };
    }
}

/// The message of the last `dlopen`/`dlsym` failure.
fn last_dl_error() -> String {
    // SAFETY: `dlerror` returns NULL or a NUL-terminated string valid until the next dl call,
    // which we copy right away.
    unsafe {
        let message = libc::dlerror();
        if message.is_null() {
            "unknown error".to_owned()
        } else {
            CStr::from_ptr(message).to_string_lossy().into_owned()
        }
    }
}

impl Engine for Native {
    fn name(&self) -> &str {
        "native"
    }

    fn load(&self, kernel: &Kernel, size: Size, _runs: usize) -> Result<Loaded<'_>> {
        let start = Instant::now();
        let library = Library::open(&kernel.native_path)?;
        let compile_ns = elapsed_ns(start);

        let size_name = match size {
            Size::Full => c"full_n",
            Size::Smoke => c"smoke_n",
        };
        let size_fn = library.symbol(size_name)?;
        let run = library.symbol(c"run")?;
        // SAFETY: kernel.h declares `uint32_t full_n(void)`, `uint32_t smoke_n(void)` and
        // `uint64_t run(uint32_t)` with the C ABI; the pointers are non-null and `library`
        // stays open while they are called (it moves into `Loaded::run`).
        let (size_fn, run) = unsafe {
            (
                std::mem::transmute::<*mut libc::c_void, extern "C" fn() -> u32>(size_fn),
                std::mem::transmute::<*mut libc::c_void, extern "C" fn(u32) -> u64>(run),
            )
        };
        let n = size_fn();
        Ok(Loaded {
            compile_ns,
            instantiate_ns: 0,
            n,
            run: Box::new(move || {
                // Moves the library into the closure: it stays open while `run` is called.
                let _open = &library;
                timed_call(|| Ok(run(n)))
            }),
        })
    }
}
