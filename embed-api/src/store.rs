//! Stores: the owners of all instances, functions, memories, tables and globals.

use wasmjit_runtime::epochs::EpochPoll;
use wasmjit_runtime::exceptions::VMTag;

use crate::tag::{Tag, TagData, TagType};
use std::collections::HashMap;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use wasmjit_codegen::GlobalType;
use wasmjit_runtime::instance::Instance as RtInstance;
use wasmjit_runtime::memory::LinearMemory;
use wasmjit_runtime::table::Table as RtTable;
use wasmjit_runtime::vmcontext::{VMFuncRef, VMGlobal, VMStoreContext};

use crate::anyref::Externalized;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::externref::{ExternData, ExternRef};
use crate::func::FuncData;
use crate::limits::{ask_limiter, ResourceLimiter};
use crate::roots::HostRoots;

/// Identifies a store; every handle records the store it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct StoreId(u64);

impl StoreId {
    fn fresh() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        StoreId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// A collection of WebAssembly objects and the host's data `T`.
///
/// Everything created in a store lives until the store is dropped. Handles (`Func`,
/// `Memory`, `Instance`, ...) are plain indices into it, and every operation borrows the
/// store: a shared borrow to read, an exclusive one to call wasm or to change anything. That
/// is what keeps views of linear memory sound: a `&[u8]` of memory borrows the store, so no
/// call into wasm and no grow can happen while it is alive.
pub struct Store<T> {
    inner: Box<StoreInner<T>>,
}

pub(crate) struct StoreInner<T> {
    pub(crate) opaque: StoreOpaque,
    pub(crate) data: T,
    /// Finds the resource limiter in the data, when the host set one.
    pub(crate) limiter: Option<LimiterFn<T>>,
}

/// What [`Store::limiter`] keeps: the way from the host data to its limiter.
pub(crate) type LimiterFn<T> = Box<dyn (FnMut(&mut T) -> &mut dyn ResourceLimiter) + Send + Sync>;

/// A global known to the store: where its value lives and its type.
pub(crate) struct GlobalData {
    pub(crate) ptr: NonNull<VMGlobal>,
    pub(crate) ty: GlobalType,
}

/// The part of a store that does not depend on `T`.
///
/// Instances, globals and tables are boxed so their addresses stay put while the vectors
/// grow: compiled code and vmctx fields point at them.
#[allow(clippy::vec_box)]
pub(crate) struct StoreOpaque {
    pub(crate) id: StoreId,
    pub(crate) engine: Engine,
    pub(crate) vm: VMStoreContext,
    pub(crate) instances: Vec<Box<RtInstance>>,
    pub(crate) funcs: Vec<FuncData>,
    pub(crate) func_by_ref: HashMap<usize, usize>,
    pub(crate) memories: Vec<Arc<LinearMemory>>,
    pub(crate) globals: Vec<GlobalData>,
    pub(crate) owned_globals: Vec<Box<VMGlobal>>,
    pub(crate) tables: Vec<NonNull<RtTable>>,
    pub(crate) owned_tables: Vec<Box<RtTable>>,
    pub(crate) tags: Vec<TagData>,
    /// Tags made by the host.
    pub(crate) owned_tags: Vec<Box<VMTag>>,
    /// Host functions' contexts and the trampolines their funcrefs point into, kept alive
    /// as long as the store.
    pub(crate) host_funcs: Vec<Box<dyn Send>>,
    /// The values behind `externref`s, and their indices by address.
    pub(crate) externs: Vec<Box<ExternData>>,
    pub(crate) extern_by_ptr: HashMap<usize, usize>,
    /// The objects the host's [`crate::AnyRef`] handles keep alive.
    pub(crate) host_roots: HostRoots,
    /// How many memories and tables this store created, for the limiter's counts.
    pub(crate) memories_created: usize,
    pub(crate) tables_created: usize,
}

// SAFETY: the raw pointers in a store point at objects the store itself owns (boxed globals,
// tables, instances, host-function contexts); nothing is tied to the creating thread, so the
// store may move to another thread as a whole.
unsafe impl Send for StoreOpaque {}
// SAFETY: shared access to a store only reads its objects; all mutation goes through
// `&mut Store`.
unsafe impl Sync for StoreOpaque {}

impl<T> Store<T> {
    /// A new, empty store for modules of `engine`, holding `data` for host functions.
    pub fn new(engine: &Engine, data: T) -> Self {
        let mut inner = Box::new(StoreInner {
            opaque: StoreOpaque {
                id: StoreId::fresh(),
                engine: engine.clone(),
                vm: VMStoreContext::default(),
                instances: Vec::new(),
                funcs: Vec::new(),
                func_by_ref: HashMap::new(),
                memories: Vec::new(),
                globals: Vec::new(),
                owned_globals: Vec::new(),
                tags: Vec::new(),
                owned_tags: Vec::new(),
                tables: Vec::new(),
                owned_tables: Vec::new(),
                host_funcs: Vec::new(),
                externs: Vec::new(),
                extern_by_ptr: HashMap::new(),
                host_roots: HostRoots::default(),
                memories_created: 0,
                tables_created: 0,
            },
            data,
            limiter: None,
        });
        let ptr: *mut StoreInner<T> = &mut *inner;
        *inner.opaque.vm.store.get_mut() = ptr.cast();
        *inner.opaque.vm.epoch.get_mut() = engine.epoch();
        *inner.opaque.vm.types.get_mut() = inner.opaque.engine.types();
        *inner.opaque.vm.gc_roots.get_mut() = Some(trace_gc_roots::<T>);
        *inner.opaque.vm.gc_stress.get_mut() = engine.gc_stress();
        if engine.codegen().epoch_interruption {
            // A page for the loop headers' checks (see `wasmjit_runtime::epochs`); the
            // process is out of address space or mappings if one page cannot be mapped.
            inner.opaque.vm.epoch_poll =
                EpochPoll::new().expect("mapping the store's epoch poll page");
            // SAFETY: the store context is boxed with the store, and `StoreOpaque`'s drop
            // unregisters it before it goes.
            unsafe { engine.epoch_stores().register(&inner.opaque.vm) };
        }
        Store { inner }
    }

    /// The engine of this store.
    pub fn engine(&self) -> &Engine {
        &self.inner.opaque.engine
    }

    /// The host data.
    pub fn data(&self) -> &T {
        &self.inner.data
    }

    /// The host data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.inner.data
    }

    /// Caps what the store's guests may allocate: `limiter` finds a [`ResourceLimiter`] in
    /// the host data, and the limiter is asked before every memory or table is created or
    /// grown (from the host or from wasm) and before every instantiation.
    ///
    /// A `memory.grow` or `table.grow` it refuses returns -1 to wasm; a creation or
    /// instantiation it refuses is an [`Error::Limit`](crate::Error::Limit).
    pub fn limiter(
        &mut self,
        limiter: impl (FnMut(&mut T) -> &mut dyn ResourceLimiter) + Send + Sync + 'static,
    ) where
        T: 'static,
    {
        self.inner.limiter = Some(Box::new(limiter));
        *self.inner.opaque.vm.grow_hook.get_mut() = Some(ask_limiter::<T>);
    }

    /// Sets the epoch deadline `ticks` epochs after the engine's current epoch: wasm in this
    /// store traps with "interrupt" once [`Engine::increment_epoch`] has been called that
    /// many more times. Needs [`crate::Config::epoch_interruption`] (without it this does
    /// nothing); until it is called there is no deadline.
    pub fn set_epoch_deadline(&mut self, ticks: u64) {
        self.inner.opaque.set_epoch_deadline(ticks);
    }

    /// Sets the fuel left to `fuel` units (one per operator run). Needs
    /// [`crate::Config::consume_fuel`].
    pub fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.inner.opaque.set_fuel(fuel)
    }

    /// The fuel left (0 once spent). Needs [`crate::Config::consume_fuel`]. After a trap, it
    /// is counted up to the last call or return the wasm code made before trapping (the
    /// return of a callee the compiler inlined is not one); after running out, it is 0.
    pub fn get_fuel(&self) -> Result<u64> {
        self.inner.opaque.get_fuel()
    }

    /// Collects the store's GC heap: frees every struct and array that neither wasm nor
    /// the host can reach any more. Collections also happen by themselves as wasm
    /// allocates; a host function called from wasm collects with [`crate::Caller::gc`].
    pub fn gc(&mut self) {
        self.inner.opaque.gc();
    }

    /// Consumes the store, returning its host data.
    pub fn into_data(self) -> T {
        self.inner.data
    }
}

/// The collector's [`wasmjit_runtime::gc::TraceRoots`] hook for stores of `T`.
///
/// # Safety
/// `store` must be the `StoreInner<T>` whose store context runs the collection.
unsafe fn trace_gc_roots<T>(store: *mut u8, visit: &mut dyn FnMut(u64)) {
    // SAFETY: per the contract; the collector only reads the store.
    let store = unsafe { &*store.cast::<StoreInner<T>>() };
    store.opaque.trace_gc_roots(visit);
}

impl Drop for StoreOpaque {
    fn drop(&mut self) {
        if self.engine.codegen().epoch_interruption {
            self.engine.epoch_stores().unregister(&self.vm);
        }
    }
}

impl StoreOpaque {
    /// [`Store::gc`], also reached through [`crate::Caller::gc`].
    pub(crate) fn gc(&mut self) {
        // SAFETY: the store is held exclusively (by the embedder, or by a host function
        // called from wasm, whose trampoline recorded the exit from wasm), and its roots
        // hook gives every reference the host holds.
        unsafe { wasmjit_runtime::gc::collector::collect_from_host(&self.vm) }
    }

    /// [`Store::set_epoch_deadline`], also reached through [`crate::Caller::set_epoch_deadline`].
    pub(crate) fn set_epoch_deadline(&mut self, ticks: u64) {
        if !self.engine.codegen().epoch_interruption {
            return;
        }
        let now = self.engine.epoch().load(Ordering::SeqCst);
        // SAFETY: the store is held exclusively (by the embedder, or by a host function
        // called from its wasm, on the thread running it); the epoch pointer was set with
        // the store.
        unsafe { self.vm.set_epoch_deadline(now.saturating_add(ticks)) };
    }

    /// [`Store::set_fuel`], also reached through [`crate::Caller::set_fuel`].
    pub(crate) fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.fuel_enabled()?;
        *self.vm.fuel.get_mut() = !fuel;
        Ok(())
    }

    /// [`Store::get_fuel`], also reached through [`crate::Caller::get_fuel`].
    pub(crate) fn get_fuel(&self) -> Result<u64> {
        self.fuel_enabled()?;
        // SAFETY: wasm of this store runs only under an exclusive borrow of it, and has
        // written its fuel back before calling the host (see the trampolines).
        let fuel = unsafe { *self.vm.fuel.get() };
        Ok(!fuel)
    }

    fn fuel_enabled(&self) -> Result<()> {
        if self.engine.codegen().consume_fuel {
            Ok(())
        } else {
            Err(Error::Type(
                "fuel metering is off: see Config::consume_fuel".into(),
            ))
        }
    }

    /// Gives the collector every reference the store holds outside wasm's frames: its
    /// instances' globals, tables and element segments, the host's own globals and tables,
    /// externalised internal references and host handles.
    fn trace_gc_roots(&self, visit: &mut dyn FnMut(u64)) {
        for instance in &self.instances {
            instance.trace_gc_roots(visit);
        }
        for global in &self.globals {
            if matches!(global.ty.content, wasmjit_codegen::ValType::Ref(_)) {
                // SAFETY: the global lives as long as the store; its first 8 bytes are the
                // reference's word.
                let bytes = unsafe { &*global.ptr.as_ref().bytes.get() };
                visit(u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")));
            }
        }
        for table in &self.tables {
            // SAFETY: the table lives as long as the store.
            for &element in unsafe { table.as_ref() }.elements() {
                visit(element as u64);
            }
        }
        for data in &self.externs {
            if let Some(Externalized(word)) = data.value.downcast_ref::<Externalized>() {
                visit(*word);
            }
        }
        for word in self.host_roots.words() {
            visit(word);
        }
    }

    /// Panics if a handle of store `id` is used with this store: mixing stores is a bug in
    /// the embedder, like indexing a vector with another vector's index.
    pub(crate) fn check(&self, id: StoreId) {
        assert_eq!(self.id, id, "object used with the wrong store");
    }

    pub(crate) fn push_global(&mut self, ptr: NonNull<VMGlobal>, ty: GlobalType) -> usize {
        self.globals.push(GlobalData { ptr, ty });
        self.globals.len() - 1
    }

    /// The handle of the tag at `ptr`, registered with type `ty` if it is new to the store.
    pub(crate) fn tag_for_ptr(&mut self, ptr: NonNull<VMTag>, ty: TagType) -> Tag {
        let index = match self.tags.iter().position(|t| t.ptr == ptr) {
            Some(i) => i,
            None => {
                self.tags.push(TagData { ptr, ty });
                self.tags.len() - 1
            }
        };
        Tag {
            store: self.id,
            index,
        }
    }

    pub(crate) fn push_memory(&mut self, memory: Arc<LinearMemory>) -> usize {
        if let Some(i) = self.memories.iter().position(|m| Arc::ptr_eq(m, &memory)) {
            return i;
        }
        self.memories.push(memory);
        self.memories.len() - 1
    }

    pub(crate) fn push_table(&mut self, table: NonNull<RtTable>) -> usize {
        if let Some(i) = self.tables.iter().position(|t| *t == table) {
            return i;
        }
        self.tables.push(table);
        self.tables.len() - 1
    }

    pub(crate) fn push_func(&mut self, data: FuncData) -> usize {
        let index = self.funcs.len();
        self.func_by_ref.insert(data.func_ref as usize, index);
        self.funcs.push(data);
        index
    }

    /// The `externref` whose word (see `anyref::extern_word`) is `word`, registering an
    /// externalised internal reference on first sight; `None` for null.
    pub(crate) fn extern_for_word(&mut self, word: u64) -> Option<ExternRef> {
        if word == 0 {
            return None;
        }
        let index = match self.extern_by_ptr.get(&(word as usize)) {
            Some(index) => *index,
            None => {
                let index = self.externs.len();
                self.externs.push(Box::new(ExternData {
                    value: Box::new(Externalized(word)),
                }));
                self.extern_by_ptr.insert(word as usize, index);
                index
            }
        };
        Some(ExternRef {
            store: self.id,
            index,
        })
    }

    /// The store index of the function a raw funcref points at, registering it on first
    /// sight. `func_ref` must be null or point into this store.
    pub(crate) fn func_for_ref(&mut self, func_ref: *const VMFuncRef) -> Option<usize> {
        if func_ref.is_null() {
            return None;
        }
        if let Some(index) = self.func_by_ref.get(&(func_ref as usize)) {
            return Some(*index);
        }
        let (instance, func_index) = self.instances.iter().enumerate().find_map(|(i, inst)| {
            let funcs = inst.module().compiled().info.functions.len() as u32;
            (0..funcs)
                .find(|f| inst.func_ref(*f) == func_ref)
                .map(|f| (i, f))
        })?;
        Some(self.push_func(FuncData::for_instance_func(
            &self.instances[instance],
            func_index,
            self.engine.types(),
        )))
    }
}

/// Read access to a store, from a `&Store`, a `&mut Store` or a `Caller`.
pub trait AsContext {
    /// The host data type of the store.
    type Data;

    /// A shared view of the store.
    fn as_context(&self) -> StoreContext<'_, Self::Data>;
}

/// Write access to a store, from a `&mut Store` or a `Caller`.
pub trait AsContextMut: AsContext {
    /// An exclusive view of the store.
    fn as_context_mut(&mut self) -> StoreContextMut<'_, Self::Data>;
}

/// A shared borrow of a store.
pub struct StoreContext<'a, T>(pub(crate) &'a StoreInner<T>);

/// An exclusive borrow of a store.
pub struct StoreContextMut<'a, T>(pub(crate) &'a mut StoreInner<T>);

impl<T> StoreContext<'_, T> {
    /// The host data.
    pub fn data(&self) -> &T {
        &self.0.data
    }
}

impl<T> StoreContextMut<'_, T> {
    /// The host data.
    pub fn data(&self) -> &T {
        &self.0.data
    }

    /// The host data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.0.data
    }
}

impl<T> AsContext for Store<T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(&self.inner)
    }
}

impl<T> AsContextMut for Store<T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(&mut self.inner)
    }
}

impl<T> AsContext for StoreContext<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}

impl<T> AsContext for StoreContextMut<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.0)
    }
}

impl<T> AsContextMut for StoreContextMut<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.0)
    }
}

impl<S: AsContext + ?Sized> AsContext for &S {
    type Data = S::Data;
    fn as_context(&self) -> StoreContext<'_, S::Data> {
        (**self).as_context()
    }
}

impl<S: AsContext + ?Sized> AsContext for &mut S {
    type Data = S::Data;
    fn as_context(&self) -> StoreContext<'_, S::Data> {
        (**self).as_context()
    }
}

impl<S: AsContextMut + ?Sized> AsContextMut for &mut S {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, S::Data> {
        (**self).as_context_mut()
    }
}

/// Shorthand for the non-generic part of a store behind any context.
pub(crate) fn opaque<S: AsContext + ?Sized>(store: &S) -> &StoreOpaque {
    let inner: &StoreInner<S::Data> = store.as_context().0;
    &inner.opaque
}

/// Shorthand for the non-generic part of a store behind any mutable context.
pub(crate) fn opaque_mut<S: AsContextMut + ?Sized>(store: &mut S) -> &mut StoreOpaque {
    let inner: &mut StoreInner<S::Data> = store.as_context_mut().0;
    &mut inner.opaque
}
