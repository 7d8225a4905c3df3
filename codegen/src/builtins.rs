//! Runtime functions that compiled code calls through the vmctx's builtin table.
//!
//! Compiled code never embeds a runtime address: it loads the table pointer from the vmctx
//! (see [`crate::VMOffsets::BUILTINS`]) and calls entry `Builtin::index()`. The runtime fills
//! the table with `extern "C"` functions whose signatures are given by [`Builtin::signature`],
//! each taking the caller's vmctx first. Builtins that can fail return a status (`0` for
//! success) and the compiled code traps with [`Builtin::trap`] on any other value, so that
//! every trap site lies in compiled code.
//!
//! # One list
//!
//! The builtins are listed once, in [`foreach_builtin!`](crate::foreach_builtin): for each,
//! its `Builtin` variant, the name of the runtime function, its parameters after the implicit
//! vmctx (as Rust integer types), its result and the trap of a non-zero status. Both sides are
//! generated from that list: here the [`Builtin`] enum, [`Builtin::ALL`], [`Builtin::index`],
//! [`Builtin::trap`] and [`Builtin::signature`]; in the runtime the `VMBuiltins` struct (one
//! `unsafe extern "C" fn` field per entry, in list order, typed from the same parameter and
//! result types) and its `BUILTINS` static, which names the runtime function of the entry's
//! name. This makes impossible, at compile time:
//!
//! - a **swap** or any other misordering: the enum's discriminants, `ALL`, and the table's
//!   fields come from the same sequence, so entry `index()` is always that builtin's function;
//! - a **wrong signature**: the Cranelift signature and the runtime's fn pointer type are both
//!   built from the list's types, and a runtime function whose Rust signature differs from its
//!   entry does not coerce to the field's type;
//! - a **missing entry**: every entry needs a runtime function of its name, and a runtime
//!   function left out of the list is dead code (a warning, an error under `-D warnings`).
//!
//! What the list cannot check is left to tests: that the table has exactly one pointer-sized
//! slot per entry (compiled code indexes it at `index() * 8`), that `ALL[i].index() == i`, and
//! that every builtin with a trap returns the single `i32` status the trap is raised on.
//! Nor can it check what the arguments mean: a call site in `translate` passing two arguments
//! of the same type in the wrong order, or a runtime function reading them in the wrong order,
//! is caught only by behaviour (the spec suite).

use cranelift_codegen::ir::{types, AbiParam, Signature, Type};
use cranelift_codegen::isa::CallConv;

use crate::trap::TrapKind;

/// Calls macro `$mac` with the list of builtins, in table order.
///
/// Each entry reads
/// `$(#[attr])* Variant runtime_fn(param: type, ...) $(-> result)? $(, trap TrapKindVariant)?;`
/// where the types are `u32`, `i32`, `u64` or `i64` (Cranelift `i32`/`i64`), the parameters
/// follow the implicit `vmctx: *mut u8`, and `trap` names the [`TrapKind`](crate::TrapKind)
/// compiled code raises when the builtin returns a non-zero status. A callback matches the
/// entries with
///
/// ```text
/// $( $(#[$attr:meta])* $variant:ident $name:ident ( $($param:ident : $ty:ident),* )
///    $(-> $result:ident)? $(, trap $trap:ident)? ; )*
/// ```
///
/// `wasmjit_codegen` generates [`Builtin`](crate::Builtin) from it and `wasmjit_runtime` its
/// table of function pointers; see the `builtins` module docs.
#[macro_export]
macro_rules! foreach_builtin {
    ($mac:ident) => {
        $mac! {
            /// `memory.grow`: the old size in pages, or -1.
            MemoryGrow memory_grow(memory: u32, delta: u64) -> u64;
            /// `memory.copy`: a status.
            MemoryCopy memory_copy(dst_memory: u32, dst: u64, src_memory: u32, src: u64, len: u64)
                -> u32, trap MemoryOutOfBounds;
            /// `memory.fill`: a status.
            MemoryFill memory_fill(memory: u32, dst: u64, byte: u32, len: u64)
                -> u32, trap MemoryOutOfBounds;
            /// `memory.init`: a status.
            MemoryInit memory_init(memory: u32, segment: u32, dst: u64, src: u64, len: u64)
                -> u32, trap MemoryOutOfBounds;
            /// `data.drop`.
            DataDrop data_drop(segment: u32);
            /// `table.grow` (`init` is a reference): the old size, or -1.
            TableGrow table_grow(table: u32, init: u64, delta: u64) -> u64;
            /// `table.fill` (`value` is a reference): a status.
            TableFill table_fill(table: u32, dst: u64, value: u64, len: u64)
                -> u32, trap TableOutOfBounds;
            /// `table.copy`: a status.
            TableCopy table_copy(dst_table: u32, src_table: u32, dst: u64, src: u64, len: u64)
                -> u32, trap TableOutOfBounds;
            /// `table.init`: a status.
            TableInit table_init(table: u32, segment: u32, dst: u64, src: u64, len: u64)
                -> u32, trap TableOutOfBounds;
            /// `elem.drop`.
            ElemDrop elem_drop(segment: u32);
            /// `memory.atomic.notify`: the number of waiters woken.
            AtomicNotify atomic_notify(memory: u32, address: u64, count: u32) -> u32;
            /// `memory.atomic.wait32` (negative `timeout_ns`: forever): 0 woken, 1 not equal,
            /// 2 timed out.
            AtomicWait32 atomic_wait32(memory: u32, address: u64, expected: u32, timeout_ns: i64)
                -> u32;
            /// `memory.atomic.wait64`: as `AtomicWait32`.
            AtomicWait64 atomic_wait64(memory: u32, address: u64, expected: u64, timeout_ns: i64)
                -> u32;
            /// `throw`'s first half: a new exception of tag `tag` (an index of the caller's
            /// module) whose payload is copied from the value slots at `values`; returns the
            /// exception (an `exnref`).
            ExnNew exn_new(tag: u32, values: u64) -> u64;
            /// `throw_ref` of a non-null `exn`: unwinds to the innermost handler, never
            /// returns. Its table entry is an assembly stub that passes the caller's frame to
            /// the unwinder (see the runtime's `exceptions` module), called in the `tail`
            /// convention (see `translate`'s exceptions), unlike every other entry.
            ThrowRef throw_ref(exn: u64);
            /// `struct.new*`: a zeroed struct of the caller's type `type_index` and `size`
            /// bytes (header included), or 0 if the GC heap is exhausted.
            GcAllocStruct gc_alloc_struct(type_index: u32, size: u32) -> u64;
            /// `array.new*`: a zeroed array of the caller's type `type_index` with `len`
            /// elements of `elem_size` bytes, or 0 if the GC heap is exhausted.
            GcAllocArray gc_alloc_array(type_index: u32, len: u32, elem_size: u32) -> u64;
            /// `array.new_data`: an array of `len` elements read from data segment `segment`
            /// at byte `offset`; 0 if the GC heap is exhausted, 1 if the bytes are out of the
            /// segment.
            ArrayNewData array_new_data(type_index: u32, segment: u32, offset: u32, len: u32,
                elem_size: u32) -> u64;
            /// `array.new_elem`: an array of the `len` references of element segment
            /// `segment` from `offset`; 0 if the GC heap is exhausted, 1 if they are out of
            /// the segment.
            ArrayNewElem array_new_elem(type_index: u32, segment: u32, offset: u32, len: u32)
                -> u64;
            /// `array.fill` of a non-null array with the value in the slot at `value`: a
            /// status.
            ArrayFill array_fill(array: u64, index: u32, value: u64, len: u32, elem_size: u32)
                -> u32, trap ArrayOutOfBounds;
            /// `array.copy` between non-null arrays: a status.
            ArrayCopy array_copy(dst: u64, dst_index: u32, src: u64, src_index: u32, len: u32,
                elem_size: u32) -> u32, trap ArrayOutOfBounds;
            /// `array.init_data` of a non-null array: 0, 1 if the array range is out of
            /// bounds, 2 if the segment range is.
            ArrayInitData array_init_data(array: u64, index: u32, segment: u32, src: u32,
                len: u32, elem_size: u32) -> u32;
            /// `array.init_elem` of a non-null array: 0, 1 if the array range is out of
            /// bounds, 2 if the segment range is.
            ArrayInitElem array_init_elem(array: u64, index: u32, segment: u32, src: u32,
                len: u32) -> u32;
            /// Whether the non-null reference `value` is of heap type `heap`: an
            /// engine-wide type id, or `GC_ABSTRACT` plus an abstract heap type's code (see
            /// `translate`'s gc module). 1 if it is, 0 if not.
            RefTest ref_test(value: u64, heap: u32) -> u32;
        }
    };
}

/// The Cranelift type of a builtin parameter or result type of the list.
macro_rules! clif_type {
    (u32) => {
        types::I32
    };
    (i32) => {
        types::I32
    };
    (u64) => {
        types::I64
    };
    (i64) => {
        types::I64
    };
}

/// The trap of an entry: `None` without `trap`.
macro_rules! entry_trap {
    () => {
        None
    };
    ($trap:ident) => {
        Some(TrapKind::$trap)
    };
}

macro_rules! define_builtin_enum {
    ($(
        $(#[$attr:meta])*
        $variant:ident $name:ident ( $($param:ident : $ty:ident),* )
            $(-> $result:ident)? $(, trap $trap:ident)? ;
    )*) => {
        /// A runtime function callable from compiled code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Builtin {
            $( $(#[$attr])* $variant, )*
        }

        impl Builtin {
            /// Every builtin, in table order.
            pub const ALL: [Builtin; [$(Builtin::$variant),*].len()] = [$(Builtin::$variant),*];

            /// The entry's position in the builtin table.
            pub const fn index(self) -> u32 {
                self as u32
            }

            /// The name of the runtime function (and of its field in the runtime's table).
            pub const fn name(self) -> &'static str {
                match self {
                    $( Builtin::$variant => stringify!($name), )*
                }
            }

            /// The trap compiled code raises when the builtin returns a non-zero status.
            pub const fn trap(self) -> Option<TrapKind> {
                match self {
                    $( Builtin::$variant => entry_trap!($($trap)?), )*
                }
            }

            /// The native signature of the entry (pointer-sized vmctx first).
            pub fn signature(self, call_conv: CallConv) -> Signature {
                let (params, results): (&[Type], &[Type]) = match self {
                    $( Builtin::$variant => (
                        &[$(clif_type!($ty)),*],
                        &[$(clif_type!($result))?],
                    ), )*
                };
                let mut sig = Signature::new(call_conv);
                sig.params.push(AbiParam::new(types::I64));
                sig.params.extend(params.iter().map(|t| AbiParam::new(*t)));
                sig.returns
                    .extend(results.iter().map(|t| AbiParam::new(*t)));
                sig
            }
        }
    };
}

foreach_builtin!(define_builtin_enum);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_is_position_in_all() {
        for (i, builtin) in Builtin::ALL.iter().enumerate() {
            assert_eq!(builtin.index() as usize, i, "{builtin:?}");
        }
    }

    #[test]
    fn trapping_builtins_return_one_i32_status() {
        for builtin in Builtin::ALL {
            if builtin.trap().is_some() {
                let sig = builtin.signature(CallConv::SystemV);
                assert_eq!(
                    sig.returns,
                    [AbiParam::new(types::I32)],
                    "{builtin:?} has a trap but no i32 status"
                );
            }
        }
    }

    #[test]
    fn names_are_distinct() {
        let mut names: Vec<_> = Builtin::ALL.iter().map(|b| b.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Builtin::ALL.len());
    }
}
