//! Errors and traps.
//!
//! Every error type here is wasmjit's own; the code generator's and the runtime's errors are
//! converted at the crate boundary so that those crates can change without changing the API.

use crate::tag::ExnRef;
use std::fmt;

use wasmjit_codegen::TrapKind;

/// A WebAssembly trap: the guest stopped with one of the spec's runtime errors.
///
/// Reach it with [`Error::trap`] or, as with wasmtime, `error.downcast_ref::<Trap>()`.
/// Displays as the message the spec's reference interpreter prints (`"integer divide by
/// zero"`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Trap {
    /// The wasm call stack exceeded the configured maximum ([`crate::Config::max_wasm_stack`]).
    StackOverflow,
    /// A load or store outside linear memory.
    MemoryOutOfBounds,
    /// An atomic access at an address that is not a multiple of its size.
    HeapMisaligned,
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
    /// `memory.atomic.wait` on a memory that is not shared.
    AtomicWaitNonSharedMemory,
    /// The engine's epoch reached the store's deadline ([`crate::Config::epoch_interruption`]).
    Interrupt,
    /// The store ran out of fuel ([`crate::Config::consume_fuel`]).
    OutOfFuel,
    /// An array access outside the array.
    ArrayOutOfBounds,
    /// `ref.cast` of a reference that is not of the target type.
    CastFailure,
    /// A GC allocation beyond the store's GC heap limit.
    GcHeapExhausted,
}

impl Trap {
    /// The message the spec's reference interpreter prints for this trap (the spec
    /// scripts' `assert_trap` texts).
    pub fn message(self) -> &'static str {
        match self {
            Trap::StackOverflow => "call stack exhausted",
            Trap::MemoryOutOfBounds => "out of bounds memory access",
            Trap::HeapMisaligned => "unaligned atomic",
            Trap::TableOutOfBounds => "out of bounds table access",
            Trap::IndirectCallToNull => "uninitialized element",
            Trap::BadSignature => "indirect call type mismatch",
            Trap::IntegerOverflow => "integer overflow",
            Trap::IntegerDivisionByZero => "integer divide by zero",
            Trap::BadConversionToInteger => "invalid conversion to integer",
            Trap::UnreachableCodeReached => "unreachable",
            Trap::NullReference => "null reference",
            Trap::AtomicWaitNonSharedMemory => "expected shared memory",
            Trap::Interrupt => "interrupt",
            Trap::OutOfFuel => "all fuel consumed",
            Trap::ArrayOutOfBounds => "out of bounds array access",
            Trap::CastFailure => "cast failure",
            Trap::GcHeapExhausted => "GC heap exhausted",
        }
    }

    pub(crate) fn from_codegen(kind: TrapKind) -> Self {
        match kind {
            TrapKind::StackOverflow => Trap::StackOverflow,
            TrapKind::MemoryOutOfBounds => Trap::MemoryOutOfBounds,
            TrapKind::UnalignedAtomic => Trap::HeapMisaligned,
            TrapKind::TableOutOfBounds => Trap::TableOutOfBounds,
            TrapKind::IndirectCallToNull => Trap::IndirectCallToNull,
            TrapKind::BadSignature => Trap::BadSignature,
            TrapKind::IntegerOverflow => Trap::IntegerOverflow,
            TrapKind::IntegerDivisionByZero => Trap::IntegerDivisionByZero,
            TrapKind::BadConversionToInteger => Trap::BadConversionToInteger,
            TrapKind::UnreachableCodeReached => Trap::UnreachableCodeReached,
            TrapKind::NullReference => Trap::NullReference,
            TrapKind::AtomicWaitNonSharedMemory => Trap::AtomicWaitNonSharedMemory,
            TrapKind::Interrupt => Trap::Interrupt,
            TrapKind::OutOfFuel => Trap::OutOfFuel,
            TrapKind::ArrayOutOfBounds => Trap::ArrayOutOfBounds,
            TrapKind::CastFailure => Trap::CastFailure,
            TrapKind::GcHeapExhausted => Trap::GcHeapExhausted,
        }
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Trap {}

/// Why a module could not be compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompileError {
    /// The bytes are not a valid module.
    Invalid {
        /// What is wrong, as the validator words it.
        message: String,
        /// The byte offset in the binary where it was found.
        offset: usize,
    },
    /// The module is valid but uses something wasmjit does not compile, or the target is
    /// not supported.
    Unsupported(String),
    /// The code generator rejected the generated code (a bug in wasmjit).
    Codegen(String),
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::Invalid { message, offset } => {
                write!(f, "invalid module: {message} (at offset 0x{offset:x})")
            }
            CompileError::Unsupported(what) => write!(f, "unsupported: {what}"),
            CompileError::Codegen(msg) => write!(f, "code generation failed: {msg}"),
        }
    }
}

impl std::error::Error for CompileError {}

impl CompileError {
    pub(crate) fn from_codegen(e: wasmjit_codegen::CompileError) -> Self {
        use wasmjit_codegen::CompileError as Cg;
        match e {
            Cg::Invalid(e) => CompileError::Invalid {
                message: e.message().to_string(),
                offset: usize::try_from(e.offset()).unwrap_or(usize::MAX),
            },
            Cg::Unsupported(what) => CompileError::Unsupported(what),
            Cg::Codegen(msg) => CompileError::Codegen(msg),
        }
    }
}

/// A broken rule of linear memory: bad limits, growth past the maximum, or a refusal of the
/// operating system.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MemoryError {
    /// The initial size exceeds the largest allowed (65536 pages for a 32-bit memory).
    InitialTooLarge {
        /// Requested initial pages.
        pages: u64,
    },
    /// The maximum exceeds the largest allowed (65536 pages for a 32-bit memory).
    MaximumTooLarge {
        /// Requested maximum pages.
        pages: u64,
    },
    /// The initial size exceeds the maximum.
    InitialAboveMaximum {
        /// Requested initial pages.
        initial: u64,
        /// Requested maximum pages.
        maximum: u64,
    },
    /// A shared memory was requested without a maximum.
    SharedWithoutMaximum,
    /// Growing would pass the maximum (or 65536 pages); nothing changed.
    GrowBeyondMaximum {
        /// Pages before the attempt.
        current: u64,
        /// Pages requested.
        delta: u64,
        /// The limit.
        maximum: u64,
    },
    /// Every memory slot of the pooling allocator is in use
    /// ([`crate::PoolingAllocationConfig::total_memories`]).
    PoolExhausted {
        /// The pool's number of memory slots.
        slots: u32,
    },
    /// The initial size exceeds the pooling allocator's limit per memory
    /// ([`crate::PoolingAllocationConfig::max_memory_size`]).
    PoolSlotTooSmall {
        /// Requested initial pages.
        pages: u64,
        /// The most pages a pooled memory may have.
        limit: u64,
    },
    /// A page size other than 1 or 65536 bytes (the only ones of the custom-page-sizes
    /// proposal).
    PageSize {
        /// log2 of the requested page size.
        log2: u8,
    },
    /// The operating system refused the address space or the pages.
    Os(String),
}

impl fmt::Display for MemoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemoryError::InitialTooLarge { pages } => {
                write!(f, "initial size of {pages} pages exceeds the limit")
            }
            MemoryError::MaximumTooLarge { pages } => {
                write!(f, "maximum size of {pages} pages exceeds the limit")
            }
            MemoryError::InitialAboveMaximum { initial, maximum } => write!(
                f,
                "initial size of {initial} pages exceeds the maximum of {maximum} pages"
            ),
            MemoryError::SharedWithoutMaximum => f.write_str("a shared memory needs a maximum"),
            MemoryError::GrowBeyondMaximum {
                current,
                delta,
                maximum,
            } => write!(
                f,
                "cannot grow a memory of {current} pages by {delta}: the maximum is {maximum} pages"
            ),
            MemoryError::PoolExhausted { slots } => write!(
                f,
                "the pooling allocator's {slots} memory slots are all in use"
            ),
            MemoryError::PoolSlotTooSmall { pages, limit } => write!(
                f,
                "initial size of {pages} pages exceeds the pooling allocator's limit of \
                 {limit} pages per memory"
            ),
            MemoryError::PageSize { log2 } => write!(
                f,
                "a page size of 2^{log2} bytes is not allowed (only 1 and 65536 are)"
            ),
            MemoryError::Os(e) => write!(f, "the operating system refused the memory: {e}"),
        }
    }
}

impl std::error::Error for MemoryError {}

impl MemoryError {
    pub(crate) fn from_runtime(e: wasmjit_runtime::memory::MemoryError) -> Self {
        use wasmjit_runtime::memory::MemoryError as Rt;
        match e {
            Rt::InitialTooLarge { pages } => MemoryError::InitialTooLarge { pages },
            Rt::MaximumTooLarge { pages } => MemoryError::MaximumTooLarge { pages },
            Rt::InitialAboveMaximum { initial, maximum } => {
                MemoryError::InitialAboveMaximum { initial, maximum }
            }
            Rt::SharedWithoutMaximum => MemoryError::SharedWithoutMaximum,
            Rt::GrowBeyondMaximum {
                current,
                delta,
                maximum,
            } => MemoryError::GrowBeyondMaximum {
                current,
                delta,
                maximum,
            },
            Rt::PoolExhausted { slots } => MemoryError::PoolExhausted { slots },
            Rt::PoolSlotTooSmall { pages, limit } => MemoryError::PoolSlotTooSmall { pages, limit },
            Rt::Os(e) => MemoryError::Os(e),
        }
    }
}

/// A table operation the table's limits do not allow.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TableError {
    /// An index or range past the end of the table.
    OutOfBounds,
    /// Growing would pass the maximum; nothing changed.
    GrowBeyondMaximum,
    /// The initial size exceeds the most elements wasmjit allows in a table.
    TooLarge(u64),
}

impl fmt::Display for TableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TableError::OutOfBounds => f.write_str("out of bounds table access"),
            TableError::GrowBeyondMaximum => f.write_str("table cannot grow past its maximum"),
            TableError::TooLarge(n) => write!(f, "table of {n} elements exceeds the limit"),
        }
    }
}

impl std::error::Error for TableError {}

impl TableError {
    pub(crate) fn from_runtime(e: wasmjit_runtime::table::TableError) -> Self {
        use wasmjit_runtime::table::TableError as Rt;
        match e {
            Rt::OutOfBounds => TableError::OutOfBounds,
            Rt::GrowBeyondMaximum => TableError::GrowBeyondMaximum,
            Rt::TooLarge(n) => TableError::TooLarge(n),
        }
    }
}

/// Everything that can go wrong when configuring, loading, linking or running WebAssembly.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The engine's configuration is invalid or asks for something wasmjit does not support.
    Config(String),
    /// The module is malformed, invalid, or uses something not supported.
    Compile(CompileError),
    /// The WebAssembly text could not be parsed.
    Text(String),
    /// The guest trapped.
    Trap(Trap),
    /// An import is missing or has the wrong type, a name is defined twice in a
    /// [`crate::Linker`], or an item belongs to another store.
    Link(String),
    /// A memory rule was broken: bad limits, growth past the maximum, or the operating
    /// system refused the memory.
    Memory(MemoryError),
    /// A table operation failed.
    Table(TableError),
    /// A value or function of the wrong type was passed.
    Type(String),
    /// The store's resource limiter refused a memory, table or instance, or the pooling
    /// allocator's limit of instances or tables is reached.
    Limit(String),
    /// A host function failed with its own error.
    Host(Box<dyn std::error::Error + Send + Sync>),
    /// A precompiled module could not be loaded: it is not one, it is truncated or
    /// corrupted, or it was compiled by another wasmjit version, for another target or with
    /// settings that change code differently from the engine's.
    Artifact(String),
    /// A wasm exception no handler caught ([`ExnRef::tag`] and [`ExnRef::payload`] tell
    /// which); returned by a host function, it throws the exception into its wasm caller.
    Exception(ExnRef),
}

impl Error {
    /// The trap, if this error is one.
    pub fn trap(&self) -> Option<Trap> {
        match self {
            Error::Trap(trap) => Some(*trap),
            _ => None,
        }
    }

    /// The error of type `E` this error is or holds, as wasmtime users reach a trap with
    /// `err.downcast_ref::<Trap>()`: a [`Trap`], [`MemoryError`], [`TableError`] or
    /// [`CompileError`], or a host function's own error (searched through its
    /// [`source`](std::error::Error::source) chain).
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(error) = next {
            if let Some(found) = error.downcast_ref::<E>() {
                return Some(found);
            }
            next = error.source();
        }
        None
    }

    /// A code generator's error as an API error.
    pub(crate) fn compile(e: wasmjit_codegen::CompileError) -> Self {
        Error::Compile(CompileError::from_codegen(e))
    }

    /// A runtime memory error as an API error.
    pub(crate) fn memory(e: wasmjit_runtime::memory::MemoryError) -> Self {
        Error::Memory(MemoryError::from_runtime(e))
    }

    /// A runtime table error as an API error.
    pub(crate) fn table(e: wasmjit_runtime::table::TableError) -> Self {
        Error::Table(TableError::from_runtime(e))
    }

    /// An error from a host function, with a message.
    pub fn msg(message: impl Into<String>) -> Self {
        Error::Host(message.into().into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(e) => write!(f, "invalid configuration: {e}"),
            Error::Compile(e) => e.fmt(f),
            Error::Text(e) => write!(f, "invalid text format: {e}"),
            Error::Trap(t) => write!(f, "wasm trap: {t}"),
            Error::Link(e) => e.fmt(f),
            Error::Memory(e) => e.fmt(f),
            Error::Table(e) => e.fmt(f),
            Error::Limit(e) => e.fmt(f),
            Error::Type(e) => write!(f, "type mismatch: {e}"),
            Error::Host(e) => e.fmt(f),
            Error::Artifact(e) => write!(f, "cannot load precompiled module: {e}"),
            Error::Exception(_) => f.write_str("uncaught wasm exception"),
        }
    }
}

/// The source of a trap, compile, memory, table or host error is the inner error.
impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Compile(e) => Some(e),
            Error::Trap(t) => Some(t),
            Error::Memory(e) => Some(e),
            Error::Table(e) => Some(e),
            Error::Host(e) => Some(&**e),
            Error::Config(_)
            | Error::Text(_)
            | Error::Link(_)
            | Error::Type(_)
            | Error::Limit(_)
            | Error::Artifact(_)
            | Error::Exception(_) => None,
        }
    }
}

impl From<CompileError> for Error {
    fn from(e: CompileError) -> Self {
        Error::Compile(e)
    }
}

impl From<Trap> for Error {
    fn from(t: Trap) -> Self {
        Error::Trap(t)
    }
}

impl From<MemoryError> for Error {
    fn from(e: MemoryError) -> Self {
        Error::Memory(e)
    }
}

impl From<TableError> for Error {
    fn from(e: TableError) -> Self {
        Error::Table(e)
    }
}

/// Results of the embedding API.
pub type Result<T, E = Error> = std::result::Result<T, E>;
