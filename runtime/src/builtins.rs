//! The runtime functions compiled code calls, in the table order `Builtin::ALL` fixes.

use crate::instance::Instance;

/// The table of builtins every vmctx points at: one `extern "C"` function per
/// `wasmjit_codegen::Builtin`, in the same order.
#[repr(C)]
pub struct VMBuiltins {
    memory_grow: unsafe extern "C" fn(*mut u8, u32, u64) -> u64,
}

/// The one builtin table of the process.
pub static BUILTINS: VMBuiltins = VMBuiltins { memory_grow };

/// `memory.grow`: the old size in pages, or `u64::MAX` (-1) if the memory cannot grow.
///
/// # Safety
/// `vmctx` must be the vmctx of a live instance and `memory` one of its memory indices, as
/// compiled code guarantees.
unsafe extern "C" fn memory_grow(vmctx: *mut u8, memory: u32, delta: u64) -> u64 {
    // SAFETY: compiled code passes its own vmctx, whose instance is alive while it runs.
    let instance = unsafe { Instance::from_vmctx(vmctx) };
    instance.memory(memory).grow(delta).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use wasmjit_codegen::Builtin;

    use super::*;

    #[test]
    fn table_has_one_entry_per_builtin() {
        assert_eq!(
            std::mem::size_of::<VMBuiltins>(),
            Builtin::ALL.len() * std::mem::size_of::<usize>()
        );
    }
}
