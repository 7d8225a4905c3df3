/* Lua's error handling for wasm32-wasi without setjmp.
 *
 * Debian's wasi-libc (2022) has no <setjmp.h>, and its replacement (LLVM's -wasm-enable-sjlj)
 * needs wasm exception handling, which wasmjit does not compile yet. ldo.c includes this
 * header (it is first on the include path of the wasm build only) before it chooses its
 * LUAI_THROW/LUAI_TRY, so the choice made here wins: a protected call runs its body directly,
 * and raising an error prints the error object and ends the program with status 1 (lua.c's
 * message and status for an uncaught error). So a script that raises no error, or only
 * errors that end it, runs as natively; `pcall` catching an error is what this cannot do. */
#ifndef LUA_WASI_SETJMP_H
#define LUA_WASI_SETJMP_H

struct lua_State;

/* Prints the error object on top of L's stack and exits with status 1 (lua_driver.c). */
_Noreturn void lua_wasi_throw(struct lua_State *L);

#define LUAI_THROW(L, c) ((void)(c), lua_wasi_throw(L))
#define LUAI_TRY(L, c, a) { a }
#define luai_jmpbuf int

#endif
