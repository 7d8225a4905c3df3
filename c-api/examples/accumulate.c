/* The WebAssembly.Memory page's example from C: the host makes a memory of 10 pages (at most
 * 100), writes the u32 values 0..9 at its start, and a module importing it as `js.mem` sums
 * them with `accumulate(ptr, len)`. Prints 45. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wasmjit.h"

static const char* WAT =
    "(module (memory (import \"js\" \"mem\") 1)"
    "  (func (export \"accumulate\") (param $ptr i32) (param $len i32) (result i32)"
    "    (local $end i32) (local $sum i32)"
    "    (local.set $end (i32.add (local.get $ptr) (i32.mul (local.get $len) (i32.const 4))))"
    "    (block $break (loop $top"
    "      (br_if $break (i32.eq (local.get $ptr) (local.get $end)))"
    "      (local.set $sum (i32.add (local.get $sum) (i32.load (local.get $ptr))))"
    "      (local.set $ptr (i32.add (local.get $ptr) (i32.const 4)))"
    "      (br $top)))"
    "    (local.get $sum)))";

static void fail(const char* what, wasmjit_error_t* err) {
  fprintf(stderr, "%s", what);
  if (err) {
    wasm_name_t msg;
    wasmjit_error_message(err, &msg);
    fprintf(stderr, ": %s", msg.data);
    wasm_name_delete(&msg);
    wasmjit_error_delete(err);
  }
  fprintf(stderr, "\n");
  exit(1);
}

int main(void) {
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);

  wasm_byte_vec_t binary;
  wasmjit_error_t* err = wasmjit_wat2wasm(WAT, strlen(WAT), &binary);
  if (err) fail("wat2wasm", err);
  wasm_module_t* module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  if (!module) fail("compile", NULL);

  uint64_t maximum = 100;
  wasm_memory_t* memory = NULL;
  err = wasmjit_memory_new(store, 10, &maximum, false, &memory);
  if (err) fail("memory", err);
  uint32_t* words = (uint32_t*)wasm_memory_data(memory);
  for (uint32_t i = 0; i < 10; i++) words[i] = i;

  wasm_extern_t* imports[] = {wasm_memory_as_extern(memory)};
  wasm_extern_vec_t import_vec = WASM_ARRAY_VEC(imports);
  wasm_trap_t* trap = NULL;
  wasm_instance_t* instance = wasm_instance_new(store, module, &import_vec, &trap);
  if (!instance) fail("instantiate", NULL);

  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_func_t* accumulate = wasm_extern_as_func(exports.data[0]);

  wasm_val_t args[2] = {WASM_I32_VAL(0), WASM_I32_VAL(10)};
  wasm_val_t results[1] = {WASM_INIT_VAL};
  wasm_val_vec_t args_vec = WASM_ARRAY_VEC(args);
  wasm_val_vec_t results_vec = WASM_ARRAY_VEC(results);
  trap = wasm_func_call(accumulate, &args_vec, &results_vec);
  if (trap) fail("call trapped", NULL);
  printf("%d\n", results[0].of.i32);

  uint64_t old = 0;
  err = wasmjit_memory_grow(memory, 1, &old);
  if (err) fail("grow", err);
  printf("grew from %llu to %u pages\n", (unsigned long long)old, wasm_memory_size(memory));

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_memory_delete(memory);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
