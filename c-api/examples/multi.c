/* Multiple values: a host function of type (i32 i64 f32 f64) -> (f64 f32 i64 i32) that
 * reverses its arguments, called from wasm, and a wasm function with four results called
 * with wasm_func_call. Prints "g(1, 2, 3.5, 4.25) = 4.25 3.5 2 1". */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "wasmjit.h"

static const char* WAT =
    "(module"
    "  (import \"\" \"reverse\" (func $rev (param i32 i64 f32 f64) (result f64 f32 i64 i32)))"
    "  (func (export \"g\") (param i32 i64 f32 f64) (result f64 f32 i64 i32)"
    "    (call $rev (local.get 0) (local.get 1) (local.get 2) (local.get 3))))";

static wasm_trap_t* reverse(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  printf("reverse got %zu args, gives %zu results\n", args->size, results->size);
  for (size_t i = 0; i < 4; i++) wasm_val_copy(&results->data[i], &args->data[3 - i]);
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

  wasm_valtype_t* params[4] = {wasm_valtype_new_i32(), wasm_valtype_new_i64(),
                               wasm_valtype_new_f32(), wasm_valtype_new_f64()};
  wasm_valtype_t* outs[4] = {wasm_valtype_new_f64(), wasm_valtype_new_f32(),
                             wasm_valtype_new_i64(), wasm_valtype_new_i32()};
  wasm_valtype_vec_t param_vec, result_vec;
  wasm_valtype_vec_new(&param_vec, 4, params);
  wasm_valtype_vec_new(&result_vec, 4, outs);
  wasm_functype_t* ty = wasm_functype_new(&param_vec, &result_vec);
  wasm_func_t* host = wasm_func_new(store, ty, reverse);
  printf("host: %zu params, %zu results\n", wasm_func_param_arity(host),
         wasm_func_result_arity(host));
  wasm_functype_delete(ty);

  wasm_extern_t* externs[] = {wasm_func_as_extern(host)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(externs);
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, NULL);
  if (!instance) return 1;
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_func_t* g = wasm_extern_as_func(exports.data[0]);

  wasm_val_t args[4] = {WASM_I32_VAL(1), WASM_I64_VAL(2), WASM_F32_VAL(3.5f), WASM_F64_VAL(4.25)};
  wasm_val_t results[4] = {WASM_INIT_VAL, WASM_INIT_VAL, WASM_INIT_VAL, WASM_INIT_VAL};
  wasm_val_vec_t args_vec = WASM_ARRAY_VEC(args);
  wasm_val_vec_t results_vec = WASM_ARRAY_VEC(results);
  if (wasm_func_call(g, &args_vec, &results_vec)) return 1;
  int kinds_ok = results[0].kind == WASM_F64 && results[1].kind == WASM_F32 &&
                 results[2].kind == WASM_I64 && results[3].kind == WASM_I32;
  printf("result kinds: %s\n", kinds_ok ? "f64 f32 i64 i32" : "wrong");
  printf("g(1, 2, 3.5, 4.25) = %g %g %" PRId64 " %" PRId32 "\n", results[0].of.f64,
         results[1].of.f32, results[2].of.i64, results[3].of.i32);

  /* Too few result slots: the call runs, then reports a trap; no result is written. */
  wasm_val_vec_t two = {2, results};
  wasm_trap_t* trap = wasm_func_call(g, &args_vec, &two);
  printf("two result slots: %s\n", trap ? "trap" : "no trap");
  wasm_trap_delete(trap);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_func_delete(host);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
