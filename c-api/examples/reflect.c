/* Reflection: a module's imports and exports with their types (wasm_module_imports/exports,
 * the externtype conversions and accessors), and an instance's exports' current types, which
 * for a grown memory differ from the module's. Prints lines such as
 * `export "f": func (i32 f64) -> (i64)`. */
#include <stdio.h>
#include <string.h>
#include "wasmjit.h"

static const char* WAT =
    "(module"
    "  (import \"env\" \"log\" (func (param i32)))"
    "  (import \"env\" \"limit\" (global i64))"
    "  (func (export \"f\") (param i32 f64) (result i64) (i64.const 0))"
    "  (global (export \"counter\") (mut f32) (f32.const 0))"
    "  (table (export \"table\") 1 8 externref)"
    "  (memory (export \"memory\") 1)"
    "  (func (export \"grow\") (drop (memory.grow (i32.const 2)))))";

static const char* valtype(const wasm_valtype_t* t) {
  switch (wasm_valtype_kind(t)) {
    case WASM_I32: return "i32";
    case WASM_I64: return "i64";
    case WASM_F32: return "f32";
    case WASM_F64: return "f64";
    case WASM_EXTERNREF: return "externref";
    case WASM_FUNCREF: return "funcref";
  }
  return "?";
}

static wasm_trap_t* ignore(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  (void)args;
  (void)results;
  return NULL;
}

static void valtypes(const wasm_valtype_vec_t* ts) {
  printf("(");
  for (size_t i = 0; i < ts->size; i++) printf(i ? " %s" : "%s", valtype(ts->data[i]));
  printf(")");
}

static void limits(const wasm_limits_t* l) {
  printf("%u", l->min);
  if (l->max != wasm_limits_max_default) printf("..%u", l->max);
}

static void externtype(const wasm_externtype_t* t) {
  switch (wasm_externtype_kind(t)) {
    case WASM_EXTERN_FUNC: {
      const wasm_functype_t* f = wasm_externtype_as_functype_const(t);
      printf("func ");
      valtypes(wasm_functype_params(f));
      printf(" -> ");
      valtypes(wasm_functype_results(f));
    } break;
    case WASM_EXTERN_GLOBAL: {
      const wasm_globaltype_t* g = wasm_externtype_as_globaltype_const(t);
      printf("global %s %s", wasm_globaltype_mutability(g) == WASM_VAR ? "var" : "const",
             valtype(wasm_globaltype_content(g)));
    } break;
    case WASM_EXTERN_TABLE: {
      const wasm_tabletype_t* tt = wasm_externtype_as_tabletype_const(t);
      printf("table ");
      limits(wasm_tabletype_limits(tt));
      printf(" %s", valtype(wasm_tabletype_element(tt)));
    } break;
    case WASM_EXTERN_MEMORY:
      printf("memory ");
      limits(wasm_memorytype_limits(wasm_externtype_as_memorytype_const(t)));
      break;
  }
  printf("\n");
}

int main(void) {
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_byte_vec_t binary;
  if (wasmjit_wat2wasm(WAT, strlen(WAT), &binary)) return 1;
  wasm_module_t* module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  if (!module) return 1;

  wasm_importtype_vec_t imports;
  wasm_module_imports(module, &imports);
  for (size_t i = 0; i < imports.size; i++) {
    const wasm_name_t* m = wasm_importtype_module(imports.data[i]);
    const wasm_name_t* n = wasm_importtype_name(imports.data[i]);
    printf("import \"%.*s\" \"%.*s\": ", (int)m->size, m->data, (int)n->size, n->data);
    externtype(wasm_importtype_type(imports.data[i]));
  }
  wasm_importtype_vec_delete(&imports);

  wasm_exporttype_vec_t exports;
  wasm_module_exports(module, &exports);
  for (size_t i = 0; i < exports.size; i++) {
    const wasm_name_t* n = wasm_exporttype_name(exports.data[i]);
    printf("export \"%.*s\": ", (int)n->size, n->data);
    externtype(wasm_exporttype_type(exports.data[i]));
  }

  /* An instance's exports have their current types: grow the memory and look again. */
  wasm_functype_t* log_ty = wasm_functype_new_1_0(wasm_valtype_new_i32());
  wasm_func_t* log = wasm_func_new(store, log_ty, ignore);
  wasm_functype_delete(log_ty);
  wasm_globaltype_t* limit_ty = wasm_globaltype_new(wasm_valtype_new_i64(), WASM_CONST);
  wasm_val_t limit_val = WASM_I64_VAL(3);
  wasm_global_t* limit = wasm_global_new(store, limit_ty, &limit_val);
  wasm_globaltype_delete(limit_ty);
  wasm_extern_t* externs[] = {wasm_func_as_extern(log), wasm_global_as_extern(limit)};
  wasm_extern_vec_t import_vec = WASM_ARRAY_VEC(externs);
  wasm_instance_t* instance = wasm_instance_new(store, module, &import_vec, NULL);
  if (!instance) return 1;
  wasm_extern_vec_t values;
  wasm_instance_exports(instance, &values);
  wasm_val_vec_t none = WASM_EMPTY_VEC, no_results = WASM_EMPTY_VEC;
  if (wasm_func_call(wasm_extern_as_func(values.data[4]), &none, &no_results)) return 1;
  const wasm_name_t* n = wasm_exporttype_name(exports.data[3]);
  wasm_externtype_t* now = wasm_extern_type(values.data[3]);
  printf("after grow, \"%.*s\": ", (int)n->size, n->data);
  externtype(now);
  wasm_externtype_delete(now);

  wasm_extern_vec_delete(&values);
  wasm_exporttype_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_global_delete(limit);
  wasm_func_delete(log);
  wasm_module_delete(module);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
