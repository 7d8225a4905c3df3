//! The walk over compiled frames on the stack, which both the exception unwinder and the
//! garbage collector make.
//!
//! Compiled code keeps frame pointers: each frame's frame pointer points at the saved frame
//! pointer of its caller, with the return address into the caller above it. A walk starts
//! at one compiled frame, given by its frame pointer and the return address of the call it
//! is making, and goes outward until the host-to-wasm trampoline that entered wasm.

use std::ops::ControlFlow;

use crate::code_memory::{lookup_frame, FrameKind};

/// A compiled frame on the stack.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Frame {
    /// The return address of the call the frame is making.
    pub pc: usize,
    /// The frame's frame pointer.
    pub fp: usize,
    /// What the code at `pc` is.
    pub kind: FrameKind,
}

/// Calls `visit` for each compiled frame from the one with frame pointer `fp`, making the
/// call that returns to `pc`, outward, until `visit` breaks (its value is returned) or the
/// walk reaches the host-to-wasm trampoline, which is visited too, or code that is not
/// compiled wasm.
///
/// # Safety
/// `fp` must be the frame pointer of a live compiled frame of this thread's stack whose
/// call returns to `pc`, and the frames outward of it must stay in place during the walk.
pub(crate) unsafe fn walk<B>(
    pc: usize,
    fp: usize,
    mut visit: impl FnMut(Frame) -> ControlFlow<B>,
) -> Option<B> {
    let (mut pc, mut fp) = (pc, fp);
    loop {
        let kind = lookup_frame(pc)?;
        if let ControlFlow::Break(value) = visit(Frame { pc, fp, kind }) {
            return Some(value);
        }
        if kind == FrameKind::Entry {
            return None;
        }
        // SAFETY: per the contract, `fp` is a compiled frame's frame pointer, which points
        // at the caller's saved frame pointer with the return address into it above.
        unsafe {
            pc = *((fp + 8) as *const usize);
            fp = *(fp as *const usize);
        }
    }
}
