//! The runtime functions compiled code calls, in the table order `Builtin::ALL` fixes.
//!
//! Each takes the calling instance's vmctx first. Those that can fail return a status, `0`
//! for success; compiled code turns any other value into the builtin's trap.
//!
//! The table ([`VMBuiltins`], [`BUILTINS`]) is generated from `wasmjit_codegen`'s
//! `foreach_builtin!` list, as `Builtin` is: a function missing here, or whose signature
//! differs from its entry, fails to compile, and the order cannot differ from codegen's (see
//! the docs of `wasmjit_codegen`'s `builtins` module).

use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

pub(crate) use crate::exceptions::wasmjit_throw_ref as throw_ref;
pub(crate) use crate::gc::entry::{
    wasmjit_array_new_data as array_new_data, wasmjit_array_new_elem as array_new_elem,
    wasmjit_gc_alloc_array as gc_alloc_array, wasmjit_gc_alloc_struct as gc_alloc_struct,
};
pub(crate) use crate::gc::{array_copy, array_fill, array_init_data, array_init_elem, ref_test};
use crate::instance::Instance;
use crate::vmcontext::VMFuncRef;

macro_rules! define_builtin_table {
    ($(
        $(#[$attr:meta])*
        $variant:ident $name:ident ( $($param:ident : $ty:ident),* )
            $(-> $result:ident)? $(, trap $trap:ident)? ;
    )*) => {
        /// The table of builtins every vmctx points at: one `extern "C"` function per
        /// `wasmjit_codegen::Builtin`, in the same order, generated from the same list
        /// (`wasmjit_codegen::foreach_builtin!`).
        #[repr(C)]
        pub struct VMBuiltins {
            $(
                $(#[$attr])*
                $name: unsafe extern "C" fn(vmctx: *mut u8, $($param: $ty),*) $(-> $result)?,
            )*
        }

        /// The one builtin table of the process: each entry is the function of this module
        /// named as in the list.
        pub static BUILTINS: VMBuiltins = VMBuiltins {
            $( $name, )*
        };
    };
}

wasmjit_codegen::foreach_builtin!(define_builtin_table);

// Compiled code loads entry `Builtin::index()` at `index() * 8` in the table: one 8-byte fn
// pointer per builtin, nothing else.
const _: () = assert!(
    std::mem::size_of::<VMBuiltins>() == wasmjit_codegen::Builtin::ALL.len() * 8
        && std::mem::align_of::<VMBuiltins>() == 8
);

/// The instance a builtin was called from.
///
/// # Safety
/// `vmctx` must be the vmctx of a live instance, as compiled code guarantees.
unsafe fn instance<'a>(vmctx: *mut u8) -> &'a Instance {
    // SAFETY: per the contract.
    unsafe { Instance::from_vmctx(vmctx) }
}

fn status<T, E>(result: Result<T, E>) -> u32 {
    u32::from(result.is_err())
}

/// `memory.grow`: the old size in pages, or `u64::MAX` (-1) if the memory cannot grow.
unsafe extern "C" fn memory_grow(vmctx: *mut u8, memory: u32, delta: u64) -> u64 {
    // SAFETY: called by compiled code with its own vmctx.
    let instance = unsafe { instance(vmctx) };
    let memory = instance.memory(memory);
    if let Some(request) = memory.grow_request(delta) {
        // SAFETY: called from wasm of the instance's store, on the thread running it.
        if !unsafe { instance.store_context().allows(request) } {
            return u64::MAX;
        }
    }
    memory.grow(delta).unwrap_or(u64::MAX)
}

/// `memory.copy`, with overlapping ranges allowed; nothing is written if either range is
/// out of bounds.
unsafe extern "C" fn memory_copy(
    vmctx: *mut u8,
    dst_memory: u32,
    dst: u64,
    src_memory: u32,
    src: u64,
    len: u64,
) -> u32 {
    // SAFETY: called by compiled code with its own vmctx.
    let instance = unsafe { instance(vmctx) };
    let (to, from) = (instance.memory(dst_memory), instance.memory(src_memory));
    let fits = |start: u64, size: usize| start.checked_add(len).is_some_and(|e| e <= size as u64);
    if !fits(dst, to.byte_size()) || !fits(src, from.byte_size()) {
        return 1;
    }
    // SAFETY: both ranges lie inside their memories' accessible bytes (checked); `copy`
    // allows overlap.
    unsafe {
        ptr::copy(
            from.base().add(src as usize),
            to.base().add(dst as usize),
            len as usize,
        )
    };
    0
}

/// `memory.fill`; nothing is written if the range is out of bounds.
unsafe extern "C" fn memory_fill(
    vmctx: *mut u8,
    memory: u32,
    dst: u64,
    byte: u32,
    len: u64,
) -> u32 {
    // SAFETY: called by compiled code with its own vmctx.
    let memory = unsafe { instance(vmctx) }.memory(memory);
    if dst
        .checked_add(len)
        .is_none_or(|e| e > memory.byte_size() as u64)
    {
        return 1;
    }
    // SAFETY: the range lies inside the memory's accessible bytes (checked).
    unsafe { ptr::write_bytes(memory.base().add(dst as usize), byte as u8, len as usize) };
    0
}

/// `memory.init`.
unsafe extern "C" fn memory_init(
    vmctx: *mut u8,
    memory: u32,
    segment: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> u32 {
    // SAFETY: called by compiled code with its own vmctx.
    status(unsafe { instance(vmctx) }.memory_init(memory, segment, dst, src, len))
}

/// `data.drop`.
unsafe extern "C" fn data_drop(vmctx: *mut u8, segment: u32) {
    // SAFETY: called by compiled code with its own vmctx.
    unsafe { instance(vmctx) }.data_drop(segment);
}

/// `table.grow`: the old size, or `u64::MAX` (-1) if the table cannot grow.
unsafe extern "C" fn table_grow(vmctx: *mut u8, table: u32, init: u64, delta: u64) -> u64 {
    // SAFETY: called by compiled code with its own vmctx; the table lives as long as the
    // store and only this thread's wasm uses it now.
    let instance = unsafe { instance(vmctx) };
    // SAFETY: as above.
    let table = unsafe { instance.table(table).as_mut() };
    if let Some(request) = table.grow_request(delta) {
        // SAFETY: called from wasm of the instance's store, on the thread running it.
        if !unsafe { instance.store_context().allows(request) } {
            return u64::MAX;
        }
    }
    table
        .grow(delta, init as usize as *const VMFuncRef)
        .unwrap_or(u64::MAX)
}

/// `table.fill`.
unsafe extern "C" fn table_fill(vmctx: *mut u8, table: u32, dst: u64, value: u64, len: u64) -> u32 {
    // SAFETY: as in `table_grow`.
    let table = unsafe { instance(vmctx).table(table).as_mut() };
    status(table.fill(dst, value as usize as *const VMFuncRef, len))
}

/// `table.copy`, with overlapping ranges allowed within one table.
unsafe extern "C" fn table_copy(
    vmctx: *mut u8,
    dst_table: u32,
    src_table: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> u32 {
    // SAFETY: called by compiled code with its own vmctx.
    let instance = unsafe { instance(vmctx) };
    let (to, from) = (instance.table(dst_table), instance.table(src_table));
    if to == from {
        // SAFETY: as in `table_grow`.
        return status(unsafe { &mut *to.as_ptr() }.copy_within(dst, src, len));
    }
    // SAFETY: two distinct tables, each alive as in `table_grow`.
    let items = match unsafe { from.as_ref() }.slice(src, len) {
        Ok(items) => items.to_vec(),
        Err(_) => return 1,
    };
    // SAFETY: as in `table_grow`.
    status(unsafe { &mut *to.as_ptr() }.init(dst, &items))
}

/// `table.init`.
unsafe extern "C" fn table_init(
    vmctx: *mut u8,
    table: u32,
    segment: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> u32 {
    // SAFETY: called by compiled code with its own vmctx.
    status(unsafe { instance(vmctx) }.table_init(table, segment, dst, src, len))
}

/// `elem.drop`.
unsafe extern "C" fn elem_drop(vmctx: *mut u8, segment: u32) {
    // SAFETY: called by compiled code with its own vmctx.
    unsafe { instance(vmctx) }.elem_drop(segment);
}

/// `memory.atomic.notify`: wakes up to `count` waiters on `address`. Compiled code checked
/// bounds and alignment.
unsafe extern "C" fn atomic_notify(vmctx: *mut u8, memory: u32, address: u64, count: u32) -> u32 {
    // SAFETY: called by compiled code with its own vmctx.
    let memory = unsafe { instance(vmctx) }.memory(memory);
    memory.waiters().notify(address, count)
}

/// The timeout of a wait: negative nanoseconds mean forever.
fn timeout(nanos: i64) -> Option<Duration> {
    u64::try_from(nanos).ok().map(Duration::from_nanos)
}

/// `memory.atomic.wait32` on a shared memory (compiled code traps on others).
unsafe extern "C" fn atomic_wait32(
    vmctx: *mut u8,
    memory: u32,
    address: u64,
    expected: u32,
    nanos: i64,
) -> u32 {
    // SAFETY: called by compiled code with its own vmctx.
    let memory = unsafe { instance(vmctx) }.memory(memory);
    // SAFETY: compiled code checked that the 4 bytes at `address` are in bounds and aligned;
    // other threads access them concurrently, hence the atomic view.
    let cell = unsafe { &*(memory.base().add(address as usize) as *const AtomicU32) };
    let still = || cell.load(Ordering::SeqCst) == expected;
    memory.waiters().wait(address, still, timeout(nanos)) as u32
}

/// `memory.atomic.wait64` on a shared memory.
unsafe extern "C" fn atomic_wait64(
    vmctx: *mut u8,
    memory: u32,
    address: u64,
    expected: u64,
    nanos: i64,
) -> u32 {
    // SAFETY: called by compiled code with its own vmctx.
    let memory = unsafe { instance(vmctx) }.memory(memory);
    // SAFETY: as in `atomic_wait32`, for 8 aligned bytes.
    let cell = unsafe { &*(memory.base().add(address as usize) as *const AtomicU64) };
    let still = || cell.load(Ordering::SeqCst) == expected;
    memory.waiters().wait(address, still, timeout(nanos)) as u32
}

/// `throw`'s first half: a new exception of the caller's tag `tag` with the payload in the
/// value slots at `values`.
unsafe extern "C" fn exn_new(vmctx: *mut u8, tag: u32, values: u64) -> u64 {
    // SAFETY: called by compiled code with its own vmctx and the tag's payload in `values`.
    unsafe { crate::exceptions::exn_new(vmctx, tag, values) }
}

#[cfg(test)]
mod tests {
    use wasmjit_codegen::Builtin;

    /// Entry `i` of the table (field `i` of `VMBuiltins`) is the builtin at `ALL[i]`, which
    /// compiled code calls as entry `index()`.
    #[test]
    fn table_order_is_index_order() {
        for (i, builtin) in Builtin::ALL.iter().enumerate() {
            assert_eq!(builtin.index() as usize, i, "{builtin:?}");
        }
    }
}
