/* Traps caught: a division by zero in wasm, and a trap returned by a host callback, each
 * reported by wasm_func_call as an own trap with its message. */
#include <stdio.h>
#include <string.h>
#include "wasmjit.h"

static const char* WAT =
    "(module (import \"host\" \"fail\" (func $fail))"
    "  (func (export \"div\") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))"
    "  (func (export \"call_fail\") call $fail))";

static wasm_store_t* the_store;

static wasm_trap_t* fail(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  (void)args;
  (void)results;
  wasm_message_t msg;
  wasm_name_new_from_string_nt(&msg, "host says no");
  wasm_trap_t* trap = wasm_trap_new(the_store, &msg);
  wasm_name_delete(&msg);
  return trap;
}

static void print_trap(const char* what, wasm_trap_t* trap) {
  if (!trap) {
    printf("%s: no trap\n", what);
    return;
  }
  wasm_message_t msg;
  wasm_trap_message(trap, &msg);
  wasm_frame_vec_t trace;
  wasm_trap_trace(trap, &trace);
  printf("%s: trap: %s\n", what, msg.data);
  wasm_frame_vec_delete(&trace);
  wasm_name_delete(&msg);
  wasm_trap_delete(trap);
}

int main(void) {
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  the_store = store;
  wasm_byte_vec_t binary;
  if (wasmjit_wat2wasm(WAT, strlen(WAT), &binary)) return 1;
  wasm_module_t* module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  if (!module) return 1;

  wasm_functype_t* ty = wasm_functype_new_0_0();
  wasm_func_t* host = wasm_func_new(store, ty, fail);
  wasm_functype_delete(ty);
  wasm_extern_t* imports[] = {wasm_func_as_extern(host)};
  wasm_extern_vec_t import_vec = WASM_ARRAY_VEC(imports);
  wasm_instance_t* instance = wasm_instance_new(store, module, &import_vec, NULL);
  if (!instance) return 1;
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);

  wasm_val_t args[2] = {WASM_I32_VAL(7), WASM_I32_VAL(0)};
  wasm_val_t results[1] = {WASM_INIT_VAL};
  wasm_val_vec_t args_vec = WASM_ARRAY_VEC(args);
  wasm_val_vec_t results_vec = WASM_ARRAY_VEC(results);
  print_trap("div(7, 0)", wasm_func_call(wasm_extern_as_func(exports.data[0]), &args_vec, &results_vec));
  args[1].of.i32 = 2;
  print_trap("div(7, 2)", wasm_func_call(wasm_extern_as_func(exports.data[0]), &args_vec, &results_vec));
  printf("div(7, 2) = %d\n", results[0].of.i32);

  wasm_val_vec_t none = WASM_EMPTY_VEC;
  wasm_val_vec_t no_results = WASM_EMPTY_VEC;
  print_trap("call_fail", wasm_func_call(wasm_extern_as_func(exports.data[1]), &none, &no_results));

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_func_delete(host);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
