#!/usr/bin/env bash
# Counts the instructions one call of each kernel's run(n) executes, per engine, with
# valgrind's callgrind: wall-clock-free evidence for code-generation changes on a busy
# machine. Prints a table of counts and the ratios wasmjit/wasmtime and wasmjit/native.
#
# Usage: benches/instructions.sh [--smoke] [--kernels a,b] [--engines wasmjit,wasmtime,native]
#                                [--over ENGINE]
#        benches/instructions.sh --compile [--kernels sqlite,lua] [--engines wasmjit,wasmtime]
#   --smoke    the kernels' smoke sizes (seconds per kernel; counts dominated by short loops)
#              instead of their full sizes (about a minute per kernel and engine)
#   --kernels  a subset of the kernels (default: all)
#   --engines  the engines to count (default: wasmjit,wasmtime,native; wasmtime needs a
#              bench built with --features wasmtime or peers; wasmjit-fuel,
#              wasmjit-epochs and wasmjit-no-inline are wasmjit with fuel metering, with
#              epoch interruption, without inlining)
#   --over     print each other engine's count over ENGINE's instead of wasmjit's over each
#              other engine's: the cost of fuel and epochs is
#              `--engines wasmjit,wasmjit-fuel,wasmjit-epochs --over wasmjit`
#   --compile  count compilation instead: one single-threaded compile of each real program
#              of benches/realworld (built by benches/realworld/build.sh into
#              target/tmp/realworld; --kernels picks programs), per engine (wasmjit,
#              wasmtime), the whole `bench --compile-child` process counted
# BENCH names the bench binary (default: target/release/bench; build it with
# `cargo build --release -p wasmjit-bench --features peers`). Each engine runs in its own
# bench process under callgrind, which counts only inside `counted_call` (the span of one
# timed run(n) call, see benches/src/engines/mod.rs): no warm-up, one timed run. The
# callgrind files stay in OUT_DIR/KERNEL.ENGINE.out (default OUT_DIR:
# target/bench-instructions) for `callgrind_annotate`, the counts in OUT_DIR/counts.tsv.
# Needs valgrind (apt-get install -y valgrind).
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench=${BENCH:-$repo_root/target/release/bench}
size_flag=()
kernels=""
engines="wasmjit,wasmtime,native"
compile=""
over=""
while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) size_flag=(--smoke) ;;
        --kernels) kernels=$2; shift ;;
        --engines) engines=$2; shift ;;
        --compile) compile=1 ;;
        --over) over=$2; shift ;;
        *) sed -n '2,/^set/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    esac
    shift
done
command -v valgrind > /dev/null || { echo "instructions.sh: valgrind is not installed" >&2; exit 1; }
[ -x "$bench" ] || { echo "instructions.sh: no bench binary at $bench (set BENCH)" >&2; exit 1; }
if [ -n "$compile" ]; then
    programs_dir=$repo_root/target/tmp/realworld
    [ "$engines" = "wasmjit,wasmtime,native" ] && engines="wasmjit,wasmtime"
    [ -n "$kernels" ] || kernels="zlib,sqlite,lua,quickjs,rust"
fi
if [ -z "$kernels" ]; then
    kernels=$(cd "$repo_root/benches/kernels" && ls ./*.c | sed 's|^\./||; s|\.c$||' | paste -sd,)
fi
out_dir=${OUT_DIR:-$repo_root/target/bench-instructions}
mkdir -p "$out_dir"

IFS=, read -r -a kernel_list <<< "$kernels"
IFS=, read -r -a engine_list <<< "$engines"
results=$out_dir/counts.tsv
: > "$results"
for kernel in "${kernel_list[@]}"; do
    for engine in "${engine_list[@]}"; do
        out=$out_dir/$kernel.$engine.out
        echo "instructions.sh: $kernel in $engine ..." >&2
        if [ -n "$compile" ]; then
            out=$out_dir/compile-$kernel.$engine.out
            wasm=$programs_dir/$kernel.wasm
            [ -f "$wasm" ] || { echo "instructions.sh: no $wasm (run benches/realworld/build.sh)" >&2; exit 1; }
            if ! valgrind --tool=callgrind --callgrind-out-file="$out" "$bench" \
                --compile-child "$engine" "$wasm" > "$out.log" 2>&1; then
                echo "instructions.sh: compiling $kernel in $engine failed, see $out.log" >&2
                exit 1
            fi
        elif ! valgrind --tool=callgrind --callgrind-out-file="$out" --collect-atstart=no \
            '--toggle-collect=*counted_call*' "$bench" "${size_flag[@]}" --engines "$engine" \
            --kernels "$kernel" --runs 1 --warmups 0 --no-focused > "$out.log" 2>&1; then
            echo "instructions.sh: $kernel in $engine failed, see $out.log" >&2
            exit 1
        fi
        count=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$out")
        [ -n "$count" ] || count=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$out")
        printf '%s\t%s\t%s\n' "$kernel" "$engine" "$count" >> "$results"
    done
done

# The table: counts in millions, ratios of wasmjit to each other engine (or of each other
# engine to --over's), geometric means.
awk -F'\t' -v engines="$engines" -v over="$over" '
    BEGIN { n = split(engines, e, ","); base = over == "" ? "wasmjit" : over }
    { count[$1, $2] = $3; if (!($1 in seen)) { seen[$1] = 1; order[++rows] = $1 } }
    END {
        printf "| kernel |"
        for (j = 1; j <= n; j++) printf " %s (M instr) |", e[j]
        for (j = 1; j <= n; j++) if (e[j] != base)
            printf (over == "" ? " wasmjit/%s |" : " %s/" base " |"), e[j]
        printf "\n|---|"
        for (j = 1; j <= n; j++) printf "---:|"
        for (j = 1; j <= n; j++) if (e[j] != base) printf "---:|"
        printf "\n"
        for (i = 1; i <= rows; i++) {
            k = order[i]; printf "| %s |", k
            for (j = 1; j <= n; j++) printf " %.1f |", count[k, e[j]] / 1e6
            for (j = 1; j <= n; j++) if (e[j] != base) {
                if (count[k, e[j]] > 0 && count[k, base] > 0) {
                    r = over == "" ? count[k, base] / count[k, e[j]] : count[k, e[j]] / count[k, base]
                    logs[j] += log(r); used[j]++
                    printf " %.3fx |", r
                } else printf " - |"
            }
            printf "\n"
        }
        printf "| geomean |"
        for (j = 1; j <= n; j++) printf " |"
        for (j = 1; j <= n; j++) if (e[j] != base)
            printf (used[j] ? " %.3fx |" : " - |"), (used[j] ? exp(logs[j] / used[j]) : 0)
        printf "\n"
    }' "$results"
