"""Runs a WASI preview1 command under wasmtime (the `wasmtime` package on PyPI), the
reference our WASI is compared with in wasi/tests/against_wasmtime.rs.

    python3 wasmtime_run.py [--dir HOST::GUEST[::ro]]... [--env NAME=VALUE]...
        [--stdin FILE] --stdout FILE --stderr FILE WASM [ARGS...]

Exits with the program's exit status (1 and a message on stderr if it trapped)."""

import argparse
import sys

import wasmtime


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", action="append", default=[])
    parser.add_argument("--env", action="append", default=[])
    parser.add_argument("--stdin")
    parser.add_argument("--stdout", required=True)
    parser.add_argument("--stderr", required=True)
    parser.add_argument("wasm")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args()

    config = wasmtime.WasiConfig()
    config.argv = [options.wasm] + options.args
    config.env = [tuple(e.split("=", 1)) for e in options.env]
    if options.stdin:
        config.stdin_file = options.stdin
    config.stdout_file = options.stdout
    config.stderr_file = options.stderr
    for spec in options.dir:
        parts = spec.split("::")
        config.preopen_dir(parts[0], parts[1], fs_mutable=parts[2:] != ["ro"])

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    store.set_wasi(config)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    module = wasmtime.Module.from_file(engine, options.wasm)
    instance = linker.instantiate(store, module)
    start = instance.exports(store)["_start"]
    try:
        start(store)
    except wasmtime.ExitTrap as e:
        sys.exit(e.code)
    except (wasmtime.Trap, wasmtime.WasmtimeError) as e:
        print(f"trap: {e}", file=sys.stderr)
        sys.exit(1)
    sys.exit(0)


if __name__ == "__main__":
    main()
