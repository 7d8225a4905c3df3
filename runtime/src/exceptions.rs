//! Tags, exceptions and the unwinder that takes a thrown exception to its handler.
//!
//! A tag's identity is the address of its [`VMTag`]: each vmctx holds the addresses of the
//! module's tags, imported ones being the exporter's. An exception is a [`VMException`] owned
//! by its store (freed with the store: exceptions can be kept as `exnref` values anywhere, and
//! without a collector nothing tells when the last one is gone).
//!
//! # Throwing
//!
//! Compiled code throws by calling the `throw_ref` builtin, whose table entry is the assembly
//! stub `wasmjit_throw_ref`: it adds its return address and the caller's frame pointer to the
//! arguments and jumps to [`throw_impl`]. Compiled code keeps frame pointers, so from there
//! the unwinder walks the frame-pointer chain: for each frame, the return address into it
//! either is a call site with a handler (a `try_call` inside a `try_table`, recorded by
//! codegen and registered with the code) — then the stack and frame pointers are restored and
//! execution jumps to the handler with the exception in the first payload register — or lies
//! in other compiled code (keep walking), or in a host-to-wasm trampoline: the exception left
//! wasm without a handler, and the innermost call into wasm ends with
//! [`TrapReason::Exception`]. Host functions throw by returning the exception to their
//! wasm-to-host trampoline, which throws it from its own frame.
//!
//! Nothing of this runs unless something throws: the costs are a table entry per call site
//! inside a `try_table`, and per throw an allocation, a lookup per frame walked and a tag
//! comparison per `catch` clause of each `try_table` reached.

use std::cell::UnsafeCell;
use std::ops::ControlFlow;

use wasmjit_codegen::{FuncType, ValType};

use crate::code_memory::FrameKind;
use crate::frames;
use crate::instance::Instance;
use crate::traps::{raise_trap, TrapReason};
use crate::vmcontext::ValRaw;

/// A tag: what its exceptions carry. Its address is its identity.
#[derive(Debug)]
pub struct VMTag {
    /// The payload types are the parameters of this function type, in canonical form
    /// (concrete types as engine-wide signature ids), so tags of different modules compare.
    pub ty: FuncType,
    /// The engine-wide id of the tag's type: tags match on import when their ids are equal
    /// (types in recursion groups are the same only with the same group).
    pub type_id: u32,
}

/// An exception: the tag it was thrown with and its payload. Compiled code reads the fields at
/// `VMOffsets::EXCEPTION_TAG` and `VMOffsets::EXCEPTION_PAYLOAD`.
#[repr(C)]
#[derive(Debug)]
pub struct VMException {
    /// The tag.
    pub tag: *const VMTag,
    /// The payload's first value slot (`values`' data).
    payload: *const ValRaw,
    values: Box<[ValRaw]>,
}

impl VMException {
    /// An exception of `tag` carrying `values`, one slot per payload value.
    pub fn new(tag: *const VMTag, values: Box<[ValRaw]>) -> Box<VMException> {
        let mut exn = Box::new(VMException {
            tag,
            payload: std::ptr::null(),
            values,
        });
        exn.payload = exn.values.as_ptr();
        exn
    }

    /// The payload's value slots.
    pub fn values(&self) -> &[ValRaw] {
        &self.values
    }
}

// Compiled code reads the tag and the payload pointer at codegen's offsets.
const _: () = {
    use std::mem::offset_of;
    use wasmjit_codegen::VMOffsets;
    assert!(offset_of!(VMException, tag) == VMOffsets::EXCEPTION_TAG as usize);
    assert!(offset_of!(VMException, payload) == VMOffsets::EXCEPTION_PAYLOAD as usize);
};

/// The exceptions of one store, alive until the store is dropped.
#[derive(Debug, Default)]
pub struct ExceptionArena {
    #[expect(
        clippy::vec_box,
        reason = "compiled code and exnref values hold each exception's address, which must \
                  not move when the vector grows"
    )]
    exceptions: UnsafeCell<Vec<Box<VMException>>>,
}

impl ExceptionArena {
    /// Keeps `exn` for the store's life and returns its stable address.
    ///
    /// # Safety
    /// Not called concurrently with itself for the same arena (the store is used by one
    /// thread at a time).
    pub unsafe fn push(&self, exn: Box<VMException>) -> *mut VMException {
        // SAFETY: per the contract, no other reference to the vector is live.
        let list = unsafe { &mut *self.exceptions.get() };
        list.push(exn);
        let last = list.last_mut().expect("just pushed");
        &mut **last
    }
}

impl ExceptionArena {
    /// Gives each payload value of every exception, with its type, to `visit` (the
    /// collector's roots: exceptions live as long as the store).
    ///
    /// # Safety
    /// Not called concurrently with [`ExceptionArena::push`].
    pub unsafe fn trace(&self, visit: &mut dyn FnMut(ValType, u64)) {
        // SAFETY: per the contract, nothing changes the vector now.
        let list = unsafe { &*self.exceptions.get() };
        for exn in list {
            // SAFETY: a tag outlives the exceptions of the stores that use it.
            let ty = unsafe { &(*exn.tag).ty };
            for (param, value) in ty.params.iter().zip(exn.values.iter()) {
                let word = u64::from_le_bytes(value[..8].try_into().expect("8 bytes"));
                visit(*param, word);
            }
        }
    }
}

/// `exn_new`: a new exception of the caller's tag `tag` whose payload is copied from the value
/// slots at `values`; returns its address.
///
/// # Safety
/// Called by compiled code with its vmctx and as many filled slots as the tag's payload has.
pub(crate) unsafe fn exn_new(vmctx: *mut u8, tag: u32, values: u64) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    let instance = unsafe { Instance::from_vmctx(vmctx) };
    let tag = instance.tag(tag);
    // SAFETY: a tag outlives every instance that refers to it.
    let count = unsafe { tag.as_ref() }.ty.params.len();
    // SAFETY: per the contract, `values` holds `count` slots.
    let values = unsafe { std::slice::from_raw_parts(values as *const ValRaw, count) };
    let exn = VMException::new(tag.as_ptr(), values.into());
    // SAFETY: wasm of this store runs on this thread only.
    unsafe { instance.store_context().exceptions.push(exn) as u64 }
}

/// Throws `exn` from the compiled frame whose frame pointer is `fp`, at the call returning to
/// `pc`: resumes at the innermost handler, or ends the innermost call into wasm.
///
/// # Safety
/// Reached only through `wasmjit_throw_ref` from compiled code of a store running on this
/// thread, inside `catch_traps`, with a live exception of that store.
unsafe extern "C" fn throw_impl(_vmctx: *mut u8, exn: u64, pc: usize, fp: usize) -> ! {
    // SAFETY: per the contract, `fp` is the thrower's compiled frame, returning to `pc`.
    let handler = unsafe {
        frames::walk(pc, fp, |frame| match frame.kind {
            FrameKind::Handler {
                handler,
                frame_offset,
            } => ControlFlow::Break((handler, frame.fp - frame_offset as usize, frame.fp)),
            _ => ControlFlow::Continue(()),
        })
    };
    if let Some((handler, sp, fp)) = handler {
        // SAFETY: `fp` is the frame of the compiled function whose call site returns to a
        // call site with a handler; codegen recorded the handler and the frame's size at
        // that call. Only compiled frames and this function (which holds nothing needing a
        // destructor) lie above it.
        unsafe { resume(handler, sp, fp, exn as usize) }
    }
    // SAFETY: per the contract, inside catch_traps; nothing here needs a destructor.
    unsafe { raise_trap(TrapReason::Exception(exn as *mut VMException)) }
}

/// Jumps to `pc` with the stack and frame pointers `sp` and `fp` and `payload` in the first
/// exception payload register, as Cranelift's `try_call` handlers expect.
///
/// # Safety
/// `pc` must be a handler of the frame `fp`, and `sp` that frame's stack pointer at the call.
unsafe fn resume(pc: usize, sp: usize, fp: usize, payload: usize) -> ! {
    // SAFETY: per the contract.
    unsafe {
        #[cfg(target_arch = "x86_64")]
        std::arch::asm!(
            "mov rsp, rcx",
            "mov rbp, rsi",
            "jmp rdi",
            in("rax") payload,
            in("rcx") sp,
            in("rsi") fp,
            in("rdi") pc,
            options(noreturn),
        );
        #[cfg(target_arch = "aarch64")]
        std::arch::asm!(
            "mov sp, x2",
            "mov x29, x3",
            "br x4",
            in("x0") payload,
            in("x2") sp,
            in("x3") fp,
            in("x4") pc,
            options(noreturn),
        );
    }
}

#[cfg(target_arch = "x86_64")]
std::arch::global_asm!(
    ".text",
    ".globl wasmjit_throw_ref",
    ".p2align 4",
    "wasmjit_throw_ref:",
    "mov rdx, [rsp]",
    "mov rcx, rbp",
    "jmp {throw}",
    throw = sym throw_impl,
);

#[cfg(target_arch = "aarch64")]
std::arch::global_asm!(
    ".text",
    ".globl wasmjit_throw_ref",
    ".p2align 4",
    "wasmjit_throw_ref:",
    "mov x0, x2",
    "mov x1, x3",
    "mov x2, x30",
    "mov x3, x29",
    "b {throw}",
    throw = sym throw_impl,
);

/// The function that throws an exception from a wasm-to-host trampoline's frame, for host
/// function contexts (`wasmjit_codegen::HOST_CONTEXT_THROW`); called in the `tail` convention.
pub fn throw_entry() -> unsafe extern "C" fn(*mut u8, u64) {
    wasmjit_throw_ref
}

extern "C" {
    /// `throw_ref` as compiled code calls it: `(vmctx, exn)` in Cranelift's `tail`
    /// convention (on x86-64 in `rdi` and `rsi`, as in the C convention; on aarch64 in `x2`
    /// and `x3`, `tail` keeping `x0` and `x1` for itself), never returns. Passes the two
    /// arguments, its return address and the caller's frame pointer on to [`throw_impl`] in
    /// the C convention. Declared with a C signature only to be stored in the builtin table:
    /// Rust never calls it.
    pub(crate) fn wasmjit_throw_ref(vmctx: *mut u8, exn: u64);
}
