/* Tables from C: an exported table of funcref (2 elements, at most 10) read, written and
 * grown with wasm_table_get/set/grow/size, filled with a wasm function and a host function,
 * and called through with call_indirect; out-of-bounds sets and grows fail, a null slot
 * traps; a table made in C stands alone. Prints "call_indirect(3, 7) = -7" among others. */
#include <stdio.h>
#include <string.h>
#include "wasmjit.h"

static const char* WAT =
    "(module (table (export \"table\") 2 10 funcref)"
    "  (func $double (export \"double\") (param i32) (result i32)"
    "    (i32.mul (local.get 0) (i32.const 2)))"
    "  (func (export \"call_indirect\") (param i32 i32) (result i32)"
    "    (call_indirect (param i32) (result i32) (local.get 1) (local.get 0)))"
    "  (elem (i32.const 1) $double))";

static wasm_trap_t* negate(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  results->data[0] = (wasm_val_t)WASM_I32_VAL(-args->data[0].of.i32);
  return NULL;
}

static wasm_func_t* call_indirect;

/* Calls slot `index` with `arg`; prints the result or the trap. */
static void call(int32_t index, int32_t arg) {
  wasm_val_t args[2] = {WASM_I32_VAL(index), WASM_I32_VAL(arg)};
  wasm_val_t results[1] = {WASM_INIT_VAL};
  wasm_val_vec_t args_vec = WASM_ARRAY_VEC(args);
  wasm_val_vec_t results_vec = WASM_ARRAY_VEC(results);
  wasm_trap_t* trap = wasm_func_call(call_indirect, &args_vec, &results_vec);
  if (trap) {
    wasm_message_t msg;
    wasm_trap_message(trap, &msg);
    printf("call_indirect(%d, %d): trap: %s\n", index, arg, msg.data);
    wasm_name_delete(&msg);
    wasm_trap_delete(trap);
  } else {
    printf("call_indirect(%d, %d) = %d\n", index, arg, results[0].of.i32);
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
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_table_t* table = wasm_extern_as_table(exports.data[0]);
  wasm_func_t* dbl = wasm_extern_as_func(exports.data[1]);
  call_indirect = wasm_extern_as_func(exports.data[2]);

  wasm_functype_t* ty = wasm_functype_new_1_1(wasm_valtype_new_i32(), wasm_valtype_new_i32());
  wasm_func_t* neg = wasm_func_new(store, ty, negate);
  wasm_functype_delete(ty);

  printf("size %u\n", wasm_table_size(table));
  wasm_ref_t* slot1 = wasm_table_get(table, 1);
  printf("slot 0 %s, slot 1 is double: %s\n", wasm_table_get(table, 0) ? "set" : "null",
         wasm_ref_same(slot1, wasm_func_as_ref(dbl)) ? "yes" : "no");
  wasm_ref_delete(slot1);
  call(1, 21);
  call(0, 1);

  printf("set slot 0: %s\n", wasm_table_set(table, 0, wasm_func_as_ref(neg)) ? "ok" : "failed");
  printf("set slot 2: %s\n", wasm_table_set(table, 2, wasm_func_as_ref(neg)) ? "ok" : "failed");
  call(0, 5);

  bool grown = wasm_table_grow(table, 3, wasm_func_as_ref(neg));
  printf("grow by 3: %s, size %u\n", grown ? "ok" : "failed", wasm_table_size(table));
  call(3, 7);
  printf("set slot 4 to null: %s\n", wasm_table_set(table, 4, NULL) ? "ok" : "failed");
  call(4, 1);
  call(5, 1);
  grown = wasm_table_grow(table, 6, NULL);
  printf("grow by 6: %s, size %u\n", grown ? "ok" : "failed", wasm_table_size(table));

  wasm_limits_t limits = {3, 3};
  wasm_tabletype_t* table_ty = wasm_tabletype_new(wasm_valtype_new_funcref(), &limits);
  wasm_table_t* own_table = wasm_table_new(store, table_ty, wasm_func_as_ref(neg));
  wasm_tabletype_delete(table_ty);
  wasm_ref_t* first = wasm_table_get(own_table, 0);
  printf("new table: size %u, slot 0 is negate: %s, grow: %s\n", wasm_table_size(own_table),
         wasm_ref_same(first, wasm_func_as_ref(neg)) ? "yes" : "no",
         wasm_table_grow(own_table, 1, NULL) ? "ok" : "failed");
  wasm_ref_delete(first);

  wasm_table_delete(own_table);
  wasm_func_delete(neg);
  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
