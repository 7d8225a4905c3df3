/* Start functions: one that calls the host when the module is instantiated, one that traps,
 * whose trap wasm_instance_new hands back (and no instance), and a link error (an import of
 * the wrong type), also reported through the trap out-parameter. */
#include <stdio.h>
#include <string.h>
#include "wasmjit.h"

static int started = 0;

static wasm_trap_t* hello(const wasm_val_vec_t* args, wasm_val_vec_t* results) {
  (void)args;
  (void)results;
  started++;
  return NULL;
}

/* Instantiates `wat` with `imports`; prints the trap's message if it fails. */
static void instantiate(wasm_store_t* store, const char* what, const char* wat,
                        wasm_extern_vec_t* imports) {
  wasm_byte_vec_t binary;
  if (wasmjit_wat2wasm(wat, strlen(wat), &binary)) return;
  wasm_module_t* module = wasm_module_new(store, &binary);
  wasm_byte_vec_delete(&binary);
  wasm_trap_t* trap = NULL;
  wasm_instance_t* instance = wasm_instance_new(store, module, imports, &trap);
  if (instance) {
    printf("%s: instantiated, trap %s\n", what, trap ? "set" : "NULL");
  } else {
    wasm_message_t msg;
    wasm_trap_message(trap, &msg);
    printf("%s: no instance, trap: %s\n", what, msg.data);
    wasm_name_delete(&msg);
  }
  wasm_trap_delete(trap);
  wasm_instance_delete(instance);
  wasm_module_delete(module);
}

int main(void) {
  wasm_engine_t* engine = wasm_engine_new();
  wasm_store_t* store = wasm_store_new(engine);
  wasm_functype_t* ty = wasm_functype_new_0_0();
  wasm_func_t* host = wasm_func_new(store, ty, hello);
  wasm_functype_delete(ty);
  wasm_extern_t* externs[] = {wasm_func_as_extern(host)};
  wasm_extern_vec_t imports = WASM_ARRAY_VEC(externs);

  instantiate(store, "calls host",
              "(module (import \"\" \"hello\" (func $h)) (start $h))", &imports);
  printf("host called %d time(s) by start\n", started);
  instantiate(store, "traps",
              "(module (import \"\" \"hello\" (func $h))"
              "  (func $start (call $h) (unreachable)) (start $start))",
              &imports);
  printf("host called %d time(s) by start\n", started);
  instantiate(store, "wrong import",
              "(module (import \"\" \"hello\" (func (param i32))))", &imports);

  wasm_func_delete(host);
  wasm_store_delete(store);
  wasm_engine_delete(engine);
  return 0;
}
