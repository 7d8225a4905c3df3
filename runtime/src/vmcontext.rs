//! The records compiled code reads, laid out as `wasmjit_codegen::VMOffsets` describes.
//!
//! Each struct is `#[repr(C)]` and its field offsets are checked at compile time against the
//! constants of `VMOffsets` (the `const _` block at the end): codegen and runtime must agree
//! byte for byte.

use std::cell::UnsafeCell;
use std::ptr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::epochs::{EpochPoll, INTERRUPTED_STACK_LIMIT};

use crate::exceptions::ExceptionArena;
use crate::gc::{GcHeap, TraceRoots};
use crate::type_registry::TypeRegistry;

/// Per-store state shared by every instance of a store; the vmctx points at it.
#[repr(C)]
#[derive(Debug)]
pub struct VMStoreContext {
    /// Compiled code traps with "call stack exhausted" when the stack pointer drops below
    /// this address; `usize::MAX` while no wasm runs. Any thread may set it to
    /// [`INTERRUPTED_STACK_LIMIT`] to interrupt the store's wasm (see [`crate::epochs`]).
    pub stack_limit: AtomicUsize,
    /// The embedder's store, for host functions called from wasm; opaque to the runtime.
    pub store: UnsafeCell<*mut u8>,
    /// Asked before wasm grows a memory or table, when the embedder set a limiter.
    pub grow_hook: UnsafeCell<Option<GrowHook>>,
    /// The fuel left, complemented (`!left`): compiled code with fuel metering adds what it
    /// runs and traps when the sum would overflow, that is when a run needs more than is
    /// left. `u64::MAX` is no fuel.
    pub fuel: UnsafeCell<u64>,
    /// Compiled code with epoch interruption traps once the engine's epoch reaches this
    /// (`u64::MAX`: never). Written by the store's owner, read by epoch bumps.
    pub epoch_deadline: AtomicU64,
    /// The engine's epoch counter, which any thread may bump.
    pub epoch: UnsafeCell<*const AtomicU64>,
    /// The start of the store's GC heap (0 before its first object): compiled code tells a
    /// GC object from an internalised host value by `gc_heap_start <= r < gc_heap_end`.
    pub gc_heap_start: UnsafeCell<usize>,
    /// The end of the store's allocated GC objects.
    pub gc_heap_end: UnsafeCell<usize>,
    /// The return address into the innermost compiled frame of the store that left wasm
    /// for the host: written by the wasm-to-host trampolines (cleared when the host
    /// returns) and by the allocating builtins' entry stubs. With [`Self::exit_fp`], where
    /// a walk over the frames of the innermost call into wasm starts.
    pub exit_pc: UnsafeCell<usize>,
    /// That frame's frame pointer; 0 when no exit is recorded.
    pub exit_fp: UnsafeCell<usize>,
    /// Where compiled code allocates the next struct inline: the start of the GC heap's
    /// bump buffer (0, with [`Self::gc_alloc_end`], when there is none).
    pub gc_alloc_next: UnsafeCell<usize>,
    /// The end of the bump buffer: compiled code allocates inline while the object ends at
    /// or below it, and calls the allocating builtin otherwise.
    pub gc_alloc_end: UnsafeCell<usize>,
    /// The page loop headers read with epoch interruption, which an interrupt blocks (see
    /// [`crate::epochs`]); none without.
    pub epoch_poll: EpochPoll,
    /// The exceptions thrown in the store (compiled code never reads this).
    pub exceptions: ExceptionArena,
    /// The store's structs and arrays (compiled code never reads this).
    pub gc_heap: GcHeap,
    /// The engine's type registry, which casts consult; set by the embedder with the store
    /// and outliving it.
    pub types: UnsafeCell<*const TypeRegistry>,
    /// How many calls into wasm of this store are in progress on the stack (see
    /// `traps::catch_traps`).
    pub wasm_entries: UnsafeCell<usize>,
    /// The exit records of the calls into wasm that enclose the innermost one, innermost
    /// first (null with one call or none in progress): each nested call saves the record
    /// current when it starts (see [`SavedExit`]).
    pub outer_exits: UnsafeCell<*const SavedExit>,
    /// Gives the collector the references the embedder holds (globals, tables, element
    /// segments, host handles); set by the embedder with the store.
    pub gc_roots: UnsafeCell<Option<TraceRoots>>,
    /// Collect at every allocation from wasm (a test mode that exercises the stack maps).
    pub gc_stress: UnsafeCell<bool>,
    /// The stack limit the outermost call into wasm in progress set, which
    /// [`Self::stack_limit`] goes back to when a moved deadline lifts an interrupt.
    pub wasm_stack_limit: UnsafeCell<usize>,
}

impl Default for VMStoreContext {
    fn default() -> Self {
        VMStoreContext {
            stack_limit: AtomicUsize::new(usize::MAX),
            store: UnsafeCell::new(ptr::null_mut()),
            grow_hook: UnsafeCell::new(None),
            fuel: UnsafeCell::new(u64::MAX),
            epoch_deadline: AtomicU64::new(u64::MAX),
            epoch: UnsafeCell::new(ptr::null()),
            gc_heap_start: UnsafeCell::new(0),
            gc_heap_end: UnsafeCell::new(0),
            exit_pc: UnsafeCell::new(0),
            exit_fp: UnsafeCell::new(0),
            gc_alloc_next: UnsafeCell::new(0),
            gc_alloc_end: UnsafeCell::new(0),
            epoch_poll: EpochPoll::default(),
            exceptions: ExceptionArena::default(),
            gc_heap: GcHeap::default(),
            types: UnsafeCell::new(ptr::null()),
            wasm_entries: UnsafeCell::new(0),
            outer_exits: UnsafeCell::new(ptr::null()),
            gc_roots: UnsafeCell::new(None),
            gc_stress: UnsafeCell::new(false),
            wasm_stack_limit: UnsafeCell::new(usize::MAX),
        }
    }
}

/// The exit record of a call into wasm, saved by a call into wasm of the same store nested
/// inside it (a host function called from wasm calling wasm again), so that a walk over the
/// stack can go on from the inner call's frames to the outer call's.
#[derive(Debug)]
pub struct SavedExit {
    /// The outer call's [`VMStoreContext::exit_pc`] when the nested call started.
    pub pc: usize,
    /// The outer call's [`VMStoreContext::exit_fp`] then (0 if its exit was not recorded).
    pub fp: usize,
    /// The record saved by the call enclosing the outer one, if any.
    pub outer: *const SavedExit,
}

/// What is about to grow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrowResource {
    /// A linear memory; sizes in bytes (creating one grows it from 0).
    Memory,
    /// A table; sizes in elements (creating one grows it from 0).
    Table,
    /// The number of instances in the store.
    Instances,
    /// The number of memories created in the store.
    Memories,
    /// The number of tables created in the store.
    Tables,
    /// The store's GC heap; sizes in bytes.
    GcHeap,
}

/// A request to grow a memory or table, or the store's count of instances, memories or
/// tables, from `current` to `desired`, below `maximum`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrowRequest {
    /// Memory or table.
    pub resource: GrowResource,
    /// The size now.
    pub current: usize,
    /// The size asked for.
    pub desired: usize,
    /// The declared maximum, if any.
    pub maximum: Option<usize>,
}

/// The embedder's answer to a [`GrowRequest`]: `true` lets the growth go ahead.
///
/// # Safety
/// Called with [`VMStoreContext::store`] while wasm of that store runs on this thread; the
/// embedder's implementation may use the store as host functions do.
pub type GrowHook = unsafe fn(store: *mut u8, request: GrowRequest) -> bool;

impl VMStoreContext {
    /// Interrupts the store's wasm if `epoch` reached its deadline: sets the stack limit
    /// that function entries check and blocks the page that loop headers read (see
    /// [`crate::epochs`]). Any thread may call this.
    pub fn interrupt_if_due(&self, epoch: u64) {
        if epoch >= self.epoch_deadline.load(Ordering::SeqCst) {
            self.stack_limit
                .store(INTERRUPTED_STACK_LIMIT, Ordering::SeqCst);
            self.epoch_poll.block();
        }
    }

    /// The engine's epoch now.
    ///
    /// # Safety
    /// Only while the engine that set [`Self::epoch`] is alive (as long as the store).
    pub unsafe fn current_epoch(&self) -> u64 {
        // SAFETY: the embedder sets the pointer when it creates the store, before any call
        // into wasm, to the engine's counter, which outlives the store (the contract).
        unsafe { (**self.epoch.get()).load(Ordering::SeqCst) }
    }

    /// Sets the epoch deadline to `deadline`. While wasm of this store runs (called from a
    /// host function), a deadline moved past the epoch lifts an interrupt, and one the
    /// epoch reached interrupts.
    ///
    /// # Safety
    /// Only by the store's owner, on the thread running its wasm if any runs, with
    /// [`Self::epoch`] set.
    pub unsafe fn set_epoch_deadline(&self, deadline: u64) {
        self.epoch_deadline.store(deadline, Ordering::SeqCst);
        // SAFETY: the owner is the only one to touch these fields (the contract).
        unsafe {
            if *self.wasm_entries.get() > 0 {
                self.stack_limit
                    .store(*self.wasm_stack_limit.get(), Ordering::SeqCst);
                self.epoch_poll.unblock();
                self.interrupt_if_due(self.current_epoch());
            }
        }
    }

    /// Whether the embedder allows `request`; `true` when no limiter is set.
    ///
    /// # Safety
    /// Only from a builtin called by wasm of this store, on the thread running it, or by the
    /// embedder while it holds the store (borrowing no more than its untyped part, as during
    /// instantiation).
    pub unsafe fn allows(&self, request: GrowRequest) -> bool {
        // SAFETY: the hook and the store pointer are set together by the embedder before
        // any wasm runs and not changed while it runs (the store is exclusively borrowed).
        unsafe {
            match *self.grow_hook.get() {
                Some(hook) => hook(*self.store.get(), request),
                None => true,
            }
        }
    }
}

/// A linear memory's base and current length, at a stable address for the memory's life.
#[repr(C)]
#[derive(Debug)]
pub struct VMMemoryDefinition {
    /// Start of the memory; never changes.
    pub base: *mut u8,
    /// Accessible bytes, published with release ordering after a grow.
    pub current_length: AtomicUsize,
}

/// A table's element array and length.
#[repr(C)]
#[derive(Debug)]
pub struct VMTableDefinition {
    /// The elements: null or a pointer to a `VMFuncRef`.
    pub base: *mut *const VMFuncRef,
    /// Number of elements.
    pub current_elements: u64,
}

/// What a funcref points at: code, the signature id to check it against, and the vmctx to
/// pass as its callee vmctx.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct VMFuncRef {
    /// Entry of the function, with the wasm signature.
    pub func_ptr: *const u8,
    /// Engine-wide signature id.
    pub type_id: u32,
    /// The instance's vmctx, or a host function's context.
    pub vmctx: *mut u8,
}

impl Default for VMFuncRef {
    fn default() -> Self {
        VMFuncRef {
            func_ptr: ptr::null(),
            type_id: u32::MAX,
            vmctx: ptr::null_mut(),
        }
    }
}

/// Storage of one global: 16 bytes, the value little-endian at offset 0.
#[repr(C, align(16))]
#[derive(Debug, Default)]
pub struct VMGlobal {
    /// The raw bytes of the value.
    pub bytes: UnsafeCell<[u8; 16]>,
}

/// One slot of the value arrays that trampolines pass between host and wasm.
pub type ValRaw = [u8; 16];

// The layouts compiled code relies on, checked at compile time against codegen's constants:
// a field moved, resized or reordered here, or an offset changed in codegen, fails the build.
const _: () = {
    use std::mem::{align_of, offset_of, size_of, size_of_val};

    use wasmjit_codegen::{VMOffsets, VALRAW_SIZE, VMFUNCREF_SIZE};

    // Codegen addresses every vmctx slot, table entry and pointer field as 8 bytes, and reads
    // and writes values little-endian.
    assert!(size_of::<usize>() == 8 && size_of::<*const u8>() == 8);
    assert!(cfg!(target_endian = "little"));

    assert!(
        offset_of!(VMStoreContext, stack_limit) == VMOffsets::STORE_CONTEXT_STACK_LIMIT as usize
    );
    assert!(offset_of!(VMStoreContext, fuel) == VMOffsets::STORE_CONTEXT_FUEL as usize);
    assert!(
        offset_of!(VMStoreContext, gc_heap_start)
            == VMOffsets::STORE_CONTEXT_GC_HEAP_START as usize
    );
    assert!(
        offset_of!(VMStoreContext, gc_heap_end) == VMOffsets::STORE_CONTEXT_GC_HEAP_END as usize
    );
    assert!(offset_of!(VMStoreContext, exit_pc) == VMOffsets::STORE_CONTEXT_EXIT_PC as usize);
    assert!(offset_of!(VMStoreContext, exit_fp) == VMOffsets::STORE_CONTEXT_EXIT_FP as usize);
    assert!(
        offset_of!(VMStoreContext, gc_alloc_next)
            == VMOffsets::STORE_CONTEXT_GC_ALLOC_NEXT as usize
    );
    assert!(offset_of!(VMStoreContext, epoch_poll) == VMOffsets::STORE_CONTEXT_EPOCH_POLL as usize);
    assert!(
        offset_of!(VMStoreContext, gc_alloc_end) == VMOffsets::STORE_CONTEXT_GC_ALLOC_END as usize
    );
    assert!(offset_of!(VMMemoryDefinition, base) == VMOffsets::MEMORY_DEFINITION_BASE as usize);
    assert!(
        offset_of!(VMMemoryDefinition, current_length)
            == VMOffsets::MEMORY_DEFINITION_LENGTH as usize
    );
    assert!(offset_of!(VMTableDefinition, base) == VMOffsets::TABLE_DEFINITION_BASE as usize);
    assert!(
        offset_of!(VMTableDefinition, current_elements)
            == VMOffsets::TABLE_DEFINITION_LENGTH as usize
    );
    assert!(offset_of!(VMFuncRef, func_ptr) == VMOffsets::FUNCREF_FUNC_PTR as usize);
    assert!(offset_of!(VMFuncRef, type_id) == VMOffsets::FUNCREF_TYPE_ID as usize);
    assert!(offset_of!(VMFuncRef, vmctx) == VMOffsets::FUNCREF_VMCTX as usize);
    assert!(size_of::<VMFuncRef>() == VMFUNCREF_SIZE as usize);
    // Compiled code compares `type_id` as an `i32` with the `u32` ids of the vmctx.
    const FUNC_REF: VMFuncRef = VMFuncRef {
        func_ptr: ptr::null(),
        type_id: 0,
        vmctx: ptr::null_mut(),
    };
    assert!(size_of_val(&FUNC_REF.type_id) == 4);
    // Compiled code loads and stores globals of every type, `v128` included, at offset 0 with
    // aligned accesses.
    assert!(size_of::<VMGlobal>() == 16 && align_of::<VMGlobal>() == 16);
    assert!(size_of::<ValRaw>() == VALRAW_SIZE as usize);
};
