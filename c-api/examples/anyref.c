/* Internal references (Wasm GC) through wasmjit.h: structs, arrays and i31s cross the C API
 * as values of kind WASMJIT_ANYREF; the host reads and writes their fields, makes i31s, and
 * a host callback gets and returns a struct. Prints "anyref: all checks passed". */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "wasmjit.h"

static const char* WAT =
    "(module"
    "  (type $point (struct (field $x (mut i32)) (field $tag i8)))"
    "  (type $shorts (array (mut i16)))"
    "  (import \"\" \"bump\" (func $bump (param anyref) (result anyref)))"
    "  (func (export \"point\") (param i32) (result anyref)"
    "    (struct.new $point (local.get 0) (i32.const -1)))"
    "  (func (export \"x\") (param anyref) (result i32)"
    "    (struct.get $point $x (ref.cast (ref $point) (local.get 0))))"
    "  (func (export \"shorts\") (param i32) (result (ref $shorts))"
    "    (array.new_default $shorts (local.get 0)))"
    "  (func (export \"bumped\") (param i32) (result i32)"
    "    (struct.get $point $x (ref.cast (ref $point)"
    "      (call $bump (struct.new $point (local.get 0) (i32.const 0))))))"
    "  (func (export \"i31\") (param i31ref) (result i32) (i31.get_s (local.get 0))))";

static int failures = 0;
#define CHECK(cond)                                          \
  do {                                                       \
    if (!(cond)) {                                           \
      printf("FAILED line %d: %s\n", __LINE__, #cond);      \
      failures++;                                            \
    }                                                        \
  } while (0)

/* Whether `e` is no error; deletes it. */
static int ok(wasmjit_error_t* e) {
  if (!e) return 1;
  wasmjit_error_delete(e);
  return 0;
}

/* The host import: adds 100 to field x of the struct it gets and returns the struct. */
static wasm_trap_t* bump(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  const wasm_ref_t* point = args->data[0].of.ref;
  wasm_val_t x;
  if (args->data[0].kind == WASMJIT_ANYREF && point &&
      ok(wasmjit_anyref_struct_get(point, 0, &x))) {
    wasm_val_t bumped = WASM_I32_VAL(x.of.i32 + 100);
    CHECK(ok(wasmjit_anyref_struct_set(point, 0, &bumped)));
  } else {
    failures++;
  }
  wasm_val_copy(&results->data[0], &args->data[0]);
  return NULL;
}

static wasm_extern_vec_t exports;

/* Calls export `i` with one argument and returns its one result (own). */
static wasm_val_t call(size_t i, wasm_val_t arg) {
  wasm_val_t args[1] = {arg};
  wasm_val_t results[1] = {WASM_INIT_VAL};
  wasm_val_vec_t args_vec = WASM_ARRAY_VEC(args), results_vec = WASM_ARRAY_VEC(results);
  wasm_trap_t* trap = wasm_func_call(wasm_extern_as_func(exports.data[i]), &args_vec, &results_vec);
  CHECK(trap == NULL);
  wasm_trap_delete(trap);
  return results[0];
}

int main(void) {
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_byte_vec_t binary;
  if (wasmjit_wat2wasm(WAT, strlen(WAT), &binary)) return 1;
  wasm_module_t* module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  if (!module) return 1;

  /* Reflection: anyref-hierarchy types report WASMJIT_ANYREF. */
  wasm_importtype_vec_t imports_ty;
  wasm_module_imports(module, &imports_ty);
  const wasm_functype_t* bump_ty =
      wasm_externtype_as_functype_const(wasm_importtype_type(imports_ty.data[0]));
  CHECK(wasm_valtype_kind(wasm_functype_params(bump_ty)->data[0]) == WASMJIT_ANYREF);
  wasm_importtype_vec_delete(&imports_ty);

  wasm_valtype_t* anyref = wasm_valtype_new(WASMJIT_ANYREF);
  wasm_functype_t* ty = wasm_functype_new_1_1(anyref, wasm_valtype_new(WASMJIT_ANYREF));
  wasm_func_t* host = wasm_func_new(store, ty, bump);
  wasm_functype_delete(ty);
  wasm_extern_t* externs[] = {wasm_func_as_extern(host)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(externs);
  wasm_instance_t* instance = wasm_instance_new(store, module, &imports, NULL);
  if (!instance) return 1;
  wasm_instance_exports(instance, &exports);

  /* A struct made by wasm: fields read and written by the host, seen by wasm. */
  wasm_val_t point = call(0, (wasm_val_t)WASM_I32_VAL(7));
  CHECK(point.kind == WASMJIT_ANYREF && point.of.ref != NULL);
  CHECK(wasmjit_anyref_is_struct(point.of.ref) && !wasmjit_anyref_is_array(point.of.ref));
  wasm_val_t field;
  CHECK(ok(wasmjit_anyref_struct_get(point.of.ref, 0, &field)) && field.of.i32 == 7);
  CHECK(ok(wasmjit_anyref_struct_get(point.of.ref, 1, &field)) && field.of.i32 == 255);
  CHECK(!ok(wasmjit_anyref_struct_get(point.of.ref, 2, &field)));
  wasm_val_t value = WASM_I32_VAL(42);
  CHECK(ok(wasmjit_anyref_struct_set(point.of.ref, 0, &value)));
  CHECK(!ok(wasmjit_anyref_struct_set(point.of.ref, 1, &value)));
  wasm_val_t wrong = WASM_I64_VAL(1);
  CHECK(!ok(wasmjit_anyref_struct_set(point.of.ref, 0, &wrong)));
  wasm_val_t x = call(1, point);
  CHECK(x.of.i32 == 42);
  printf("struct: x = %d\n", x.of.i32);
  wasm_val_delete(&point);

  /* An array. */
  wasm_val_t shorts = call(2, (wasm_val_t)WASM_I32_VAL(3));
  uint32_t len = 0;
  CHECK(ok(wasmjit_anyref_array_len(shorts.of.ref, &len)) && len == 3);
  value.of.i32 = 0x1ffff;
  CHECK(ok(wasmjit_anyref_array_set(shorts.of.ref, 2, &value)));
  CHECK(ok(wasmjit_anyref_array_get(shorts.of.ref, 2, &field)) && field.of.i32 == 0xffff);
  CHECK(!ok(wasmjit_anyref_array_get(shorts.of.ref, 3, &field)));
  printf("array: %u elements, last 0x%x\n", len, (unsigned)field.of.i32);
  wasm_val_delete(&shorts);

  /* A host callback gets a struct, changes it, and returns it to wasm. */
  wasm_val_t bumped = call(3, (wasm_val_t)WASM_I32_VAL(5));
  CHECK(bumped.of.i32 == 105);
  printf("bumped: %d\n", bumped.of.i32);

  /* i31s made by the host. */
  wasm_val_t i31 = {.kind = WASMJIT_ANYREF, .of = {.ref = wasmjit_anyref_from_i31(store, 0x7fffffff)}};
  int32_t s = 0;
  CHECK(wasmjit_anyref_i31_get_s(i31.of.ref, &s) && s == -1);
  CHECK(!wasmjit_anyref_is_struct(i31.of.ref));
  wasm_val_t got = call(4, i31);
  CHECK(got.of.i32 == -1);
  wasm_val_delete(&i31);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_func_delete(host);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  if (failures) return 1;
  printf("anyref: all checks passed\n");
  return 0;
}
