/* Lua 5.4: a standalone interpreter (lua-src ships the core and the standard libraries but
 * not lua.c): runs the script named by the first argument with the others in the global
 * `arg`, as `lua SCRIPT ARGS...` does, and reports an uncaught error on stderr with status 1.
 * Built for wasm32-wasi with lua-wasi/setjmp.h (see there) and natively with setjmp. */
#include <stdio.h>
#include <stdlib.h>
#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

static void report(lua_State *L) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "lua: %s\n", msg ? msg : "(error object is not a string)");
    fflush(stdout);
}

#ifdef __wasi__
_Noreturn void lua_wasi_throw(lua_State *L) {
    report(L);
    exit(1);
}
#endif

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRIPT [ARGS...]\n", argv[0]);
        return 2;
    }
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    lua_createtable(L, argc - 2, 2);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - 1);
    }
    lua_setglobal(L, "arg");
    int status = luaL_loadfile(L, argv[1]);
    if (status == LUA_OK) {
        for (int i = 2; i < argc; i++)
            lua_pushstring(L, argv[i]);
        status = lua_pcall(L, argc - 2, 0, 0);
    }
    if (status != LUA_OK)
        report(L);
    lua_close(L);
    return status == LUA_OK ? 0 : 1;
}
