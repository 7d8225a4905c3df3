/* A precompiled module: compiled in one store, written with wasm_module_serialize, the store
 * and module deleted, then loaded in a new store with wasm_module_deserialize (no compiling)
 * and called. A damaged artifact is refused with NULL, and so is one precompiled for another
 * architecture (wasmjit_config_target_set). Prints "run(32) = 42". */
#include <stdio.h>
#include <string.h>
#include "wasmjit.h"

static const char* WAT =
    "(module (import \"host\" \"ten\" (func $ten (result i32)))"
    "  (func (export \"run\") (param i32) (result i32)"
    "    (i32.add (local.get 0) (call $ten))))";

static wasm_trap_t* ten(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  (void)args;
  results->data[0] = (wasm_val_t)WASM_I32_VAL(10);
  return NULL;
}

int main(void) {
  wasm_engine_t* engine = wasm_engine_new();

  /* Compile and serialize in a first store, then drop both. */
  wasm_store_t* store1 = wasm_store_new(engine);
  wasm_byte_vec_t binary;
  if (wasmjit_wat2wasm(WAT, strlen(WAT), &binary)) return 1;
  wasm_module_t* module = wasm_module_new(store1, &binary);
  wasm_byte_vec_delete(&binary);
  if (!module) return 1;
  wasm_byte_vec_t artifact;
  wasm_module_serialize(module, &artifact);
  printf("serialized: %s\n", artifact.size > 0 ? "yes" : "no");
  wasm_module_delete(module);
  wasm_store_delete(store1);

  /* Load it in a second store. */
  wasm_store_t* store2 = wasm_store_new(engine);
  wasm_module_t* loaded = wasm_module_deserialize(store2, &artifact);
  if (!loaded) return 1;

  /* A flipped byte in the middle is caught. */
  wasm_byte_vec_t damaged;
  wasm_byte_vec_copy(&damaged, &artifact);
  damaged.data[damaged.size / 2] ^= 0x5a;
  wasm_module_t* refused = wasm_module_deserialize(store2, &damaged);
  printf("damaged artifact: %s\n", refused ? "loaded" : "refused");
  wasm_module_delete(refused);
  wasm_byte_vec_delete(&damaged);
  wasm_byte_vec_delete(&artifact);

  /* An engine for the other architecture precompiles; this machine's engine refuses that. */
  wasm_config_t* config = wasm_config_new();
#if defined(__aarch64__)
  const char* other = "x86_64-unknown-linux-gnu";
#else
  const char* other = "aarch64-unknown-linux-gnu";
#endif
  wasmjit_error_t* err = wasmjit_config_target_set(config, "sparc-unknown-linux-gnu");
  printf("sparc target: %s\n", err ? "refused" : "accepted");
  wasmjit_error_delete(err);
  if (wasmjit_config_target_set(config, other)) return 1;
  wasm_engine_t* cross = wasm_engine_new_with_config(config);
  wasm_store_t* cross_store = wasm_store_new(cross);
  if (wasmjit_wat2wasm(WAT, strlen(WAT), &binary)) return 1;
  wasm_module_t* foreign = wasm_module_new(cross_store, &binary);
  wasm_byte_vec_delete(&binary);
  if (!foreign) return 1;
  wasm_byte_vec_t foreign_artifact;
  wasm_module_serialize(foreign, &foreign_artifact);
  wasm_module_t* foreign_loaded = wasm_module_deserialize(store2, &foreign_artifact);
  printf("artifact for the other architecture: %s\n", foreign_loaded ? "loaded" : "refused");
  wasm_module_delete(foreign_loaded);
  wasm_byte_vec_delete(&foreign_artifact);
  wasm_module_delete(foreign);
  wasm_store_delete(cross_store);
  wasm_engine_delete(cross);

  wasm_functype_t* ty = wasm_functype_new_0_1(wasm_valtype_new_i32());
  wasm_func_t* host = wasm_func_new(store2, ty, ten);
  wasm_functype_delete(ty);
  wasm_extern_t* imports[] = {wasm_func_as_extern(host)};
  wasm_extern_vec_t import_vec = WASM_ARRAY_VEC(imports);
  wasm_instance_t* instance = wasm_instance_new(store2, loaded, &import_vec, NULL);
  if (!instance) return 1;
  wasm_extern_vec_t exports;
  wasm_instance_exports(instance, &exports);

  wasm_val_t args[1] = {WASM_I32_VAL(32)};
  wasm_val_t results[1] = {WASM_INIT_VAL};
  wasm_val_vec_t args_vec = WASM_ARRAY_VEC(args);
  wasm_val_vec_t results_vec = WASM_ARRAY_VEC(results);
  if (wasm_func_call(wasm_extern_as_func(exports.data[0]), &args_vec, &results_vec)) return 1;
  printf("run(32) = %d\n", results[0].of.i32);

  wasm_extern_vec_delete(&exports);
  wasm_instance_delete(instance);
  wasm_func_delete(host);
  wasm_module_delete(loaded);
  wasm_store_delete(store2);
  wasm_engine_delete(engine);
  return 0;
}
