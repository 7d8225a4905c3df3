#!/usr/bin/env bash
# Builds every benchmark kernel (benches/kernels/*.c) twice:
#   OUT/<name>.wasm  wasm32 module; imports its memory as env.memory and
#                    exports run, full_n, smoke_n (nothing else is imported)
#   OUT/<name>.so    native shared object exporting the same three symbols
#
# Usage: benches/kernels/build.sh [OUT_DIR]   (default: target/bench-kernels)
# Needs only clang and lld (wasm-ld).  CC overrides the compiler.  NATIVE_ARCH
# (default: the machine's, `uname -m`) is the architecture of the .so files;
# another one (aarch64 on x86-64, for the bench under QEMU) is cross-compiled
# with clang --target=ARCH-linux-gnu, which needs that target's gcc and libc
# (Debian: gcc-aarch64-linux-gnu libc6-dev-arm64-cross).
#
# The modules do not depend on what else is installed: each kernel is
# compiled to an object with -O2 and linked in a separate step without an
# optimisation flag, because clang runs binaryen's wasm-opt (when it is on
# PATH) on every wasm link with -O, and wasm-opt drops the memory import of
# kernels that never touch memory (fib).  The build then checks every module's
# interface (support/check_interface.c) and fails if it is not what the
# harness loads: env.memory imported, run, full_n and smoke_n exported.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/../.." && pwd)
out=${1:-"$repo_root/target/bench-kernels"}
mkdir -p "$out"
cc=${CC:-clang}

# Flags shared by both targets.  -ffp-contract=off keeps a*b+c as two
# rounded operations everywhere (no FMA), so floating-point checksums are
# identical between wasm and native on every host.
common=(-std=c11 -O2 -Wall -Wextra -ffreestanding -ffp-contract=off
        -fno-math-errno -I"$script_dir")

# Compiling (with the optimisation flags of `common`) ...
wasm_flags=(--target=wasm32 -mbulk-memory -msimd128)
# ... and linking, with no -O: see above.
wasm_link_flags=(--target=wasm32 -nostdlib
                 -Wl,--no-entry -Wl,--import-memory
                 -Wl,-z,stack-size=1048576 -Wl,--strip-debug)

native_flags=(-shared -fPIC -fvisibility=hidden)
native_arch=${NATIVE_ARCH:-$(uname -m)}
if [ "$native_arch" != "$(uname -m)" ]; then
    native_flags+=(--target="$native_arch-linux-gnu")
fi
case "$native_arch" in
    x86_64 | amd64) native_flags+=(-march=x86-64-v2) ;; # SSE4.1 for i32x4.mul
esac

# clang looks for `wasm-ld` on PATH; Debian's lld-NN packages may only
# install a versioned binary, so fall back to that when needed.
if ! command -v wasm-ld > /dev/null; then
    for ld in wasm-ld-{20,19,18,17,16,15,14}; do
        if command -v "$ld" > /dev/null; then
            wasm_link_flags+=(-fuse-ld="$(command -v "$ld")")
            break
        fi
    done
fi

shopt -s nullglob
sources=("$script_dir"/*.c)
if [ ${#sources[@]} -eq 0 ]; then
    echo "build.sh: no kernels found in $script_dir" >&2
    exit 1
fi

# The interface checker runs on the host.
checker="$out/check_interface"
"$cc" -O1 -Wall -Wextra -o "$checker" "$script_dir/support/check_interface.c"

for src in "${sources[@]}"; do
    name=$(basename "$src" .c)
    "$cc" "${common[@]}" "${wasm_flags[@]}" -c -o "$out/$name.wasm.o" "$src"
    "$cc" "${wasm_link_flags[@]}" -o "$out/$name.wasm" "$out/$name.wasm.o"
    rm -f "$out/$name.wasm.o"
    "$checker" "$out/$name.wasm"
    "$cc" "${common[@]}" "${native_flags[@]}" -o "$out/$name.so" "$src"
    echo "built $name: $out/$name.wasm $out/$name.so"
done
