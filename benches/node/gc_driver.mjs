// Runs one WasmGC kernel (benches/gc/*.wat, assembled by the bench harness) in Node's
// WebAssembly engine (V8), as the reference point for wasmjit's collector.
//
// Usage:
//   node benches/node/gc_driver.mjs <file.wasm> <n|full|smoke> <runs>
//
//   n      size passed to run(n); `full` / `smoke` ask the module's full_n() /
//          smoke_n() exports.
//   runs   number of timed run(n) calls after one untimed warm-up call.
//
// Prints one line of JSON to stdout:
//   {"compile_ns": .., "instantiate_ns": .., "n": .., "run_ns": [..],
//    "checksum": "..", "max_rss_kib": ..}
// where checksum is run()'s i64 result in decimal and max_rss_kib the process's peak
// resident memory. Fails if any run's checksum differs from the warm-up's (a kernel traps
// on its own self-check failures).
//
// Needs a Node whose V8 runs the final WasmGC encoding (Node >= 22); no npm packages.

import { readFileSync } from "node:fs";
import process from "node:process";

const [file, size, runsArg] = process.argv.slice(2);
if (!file || !size || !runsArg) {
  console.error("usage: node gc_driver.mjs <file.wasm> <n|full|smoke> <runs>");
  process.exit(2);
}
const runs = Number(runsArg);
const bytes = readFileSync(file);

const now = () => process.hrtime.bigint();
let start = now();
const module = await WebAssembly.compile(bytes);
const compileNs = now() - start;
start = now();
const instance = await WebAssembly.instantiate(module, {});
const instantiateNs = now() - start;

const exports = instance.exports;
const n =
  size === "full" ? exports.full_n() : size === "smoke" ? exports.smoke_n() : Number(size);
const expected = exports.run(n);
const runNs = [];
for (let i = 0; i < runs; i++) {
  start = now();
  const checksum = exports.run(n);
  runNs.push(Number(now() - start));
  if (checksum !== expected) {
    console.error(`gc_driver.mjs: run ${i} gave ${checksum}, the warm-up ${expected}`);
    process.exit(1);
  }
}
console.log(
  JSON.stringify({
    compile_ns: Number(compileNs),
    instantiate_ns: Number(instantiateNs),
    n,
    run_ns: runNs,
    checksum: BigInt.asUintN(64, expected).toString(),
    max_rss_kib: process.resourceUsage().maxRSS,
  }),
);
