/* A module's memory from C: an exported memory of 1 page (at most 2) with a data segment,
 * read and written through wasm_memory_data on one side and loads and stores on the other;
 * accesses past the end trap; wasm_memory_grow moves the end, up to the maximum; a memory
 * made with wasm_memory_new is zeroed and keeps its limits. */
#include <stdio.h>
#include <string.h>
#include "wasmjit.h"

static const char* WAT =
    "(module (memory (export \"memory\") 1 2)"
    "  (func (export \"load\") (param i32) (result i32) (i32.load8_u (local.get 0)))"
    "  (func (export \"store\") (param i32 i32) (i32.store8 (local.get 0) (local.get 1)))"
    "  (func (export \"size\") (result i32) (memory.size))"
    "  (data (i32.const 16) \"wasm\"))";

static wasm_extern_vec_t exports;

/* Calls export `i` with `a` (and `b` if `nargs` is 2); prints the result or the trap. */
static void call(const char* name, size_t i, int32_t a, int32_t b, size_t nargs) {
  wasm_val_t args[2] = {WASM_I32_VAL(a), WASM_I32_VAL(b)};
  wasm_val_t results[1] = {WASM_INIT_VAL};
  size_t nresults = wasm_func_result_arity(wasm_extern_as_func(exports.data[i]));
  wasm_val_vec_t args_vec = {nargs, args}, results_vec = {nresults, results};
  wasm_trap_t* trap = wasm_func_call(wasm_extern_as_func(exports.data[i]), &args_vec, &results_vec);
  if (trap) {
    wasm_message_t msg;
    wasm_trap_message(trap, &msg);
    printf("%s(%d): trap: %s\n", name, a, msg.data);
    wasm_name_delete(&msg);
    wasm_trap_delete(trap);
  } else if (nresults) {
    printf("%s(%d) = %d\n", name, a, results[0].of.i32);
  }
}

int main(void) {
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_byte_vec_t binary;
  if (wasmjit_wat2wasm(WAT, strlen(WAT), &binary)) return 1;
  wasm_module_t* module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  wasm_extern_vec_t no_imports = WASM_EMPTY_VEC;
  wasm_instance_t* instance = wasm_instance_new(store, module, &no_imports, NULL);
  if (!instance) return 1;
  wasm_instance_exports(instance, &exports);
  wasm_memory_t* memory = wasm_extern_as_memory(exports.data[0]);

  byte_t* data = wasm_memory_data(memory);
  printf("pages %u, bytes %zu, data segment \"%.4s\"\n", wasm_memory_size(memory),
         wasm_memory_data_size(memory), data + 16);
  data[100] = 42;
  call("load", 1, 100, 0, 1);
  call("store", 2, 200, 7, 2);
  printf("byte 200 from C: %d\n", data[200]);
  call("load", 1, 65535, 0, 1);
  call("load", 1, 65536, 0, 1);

  bool grown = wasm_memory_grow(memory, 1);
  printf("grow by 1: %s, pages %u, bytes %zu\n", grown ? "ok" : "failed",
         wasm_memory_size(memory), wasm_memory_data_size(memory));
  call("size", 3, 0, 0, 0);
  call("load", 1, 65536, 0, 1);
  grown = wasm_memory_grow(memory, 1);
  printf("grow past the maximum: %s, pages %u\n", grown ? "ok" : "failed",
         wasm_memory_size(memory));

  wasm_limits_t limits = {2, 3};
  wasm_memorytype_t* ty = wasm_memorytype_new(&limits);
  wasm_memory_t* own = wasm_memory_new(store, ty);
  wasm_memorytype_delete(ty);
  wasm_memorytype_t* own_ty = wasm_memory_type(own);
  const wasm_limits_t* own_limits = wasm_memorytype_limits(own_ty);
  int zero = 1;
  for (size_t i = 0; i < wasm_memory_data_size(own); i++) zero &= wasm_memory_data(own)[i] == 0;
  printf("new memory: limits %u..%u, bytes %zu, zeroed: %s\n", own_limits->min, own_limits->max,
         wasm_memory_data_size(own), zero ? "yes" : "no");
  wasm_memorytype_delete(own_ty);

  wasm_memory_delete(own);
  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
