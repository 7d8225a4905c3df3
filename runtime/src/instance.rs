//! Instances: a module's code linked to its memories, tables, globals and imports through a
//! vmctx laid out as `wasmjit_codegen::VMOffsets` says.

use std::alloc::{self, Layout};
use std::cell::{Cell, RefCell};
use std::fmt;
use std::ptr::{self, NonNull};
use std::sync::{Arc, OnceLock};

use wasmjit_codegen::gc_layout::{StructLayout, GC_KIND_STRUCT, GC_PAYLOAD};
use wasmjit_codegen::{
    CompiledModule, ConstExpr, ConstOp, DataKind, ElemItems, ElemKind, GlobalType, LayoutMismatch,
    RefType, StorageType, TableType, TrapKind, VMOffsets, ValType,
};

use crate::allocator::{InstanceAllocator, InstancePermit, PoolLimitError};
use crate::builtins::BUILTINS;
use crate::code_memory::CodeMemory;
use crate::exceptions::VMTag;
use crate::gc::{alloc_array, alloc_object, Allocator};
use crate::memory::{LinearMemory, MemoryError};
use crate::memory_image::{module_images, MemoryImage};
use crate::mmap::Mmap;
use crate::table::{Table, TableError};
use crate::type_registry::TypeRegistry;
use crate::vmcontext::{VMFuncRef, VMGlobal, VMStoreContext};

/// A compiled module made executable: its code in memory and its types registered.
#[derive(Debug)]
pub struct LoadedModule {
    compiled: CompiledModule,
    code: CodeMemory,
    type_ids: Box<[u32]>,
    /// Which functions the module lets out, by function index
    /// (`ModuleInfo::escaping_functions`): see [`LoadedModule::lets_out`].
    escaping: Box<[bool]>,
    /// The defined memories' copy-on-write images, laid out at first use.
    images: OnceLock<Box<[Option<Arc<MemoryImage>>]>>,
}

impl LoadedModule {
    /// Copies `compiled`'s code image into executable memory and registers its types with
    /// `registry`.
    pub fn new(mut compiled: CompiledModule, registry: &TypeRegistry) -> std::io::Result<Self> {
        let image = std::mem::take(&mut compiled.image);
        Self::new_from(compiled, &image, registry)
    }

    /// Copies `image`, the code image `compiled` describes, into executable memory and
    /// registers `compiled`'s types with `registry`.
    pub fn new_from(
        compiled: CompiledModule,
        image: &[u8],
        registry: &TypeRegistry,
    ) -> std::io::Result<Self> {
        check_host(&compiled)?;
        let code = CodeMemory::new(&compiled.code, image)?;
        Ok(Self::with_code(compiled, code, registry))
    }

    /// Runs `compiled`'s code image in place from `mmap`, a private mapping of a file whose
    /// bytes at `offset` (page aligned) are the image, and registers its types with
    /// `registry`; see [`CodeMemory::from_mapping`].
    pub fn from_mapping(
        compiled: CompiledModule,
        mmap: Mmap,
        offset: usize,
        registry: &TypeRegistry,
    ) -> std::io::Result<Self> {
        check_host(&compiled)?;
        let code = CodeMemory::from_mapping(mmap, offset, &compiled.code)?;
        Ok(Self::with_code(compiled, code, registry))
    }

    fn with_code(compiled: CompiledModule, code: CodeMemory, registry: &TypeRegistry) -> Self {
        let type_ids = registry.register_module(&compiled.info.types, &compiled.info.rec_groups);
        let escaping = compiled.info.escaping_functions().into_boxed_slice();
        LoadedModule {
            compiled,
            code,
            type_ids,
            escaping,
            images: OnceLock::new(),
        }
    }

    /// Whether function `index` may be reached other than by its module's direct calls: an
    /// import, or a function the module lets out (an export, an element, a `ref.func` in a
    /// constant expression, the start function). Only these have the signature that the
    /// host's trampolines, tables and references call with; the compiler leaves the
    /// caller's vmctx out of the others' signatures.
    pub fn lets_out(&self, index: u32) -> bool {
        self.compiled.info.is_imported_func(index) || self.escaping[index as usize]
    }

    /// The compiled module's metadata (its code image is in [`LoadedModule::code`]).
    pub fn compiled(&self) -> &CompiledModule {
        &self.compiled
    }

    /// The executable code.
    pub fn code(&self) -> &CodeMemory {
        &self.code
    }

    /// The copy-on-write images of the module's defined memories, by defined-memory index,
    /// laid out on the first call; empty when its data segments must be copied (see
    /// [`crate::memory_image`]).
    pub fn memory_images(&self) -> &[Option<Arc<MemoryImage>>] {
        self.images
            .get_or_init(|| module_images(&self.compiled.info))
    }

    /// The engine-wide signature id of module type `index`.
    pub fn type_id(&self, index: u32) -> u32 {
        self.type_ids[index as usize]
    }

    /// The engine-wide ids of the module's types, by module type index.
    pub fn type_ids(&self) -> &[u32] {
        &self.type_ids
    }

    /// A value type of this module with its concrete type index (if any) replaced by the
    /// engine-wide signature id, the form types take outside the module (see
    /// [`crate::type_registry`]).
    pub fn canonical(&self, ty: ValType) -> ValType {
        ty.map_index(|i| self.type_id(i))
    }

    /// A table type of this module in canonical form (see [`LoadedModule::canonical`]).
    pub fn canonical_table(&self, ty: TableType) -> TableType {
        TableType {
            element: RefType {
                heap: ty.element.heap.map_index(|i| self.type_id(i)),
                ..ty.element
            },
            ..ty
        }
    }

    /// A global type of this module in canonical form (see [`LoadedModule::canonical`]).
    pub fn canonical_global(&self, ty: GlobalType) -> GlobalType {
        GlobalType {
            content: self.canonical(ty.content),
            ..ty
        }
    }
}

/// Refuses code compiled for another machine.
fn check_host(compiled: &CompiledModule) -> std::io::Result<()> {
    if compiled.target.is_host() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "code compiled for {} cannot run on this machine",
            compiled.target
        )))
    }
}

/// What an instance imports, in the module's import order per kind.
#[derive(Debug, Default)]
pub struct Imports {
    /// Imported functions, as callable references.
    pub functions: Vec<VMFuncRef>,
    /// Imported tables; each must outlive the instance.
    pub tables: Vec<NonNull<Table>>,
    /// Imported memories.
    pub memories: Vec<Arc<LinearMemory>>,
    /// Imported globals' storage; each must outlive the instance.
    pub globals: Vec<NonNull<VMGlobal>>,
    /// Imported tags; each must outlive the instance.
    pub tags: Vec<NonNull<VMTag>>,
}

/// Why instantiation failed after linking.
#[derive(Debug)]
pub enum InstantiationError {
    /// A memory could not be created.
    Memory(MemoryError),
    /// A table could not be created.
    Table(TableError),
    /// The pooling allocator's limit of instances or tables is reached.
    Pool(PoolLimitError),
    /// A segment did not fit: the trap the spec prescribes.
    Trap(TrapKind),
    /// Memory `index` (imported ones first) is not laid out as the module's code assumes:
    /// an access the code leaves unchecked could reach past it.
    MemoryLayout {
        /// The memory's index in the module.
        index: u32,
        /// What the code assumes and what the memory gives.
        mismatch: LayoutMismatch,
    },
}

impl fmt::Display for InstantiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstantiationError::Memory(e) => e.fmt(f),
            InstantiationError::Table(e) => e.fmt(f),
            InstantiationError::Pool(e) => e.fmt(f),
            InstantiationError::Trap(kind) => kind.fmt(f),
            InstantiationError::MemoryLayout { index, mismatch } => {
                write!(
                    f,
                    "memory {index} cannot be used by this module's code: {mismatch}"
                )
            }
        }
    }
}

impl std::error::Error for InstantiationError {}

/// The vmctx: a zeroed, 16-byte aligned block of `VMOffsets::size()` bytes.
struct VMContextAlloc {
    ptr: NonNull<u8>,
    layout: Layout,
}

impl VMContextAlloc {
    fn new(size: u32) -> Self {
        let layout = Layout::from_size_align(size.max(16) as usize, 16)
            .expect("a vmctx layout is always valid");
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(ptr).unwrap_or_else(|| alloc::handle_alloc_error(layout));
        VMContextAlloc { ptr, layout }
    }
}

impl Drop for VMContextAlloc {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout, freed once.
        unsafe { alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

/// An instance of a module. Boxed, so that the vmctx's back pointer stays valid.
pub struct Instance {
    module: Arc<LoadedModule>,
    vmctx: VMContextAlloc,
    memories: Vec<Arc<LinearMemory>>,
    tables: Vec<TableSlot>,
    globals: Vec<NonNull<VMGlobal>>,
    defined_globals: Box<[VMGlobal]>,
    /// Every tag, imported ones first.
    tags: Vec<NonNull<VMTag>>,
    /// The tags the module defines (their addresses are their identities).
    _defined_tags: Box<[VMTag]>,
    /// Whether each data segment was dropped (`data.drop`, or applied at instantiation).
    dropped_data: Box<[Cell<bool>]>,
    /// Whether the active data segments are already in place, mapped from memory images.
    data_imaged: bool,
    /// Each element segment's references; emptied when the segment is dropped.
    elements: RefCell<Vec<Vec<*const VMFuncRef>>>,
    host_data: usize,
    /// The instance's place in the pooling allocator's counts.
    _permit: InstancePermit,
}

// SAFETY: the raw pointers point at tables and globals owned by this instance or by the
// store that owns it, which moves between threads together with the instance.
unsafe impl Send for Instance {}

impl fmt::Debug for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Instance")
            .field("vmctx", &self.vmctx.ptr)
            .field("host_data", &self.host_data)
            .finish_non_exhaustive()
    }
}

impl Instance {
    /// Allocates the instance and fills its vmctx: imports, new memories, tables and
    /// globals (with their initial values), and a funcref for every function. Segments are
    /// applied by [`Instance::initialize`].
    ///
    /// `host_data` is the embedder's own tag for the instance, read back by
    /// [`Instance::host_data`].
    ///
    /// # Safety
    /// `imports` must match the module's import types, and they and `store` must outlive the
    /// instance: compiled code dereferences them.
    pub unsafe fn new(
        module: Arc<LoadedModule>,
        imports: Imports,
        store: *const VMStoreContext,
        allocator: &InstanceAllocator,
        host_data: usize,
    ) -> Result<Box<Instance>, InstantiationError> {
        let info = &module.compiled.info;
        let defined_tables = info.tables.len() as u32 - info.num_imported_tables;
        let permit = allocator
            .reserve_instance(defined_tables)
            .map_err(InstantiationError::Pool)?;
        let images = if allocator.memory_init_cow() {
            module.memory_images()
        } else {
            &[]
        };
        let mut memories = imports.memories;
        for (index, ty) in info.memories[info.num_imported_memories as usize..]
            .iter()
            .enumerate()
        {
            let image = images.get(index).and_then(Option::as_ref);
            let memory = allocator
                .allocate_memory(ty, image)
                .map_err(InstantiationError::Memory)?;
            memories.push(Arc::new(memory));
        }
        // Every memory, imported or created here by whatever allocator, must give what the
        // code relies on before the code can run: this is what keeps unchecked accesses
        // inside their memory.
        for (index, (memory, assumed)) in memories
            .iter()
            .zip(&module.compiled.memory_assumptions)
            .enumerate()
        {
            assumed.check(&memory.layout()).map_err(|mismatch| {
                InstantiationError::MemoryLayout {
                    index: index as u32,
                    mismatch,
                }
            })?;
        }
        let mut tables: Vec<TableSlot> = imports
            .tables
            .into_iter()
            .map(TableSlot::Imported)
            .collect();
        for ty in &info.tables[info.num_imported_tables as usize..] {
            let ty = module.canonical_table(*ty);
            let table = Table::with_limit(ty, ptr::null(), allocator.table_elements())
                .map_err(InstantiationError::Table)?;
            tables.push(TableSlot::Defined(OwnedTable(NonNull::from(Box::leak(
                Box::new(table),
            )))));
        }
        let defined_globals: Box<[VMGlobal]> = info
            .global_inits
            .iter()
            .map(|_| VMGlobal::default())
            .collect();
        let mut globals = imports.globals;
        globals.extend(defined_globals.iter().map(NonNull::from));
        let defined_tags: Box<[VMTag]> = info.tags[info.num_imported_tags as usize..]
            .iter()
            .map(|ty| VMTag {
                ty: {
                    let canonical = info.types[*ty as usize].map_index(&|i| module.type_id(i));
                    canonical
                        .as_func()
                        .expect("validated: a tag's type is a function type")
                        .clone()
                },
                type_id: module.type_id(*ty),
            })
            .collect();
        let mut tags = imports.tags;
        tags.extend(defined_tags.iter().map(NonNull::from));

        let offsets = &module.compiled.offsets;
        let vmctx = VMContextAlloc::new(offsets.size());
        let mut instance = Box::new(Instance {
            module: module.clone(),
            vmctx,
            memories,
            tables,
            globals,
            defined_globals,
            tags,
            _defined_tags: defined_tags,
            dropped_data: info.data.iter().map(|_| Cell::new(false)).collect(),
            data_imaged: !images.is_empty(),
            elements: RefCell::new(Vec::new()),
            host_data,
            _permit: permit,
        });
        let instance_ptr: *mut Instance = &mut *instance;
        let fields = VMContextWriter {
            base: instance.vmctx.ptr.as_ptr(),
        };
        // SAFETY: every offset below comes from the module's `VMOffsets`, which lie inside
        // the vmctx allocation of `offsets.size()` bytes, at 8-byte aligned positions.
        unsafe {
            fields.write(VMOffsets::STORE_CONTEXT, store);
            fields.write(VMOffsets::BUILTINS, &BUILTINS as *const _);
            fields.write(VMOffsets::INSTANCE, instance_ptr);
            for (index, id) in module.type_ids.iter().enumerate() {
                fields.write(offsets.type_id(index as u32), *id);
            }
            for (index, memory) in instance.memories.iter().enumerate() {
                fields.write(offsets.memory_base(index as u32), memory.base());
                fields.write(offsets.memory_definition(index as u32), memory.definition());
            }
            for (index, import) in imports.functions.iter().enumerate() {
                fields.write(offsets.imported_func_ptr(index as u32), import.func_ptr);
                fields.write(offsets.imported_func_vmctx(index as u32), import.vmctx);
                fields.write(offsets.func_ref(index as u32), *import);
            }
            for index in 0..instance.tables.len() as u32 {
                let table = instance.table(index);
                fields.write(offsets.table_definition(index), table.as_ref().definition());
            }
            for (index, global) in instance.globals.iter().enumerate() {
                fields.write(offsets.global_ptr(index as u32), global.as_ptr());
            }
            for (index, tag) in instance.tags.iter().enumerate() {
                fields.write(offsets.tag(index as u32), tag.as_ptr() as *const VMTag);
            }
            let vmctx = fields.base;
            for index in info.num_imported_funcs..info.functions.len() as u32 {
                let defined = index - info.num_imported_funcs;
                let func_ref = VMFuncRef {
                    func_ptr: module.code.function(defined),
                    type_id: module.type_id(info.functions[index as usize]),
                    vmctx,
                };
                fields.write(offsets.func_ref(index), func_ref);
            }
        }
        // Table initialisers may name functions (whose funcrefs now exist) and imported
        // globals, not the module's own globals, which come later in the module.
        for (i, init) in info.table_inits.iter().enumerate() {
            if let Some(init) = init {
                let value = u128::from_le_bytes(instance.eval(init)?) as usize as *const VMFuncRef;
                let index = info.num_imported_tables + i as u32;
                // SAFETY: the table was just created by this instance; nothing else refers
                // to it yet.
                let table = unsafe { instance.table(index).as_mut() };
                table
                    .fill(0, value, table.size())
                    .map_err(InstantiationError::Table)?;
            }
        }
        for (i, init) in info.global_inits.iter().enumerate() {
            let value = instance.eval(init)?;
            let global = &instance.defined_globals[i];
            // SAFETY: the global was just created and nothing else refers to it yet.
            unsafe { *global.bytes.get() = value };
        }
        let elements = info
            .elements
            .iter()
            .map(|segment| instance.segment_items(&segment.items))
            .collect::<Result<_, _>>()?;
        *instance.elements.get_mut() = elements;
        Ok(instance)
    }

    /// Applies the active element and data segments in order, as the spec's instantiation
    /// does: a segment that does not fit traps, leaving earlier segments' writes in place.
    pub fn initialize(&mut self) -> Result<(), InstantiationError> {
        let module = self.module.clone();
        let info = &module.compiled.info;
        for (index, segment) in info.elements.iter().enumerate() {
            if let ElemKind::Active { table, offset } = &segment.kind {
                // An `i64` offset for a 64-bit table, an `i32` otherwise.
                let value = self.eval(offset)?;
                let offset = if info.tables[*table as usize].table64 {
                    u64::from_le_bytes(value[..8].try_into().unwrap_or([0; 8]))
                } else {
                    u64::from(u32::from_le_bytes(value[..4].try_into().unwrap_or([0; 4])))
                };
                let items = std::mem::take(&mut self.elements.get_mut()[index]);
                // SAFETY: the table outlives the instance and nothing else borrows it now.
                let table = unsafe { self.table(*table).as_mut() };
                table
                    .init(offset, &items)
                    .map_err(|_| InstantiationError::Trap(TrapKind::TableOutOfBounds))?;
            }
            if !matches!(segment.kind, ElemKind::Passive) {
                self.elements.get_mut()[index].clear();
            }
        }
        for (index, segment) in info.data.iter().enumerate() {
            let DataKind::Active { memory, offset } = &segment.kind else {
                continue;
            };
            if self.data_imaged {
                self.dropped_data[index].set(true);
                continue;
            }
            // An `i64` offset for a 64-bit memory, an `i32` otherwise.
            let value = self.eval(offset)?;
            let offset = if info.memories[*memory as usize].memory64 {
                u64::from_le_bytes(value[..8].try_into().unwrap_or([0; 8]))
            } else {
                u64::from(u32::from_le_bytes(value[..4].try_into().unwrap_or([0; 4])))
            };
            self.memory_init(*memory, index as u32, offset, 0, segment.bytes.len() as u64)
                .map_err(InstantiationError::Trap)?;
            self.dropped_data[index].set(true);
        }
        Ok(())
    }

    /// The references an element segment's items evaluate to.
    fn segment_items(
        &self,
        items: &ElemItems,
    ) -> Result<Vec<*const VMFuncRef>, InstantiationError> {
        match items {
            ElemItems::Functions(indices) => {
                Ok(indices.iter().map(|f| self.func_ref(*f)).collect())
            }
            ElemItems::Expressions(exprs) => exprs
                .iter()
                .map(|e| {
                    let value = u128::from_le_bytes(self.eval(e)?);
                    Ok(value as usize as *const VMFuncRef)
                })
                .collect(),
        }
    }

    /// `memory.init`: copies `len` bytes of data segment `segment` from `src` to `dst` in
    /// memory `memory`, or nothing if either range is out of bounds.
    pub fn memory_init(
        &self,
        memory: u32,
        segment: u32,
        dst: u64,
        src: u64,
        len: u64,
    ) -> Result<(), TrapKind> {
        let bytes = self.data_segment(segment);
        let memory = &self.memories[memory as usize];
        let oob = TrapKind::MemoryOutOfBounds;
        let src_end = src
            .checked_add(len)
            .filter(|e| *e <= bytes.len() as u64)
            .ok_or(oob)?;
        let dst_end = dst
            .checked_add(len)
            .filter(|e| *e <= memory.byte_size() as u64)
            .ok_or(oob)?;
        let source = &bytes[src as usize..src_end as usize];
        debug_assert_eq!(dst_end - dst, source.len() as u64);
        // SAFETY: `dst..dst_end` lies inside the memory's accessible bytes (checked); the
        // segment's bytes are a separate allocation.
        unsafe {
            ptr::copy_nonoverlapping(
                source.as_ptr(),
                memory.base().add(dst as usize),
                source.len(),
            )
        };
        Ok(())
    }

    /// The bytes of data segment `segment`; none once it is dropped.
    pub fn data_segment(&self, segment: u32) -> &[u8] {
        if self.dropped_data[segment as usize].get() {
            &[]
        } else {
            &self.module.compiled.info.data[segment as usize].bytes
        }
    }

    /// Calls `f` with the references of element segment `segment` (none once dropped).
    pub fn with_element_segment<R>(
        &self,
        segment: u32,
        f: impl FnOnce(&[*const VMFuncRef]) -> R,
    ) -> R {
        f(&self.elements.borrow()[segment as usize])
    }

    /// `data.drop`.
    pub fn data_drop(&self, segment: u32) {
        self.dropped_data[segment as usize].set(true);
    }

    /// `table.init`: copies `len` references of element segment `segment` from `src` to
    /// `dst` in table `table`, or nothing if either range is out of bounds.
    pub fn table_init(
        &self,
        table: u32,
        segment: u32,
        dst: u64,
        src: u64,
        len: u64,
    ) -> Result<(), TableError> {
        let elements = self.elements.borrow();
        let items = &elements[segment as usize];
        let end = src
            .checked_add(len)
            .filter(|e| *e <= items.len() as u64)
            .ok_or(TableError::OutOfBounds)?;
        // SAFETY: the table lives as long as the instance's store; wasm of this store is
        // the only user while it runs.
        let table = unsafe { self.table(table).as_mut() };
        table.init(dst, &items[src as usize..end as usize])
    }

    /// `elem.drop`.
    pub fn elem_drop(&self, segment: u32) {
        self.elements.borrow_mut()[segment as usize].clear();
    }

    /// Evaluates a constant expression to the raw bytes of its value; an allocation the GC
    /// heap cannot hold is the trap "GC heap exhausted".
    fn eval(&self, expr: &ConstExpr) -> Result<[u8; 16], InstantiationError> {
        let info = &self.module.compiled.info;
        let mut stack: Vec<u128> = Vec::with_capacity(2);
        let pop = |stack: &mut Vec<u128>| stack.pop().unwrap_or(0);
        for op in &expr.ops {
            let value = match *op {
                ConstOp::I32Const(v) => u128::from(v as u32),
                ConstOp::I64Const(v) => u128::from(v as u64),
                ConstOp::F32Const(bits) => u128::from(bits),
                ConstOp::F64Const(bits) => u128::from(bits),
                ConstOp::V128Const(v) => v,
                ConstOp::RefNull => 0,
                ConstOp::RefFunc(index) => self.func_ref(index) as usize as u128,
                ConstOp::GlobalGet(index) => {
                    // SAFETY: the global is alive for the instance's life; reading its
                    // bytes while no wasm runs cannot race.
                    u128::from_le_bytes(unsafe {
                        *self.globals[index as usize].as_ref().bytes.get()
                    })
                }
                ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                    let (b, a) = (pop(&mut stack) as u32, pop(&mut stack) as u32);
                    u128::from(match op {
                        ConstOp::I32Add => a.wrapping_add(b),
                        ConstOp::I32Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    })
                }
                ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                    let (b, a) = (pop(&mut stack) as u64, pop(&mut stack) as u64);
                    u128::from(match op {
                        ConstOp::I64Add => a.wrapping_add(b),
                        ConstOp::I64Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    })
                }
                ConstOp::StructNew(ty) | ConstOp::StructNewDefault(ty) => {
                    let fields = info.struct_fields(ty);
                    let values = if matches!(op, ConstOp::StructNew(_)) {
                        stack.split_off(stack.len().saturating_sub(fields.len()))
                    } else {
                        vec![0; fields.len()]
                    };
                    let layout = StructLayout::new(fields);
                    let object = self.const_alloc(|store| {
                        // SAFETY: the store is the instance's, held by the instantiating
                        // embedder.
                        unsafe {
                            alloc_object(
                                store,
                                Allocator::Host,
                                self.module.type_id(ty),
                                GC_KIND_STRUCT,
                                0,
                                layout.size,
                            )
                        }
                    })?;
                    for ((field, offset), value) in fields.iter().zip(&layout.offsets).zip(values) {
                        // SAFETY: the field lies inside the fresh object.
                        unsafe { write_field(object.add(*offset as usize), field.storage, value) };
                    }
                    object as usize as u128
                }
                ConstOp::ArrayNew(ty) | ConstOp::ArrayNewDefault(ty) => {
                    let len = pop(&mut stack) as u32;
                    let value = if matches!(op, ConstOp::ArrayNew(_)) {
                        pop(&mut stack)
                    } else {
                        0
                    };
                    let array = self.const_array(ty, len)?;
                    if value != 0 {
                        for i in 0..len {
                            // SAFETY: element `i` lies inside the fresh array.
                            unsafe { array.write(i, value) };
                        }
                    }
                    array.object as usize as u128
                }
                ConstOp::ArrayNewFixed(ty, count) => {
                    let values = stack.split_off(stack.len().saturating_sub(count as usize));
                    let array = self.const_array(ty, count)?;
                    for (i, value) in values.into_iter().enumerate() {
                        // SAFETY: element `i` lies inside the fresh array.
                        unsafe { array.write(i as u32, value) };
                    }
                    array.object as usize as u128
                }
                ConstOp::RefI31 => u128::from(((pop(&mut stack) as u32) << 1) | 1),
                ConstOp::AnyConvertExtern | ConstOp::ExternConvertAny => pop(&mut stack),
            };
            stack.push(value);
        }
        Ok(stack.pop().unwrap_or(0).to_le_bytes())
    }

    /// An object allocated by `alloc` in the store's GC heap, or the trap of an exhausted
    /// heap.
    fn const_alloc(
        &self,
        alloc: impl FnOnce(&VMStoreContext) -> *mut u8,
    ) -> Result<*mut u8, InstantiationError> {
        let object = alloc(self.store_context());
        if object.is_null() {
            Err(InstantiationError::Trap(TrapKind::GcHeapExhausted))
        } else {
            Ok(object)
        }
    }

    /// A new array of module type `ty` with `len` zeroed elements.
    fn const_array(&self, ty: u32, len: u32) -> Result<ConstArray, InstantiationError> {
        let storage = self.module.compiled.info.array_element(ty).storage;
        let object = self.const_alloc(|store| {
            // SAFETY: the store is the instance's, held by the instantiating embedder.
            unsafe {
                alloc_array(
                    store,
                    Allocator::Host,
                    self.module.type_id(ty),
                    len,
                    storage.size(),
                )
            }
        })?;
        Ok(ConstArray { object, storage })
    }

    /// The instance whose vmctx is `vmctx`.
    ///
    /// # Safety
    /// `vmctx` must be the vmctx of a live instance, and the instance must not be mutably
    /// borrowed elsewhere while the returned reference is used.
    pub unsafe fn from_vmctx<'a>(vmctx: *mut u8) -> &'a Instance {
        // SAFETY: the caller guarantees a live vmctx, whose INSTANCE field was written by
        // `Instance::new` with the address of the boxed instance.
        unsafe { &*(vmctx.add(VMOffsets::INSTANCE as usize) as *const *const Instance).read() }
    }

    /// The store context this instance was created with.
    pub fn store_context(&self) -> &VMStoreContext {
        // SAFETY: `Instance::new` wrote the store context's address at the vmctx's start,
        // and the caller of `new` keeps the store context alive as long as the instance.
        unsafe {
            &*(self.vmctx().add(VMOffsets::STORE_CONTEXT as usize) as *const *const VMStoreContext)
                .read()
        }
    }

    /// The embedder's tag given to [`Instance::new`].
    pub fn host_data(&self) -> usize {
        self.host_data
    }

    /// The module this is an instance of.
    pub fn module(&self) -> &Arc<LoadedModule> {
        &self.module
    }

    /// The vmctx pointer compiled code of this instance expects as its callee vmctx.
    pub fn vmctx(&self) -> *mut u8 {
        self.vmctx.ptr.as_ptr()
    }

    /// The funcref of function `index` (its callable code, signature id and vmctx).
    pub fn func_ref(&self, index: u32) -> *const VMFuncRef {
        let offset = self.module.compiled.offsets.func_ref(index);
        // SAFETY: the offset lies inside the vmctx allocation.
        unsafe { self.vmctx().add(offset as usize) as *const VMFuncRef }
    }

    /// Memory `index`.
    pub fn memory(&self, index: u32) -> &Arc<LinearMemory> {
        &self.memories[index as usize]
    }

    /// Table `index`; it lives as long as the instance's store.
    pub fn table(&self, index: u32) -> NonNull<Table> {
        match &self.tables[index as usize] {
            TableSlot::Imported(table) => *table,
            TableSlot::Defined(table) => table.0,
        }
    }

    /// Gives the collector every reference the instance holds: in its globals of
    /// reference type, its tables and its element segments (imported ones too; a word
    /// that is not a GC object is ignored by the collector).
    pub fn trace_gc_roots(&self, visit: &mut dyn FnMut(u64)) {
        let info = &self.module.compiled.info;
        for (global, ty) in self.globals.iter().zip(&info.globals) {
            if matches!(ty.content, ValType::Ref(_)) {
                // SAFETY: the global lives as long as the store; its value's first 8 bytes
                // are the reference's word, and no wasm writes it while the collector runs.
                let bytes = unsafe { &*global.as_ref().bytes.get() };
                visit(u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")));
            }
        }
        for index in 0..self.tables.len() {
            // SAFETY: the table lives as long as the store, and nothing changes it while
            // the collector runs.
            let table = unsafe { self.table(index as u32).as_ref() };
            for &element in table.elements() {
                visit(element as u64);
            }
        }
        for segment in self.elements.borrow().iter() {
            for &element in segment {
                visit(element as u64);
            }
        }
    }

    /// Global `index`'s storage; it lives as long as the instance's store.
    pub fn global(&self, index: u32) -> NonNull<VMGlobal> {
        self.globals[index as usize]
    }

    /// Tag `index` (imported ones first).
    pub fn tag(&self, index: u32) -> NonNull<VMTag> {
        self.tags[index as usize]
    }
}

/// A table of an instance: another's, or its own (freed with the instance).
enum TableSlot {
    Imported(NonNull<Table>),
    Defined(OwnedTable),
}

/// A table the instance allocated; held as a raw pointer because compiled code and
/// builtins write it while the instance is shared.
struct OwnedTable(NonNull<Table>);

impl Drop for OwnedTable {
    fn drop(&mut self) {
        // SAFETY: created by `Box::leak` in `Instance::new` and freed only here.
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

/// Writes typed fields into a vmctx under construction.
struct VMContextWriter {
    base: *mut u8,
}

impl VMContextWriter {
    /// # Safety
    /// `offset` must lie inside the vmctx with room for a `T`, at an 8-byte aligned position.
    unsafe fn write<T>(&self, offset: u32, value: T) {
        // SAFETY: guaranteed by the caller.
        unsafe { (self.base.add(offset as usize) as *mut T).write(value) }
    }
}

/// An array a constant expression is filling.
struct ConstArray {
    object: *mut u8,
    storage: StorageType,
}

impl ConstArray {
    /// Stores `value` in element `index`.
    ///
    /// # Safety
    /// `index` must be below the array's length.
    unsafe fn write(&self, index: u32, value: u128) {
        let size = self.storage.size() as usize;
        // SAFETY: per the contract, the element lies inside the array.
        unsafe {
            write_field(
                self.object.add(GC_PAYLOAD as usize + index as usize * size),
                self.storage,
                value,
            )
        };
    }
}

/// Stores the low bytes of `value` that a field of `storage` holds at `field`.
///
/// # Safety
/// `field` must be valid for writes of `storage.size()` bytes.
unsafe fn write_field(field: *mut u8, storage: StorageType, value: u128) {
    let bytes = value.to_le_bytes();
    // SAFETY: per the contract.
    unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), field, storage.size() as usize) };
}
