//! Exception handling: what a `try_table` costs a call when nothing throws (the design's
//! claim is nothing), and what a throw costs, caught in the same function or some frames up;
//! wasmjit against wasmtime (when compiled in) on one module.

use std::time::Instant;

use crate::error::{bail, Context, Result};
use crate::focused::Scale;
use crate::kernels::Size;
use crate::report::Table;
use crate::stats::{elapsed_ns, format_ns, format_ratio, median};

/// Every export takes `(n, depth)` and does `n` iterations, returning a sum that depends on
/// every one of them, so the engines' results can be compared.
const WAT: &str = r#"(module
  (tag $e (param i32))
  (func $leaf (param $x i32) (result i32)
    (i32.add (local.get $x) (i32.const 1)))
  ;; Throws $x after $depth more calls.
  (func $thrower (param $depth i32) (param $x i32) (result i32)
    (if (i32.eqz (local.get $depth)) (then (throw $e (local.get $x))))
    (i32.add
      (call $thrower (i32.sub (local.get $depth) (i32.const 1)) (local.get $x))
      (i32.const 1)))
  (func (export "plain_calls") (param $n i32) (param $depth i32) (result i32)
    (local $i i32) (local $sum i32)
    (loop $next
      (local.set $sum (i32.add (local.get $sum) (call $leaf (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $sum))
  (func (export "calls_in_try_table") (param $n i32) (param $depth i32) (result i32)
    (local $i i32) (local $sum i32)
    (loop $next
      (block $caught (result i32)
        (try_table (catch $e $caught)
          (local.set $sum (i32.add (local.get $sum) (call $leaf (local.get $i)))))
        (i32.const 0))
      (local.set $sum (i32.add (local.get $sum)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $sum))
  (func (export "throw_in_function") (param $n i32) (param $depth i32) (result i32)
    (local $i i32) (local $sum i32)
    (loop $next
      (local.set $sum
        (i32.add (local.get $sum)
          (block $caught (result i32)
            (try_table (result i32) (catch $e $caught)
              (throw $e (local.get $i))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $sum))
  (func (export "throw_up_frames") (param $n i32) (param $depth i32) (result i32)
    (local $i i32) (local $sum i32)
    (loop $next
      (local.set $sum
        (i32.add (local.get $sum)
          (block $caught (result i32)
            (try_table (result i32) (catch $e $caught)
              (call $thrower (local.get $depth) (local.get $i))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $sum)))"#;

/// Calls `(export, n, depth)` and returns its result.
type Call = Box<dyn FnMut(&str, i32, i32) -> Result<i32>>;

/// The measured cases: name, export, frames between the throw and the catch.
const CASES: &[(&str, &str, i32)] = &[
    ("call, no try_table", "plain_calls", 0),
    (
        "call in a try_table, nothing thrown",
        "calls_in_try_table",
        0,
    ),
    ("throw caught in the same function", "throw_in_function", 0),
    ("throw caught 1 frame up", "throw_up_frames", 0),
    ("throw caught 10 frames up", "throw_up_frames", 9),
    ("throw caught 100 frames up", "throw_up_frames", 99),
];

fn wasmjit_call() -> Result<Call> {
    let engine = wasmjit::Engine::default();
    let module = wasmjit::Module::new(&engine, WAT).context("wasmjit: compiling")?;
    let mut store = wasmjit::Store::new(&engine, ());
    let instance =
        wasmjit::Instance::new(&mut store, &module, &[]).context("wasmjit: instantiating")?;
    Ok(Box::new(move |name, n, depth| {
        let f = instance
            .get_typed_func::<(i32, i32), i32>(&mut store, name)
            .context(name)?;
        f.call(&mut store, (n, depth)).context(name)
    }))
}

#[cfg(feature = "wasmtime")]
fn peer_call() -> Result<Option<Call>> {
    let mut config = wasmtime::Config::new();
    config.wasm_exceptions(true);
    let engine = wasmtime::Engine::new(&config).context("wasmtime: the engine")?;
    let bytes = wat::parse_str(WAT).context("assembling the module")?;
    let module = wasmtime::Module::new(&engine, bytes).context("wasmtime: compiling")?;
    let mut store = wasmtime::Store::new(&engine, ());
    let instance =
        wasmtime::Instance::new(&mut store, &module, &[]).context("wasmtime: instantiating")?;
    Ok(Some(Box::new(move |name, n, depth| {
        let f = instance
            .get_typed_func::<(i32, i32), i32>(&mut store, name)
            .context(name)?;
        f.call(&mut store, (n, depth)).context(name)
    })))
}

#[cfg(not(feature = "wasmtime"))]
fn peer_call() -> Result<Option<Call>> {
    Ok(None)
}

/// Median nanoseconds per iteration of `runs` calls of `n` iterations, and the result.
fn per_iteration(
    call: &mut Call,
    export: &str,
    n: i32,
    depth: i32,
    runs: usize,
) -> Result<(f64, i32)> {
    let expected = call(export, n, depth)?;
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        let result = call(export, n, depth)?;
        samples.push(elapsed_ns(start));
        if result != expected {
            bail!("{export}: {result} after {expected}");
        }
    }
    Ok((median(&samples) as f64 / f64::from(n), expected))
}

/// Nanoseconds per iteration of each case, wasmjit and wasmtime.
pub fn exceptions(scale: Scale) -> Result<Table> {
    let (n, runs) = match scale.size {
        Size::Smoke => (1_000, 3),
        Size::Full => (1_000_000, 11),
    };
    let mut ours = wasmjit_call()?;
    let mut peer = peer_call()?;
    let mut rows = Vec::new();
    for (name, export, depth) in CASES {
        // Deep throws cost more per iteration: fewer of them keep each run short.
        let n = if *depth > 0 { n / (*depth + 1) } else { n };
        let (ns, result) = per_iteration(&mut ours, export, n, *depth, runs)?;
        let theirs = match peer.as_mut() {
            Some(peer) => {
                let (ns, theirs) = per_iteration(peer, export, n, *depth, runs)?;
                if theirs != result {
                    bail!("{export}: wasmjit computed {result}, wasmtime {theirs}");
                }
                Some(ns)
            }
            None => None,
        };
        let dash = || "-".to_owned();
        rows.push(vec![
            (*name).to_owned(),
            format_ns(ns),
            theirs.map_or_else(dash, format_ns),
            theirs.map_or_else(dash, |t| format_ratio(ns / t)),
        ]);
    }
    Ok(Table {
        title: "Exceptions: time per iteration (a call, or a throw and its catch)".to_owned(),
        header: ["case", "wasmjit", "wasmtime", "wasmjit/wasmtime"]
            .map(str::to_owned)
            .to_vec(),
        rows,
    })
}
