/* Checks the standard API's type objects, vectors, globals, tables, memories, externs,
 * references, host info and foreign objects; prints "types: all checks passed". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wasmjit.h"

static int failures = 0;
#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      printf("FAILED line %d: %s\n", __LINE__, #cond);               \
      failures++;                                                     \
    }                                                                 \
  } while (0)

static const char* WAT =
    "(module"
    "  (import \"env\" \"g\" (global $g (mut i32)))"
    "  (import \"env\" \"t\" (table 2 funcref))"
    "  (import \"env\" \"m\" (memory 1 2))"
    "  (import \"env\" \"f\" (func $f (param i64) (result f64)))"
    "  (global $r (export \"ref\") (mut externref) (ref.null extern))"
    "  (func (export \"get_g\") (result i32) global.get $g)"
    "  (func (export \"id\") (param externref) (result externref) local.get 0)"
    "  (export \"mem\" (memory 0))"
    "  (table (export \"tab\") 1 funcref))";

static int finalized = 0;
static void finalize(void* p) { finalized += *(int*)p; }

static wasm_trap_t* to_f64(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  results->data[0].kind = WASM_F64;
  results->data[0].of.f64 = (double)args->data[0].of.i64;
  return NULL;
}

int main(void) {
  /* Vectors and names */
  wasm_name_t name, copy;
  wasm_name_new_from_string(&name, "hello");
  wasm_name_copy(&copy, &name);
  CHECK(copy.size == 5 && memcmp(copy.data, "hello", 5) == 0);
  wasm_name_delete(&name);
  wasm_name_delete(&copy);
  wasm_byte_vec_t empty;
  wasm_byte_vec_new_empty(&empty);
  CHECK(empty.size == 0);
  wasm_byte_vec_delete(&empty);
  wasm_val_vec_t vals;
  wasm_val_vec_new_uninitialized(&vals, 3);
  CHECK(vals.size == 3);
  wasm_val_vec_delete(&vals);

  /* Value and function types */
  wasm_valtype_t* i64 = wasm_valtype_new_i64();
  CHECK(wasm_valtype_kind(i64) == WASM_I64 && wasm_valtype_is_num(i64));
  wasm_valtype_t* fr = wasm_valtype_copy(i64);
  CHECK(wasm_valtype_kind(fr) == WASM_I64);
  wasm_valtype_delete(fr);
  wasm_functype_t* ft = wasm_functype_new_1_1(i64, wasm_valtype_new_f64());
  CHECK(wasm_functype_params(ft)->size == 1);
  CHECK(wasm_valtype_kind(wasm_functype_results(ft)->data[0]) == WASM_F64);
  wasm_externtype_t* et = wasm_functype_as_externtype(ft);
  CHECK(wasm_externtype_kind(et) == WASM_EXTERN_FUNC);
  CHECK(wasm_externtype_as_functype(et) == ft);
  CHECK(wasm_externtype_as_memorytype(et) == NULL);
  wasm_functype_vec_t fts;
  wasm_functype_t* ft_copy = wasm_functype_copy(ft);
  wasm_functype_vec_new(&fts, 1, &ft_copy);
  wasm_functype_vec_t fts2;
  wasm_functype_vec_copy(&fts2, &fts);
  CHECK(fts2.size == 1 && wasm_functype_params(fts2.data[0])->size == 1);
  wasm_functype_vec_delete(&fts);
  wasm_functype_vec_delete(&fts2);

  /* Global, table and memory types */
  wasm_globaltype_t* gt = wasm_globaltype_new(wasm_valtype_new_i32(), WASM_VAR);
  CHECK(wasm_globaltype_mutability(gt) == WASM_VAR);
  CHECK(wasm_valtype_kind(wasm_globaltype_content(gt)) == WASM_I32);
  wasm_limits_t tl = {2, 10};
  wasm_tabletype_t* tt = wasm_tabletype_new(wasm_valtype_new_funcref(), &tl);
  CHECK(wasm_tabletype_limits(tt)->min == 2 && wasm_tabletype_limits(tt)->max == 10);
  CHECK(wasm_valtype_kind(wasm_tabletype_element(tt)) == WASM_FUNCREF);
  wasm_limits_t ml = {1, 2};
  wasm_memorytype_t* mt = wasm_memorytype_new(&ml);
  CHECK(wasm_memorytype_limits(mt)->max == 2);
  wasm_limits_t bad = {3, 2};
  CHECK(wasm_memorytype_new(&bad) == NULL);
  wasm_limits_t nomax = {1, wasm_limits_max_default};
  wasm_memorytype_t* mt2 = wasm_memorytype_new(&nomax);
  CHECK(wasm_memorytype_limits(mt2)->max == wasm_limits_max_default);
  wasm_memorytype_delete(mt2);

  /* Runtime objects */
  wasm_engine_t* engine = wasm_engine_new_with_config(wasm_config_new());
  wasm_store_t* store = wasm_store_new(engine);
  wasm_val_t seven = WASM_I32_VAL(7);
  wasm_global_t* g = wasm_global_new(store, gt, &seven);
  wasm_table_t* t = wasm_table_new(store, tt, NULL);
  wasm_memory_t* m = wasm_memory_new(store, mt);
  wasm_func_t* f = wasm_func_new(store, ft, to_f64);
  CHECK(g && t && m && f);
  CHECK(wasm_memory_size(m) == 1 && wasm_memory_data_size(m) == MEMORY_PAGE_SIZE);
  CHECK(wasm_memory_grow(m, 1) && !wasm_memory_grow(m, 1));
  CHECK(wasm_table_size(t) == 2 && wasm_table_get(t, 0) == NULL);
  CHECK(wasm_table_set(t, 1, wasm_func_as_ref(f)));
  wasm_ref_t* slot = wasm_table_get(t, 1);
  CHECK(slot && wasm_ref_same(slot, wasm_func_as_ref(f)));
  CHECK(wasm_func_result_arity(wasm_ref_as_func(slot)) == 1);
  wasm_ref_delete(slot);
  CHECK(wasm_table_grow(t, 3, NULL) && wasm_table_size(t) == 5);
  CHECK(!wasm_table_set(t, 9, NULL));
  wasm_val_t v;
  wasm_global_get(g, &v);
  CHECK(v.kind == WASM_I32 && v.of.i32 == 7);

  /* Host info, on the object (copies see it) and finalized with the store */
  int* info = malloc(sizeof(int));
  *info = 5;
  wasm_global_set_host_info_with_finalizer(g, info, finalize);
  wasm_global_t* g2 = wasm_global_copy(g);
  CHECK(wasm_global_get_host_info(g2) == info && wasm_global_same(g, g2));
  wasm_global_delete(g2);

  /* Module, imports and exports */
  wasm_byte_vec_t binary;
  CHECK(wasmjit_wat2wasm(WAT, strlen(WAT), &binary) == NULL);
  CHECK(wasm_module_validate(store, &binary));
  wasm_module_t* module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  CHECK(module != NULL);
  wasm_importtype_vec_t imports;
  wasm_module_imports(module, &imports);
  CHECK(imports.size == 4);
  CHECK(memcmp(wasm_importtype_name(imports.data[2])->data, "m", 1) == 0);
  CHECK(wasm_externtype_kind(wasm_importtype_type(imports.data[2])) == WASM_EXTERN_MEMORY);
  const wasm_tabletype_t* it =
      wasm_externtype_as_tabletype_const(wasm_importtype_type(imports.data[1]));
  CHECK(it && wasm_tabletype_limits(it)->min == 2);
  wasm_importtype_vec_delete(&imports);
  wasm_exporttype_vec_t exports_t;
  wasm_module_exports(module, &exports_t);
  CHECK(exports_t.size == 5);
  CHECK(wasm_externtype_kind(wasm_exporttype_type(exports_t.data[0])) == WASM_EXTERN_GLOBAL);
  wasm_exporttype_vec_delete(&exports_t);

  wasm_extern_t* ext[] = {wasm_global_as_extern(g), wasm_table_as_extern(t),
                          wasm_memory_as_extern(m), wasm_func_as_extern(f)};
  wasm_extern_vec_t import_vec = WASM_ARRAY_VEC(ext);
  wasm_trap_t* trap = NULL;
  wasm_instance_t* instance = wasm_instance_new(store, module, &import_vec, &trap);
  CHECK(instance && !trap);
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  CHECK(exports.size == 5);
  CHECK(wasm_extern_kind(exports.data[0]) == WASM_EXTERN_GLOBAL);
  CHECK(wasm_extern_kind(exports.data[3]) == WASM_EXTERN_MEMORY);
  wasm_externtype_t* xt = wasm_extern_type(exports.data[4]);
  CHECK(wasm_externtype_kind(xt) == WASM_EXTERN_TABLE);
  wasm_externtype_delete(xt);

  /* A global set from C is seen by wasm */
  wasm_val_t nine = WASM_I32_VAL(9);
  wasm_global_set(g, &nine);
  wasm_val_t res[1] = {WASM_INIT_VAL};
  wasm_val_vec_t none = WASM_EMPTY_VEC;
  wasm_val_vec_t res_vec = WASM_ARRAY_VEC(res);
  CHECK(wasm_func_call(wasm_extern_as_func(exports.data[1]), &none, &res_vec) == NULL);
  CHECK(res[0].of.i32 == 9);

  /* A foreign object through wasm as an externref keeps its identity */
  wasm_foreign_t* foreign = wasm_foreign_new(store);
  wasm_val_t arg[1] = {WASM_REF_VAL(wasm_foreign_as_ref(foreign))};
  wasm_val_vec_t arg_vec = WASM_ARRAY_VEC(arg);
  CHECK(wasm_func_call(wasm_extern_as_func(exports.data[2]), &arg_vec, &res_vec) == NULL);
  CHECK(res[0].kind == WASM_EXTERNREF && res[0].of.ref);
  CHECK(wasm_ref_same(res[0].of.ref, wasm_foreign_as_ref(foreign)));
  CHECK(wasm_ref_as_foreign(res[0].of.ref) != NULL);
  wasm_val_t res_copy;
  wasm_val_copy(&res_copy, &res[0]);
  wasm_val_delete(&res_copy);
  wasm_val_delete(&res[0]);
  wasm_global_t* rg = wasm_extern_as_global(exports.data[0]);
  wasm_global_set(rg, &arg[0]);
  wasm_val_t got;
  wasm_global_get(rg, &got);
  CHECK(got.kind == WASM_EXTERNREF && wasm_ref_same(got.of.ref, wasm_foreign_as_ref(foreign)));
  wasm_val_delete(&got);
  wasm_foreign_delete(foreign);

  /* A call with the wrong number of result slots is a trap, not a crash */
  wasm_val_vec_t no_results = WASM_EMPTY_VEC;
  wasm_trap_t* tr = wasm_func_call(wasm_extern_as_func(exports.data[1]), &none, &no_results);
  CHECK(tr != NULL);
  wasm_trap_delete(tr);

  /* Instantiation with a missing import reports a trap */
  wasm_extern_vec_t no_imports = WASM_EMPTY_VEC;
  wasm_instance_t* bad_instance = wasm_instance_new(store, module, &no_imports, &trap);
  CHECK(!bad_instance && trap);
  if (trap) wasm_trap_delete(trap);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
  wasm_global_delete(g);
  wasm_table_delete(t);
  wasm_memory_delete(m);
  wasm_func_delete(f);
  wasm_functype_delete(ft);
  wasm_globaltype_delete(gt);
  wasm_tabletype_delete(tt);
  wasm_memorytype_delete(mt);
  CHECK(finalized == 0);
  wasm_store_delete(store);
  CHECK(finalized == 5);
  free(info);
  wasm_engine_delete(engine);

  /* wasmjit_memory_new follows WebAssembly.Memory's rules */
  engine = wasm_engine_new();
  store = wasm_store_new(engine);
  wasm_memory_t* mem = NULL;
  wasmjit_error_t* err = wasmjit_memory_new(store, 1, NULL, true, &mem);
  CHECK(err != NULL && mem == NULL);
  if (err) {
    wasm_name_t msg;
    wasmjit_error_message(err, &msg);
    CHECK(msg.size > 1 && msg.data[msg.size - 1] == 0);
    wasm_name_delete(&msg);
    wasmjit_error_delete(err);
  }
  uint64_t max = 70000;
  err = wasmjit_memory_new(store, 1, &max, false, &mem);
  CHECK(err != NULL);
  if (err) wasmjit_error_delete(err);
  wasm_store_delete(store);
  wasm_engine_delete(engine);

  if (failures == 0) printf("types: all checks passed\n");
  return failures != 0;
}
