#!/usr/bin/env bash
# Builds every benchmark kernel (benches/kernels/*.c) twice:
#   OUT/<name>.wasm  wasm32 module; imports its memory as env.memory and
#                    exports run, full_n, smoke_n (nothing else is imported)
#   OUT/<name>.so    native shared object exporting the same three symbols
# and the kernels of `memory64_kernels` a third time:
#   OUT/<name>.wasm64.wasm  the same module for wasm64 (a 64-bit env.memory), for
#                           the bench's memory64 measurement
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

# The memory-bound kernels a third and fourth time, for the bench's memory64
# table: OUT/<name>.wasm64.wasm (a 64-bit env.memory) and, for a fair
# comparison, OUT/<name>.wasm32-cc64.wasm, both with CC64 (default clang-19 and
# its wasm-ld-19: Debian's clang 14 and lld 14 crash on or miscompile several
# kernels for wasm64). Without CC64 they are not built, and the bench says so.
memory64_kernels=(apsp bytecopy matmul pointer_chase random_access sha256 sieve stencil)
cc64=${CC64:-clang-19}
if command -v "$cc64" > /dev/null; then
    ld64=()
    if command -v wasm-ld-19 > /dev/null && [ -z "${CC64:-}" ]; then
        ld64=(-fuse-ld="$(command -v wasm-ld-19)")
    fi
    for name in "${memory64_kernels[@]}"; do
        src="$script_dir/$name.c"
        [ -f "$src" ] || continue
        for target in wasm64 wasm32; do
            file="$name.wasm64.wasm"
            [ "$target" = wasm32 ] && file="$name.wasm32-cc64.wasm"
            "$cc64" "${common[@]}" "${wasm_flags[@]/--target=wasm32/--target=$target}" \
                -c -o "$out/$file.o" "$src"
            "$cc64" "${wasm_link_flags[@]/--target=wasm32/--target=$target}" "${ld64[@]}" \
                -o "$out/$file" "$out/$file.o"
            rm -f "$out/$file.o"
            "$checker" "$out/$file"
        done
        echo "built $name: $out/$name.wasm64.wasm $out/$name.wasm32-cc64.wasm"
    done
else
    echo "build.sh: $cc64 not found: the wasm64 kernels are not built"
fi
