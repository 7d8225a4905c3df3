//! A Rust host callback that panics becomes a trap of `wasm_func_call` (the callback type is
//! `extern "C-unwind"`, so the panic reaches the library's `catch_unwind`); nothing unwinds
//! through the C ABI.

use std::ffi::c_void;
use std::ptr;

/// `wasm_byte_vec_t` and the other vectors.
#[repr(C)]
struct Vec_ {
    size: usize,
    data: *mut c_void,
}

type Callback = unsafe extern "C-unwind" fn(*const Vec_, *mut Vec_) -> *mut c_void;

extern "C" {
    fn wasm_engine_new() -> *mut c_void;
    fn wasm_engine_delete(engine: *mut c_void);
    fn wasm_store_new(engine: *mut c_void) -> *mut c_void;
    fn wasm_store_delete(store: *mut c_void);
    fn wasmjit_wat2wasm(wat: *const u8, len: usize, out: *mut Vec_) -> *mut c_void;
    fn wasm_byte_vec_delete(v: *mut Vec_);
    fn wasm_module_new(store: *mut c_void, binary: *const Vec_) -> *mut c_void;
    fn wasm_module_delete(module: *mut c_void);
    fn wasm_valtype_vec_new_empty(out: *mut Vec_);
    fn wasm_functype_new(params: *mut Vec_, results: *mut Vec_) -> *mut c_void;
    fn wasm_functype_delete(ty: *mut c_void);
    fn wasm_func_new(store: *mut c_void, ty: *const c_void, cb: Callback) -> *mut c_void;
    fn wasm_func_delete(func: *mut c_void);
    fn wasm_instance_new(
        store: *mut c_void,
        module: *const c_void,
        imports: *const Vec_,
        trap: *mut *mut c_void,
    ) -> *mut c_void;
    fn wasm_instance_delete(instance: *mut c_void);
    fn wasm_instance_exports(instance: *const c_void, out: *mut Vec_);
    fn wasm_extern_vec_delete(v: *mut Vec_);
    fn wasm_func_call(func: *const c_void, args: *const Vec_, results: *mut Vec_) -> *mut c_void;
    fn wasm_trap_message(trap: *const c_void, out: *mut Vec_);
    fn wasm_trap_delete(trap: *mut c_void);
}

unsafe extern "C-unwind" fn panicking(_args: *const Vec_, _results: *mut Vec_) -> *mut c_void {
    panic!("boom");
}

fn empty() -> Vec_ {
    Vec_ {
        size: 0,
        data: ptr::null_mut(),
    }
}

#[test]
fn panic_in_host_callback_is_a_trap() {
    let wat = br#"(module (import "host" "f" (func $f)) (func (export "run") call $f))"#;
    // SAFETY: the calls follow wasm.h's contracts: valid objects, own results deleted once.
    unsafe {
        let engine = wasm_engine_new();
        let store = wasm_store_new(engine);
        let mut binary = empty();
        assert!(wasmjit_wat2wasm(wat.as_ptr(), wat.len(), &mut binary).is_null());
        let module = wasm_module_new(store, &binary);
        wasm_byte_vec_delete(&mut binary);
        assert!(!module.is_null());

        let (mut params, mut results) = (empty(), empty());
        wasm_valtype_vec_new_empty(&mut params);
        wasm_valtype_vec_new_empty(&mut results);
        let ty = wasm_functype_new(&mut params, &mut results);
        let func = wasm_func_new(store, ty, panicking);
        wasm_functype_delete(ty);

        let mut import = func;
        let imports = Vec_ {
            size: 1,
            data: (&mut import as *mut *mut c_void).cast(),
        };
        let mut trap = ptr::null_mut();
        let instance = wasm_instance_new(store, module, &imports, &mut trap);
        assert!(!instance.is_null() && trap.is_null());
        let mut exports = empty();
        wasm_instance_exports(instance, &mut exports);
        let run = *exports.data.cast::<*mut c_void>();

        let (args, mut outs) = (empty(), empty());
        let trap = wasm_func_call(run, &args, &mut outs);
        assert!(!trap.is_null(), "the panic must become a trap");
        let mut message = empty();
        wasm_trap_message(trap, &mut message);
        let text = std::slice::from_raw_parts(message.data.cast::<u8>(), message.size);
        assert_eq!(text, b"host callback panicked\0");
        wasm_byte_vec_delete(&mut message);
        wasm_trap_delete(trap);

        // The store still works after the panic: the call can be made again.
        let trap = wasm_func_call(run, &args, &mut outs);
        assert!(!trap.is_null());
        wasm_trap_delete(trap);

        wasm_extern_vec_delete(&mut exports);
        wasm_instance_delete(instance);
        wasm_func_delete(func);
        wasm_module_delete(module);
        wasm_store_delete(store);
        wasm_engine_delete(engine);
    }
}
