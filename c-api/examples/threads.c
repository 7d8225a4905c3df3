/* Threads: a module compiled once and shared (wasm_module_share); four threads each make
 * their own store, obtain the module (wasm_module_obtain) and instantiate it three times
 * with their own id as an imported global and a host callback that records what wasm passes
 * it. The main thread prints the records after joining: "thread 2: 3 calls, last id 2". */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include "wasmjit.h"

#define THREADS 4
#define ROUNDS 3

static const char* WAT =
    "(module (import \"\" \"report\" (func $report (param i32)))"
    "  (import \"\" \"id\" (global $id i32))"
    "  (func (export \"run\") (call $report (global.get $id))))";

typedef struct {
  wasm_engine_t* engine;
  wasm_shared_module_t* shared;
  int id;
  int calls;
  int last;
  int ok;
} job_t;

static wasm_trap_t* report(void* env, const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  (void)results;
  job_t* job = env;
  job->calls++;
  job->last = args->data[0].of.i32;
  return NULL;
}

static void* run(void* arg) {
  job_t* job = arg;
  wasm_store_t* store = wasm_store_new(job->engine);
  wasm_module_t* module = wasm_module_obtain(store, job->shared);
  if (!module) return NULL;
  for (int round = 0; round < ROUNDS; round++) {
    wasm_functype_t* fty = wasm_functype_new_1_0(wasm_valtype_new_i32());
    wasm_func_t* func = wasm_func_new_with_env(store, fty, report, job, NULL);
    wasm_functype_delete(fty);
    wasm_globaltype_t* gty = wasm_globaltype_new(wasm_valtype_new_i32(), WASM_CONST);
    wasm_val_t id = WASM_I32_VAL(job->id);
    wasm_global_t* global = wasm_global_new(store, gty, &id);
    wasm_globaltype_delete(gty);
    wasm_extern_t* externs[] = {wasm_func_as_extern(func), wasm_global_as_extern(global)};
    wasm_extern_vec_t imports = WASM_ARRAY_VEC(externs);
    wasm_instance_t* instance = wasm_instance_new(store, module, &imports, NULL);
    wasm_func_delete(func);
    wasm_global_delete(global);
    if (!instance) return NULL;
    wasm_extern_vec_t exports;
    wasm_instance_exports(instance, &exports);
    wasm_val_vec_t none = WASM_EMPTY_VEC, no_results = WASM_EMPTY_VEC;
    wasm_trap_t* trap = wasm_func_call(wasm_extern_as_func(exports.data[0]), &none, &no_results);
    int trapped = trap != NULL;
    wasm_trap_delete(trap);
    wasm_extern_vec_delete(&exports);
    wasm_instance_delete(instance);
    if (trapped) return NULL;
  }
  wasm_module_delete(module);
  wasm_store_delete(store);
  job->ok = 1;
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
  wasm_shared_module_t* shared = wasm_module_share(module);
  wasm_module_delete(module);
  wasm_store_delete(store);

  pthread_t threads[THREADS];
  job_t jobs[THREADS];
  for (int i = 0; i < THREADS; i++) {
    jobs[i] = (job_t){engine, shared, i, 0, -1, 0};
    pthread_create(&threads[i], NULL, run, &jobs[i]);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(threads[i], NULL);
    printf("thread %d: %d calls, last id %d, %s\n", i, jobs[i].calls, jobs[i].last,
           jobs[i].ok ? "ok" : "failed");
  }
  wasm_shared_module_delete(shared);
  wasm_engine_delete(engine);
  return 0;
}
