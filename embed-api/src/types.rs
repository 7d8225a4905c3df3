//! Types of values and of the things modules import and export.

pub use wasmjit_codegen::{FuncType, GlobalType, MemoryType, TableType, ValType};

/// The type of an import or export.
#[derive(Clone, Debug, PartialEq)]
pub enum ExternType {
    /// A function of this signature.
    Func(FuncType),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
}
