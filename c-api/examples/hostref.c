/* Host references: foreign objects (wasm_foreign_new) with host info, passed to wasm as
 * `externref` and back, through a mutable global, a table and a host function; every
 * reference that comes back is the same object (wasm_ref_same) with the same host info, and
 * funcrefs come back as the same functions. Prints "hostref: all checks passed". */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "wasmjit.h"

static const char* WAT =
    "(module (import \"\" \"echo\" (func $echo (param externref) (result externref)))"
    "  (global $g (export \"g\") (mut externref) (ref.null extern))"
    "  (table $t (export \"t\") 4 externref)"
    "  (table $f 1 funcref) (elem declare func $id)"
    "  (func (export \"set\") (param externref) (global.set $g (local.get 0)))"
    "  (func (export \"get\") (result externref) (global.get $g))"
    "  (func (export \"put\") (param i32 externref) (table.set $t (local.get 0) (local.get 1)))"
    "  (func (export \"take\") (param i32) (result externref) (table.get $t (local.get 0)))"
    "  (func $id (export \"id\") (param externref) (result externref) (call $echo (local.get 0)))"
    "  (func (export \"self\") (result funcref) (ref.func $id)))";

static int failures = 0;
#define CHECK(cond)                                          \
  do {                                                       \
    if (!(cond)) {                                           \
      printf("FAILED line %d: %s\n", __LINE__, #cond);      \
      failures++;                                            \
    }                                                        \
  } while (0)

static int echoes = 0;

static wasm_trap_t* echo(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  echoes++;
  wasm_val_copy(&results->data[0], &args->data[0]);
  return NULL;
}

static wasm_extern_vec_t exports;

/* Calls export `i` with up to two arguments; returns its one result (own), or NULL. */
static wasm_ref_t* call(size_t i, wasm_val_t* args, size_t nargs, size_t nresults) {
  wasm_val_t results[1] = {WASM_INIT_VAL};
  wasm_val_vec_t args_vec = {nargs, args}, results_vec = {nresults, results};
  wasm_trap_t* trap = wasm_func_call(wasm_extern_as_func(exports.data[i]), &args_vec, &results_vec);
  CHECK(trap == NULL);
  wasm_trap_delete(trap);
  return results[0].of.ref;
}

/* Whether `r` (own, deleted here) is `expected` (NULL for null), host info included. */
static int is(wasm_ref_t* r, wasm_ref_t* expected) {
  int same = expected ? r && wasm_ref_same(r, expected) &&
                            wasm_ref_get_host_info(r) == wasm_ref_get_host_info(expected)
                      : r == NULL;
  wasm_ref_delete(r);
  return same;
}

int main(void) {
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_byte_vec_t binary;
  if (wasmjit_wat2wasm(WAT, strlen(WAT), &binary)) return 1;
  wasm_module_t* module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  if (!module) return 1;
  wasm_functype_t* ty = wasm_functype_new_1_1(wasm_valtype_new_externref(),
                                              wasm_valtype_new_externref());
  wasm_func_t* host = wasm_func_new(store, ty, echo);
  wasm_functype_delete(ty);
  wasm_extern_t* externs[] = {wasm_func_as_extern(host)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(externs);
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, NULL);
  if (!instance) return 1;
  wasm_instance_exports(instance, &exports);
  wasm_global_t* g = wasm_extern_as_global(exports.data[0]);
  wasm_table_t* t = wasm_extern_as_table(exports.data[1]);

  wasm_ref_t* a = wasm_foreign_as_ref(wasm_foreign_new(store));
  wasm_ref_t* b = wasm_foreign_as_ref(wasm_foreign_new(store));
  wasm_ref_set_host_info(a, (void*)(intptr_t)1);
  wasm_ref_set_host_info(b, (void*)(intptr_t)2);
  CHECK(!wasm_ref_same(a, b));
  CHECK(is(wasm_ref_copy(a), a));

  /* Through the global, from wasm and from C. */
  CHECK(is(call(3, NULL, 0, 1), NULL));
  wasm_val_t arg[2] = {WASM_REF_VAL(a)};
  call(2, arg, 1, 0);
  CHECK(is(call(3, NULL, 0, 1), a));
  wasm_val_t v = WASM_REF_VAL(b);
  wasm_global_set(g, &v);
  CHECK(is(call(3, NULL, 0, 1), b));
  wasm_global_get(g, &v);
  CHECK(v.kind == WASM_EXTERNREF && is(v.of.ref, b));

  /* Through the table. */
  wasm_val_t put[2] = {WASM_I32_VAL(1), WASM_REF_VAL(b)};
  call(4, put, 2, 0);
  CHECK(is(wasm_table_get(t, 1), b));
  CHECK(wasm_table_set(t, 2, a));
  wasm_val_t index[1] = {WASM_I32_VAL(2)};
  CHECK(is(call(5, index, 1, 1), a));
  CHECK(is(wasm_table_get(t, 0), NULL));

  /* Through a host function called from wasm, and a funcref. */
  CHECK(is(call(6, arg, 1, 1), a));
  wasm_val_t null_arg[1] = {WASM_REF_VAL(NULL)};
  CHECK(is(call(6, null_arg, 1, 1), NULL));
  CHECK(echoes == 2);
  CHECK(is(call(7, NULL, 0, 1), wasm_func_as_ref(wasm_extern_as_func(exports.data[6]))));

  printf(failures ? "hostref: %d checks failed\n" : "hostref: all checks passed\n", failures);
  wasm_ref_delete(a);
  wasm_ref_delete(b);
  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_func_delete(host);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return failures != 0;
}
