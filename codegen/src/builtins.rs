//! Runtime functions that compiled code calls through the vmctx's builtin table.
//!
//! Compiled code never embeds a runtime address: it loads the table pointer from the vmctx
//! (see [`crate::VMOffsets::builtins`]) and calls entry `Builtin::index()`. The runtime fills
//! the table with `extern "C"` functions whose signatures are given by [`Builtin::signature`],
//! each taking the caller's vmctx first.

use cranelift_codegen::ir::{types, AbiParam, Signature};
use cranelift_codegen::isa::CallConv;

/// A runtime function callable from compiled code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// `memory.grow`: `(vmctx, memory: i32, delta_pages: i64) -> i64`, the old size in pages
    /// or -1.
    MemoryGrow,
}

impl Builtin {
    /// Every builtin, in table order.
    pub const ALL: [Builtin; 1] = [Builtin::MemoryGrow];

    /// The entry's position in the builtin table.
    pub const fn index(self) -> u32 {
        self as u32
    }

    /// The native signature of the entry (pointer-sized vmctx first).
    pub fn signature(self, call_conv: CallConv) -> Signature {
        let mut sig = Signature::new(call_conv);
        sig.params.push(AbiParam::new(types::I64));
        let (params, results): (&[_], &[_]) = match self {
            Builtin::MemoryGrow => (&[types::I32, types::I64], &[types::I64]),
        };
        sig.params.extend(params.iter().map(|t| AbiParam::new(*t)));
        sig.returns
            .extend(results.iter().map(|t| AbiParam::new(*t)));
        sig
    }
}
