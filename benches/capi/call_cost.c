/* The cost of calling wasm through the C API: `wasm_func_call` of an empty function and of
 * `accumulate(0, 10)` (the WebAssembly.Memory example's sum of ten u32s), CALLS calls each,
 * repeated BATCHES times. Prints, for each, the median nanoseconds per call of the batches:
 *
 *   empty NS
 *   accumulate NS
 *
 * The bench harness (benches/src/capi.rs) compiles it against libwasmjit.a and compares
 * with the same calls through the Rust API's `Func::call`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "wasmjit.h"

#define BATCHES 11

static const char* WAT =
    "(module (memory (export \"mem\") 1)"
    "  (func (export \"empty\"))"
    "  (func (export \"accumulate\") (param $ptr i32) (param $len i32) (result i32)"
    "    (local $end i32) (local $sum i32)"
    "    (local.set $end (i32.add (local.get $ptr) (i32.mul (local.get $len) (i32.const 4))))"
    "    (block $break (loop $top"
    "      (br_if $break (i32.eq (local.get $ptr) (local.get $end)))"
    "      (local.set $sum (i32.add (local.get $sum) (i32.load (local.get $ptr))))"
    "      (local.set $ptr (i32.add (local.get $ptr) (i32.const 4)))"
    "      (br $top)))"
    "    (local.get $sum)))";

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int compare(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

/* Median ns per call of `calls` calls of `func`, over BATCHES batches. */
static double per_call(wasm_func_t* func, wasm_val_vec_t* args, wasm_val_vec_t* results,
                       long calls, int expect) {
  double samples[BATCHES];
  for (int b = 0; b < BATCHES; b++) {
    double start = now_ns();
    for (long i = 0; i < calls; i++) {
      wasm_trap_t* trap = wasm_func_call(func, args, results);
      if (trap) {
        fprintf(stderr, "trap\n");
        exit(1);
      }
    }
    samples[b] = (now_ns() - start) / (double)calls;
    if (results->size && results->data[0].of.i32 != expect) {
      fprintf(stderr, "wrong result %d\n", results->data[0].of.i32);
      exit(1);
    }
  }
  qsort(samples, BATCHES, sizeof(double), compare);
  return samples[BATCHES / 2];
}

int main(int argc, char** argv) {
  long calls = argc > 1 ? atol(argv[1]) : 1000000;
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_byte_vec_t binary;
  wasmjit_error_t* err = wasmjit_wat2wasm(WAT, strlen(WAT), &binary);
  if (err) return 1;
  wasm_module_t* module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  if (!module) return 1;
  wasm_extern_vec_t imports = WASM_EMPTY_VEC;
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, NULL);
  if (!instance) return 1;
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  uint32_t* words = (uint32_t*)wasm_memory_data(wasm_extern_as_memory(exports.data[0]));
  for (uint32_t i = 0; i < 10; i++) words[i] = i;

  wasm_val_vec_t none = WASM_EMPTY_VEC;
  double empty = per_call(wasm_extern_as_func(exports.data[1]), &none, &none, calls, 0);
  wasm_val_t args[2] = {WASM_I32_VAL(0), WASM_I32_VAL(10)};
  wasm_val_t results[1] = {WASM_INIT_VAL};
  wasm_val_vec_t args_vec = WASM_ARRAY_VEC(args), results_vec = WASM_ARRAY_VEC(results);
  double accumulate =
      per_call(wasm_extern_as_func(exports.data[2]), &args_vec, &results_vec, calls, 45);
  printf("empty %.2f\naccumulate %.2f\n", empty, accumulate);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
