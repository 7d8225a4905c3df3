//! The mark phase: finding the roots and marking every object reachable from them.
//!
//! Roots are the references the compiled frames of the store hold at their calls (their
//! stack maps), what the embedder holds (globals, tables and element segments of its
//! instances, its own globals and tables, host handles: [`TraceRoots`]) and the payloads of
//! the store's exceptions (kept as long as the store). Marking follows references with an
//! explicit work list, so deep structures do not overflow the host stack, and reads each
//! object's reference fields from its type's layout, cached by engine-wide type id.
//!
//! The frames are found from the store's exit records: the innermost call into wasm is
//! walked (see [`crate::frames`]) from the frame that last left wasm (the allocating
//! builtin's caller, or the caller of the host function that is running) to its
//! host-to-wasm trampoline; each call into wasm nested in a host function saved the
//! enclosing call's record ([`SavedExit`](crate::vmcontext::SavedExit)), from which the walk goes on. A collection
//! needs every frame's roots, so it runs only when every call in progress recorded how it
//! left wasm (always so for host functions and the allocating builtins); otherwise the
//! heap grows instead.

use std::ops::ControlFlow;
use std::sync::Arc;

use wasmjit_codegen::gc_layout::{
    StructLayout, GC_ARRAY_LENGTH, GC_KIND, GC_KIND_ARRAY, GC_KIND_STRUCT, GC_MARK, GC_PAYLOAD,
    GC_TYPE_ID,
};
use wasmjit_codegen::{CompositeType, ValType};

use super::GcHeap;
use crate::code_memory::{stack_map_slots, FrameKind};
use crate::frames;
use crate::type_registry::TypeRegistry;
use crate::vmcontext::VMStoreContext;

/// Gives each reference the embedder holds to `visit`: `store` is the embedder's store
/// pointer (`VMStoreContext::store`). A word that is not a GC object of the store (null, an
/// `i31`, a funcref, a host reference) is ignored, so tables and reference-typed globals
/// may be given whole.
pub type TraceRoots = unsafe fn(store: *mut u8, visit: &mut dyn FnMut(u64));

/// Where an object's references are.
#[derive(Debug)]
pub(super) enum Trace {
    /// At these offsets of a struct.
    Struct(Box<[u32]>),
    /// In every element of an array of references.
    Array,
    /// Nowhere.
    None,
}

/// The marking state of one collection.
struct Marker<'a> {
    /// The heap's objects lie in `start..end`.
    start: usize,
    end: usize,
    /// Marked objects whose references are still to be followed.
    work: Vec<usize>,
    types: &'a TypeRegistry,
    traces: &'a mut Vec<Option<Arc<Trace>>>,
}

impl Marker<'_> {
    /// Marks `word` if it is an unmarked object of the heap.
    fn mark(&mut self, word: u64) {
        let address = word as usize;
        if address & 15 != 0 || address < self.start || address >= self.end {
            return;
        }
        // SAFETY: a reference inside the heap is the address of an object, whose header
        // holds its size and mark.
        let mark = unsafe { &mut *((address + GC_MARK as usize) as *mut u32) };
        if *mark & 1 == 0 {
            *mark |= 1;
            self.work.push(address);
        }
    }

    /// Follows the references of the marked objects until none is left.
    fn drain(&mut self) {
        while let Some(object) = self.work.pop() {
            // SAFETY: `object` is a marked object's address; its header is initialised.
            let (type_id, kind, len) = unsafe {
                let header = |offset: u32| ((object + offset as usize) as *const u32).read();
                (header(GC_TYPE_ID), header(GC_KIND), header(GC_ARRAY_LENGTH))
            };
            let trace = self.trace(type_id);
            match (&*trace, kind) {
                (Trace::Struct(offsets), GC_KIND_STRUCT) => {
                    for &offset in offsets.iter() {
                        // SAFETY: the struct's type puts a reference at `offset`.
                        self.mark(unsafe { ((object + offset as usize) as *const u64).read() });
                    }
                }
                (Trace::Array, GC_KIND_ARRAY) => {
                    for i in 0..len as usize {
                        let at = object + GC_PAYLOAD as usize + 8 * i;
                        // SAFETY: the array holds `len` references.
                        self.mark(unsafe { (at as *const u64).read() });
                    }
                }
                _ => {}
            }
        }
    }

    /// Where objects of type `type_id` hold references.
    fn trace(&mut self, type_id: u32) -> Arc<Trace> {
        if let Some(Some(trace)) = self.traces.get(type_id as usize) {
            return trace.clone();
        }
        let types = self.types;
        let trace = Arc::new(match &types.get_type(type_id).composite {
            CompositeType::Struct(fields) => {
                let layout = StructLayout::new(fields);
                Trace::Struct(
                    fields
                        .iter()
                        .zip(&layout.offsets)
                        .filter(|(field, _)| field.storage.is_gc_ref(types))
                        .map(|(_, offset)| *offset)
                        .collect(),
                )
            }
            CompositeType::Array(elem) if elem.storage.is_gc_ref(types) => Trace::Array,
            _ => Trace::None,
        });
        if self.traces.len() <= type_id as usize {
            self.traces.resize(type_id as usize + 1, None);
        }
        self.traces[type_id as usize] = Some(trace.clone());
        trace
    }
}

/// Whether a collection can find every frame's roots now: no call into wasm of the store
/// is in progress, or every one in progress recorded where it left wasm.
///
/// # Safety
/// The store must be used by this thread only.
pub(super) unsafe fn can_collect(store: &VMStoreContext) -> bool {
    // SAFETY: per the contract; the saved records live in the frames of the calls in
    // progress, which outlive this.
    unsafe {
        if *store.wasm_entries.get() == 0 {
            return true;
        }
        let mut fp = *store.exit_fp.get();
        let mut outer = *store.outer_exits.get();
        while fp != 0 {
            match outer.as_ref() {
                None => return true,
                Some(saved) => (fp, outer) = (saved.fp, saved.outer),
            }
        }
        false
    }
}

/// A collection from an allocating builtin called by wasm.
///
/// # Safety
/// Called from a builtin entered through its entry stub (which recorded the calling frame
/// in `store`), with [`can_collect`] true, on the store's thread.
pub(super) unsafe fn collect_from_wasm(store: &VMStoreContext) {
    // SAFETY: per the contract.
    unsafe { collect(store) }
}

/// A collection asked for by the embedder, which holds the store (or a host function
/// called from wasm, which holds it through its caller); nothing happens if a call into
/// wasm in progress did not record its exit.
///
/// # Safety
/// Called by the embedder holding the store, on its thread, with the store's
/// [`VMStoreContext::gc_roots`] giving every reference it holds.
pub unsafe fn collect_from_host(store: &VMStoreContext) {
    // SAFETY: per the contract.
    unsafe {
        if can_collect(store) {
            collect(store)
        }
    }
}

/// Marks from every root, the compiled frames of every call into wasm in progress
/// included, then sweeps.
///
/// # Safety
/// [`can_collect`] must hold, the exit records must be those of live frames, and the store
/// be used by this thread only.
unsafe fn collect(store: &VMStoreContext) {
    let heap: &GcHeap = &store.gc_heap;
    // SAFETY: per the contract, nothing else uses the heap's state now.
    let state = unsafe { &mut *heap.state.get() };
    // SAFETY: per the contract, no wasm runs on this store's thread meanwhile.
    unsafe { state.reclaim_buffer(store) };
    let Some(mapping) = state.mapping.as_ref() else {
        return;
    };
    let start = mapping.as_ptr() as usize;
    // SAFETY: the registry pointer is set with the store and outlives it.
    let types: &TypeRegistry = unsafe { &**store.types.get() };
    let mut traces = std::mem::take(&mut state.traces);
    let mut marker = Marker {
        start,
        end: start + state.used,
        work: Vec::new(),
        types,
        traces: &mut traces,
    };
    let mut slots = Vec::new();
    // SAFETY: per the contract, every call into wasm in progress recorded its exit, which
    // is a live compiled frame, and the saved records live as long as their calls.
    unsafe {
        let mut exit = (*store.wasm_entries.get() > 0).then(|| {
            (
                *store.exit_pc.get(),
                *store.exit_fp.get(),
                *store.outer_exits.get(),
            )
        });
        while let Some((pc, fp, outer)) = exit {
            frames::walk(pc, fp, |frame| {
                if frame.kind != FrameKind::Entry {
                    slots.clear();
                    stack_map_slots(frame.pc, &mut slots);
                    for &slot in &slots {
                        // SAFETY: the stack map lists 8-byte slots of this live frame.
                        marker.mark(((frame.fp - slot as usize) as *const u64).read());
                    }
                }
                ControlFlow::<()>::Continue(())
            });
            exit = outer
                .as_ref()
                .map(|saved| (saved.pc, saved.fp, saved.outer));
        }
    }
    // SAFETY: per the contract; the hook is set with the store.
    if let Some(trace_roots) = unsafe { *store.gc_roots.get() } {
        // SAFETY: the embedder's store pointer and hook belong together.
        unsafe { trace_roots(*store.store.get(), &mut |word| marker.mark(word)) };
    }
    // SAFETY: the store is used by this thread only.
    unsafe {
        store.exceptions.trace(&mut |ty, word| {
            if matches!(ty, ValType::Ref(r) if r.may_be_gc_object(types)) {
                marker.mark(word);
            }
        })
    };
    marker.drain();
    state.traces = traces;
    state.sweep();
    // SAFETY: per the contract, no wasm reads the bounds while this runs.
    unsafe { state.publish_bounds(store) };
}
