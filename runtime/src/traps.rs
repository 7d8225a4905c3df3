//! Turning faults in compiled code into WebAssembly traps, and getting back to the host.
//!
//! Every call into wasm goes through [`catch_traps`], which records the callee-saved
//! registers in a jump buffer (a setjmp of our own, in assembly) and publishes it in a
//! per-thread list of active calls. A trap in compiled code faults (`ud2`/`udf` for explicit
//! traps, a guard-page access for out-of-bounds memory). The signal handler checks that the
//! faulting PC is a trap site of registered code, stores the trap, and rewrites the signal
//! context so that returning from the handler resumes in `wasmjit_longjmp`, which restores
//! the registers and makes `catch_traps` return the trap. Host code reaches the same exit
//! through [`raise_trap`]. Between the jump buffer and the fault there are only compiled
//! frames, trampolines and host-call glue that holds nothing needing a destructor.

use std::any::Any;
use std::cell::{Cell, RefCell, UnsafeCell};
use std::mem::MaybeUninit;
use std::ops::Range;
use std::ptr;
use std::sync::atomic::Ordering;
use std::sync::Once;

use wasmjit_codegen::TrapKind;

use crate::code_memory::lookup_trap;
use crate::epochs::INTERRUPTED_STACK_LIMIT;
use crate::exceptions::VMException;
use crate::memory::is_wasm_memory_address;
use crate::mmap::{page_size, Mmap};
use crate::vmcontext::{SavedExit, VMStoreContext};

/// Why a call into wasm ended early.
pub enum TrapReason {
    /// Compiled code trapped.
    Wasm {
        /// The trap.
        kind: TrapKind,
        /// Address of the trapping instruction.
        pc: usize,
        /// The address accessed, for memory faults.
        fault_addr: Option<usize>,
    },
    /// A host function called from wasm failed.
    Host(Box<dyn std::error::Error + Send + Sync>),
    /// A host function called from wasm panicked; the payload is to be resumed.
    Panic(Box<dyn Any + Send>),
    /// An exception no handler caught left wasm (it lives as long as its store).
    Exception(*mut VMException),
}

impl std::fmt::Debug for TrapReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrapReason::Wasm { kind, pc, .. } => write!(f, "Wasm({kind} at {pc:#x})"),
            TrapReason::Host(e) => write!(f, "Host({e})"),
            TrapReason::Panic(_) => f.write_str("Panic"),
            TrapReason::Exception(exn) => write!(f, "Exception({exn:?})"),
        }
    }
}

/// Callee-saved registers, stack pointer and return address of a `wasmjit_setjmp_call`.
#[repr(C)]
struct JmpBuf([usize; JMPBUF_WORDS]);

#[cfg(target_arch = "x86_64")]
const JMPBUF_WORDS: usize = 8;
#[cfg(target_arch = "aarch64")]
const JMPBUF_WORDS: usize = 21;

#[cfg(target_arch = "x86_64")]
std::arch::global_asm!(
    ".text",
    ".globl wasmjit_setjmp_call",
    ".p2align 4",
    "wasmjit_setjmp_call:",
    "mov [rdi], rbx",
    "mov [rdi + 8], rbp",
    "mov [rdi + 16], r12",
    "mov [rdi + 24], r13",
    "mov [rdi + 32], r14",
    "mov [rdi + 40], r15",
    "lea rax, [rsp + 8]",
    "mov [rdi + 48], rax",
    "mov rax, [rsp]",
    "mov [rdi + 56], rax",
    "sub rsp, 8",
    "mov rdi, rdx",
    "call rsi",
    "add rsp, 8",
    "xor eax, eax",
    "ret",
    ".globl wasmjit_longjmp",
    ".p2align 4",
    "wasmjit_longjmp:",
    "mov rbx, [rdi]",
    "mov rbp, [rdi + 8]",
    "mov r12, [rdi + 16]",
    "mov r13, [rdi + 24]",
    "mov r14, [rdi + 32]",
    "mov r15, [rdi + 40]",
    "mov rsp, [rdi + 48]",
    "mov eax, 1",
    "jmp qword ptr [rdi + 56]",
);

#[cfg(target_arch = "aarch64")]
std::arch::global_asm!(
    ".text",
    ".globl wasmjit_setjmp_call",
    ".p2align 4",
    "wasmjit_setjmp_call:",
    "stp x19, x20, [x0, #0]",
    "stp x21, x22, [x0, #16]",
    "stp x23, x24, [x0, #32]",
    "stp x25, x26, [x0, #48]",
    "stp x27, x28, [x0, #64]",
    "stp x29, x30, [x0, #80]",
    "mov x9, sp",
    "str x9, [x0, #96]",
    "stp d8, d9, [x0, #104]",
    "stp d10, d11, [x0, #120]",
    "stp d12, d13, [x0, #136]",
    "stp d14, d15, [x0, #152]",
    "stp x29, x30, [sp, #-16]!",
    "mov x29, sp",
    "mov x0, x2",
    "blr x1",
    "ldp x29, x30, [sp], #16",
    "mov w0, #0",
    "ret",
    ".globl wasmjit_longjmp",
    ".p2align 4",
    "wasmjit_longjmp:",
    "ldp x19, x20, [x0, #0]",
    "ldp x21, x22, [x0, #16]",
    "ldp x23, x24, [x0, #32]",
    "ldp x25, x26, [x0, #48]",
    "ldp x27, x28, [x0, #64]",
    "ldp x29, x30, [x0, #80]",
    "ldr x9, [x0, #96]",
    "mov sp, x9",
    "ldp d8, d9, [x0, #104]",
    "ldp d10, d11, [x0, #120]",
    "ldp d12, d13, [x0, #136]",
    "ldp d14, d15, [x0, #152]",
    "mov w0, #1",
    "ret",
);

extern "C" {
    /// Saves the callee-saved state in `buf`, calls `callback(data)`, returns 0; returns 1
    /// instead when `wasmjit_longjmp(buf)` runs before the callback returns.
    fn wasmjit_setjmp_call(
        buf: *mut JmpBuf,
        callback: unsafe extern "C" fn(*mut u8),
        data: *mut u8,
    ) -> i32;
    /// Resumes the `wasmjit_setjmp_call` that filled `buf`, which then returns 1.
    fn wasmjit_longjmp(buf: *const JmpBuf) -> !;
}

/// One active call into wasm on this thread.
struct CallThreadState {
    jmpbuf: UnsafeCell<JmpBuf>,
    reason: UnsafeCell<Option<TrapReason>>,
    prev: *const CallThreadState,
    /// The addresses of the store's epoch poll page, where loop headers fault when the
    /// store is interrupted.
    epoch_poll: Range<usize>,
}

thread_local! {
    static CURRENT: Cell<*const CallThreadState> = const { Cell::new(ptr::null()) };
    static ALT_STACK: RefCell<Option<AltStack>> = const { RefCell::new(None) };
}

/// Installs the signal handlers, once per process.
pub fn init_traps() {
    static INIT: Once = Once::new();
    // SAFETY: runs once; the previous actions are saved before the handler that reads them
    // is installed.
    INIT.call_once(|| unsafe { install_handlers() });
}

const SIGNALS: [libc::c_int; 4] = [libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE];

static mut PREVIOUS: [MaybeUninit<libc::sigaction>; 4] = [MaybeUninit::uninit(); 4];

unsafe fn install_handlers() {
    for (i, signal) in SIGNALS.iter().enumerate() {
        // SAFETY: a zeroed sigaction is a valid starting point; the handler has the
        // SA_SIGINFO signature; PREVIOUS is written here, before any handler reads it.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handle_signal as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_NODEFER;
            libc::sigemptyset(&mut action.sa_mask);
            let previous = &raw mut PREVIOUS[i];
            if libc::sigaction(*signal, &action, (*previous).as_mut_ptr()) != 0 {
                panic!(
                    "cannot install the handler for signal {signal}: {}",
                    std::io::Error::last_os_error()
                );
            }
        }
    }
}

unsafe extern "C" fn handle_signal(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    let state = CURRENT.with(|c| c.get());
    // SAFETY: the kernel passes a valid ucontext for SA_SIGINFO handlers.
    let pc = unsafe { context_pc(context) };
    if !state.is_null() {
        if let Some(kind) = lookup_trap(pc) {
            let fault_addr = (signal == libc::SIGSEGV || signal == libc::SIGBUS)
                // SAFETY: for these signals the kernel fills si_addr.
                .then(|| unsafe { (*info).si_addr() } as usize);
            if let Some(addr) = fault_addr {
                // SAFETY: `state` is the innermost active call of this thread (see below).
                let polled =
                    kind == TrapKind::Interrupt && unsafe { (*state).epoch_poll.contains(&addr) };
                if !polled && !is_wasm_memory_address(addr) {
                    // A trap site faulted outside every linear memory: wild access, a bug in
                    // wasmjit. Continuing could corrupt the host.
                    const MSG: &[u8] = b"wasmjit: compiled code faulted outside linear memory\n";
                    // SAFETY: write and abort are async-signal-safe.
                    unsafe {
                        libc::write(2, MSG.as_ptr().cast(), MSG.len());
                        libc::abort();
                    }
                }
            }
            // SAFETY: `state` is the innermost active call of this thread, alive until its
            // `catch_traps` returns, which happens only after this handler resumes it; the
            // slot holds `None` (a reason ends the call), so nothing is dropped here.
            unsafe {
                ptr::write(
                    (*state).reason.get(),
                    Some(TrapReason::Wasm {
                        kind,
                        pc,
                        fault_addr,
                    }),
                );
                resume_at_longjmp(context, (*state).jmpbuf.get());
            }
            return;
        }
    }
    // SAFETY: not ours: hand the signal to whoever handled it before us.
    unsafe { forward(signal, info, context) };
}

/// Reads the interrupted program counter.
///
/// # Safety
/// `context` must be the ucontext the kernel passed to the handler.
unsafe fn context_pc(context: *mut libc::c_void) -> usize {
    let uc = context as *mut libc::ucontext_t;
    // SAFETY: per the contract.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        {
            (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] as usize
        }
        #[cfg(target_arch = "aarch64")]
        {
            (*uc).uc_mcontext.pc as usize
        }
    }
}

/// Makes the interrupted thread continue in `wasmjit_longjmp(buf)` when the handler returns.
///
/// # Safety
/// `context` must be the handler's ucontext and `buf` a filled jump buffer of this thread.
unsafe fn resume_at_longjmp(context: *mut libc::c_void, buf: *const JmpBuf) {
    let uc = context as *mut libc::ucontext_t;
    let target = wasmjit_longjmp as *const () as usize;
    // SAFETY: per the contract; the stack pointer is left as it was, which is valid memory
    // of this thread's stack, and longjmp replaces it.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        {
            (*uc).uc_mcontext.gregs[libc::REG_RIP as usize] = target as i64;
            (*uc).uc_mcontext.gregs[libc::REG_RDI as usize] = buf as i64;
        }
        #[cfg(target_arch = "aarch64")]
        {
            (*uc).uc_mcontext.pc = target as u64;
            (*uc).uc_mcontext.regs[0] = buf as u64;
        }
    }
}

/// Passes a signal that is not a wasm trap to the previously installed handler.
///
/// # Safety
/// Called from the signal handler with its arguments.
unsafe fn forward(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let Some(i) = SIGNALS.iter().position(|s| *s == signal) else {
        return;
    };
    // SAFETY: PREVIOUS was initialised before the handler was installed and is only read.
    unsafe {
        let previous = &*(&raw const PREVIOUS[i]).cast::<libc::sigaction>();
        if previous.sa_sigaction == libc::SIG_DFL || previous.sa_sigaction == libc::SIG_IGN {
            // Restore the old disposition; returning re-executes the faulting instruction,
            // which now gets the default treatment (usually: the process dies).
            libc::sigaction(signal, previous, ptr::null_mut());
        } else if previous.sa_flags & libc::SA_SIGINFO != 0 {
            let handler: unsafe extern "C" fn(
                libc::c_int,
                *mut libc::siginfo_t,
                *mut libc::c_void,
            ) = std::mem::transmute(previous.sa_sigaction);
            handler(signal, info, context);
        } else {
            let handler: unsafe extern "C" fn(libc::c_int) =
                std::mem::transmute(previous.sa_sigaction);
            handler(signal);
        }
    }
}

/// Runs `f`, which calls compiled code, and returns the trap that ended it early, if any.
///
/// If this is the outermost call into wasm for `store`, the store's stack limit is set to
/// `max_wasm_stack` bytes below the current stack pointer for the duration (or to
/// [`INTERRUPTED_STACK_LIMIT`] if the epoch reached the store's deadline, see
/// [`crate::epochs`]), and its epoch poll page is opened (blocked again if interrupted). A
/// stack-limit trap while the store is interrupted is reported as [`TrapKind::Interrupt`].
///
/// # Safety
/// `store` must be valid for the call, and its epoch pointer set if it has a deadline. `f`
/// must not hold values with destructors across the calls into compiled code (a trap skips
/// them), and host code called from the compiled code must only leave through
/// [`raise_trap`] or by returning.
pub unsafe fn catch_traps<F: FnOnce()>(
    store: *const VMStoreContext,
    max_wasm_stack: usize,
    f: F,
) -> Result<(), TrapReason> {
    ensure_alt_stack();
    // SAFETY: per the contract the store context is valid; only this thread uses its
    // non-atomic fields now.
    let store = unsafe { &*store };
    // SAFETY: as above.
    let outermost = unsafe { *store.wasm_entries.get() } == 0;
    if outermost {
        let here = 0u8;
        let sp = &here as *const u8 as usize;
        let limit = sp.saturating_sub(max_wasm_stack);
        // SAFETY: as above.
        unsafe { *store.wasm_stack_limit.get() = limit };
        if store.epoch_deadline.load(Ordering::Relaxed) == u64::MAX {
            // No deadline (only this thread sets one): no bump can interrupt this call.
            store.stack_limit.store(limit, Ordering::Relaxed);
            store.epoch_poll.unblock();
        } else {
            store.stack_limit.store(limit, Ordering::SeqCst);
            store.epoch_poll.unblock();
            // SAFETY: a store with a deadline has its epoch pointer set (the contract).
            store.interrupt_if_due(unsafe { store.current_epoch() });
        }
    }
    let nested = !outermost;
    // The enclosing call's exit record, which this call's exits overwrite: saved here (and
    // linked from the store context for walks over the stack while this call runs), put
    // back when it ends.
    // SAFETY: as above.
    let saved = unsafe {
        SavedExit {
            pc: *store.exit_pc.get(),
            fp: *store.exit_fp.get(),
            outer: *store.outer_exits.get(),
        }
    };
    // SAFETY: as above; `saved` outlives the call, and is unlinked before it goes.
    unsafe {
        *store.wasm_entries.get() += 1;
        *store.exit_fp.get() = 0;
        if nested {
            *store.outer_exits.get() = &saved;
        }
    }
    let state = CallThreadState {
        jmpbuf: UnsafeCell::new(JmpBuf([0; JMPBUF_WORDS])),
        reason: UnsafeCell::new(None),
        prev: CURRENT.with(|c| c.get()),
        epoch_poll: store.epoch_poll.addresses(),
    };
    CURRENT.with(|c| c.set(&state));
    let mut closure = Some(f);

    unsafe extern "C" fn call<F: FnOnce()>(data: *mut u8) {
        // SAFETY: `data` is the `Option<F>` below, alive for the whole setjmp call.
        let f = unsafe { (*data.cast::<Option<F>>()).take() };
        if let Some(f) = f {
            f();
        }
    }

    // SAFETY: the jump buffer lives in `state`, which outlives the call; the callback gets
    // the closure it expects.
    let jumped = unsafe {
        wasmjit_setjmp_call(
            state.jmpbuf.get(),
            call::<F>,
            (&mut closure as *mut Option<F>).cast(),
        )
    };
    CURRENT.with(|c| c.set(state.prev));
    // SAFETY: as above.
    unsafe {
        *store.wasm_entries.get() -= 1;
        *store.exit_pc.get() = saved.pc;
        *store.exit_fp.get() = saved.fp;
        *store.outer_exits.get() = saved.outer;
    }
    // Relaxed: a trap that an interrupt caused read the interrupted limit on this thread, and
    // a bump racing with this reset is settled by the next outermost entry, which sets the
    // limit and checks the epoch again (a SeqCst store on every call's way out would be a
    // full fence on x86-64).
    let interrupted = store.stack_limit.load(Ordering::Relaxed) == INTERRUPTED_STACK_LIMIT;
    if outermost {
        store.stack_limit.store(usize::MAX, Ordering::Relaxed);
    }
    if jumped == 0 {
        return Ok(());
    }
    let reason = state
        .reason
        .into_inner()
        .expect("a trap always records its reason");
    Err(match reason {
        // The prologue's stack check of an interrupted store.
        TrapReason::Wasm {
            kind: TrapKind::StackOverflow,
            pc,
            fault_addr,
        } if interrupted => TrapReason::Wasm {
            kind: TrapKind::Interrupt,
            pc,
            fault_addr,
        },
        reason => reason,
    })
}

/// Ends the innermost active call into wasm on this thread with `reason`.
///
/// # Safety
/// Must be called while inside [`catch_traps`] on this thread, with no value that needs a
/// destructor live in the frames between here and there.
pub unsafe fn raise_trap(reason: TrapReason) -> ! {
    let state = CURRENT.with(|c| c.get());
    assert!(!state.is_null(), "raise_trap outside of a call into wasm");
    // SAFETY: `state` is the innermost active call, alive until its catch_traps returns;
    // its reason slot is empty while the call runs.
    unsafe {
        ptr::write((*state).reason.get(), Some(reason));
        wasmjit_longjmp((*state).jmpbuf.get())
    }
}

/// Size of the signal stack each thread that runs wasm gets.
const ALT_STACK_SIZE: usize = 256 << 10;

/// A thread's signal stack, with a guard page below it, unregistered and unmapped on thread
/// exit.
struct AltStack {
    mmap: Mmap,
}

impl Drop for AltStack {
    fn drop(&mut self) {
        // SAFETY: queries the thread's alternate stack and disables it only if it is still
        // this one, before the mapping goes away with `self`.
        unsafe {
            let mut current: libc::stack_t = std::mem::zeroed();
            libc::sigaltstack(ptr::null(), &mut current);
            let ours = self.mmap.as_ptr().add(page_size());
            if current.ss_sp == ours.cast() {
                let disable = libc::stack_t {
                    ss_sp: ptr::null_mut(),
                    ss_flags: libc::SS_DISABLE,
                    ss_size: 0,
                };
                libc::sigaltstack(&disable, ptr::null_mut());
            }
        }
    }
}

/// Gives this thread a signal stack of at least `ALT_STACK_SIZE` bytes, unless it has one.
fn ensure_alt_stack() {
    ALT_STACK.with(|slot| {
        if slot.borrow().is_some() {
            return;
        }
        // SAFETY: querying the current alternate stack into a zeroed struct.
        let current = unsafe {
            let mut old: libc::stack_t = std::mem::zeroed();
            libc::sigaltstack(ptr::null(), &mut old);
            old
        };
        if current.ss_flags & libc::SS_DISABLE == 0 && current.ss_size >= ALT_STACK_SIZE {
            return;
        }
        let guard = page_size();
        let Ok(mmap) = Mmap::reserve(guard + ALT_STACK_SIZE) else {
            return;
        };
        if mmap.make_accessible(guard, ALT_STACK_SIZE).is_err() {
            return;
        }
        let stack = libc::stack_t {
            // SAFETY: the guard page lies inside the mapping.
            ss_sp: unsafe { mmap.as_ptr().add(guard) }.cast(),
            ss_flags: 0,
            ss_size: ALT_STACK_SIZE,
        };
        // SAFETY: the stack memory is mapped read-write and lives in ALT_STACK until the
        // thread exits, when it is unregistered before being unmapped.
        if unsafe { libc::sigaltstack(&stack, ptr::null_mut()) } == 0 {
            *slot.borrow_mut() = Some(AltStack { mmap });
        }
    });
}
