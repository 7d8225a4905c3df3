/* Globals of every value type: immutable and mutable globals made in C and imported, and
 * the module's own exported ones, read and written from C (wasm_global_get/set) and from
 * wasm, each side seeing the other's writes; an immutable global ignores wasm_global_set.
 * Prints "globals: all checks passed". */
#include <stdio.h>
#include <string.h>
#include "wasmjit.h"

static const char* WAT =
    "(module"
    "  (global $ci (import \"\" \"const i32\") i32)"
    "  (global $vi (import \"\" \"var i64\") (mut i64))"
    "  (global $vf (import \"\" \"var f32\") (mut f32))"
    "  (global $ref (import \"\" \"var externref\") (mut externref))"
    "  (global (export \"const f64\") f64 (f64.const 2.5))"
    "  (global $ei (export \"var i32\") (mut i32) (i32.const 7))"
    "  (global $fn (export \"var funcref\") (mut funcref) (ref.null func))"
    "  (func $get (export \"sum\") (result f64)"
    "    (f64.add (f64.add (f64.convert_i32_s (global.get $ci)) (f64.convert_i64_s (global.get $vi)))"
    "             (f64.add (f64.promote_f32 (global.get $vf)) (f64.convert_i32_s (global.get $ei)))))"
    "  (func (export \"bump\") (param i64)"
    "    (global.set $vi (i64.add (global.get $vi) (local.get 0)))"
    "    (global.set $vf (f32.mul (global.get $vf) (f32.const 2)))"
    "    (global.set $ei (i32.const 100))"
    "    (global.set $fn (ref.func $get))"
    "    (global.set $ref (ref.null extern))))";

static int failures = 0;
#define CHECK(cond)                                          \
  do {                                                       \
    if (!(cond)) {                                           \
      printf("FAILED line %d: %s\n", __LINE__, #cond);      \
      failures++;                                            \
    }                                                        \
  } while (0)

static wasm_global_t* make(wasm_store_t* store, wasm_valkind_t kind, wasm_mutability_t mut,
                           wasm_val_t val) {
  wasm_globaltype_t* ty = wasm_globaltype_new(wasm_valtype_new(kind), mut);
  wasm_global_t* g = wasm_global_new(store, ty, &val);
  wasm_globaltype_delete(ty);
  return g;
}

static double call_sum(wasm_func_t* sum) {
  wasm_val_t results[1] = {WASM_INIT_VAL};
  wasm_val_vec_t args = WASM_EMPTY_VEC, results_vec = WASM_ARRAY_VEC(results);
  if (wasm_func_call(sum, &args, &results_vec)) return -1;
  return results[0].of.f64;
}

int main(void) {
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_byte_vec_t binary;
  if (wasmjit_wat2wasm(WAT, strlen(WAT), &binary)) return 1;
  wasm_module_t* module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  if (!module) return 1;

  wasm_foreign_t* foreign = wasm_foreign_new(store);
  wasm_global_t* ci = make(store, WASM_I32, WASM_CONST, (wasm_val_t)WASM_I32_VAL(1));
  wasm_global_t* vi = make(store, WASM_I64, WASM_VAR, (wasm_val_t)WASM_I64_VAL(10));
  wasm_global_t* vf = make(store, WASM_F32, WASM_VAR, (wasm_val_t)WASM_F32_VAL(0.5f));
  wasm_global_t* ref =
      make(store, WASM_EXTERNREF, WASM_VAR, (wasm_val_t)WASM_REF_VAL(wasm_foreign_as_ref(foreign)));
  CHECK(ci && vi && vf && ref);
  /* A value of the wrong type is refused. */
  CHECK(!make(store, WASM_I32, WASM_CONST, (wasm_val_t)WASM_F64_VAL(1.0)));

  wasm_extern_t* externs[] = {wasm_global_as_extern(ci), wasm_global_as_extern(vi),
                              wasm_global_as_extern(vf), wasm_global_as_extern(ref)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(externs);
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, NULL);
  if (!instance) return 1;
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);
  wasm_global_t* cf = wasm_extern_as_global(exports.data[0]);
  wasm_global_t* ei = wasm_extern_as_global(exports.data[1]);
  wasm_global_t* fn = wasm_extern_as_global(exports.data[2]);
  wasm_func_t* sum = wasm_extern_as_func(exports.data[3]);
  wasm_func_t* bump = wasm_extern_as_func(exports.data[4]);

  wasm_globaltype_t* ty = wasm_global_type(cf);
  CHECK(wasm_globaltype_mutability(ty) == WASM_CONST);
  CHECK(wasm_valtype_kind(wasm_globaltype_content(ty)) == WASM_F64);
  wasm_globaltype_delete(ty);

  wasm_val_t v;
  wasm_global_get(cf, &v);
  CHECK(v.kind == WASM_F64 && v.of.f64 == 2.5);
  wasm_global_get(ref, &v);
  CHECK(v.kind == WASM_EXTERNREF && wasm_ref_same(v.of.ref, wasm_foreign_as_ref(foreign)));
  wasm_val_delete(&v);
  CHECK(call_sum(sum) == 1 + 10 + 0.5 + 7);

  /* C writes, wasm reads. */
  wasm_val_t nv = WASM_I64_VAL(20);
  wasm_global_set(vi, &nv);
  nv = (wasm_val_t)WASM_I32_VAL(8);
  wasm_global_set(ei, &nv);
  nv = (wasm_val_t)WASM_I32_VAL(99);
  wasm_global_set(ci, &nv); /* immutable: ignored */
  wasm_global_get(ci, &v);
  CHECK(v.of.i32 == 1);
  CHECK(call_sum(sum) == 1 + 20 + 0.5 + 8);

  /* wasm writes, C reads. */
  wasm_val_t args[1] = {WASM_I64_VAL(5)};
  wasm_val_vec_t args_vec = WASM_ARRAY_VEC(args), none = WASM_EMPTY_VEC;
  CHECK(!wasm_func_call(bump, &args_vec, &none));
  wasm_global_get(vi, &v);
  CHECK(v.kind == WASM_I64 && v.of.i64 == 25);
  wasm_global_get(vf, &v);
  CHECK(v.kind == WASM_F32 && v.of.f32 == 1.0f);
  wasm_global_get(ei, &v);
  CHECK(v.kind == WASM_I32 && v.of.i32 == 100);
  wasm_global_get(ref, &v);
  CHECK(v.kind == WASM_EXTERNREF && v.of.ref == NULL);
  wasm_global_get(fn, &v);
  CHECK(v.kind == WASM_FUNCREF && wasm_ref_same(v.of.ref, wasm_func_as_ref(sum)));
  wasm_val_delete(&v);

  printf("sum = %g\n", call_sum(sum));
  printf(failures ? "globals: %d checks failed\n" : "globals: all checks passed\n", failures);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_global_delete(ci);
  wasm_global_delete(vi);
  wasm_global_delete(vf);
  wasm_global_delete(ref);
  wasm_foreign_delete(foreign);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return failures != 0;
}
