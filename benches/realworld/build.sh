#!/usr/bin/env bash
# Builds the real programs of benches/realworld for wasm32-wasi and natively, from sources
# that registry packages ship (fetched by cargo, not built), each with a driver of ours:
#   zlib    crate libz-sys (src/zlib) + zlib_driver.c                 -> OUT/zlib.{wasm,native}
#   sqlite  crate libsqlite3-sys (sqlite3/) + sqlite_driver.c        -> OUT/sqlite.{wasm,native}
#   lua     crate lua-src (lua-5.4.9) + lua_driver.c, runs bench.lua -> OUT/lua.{wasm,native}
#   quickjs crate rquickjs-sys (quickjs-ng and its qjs), runs bench.js -> OUT/quickjs.{wasm,native}
#   rust    rust/ (a Cargo package) for wasm32-wasip1                -> OUT/rust.{wasm,native}
#   threads threads/ (a Cargo package starting threads) for wasm32-wasip1-threads
#                                                                    -> OUT/threads.{wasm,native}
# Usage: build.sh OUT [PROGRAM...]   (default: all six). A program is rebuilt only when a
# file of ours it is made from (driver, this script) is newer than its outputs. Needs cargo,
# clang, cc and wasi-libc (`apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32`);
# adds rustup's wasm32-wasip1 and wasm32-wasip1-threads targets when they are missing. Compiles on every core.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: build.sh OUT [PROGRAM...]}"
shift
programs=("$@")
if [ ${#programs[@]} -eq 0 ]; then programs=(zlib sqlite lua quickjs rust threads); fi
mkdir -p "$out/fetch/src"
out="$(cd "$out" && pwd)"
jobs=$(nproc 2> /dev/null || echo 2)

# The sources: a throwaway package depending on the crates, fetched (not built) by cargo.
cat > "$out/fetch/Cargo.toml" << TOML
[package]
name = "realworld-sources"
version = "0.0.0"
edition = "2021"
[dependencies]
libz-sys = "=1.1.33"
libsqlite3-sys = "=0.35.0"
lua-src = "=551.1.0"
rquickjs-sys = "=0.14.0"
[workspace]
TOML
echo "fn main() {}" > "$out/fetch/src/main.rs"
manifests=$(cargo metadata --format-version 1 --manifest-path "$out/fetch/Cargo.toml" \
    | tr ',' '\n' | sed -n 's/.*"manifest_path":"\(.*\)\/Cargo.toml".*/\1/p')
crate_dir() { echo "$manifests" | grep "/$1-[0-9][^/]*$" | head -n 1; }

# Whether OUT/$1.wasm and OUT/$1.native are both newer than every later argument.
fresh() {
    local name="$1" file
    shift
    for file in "$@" "$here/build.sh"; do
        if ! [ "$out/$name.wasm" -nt "$file" ] || ! [ "$out/$name.native" -nt "$file" ]; then
            return 1
        fi
    done
}

# Runs the commands of the array `commands`, up to $jobs at once; fails if one fails.
run_all() {
    local command running=0 failed=0
    for command in "${commands[@]}"; do
        if [ "$running" -ge "$jobs" ]; then
            wait -n || failed=1
            running=$((running - 1))
        fi
        bash -c "$command" &
        running=$((running + 1))
    done
    while [ "$running" -gt 0 ]; do
        wait -n || failed=1
        running=$((running - 1))
    done
    return "$failed"
}

# Builds the C program $1 from the remaining arguments (C sources) for wasm and natively:
# every source compiled apart (in parallel, wasm and native together) with `flags` (both),
# `wasm_flags` and `native_flags`, then linked with `wasm_link` and `native_link`. Linked
# without -O: at link time clang would run wasm-opt when binaryen is installed.
build_c() {
    local name="$1" src obj
    shift
    commands=()
    local wasm_objs=() native_objs=()
    mkdir -p "$out/obj-$name/wasm" "$out/obj-$name/native"
    for src in "$@"; do
        obj="$(basename "$src" .c).o"
        commands+=("clang --target=wasm32-wasi -O2 -w ${flags[*]} ${wasm_flags[*]} -c '$src' -o '$out/obj-$name/wasm/$obj'")
        commands+=("cc -O2 -w ${flags[*]} ${native_flags[*]} -c '$src' -o '$out/obj-$name/native/$obj'")
        wasm_objs+=("$out/obj-$name/wasm/$obj")
        native_objs+=("$out/obj-$name/native/$obj")
    done
    run_all
    clang --target=wasm32-wasi "${wasm_objs[@]}" -o "$out/$name.wasm" "${wasm_link[@]}"
    cc "${native_objs[@]}" -o "$out/$name.native" "${native_link[@]}"
}

for program in "${programs[@]}"; do
    wasm_flags=()
    native_flags=()
    wasm_link=(-Wl,-z,stack-size=1048576)
    native_link=(-lm)
    case "$program" in
    zlib)
        fresh zlib "$here/zlib_driver.c" && continue
        z="$(crate_dir libz-sys)/src/zlib"
        flags=(-I"$z" -DHAVE_UNISTD_H)
        build_c zlib "$here/zlib_driver.c" \
            "$z"/{adler32,compress,crc32,deflate,gzclose,gzlib,gzread,gzwrite,infback,inffast,inflate,inftrees,trees,uncompr,zutil}.c
        ;;
    sqlite)
        fresh sqlite "$here/sqlite_driver.c" && continue
        s="$(crate_dir libsqlite3-sys)/sqlite3"
        flags=(-I"$s" -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION)
        build_c sqlite "$s/sqlite3.c" "$here/sqlite_driver.c"
        ;;
    lua)
        fresh lua "$here/lua_driver.c" "$here/lua-wasi/setjmp.h" && continue
        l="$(crate_dir lua-src)/lua-5.4.9"
        flags=(-I"$l")
        # No setjmp in wasi-libc: lua-wasi/setjmp.h says how errors end the program instead.
        wasm_flags=(-I"$here/lua-wasi" -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_PROCESS_CLOCKS)
        wasm_link+=(-lwasi-emulated-signal -lwasi-emulated-process-clocks)
        native_flags=(-DLUA_USE_POSIX)
        build_c lua "$here/lua_driver.c" "$l"/l*.c
        ;;
    quickjs)
        fresh quickjs && continue
        q="$(crate_dir rquickjs-sys)/quickjs"
        flags=(-I"$q" -D_GNU_SOURCE -DQJS_BUILD_LIBC)
        wasm_flags=(-D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_PROCESS_CLOCKS)
        # QuickJS turns its own stack check off on WASI: it needs a large wasm stack.
        wasm_link=(-Wl,-z,stack-size=8388608 -lwasi-emulated-signal -lwasi-emulated-process-clocks)
        native_link=(-lm -lpthread -ldl)
        build_c quickjs "$q"/{dtoa,libregexp,libunicode,quickjs,quickjs-libc,qjs,gen/repl,gen/standalone}.c
        ;;
    rust)
        if command -v rustup > /dev/null && ! rustup target list --installed | grep -qx wasm32-wasip1; then
            rustup target add wasm32-wasip1
        fi
        manifest="$here/rust/Cargo.toml"
        cargo build --quiet --release --manifest-path "$manifest" --target-dir "$out/rust-target" \
            --target wasm32-wasip1
        cargo build --quiet --release --manifest-path "$manifest" --target-dir "$out/rust-target"
        cp "$out/rust-target/wasm32-wasip1/release/realworld-rust.wasm" "$out/rust.wasm"
        cp "$out/rust-target/release/realworld-rust" "$out/rust.native"
        ;;
    threads)
        if command -v rustup > /dev/null && ! rustup target list --installed | grep -qx wasm32-wasip1-threads; then
            rustup target add wasm32-wasip1-threads
        fi
        manifest="$here/threads/Cargo.toml"
        cargo build --quiet --release --manifest-path "$manifest" --target-dir "$out/threads-target" \
            --target wasm32-wasip1-threads
        cargo build --quiet --release --manifest-path "$manifest" --target-dir "$out/threads-target"
        cp "$out/threads-target/wasm32-wasip1-threads/release/realworld-threads.wasm" "$out/threads.wasm"
        cp "$out/threads-target/release/realworld-threads" "$out/threads.native"
        ;;
    *)
        echo "build.sh: unknown program $program" >&2
        exit 2
        ;;
    esac
done
