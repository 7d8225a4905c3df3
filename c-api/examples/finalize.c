/* Host info and finalizers: each of 1000 instances, a foreign object and a host function's
 * environment get a finalizer that counts; none runs while the store lives, and each runs
 * exactly once when it goes. Replacing info finalizes the old info at once, and a module's
 * info is finalized when its last copy is deleted. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "wasmjit.h"

#define INSTANCES 1000

static int finalized[INSTANCES + 4];
static int total = 0;

static void count(void* data) {
  finalized[(intptr_t)data]++;
  total++;
}

static wasm_trap_t* nop(void* env, const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  (void)env;
  (void)args;
  (void)results;
  return NULL;
}

int main(void) {
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  const char* wat = "(module (func (export \"f\")) (global (export \"g\") i32 (i32.const 1)))";
  wasm_byte_vec_t binary;
  if (wasmjit_wat2wasm(wat, strlen(wat), &binary)) return 1;
  wasm_module_t* module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  if (!module) return 1;

  wasm_extern_vec_t no_imports = WASM_EMPTY_VEC;
  for (intptr_t i = 0; i < INSTANCES; i++) {
    wasm_instance_t* instance = wasm_instance_new(store, module, &no_imports, NULL);
    if (!instance) return 1;
    wasm_instance_set_host_info_with_finalizer(instance, (void*)i, count);
    wasm_instance_delete(instance);
  }
  wasm_foreign_t* foreign = wasm_foreign_new(store);
  wasm_foreign_set_host_info_with_finalizer(foreign, (void*)(intptr_t)INSTANCES, count);
  wasm_foreign_delete(foreign);
  wasm_functype_t* ty = wasm_functype_new_0_0();
  wasm_func_t* func =
      wasm_func_new_with_env(store, ty, nop, (void*)(intptr_t)(INSTANCES + 1), count);
  wasm_functype_delete(ty);
  wasm_func_delete(func);
  printf("before the store goes: %d finalized\n", total);

  /* Replacing info finalizes the previous info now. */
  wasm_module_set_host_info_with_finalizer(module, (void*)(intptr_t)(INSTANCES + 2), count);
  wasm_module_set_host_info_with_finalizer(module, (void*)(intptr_t)(INSTANCES + 3), count);
  printf("after replacing module info: %d finalized\n", total);
  /* A copy shares the info: it goes with the last copy. */
  wasm_module_t* copy = wasm_module_copy(module);
  wasm_module_delete(module);
  printf("after deleting the module, a copy left: %d finalized\n", total);
  wasm_module_delete(copy);
  printf("after deleting the copy: %d finalized\n", total);

  wasm_store_delete(store);
  int once = 1;
  for (int i = 0; i < INSTANCES + 4; i++) once &= finalized[i] == 1;
  printf("after the store goes: %d finalized, each once: %s\n", total, once ? "yes" : "no");
  wasm_engine_delete(engine);
  return 0;
}
