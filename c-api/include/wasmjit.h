/*
 * wasmjit.h: wasmjit's extensions to the standard C API (wasm.h), in the style of wasmtime.h.
 * Functions that can fail return an own `wasmjit_error_t*`: NULL on success.
 */

#ifndef WASMJIT_H
#define WASMJIT_H

#include "wasm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Errors */

typedef struct wasmjit_error_t wasmjit_error_t;

/* The message, NUL-terminated (the NUL is counted in `out->size`). */
void wasmjit_error_message(const wasmjit_error_t*, wasm_name_t* out);
void wasmjit_error_delete(wasmjit_error_t*);

/* Memories, following WebAssembly.Memory */

/* A memory of `initial` 64 KiB pages, growable to `*maximum` pages (no maximum if `maximum`
 * is NULL), shared between threads if `shared`: initial <= maximum <= 65536, and a shared
 * memory needs a maximum. On success `*memory_out` is an own memory. */
wasmjit_error_t* wasmjit_memory_new(wasm_store_t* store, uint64_t initial,
                                    const uint64_t* maximum, bool shared,
                                    wasm_memory_t** memory_out);
/* Grows by `delta` pages; `*old_pages` (if not NULL) receives the old size in pages. */
wasmjit_error_t* wasmjit_memory_grow(wasm_memory_t* memory, uint64_t delta, uint64_t* old_pages);
uint64_t wasmjit_memory_size(const wasm_memory_t* memory);
bool wasmjit_memory_is_shared(const wasm_memory_t* memory);

/* Shared memories across stores and threads, as wasm_module_share/obtain do for modules. */
typedef struct wasmjit_shared_memory_t wasmjit_shared_memory_t;
/* NULL unless the memory is shared. */
wasmjit_shared_memory_t* wasmjit_memory_share(const wasm_memory_t* memory);
/* The shared memory as an own memory of `store`, usable as an import there. */
wasm_memory_t* wasmjit_shared_memory_obtain(wasm_store_t* store,
                                            const wasmjit_shared_memory_t* shared);
void wasmjit_shared_memory_delete(wasmjit_shared_memory_t*);

/* Configuration */

typedef uint8_t wasmjit_bounds_checks_t;
enum wasmjit_bounds_checks_enum {
  WASMJIT_BOUNDS_CHECKS_GUARD_PAGES = 0,
  WASMJIT_BOUNDS_CHECKS_EXPLICIT = 1,
};

bool wasmjit_config_bounds_checks_set(wasm_config_t*, wasmjit_bounds_checks_t);
void wasmjit_config_guard_size_set(wasm_config_t*, uint64_t bytes);
void wasmjit_config_consume_fuel_set(wasm_config_t*, bool);
void wasmjit_config_epoch_interruption_set(wasm_config_t*, bool);
void wasmjit_config_max_wasm_stack_set(wasm_config_t*, size_t bytes);
/* Compile for another target, named by its triple ("aarch64-unknown-linux-gnu"): such an
 * engine compiles and serializes modules but runs none. An error if wasmjit does not support
 * the target. */
wasmjit_error_t* wasmjit_config_target_set(wasm_config_t*, const char* triple);

/* Like wasm_engine_new_with_config, saying why a configuration is refused. */
wasmjit_error_t* wasmjit_engine_new_with_config(wasm_config_t* config, wasm_engine_t** engine_out);

/* Epochs and fuel */

void wasmjit_engine_increment_epoch(wasm_engine_t*);
void wasmjit_store_set_epoch_deadline(wasm_store_t*, uint64_t ticks);
wasmjit_error_t* wasmjit_store_set_fuel(wasm_store_t*, uint64_t fuel);
wasmjit_error_t* wasmjit_store_get_fuel(wasm_store_t*, uint64_t* fuel);

/* Internal references (Wasm GC): structs, arrays and i31s. wasm.h has kinds for funcref
 * and externref only; a value of kind WASMJIT_ANYREF holds an own `wasm_ref_t*` in `of.ref`
 * (NULL for null), as they do, and the value types of the `any` hierarchy (anyref, eqref,
 * structref, arrayref, i31ref and typed references to structs and arrays) report it. Exception
 * references report WASMJIT_EXNREF (no value of that kind crosses the C API). A reference a
 * host callback receives is released when the callback returns: using it later is an error. */
#define WASMJIT_ANYREF ((wasm_valkind_t)130)
#define WASMJIT_EXNREF ((wasm_valkind_t)131)

/* An own i31ref of the low 31 bits of `value`. */
wasm_ref_t* wasmjit_anyref_from_i31(wasm_store_t* store, uint32_t value);
/* Whether `ref` is an i31ref; if so, its value (zero- or sign-extended) in `*out`. */
bool wasmjit_anyref_i31_get_u(const wasm_ref_t* ref, uint32_t* out);
bool wasmjit_anyref_i31_get_s(const wasm_ref_t* ref, int32_t* out);
bool wasmjit_anyref_is_struct(const wasm_ref_t* ref);
bool wasmjit_anyref_is_array(const wasm_ref_t* ref);
wasmjit_error_t* wasmjit_anyref_array_len(const wasm_ref_t* ref, uint32_t* out);
/* Field `index` of a struct, element `index` of an array: `*out` receives an own value (a
 * packed field reads zero-extended as an i32); `*value` is borrowed. Setting an immutable
 * field or a value of another type is an error. */
wasmjit_error_t* wasmjit_anyref_struct_get(const wasm_ref_t* ref, size_t index, wasm_val_t* out);
wasmjit_error_t* wasmjit_anyref_struct_set(const wasm_ref_t* ref, size_t index,
                                           const wasm_val_t* value);
wasmjit_error_t* wasmjit_anyref_array_get(const wasm_ref_t* ref, uint32_t index, wasm_val_t* out);
wasmjit_error_t* wasmjit_anyref_array_set(const wasm_ref_t* ref, uint32_t index,
                                          const wasm_val_t* value);

/* The text format: `*out` is the binary of the module in `wat[0..len]`. */
wasmjit_error_t* wasmjit_wat2wasm(const char* wat, size_t len, wasm_byte_vec_t* out);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* WASMJIT_H */
