//! Runtime functions that compiled code calls through the vmctx's builtin table.
//!
//! Compiled code never embeds a runtime address: it loads the table pointer from the vmctx
//! (see [`crate::VMOffsets::BUILTINS`]) and calls entry `Builtin::index()`. The runtime fills
//! the table with `extern "C"` functions whose signatures are given by [`Builtin::signature`],
//! each taking the caller's vmctx first. Builtins that can fail return a status (`0` for
//! success) and the compiled code traps with [`Builtin::trap`] on any other value, so that
//! every trap site lies in compiled code.

use cranelift_codegen::ir::{types, AbiParam, Signature, Type};
use cranelift_codegen::isa::CallConv;

use crate::trap::TrapKind;

/// A runtime function callable from compiled code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Builtin {
    /// `memory.grow`: `(memory: i32, delta_pages: i64) -> i64`, the old size in pages or -1.
    MemoryGrow,
    /// `memory.copy`: `(dst_memory: i32, dst: i64, src_memory: i32, src: i64, len: i64) -> status`.
    MemoryCopy,
    /// `memory.fill`: `(memory: i32, dst: i64, byte: i32, len: i64) -> status`.
    MemoryFill,
    /// `memory.init`: `(memory: i32, segment: i32, dst: i64, src: i64, len: i64) -> status`.
    MemoryInit,
    /// `data.drop`: `(segment: i32)`.
    DataDrop,
    /// `table.grow`: `(table: i32, init: ref, delta: i64) -> i64`, the old size or -1.
    TableGrow,
    /// `table.fill`: `(table: i32, dst: i64, value: ref, len: i64) -> status`.
    TableFill,
    /// `table.copy`: `(dst_table: i32, src_table: i32, dst: i64, src: i64, len: i64) -> status`.
    TableCopy,
    /// `table.init`: `(table: i32, segment: i32, dst: i64, src: i64, len: i64) -> status`.
    TableInit,
    /// `elem.drop`: `(segment: i32)`.
    ElemDrop,
    /// `memory.atomic.notify`: `(memory: i32, address: i64, count: i32) -> i32` woken.
    AtomicNotify,
    /// `memory.atomic.wait32`: `(memory: i32, address: i64, expected: i32, timeout_ns: i64)
    /// -> i32`: 0 woken, 1 not equal, 2 timed out.
    AtomicWait32,
    /// `memory.atomic.wait64`: `(memory: i32, address: i64, expected: i64, timeout_ns: i64)
    /// -> i32`.
    AtomicWait64,
}

impl Builtin {
    /// Every builtin, in table order.
    pub const ALL: [Builtin; 13] = [
        Builtin::MemoryGrow,
        Builtin::MemoryCopy,
        Builtin::MemoryFill,
        Builtin::MemoryInit,
        Builtin::DataDrop,
        Builtin::TableGrow,
        Builtin::TableFill,
        Builtin::TableCopy,
        Builtin::TableInit,
        Builtin::ElemDrop,
        Builtin::AtomicNotify,
        Builtin::AtomicWait32,
        Builtin::AtomicWait64,
    ];

    /// The entry's position in the builtin table.
    pub const fn index(self) -> u32 {
        self as u32
    }

    /// The trap compiled code raises when the builtin returns a non-zero status.
    pub const fn trap(self) -> Option<TrapKind> {
        match self {
            Builtin::MemoryCopy | Builtin::MemoryFill | Builtin::MemoryInit => {
                Some(TrapKind::MemoryOutOfBounds)
            }
            Builtin::TableFill | Builtin::TableCopy | Builtin::TableInit => {
                Some(TrapKind::TableOutOfBounds)
            }
            Builtin::MemoryGrow
            | Builtin::DataDrop
            | Builtin::TableGrow
            | Builtin::ElemDrop
            | Builtin::AtomicNotify
            | Builtin::AtomicWait32
            | Builtin::AtomicWait64 => None,
        }
    }

    /// The native signature of the entry (pointer-sized vmctx first).
    pub fn signature(self, call_conv: CallConv) -> Signature {
        use types::{I32, I64};
        let (params, results): (&[Type], &[Type]) = match self {
            Builtin::MemoryGrow => (&[I32, I64], &[I64]),
            Builtin::MemoryCopy => (&[I32, I64, I32, I64, I64], &[I32]),
            Builtin::MemoryFill => (&[I32, I64, I32, I64], &[I32]),
            Builtin::MemoryInit => (&[I32, I32, I64, I64, I64], &[I32]),
            Builtin::DataDrop | Builtin::ElemDrop => (&[I32], &[]),
            Builtin::TableGrow => (&[I32, I64, I64], &[I64]),
            Builtin::TableFill => (&[I32, I64, I64, I64], &[I32]),
            Builtin::TableCopy | Builtin::TableInit => (&[I32, I32, I64, I64, I64], &[I32]),
            Builtin::AtomicNotify => (&[I32, I64, I32], &[I32]),
            Builtin::AtomicWait32 => (&[I32, I64, I32, I64], &[I32]),
            Builtin::AtomicWait64 => (&[I32, I64, I64, I64], &[I32]),
        };
        let mut sig = Signature::new(call_conv);
        sig.params.push(AbiParam::new(I64));
        sig.params.extend(params.iter().map(|t| AbiParam::new(*t)));
        sig.returns
            .extend(results.iter().map(|t| AbiParam::new(*t)));
        sig
    }
}
