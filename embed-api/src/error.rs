//! Errors and traps.

use std::fmt;

use wasmjit_codegen::{CompileError, TrapKind};
use wasmjit_runtime::memory::MemoryError;
use wasmjit_runtime::table::TableError;

/// A WebAssembly trap: the guest stopped with one of the spec's runtime errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trap {
    kind: TrapKind,
}

impl Trap {
    /// A trap of the given kind.
    pub fn new(kind: TrapKind) -> Self {
        Trap { kind }
    }

    /// Which trap it was.
    pub fn kind(&self) -> TrapKind {
        self.kind
    }
}

impl fmt::Display for Trap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "wasm trap: {}", self.kind.message())
    }
}

impl std::error::Error for Trap {}

/// Everything that can go wrong when loading, linking or running WebAssembly.
#[derive(Debug)]
pub enum Error {
    /// The module is malformed, invalid, or uses something not supported.
    Compile(CompileError),
    /// The WebAssembly text could not be parsed.
    Text(String),
    /// The guest trapped.
    Trap(Trap),
    /// An import is missing or has the wrong type, or an item belongs to another store.
    Link(String),
    /// A memory rule was broken: bad limits, growth past the maximum, an access out of
    /// bounds, or the operating system refused the memory.
    Memory(MemoryError),
    /// A table operation failed.
    Table(TableError),
    /// A value or function of the wrong type was passed.
    Type(String),
    /// The store's resource limiter refused a memory, table or instance.
    Limit(String),
    /// A host function failed with its own error.
    Host(Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// The trap, if this error is one.
    pub fn trap(&self) -> Option<&Trap> {
        match self {
            Error::Trap(trap) => Some(trap),
            _ => None,
        }
    }

    /// An error from a host function, with a message.
    pub fn msg(message: impl Into<String>) -> Self {
        Error::Host(message.into().into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Compile(e) => e.fmt(f),
            Error::Text(e) => write!(f, "invalid text format: {e}"),
            Error::Trap(t) => t.fmt(f),
            Error::Link(e) => e.fmt(f),
            Error::Memory(e) => e.fmt(f),
            Error::Table(e) => e.fmt(f),
            Error::Limit(e) => e.fmt(f),
            Error::Type(e) => write!(f, "type mismatch: {e}"),
            Error::Host(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {}

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
