//! Entry stubs of the allocating builtins: before jumping to the builtin, each records
//! its caller's frame (the return address into it and its frame pointer) in the store
//! context, where a collection starts its walk over the stack (see [`super::collector`]).
//! The builtins take the caller's vmctx first, in the target's C convention (`rdi` on
//! x86-64, `x0` on aarch64), and the vmctx's first word is the store context's address.

use std::mem::offset_of;

use wasmjit_codegen::VMOffsets;

use super::{array_new_data_impl, array_new_elem_impl, gc_alloc_array_impl, gc_alloc_struct_impl};
use crate::vmcontext::VMStoreContext;

const _: () = assert!(VMOffsets::STORE_CONTEXT == 0);

macro_rules! entry_stubs {
    ($($stub:ident => $target:ident ( $($param:ident : $ty:ty),* ) -> $result:ty;)*) => {
        $(
            #[cfg(target_arch = "x86_64")]
            std::arch::global_asm!(
                ".text",
                concat!(".globl ", stringify!($stub)),
                ".p2align 4",
                concat!(stringify!($stub), ":"),
                "mov rax, [rdi]",
                "mov r11, [rsp]",
                "mov [rax + {pc}], r11",
                "mov [rax + {fp}], rbp",
                "jmp {target}",
                pc = const offset_of!(VMStoreContext, exit_pc),
                fp = const offset_of!(VMStoreContext, exit_fp),
                target = sym $target,
            );

            #[cfg(target_arch = "aarch64")]
            std::arch::global_asm!(
                ".text",
                concat!(".globl ", stringify!($stub)),
                ".p2align 4",
                concat!(stringify!($stub), ":"),
                "ldr x16, [x0]",
                "str x30, [x16, #{pc}]",
                "str x29, [x16, #{fp}]",
                "b {target}",
                pc = const offset_of!(VMStoreContext, exit_pc),
                fp = const offset_of!(VMStoreContext, exit_fp),
                target = sym $target,
            );
        )*

        extern "C" {
            $(
                /// The entry stub of the builtin of the same name (see the module
                /// documentation); only stored in the builtin table, never called from Rust.
                pub(crate) fn $stub(vmctx: *mut u8, $($param: $ty),*) -> $result;
            )*
        }
    };
}

entry_stubs! {
    wasmjit_gc_alloc_struct => gc_alloc_struct_impl(type_index: u32, size: u32) -> u64;
    wasmjit_gc_alloc_array =>
        gc_alloc_array_impl(type_index: u32, len: u32, elem_size: u32) -> u64;
    wasmjit_array_new_data => array_new_data_impl(
        type_index: u32, segment: u32, offset: u32, len: u32, elem_size: u32
    ) -> u64;
    wasmjit_array_new_elem =>
        array_new_elem_impl(type_index: u32, segment: u32, offset: u32, len: u32) -> u64;
}
