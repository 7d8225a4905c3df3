//! The store's GC heap, where wasm's structs and arrays live, its collector, and the
//! builtins that allocate, fill, copy and test objects.
//!
//! Objects are laid out as `wasmjit_codegen::gc_layout` describes. The heap is one
//! reservation of address space per store, made on the first allocation and committed in
//! chunks as allocation reaches them; each growth of the committed part is asked of the
//! store's limiter (`GrowResource::GcHeap`), so a GC heap limit bounds it, and an
//! allocation beyond it makes compiled code trap ("GC heap exhausted"). Objects never move,
//! so a reference is a plain address, and "is this reference a GC object" is a range check
//! (an internalised host reference lies outside the heap).
//!
//! # Collection
//!
//! A non-moving mark-sweep collector ([`collector`]). The header word at
//! [`GC_MARK`] holds each block's size (a multiple of 16) and, in its low bit, the mark.
//! The heap is a sequence of blocks, objects and free blocks (kind [`GC_KIND_FREE`]), from
//! its start to the bump pointer; the sweep walks it, merging neighbouring dead objects and
//! free blocks into one free block, and puts the free blocks in size-class free lists
//! (exact sizes up to [`SMALL_LIMIT`] bytes, a size-ordered map above); a run of free
//! blocks at the end moves the bump pointer back instead. Allocation takes the exact size
//! class, then bumps inside a large free block taken whole (the smallest that fits), then
//! bumps the heap's pointer (a small object starting a 64 KiB buffer there). That bump
//! buffer is published in the store context, where compiled code allocates small structs
//! inline (a load, an add, a compare and the header stores); the runtime takes back what
//! it used whenever it allocates or collects. The sweep gives the
//! pages of whole free 1 MiB chunks back to the kernel (they stay committed, and read as
//! zero when used again).
//!
//! A collection runs at an allocation from wasm when the bytes allocated since the last one
//! exceed the live bytes it left (at least [`MIN_TRIGGER`]), or when the limiter refuses to
//! grow the heap (then the allocation is retried once, and traps if it still does not fit);
//! and when the embedder asks (`Store::gc`). Allocations the embedder makes (constant
//! expressions at instantiation, host-made objects) never collect: their roots are not all
//! reachable yet.
//!
//! Costs: an allocation is a free-list pop or a bump plus zeroing the block; a collection
//! marks in time proportional to the live objects and references (with an explicit work
//! list: no recursion) and sweeps in time proportional to the heap's used part; memory
//! overhead is the 16-byte header (the mark bit lives in it) and fragmentation (blocks are
//! merged but never moved).

use std::cell::UnsafeCell;
use std::collections::BTreeMap;
use std::ptr;

use wasmjit_codegen::gc_layout::{
    array_size, GC_ARRAY_LENGTH, GC_KIND, GC_KIND_ARRAY, GC_KIND_STRUCT, GC_MARK, GC_PAYLOAD,
    GC_TYPE_ID,
};
use wasmjit_codegen::{HeapType, TypeKind, TypeLookup};

use crate::instance::Instance;
use crate::mmap::Mmap;
use crate::type_registry::TypeRegistry;
use crate::vmcontext::{GrowRequest, GrowResource, VMFuncRef, VMStoreContext, ValRaw};

pub mod collector;
pub(crate) mod entry;

pub use collector::TraceRoots;

/// Address space reserved for one store's GC heap: the most it can ever hold.
pub const GC_HEAP_RESERVATION: usize = 4 << 30;

/// The committed part of the heap grows by at least this much at a time.
const COMMIT_CHUNK: usize = 1 << 20;

/// The kind of a free block.
pub(crate) const GC_KIND_FREE: u32 = 0;

/// Free blocks up to this size are kept in exact size classes.
const SMALL_LIMIT: usize = 4096;

/// The size of the bump buffer a small allocation at the heap's end starts, for compiled
/// code to allocate the next structs from inline.
const BUMP_CHUNK: usize = 64 << 10;

/// A collection runs once at least this many bytes were allocated since the last one.
const MIN_TRIGGER: usize = 1 << 20;

/// One store's GC heap (see the module documentation).
#[derive(Debug, Default)]
pub struct GcHeap {
    state: UnsafeCell<HeapState>,
}

#[derive(Debug, Default)]
struct HeapState {
    /// The reservation, made on the first allocation.
    mapping: Option<Mmap>,
    /// Bytes used by blocks from the reservation's start (the bump pointer).
    used: usize,
    /// Bytes made accessible from the reservation's start.
    committed: usize,
    /// Free blocks of each size up to [`SMALL_LIMIT`], by size / 16, as offsets.
    small: Vec<Vec<usize>>,
    /// Larger free blocks by size, as offsets.
    large: BTreeMap<usize, Vec<usize>>,
    /// A large free block taken whole, from which allocations without a free block of
    /// their exact size bump (its unused rest keeps a free block's header).
    buffer: std::ops::Range<usize>,
    /// Bytes allocated since the last collection.
    allocated: usize,
    /// Bytes of the objects the last collection kept.
    live: usize,
    /// The highest the bump pointer reached since the sweep last gave the pages above it
    /// back.
    touched: usize,
    /// Where objects of each type hold references, by engine-wide type id.
    traces: Vec<Option<std::sync::Arc<collector::Trace>>>,
}

/// Why an allocation is made, which decides whether it may collect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Allocator {
    /// A builtin called by wasm, whose entry stub recorded the calling frame.
    Wasm,
    /// The embedder (instantiation, host-made objects): never collects.
    Host,
}

impl GcHeap {
    /// A zeroed, 16-byte aligned block of `size` bytes (a multiple of 16, at least 16), or
    /// `None` if the heap cannot grow that far.
    ///
    /// # Safety
    /// Not called concurrently with any other use of this heap (the store is used by one
    /// thread at a time); only from a builtin called by wasm of `store`'s store (with
    /// `Allocator::Wasm`, through its entry stub), or by the embedder holding the store, so
    /// that the limiter may be asked.
    unsafe fn alloc(&self, store: &VMStoreContext, size: usize, by: Allocator) -> Option<*mut u8> {
        // SAFETY: per the contract, only this thread uses the store.
        let stress = unsafe { *store.gc_stress.get() };
        // SAFETY: per the contract, only this thread uses the store.
        let may_collect = by == Allocator::Wasm && unsafe { collector::can_collect(store) };
        {
            // SAFETY: per the contract, nothing else uses the state now.
            let state = unsafe { &mut *self.state.get() };
            // SAFETY: per the contract.
            unsafe { state.reclaim_buffer(store) };
            state.allocated += size;
            let due = state.allocated > state.live.max(MIN_TRIGGER);
            if may_collect && (due || stress) {
                // SAFETY: per the contract, called from wasm through an entry stub.
                unsafe { collector::collect_from_wasm(store) };
            }
        }
        // SAFETY: as above.
        if let Some(block) = unsafe { self.take(store, size) } {
            return Some(block);
        }
        if !may_collect {
            return None;
        }
        // SAFETY: as above.
        unsafe {
            collector::collect_from_wasm(store);
            self.take(store, size)
        }
    }

    /// A zeroed block of `size` bytes from the free lists or the bump pointer, growing the
    /// committed part if the limiter allows.
    ///
    /// # Safety
    /// As [`GcHeap::alloc`].
    unsafe fn take(&self, store: &VMStoreContext, size: usize) -> Option<*mut u8> {
        // SAFETY: per the contract, nothing else uses the state now.
        let state = unsafe { &mut *self.state.get() };
        if state.mapping.is_none() {
            state.mapping = Some(Mmap::reserve(GC_HEAP_RESERVATION).ok()?);
        }
        let offset = match state.take_free(size) {
            Some(offset) => offset,
            None => {
                // A small object starts a bump buffer at the heap's end, where the next
                // ones are allocated inline; a large one, or one the limiter leaves no room
                // for, takes only its size.
                let offset = state.used;
                let object_end = offset.checked_add(size)?;
                let buffer_end = offset + BUMP_CHUNK;
                // SAFETY: per the contract.
                let end = if size <= SMALL_LIMIT && unsafe { state.commit(store, buffer_end) }.is_some() {
                    buffer_end
                } else {
                    // SAFETY: per the contract.
                    unsafe { state.commit(store, object_end)? };
                    object_end
                };
                state.used = end;
                state.touched = state.touched.max(end);
                if end > object_end {
                    let old = std::mem::replace(&mut state.buffer, object_end..end);
                    if !old.is_empty() {
                        state.add_free(old.start, old.len());
                    }
                    state.write_free_header(object_end, end - object_end);
                }
                offset
            }
        };
        let base = state.base();
        // SAFETY: the block lies inside the committed part of the reservation, and holds
        // no object now.
        let block = unsafe {
            let block = (base + offset) as *mut u8;
            ptr::write_bytes(block, 0, size);
            block.add(GC_MARK as usize).cast::<u32>().write(size as u32);
            block
        };
        // SAFETY: per the contract, no wasm reads the bounds while this runs.
        unsafe { state.publish_bounds(store) };
        Some(block)
    }

    /// Whether `address` is that of an object of this heap.
    ///
    /// # Safety
    /// Not called concurrently with an allocation.
    pub unsafe fn contains(&self, address: usize) -> bool {
        // SAFETY: per the contract, no allocation changes the state now.
        let state = unsafe { &*self.state.get() };
        state.mapping.as_ref().is_some_and(|m| {
            let base = m.as_ptr() as usize;
            address >= base && address < base + state.used
        })
    }

    /// Bytes from the heap's start to its last block (live objects, garbage not yet
    /// collected and free blocks in between).
    pub fn used(&self) -> usize {
        // SAFETY: a read of a plain field; the store is used by one thread at a time.
        unsafe { (*self.state.get()).used }
    }
}

impl HeapState {
    /// The reservation's address (0 before the first allocation).
    fn base(&self) -> usize {
        self.mapping.as_ref().map_or(0, |m| m.as_ptr() as usize)
    }

    /// Makes the first `end` bytes accessible, asking the limiter first.
    ///
    /// # Safety
    /// As [`GcHeap::alloc`].
    unsafe fn commit(&mut self, store: &VMStoreContext, end: usize) -> Option<()> {
        let mapping = self.mapping.as_ref()?;
        if end > mapping.len() {
            return None;
        }
        if end > self.committed {
            let desired = end.next_multiple_of(COMMIT_CHUNK).min(mapping.len());
            let request = GrowRequest {
                resource: GrowResource::GcHeap,
                current: self.committed,
                desired,
                maximum: Some(mapping.len()),
            };
            // SAFETY: per the contract.
            if !unsafe { store.allows(request) } {
                return None;
            }
            mapping
                .make_accessible(self.committed, desired - self.committed)
                .ok()?;
            self.committed = desired;
        }
        Some(())
    }

    /// Tells compiled code where the objects are, and where it may allocate inline (nowhere
    /// in the stress mode, where every allocation must reach the builtin to collect).
    ///
    /// # Safety
    /// No wasm reads the bounds while this runs.
    unsafe fn publish_bounds(&self, store: &VMStoreContext) {
        let base = self.base();
        // SAFETY: per the contract.
        unsafe {
            *store.gc_heap_start.get() = base;
            *store.gc_heap_end.get() = base + self.used;
            let inline = !self.buffer.is_empty() && !*store.gc_stress.get();
            let (next, end) = match inline {
                true => (base + self.buffer.start, base + self.buffer.end),
                false => (0, 0),
            };
            *store.gc_alloc_next.get() = next;
            *store.gc_alloc_end.get() = end;
        }
    }

    /// Takes back the part of the bump buffer compiled code allocated from since the
    /// buffer was last published: the buffer then starts after those objects (with a free
    /// block's header, so that the sweep steps over its rest), and their bytes count as
    /// allocated.
    ///
    /// # Safety
    /// No wasm allocates while this runs.
    unsafe fn reclaim_buffer(&mut self, store: &VMStoreContext) {
        // SAFETY: per the contract.
        let next = unsafe { *store.gc_alloc_next.get() };
        if next == 0 {
            return;
        }
        let start = next - self.base();
        debug_assert!(self.buffer.start <= start && start <= self.buffer.end);
        self.allocated += start - self.buffer.start;
        self.buffer.start = start;
        if !self.buffer.is_empty() {
            self.write_free_header(self.buffer.start, self.buffer.len());
        }
    }

    /// The offset of a free block of `size` bytes, split off a larger one if need be.
    fn take_free(&mut self, size: usize) -> Option<usize> {
        if size <= SMALL_LIMIT {
            if let Some(offset) = self.small.get_mut(size / 16).and_then(Vec::pop) {
                return Some(offset);
            }
        }
        if self.buffer.len() < size {
            let (&found, _) = self.large.range(size..).next()?;
            let list = self.large.get_mut(&found).expect("found above");
            let offset = list.pop().expect("no empty lists are kept");
            if list.is_empty() {
                self.large.remove(&found);
            }
            let old = std::mem::replace(&mut self.buffer, offset..offset + found);
            if !old.is_empty() {
                self.add_free(old.start, old.len());
            }
        }
        let offset = self.buffer.start;
        self.buffer.start += size;
        if !self.buffer.is_empty() {
            // The rest stays a free block, which the sweep can step over.
            self.write_free_header(self.buffer.start, self.buffer.len());
        }
        Some(offset)
    }

    /// Writes the header of a free block of `size` bytes at `offset`.
    fn write_free_header(&self, offset: usize, size: usize) {
        let block = self.base() + offset;
        // SAFETY: the block lies in the committed part and holds no live object; its header
        // is its own.
        unsafe {
            ((block + GC_TYPE_ID as usize) as *mut u32).write(0);
            ((block + GC_KIND as usize) as *mut u32).write(GC_KIND_FREE);
            ((block + GC_MARK as usize) as *mut u32).write(size as u32);
        }
    }

    /// Records the free block of `size` bytes at `offset`, writing its header.
    fn add_free(&mut self, offset: usize, size: usize) {
        self.write_free_header(offset, size);
        if size <= SMALL_LIMIT {
            let class = size / 16;
            if self.small.len() <= class {
                self.small.resize_with(SMALL_LIMIT / 16 + 1, Vec::new);
            }
            self.small[class].push(offset);
        } else {
            self.large.entry(size).or_default().push(offset);
        }
    }

    /// Frees every unmarked block, clears the marks and rebuilds the free lists (see the
    /// module documentation).
    fn sweep(&mut self) {
        for class in &mut self.small {
            class.clear();
        }
        self.large.clear();
        self.buffer = 0..0;
        let base = self.base();
        let (mut at, mut live) = (0, 0);
        let mut free_from = None;
        let mut decommit = Vec::new();
        while at < self.used {
            // SAFETY: `at` is the start of a block below the bump pointer, whose header
            // holds its size.
            let word = unsafe { &mut *((base + at + GC_MARK as usize) as *mut u32) };
            let size = (*word & !15) as usize;
            // Every block is at least a header: a smaller size means the heap was
            // corrupted, and walking on could not end.
            assert!(
                size >= GC_PAYLOAD as usize,
                "corrupt GC heap at offset {at}"
            );
            if *word & 1 == 1 {
                *word &= !1;
                live += size;
                if let Some(from) = free_from.take() {
                    // The free block's header stays resident; whole chunks after it go.
                    decommit.push(whole_chunks(from + GC_PAYLOAD as usize, at));
                    self.add_free(from, at - from);
                }
            } else if free_from.is_none() {
                free_from = Some(at);
            }
            at += size;
        }
        if let Some(from) = free_from {
            self.used = from;
        }
        let top = self
            .touched
            .next_multiple_of(COMMIT_CHUNK)
            .min(self.committed);
        decommit.push(whole_chunks(self.used, top));
        self.touched = self.used;
        decommit.retain(|(_, len)| *len > 0);
        if let Some(mapping) = &self.mapping {
            // Pages given back read as zero when next used; a failure only keeps them.
            let _ = mapping.decommit_ranges(&decommit);
        }
        self.live = live;
        self.allocated = 0;
    }
}

/// The whole commit chunks inside `start..end`, as an offset and a length (empty if none).
fn whole_chunks(start: usize, end: usize) -> (usize, usize) {
    let first = start.next_multiple_of(COMMIT_CHUNK);
    let last = end / COMMIT_CHUNK * COMMIT_CHUNK;
    (first, last.saturating_sub(first))
}

/// A new object of engine-wide type `type_id`, kind `kind` and `size` bytes, its array
/// length set to `len`; null if the heap is exhausted.
///
/// # Safety
/// As [`GcHeap::alloc`].
pub(crate) unsafe fn alloc_object(
    store: &VMStoreContext,
    by: Allocator,
    type_id: u32,
    kind: u32,
    len: u32,
    size: u32,
) -> *mut u8 {
    // SAFETY: per the contract.
    let Some(object) = (unsafe { store.gc_heap.alloc(store, size as usize, by) }) else {
        return ptr::null_mut();
    };
    // SAFETY: the block is fresh, at least GC_PAYLOAD bytes and 16-byte aligned.
    unsafe {
        object.add(GC_TYPE_ID as usize).cast::<u32>().write(type_id);
        object.add(GC_KIND as usize).cast::<u32>().write(kind);
        object
            .add(GC_ARRAY_LENGTH as usize)
            .cast::<u32>()
            .write(len);
    }
    object
}

/// A new array of engine-wide type `type_id` with `len` zeroed elements of `elem_size`
/// bytes; null if it does not fit.
///
/// # Safety
/// As [`GcHeap::alloc`].
pub(crate) unsafe fn alloc_array(
    store: &VMStoreContext,
    by: Allocator,
    type_id: u32,
    len: u32,
    elem_size: u32,
) -> *mut u8 {
    match array_size(len, elem_size) {
        // SAFETY: per the contract.
        Some(size) => unsafe { alloc_object(store, by, type_id, GC_KIND_ARRAY, len, size) },
        None => ptr::null_mut(),
    }
}

/// The address of element `index` of `array`, whose elements are `elem_size` bytes.
fn element(array: u64, index: u32, elem_size: u32) -> *mut u8 {
    (array as usize + GC_PAYLOAD as usize + index as usize * elem_size as usize) as *mut u8
}

/// The length of the array at `array`.
///
/// # Safety
/// `array` must be the address of a live array.
unsafe fn array_len(array: u64) -> u32 {
    // SAFETY: per the contract.
    unsafe { ((array as usize + GC_ARRAY_LENGTH as usize) as *const u32).read() }
}

/// Whether `index..index + len` lies inside `array`.
///
/// # Safety
/// As [`array_len`].
unsafe fn in_bounds(array: u64, index: u32, len: u32) -> bool {
    // SAFETY: per the contract.
    let length = unsafe { array_len(array) };
    index.checked_add(len).is_some_and(|end| end <= length)
}

/// Whether the non-null reference `value` is of heap type `heap` (engine-wide ids), in the
/// store `store`.
///
/// # Safety
/// `value` must be a reference of the store's wasm (a live funcref, exception, host
/// reference, GC object or `i31`), and no allocation may run concurrently.
pub unsafe fn ref_matches(store: &VMStoreContext, value: u64, heap: HeapType) -> bool {
    // SAFETY: the registry pointer is set with the store and outlives it.
    let types: &TypeRegistry = unsafe { &**store.types.get() };
    let is_i31 = value & 1 == 1;
    // SAFETY: per the contract.
    let object = !is_i31 && unsafe { store.gc_heap.contains(value as usize) };
    // SAFETY: `object` is a GC object's address (checked), whose header starts it.
    let header = |offset: u32| unsafe { ((value as usize + offset as usize) as *const u32).read() };
    match heap {
        HeapType::Func | HeapType::Extern | HeapType::Exn | HeapType::Any => true,
        HeapType::NoFunc | HeapType::NoExtern | HeapType::NoExn | HeapType::None => false,
        HeapType::Eq => is_i31 || object,
        HeapType::I31 => is_i31,
        HeapType::Struct => object && header(GC_KIND) == GC_KIND_STRUCT,
        HeapType::Array => object && header(GC_KIND) == GC_KIND_ARRAY,
        HeapType::Concrete(id) => match types.kind(id) {
            TypeKind::Func => {
                // SAFETY: validation puts only funcrefs in a reference of a function type.
                let actual = unsafe { (*(value as usize as *const VMFuncRef)).type_id };
                types.is_subtype(actual, id)
            }
            TypeKind::Struct | TypeKind::Array => {
                object && types.is_subtype(header(GC_TYPE_ID), id)
            }
        },
    }
}

/// The store context of the instance whose vmctx is `vmctx`, and the instance.
///
/// # Safety
/// `vmctx` must be the vmctx of a live instance, as compiled code guarantees.
unsafe fn caller<'a>(vmctx: *mut u8) -> (&'a Instance, &'a VMStoreContext) {
    // SAFETY: per the contract.
    let instance = unsafe { Instance::from_vmctx(vmctx) };
    (instance, instance.store_context())
}

/// `gc_alloc_struct`: see `wasmjit_codegen::Builtin::GcAllocStruct`.
pub(crate) unsafe extern "C" fn gc_alloc_struct_impl(
    vmctx: *mut u8,
    type_index: u32,
    size: u32,
) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    let (instance, store) = unsafe { caller(vmctx) };
    let type_id = instance.module().type_id(type_index);
    // SAFETY: a builtin called by wasm of the store, on its thread.
    unsafe { alloc_object(store, Allocator::Wasm, type_id, GC_KIND_STRUCT, 0, size) as u64 }
}

/// `gc_alloc_array`: see `wasmjit_codegen::Builtin::GcAllocArray`.
pub(crate) unsafe extern "C" fn gc_alloc_array_impl(
    vmctx: *mut u8,
    type_index: u32,
    len: u32,
    elem_size: u32,
) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    let (instance, store) = unsafe { caller(vmctx) };
    let type_id = instance.module().type_id(type_index);
    // SAFETY: a builtin called by wasm of the store, on its thread.
    unsafe { alloc_array(store, Allocator::Wasm, type_id, len, elem_size) as u64 }
}

/// `array_new_data`: see `wasmjit_codegen::Builtin::ArrayNewData`.
pub(crate) unsafe extern "C" fn array_new_data_impl(
    vmctx: *mut u8,
    type_index: u32,
    segment: u32,
    offset: u32,
    len: u32,
    elem_size: u32,
) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    let (instance, store) = unsafe { caller(vmctx) };
    let bytes = instance.data_segment(segment);
    let Some(source) = (len as usize)
        .checked_mul(elem_size as usize)
        .and_then(|n| n.checked_add(offset as usize))
        .and_then(|end| bytes.get(offset as usize..end))
    else {
        return 1;
    };
    let type_id = instance.module().type_id(type_index);
    // SAFETY: a builtin called by wasm of the store, on its thread.
    let array = unsafe { alloc_array(store, Allocator::Wasm, type_id, len, elem_size) };
    if !array.is_null() {
        // SAFETY: the array is fresh with room for `source` (its elements' bytes).
        unsafe {
            ptr::copy_nonoverlapping(
                source.as_ptr(),
                element(array as u64, 0, elem_size),
                source.len(),
            )
        };
    }
    array as u64
}

/// `array_new_elem`: see `wasmjit_codegen::Builtin::ArrayNewElem`.
pub(crate) unsafe extern "C" fn array_new_elem_impl(
    vmctx: *mut u8,
    type_index: u32,
    segment: u32,
    offset: u32,
    len: u32,
) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    let (instance, store) = unsafe { caller(vmctx) };
    let type_id = instance.module().type_id(type_index);
    instance.with_element_segment(segment, |items| {
        let Some(source) = offset
            .checked_add(len)
            .and_then(|end| items.get(offset as usize..end as usize))
        else {
            return 1;
        };
        // SAFETY: a builtin called by wasm of the store, on its thread.
        let array = unsafe { alloc_array(store, Allocator::Wasm, type_id, len, 8) };
        if !array.is_null() {
            // SAFETY: the array is fresh with room for `len` references.
            unsafe {
                ptr::copy_nonoverlapping(
                    source.as_ptr(),
                    element(array as u64, 0, 8).cast::<*const VMFuncRef>(),
                    source.len(),
                )
            };
        }
        array as u64
    })
}

/// `array_fill`: see `wasmjit_codegen::Builtin::ArrayFill`.
pub(crate) unsafe extern "C" fn array_fill(
    _vmctx: *mut u8,
    array: u64,
    index: u32,
    value: u64,
    len: u32,
    elem_size: u32,
) -> u32 {
    // SAFETY: compiled code passes a live, non-null array.
    if !unsafe { in_bounds(array, index, len) } {
        return 1;
    }
    // SAFETY: compiled code passes the address of a filled value slot.
    let value = unsafe { *(value as usize as *const ValRaw) };
    let (size, total) = (elem_size as usize, len as usize * elem_size as usize);
    let start = element(array, index, elem_size);
    if total == 0 {
        return 0;
    }
    // SAFETY: the elements `index..index + len` lie inside the array (checked): the first
    // is written from the slot (at least `elem_size` bytes), then the filled part is copied
    // after itself, doubling each time.
    unsafe {
        if size == 1 {
            ptr::write_bytes(start, value[0], total);
        } else {
            ptr::copy_nonoverlapping(value.as_ptr(), start, size);
            let mut filled = size;
            while filled < total {
                let n = filled.min(total - filled);
                ptr::copy_nonoverlapping(start, start.add(filled), n);
                filled += n;
            }
        }
    }
    0
}

/// `array_copy`: see `wasmjit_codegen::Builtin::ArrayCopy`.
pub(crate) unsafe extern "C" fn array_copy(
    _vmctx: *mut u8,
    dst: u64,
    dst_index: u32,
    src: u64,
    src_index: u32,
    len: u32,
    elem_size: u32,
) -> u32 {
    // SAFETY: compiled code passes live, non-null arrays.
    if !unsafe { in_bounds(dst, dst_index, len) && in_bounds(src, src_index, len) } {
        return 1;
    }
    // SAFETY: both ranges lie inside their arrays (checked); `copy` allows overlap.
    unsafe {
        ptr::copy(
            element(src, src_index, elem_size),
            element(dst, dst_index, elem_size),
            len as usize * elem_size as usize,
        )
    };
    0
}

/// `array_init_data`: see `wasmjit_codegen::Builtin::ArrayInitData`.
pub(crate) unsafe extern "C" fn array_init_data(
    vmctx: *mut u8,
    array: u64,
    index: u32,
    segment: u32,
    src: u32,
    len: u32,
    elem_size: u32,
) -> u32 {
    // SAFETY: called by compiled code with its own vmctx.
    let (instance, _) = unsafe { caller(vmctx) };
    // SAFETY: compiled code passes a live, non-null array.
    if !unsafe { in_bounds(array, index, len) } {
        return 1;
    }
    let bytes = instance.data_segment(segment);
    let Some(source) = (len as usize)
        .checked_mul(elem_size as usize)
        .and_then(|n| n.checked_add(src as usize))
        .and_then(|end| bytes.get(src as usize..end))
    else {
        return 2;
    };
    // SAFETY: the destination range lies inside the array (checked).
    unsafe {
        ptr::copy_nonoverlapping(
            source.as_ptr(),
            element(array, index, elem_size),
            source.len(),
        )
    };
    0
}

/// `array_init_elem`: see `wasmjit_codegen::Builtin::ArrayInitElem`.
pub(crate) unsafe extern "C" fn array_init_elem(
    vmctx: *mut u8,
    array: u64,
    index: u32,
    segment: u32,
    src: u32,
    len: u32,
) -> u32 {
    // SAFETY: called by compiled code with its own vmctx.
    let (instance, _) = unsafe { caller(vmctx) };
    // SAFETY: compiled code passes a live, non-null array.
    if !unsafe { in_bounds(array, index, len) } {
        return 1;
    }
    instance.with_element_segment(segment, |items| {
        let Some(source) = src
            .checked_add(len)
            .and_then(|end| items.get(src as usize..end as usize))
        else {
            return 2;
        };
        // SAFETY: the destination range lies inside the array (checked).
        unsafe {
            ptr::copy_nonoverlapping(
                source.as_ptr(),
                element(array, index, 8).cast::<*const VMFuncRef>(),
                source.len(),
            )
        };
        0
    })
}

/// `ref_test`: see `wasmjit_codegen::Builtin::RefTest`.
pub(crate) unsafe extern "C" fn ref_test(vmctx: *mut u8, value: u64, type_id: u32) -> u32 {
    // SAFETY: called by compiled code with its own vmctx.
    let (_, store) = unsafe { caller(vmctx) };
    // SAFETY: compiled code passes a non-null reference of its store.
    u32::from(unsafe { ref_matches(store, value, HeapType::Concrete(type_id)) })
}
