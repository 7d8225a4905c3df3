//! The pooling allocator's memories: one reservation made at engine creation, carved into
//! slots that are handed out, reset and reused, so that instantiation maps and unmaps
//! nothing.
//!
//! Each slot is laid out like a memory with a reservation of its own: `guard_before`
//! inaccessible bytes, the addressable range (4 GiB with guard pages, the pool's maximum
//! size with explicit checks), `guard_after` inaccessible bytes. Slots never overlap, so
//! [`MemoryLayout`] and what compiled code assumes of it hold exactly as they do for
//! [`LinearMemory::new`].
//!
//! A free slot's first `accessible` bytes are readable and writable and hold the image it
//! last held (or zeros); the rest is inaccessible. Taking a slot for a memory of the same
//! module costs no system call at all; a memory of another size costs one `mprotect`; of
//! another image, a re-mapping of the image. Returning a slot restores its first
//! `keep_resident` bytes by hand (copying the image's bytes back, zeroing the rest), so they
//! stay resident and the next instance does not fault them in, gives the pages after them
//! back with `madvise(MADV_DONTNEED)` (anonymous pages then read as zero, image pages as
//! the image), and makes pages added by `grow` inaccessible again. With `keep_resident` at
//! least the memories' size, reusing a slot takes no system call and no page fault.
//!
//! Giving pages back is the expensive part of a reset when several threads instantiate: in
//! a multithreaded process every `madvise` interrupts the other cores running it to flush
//! their TLBs. So returned slots whose pages must go back wait in a batch of
//! `decommit_batch` slots, given back together in one `process_madvise` (one TLB flush for
//! the batch) before they are handed out again. A slot is never
//! handed out before its reset is complete; when no slot is free, the waiting ones are
//! decommitted at once.
//!
//! A returned slot that needs no decommit (all its pages kept resident) becomes its
//! thread's *hot* slot, which the same thread takes first next time: its pages are then in
//! that core's cache, where a slot from the shared stack may come dirty from another core's.
//!
//! The free slots form a lock-free stack (a Treiber stack of slot indices with a
//! generation tag against ABA), so threads taking and returning slots never wait for each
//! other; it is LIFO, so a thread reuses the slot it just returned, whose pages are warm.

use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use wasmjit_codegen::{
    BoundsChecks, MemoryLayout, MemoryType, MEMORY_RESERVATION, WASM32_MAX_PAGES, WASM_PAGE_SIZE,
    WASM_PAGE_SIZE_LOG2,
};

use crate::memory::MemoryError;
use crate::memory::{
    accessible_bytes, check_type, registry_insert, registry_remove, LinearMemory, MemoryConfig,
};
use crate::memory_image::MemoryImage;
use crate::mmap::{page_size, Mmap};

/// The most entries of a pool's per-thread hot slots (threads beyond share them).
const HOT_SLOTS: u32 = 64;

/// Numbers the threads that use pools, for their hot slot entries.
static NEXT_THREAD: AtomicUsize = AtomicUsize::new(0);

/// The limits of a memory pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolConfig {
    /// How many memories may be alive at once.
    pub total_memories: u32,
    /// The most 64 KiB pages one memory may have, initially or after growing (a memory of
    /// one-byte pages may have as many bytes).
    pub max_memory_pages: u64,
    /// Bytes at the start of a returned slot restored by hand (to the image's bytes or
    /// zeros) rather than given back to the kernel, so the next instance does not fault
    /// them in again.
    pub keep_resident: usize,
    /// How many returned slots wait to give their pages back together (1: each at once).
    pub decommit_batch: usize,
    /// The layout of each slot.
    pub memory: MemoryConfig,
}

/// Memory slots reserved once and reused.
#[derive(Debug)]
pub struct MemoryPool {
    mmap: Mmap,
    stride: usize,
    guard_before: usize,
    layout: MemoryLayout,
    max_memory_pages: u64,
    keep_resident: usize,
    decommit_batch: usize,
    /// Returned slots whose pages beyond `keep_resident` have not been given back yet, with
    /// the accessible bytes each memory ended with.
    pending: Mutex<Vec<(u32, usize)>>,
    /// Slots taken out of `pending` whose decommit has not finished yet.
    in_flight: AtomicUsize,
    /// Each thread's most recently returned slot that needed no decommit (index + 1, 0 for
    /// none), taken first by the same thread: its kept-resident pages are warm in that
    /// core's cache, where a slot from the shared stack may come dirty from another core's.
    hot: Box<[AtomicU32]>,
    free: SlotStack,
    slots: Box<[Mutex<SlotState>]>,
}

/// What a slot holds between uses.
#[derive(Debug, Default)]
struct SlotState {
    /// The image mapped in the slot.
    image: Option<Arc<MemoryImage>>,
    /// Bytes from the base that are readable and writable.
    accessible: usize,
}

impl MemoryPool {
    /// Reserves the address space of every slot.
    pub fn new(config: &PoolConfig) -> Result<Self, MemoryError> {
        let overflow = || MemoryError::Os("the pool's reservation size overflows".into());
        let page = page_size() as u64;
        let max_memory_pages = config.max_memory_pages.min(WASM32_MAX_PAGES);
        let addressable = match config.memory.bounds_checks {
            BoundsChecks::GuardPages => MEMORY_RESERVATION,
            BoundsChecks::Explicit => max_memory_pages * WASM_PAGE_SIZE,
        };
        let guard_before = config.memory.guard_before.next_multiple_of(page);
        let guard_after = config.memory.guard_after.next_multiple_of(page);
        let stride = guard_before
            .checked_add(addressable)
            .and_then(|n| n.checked_add(guard_after))
            .ok_or_else(overflow)?;
        let total = stride
            .checked_mul(u64::from(config.total_memories))
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(overflow)?;
        let mmap = Mmap::reserve(total).map_err(|e| MemoryError::Os(e.to_string()))?;
        registry_insert(mmap.as_ptr() as usize, mmap.len());
        let slots = (0..config.total_memories)
            .map(|_| Mutex::default())
            .collect();
        Ok(MemoryPool {
            mmap,
            stride: stride as usize,
            guard_before: guard_before as usize,
            layout: MemoryLayout {
                reservation: addressable,
                guard_after,
                guard_before,
                base_can_move: false,
                page_size_log2: WASM_PAGE_SIZE_LOG2,
                memory64: false,
            },
            max_memory_pages,
            keep_resident: config.keep_resident - config.keep_resident % page as usize,
            decommit_batch: config.decommit_batch.max(1),
            pending: Mutex::default(),
            in_flight: AtomicUsize::new(0),
            hot: (0..config.total_memories.clamp(1, HOT_SLOTS))
                .map(|_| AtomicU32::new(0))
                .collect(),
            free: SlotStack::new(config.total_memories),
            slots,
        })
    }

    /// A zeroed memory of `ty.minimum` pages in a free slot, holding `image` (mapped
    /// copy-on-write, within the initial size) if given. Its maximum is capped at the
    /// pool's pages per memory.
    pub fn allocate(
        self: &Arc<Self>,
        ty: &MemoryType,
        image: Option<&Arc<MemoryImage>>,
    ) -> Result<LinearMemory, MemoryError> {
        // The slot's bytes, in the memory's pages.
        let slot_pages = (self.max_memory_pages * WASM_PAGE_SIZE) >> ty.page_size_log2;
        let maximum_pages = check_type(ty)?.min(slot_pages);
        if ty.minimum > slot_pages {
            return Err(MemoryError::PoolSlotTooSmall {
                pages: ty.minimum,
                limit: slot_pages,
            });
        }
        let index = match self.take_hot(self.hot_entry()).or_else(|| self.free.pop()) {
            Some(index) => index,
            None => self.reclaim().ok_or(MemoryError::PoolExhausted {
                slots: self.slots.len() as u32,
            })?,
        };
        let initial = accessible_bytes(ty, ty.minimum);
        if let Err(e) = self.prepare(index, initial, image) {
            // The slot's state is unknown after a failed system call: it is not reused.
            return Err(MemoryError::Os(e.to_string()));
        }
        let slot = PoolSlot {
            pool: self.clone(),
            index,
        };
        let base = self.mmap.as_ptr().wrapping_add(self.base_offset(index));
        // A 64-bit memory's code, and that of a memory of one-byte pages, checks every access
        // explicitly, so a slot serves it as well as a 32-bit one of 64 KiB pages; only the
        // index type and page size differ.
        let layout = MemoryLayout {
            memory64: ty.memory64,
            page_size_log2: ty.page_size_log2,
            ..self.layout
        };
        Ok(LinearMemory::pooled(slot, base, ty, maximum_pages, layout))
    }

    /// Offset of slot `index`'s base in the pool's reservation.
    fn base_offset(&self, index: u32) -> usize {
        index as usize * self.stride + self.guard_before
    }

    fn state(&self, index: u32) -> MutexGuard<'_, SlotState> {
        self.slots[index as usize]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Makes slot `index` hold `image` and exactly `initial` accessible bytes.
    fn prepare(
        &self,
        index: u32,
        initial: usize,
        image: Option<&Arc<MemoryImage>>,
    ) -> std::io::Result<()> {
        let base = self.base_offset(index);
        let mut state = self.state(index);
        let same_image = match (&state.image, image) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        if !same_image {
            if let Some(old) = state.image.take() {
                self.mmap.unmap_file(base + old.offset(), old.len())?;
                self.mmap.make_inaccessible(base, state.accessible)?;
                state.accessible = 0;
            }
            if let Some(new) = image {
                assert!(
                    new.offset() + new.len() <= initial,
                    "image past the initial size"
                );
                self.mmap
                    .map_file_private(base + new.offset(), new.len(), new.file())?;
                state.image = Some(new.clone());
            }
        }
        if state.accessible < initial {
            self.mmap
                .make_accessible(base + state.accessible, initial - state.accessible)?;
        } else if state.accessible > initial {
            self.mmap
                .make_inaccessible(base + initial, state.accessible - initial)?;
        }
        state.accessible = initial;
        Ok(())
    }

    /// Resets slot `index`, whose memory ended with `byte_size` accessible bytes (whole host
    /// pages), and frees it, or queues it for a batched decommit.
    fn release(&self, index: u32, byte_size: usize) {
        let kept = self.keep_resident.min(byte_size);
        self.restore_kept(index, kept);
        if kept == byte_size {
            // Nothing to give back: the slot is ready for this thread's next memory.
            if self.protect_grown(index, byte_size).is_ok() {
                if let Some(evicted) = self.put_hot(index) {
                    self.free.push(evicted);
                }
            }
            return;
        }
        let batch = {
            let mut pending = self.pending();
            pending.push((index, byte_size));
            if pending.len() < self.decommit_batch {
                return;
            }
            self.in_flight.fetch_add(pending.len(), Ordering::AcqRel);
            std::mem::take(&mut *pending)
        };
        let count = batch.len();
        self.decommit(batch);
        self.in_flight.fetch_sub(count, Ordering::Release);
    }

    /// A free slot when the thread's hot entry and the free stack had none: the slots
    /// waiting for a decommit (decommitted now), another thread's hot slot, or one whose
    /// decommit another thread is finishing. `None` when the pool is exhausted.
    fn reclaim(&self) -> Option<u32> {
        loop {
            // Read under the lock, before looking: a batch leaves `pending` only under the
            // lock and is counted in flight at once, and a decommit pushes its slots before
            // it is counted out, so a count of 0 here means no slot is still on its way.
            let (in_flight, waiting) = {
                let mut pending = self.pending();
                let in_flight = self.in_flight.load(Ordering::Acquire);
                self.in_flight.fetch_add(pending.len(), Ordering::AcqRel);
                (in_flight, std::mem::take(&mut *pending))
            };
            let count = waiting.len();
            if count > 0 {
                self.decommit(waiting);
                self.in_flight.fetch_sub(count, Ordering::Release);
            }
            if let Some(index) = self
                .free
                .pop()
                .or_else(|| self.hot.iter().find_map(|entry| self.take_hot(entry)))
            {
                return Some(index);
            }
            if in_flight == 0 {
                return None;
            }
            std::thread::yield_now();
        }
    }

    /// The calling thread's entry in `hot`.
    fn hot_entry(&self) -> &AtomicU32 {
        thread_local! {
            static THREAD: usize = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
        }
        &self.hot[THREAD.with(|thread| *thread) % self.hot.len()]
    }

    fn take_hot(&self, entry: &AtomicU32) -> Option<u32> {
        match entry.swap(0, Ordering::Acquire) {
            0 => None,
            index => Some(index - 1),
        }
    }

    /// Makes slot `index` the calling thread's hot slot; returns the slot it replaces.
    fn put_hot(&self, index: u32) -> Option<u32> {
        self.hot_entry()
            .swap(index + 1, Ordering::AcqRel)
            .checked_sub(1)
    }

    fn pending(&self) -> MutexGuard<'_, Vec<(u32, usize)>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Restores the first `kept` bytes of slot `index` by hand: the image's bytes where it
    /// lies, zeros elsewhere.
    fn restore_kept(&self, index: u32, kept: usize) {
        let base = self.base_offset(index);
        let state = self.state(index);
        let memory = self.mmap.as_ptr().wrapping_add(base);
        let (image_start, image_bytes) = match &state.image {
            Some(image) => (image.offset(), image.bytes()),
            None => (kept, &[][..]),
        };
        let image_start = image_start.min(kept);
        let image_end = (image_start + image_bytes.len()).min(kept);
        // SAFETY: the slot's first `kept` bytes are accessible (the memory that just ended
        // had at least that length) and nothing else refers to them any more; the image's
        // bytes are a separate mapping, and the three ranges written are `[0, image_start)`,
        // `[image_start, image_end)` and `[image_end, kept)`.
        unsafe {
            ptr::write_bytes(memory, 0, image_start);
            ptr::copy_nonoverlapping(
                image_bytes.as_ptr(),
                memory.add(image_start),
                image_end - image_start,
            );
            ptr::write_bytes(memory.add(image_end), 0, kept - image_end);
        }
    }

    /// Gives back the pages after the first `keep_resident` bytes of each `(slot, byte size)`
    /// in `slots` (in one system call where the kernel allows it, see
    /// [`Mmap::decommit_ranges`]), makes pages added by `grow` inaccessible again, and frees
    /// the slots.
    fn decommit(&self, slots: Vec<(u32, usize)>) {
        let ranges: Vec<(usize, usize)> = slots
            .iter()
            .map(|&(index, byte_size)| {
                let kept = self.keep_resident.min(byte_size);
                (self.base_offset(index) + kept, byte_size - kept)
            })
            .collect();
        if self.mmap.decommit_ranges(&ranges).is_err() {
            // The slots might still hold the old instances' bytes: they are not reused.
            return;
        }
        for (index, byte_size) in slots {
            // Likewise for a slot whose grown pages stay accessible.
            if self.protect_grown(index, byte_size).is_ok() {
                self.free.push(index);
            }
        }
    }

    /// Makes the pages a memory of slot `index` added by `grow` (up to `byte_size`)
    /// inaccessible again.
    fn protect_grown(&self, index: u32, byte_size: usize) -> std::io::Result<()> {
        let state = self.state(index);
        if byte_size > state.accessible {
            self.mmap.make_inaccessible(
                self.base_offset(index) + state.accessible,
                byte_size - state.accessible,
            )?;
        }
        Ok(())
    }

    /// The number of slots.
    pub fn total_memories(&self) -> u32 {
        self.slots.len() as u32
    }

    /// The most pages a memory of this pool may have.
    pub fn max_memory_pages(&self) -> u64 {
        self.max_memory_pages
    }
}

impl Drop for MemoryPool {
    fn drop(&mut self) {
        registry_remove(self.mmap.as_ptr() as usize);
    }
}

/// A memory's claim on its pool slot.
#[derive(Debug)]
pub(crate) struct PoolSlot {
    pool: Arc<MemoryPool>,
    index: u32,
}

impl PoolSlot {
    /// Makes `len` bytes at `offset` from the base readable and writable.
    pub(crate) fn make_accessible(&self, offset: usize, len: usize) -> std::io::Result<()> {
        self.pool
            .mmap
            .make_accessible(self.pool.base_offset(self.index) + offset, len)
    }

    /// The slot's address range, guards included: `(start, length)`.
    pub(crate) fn range(&self) -> (usize, usize) {
        let start = self.pool.mmap.as_ptr() as usize + self.index as usize * self.pool.stride;
        (start, self.pool.stride)
    }

    /// Resets the slot of a memory that ended with `byte_size` accessible bytes (its length
    /// rounded up to whole host pages) and frees it.
    pub(crate) fn release(&self, byte_size: usize) {
        self.pool.release(self.index, byte_size);
    }
}

/// A lock-free stack of slot indices.
#[derive(Debug)]
struct SlotStack {
    /// The top: a generation tag in the high 32 bits, the top index + 1 in the low ones
    /// (0 when empty).
    head: AtomicU64,
    /// Each slot's successor on the stack, + 1 (0 for none).
    next: Box<[AtomicU32]>,
}

impl SlotStack {
    /// A stack holding `0..count`, 0 on top.
    fn new(count: u32) -> Self {
        let next = (0..count)
            .map(|i| AtomicU32::new(if i + 1 < count { i + 2 } else { 0 }))
            .collect();
        SlotStack {
            head: AtomicU64::new(u64::from(count.min(1))),
            next,
        }
    }

    fn pop(&self) -> Option<u32> {
        let mut head = self.head.load(Ordering::Acquire);
        loop {
            let top = head as u32;
            if top == 0 {
                return None;
            }
            let next = self.next[top as usize - 1].load(Ordering::Relaxed);
            // A new tag makes the exchange fail if the stack changed in between, even if
            // `top` is back on top (the ABA case), so `next` is never stale when it lands.
            let new = ((head >> 32).wrapping_add(1) << 32) | u64::from(next);
            match self
                .head
                .compare_exchange_weak(head, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Some(top - 1),
                Err(current) => head = current,
            }
        }
    }

    fn push(&self, index: u32) {
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            self.next[index as usize].store(head as u32, Ordering::Relaxed);
            let new = ((head >> 32).wrapping_add(1) << 32) | u64::from(index + 1);
            match self
                .head
                .compare_exchange_weak(head, new, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(current) => head = current,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(total_memories: u32) -> Arc<MemoryPool> {
        pool_with(total_memories, 4096, 1)
    }

    fn pool_with(
        total_memories: u32,
        keep_resident: usize,
        decommit_batch: usize,
    ) -> Arc<MemoryPool> {
        Arc::new(
            MemoryPool::new(&PoolConfig {
                total_memories,
                max_memory_pages: 4,
                keep_resident,
                decommit_batch,
                memory: MemoryConfig {
                    guard_before: 64 << 10,
                    guard_after: 32 << 20,
                    bounds_checks: BoundsChecks::Explicit,
                },
            })
            .unwrap(),
        )
    }

    fn ty(minimum: u64, maximum: Option<u64>) -> MemoryType {
        MemoryType {
            minimum,
            maximum,
            shared: false,
            memory64: false,
            page_size_log2: WASM_PAGE_SIZE_LOG2,
        }
    }

    #[test]
    fn slots_run_out_and_come_back() {
        let pool = pool(2);
        let a = pool.allocate(&ty(1, None), None).unwrap();
        let b = pool.allocate(&ty(1, None), None).unwrap();
        assert_ne!(a.base(), b.base());
        assert_eq!(
            pool.allocate(&ty(1, None), None).unwrap_err(),
            MemoryError::PoolExhausted { slots: 2 }
        );
        drop(a);
        pool.allocate(&ty(1, None), None).unwrap();
    }

    #[test]
    fn reused_slots_are_zero_and_shrink_to_the_new_size() {
        let pool = pool(1);
        let memory = pool.allocate(&ty(1, None), None).unwrap();
        assert_eq!(memory.grow(2).unwrap(), 1);
        // SAFETY: the memory is 3 pages long.
        unsafe {
            memory.base().write(7);
            memory.base().add(3 << 16).sub(1).write(9);
        }
        drop(memory);
        let memory = pool.allocate(&ty(2, None), None).unwrap();
        assert_eq!(memory.maximum_pages(), 4);
        // SAFETY: the memory is 2 pages long.
        let bytes = unsafe { std::slice::from_raw_parts(memory.base(), 2 << 16) };
        assert!(bytes.iter().all(|b| *b == 0));
        assert!(memory.grow(3).is_err());
        assert_eq!(memory.grow(1).unwrap(), 2);
        // SAFETY: the memory is 3 pages long.
        assert_eq!(unsafe { memory.base().add(3 << 16).sub(1).read() }, 0);
    }

    #[test]
    fn batched_decommits_free_slots_only_once_reset() {
        // Six slots, decommitted four at a time, nothing kept resident: a slot waiting in a
        // batch is not handed out until its batch is done (or the pool would otherwise be
        // exhausted).
        let pool = pool_with(6, 0, 4);
        for round in 0..5u8 {
            let memories: Vec<_> = (0..6)
                .map(|_| pool.allocate(&ty(1, Some(2)), None).unwrap())
                .collect();
            assert_eq!(
                pool.allocate(&ty(1, None), None).unwrap_err(),
                MemoryError::PoolExhausted { slots: 6 }
            );
            for memory in &memories {
                // SAFETY: each memory is 1 page long, grown to 2 for the second write.
                unsafe {
                    let bytes = std::slice::from_raw_parts(memory.base(), 1 << 16);
                    assert!(bytes.iter().all(|b| *b == 0), "round {round}: old bytes");
                    memory.base().write(round + 1);
                    memory.base().add(4095).write(round + 1);
                    assert_eq!(memory.grow(1).unwrap(), 1);
                    memory.base().add((2 << 16) - 1).write(round + 1);
                }
            }
            // Drop them out of order, so that the batches hold non-neighbouring slots too.
            let (evens, odds): (Vec<_>, Vec<_>) = memories
                .into_iter()
                .enumerate()
                .partition(|(i, _)| i % 2 == 0);
            drop(odds);
            drop(evens);
        }
    }

    #[test]
    fn too_large_initial_sizes_are_refused() {
        assert_eq!(
            pool(1).allocate(&ty(5, None), None).unwrap_err(),
            MemoryError::PoolSlotTooSmall { pages: 5, limit: 4 }
        );
    }

    #[test]
    fn the_stack_hands_out_each_index_once() {
        let stack = SlotStack::new(3);
        let mut taken: Vec<u32> = std::iter::from_fn(|| stack.pop()).collect();
        taken.sort_unstable();
        assert_eq!(taken, [0, 1, 2]);
        stack.push(1);
        assert_eq!(stack.pop(), Some(1));
        assert_eq!(stack.pop(), None);
    }
}
