//! The layout of the per-instance context (vmctx) that compiled code reads.
//!
//! Compiled functions receive their instance's vmctx as the first argument and reach every
//! instance-level entity through it at the fixed offsets computed here. The runtime builds
//! the vmctx with the same offsets. Pointers are 8 bytes: wasmjit runs on 64-bit hosts.
//!
//! ```text
//! 0                  *const VMStoreContext   (stack_limit: usize at offset 0)
//! 8                  *const builtin table    (one fn pointer per `Builtin`)
//! 16                 *mut Instance           (opaque to compiled code)
//! 24                 type_ids: [u32; types]  (engine-wide signature ids), padded to 8
//! memories           [{ base: *mut u8, definition: *const VMMemoryDefinition }; memories]
//! imported functions [{ func_ptr, vmctx }; imported functions]
//! tables             [*const VMTableDefinition; tables]
//! globals            [*mut VMGlobal; globals]
//! func_refs          [VMFuncRef; functions]
//! tags               [*const VMTag; tags]    (a tag's identity is its address)
//! ```
//!
//! Runtime records that compiled code reads through those pointers:
//! - `VMMemoryDefinition { base: *mut u8 @0, current_length: usize @8 }` (length in bytes);
//! - `VMTableDefinition { base: *mut *const VMFuncRef @0, current_elements: u64 @8 }`;
//! - `VMGlobal`: 16 bytes holding the value, little-endian, at offset 0;
//! - `VMFuncRef { func_ptr @0, type_id: u32 @8, vmctx @16 }`; a null funcref is a null pointer;
//! - `VMException { tag: *const VMTag @0, payload: *const [u8; 16] @8 }`; an `exnref` is its
//!   address.

use crate::module::ModuleInfo;
use serde::{Deserialize, Serialize};

/// Size of one `VMFuncRef`.
pub const VMFUNCREF_SIZE: u32 = 24;

/// Size of one value slot in the arrays that trampolines pass between host and wasm.
pub const VALRAW_SIZE: u32 = 16;

/// Offsets of every vmctx field for one module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VMOffsets {
    num_types: u32,
    num_memories: u32,
    num_imported_funcs: u32,
    num_tables: u32,
    num_globals: u32,
    num_funcs: u32,
    num_tags: u32,
    type_ids: u32,
    memories: u32,
    imported_funcs: u32,
    tables: u32,
    globals: u32,
    func_refs: u32,
    tags: u32,
    size: u32,
}

impl VMOffsets {
    /// Offset of the store-context pointer.
    pub const STORE_CONTEXT: u32 = 0;
    /// Offset of the builtin-table pointer.
    pub const BUILTINS: u32 = 8;
    /// Offset of the owning-instance pointer.
    pub const INSTANCE: u32 = 16;
    /// Offset of `stack_limit` within the store context.
    pub const STORE_CONTEXT_STACK_LIMIT: u32 = 0;
    /// Offset of the fuel left, complemented (a `u64`, `!left`), in the store context.
    pub const STORE_CONTEXT_FUEL: u32 = 24;
    /// Offset of the GC heap's start (a `usize`) in the store context.
    pub const STORE_CONTEXT_GC_HEAP_START: u32 = 48;
    /// Offset of the end of the GC heap's objects (a `usize`) in the store context.
    pub const STORE_CONTEXT_GC_HEAP_END: u32 = 56;
    /// Offset of the return address of the last exit from wasm to the host (a `usize`) in
    /// the store context.
    pub const STORE_CONTEXT_EXIT_PC: u32 = 64;
    /// Offset of the frame pointer of the last exit from wasm to the host (a `usize`, 0
    /// when none is recorded) in the store context.
    pub const STORE_CONTEXT_EXIT_FP: u32 = 72;
    /// Offset of the next inline GC allocation's address (a `usize`) in the store context.
    pub const STORE_CONTEXT_GC_ALLOC_NEXT: u32 = 80;
    /// Offset of the end of the inline GC allocation buffer (a `usize`) in the store context.
    pub const STORE_CONTEXT_GC_ALLOC_END: u32 = 88;
    /// Offset of the epoch poll page's address (a pointer) in the store context: loop
    /// headers read its first byte with epoch interruption.
    pub const STORE_CONTEXT_EPOCH_POLL: u32 = 96;
    /// Offset of `base` within a `VMMemoryDefinition`.
    pub const MEMORY_DEFINITION_BASE: u32 = 0;
    /// Offset of `current_length` within a `VMMemoryDefinition`.
    pub const MEMORY_DEFINITION_LENGTH: u32 = 8;
    /// Offset of `base` within a `VMTableDefinition`.
    pub const TABLE_DEFINITION_BASE: u32 = 0;
    /// Offset of `current_elements` within a `VMTableDefinition`.
    pub const TABLE_DEFINITION_LENGTH: u32 = 8;
    /// Offset of `func_ptr` within a `VMFuncRef`.
    pub const FUNCREF_FUNC_PTR: u32 = 0;
    /// Offset of `type_id` within a `VMFuncRef`.
    pub const FUNCREF_TYPE_ID: u32 = 8;
    /// Offset of `vmctx` within a `VMFuncRef`.
    pub const FUNCREF_VMCTX: u32 = 16;
    /// Offset of the tag's address within a `VMException`.
    pub const EXCEPTION_TAG: u32 = 0;
    /// Offset of the payload pointer (to 16-byte value slots) within a `VMException`.
    pub const EXCEPTION_PAYLOAD: u32 = 8;

    /// Computes the layout for `module`.
    pub fn new(module: &ModuleInfo) -> Self {
        let num_types = module.types.len() as u32;
        let num_memories = module.memories.len() as u32;
        let num_imported_funcs = module.num_imported_funcs;
        let num_tables = module.tables.len() as u32;
        let num_globals = module.globals.len() as u32;
        let num_funcs = module.functions.len() as u32;
        let type_ids = 24;
        let memories = align8(type_ids + 4 * num_types);
        let imported_funcs = memories + 16 * num_memories;
        let tables = imported_funcs + 16 * num_imported_funcs;
        let globals = tables + 8 * num_tables;
        let func_refs = globals + 8 * num_globals;
        let num_tags = module.tags.len() as u32;
        let tags = func_refs + VMFUNCREF_SIZE * num_funcs;
        let size = tags + 8 * num_tags;
        VMOffsets {
            num_types,
            num_memories,
            num_imported_funcs,
            num_tables,
            num_globals,
            num_funcs,
            num_tags,
            type_ids,
            memories,
            imported_funcs,
            tables,
            globals,
            func_refs,
            tags,
            size,
        }
    }

    /// Total size of the vmctx in bytes.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// Offset of the engine-wide signature id (a `u32`) of module type `index`.
    pub fn type_id(&self, index: u32) -> u32 {
        assert!(index < self.num_types);
        self.type_ids + 4 * index
    }

    /// Offset of memory `index`'s base pointer (never changes for the life of the instance).
    pub fn memory_base(&self, index: u32) -> u32 {
        assert!(index < self.num_memories);
        self.memories + 16 * index
    }

    /// Offset of memory `index`'s `*const VMMemoryDefinition`.
    pub fn memory_definition(&self, index: u32) -> u32 {
        self.memory_base(index) + 8
    }

    /// Offset of imported function `index`'s code pointer.
    pub fn imported_func_ptr(&self, index: u32) -> u32 {
        assert!(index < self.num_imported_funcs);
        self.imported_funcs + 16 * index
    }

    /// Offset of imported function `index`'s callee vmctx.
    pub fn imported_func_vmctx(&self, index: u32) -> u32 {
        self.imported_func_ptr(index) + 8
    }

    /// Offset of table `index`'s `*const VMTableDefinition`.
    pub fn table_definition(&self, index: u32) -> u32 {
        assert!(index < self.num_tables);
        self.tables + 8 * index
    }

    /// Offset of global `index`'s `*mut VMGlobal`.
    pub fn global_ptr(&self, index: u32) -> u32 {
        assert!(index < self.num_globals);
        self.globals + 8 * index
    }

    /// Offset of function `index`'s `VMFuncRef`, the value of `ref.func index`.
    pub fn func_ref(&self, index: u32) -> u32 {
        assert!(index < self.num_funcs);
        self.func_refs + VMFUNCREF_SIZE * index
    }

    /// Offset of tag `index`'s `*const VMTag`.
    pub fn tag(&self, index: u32) -> u32 {
        assert!(index < self.num_tags);
        self.tags + 8 * index
    }
}

fn align8(n: u32) -> u32 {
    (n + 7) & !7
}
