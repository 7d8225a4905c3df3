//! Where instances' memories come from: a reservation per memory, or a pool of slots.

use std::sync::Arc;

use wasmjit_codegen::MemoryType;

use crate::memory::{LinearMemory, MemoryConfig, MemoryError};
use crate::memory_image::MemoryImage;
use crate::pool::{MemoryPool, PoolConfig};

/// Allocates linear memories, and says whether data segments are mapped from images.
#[derive(Clone, Debug)]
pub struct MemoryAllocator {
    kind: AllocatorKind,
    memory_init_cow: bool,
}

#[derive(Clone, Debug)]
enum AllocatorKind {
    /// A fresh reservation per memory, unmapped when it is dropped.
    OnDemand(MemoryConfig),
    /// Slots of one reservation made up front.
    Pooling(Arc<MemoryPool>),
}

impl MemoryAllocator {
    /// Reserves each memory when it is created.
    pub fn on_demand(config: MemoryConfig, memory_init_cow: bool) -> Self {
        MemoryAllocator {
            kind: AllocatorKind::OnDemand(config),
            memory_init_cow,
        }
    }

    /// Reserves every slot of a pool now.
    pub fn pooling(config: &PoolConfig, memory_init_cow: bool) -> Result<Self, MemoryError> {
        Ok(MemoryAllocator {
            kind: AllocatorKind::Pooling(Arc::new(MemoryPool::new(config)?)),
            memory_init_cow,
        })
    }

    /// Whether modules' data segments are mapped copy-on-write from memory images where
    /// they can be.
    pub fn memory_init_cow(&self) -> bool {
        self.memory_init_cow
    }

    /// The pool, for the pooling allocator.
    pub fn pool(&self) -> Option<&Arc<MemoryPool>> {
        match &self.kind {
            AllocatorKind::Pooling(pool) => Some(pool),
            AllocatorKind::OnDemand(_) => None,
        }
    }

    /// A memory of type `ty` holding `image` (which must lie within its initial size) and
    /// zeros elsewhere.
    pub fn allocate(
        &self,
        ty: &MemoryType,
        image: Option<&Arc<MemoryImage>>,
    ) -> Result<LinearMemory, MemoryError> {
        match &self.kind {
            AllocatorKind::OnDemand(config) => {
                LinearMemory::with_image(ty, config, image.map(|i| &**i))
            }
            AllocatorKind::Pooling(pool) => pool.allocate(ty, image),
        }
    }
}
