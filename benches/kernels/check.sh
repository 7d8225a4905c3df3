#!/usr/bin/env bash
# Verifies the benchmark kernels: builds them into a temporary directory,
# checks that each .wasm imports only env.memory and exports run, full_n
# and smoke_n, then runs every kernel in Node (benches/node/driver.mjs) and
# natively (support/native_run.c) and compares the checksums.
#
# Usage: benches/kernels/check.sh [smoke|full] [runs]
#   smoke (default)  CI-sized runs; full  benchmark-sized runs, and prints
#   the median native and node run times.
# Needs clang, lld, a host C compiler (clang is used) and node >= 18.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$script_dir/../.." && pwd)
size=${1:-smoke}
runs=${2:-1}
case "$size" in
    smoke | full) ;;
    *) echo "usage: $0 [smoke|full] [runs]" >&2; exit 2 ;;
esac

driver="$repo_root/benches/node/driver.mjs"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$script_dir/build.sh" "$tmp" > /dev/null
"${CC:-clang}" -O2 -o "$tmp/native_run" "$script_dir/support/native_run.c" -ldl

# Pulls a scalar field (number or string) out of a runner's one-line JSON.
json_field() {
    sed -n 's/.*"'"$2"'": *"\{0,1\}\([0-9]*\).*/\1/p' <<< "$1"
}

# Median of the run_ns array in a runner's one-line JSON.
median_run_ns() {
    sed -n 's/.*"run_ns": *\[\([^]]*\)\].*/\1/p' <<< "$1" | tr ',' '\n' |
        sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# Fails unless the module's interface is exactly what the harness expects.
check_interface() {
    node -e '
        const bytes = require("fs").readFileSync(process.argv[1]);
        const m = new WebAssembly.Module(bytes);
        const imports = WebAssembly.Module.imports(m)
            .map((i) => `${i.module}.${i.name}:${i.kind}`);
        const exports = WebAssembly.Module.exports(m)
            .map((e) => `${e.name}:${e.kind}`).sort();
        const want = ["full_n:function", "run:function", "smoke_n:function"];
        if (imports.join() !== "env.memory:memory")
            throw new Error(`unexpected imports: ${imports.join(", ")}`);
        if (exports.join() !== want.join())
            throw new Error(`unexpected exports: ${exports.join(", ")}`);
    ' "$1"
}

ms() { awk -v ns="$1" 'BEGIN { printf "%.1f ms", ns / 1e6 }'; }

failed=0
for wasm in "$tmp"/*.wasm; do
    name=$(basename "$wasm" .wasm)
    if ! check_interface "$wasm"; then
        echo "$name: FAIL bad module interface"
        failed=1
        continue
    fi
    if ! native=$("$tmp/native_run" "$tmp/$name.so" "$size" "$runs"); then
        echo "$name: FAIL native run"
        failed=1
        continue
    fi
    if ! wasm_out=$(node "$driver" "$wasm" auto "$size" "$runs"); then
        echo "$name: FAIL node run"
        failed=1
        continue
    fi
    want=$(json_field "$native" checksum)
    got=$(json_field "$wasm_out" checksum)
    if [ -z "$want" ] || [ "$want" != "$got" ]; then
        echo "$name: FAIL native $want, node $got"
        failed=1
        continue
    fi
    line="$name: OK $want"
    if [ "$size" = full ]; then
        n=$(json_field "$native" n)
        line+=" (n=$n, native $(ms "$(median_run_ns "$native")")"
        line+=", node $(ms "$(median_run_ns "$wasm_out")"))"
    fi
    echo "$line"
done
exit "$failed"
