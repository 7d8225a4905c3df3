//! The kinds of WebAssembly trap, and their encoding as Cranelift trap codes.

use std::fmt;

use cranelift_codegen::ir::TrapCode;
use serde::{Deserialize, Serialize};

/// Why WebAssembly code stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TrapKind {
    /// The wasm call stack exceeded the configured maximum.
    StackOverflow,
    /// A load or store outside linear memory.
    MemoryOutOfBounds,
    /// An atomic access with a misaligned address.
    UnalignedAtomic,
    /// A table access outside the table.
    TableOutOfBounds,
    /// `call_indirect` through a null table entry.
    IndirectCallToNull,
    /// `call_indirect` whose target has another signature.
    BadSignature,
    /// Signed division overflow, or a float-to-int conversion out of range.
    IntegerOverflow,
    /// Integer division or remainder by zero.
    IntegerDivisionByZero,
    /// A float-to-int conversion of NaN.
    BadConversionToInteger,
    /// The `unreachable` instruction.
    UnreachableCodeReached,
    /// A null reference where a non-null one is required.
    NullReference,
    /// `memory.atomic.wait` on a non-shared memory.
    AtomicWaitNonSharedMemory,
    /// The engine's epoch reached the store's deadline (epoch interruption).
    Interrupt,
    /// The store ran out of fuel.
    OutOfFuel,
    /// An array access outside the array.
    ArrayOutOfBounds,
    /// `ref.cast` of a reference that is not of the target type.
    CastFailure,
    /// A GC allocation the store's GC heap limit does not allow.
    GcHeapExhausted,
}

impl TrapKind {
    /// Every trap kind, for decoding.
    pub const ALL: [TrapKind; 17] = [
        TrapKind::StackOverflow,
        TrapKind::MemoryOutOfBounds,
        TrapKind::UnalignedAtomic,
        TrapKind::TableOutOfBounds,
        TrapKind::IndirectCallToNull,
        TrapKind::BadSignature,
        TrapKind::IntegerOverflow,
        TrapKind::IntegerDivisionByZero,
        TrapKind::BadConversionToInteger,
        TrapKind::UnreachableCodeReached,
        TrapKind::NullReference,
        TrapKind::AtomicWaitNonSharedMemory,
        TrapKind::Interrupt,
        TrapKind::OutOfFuel,
        TrapKind::ArrayOutOfBounds,
        TrapKind::CastFailure,
        TrapKind::GcHeapExhausted,
    ];

    /// The Cranelift trap code that compiled code uses for this kind.
    pub const fn trap_code(self) -> TrapCode {
        match self {
            TrapKind::StackOverflow => TrapCode::STACK_OVERFLOW,
            TrapKind::MemoryOutOfBounds => TrapCode::HEAP_OUT_OF_BOUNDS,
            TrapKind::IntegerOverflow => TrapCode::INTEGER_OVERFLOW,
            TrapKind::IntegerDivisionByZero => TrapCode::INTEGER_DIVISION_BY_ZERO,
            TrapKind::BadConversionToInteger => TrapCode::BAD_CONVERSION_TO_INTEGER,
            TrapKind::UnalignedAtomic => TrapCode::unwrap_user(1),
            TrapKind::TableOutOfBounds => TrapCode::unwrap_user(2),
            TrapKind::IndirectCallToNull => TrapCode::unwrap_user(3),
            TrapKind::BadSignature => TrapCode::unwrap_user(4),
            TrapKind::UnreachableCodeReached => TrapCode::unwrap_user(5),
            TrapKind::NullReference => TrapCode::unwrap_user(6),
            TrapKind::AtomicWaitNonSharedMemory => TrapCode::unwrap_user(7),
            TrapKind::Interrupt => TrapCode::unwrap_user(8),
            TrapKind::OutOfFuel => TrapCode::unwrap_user(9),
            TrapKind::ArrayOutOfBounds => TrapCode::unwrap_user(10),
            TrapKind::CastFailure => TrapCode::unwrap_user(11),
            TrapKind::GcHeapExhausted => TrapCode::unwrap_user(12),
        }
    }

    /// The trap kind a Cranelift trap code stands for.
    pub fn from_trap_code(code: TrapCode) -> Option<TrapKind> {
        TrapKind::ALL.into_iter().find(|k| k.trap_code() == code)
    }

    /// The message the spec's reference interpreter prints for this trap.
    pub const fn message(self) -> &'static str {
        match self {
            TrapKind::StackOverflow => "call stack exhausted",
            TrapKind::MemoryOutOfBounds => "out of bounds memory access",
            TrapKind::UnalignedAtomic => "unaligned atomic",
            TrapKind::TableOutOfBounds => "out of bounds table access",
            TrapKind::IndirectCallToNull => "uninitialized element",
            TrapKind::BadSignature => "indirect call type mismatch",
            TrapKind::IntegerOverflow => "integer overflow",
            TrapKind::IntegerDivisionByZero => "integer divide by zero",
            TrapKind::BadConversionToInteger => "invalid conversion to integer",
            TrapKind::UnreachableCodeReached => "unreachable",
            TrapKind::NullReference => "null reference",
            TrapKind::AtomicWaitNonSharedMemory => "expected shared memory",
            TrapKind::Interrupt => "interrupt",
            TrapKind::OutOfFuel => "all fuel consumed",
            TrapKind::ArrayOutOfBounds => "out of bounds array access",
            TrapKind::CastFailure => "cast failure",
            TrapKind::GcHeapExhausted => "GC heap exhausted",
        }
    }
}

impl fmt::Display for TrapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}
