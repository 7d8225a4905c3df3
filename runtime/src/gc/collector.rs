//! The mark phase: finding the roots and marking every object reachable from them.
//!
//! Roots are the references the compiled frames of the innermost call into wasm hold at
//! their calls (their stack maps, walked from the frame that called the allocating builtin
//! up to the host-to-wasm trampoline, see [`crate::frames`]), what the embedder holds
//! (globals, tables and element segments of its instances, its own globals and tables, host
//! handles: [`TraceRoots`]) and the payloads of the store's exceptions (kept as long as the
//! store). Marking follows references with an explicit work list, so deep structures do
//! not overflow the host stack, and reads each object's reference fields from its type's
//! layout, cached by engine-wide type id.
//!
//! A collection needs every frame's roots. Frames of outer calls into wasm (wasm that
//! called the host that called wasm again) are not reachable from the innermost walk, so a
//! collection only runs when one call into wasm is in progress (from wasm) or none (from
//! the embedder); otherwise the heap grows instead.

use std::ops::ControlFlow;
use std::sync::Arc;

use wasmjit_codegen::gc_layout::{
    StructLayout, GC_ARRAY_LENGTH, GC_KIND, GC_KIND_ARRAY, GC_KIND_STRUCT, GC_PAYLOAD, GC_TYPE_ID,
};
use wasmjit_codegen::{CompositeType, ValType};

use super::{GcHeap, GC_MARK};
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

/// Whether an allocation from wasm may collect: only one call into wasm is in progress, so
/// the walk from the allocating frame sees every frame.
pub(super) fn can_collect_from_wasm(store: &VMStoreContext) -> bool {
    // SAFETY: the store is used by this thread only.
    unsafe { *store.wasm_entries.get() == 1 }
}

/// A collection from an allocating builtin called by wasm.
///
/// # Safety
/// Called from a builtin entered through its entry stub (which recorded the calling frame
/// in `store`), with one call into wasm in progress, on the store's thread.
pub(super) unsafe fn collect_from_wasm(store: &VMStoreContext) {
    // SAFETY: per the contract, the stub recorded the live calling frame.
    let frame = unsafe { (*store.gc_exit_pc.get(), *store.gc_exit_fp.get()) };
    // SAFETY: per the contract.
    unsafe { collect(store, Some(frame)) }
}

/// A collection asked for by the embedder, which holds the store; nothing happens while
/// wasm of the store is running (a host function called from wasm asked).
///
/// # Safety
/// Called by the embedder holding the store, on its thread, with the store's
/// [`VMStoreContext::gc_roots`] giving every reference it holds.
pub unsafe fn collect_from_host(store: &VMStoreContext) {
    // SAFETY: the store is used by this thread only.
    if unsafe { *store.wasm_entries.get() } == 0 {
        // SAFETY: per the contract, no wasm frame holds references.
        unsafe { collect(store, None) }
    }
}

/// Marks from every root, the compiled frames from `frame` (return address and frame
/// pointer of the innermost one) on, then sweeps.
///
/// # Safety
/// `frame` must be the innermost compiled frame of the only call into wasm in progress (or
/// `None` with none in progress), and the store used by this thread only.
unsafe fn collect(store: &VMStoreContext, frame: Option<(usize, usize)>) {
    let heap: &GcHeap = &store.gc_heap;
    // SAFETY: per the contract, nothing else uses the heap's state now.
    let state = unsafe { &mut *heap.state.get() };
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
    if let Some((pc, fp)) = frame {
        let mut slots = Vec::new();
        // SAFETY: per the contract, `fp` is a live compiled frame returning to `pc`; the
        // frames stay in place while this runs.
        unsafe {
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
