//! Where instances' memories and tables come from: allocated per instance, or from a pool
//! with fixed limits.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use wasmjit_codegen::MemoryType;

use crate::memory::{LinearMemory, MemoryConfig, MemoryError};
use crate::memory_image::MemoryImage;
use crate::pool::{MemoryPool, PoolConfig};
use crate::table::MAX_TABLE_ELEMENTS;

/// Allocates instances' linear memories, counts instances and tables against the pool's
/// limits, and says whether data segments are mapped from images.
#[derive(Clone, Debug)]
pub struct InstanceAllocator {
    kind: AllocatorKind,
    memory_init_cow: bool,
}

#[derive(Clone, Debug)]
enum AllocatorKind {
    /// A fresh reservation per memory, unmapped when it is dropped.
    OnDemand(MemoryConfig),
    /// Slots of one reservation made up front, and counted instances and tables.
    Pooling {
        memories: Arc<MemoryPool>,
        instances: Arc<Counter>,
        tables: Arc<Counter>,
        table_elements: u64,
    },
}

/// The pooling allocator's limits besides its memories'.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolLimits {
    /// How many instances may be alive at once.
    pub total_instances: u32,
    /// How many tables defined by modules may be alive at once.
    pub total_tables: u32,
    /// The most elements a table defined by a module may have, initially or after growing.
    pub table_elements: u64,
}

/// A pool limit on the number of live instances or tables was reached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolLimitError {
    /// What ran out: "instances" or "tables".
    pub what: &'static str,
    /// The limit.
    pub limit: u32,
}

impl fmt::Display for PoolLimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the pooling allocator's limit of {} {} is reached",
            self.limit, self.what
        )
    }
}

impl std::error::Error for PoolLimitError {}

impl InstanceAllocator {
    /// Reserves each memory when it is created; limits nothing.
    pub fn on_demand(config: MemoryConfig, memory_init_cow: bool) -> Self {
        InstanceAllocator {
            kind: AllocatorKind::OnDemand(config),
            memory_init_cow,
        }
    }

    /// Reserves every memory slot of a pool now.
    pub fn pooling(
        config: &PoolConfig,
        limits: &PoolLimits,
        memory_init_cow: bool,
    ) -> Result<Self, MemoryError> {
        Ok(InstanceAllocator {
            kind: AllocatorKind::Pooling {
                memories: Arc::new(MemoryPool::new(config)?),
                instances: Arc::new(Counter::new("instances", limits.total_instances)),
                tables: Arc::new(Counter::new("tables", limits.total_tables)),
                table_elements: limits.table_elements,
            },
            memory_init_cow,
        })
    }

    /// Whether modules' data segments are mapped copy-on-write from memory images where
    /// they can be.
    pub fn memory_init_cow(&self) -> bool {
        self.memory_init_cow
    }

    /// The memory pool, for the pooling allocator.
    pub fn pool(&self) -> Option<&Arc<MemoryPool>> {
        match &self.kind {
            AllocatorKind::Pooling { memories, .. } => Some(memories),
            AllocatorKind::OnDemand(_) => None,
        }
    }

    /// A memory of type `ty` holding `image` (which must lie within its initial size) and
    /// zeros elsewhere.
    pub fn allocate_memory(
        &self,
        ty: &MemoryType,
        image: Option<&Arc<MemoryImage>>,
    ) -> Result<LinearMemory, MemoryError> {
        match &self.kind {
            AllocatorKind::OnDemand(config) => {
                LinearMemory::with_image(ty, config, image.map(|i| &**i))
            }
            AllocatorKind::Pooling { memories, .. } => memories.allocate(ty, image),
        }
    }

    /// Counts an instance defining `tables` tables against the pool's limits; the returned
    /// permit gives them back when dropped.
    pub fn reserve_instance(&self, tables: u32) -> Result<InstancePermit, PoolLimitError> {
        match &self.kind {
            AllocatorKind::OnDemand(_) => Ok(InstancePermit(None)),
            AllocatorKind::Pooling {
                instances,
                tables: table_count,
                ..
            } => {
                instances.acquire(1)?;
                if let Err(e) = table_count.acquire(tables) {
                    instances.release(1);
                    return Err(e);
                }
                Ok(InstancePermit(Some((
                    instances.clone(),
                    table_count.clone(),
                    tables,
                ))))
            }
        }
    }

    /// The most elements a table defined by a module may have.
    pub fn table_elements(&self) -> u64 {
        match &self.kind {
            AllocatorKind::OnDemand(_) => MAX_TABLE_ELEMENTS,
            AllocatorKind::Pooling { table_elements, .. } => *table_elements,
        }
    }
}

/// An instance's and its tables' places in the pool's counts, given back on drop.
#[derive(Debug)]
pub struct InstancePermit(Option<(Arc<Counter>, Arc<Counter>, u32)>);

impl Drop for InstancePermit {
    fn drop(&mut self) {
        if let Some((instances, tables, count)) = &self.0 {
            instances.release(1);
            tables.release(*count);
        }
    }
}

/// A lock-free count of live objects against a limit.
#[derive(Debug)]
struct Counter {
    what: &'static str,
    live: AtomicU32,
    limit: u32,
}

impl Counter {
    fn new(what: &'static str, limit: u32) -> Self {
        Counter {
            what,
            live: AtomicU32::new(0),
            limit,
        }
    }

    fn acquire(&self, count: u32) -> Result<(), PoolLimitError> {
        if count == 0 {
            return Ok(());
        }
        self.live
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |live| {
                live.checked_add(count).filter(|n| *n <= self.limit)
            })
            .map(|_| ())
            .map_err(|_| PoolLimitError {
                what: self.what,
                limit: self.limit,
            })
    }

    fn release(&self, count: u32) {
        if count > 0 {
            self.live.fetch_sub(count, Ordering::Relaxed);
        }
    }
}
