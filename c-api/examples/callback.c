/* A host function called from wasm: the module imports `host.add_ten` and its `run` export
 * calls it; a second host function keeps a counter in its environment, finalized with the
 * store. Prints "run(32) = 42" and the counter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wasmjit.h"

static const char* WAT =
    "(module (import \"host\" \"add_ten\" (func $add (param i32) (result i32)))"
    "  (import \"host\" \"count\" (func $count))"
    "  (func (export \"run\") (param i32) (result i32)"
    "    call $count call $count (call $add (local.get 0))))";

static wasm_trap_t* add_ten(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  results->data[0].kind = WASM_I32;
  results->data[0].of.i32 = args->data[0].of.i32 + 10;
  return NULL;
}

static wasm_trap_t* count(void* env, const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  (void)args;
  (void)results;
  (*(int*)env)++;
  return NULL;
}

static void finalize(void* env) {
  printf("finalizer: count was %d\n", *(int*)env);
  free(env);
}

int main(void) {
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_byte_vec_t binary;
  wasmjit_error_t* err = wasmjit_wat2wasm(WAT, strlen(WAT), &binary);
  if (err) return 1;
  wasm_module_t* module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  if (!module) return 1;

  wasm_functype_t* add_type = wasm_functype_new_1_1(wasm_valtype_new_i32(), wasm_valtype_new_i32());
  wasm_func_t* add = wasm_func_new(store, add_type, add_ten);
  wasm_functype_delete(add_type);
  wasm_functype_t* count_type = wasm_functype_new_0_0();
  int* counter = malloc(sizeof(int));
  *counter = 0;
  wasm_func_t* counter_func = wasm_func_new_with_env(store, count_type, count, counter, finalize);
  wasm_functype_delete(count_type);
  printf("add_ten: %zu param, %zu result\n", wasm_func_param_arity(add), wasm_func_result_arity(add));

  wasm_extern_t* imports[] = {wasm_func_as_extern(add), wasm_func_as_extern(counter_func)};
  wasm_extern_vec_t import_vec = WASM_ARRAY_VEC(imports);
  wasm_instance_t* instance = wasm_instance_new(store, module, &import_vec, NULL);
  if (!instance) return 1;
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  const wasm_func_t* run = wasm_extern_as_func_const(exports.data[0]);

  wasm_val_t args[1] = {WASM_I32_VAL(32)};
  wasm_val_t results[1] = {WASM_INIT_VAL};
  wasm_val_vec_t args_vec = WASM_ARRAY_VEC(args);
  wasm_val_vec_t results_vec = WASM_ARRAY_VEC(results);
  wasm_trap_t* trap = wasm_func_call(run, &args_vec, &results_vec);
  if (trap) return 1;
  printf("run(32) = %d\n", results[0].of.i32);
  printf("count = %d\n", *counter);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_func_delete(add);
  wasm_func_delete(counter_func);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
