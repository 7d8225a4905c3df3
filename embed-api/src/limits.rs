//! Resource limits: how a host caps what a guest may allocate in a store.
//!
//! As in wasmtime, a store can be given a [`ResourceLimiter`] with [`Store::limiter`]. It is
//! asked before every memory or table is created or grown, from the host or from wasm, and
//! before every instantiation. A refused `memory.grow` or `table.grow` in wasm returns -1; a
//! refused creation or instantiation is an [`Error::Limit`](crate::Error::Limit).
//! [`StoreLimits`] is the ready-made limiter for the usual caps.
//!
//! [`Store::limiter`]: crate::Store::limiter

use wasmjit_runtime::vmcontext::{GrowRequest, GrowResource};

use crate::error::{Error, Result};
use crate::store::{StoreInner, StoreOpaque};

/// Decides whether a store's memories and tables may grow, and how many instances, memories
/// and tables it may hold.
pub trait ResourceLimiter: Send {
    /// Whether a memory may grow from `current` to `desired` bytes (`maximum` is its declared
    /// maximum in bytes). Creating a memory asks with `current` = 0.
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool;

    /// Whether a table may grow from `current` to `desired` elements. Creating a table asks
    /// with `current` = 0.
    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> bool;

    /// The most instances the store may hold.
    fn instances(&self) -> usize {
        usize::MAX
    }

    /// The most memories the store may create.
    fn memories(&self) -> usize {
        usize::MAX
    }

    /// The most tables the store may create.
    fn tables(&self) -> usize {
        usize::MAX
    }

    /// Whether the store's GC heap (its structs and arrays) may grow from `current` to
    /// `desired` bytes. A refused growth makes the allocating instruction trap with
    /// [`Trap::GcHeapExhausted`](crate::Trap::GcHeapExhausted). Unlimited by default (up to
    /// the heap's 4 GiB reservation).
    fn gc_heap_growing(&mut self, current: usize, desired: usize) -> bool {
        let _ = current;
        let _ = desired;
        true
    }
}

/// A [`ResourceLimiter`] with fixed caps, built by [`StoreLimitsBuilder`]. Unset caps are
/// unlimited.
#[derive(Clone, Debug, Default)]
pub struct StoreLimits {
    memory_size: Option<usize>,
    total_memory: Option<usize>,
    table_elements: Option<usize>,
    instances: Option<usize>,
    memories: Option<usize>,
    tables: Option<usize>,
    gc_heap_size: Option<usize>,
    /// Bytes of every memory the limiter has allowed so far, for `total_memory`.
    allowed_memory: usize,
}

impl StoreLimits {
    /// Bytes of memory allowed so far, over all the store's memories.
    pub fn memory_allowed(&self) -> usize {
        self.allowed_memory
    }
}

impl ResourceLimiter for StoreLimits {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> bool {
        let added = desired.saturating_sub(current);
        let total = self.allowed_memory.saturating_add(added);
        let fits = self.memory_size.is_none_or(|cap| desired <= cap)
            && self.total_memory.is_none_or(|cap| total <= cap);
        if fits {
            self.allowed_memory = total;
        }
        fits
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> bool {
        self.table_elements.is_none_or(|cap| desired <= cap)
    }

    fn instances(&self) -> usize {
        self.instances.unwrap_or(usize::MAX)
    }

    fn memories(&self) -> usize {
        self.memories.unwrap_or(usize::MAX)
    }

    fn tables(&self) -> usize {
        self.tables.unwrap_or(usize::MAX)
    }

    fn gc_heap_growing(&mut self, _current: usize, desired: usize) -> bool {
        self.gc_heap_size.is_none_or(|cap| desired <= cap)
    }
}

/// Builds a [`StoreLimits`].
///
/// ```
/// use wasmjit::{Engine, Store, StoreLimits, StoreLimitsBuilder};
///
/// let engine = Engine::default();
/// let limits = StoreLimitsBuilder::new().memory_size(1 << 20).instances(10).build();
/// let mut store = Store::new(&engine, limits);
/// store.limiter(|limits: &mut StoreLimits| limits);
/// ```
#[derive(Clone, Debug, Default)]
pub struct StoreLimitsBuilder(StoreLimits);

impl StoreLimitsBuilder {
    /// No caps yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The most bytes any one memory may have.
    pub fn memory_size(mut self, bytes: usize) -> Self {
        self.0.memory_size = Some(bytes);
        self
    }

    /// The most bytes all the store's memories may have together (counting what was
    /// allowed, as memories are never shrunk).
    pub fn total_memory_size(mut self, bytes: usize) -> Self {
        self.0.total_memory = Some(bytes);
        self
    }

    /// The most elements any one table may have.
    pub fn table_elements(mut self, elements: usize) -> Self {
        self.0.table_elements = Some(elements);
        self
    }

    /// The most instances in the store.
    pub fn instances(mut self, count: usize) -> Self {
        self.0.instances = Some(count);
        self
    }

    /// The most memories the store may create.
    pub fn memories(mut self, count: usize) -> Self {
        self.0.memories = Some(count);
        self
    }

    /// The most tables the store may create.
    pub fn tables(mut self, count: usize) -> Self {
        self.0.tables = Some(count);
        self
    }

    /// The most bytes the store's GC heap (its structs and arrays) may hold.
    pub fn gc_heap_size(mut self, bytes: usize) -> Self {
        self.0.gc_heap_size = Some(bytes);
        self
    }

    /// The limits.
    pub fn build(self) -> StoreLimits {
        self.0
    }
}

/// The hook the runtime calls with a store of data type `T`: asks the store's limiter.
///
/// # Safety
/// `store` must be the `StoreInner<T>` whose store context holds this hook, and no other
/// reference to its `limiter` or `data` field may be alive (callers hold at most the
/// store's untyped part, a disjoint field).
pub(crate) unsafe fn ask_limiter<T>(store: *mut u8, request: GrowRequest) -> bool {
    let inner = store.cast::<StoreInner<T>>();
    // SAFETY: per the contract, the two fields are live and not otherwise borrowed.
    let (limiter, data) = unsafe { (&mut (*inner).limiter, &mut (*inner).data) };
    let Some(get) = limiter else {
        return true;
    };
    let limiter = get(data);
    let GrowRequest {
        resource,
        current,
        desired,
        maximum,
    } = request;
    match resource {
        GrowResource::Memory => limiter.memory_growing(current, desired, maximum),
        GrowResource::Table => limiter.table_growing(current, desired, maximum),
        GrowResource::Instances => desired <= limiter.instances(),
        GrowResource::Memories => desired <= limiter.memories(),
        GrowResource::Tables => desired <= limiter.tables(),
        GrowResource::GcHeap => limiter.gc_heap_growing(current, desired),
    }
}

impl StoreOpaque {
    /// Asks the store's limiter, if any, whether `request` may go ahead.
    pub(crate) fn allows(&mut self, request: GrowRequest) -> bool {
        // SAFETY: the hook was installed for this store's data type by `Store::limiter`; this
        // `&mut self` is the only borrow of the store, and it does not cover `limiter` or
        // `data`.
        unsafe { self.vm.allows(request) }
    }

    /// [`StoreOpaque::allows`], as an error naming `what` when refused.
    pub(crate) fn limit(&mut self, request: GrowRequest, what: &str) -> Result<()> {
        if self.allows(request) {
            Ok(())
        } else {
            Err(Error::Limit(format!("the store's limiter refused {what}")))
        }
    }

    /// Asks for one more memory of type `ty` (its minimum, and maximum if declared).
    pub(crate) fn limit_new_memory(&mut self, ty: &wasmjit_codegen::MemoryType) -> Result<()> {
        let created = self.memories_created;
        self.limit(count(GrowResource::Memories, created, 1), "another memory")?;
        let bytes = |pages| usize::try_from(ty.pages_to_bytes(pages)).unwrap_or(usize::MAX);
        self.limit(
            GrowRequest {
                resource: GrowResource::Memory,
                current: 0,
                desired: bytes(ty.minimum),
                maximum: ty.maximum.map(bytes),
            },
            "a memory that large",
        )?;
        self.memories_created += 1;
        Ok(())
    }

    /// Asks for one more table of `minimum` elements.
    pub(crate) fn limit_new_table(&mut self, minimum: u64, maximum: Option<u64>) -> Result<()> {
        let created = self.tables_created;
        self.limit(count(GrowResource::Tables, created, 1), "another table")?;
        self.limit(
            GrowRequest {
                resource: GrowResource::Table,
                current: 0,
                desired: minimum as usize,
                maximum: maximum.map(|m| m as usize),
            },
            "a table that large",
        )?;
        self.tables_created += 1;
        Ok(())
    }

    /// Asks for one more instance.
    pub(crate) fn limit_new_instance(&mut self) -> Result<()> {
        let instances = self.instances.len();
        self.limit(
            count(GrowResource::Instances, instances, 1),
            "another instance",
        )
    }
}

/// A request to raise a count from `current` by `more`.
fn count(resource: GrowResource, current: usize, more: usize) -> GrowRequest {
    GrowRequest {
        resource,
        current,
        desired: current.saturating_add(more),
        maximum: None,
    }
}
