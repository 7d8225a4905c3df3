// JavaScript benchmark for QuickJS (`qjs bench.js N`): recursion, arrays and sorting,
// strings and maps, classes, JSON, typed arrays, regular expressions and a file, sized by N
// (default 20). Prints results only (no times), the same under wasm and native; writes
// `js-out.json` in the current folder (std.loadFile reads it back).
import * as std from "qjs:std";

const n = Number(scriptArgs[1] ?? 20);

function fib(k) { return k < 2 ? k : fib(k - 1) + fib(k - 2); }
console.log("fib", n + 5, fib(n + 5));

let seed = 42;
function random(m) {
  seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
  return seed % m;
}

const a = Array.from({ length: n * 5000 }, () => random(1000000));
a.sort((x, y) => x - y);
console.log("sort", a.length, a[0], a[a.length >> 1], a[a.length - 1],
  a.every((x, i) => i === 0 || a[i - 1] <= x));

const counts = new Map();
const words = [];
for (let i = 0; i < n * 2000; i++) {
  const w = "w" + random(n * 50);
  words.push(w);
  counts.set(w, (counts.get(w) ?? 0) + 1);
}
let best = "", most = 0;
for (const [w, c] of counts) {
  if (c > most || (c === most && w < best)) { best = w; most = c; }
}
console.log("words", words.length, counts.size, best, most);

const s = words.slice(0, 2000).join(" ");
console.log("string", s.length, (s.match(/[13579]/g) ?? []).length, s.slice(0, 20),
  s.toUpperCase().indexOf("W7"), s.replace(/w(\d)\d*/g, "$1").length);

class Vec {
  constructor(x, y) { this.x = x; this.y = y; }
  add(o) { return new Vec(this.x + o.x, this.y + o.y); }
  dot(o) { return this.x * o.x + this.y * o.y; }
}
let v = new Vec(0, 0), dots = 0;
for (let i = 1; i <= n * 5000; i++) {
  const w = new Vec(i % 7, i % 11);
  v = v.add(w);
  dots += v.dot(w) % 1000;
}
console.log("classes", v.x, v.y, dots);

let acc = 0, x = 1;
for (let i = 1; i <= n * 20000; i++) {
  x = x * 1.0000001 + Math.sin(i) / i;
  acc += Math.sqrt(x) * 0.5;
}
console.log("float", acc.toFixed(6), x.toFixed(6));

const f = new Float64Array(n * 10000);
for (let i = 0; i < f.length; i++) f[i] = (i * 7919) % 1000 / 10;
let fs = 0;
for (let i = 0; i < f.length; i++) fs += f[i] * f[(i * 31) % f.length];
console.log("typed arrays", fs.toFixed(3));

const data = { n, top: a.slice(-5), words: Object.fromEntries([...counts].slice(0, 50)) };
const text = JSON.stringify(data);
const out = std.open("js-out.json", "w");
out.puts(text);
out.close();
const back = JSON.parse(std.loadFile("js-out.json"));
console.log("json", text.length, back.top.join(","), Object.keys(back.words).length);
