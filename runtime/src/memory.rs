//! Linear memories: a fixed reservation with guard regions, grown in place by `mprotect`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, RwLock};

use wasmjit_codegen::{
    BoundsChecks, MemoryLayout, MemoryType, MEMORY_RESERVATION, WASM_PAGE_SIZE_LOG2,
};

use crate::memory_image::MemoryImage;
use crate::mmap::{page_size, Mmap};
use crate::parking::WaitQueue;
use crate::pool::PoolSlot;
use crate::vmcontext::{GrowRequest, GrowResource, VMMemoryDefinition};

/// Largest reservation of a 64-bit memory, in bytes (64 GiB): how far such a memory can
/// grow, as its base never moves. Growing past it fails as growing past the maximum does.
pub const MEMORY64_MAX_RESERVATION: u64 = 64 << 30;

/// How memories are laid out in the address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryConfig {
    /// Inaccessible bytes reserved before each memory.
    pub guard_before: u64,
    /// Inaccessible bytes reserved after each memory's addressable range.
    pub guard_after: u64,
    /// Guard pages (reserve all 4 GiB a 32-bit index reaches) or explicit checks (reserve
    /// only up to the maximum).
    pub bounds_checks: BoundsChecks,
}

/// Why a memory could not be created or grown. Each rule of `WebAssembly.Memory` that can be
/// broken has its own variant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MemoryError {
    /// The initial size exceeds what the index type addresses (65536 pages of 64 KiB for a
    /// 32-bit memory; for a 64-bit one, its largest reservation).
    InitialTooLarge {
        /// Requested initial pages.
        pages: u64,
    },
    /// The maximum exceeds what the index type addresses (65536 pages of 64 KiB for a 32-bit
    /// memory, 2^48 for a 64-bit one).
    MaximumTooLarge {
        /// Requested maximum pages.
        pages: u64,
    },
    /// The initial size exceeds the maximum.
    InitialAboveMaximum {
        /// Requested initial pages.
        initial: u64,
        /// Requested maximum pages.
        maximum: u64,
    },
    /// A shared memory was requested without a maximum.
    SharedWithoutMaximum,
    /// Growing would pass the maximum (or 65536 pages); nothing changed.
    GrowBeyondMaximum {
        /// Pages before the attempt.
        current: u64,
        /// Pages requested.
        delta: u64,
        /// The limit.
        maximum: u64,
    },
    /// Every memory slot of the pooling allocator is in use.
    PoolExhausted {
        /// The pool's number of slots.
        slots: u32,
    },
    /// The initial size exceeds what a slot of the pooling allocator holds.
    PoolSlotTooSmall {
        /// Requested initial pages.
        pages: u64,
        /// Pages a slot holds.
        limit: u64,
    },
    /// The operating system refused the address space or the pages.
    Os(String),
}

impl fmt::Display for MemoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemoryError::InitialTooLarge { pages } => {
                write!(
                    f,
                    "initial size of {pages} pages exceeds the limit (4 GiB for a 32-bit memory, {} GiB for a 64-bit one)",
                    MEMORY64_MAX_RESERVATION >> 30
                )
            }
            MemoryError::MaximumTooLarge { pages } => {
                write!(
                    f,
                    "maximum size of {pages} pages exceeds the limit (4 GiB for a 32-bit memory, 2^64 bytes for a 64-bit one)"
                )
            }
            MemoryError::InitialAboveMaximum { initial, maximum } => write!(
                f,
                "initial size of {initial} pages exceeds the maximum of {maximum} pages"
            ),
            MemoryError::SharedWithoutMaximum => f.write_str("a shared memory needs a maximum"),
            MemoryError::GrowBeyondMaximum {
                current,
                delta,
                maximum,
            } => write!(
                f,
                "cannot grow a memory of {current} pages by {delta}: the maximum is {maximum} pages"
            ),
            MemoryError::PoolExhausted { slots } => write!(
                f,
                "the pooling allocator's {slots} memory slots are all in use"
            ),
            MemoryError::PoolSlotTooSmall { pages, limit } => write!(
                f,
                "initial size of {pages} pages exceeds the pooling allocator's limit of \
                 {limit} pages per memory"
            ),
            MemoryError::Os(e) => write!(f, "the operating system refused the memory: {e}"),
        }
    }
}

impl std::error::Error for MemoryError {}

/// A linear memory. Its base never moves; its accessible length only grows.
///
/// Usable from several threads at once when shared: growth is serialised by a lock and the
/// new length is published with release ordering.
#[derive(Debug)]
pub struct LinearMemory {
    backing: Backing,
    definition: Box<VMMemoryDefinition>,
    ty: MemoryType,
    maximum_pages: u64,
    layout: MemoryLayout,
    grow_lock: Mutex<()>,
    waiters: WaitQueue,
}

/// Where a memory's address space comes from.
#[derive(Debug)]
enum Backing {
    /// A reservation of its own, unmapped on drop.
    Own {
        /// The reservation, guards included.
        mmap: Mmap,
        /// Bytes from the reservation's start to the base.
        guard_before: usize,
    },
    /// A slot of the pooling allocator, reset and returned on drop.
    Pool(PoolSlot),
}

// SAFETY: the memory's bytes and definition are owned by this value; the only mutation
// through `&self` is `grow`, serialised by `grow_lock`, and the length is atomic.
unsafe impl Send for LinearMemory {}
// SAFETY: as above.
unsafe impl Sync for LinearMemory {}

/// Checks `ty` against the rules of `WebAssembly.Memory` (and, for a 64-bit memory, the
/// reservation it can have), returning how many pages it can grow to.
pub(crate) fn check_type(ty: &MemoryType) -> Result<u64, MemoryError> {
    let index_limit = ty.index_limit_pages();
    let reservation_limit = MEMORY64_MAX_RESERVATION >> ty.page_size_log2;
    if ty.minimum > index_limit {
        return Err(MemoryError::InitialTooLarge { pages: ty.minimum });
    }
    if ty.memory64 && ty.minimum > reservation_limit {
        return Err(MemoryError::InitialTooLarge { pages: ty.minimum });
    }
    if let Some(max) = ty.maximum {
        if max > index_limit {
            return Err(MemoryError::MaximumTooLarge { pages: max });
        }
        if ty.minimum > max {
            return Err(MemoryError::InitialAboveMaximum {
                initial: ty.minimum,
                maximum: max,
            });
        }
    }
    if ty.shared && ty.maximum.is_none() {
        return Err(MemoryError::SharedWithoutMaximum);
    }
    let maximum = ty.maximum.unwrap_or(index_limit);
    Ok(if ty.memory64 {
        maximum.min(reservation_limit)
    } else {
        maximum
    })
}

/// Whether a memory of type `ty` created with `bounds_checks` reserves all 4 GiB a 32-bit
/// index reaches, for code that leaves accesses unchecked. Only memories of 64 KiB pages
/// do: a memory of one-byte pages may end inside a host page, so its code always compares
/// accesses with the length (see `MemoryAssumptions::new`).
pub(crate) fn reserves_whole_index_range(ty: &MemoryType, bounds_checks: BoundsChecks) -> bool {
    bounds_checks == BoundsChecks::GuardPages
        && !ty.memory64
        && ty.page_size_log2 == WASM_PAGE_SIZE_LOG2
}

/// `pages` pages of `ty` in bytes, rounded up to whole host pages: what is made accessible
/// for a memory of that size (the bytes past the length stay zero, since every access is
/// compared with the length where the size is not whole host pages).
pub(crate) fn accessible_bytes(ty: &MemoryType, pages: u64) -> usize {
    usize::try_from(ty.pages_to_bytes(pages))
        .expect("checked against the reservation")
        .next_multiple_of(page_size())
}

impl LinearMemory {
    /// Creates a zeroed memory of `ty.minimum` pages, checking the type's limits.
    ///
    /// A 64-bit memory reserves at most [`MEMORY64_MAX_RESERVATION`] bytes (its base never
    /// moves, so that is as far as it can grow); a larger minimum is refused.
    pub fn new(ty: &MemoryType, config: &MemoryConfig) -> Result<Self, MemoryError> {
        Self::with_image(ty, config, None)
    }

    /// Creates a memory of `ty.minimum` pages in a reservation of its own, holding `image`
    /// (mapped copy-on-write) and zeros elsewhere. The image must lie within the initial size.
    pub fn with_image(
        ty: &MemoryType,
        config: &MemoryConfig,
        image: Option<&MemoryImage>,
    ) -> Result<Self, MemoryError> {
        let maximum_pages = check_type(ty)?;
        let addressable = if reserves_whole_index_range(ty, config.bounds_checks) {
            MEMORY_RESERVATION
        } else {
            (ty.pages_to_bytes(maximum_pages) as u64).next_multiple_of(page_size() as u64)
        };
        let guard_before = usize::try_from(config.guard_before)
            .map_err(|_| MemoryError::Os("guard size overflows".into()))?
            .next_multiple_of(page_size());
        let total = (guard_before as u64)
            .checked_add(addressable)
            .and_then(|n| n.checked_add(config.guard_after))
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| MemoryError::Os("reservation size overflows".into()))?;
        let os = |e: std::io::Error| MemoryError::Os(e.to_string());
        let mmap = Mmap::reserve(total.max(guard_before + 1)).map_err(os)?;
        mmap.advise_huge_pages(guard_before, addressable as usize);
        let initial = accessible_bytes(ty, ty.minimum);
        mmap.make_accessible(guard_before, initial).map_err(os)?;
        if let Some(image) = image {
            assert!(
                image.offset() + image.len() <= initial,
                "image past the initial size"
            );
            mmap.map_file_private(guard_before + image.offset(), image.len(), image.file())
                .map_err(os)?;
        }
        // SAFETY: `guard_before` lies inside the reservation (it was sized to hold it).
        let base = unsafe { mmap.as_ptr().add(guard_before) };
        registry_insert(mmap.as_ptr() as usize, mmap.len());
        let layout = MemoryLayout {
            reservation: addressable,
            // What the rounding to host pages added after the addressable range is guard too.
            guard_after: (mmap.len() - guard_before) as u64 - addressable,
            guard_before: guard_before as u64,
            base_can_move: false,
            page_size_log2: ty.page_size_log2,
            memory64: ty.memory64,
        };
        Ok(Self::from_parts(
            Backing::Own { mmap, guard_before },
            base,
            ty,
            maximum_pages,
            layout,
        ))
    }

    /// A memory in a pool slot whose first `ty.minimum` pages are accessible at `base`.
    pub(crate) fn pooled(
        slot: PoolSlot,
        base: *mut u8,
        ty: &MemoryType,
        maximum_pages: u64,
        layout: MemoryLayout,
    ) -> Self {
        Self::from_parts(Backing::Pool(slot), base, ty, maximum_pages, layout)
    }

    fn from_parts(
        backing: Backing,
        base: *mut u8,
        ty: &MemoryType,
        maximum_pages: u64,
        layout: MemoryLayout,
    ) -> Self {
        let definition = Box::new(VMMemoryDefinition {
            base,
            current_length: (ty.pages_to_bytes(ty.minimum) as usize).into(),
        });
        LinearMemory {
            backing,
            definition,
            ty: *ty,
            maximum_pages,
            layout,
            grow_lock: Mutex::new(()),
            waiters: WaitQueue::default(),
        }
    }

    /// Makes `len` bytes `offset` bytes from the base readable and writable, and the rest of
    /// the host pages they touch.
    fn make_accessible(&self, offset: usize, len: usize) -> std::io::Result<()> {
        let start = offset - offset % page_size();
        let len = (offset + len).next_multiple_of(page_size()) - start;
        let offset = start;
        match &self.backing {
            Backing::Own { mmap, guard_before } => mmap.make_accessible(guard_before + offset, len),
            Backing::Pool(slot) => slot.make_accessible(offset, len),
        }
    }

    /// Grows the memory by `delta` pages, returning the old size in pages. Past the maximum
    /// it fails and changes nothing; the new pages read as zero.
    pub fn grow(&self, delta: u64) -> Result<u64, MemoryError> {
        let _guard = self.grow_lock.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.size_pages();
        let new = current
            .checked_add(delta)
            .filter(|n| *n <= self.maximum_pages)
            .ok_or(MemoryError::GrowBeyondMaximum {
                current,
                delta,
                maximum: self.maximum_pages,
            })?;
        if delta > 0 {
            // Within the reservation (`maximum_pages` fits it), so in `usize`.
            let old_bytes = self.ty.pages_to_bytes(current) as usize;
            let new_bytes = self.ty.pages_to_bytes(new) as usize;
            self.make_accessible(old_bytes, new_bytes - old_bytes)
                .map_err(|e| MemoryError::Os(e.to_string()))?;
            self.definition
                .current_length
                .store(new_bytes, Ordering::Release);
        }
        Ok(current)
    }

    /// The limiter's question before growing by `delta` pages; `None` when the growth would
    /// pass the maximum anyway (then there is nothing to ask).
    pub fn grow_request(&self, delta: u64) -> Option<GrowRequest> {
        let current = self.size_pages();
        let desired = current
            .checked_add(delta)
            .filter(|n| *n <= self.maximum_pages)?;
        let bytes = |pages| usize::try_from(self.ty.pages_to_bytes(pages)).unwrap_or(usize::MAX);
        Some(GrowRequest {
            resource: GrowResource::Memory,
            current: bytes(current),
            desired: bytes(desired),
            maximum: self.ty.maximum.map(bytes),
        })
    }

    /// Current size in pages.
    pub fn size_pages(&self) -> u64 {
        self.byte_size() as u64 >> self.ty.page_size_log2
    }

    /// Current size in bytes.
    pub fn byte_size(&self) -> usize {
        self.definition.current_length.load(Ordering::Acquire)
    }

    /// The first byte; never changes.
    pub fn base(&self) -> *mut u8 {
        self.definition.base
    }

    /// The record compiled code reads, at a stable address.
    pub fn definition(&self) -> *const VMMemoryDefinition {
        &*self.definition
    }

    /// The address space the memory gives compiled code: what instantiation checks against
    /// the code's assumptions.
    pub fn layout(&self) -> MemoryLayout {
        self.layout
    }

    /// The declared type (minimum is the size at creation).
    pub fn ty(&self) -> MemoryType {
        self.ty
    }

    /// The most pages the memory can grow to.
    pub fn maximum_pages(&self) -> u64 {
        self.maximum_pages
    }

    /// Whether the memory is shared between threads.
    pub fn is_shared(&self) -> bool {
        self.ty.shared
    }

    /// The threads parked on this memory by `memory.atomic.wait`.
    pub fn waiters(&self) -> &WaitQueue {
        &self.waiters
    }

    /// Whether `addr` lies in this memory's reservation, guards included.
    pub fn contains(&self, addr: usize) -> bool {
        let (start, len) = match &self.backing {
            Backing::Own { mmap, .. } => (mmap.as_ptr() as usize, mmap.len()),
            Backing::Pool(slot) => slot.range(),
        };
        addr >= start && addr < start + len
    }

    /// Whether the memory lives in a slot of the pooling allocator.
    pub fn is_pooled(&self) -> bool {
        matches!(self.backing, Backing::Pool(_))
    }
}

impl Drop for LinearMemory {
    fn drop(&mut self) {
        match &self.backing {
            Backing::Own { mmap, .. } => registry_remove(mmap.as_ptr() as usize),
            Backing::Pool(slot) => slot.release(accessible_bytes(&self.ty, self.size_pages())),
        }
    }
}

/// Every live memory reservation, by start address, for the signal handler's check that a
/// fault in compiled code hit linear memory.
static RESERVATIONS: RwLock<BTreeMap<usize, usize>> = RwLock::new(BTreeMap::new());

pub(crate) fn registry_insert(start: usize, len: usize) {
    RESERVATIONS
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .insert(start, start + len);
}

pub(crate) fn registry_remove(start: usize) {
    RESERVATIONS
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&start);
}

/// Whether `addr` lies in a linear memory's reservation.
///
/// Called from the signal handler; like the code registry's lookup it may wait for a thread
/// that is creating or dropping a memory, which never faults while holding the lock.
pub fn is_wasm_memory_address(addr: usize) -> bool {
    RESERVATIONS
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .range(..=addr)
        .next_back()
        .is_some_and(|(_, end)| addr < *end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> MemoryConfig {
        MemoryConfig {
            guard_before: 64 << 10,
            guard_after: 32 << 20,
            bounds_checks: BoundsChecks::GuardPages,
        }
    }

    fn ty(minimum: u64, maximum: Option<u64>, shared: bool) -> MemoryType {
        MemoryType {
            minimum,
            maximum,
            shared,
            memory64: false,
            page_size_log2: WASM_PAGE_SIZE_LOG2,
        }
    }

    #[test]
    fn limits_are_checked() {
        let c = config();
        assert_eq!(
            LinearMemory::new(&ty(65537, None, false), &c).unwrap_err(),
            MemoryError::InitialTooLarge { pages: 65537 }
        );
        assert_eq!(
            LinearMemory::new(&ty(1, Some(65537), false), &c).unwrap_err(),
            MemoryError::MaximumTooLarge { pages: 65537 }
        );
        assert_eq!(
            LinearMemory::new(&ty(2, Some(1), false), &c).unwrap_err(),
            MemoryError::InitialAboveMaximum {
                initial: 2,
                maximum: 1
            }
        );
        assert_eq!(
            LinearMemory::new(&ty(1, None, true), &c).unwrap_err(),
            MemoryError::SharedWithoutMaximum
        );
    }

    #[test]
    fn grow_in_place_and_fail_without_change() {
        let memory = LinearMemory::new(&ty(1, Some(3), false), &config()).unwrap();
        let base = memory.base();
        assert_eq!(memory.grow(2).unwrap(), 1);
        assert_eq!(memory.byte_size(), 3 << 16);
        assert_eq!(memory.base(), base);
        assert!(memory.grow(1).is_err());
        assert_eq!(memory.size_pages(), 3);
        assert_eq!(memory.grow(0).unwrap(), 3);
        assert!(is_wasm_memory_address(base as usize));
        assert!(memory.contains(base as usize + (4 << 30)));
    }

    #[test]
    fn explicit_mode_reserves_only_the_maximum() {
        let c = MemoryConfig {
            bounds_checks: BoundsChecks::Explicit,
            ..config()
        };
        let memory = LinearMemory::new(&ty(1, Some(2), false), &c).unwrap();
        assert!(!memory.contains(memory.base() as usize + (1 << 30)));
        assert_eq!(memory.grow(1).unwrap(), 1);
        let layout = memory.layout();
        assert_eq!(layout.reservation, 2 << 16);
        assert_eq!(layout.guard_after, 32 << 20);
        assert_eq!(layout.guard_before, 64 << 10);
    }

    #[test]
    fn guard_page_layout_covers_the_index_range() {
        let memory = LinearMemory::new(&ty(1, Some(1), false), &config()).unwrap();
        let layout = memory.layout();
        assert_eq!(layout.reservation, 1 << 32);
        assert_eq!(layout.guard_after, 32 << 20);
        assert!(!layout.base_can_move);
        let end = memory.base() as usize + layout.protected_reach() as usize;
        assert!(memory.contains(end - 1) && !memory.contains(end));
    }
}
