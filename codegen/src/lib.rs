//! wasmjit's code generator: WebAssembly modules to relocatable machine code.
//!
//! The crate decodes and validates a module with `wasmparser`, records what the runtime needs
//! to instantiate it ([`ModuleInfo`]), fixes the layout of the per-instance context that compiled
//! code reads ([`VMOffsets`]), and translates every function body to Cranelift IR and then to
//! machine code for the chosen target ([`compile_module`]). Its output is plain data: code
//! bytes, relocations and trap tables. It knows nothing of signals, memory mappings or the
//! embedding API; the runtime links and runs what it produces.

mod abi;
mod builtins;
mod code_settings;
mod compile;
mod config;
mod error;
pub mod gc_layout;
mod inline;
mod link;
mod memory_layout;
mod merge_blocks;
mod module;
mod target;
mod trampolines;
mod translate;
mod trap;
mod vmoffsets;

pub use builtins::Builtin;
pub use code_settings::CodeSettings;
pub use compile::{
    compile_host_trampolines, compile_module, CallSiteHandler, CompiledModule, MathCall, RelocKind,
    StackMap,
};
pub use config::{BoundsChecks, CodegenConfig, OptLevel, MEMORY_RESERVATION};
pub use error::CompileError;
pub use link::{CodeLayout, LoadReloc, LoadTarget};
pub use memory_layout::{
    BoundsStrategy, LayoutMismatch, MemoryAssumptions, MemoryLayout, Mismatch, WASM_PAGE_SIZE_LOG2,
};
pub use module::{
    CompositeType, ConstExpr, ConstOp, DataKind, DataSegment, ElemItems, ElemKind, ElementSegment,
    EntityIndex, EntityType, Export, FieldType, FuncType, GlobalType, HeapType, Import, MemoryType,
    ModuleInfo, RefType, StorageType, SubType, TableType, TypeKind, TypeLookup, ValType,
};
pub use target::Target;
pub use trampolines::{HOST_CONTEXT_CALLBACK, HOST_CONTEXT_STORE_CONTEXT, HOST_CONTEXT_THROW};
pub use trap::TrapKind;
pub use vmoffsets::{VMOffsets, VALRAW_SIZE, VMFUNCREF_SIZE};

/// Size of a WebAssembly page in bytes.
pub const WASM_PAGE_SIZE: u64 = 65536;

/// Largest number of pages a 32-bit memory can have (4 GiB).
pub const WASM32_MAX_PAGES: u64 = 65536;
