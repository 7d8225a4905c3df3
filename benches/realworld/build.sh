#!/usr/bin/env bash
# Builds the real programs of benches/realworld for wasm32-wasi (clang + wasi-libc) and
# natively (cc), from sources that crates.io packages ship:
#   zlib   (crate libz-sys, src/zlib) with zlib_driver.c     -> OUT/zlib.{wasm,native}
#   sqlite (crate libsqlite3-sys, sqlite3/) with sqlite_driver.c -> OUT/sqlite.{wasm,native}
# Usage: build.sh OUT [PROGRAM...]   (default: zlib sqlite). Needs cargo, clang, cc and
# wasi-libc (`apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32`). Lua 5.4 and
# QuickJS are not here yet (Lua needs setjmp, which this wasi-libc lacks).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:?usage: build.sh OUT [PROGRAM...]}"
shift
programs=("$@")
if [ ${#programs[@]} -eq 0 ]; then programs=(zlib sqlite); fi
mkdir -p "$out/fetch/src"
out="$(cd "$out" && pwd)"

# The sources: a throwaway package depending on the crates, fetched (not built) by cargo.
cat > "$out/fetch/Cargo.toml" <<TOML
[package]
name = "realworld-sources"
version = "0.0.0"
edition = "2021"
[dependencies]
libz-sys = "=1.1.33"
libsqlite3-sys = "=0.35.0"
[workspace]
TOML
echo "fn main() {}" > "$out/fetch/src/main.rs"
manifests=$(cargo metadata --format-version 1 --manifest-path "$out/fetch/Cargo.toml" \
    | tr ',' '\n' | sed -n 's/.*"manifest_path":"\(.*\)\/Cargo.toml".*/\1/p')
crate_dir() { echo "$manifests" | grep "/$1-[0-9][^/]*$" | head -n 1; }

# Builds $1 (name) from the remaining arguments (C sources) and its driver with the flags in
# `flags`, for wasm and natively, unless both outputs are newer than the driver.
build() {
    local name="$1" driver="$here/$1_driver.c"
    shift
    if [ "$out/$name.wasm" -nt "$driver" ] && [ "$out/$name.native" -nt "$driver" ]; then
        return
    fi
    # Compiled and linked apart: with -O at link time clang would run wasm-opt when binaryen
    # is installed.
    local objs=() src
    mkdir -p "$out/obj-$name"
    for src in "$@" "$driver"; do
        clang --target=wasm32-wasi -O2 -w "${flags[@]}" -c "$src" \
            -o "$out/obj-$name/$(basename "$src" .c).o"
        objs+=("$out/obj-$name/$(basename "$src" .c).o")
    done
    clang --target=wasm32-wasi "${objs[@]}" -o "$out/$name.wasm" -Wl,-z,stack-size=1048576
    cc -O2 -w "${flags[@]}" "$@" "$driver" -o "$out/$name.native" -lm
}

for program in "${programs[@]}"; do
    case "$program" in
    zlib)
        z="$(crate_dir libz-sys)/src/zlib"
        flags=(-I"$z" -DHAVE_UNISTD_H)
        build zlib "$z"/{adler32,compress,crc32,deflate,gzclose,gzlib,gzread,gzwrite,infback,inffast,inflate,inftrees,trees,uncompr,zutil}.c
        ;;
    sqlite)
        s="$(crate_dir libsqlite3-sys)/sqlite3"
        flags=(-I"$s" -DSQLITE_THREADSAFE=0 -DSQLITE_OMIT_LOAD_EXTENSION)
        build sqlite "$s/sqlite3.c"
        ;;
    *)
        echo "build.sh: unknown program $program" >&2
        exit 2
        ;;
    esac
done
