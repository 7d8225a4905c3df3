//! Instances and the items they import and export.

use crate::tag::{tag_type, Tag};
use wasmjit_codegen::{
    EntityIndex, EntityType, GlobalType, Import, MemoryAssumptions, MemoryType, TableType,
    TypeLookup,
};
use wasmjit_runtime::instance::{
    Imports, Instance as RtInstance, InstantiationError, LoadedModule,
};
use wasmjit_runtime::memory::LinearMemory;

use crate::engine::Engine;
use crate::error::{Error, Result, Trap};
use crate::func::Func;
use crate::global::Global;
use crate::memory::{Memory, SharedMemory};
use crate::module::Module;
use crate::store::{opaque_mut, AsContext, AsContextMut, StoreId, StoreOpaque};
use crate::table::Table;
use crate::typed::{TypedFunc, WasmTyList};
use crate::types::{ExternType, TypeSpace};

/// An instantiated module in a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Instance {
    pub(crate) store: StoreId,
    pub(crate) index: usize,
}

/// Anything a module can import or export.
#[derive(Clone, Debug)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A memory of one store.
    Memory(Memory),
    /// A shared memory, usable from any store and thread.
    SharedMemory(SharedMemory),
    /// A global.
    Global(Global),
    /// A table.
    Table(Table),
    /// An exception tag.
    Tag(Tag),
}

impl Extern {
    /// The function, if this is one.
    pub fn into_func(self) -> Option<Func> {
        match self {
            Extern::Func(f) => Some(f),
            _ => None,
        }
    }

    /// The memory, if this is one of a store.
    pub fn into_memory(self) -> Option<Memory> {
        match self {
            Extern::Memory(m) => Some(m),
            _ => None,
        }
    }

    /// The shared memory, if this is one.
    pub fn into_shared_memory(self) -> Option<SharedMemory> {
        match self {
            Extern::SharedMemory(m) => Some(m),
            _ => None,
        }
    }

    /// The global, if this is one.
    pub fn into_global(self) -> Option<Global> {
        match self {
            Extern::Global(g) => Some(g),
            _ => None,
        }
    }

    /// The table, if this is one.
    pub fn into_table(self) -> Option<Table> {
        match self {
            Extern::Table(t) => Some(t),
            _ => None,
        }
    }

    /// The tag, if this is one.
    pub fn into_tag(self) -> Option<Tag> {
        match self {
            Extern::Tag(t) => Some(t),
            _ => None,
        }
    }

    /// The item's type.
    pub fn ty(&self, store: impl AsContext) -> ExternType {
        match self {
            Extern::Func(f) => ExternType::Func(f.ty(&store)),
            Extern::Memory(m) => ExternType::Memory(m.ty(&store)),
            Extern::SharedMemory(m) => ExternType::Memory(m.ty()),
            Extern::Global(g) => ExternType::Global(g.ty(&store)),
            Extern::Table(t) => ExternType::Table(t.ty(&store)),
            Extern::Tag(t) => ExternType::Tag(t.ty(&store)),
        }
    }
}

impl From<Func> for Extern {
    fn from(f: Func) -> Self {
        Extern::Func(f)
    }
}

impl From<Memory> for Extern {
    fn from(m: Memory) -> Self {
        Extern::Memory(m)
    }
}

impl From<SharedMemory> for Extern {
    fn from(m: SharedMemory) -> Self {
        Extern::SharedMemory(m)
    }
}

impl From<Global> for Extern {
    fn from(g: Global) -> Self {
        Extern::Global(g)
    }
}

impl From<Table> for Extern {
    fn from(t: Table) -> Self {
        Extern::Table(t)
    }
}

impl From<Tag> for Extern {
    fn from(t: Tag) -> Self {
        Extern::Tag(t)
    }
}

impl Instance {
    /// Instantiates `module` with `imports` given in the module's import order: links them,
    /// creates its memories, tables and globals, applies its segments and runs its start
    /// function.
    ///
    /// A missing or mismatched import is an `Error::Link`; a segment out of bounds or a trap
    /// in the start function is an `Error::Trap`.
    pub fn new(mut store: impl AsContextMut, module: &Module, imports: &[Extern]) -> Result<Self> {
        instantiate(opaque_mut(&mut store), module, imports)
    }

    /// The export named `name`.
    pub fn get_export(&self, mut store: impl AsContextMut, name: &str) -> Option<Extern> {
        let store = opaque_mut(&mut store);
        store.check(self.store);
        let index = store.instances[self.index]
            .module()
            .compiled()
            .info
            .export(name)?;
        Some(export(store, self.index, index))
    }

    /// Every export, by name, in the module's order.
    pub fn exports(&self, mut store: impl AsContextMut) -> Vec<(String, Extern)> {
        let store = opaque_mut(&mut store);
        store.check(self.store);
        let exports = store.instances[self.index]
            .module()
            .compiled()
            .info
            .exports
            .clone();
        exports
            .into_iter()
            .map(|e| (e.name, export(store, self.index, e.index)))
            .collect()
    }

    /// The exported function `name`.
    pub fn get_func(&self, store: impl AsContextMut, name: &str) -> Option<Func> {
        self.get_export(store, name)?.into_func()
    }

    /// The exported function `name` with a checked static signature.
    pub fn get_typed_func<P: WasmTyList, R: WasmTyList>(
        &self,
        mut store: impl AsContextMut,
        name: &str,
    ) -> Result<TypedFunc<P, R>> {
        let func = self
            .get_func(&mut store, name)
            .ok_or_else(|| Error::Link(format!("no exported function named `{name}`")))?;
        func.typed(&store)
    }

    /// The exported memory `name`.
    pub fn get_memory(&self, store: impl AsContextMut, name: &str) -> Option<Memory> {
        self.get_export(store, name)?.into_memory()
    }

    /// The exported global `name`.
    pub fn get_global(&self, store: impl AsContextMut, name: &str) -> Option<Global> {
        self.get_export(store, name)?.into_global()
    }

    /// The exported table `name`.
    pub fn get_table(&self, store: impl AsContextMut, name: &str) -> Option<Table> {
        self.get_export(store, name)?.into_table()
    }

    /// The exported tag `name`.
    pub fn get_tag(&self, store: impl AsContextMut, name: &str) -> Option<Tag> {
        self.get_export(store, name)?.into_tag()
    }
}

/// The handle of export `index` of instance `instance`.
fn export(store: &mut StoreOpaque, instance: usize, index: EntityIndex) -> Extern {
    let id = store.id;
    let rt = &store.instances[instance];
    match index {
        EntityIndex::Function(f) => {
            let func_ref = rt.func_ref(f);
            let index = store
                .func_for_ref(func_ref)
                .expect("an instance's funcrefs are never null");
            Extern::Func(Func { store: id, index })
        }
        EntityIndex::Memory(m) => {
            let memory = rt.memory(m).clone();
            let index = store.push_memory(memory);
            Extern::Memory(Memory { store: id, index })
        }
        EntityIndex::Table(t) => {
            let table = rt.table(t);
            Extern::Table(Table {
                store: id,
                index: store.push_table(table),
            })
        }
        EntityIndex::Global(g) => {
            let ptr = rt.global(g);
            let module = rt.module();
            let ty = module.canonical_global(module.compiled().info.globals[g as usize]);
            let index = match store.globals.iter().position(|d| d.ptr == ptr) {
                Some(i) => i,
                None => store.push_global(ptr, ty),
            };
            Extern::Global(Global { store: id, index })
        }
        EntityIndex::Tag(t) => {
            let ptr = rt.tag(t);
            // SAFETY: the tag lives as long as the store.
            let ty = tag_type(store, unsafe { ptr.as_ref() });
            Extern::Tag(store.tag_for_ptr(ptr, ty))
        }
    }
}

pub(crate) fn instantiate(
    store: &mut StoreOpaque,
    module: &Module,
    imports: &[Extern],
) -> Result<Instance> {
    if !Engine::same(module.engine(), &store.engine) {
        return Err(Error::Link("module belongs to another engine".into()));
    }
    let loaded = module.loaded()?.clone();
    let info = module.info();
    if imports.len() != info.imports.len() {
        return Err(Error::Link(format!(
            "module needs {} imports, {} given",
            info.imports.len(),
            imports.len()
        )));
    }
    let resolved = resolve_imports(store, &loaded, imports)?;
    store.limit_new_instance()?;
    for ty in &info.memories[info.num_imported_memories as usize..] {
        store.limit_new_memory(ty)?;
    }
    for ty in &info.tables[info.num_imported_tables as usize..] {
        store.limit_new_table(ty.minimum, ty.maximum)?;
    }
    let index = store.instances.len();
    let vm = &store.vm as *const _;
    // SAFETY: `resolve_imports` checked every import's type; the imports and the store
    // context belong to this store, which owns the instance and drops them together.
    let instance = unsafe {
        RtInstance::new(
            loaded,
            resolved,
            vm,
            store.engine.instance_allocator(),
            index,
        )
    }
    .map_err(instantiation_error)?;
    store.instances.push(instance);
    let handle = Instance {
        store: store.id,
        index,
    };
    // Segments may have written into imported tables: the instance stays in the store even
    // if a later segment traps, as the spec's instantiation leaves those writes in place.
    store.instances[index]
        .initialize()
        .map_err(instantiation_error)?;
    if let Some(start) = info.start {
        let func_ref = store.instances[index].func_ref(start);
        let func = Func {
            store: store.id,
            index: store
                .func_for_ref(func_ref)
                .expect("an instance's funcrefs are never null"),
        };
        func.call_in(store, &[], &mut [])?;
    }
    Ok(handle)
}

/// Checks each provided item against the module's import type (with the spec's subtyping,
/// on the canonical forms of both, see `wasmjit_runtime::type_registry`), and each memory's
/// layout against what the module's code assumes of it.
fn resolve_imports(
    store: &mut StoreOpaque,
    module: &LoadedModule,
    imports: &[Extern],
) -> Result<Imports> {
    let info = &module.compiled().info;
    let memory_assumptions = &module.compiled().memory_assumptions;
    let mut resolved = Imports::default();
    for (import, item) in info.imports.iter().zip(imports) {
        let mismatch = || {
            Error::Link(format!(
                "incompatible import type for `{}`.`{}`",
                import.module, import.name
            ))
        };
        let mismatch_type = |want: String, have: String| {
            Error::Link(format!(
                "incompatible import type for `{}`.`{}`: expected a {want}, found a {have}",
                import.module, import.name
            ))
        };
        match (&import.ty, item) {
            (EntityType::Function(ty), Extern::Func(f)) => {
                // A function of a subtype of the import's type serves it.
                let registry = store.engine.types();
                // SAFETY: the funcref lives as long as the store.
                let actual = unsafe { (*f.func_ref(store)).type_id };
                if !registry.is_subtype(actual, module.type_id(*ty)) {
                    return Err(Error::Link(format!(
                        "incompatible import type for `{}`.`{}`: expected a function of type \
                         {}, found one of type {}",
                        import.module,
                        import.name,
                        TypeSpace::module(registry, module.type_ids()).func_type(*ty),
                        f.ty_in(store)
                    )));
                }
                // SAFETY: the funcref lives as long as the store.
                resolved.functions.push(unsafe { *f.func_ref(store) });
            }
            (EntityType::Memory(ty), Extern::Memory(m)) => {
                let memory = m.runtime(store).clone();
                if !memory_matches(&memory_type_now(&memory), ty) {
                    return Err(mismatch());
                }
                let assumed = &memory_assumptions[resolved.memories.len()];
                check_layout(&memory, assumed, import)?;
                resolved.memories.push(memory);
            }
            (EntityType::Memory(ty), Extern::SharedMemory(m)) => {
                let memory = m.runtime().clone();
                if !memory_matches(&memory_type_now(&memory), ty) {
                    return Err(mismatch());
                }
                // A shared memory may come from another engine, with other settings: it is
                // accepted exactly where its layout gives what this module's code assumes.
                let assumed = &memory_assumptions[resolved.memories.len()];
                check_layout(&memory, assumed, import)?;
                store.push_memory(memory.clone());
                resolved.memories.push(memory);
            }
            (EntityType::Table(ty), Extern::Table(t)) => {
                let table = t.runtime(store);
                // SAFETY: the table lives as long as the store; no wasm runs now.
                let now = unsafe { table.as_ref() }.ty();
                let want = module.canonical_table(*ty);
                if !table_matches(&now, &want) {
                    return Err(mismatch_type(
                        format!("table of {}", want.element),
                        format!("table of {}", now.element),
                    ));
                }
                resolved.tables.push(table);
            }
            (EntityType::Global(ty), Extern::Global(g)) => {
                let data = g.data(store);
                let want = module.canonical_global(*ty);
                if !global_matches(&data.ty, &want, store.engine.types()) {
                    return Err(mismatch_type(global_name(&want), global_name(&data.ty)));
                }
                resolved.globals.push(data.ptr);
            }
            (EntityType::Tag(ty), Extern::Tag(t)) => {
                let ptr = t.data(store).ptr;
                // SAFETY: the tag lives as long as the store.
                if unsafe { ptr.as_ref() }.type_id != module.type_id(*ty) {
                    return Err(mismatch());
                }
                resolved.tags.push(ptr);
            }
            _ => return Err(mismatch()),
        }
    }
    Ok(resolved)
}

/// Refuses a memory whose layout does not give what the importing code assumes.
fn check_layout(memory: &LinearMemory, assumed: &MemoryAssumptions, import: &Import) -> Result<()> {
    assumed.check(&memory.layout()).map_err(|mismatch| {
        Error::Link(format!(
            "incompatible import type for `{}`.`{}`: the memory's layout does not fit the \
             module's code: {mismatch}",
            import.module, import.name
        ))
    })
}

fn memory_type_now(memory: &LinearMemory) -> MemoryType {
    MemoryType {
        minimum: memory.size_pages(),
        ..memory.ty()
    }
}

/// The spec's import matching for limits: at least the minimum now, and a maximum no larger
/// than the import's if it has one.
fn limits_match(min: u64, max: Option<u64>, want_min: u64, want_max: Option<u64>) -> bool {
    min >= want_min
        && match (max, want_max) {
            (_, None) => true,
            (Some(max), Some(want)) => max <= want,
            (None, Some(_)) => false,
        }
}

fn memory_matches(have: &MemoryType, want: &MemoryType) -> bool {
    have.shared == want.shared
        && have.memory64 == want.memory64
        && have.page_size_log2 == want.page_size_log2
        && limits_match(have.minimum, have.maximum, want.minimum, want.maximum)
}

/// An imported global matches when a mutable one has the same type (it is read and written)
/// and an immutable one a subtype (it is only read): a `(ref $t)` global serves a `funcref`
/// import, not the reverse.
fn global_matches(have: &GlobalType, want: &GlobalType, types: &dyn TypeLookup) -> bool {
    have.mutable == want.mutable
        && if want.mutable {
            have.content == want.content
        } else {
            have.content.matches(want.content, types)
        }
}

/// How an error names a global type: `global of funcref`, `mutable global of i32`.
fn global_name(ty: &GlobalType) -> String {
    let mutable = if ty.mutable { "mutable " } else { "" };
    format!("{mutable}global of {}", ty.content)
}

/// Tables are read and written: the element types must be the same.
fn table_matches(have: &TableType, want: &TableType) -> bool {
    have.element == want.element
        && have.table64 == want.table64
        && limits_match(have.minimum, have.maximum, want.minimum, want.maximum)
}

fn instantiation_error(e: InstantiationError) -> Error {
    match e {
        InstantiationError::Memory(e) => Error::memory(e),
        InstantiationError::Table(e) => Error::table(e),
        InstantiationError::Pool(e) => Error::Limit(e.to_string()),
        InstantiationError::Trap(kind) => Error::Trap(Trap::from_codegen(kind)),
        e @ InstantiationError::MemoryLayout { .. } => Error::Link(e.to_string()),
    }
}
