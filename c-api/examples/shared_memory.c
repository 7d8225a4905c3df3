/* A shared memory used by two C threads: the main thread makes a shared memory (1 page, at
 * most 10) and shares it and the module; each thread obtains both in its own store and adds
 * 1 to the counter at address 0 100000 times with an atomic add. Prints 200000. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "wasmjit.h"

static const char* WAT =
    "(module (memory (import \"js\" \"mem\") 1 10 shared)"
    "  (func (export \"bump\") (param $n i32)"
    "    (block $done (loop $top"
    "      (br_if $done (i32.eqz (local.get $n)))"
    "      (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))"
    "      (local.set $n (i32.sub (local.get $n) (i32.const 1)))"
    "      (br $top)))))";

typedef struct {
  wasm_engine_t* engine;
  wasm_shared_module_t* module;
  wasmjit_shared_memory_t* memory;
  int ok;
} job_t;

static void* worker(void* arg) {
  job_t* job = arg;
  wasm_store_t* store = wasm_store_new(job->engine);
  wasm_module_t* module = wasm_module_obtain(store, job->module);
  wasm_memory_t* memory = wasmjit_shared_memory_obtain(store, job->memory);
  wasm_extern_t* imports[] = {wasm_memory_as_extern(memory)};
  wasm_extern_vec_t import_vec = WASM_ARRAY_VEC(imports);
  wasm_trap_t* trap = NULL;
  wasm_instance_t* instance = wasm_instance_new(store, module, &import_vec, &trap);
  if (instance) {
    wasm_extern_vec_t exports;
    wasm_instance_exports(instance, &exports);
    wasm_val_t args[1] = {WASM_I32_VAL(100000)};
    wasm_val_vec_t args_vec = WASM_ARRAY_VEC(args);
    wasm_val_vec_t results = WASM_EMPTY_VEC;
    trap = wasm_func_call(wasm_extern_as_func(exports.data[0]), &args_vec, &results);
    job->ok = trap == NULL;
    wasm_extern_vec_delete(&exports);
    wasm_instance_delete(instance);
  }
  if (trap) wasm_trap_delete(trap);
  wasm_memory_delete(memory);
  wasm_module_delete(module);
  wasm_store_delete(store);
  return NULL;
}

int main(void) {
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_byte_vec_t binary;
  if (wasmjit_wat2wasm(WAT, strlen(WAT), &binary)) return 1;
  wasm_module_t* module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  if (!module) return 1;

  uint64_t maximum = 10;
  wasm_memory_t* memory = NULL;
  wasmjit_error_t* err = wasmjit_memory_new(store, 1, &maximum, true, &memory);
  if (err) return 1;
  printf("shared: %d\n", wasmjit_memory_is_shared(memory));

  job_t jobs[2];
  pthread_t threads[2];
  for (int i = 0; i < 2; i++) {
    jobs[i].engine = engine;
    jobs[i].module = wasm_module_share(module);
    jobs[i].memory = wasmjit_memory_share(memory);
    jobs[i].ok = 0;
    pthread_create(&threads[i], NULL, worker, &jobs[i]);
  }
  for (int i = 0; i < 2; i++) {
    pthread_join(threads[i], NULL);
    if (!jobs[i].ok) return 1;
    wasm_shared_module_delete(jobs[i].module);
    wasmjit_shared_memory_delete(jobs[i].memory);
  }
  uint32_t counter;
  memcpy(&counter, wasm_memory_data(memory), sizeof counter);
  printf("counter = %u\n", counter);
  if (!wasm_memory_grow(memory, 1)) return 1;
  printf("pages = %u\n", wasm_memory_size(memory));

  wasm_memory_delete(memory);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
