// Runs one benchmark kernel (built by benches/kernels/build.sh) in Node's
// WebAssembly engine (V8), as the reference point for wasmjit.
//
// Usage:
//   node benches/node/driver.mjs <file.wasm> <pages|auto> <n|full|smoke> <runs>
//
//   pages  initial size of the imported env.memory in 64 KiB pages; `auto`
//          reads the minimum (and maximum, if any) from the module's import
//          section.
//   n      size passed to run(n); `full` / `smoke` ask the module's
//          full_n() / smoke_n() exports.
//   runs   number of timed run(n) calls after one untimed warm-up call.
//
// Prints one line of JSON to stdout:
//   {"compile_ns": .., "instantiate_ns": .., "n": .., "run_ns": [..],
//    "checksum": ".."}
// where checksum is run()'s u64 result in decimal and n the size used.  The
// driver fails if the kernel's self-check fails (run() returns
// KERNEL_FAIL(code), see benches/kernels/kernel.h) or if any run's checksum
// differs from the warm-up's.
//
// No npm packages; needs Node >= 18.

import { readFileSync } from "node:fs";
import process from "node:process";

function usage(message) {
  if (message) console.error(`driver.mjs: ${message}`);
  console.error(
    "usage: node driver.mjs <file.wasm> <pages|auto> <n|full|smoke> <runs>",
  );
  process.exit(2);
}

// Reads an unsigned LEB128 starting at bytes[pos]; returns [value, nextPos].
function readU32(bytes, pos) {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos >= bytes.length) throw new Error("truncated LEB128");
    const b = bytes[pos++];
    result += (b & 0x7f) * 2 ** shift; // avoids 32-bit overflow of <<
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7;
    if (shift > 35) throw new Error("LEB128 too long");
  }
}

function readName(bytes, pos) {
  let len;
  [len, pos] = readU32(bytes, pos);
  const name = Buffer.from(bytes.subarray(pos, pos + len)).toString("utf8");
  return [name, pos + len];
}

// Reads limits (flags, min, optional max) as used by tables and memories.
function readLimits(bytes, pos) {
  const flags = bytes[pos++];
  let min;
  let max;
  [min, pos] = readU32(bytes, pos);
  if (flags & 1) [max, pos] = readU32(bytes, pos);
  return [{ flags, min, max }, pos];
}

// Finds the env.memory import in a wasm binary and returns its limits
// ({min, max?, shared}) or null if the module imports no memory.
export function memoryImportLimits(bytes) {
  const magic = [0x00, 0x61, 0x73, 0x6d];
  if (bytes.length < 8 || !magic.every((b, i) => bytes[i] === b)) {
    throw new Error("not a wasm binary");
  }
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos++];
    let size;
    [size, pos] = readU32(bytes, pos);
    const end = pos + size;
    if (id !== 2) {
      pos = end; // not the import section
      continue;
    }
    let count;
    [count, pos] = readU32(bytes, pos);
    for (let i = 0; i < count; i++) {
      let module;
      let field;
      [module, pos] = readName(bytes, pos);
      [field, pos] = readName(bytes, pos);
      const kind = bytes[pos++];
      switch (kind) {
        case 0: // function: type index
          [, pos] = readU32(bytes, pos);
          break;
        case 1: // table: reftype, limits
          pos += 1;
          [, pos] = readLimits(bytes, pos);
          break;
        case 2: { // memory: limits
          let limits;
          [limits, pos] = readLimits(bytes, pos);
          if (module === "env" && field === "memory") {
            return {
              min: limits.min,
              max: limits.max,
              shared: (limits.flags & 2) !== 0,
            };
          }
          break;
        }
        case 3: // global: valtype, mutability
          pos += 2;
          break;
        default:
          throw new Error(`unknown import kind ${kind}`);
      }
    }
    return null; // only one import section
  }
  return null;
}

function elapsedNs(start) {
  return Number(process.hrtime.bigint() - start);
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length !== 4) usage("expected 4 arguments");
  const [file, pagesArg, nArg, runsArg] = args;

  const runs = Number(runsArg);
  if (!Number.isInteger(runs) || runs < 1) usage(`bad runs: ${runsArg}`);

  const bytes = readFileSync(file);

  let memoryDesc;
  if (pagesArg === "auto") {
    const limits = memoryImportLimits(bytes);
    if (!limits) throw new Error(`${file} does not import env.memory`);
    memoryDesc = { initial: limits.min };
    if (limits.max !== undefined) memoryDesc.maximum = limits.max;
    if (limits.shared) memoryDesc.shared = true;
  } else {
    const pages = Number(pagesArg);
    if (!Number.isInteger(pages) || pages < 0) usage(`bad pages: ${pagesArg}`);
    memoryDesc = { initial: pages };
  }

  let t = process.hrtime.bigint();
  const module = await WebAssembly.compile(bytes);
  const compileNs = elapsedNs(t);

  const memory = new WebAssembly.Memory(memoryDesc);
  t = process.hrtime.bigint();
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const instantiateNs = elapsedNs(t);

  const { run, full_n: fullN, smoke_n: smokeN } = instance.exports;
  if (typeof run !== "function") throw new Error(`${file} exports no run()`);

  let n;
  if (nArg === "full" || nArg === "smoke") {
    const sizeFn = nArg === "full" ? fullN : smokeN;
    if (typeof sizeFn !== "function") {
      throw new Error(`${file} exports no ${nArg}_n()`);
    }
    n = sizeFn() >>> 0; // i32 result -> u32
  } else {
    n = Number(nArg);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
      usage(`bad n: ${nArg}`);
    }
  }

  const checksum = BigInt.asUintN(64, run(n)); // warm-up
  if (checksum >> 36n === 0xbadc0den) { // KERNEL_FAIL(code) in kernel.h
    throw new Error(`kernel self-check ${checksum & 0xfffffffffn} failed`);
  }
  const runNs = [];
  for (let i = 0; i < runs; i++) {
    t = process.hrtime.bigint();
    const result = BigInt.asUintN(64, run(n));
    runNs.push(elapsedNs(t));
    if (result !== checksum) {
      throw new Error(
        `run ${i} returned ${result}, warm-up returned ${checksum}`,
      );
    }
  }

  console.log(JSON.stringify({
    compile_ns: compileNs,
    instantiate_ns: instantiateNs,
    n,
    run_ns: runNs,
    checksum: checksum.toString(),
  }));
}

main().catch((err) => {
  console.error(`driver.mjs: ${err.message}`);
  process.exit(1);
});
