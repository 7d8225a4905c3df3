//! Inlining of small module-internal callees (`Config::inlining`, on by default): what is
//! inlined (calls inside loops and recursive calls, not the others), that recursion stays
//! bounded, and that traps, fuel and results are unchanged.

use wasmjit::{Config, Engine, Instance, Module, Store};

/// `$caller` calls the small `$add` and the recursive `$fib` outside any loop, `$sum` calls
/// `$add` in a loop; `$trap` traps inside a callee it calls in a loop.
const MODULE: &str = r#"(module
  (func $caller (export "caller") (param i32) (result i32)
    (call $add (local.get 0) (call $fib (local.get 0))))
  (func $add (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1)))
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func $down (export "down") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0))
      (then (i32.const 0))
      (else (i32.add (i32.const 1) (call $down (i32.sub (local.get 0) (i32.const 1)))))))
  (func $fail (param i32) (result i32)
    (if (local.get 0) (then unreachable))
    (local.get 0))
  (func (export "trap") (param i32) (result i32)
    (loop (result i32) (call $fail (local.get 0))))
  (func $sum (export "sum") (param i32) (result i32) (local i32)
    (block (loop
      (br_if 1 (i32.eqz (local.get 0)))
      (local.set 1 (call $add (local.get 1) (local.get 0)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br 0)))
    (local.get 1)))"#;

/// The machine-code listing of function `index` with inlining on or off.
fn listing(inlining: bool, index: u32) -> String {
    let mut config = Config::new();
    config.emit_disassembly(true).inlining(inlining);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, MODULE).unwrap();
    module.function_disassembly(index).unwrap().to_string()
}

/// Call instructions in a listing.
fn calls(listing: &str) -> usize {
    listing
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            l.starts_with("call") || l.starts_with("bl ")
        })
        .count()
}

#[test]
fn small_callees_are_inlined_one_level_deep_where_it_pays() {
    // `$caller` calls `$add` and `$fib` once each, outside any loop: both stay calls.
    let (on, off) = (listing(true, 0), listing(false, 0));
    assert_eq!(calls(&off), 2, "{off}");
    assert_eq!(on, off);
    // `$sum` calls `$add` in its loop: inlined.
    let (on, off) = (listing(true, 6), listing(false, 6));
    assert_eq!(calls(&off), 1, "{off}");
    assert_eq!(calls(&on), 0, "{on}");
    // `$fib` inlines itself once: four calls to itself where it had two.
    let (on, off) = (listing(true, 2), listing(false, 2));
    assert_eq!(calls(&off), 2, "{off}");
    assert_eq!(calls(&on), 4, "{on}");
}

#[test]
fn inlined_code_computes_traps_and_overflows_as_calls_do() {
    for inlining in [true, false] {
        let mut config = Config::new();
        config.inlining(inlining).consume_fuel(true);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, MODULE).unwrap();
        let mut store = Store::new(&engine, ());
        store.set_fuel(u64::MAX / 2).unwrap();
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let func = |store: &mut Store<()>, name| {
            instance
                .get_typed_func::<i32, i32>(&mut *store, name)
                .unwrap()
        };
        let (caller, fib, down, trap, sum) = (
            func(&mut store, "caller"),
            func(&mut store, "fib"),
            func(&mut store, "down"),
            func(&mut store, "trap"),
            func(&mut store, "sum"),
        );
        assert_eq!(
            fib.call(&mut store, 20).unwrap(),
            6765,
            "inlining {inlining}"
        );
        assert_eq!(
            caller.call(&mut store, 20).unwrap(),
            6785,
            "inlining {inlining}"
        );
        assert_eq!(
            down.call(&mut store, 1000).unwrap(),
            1000,
            "inlining {inlining}"
        );
        assert_eq!(
            sum.call(&mut store, 100).unwrap(),
            5050,
            "inlining {inlining}"
        );
        assert_eq!(trap.call(&mut store, 0).unwrap(), 0, "inlining {inlining}");
        let err = trap.call(&mut store, 1).unwrap_err().to_string();
        assert!(err.contains("unreachable"), "inlining {inlining}: {err}");
        // Unbounded recursion still exhausts the stack instead of growing the code.
        let err = down.call(&mut store, -1).unwrap_err().to_string();
        assert!(
            err.contains("call stack exhausted"),
            "inlining {inlining}: {err}"
        );
        // The same operators are counted with and without inlining.
        store.set_fuel(1_000_000).unwrap();
        fib.call(&mut store, 15).unwrap();
        let used = 1_000_000 - store.get_fuel().unwrap();
        assert!(used > 10_000, "inlining {inlining}: {used}");
        if inlining {
            assert_eq!(used, fuel_without_inlining(), "fuel of fib(15)");
        }
    }
}

/// The fuel `fib(15)` consumes without inlining.
fn fuel_without_inlining() -> u64 {
    let mut config = Config::new();
    config.inlining(false).consume_fuel(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, MODULE).unwrap();
    let mut store = Store::new(&engine, ());
    store.set_fuel(1_000_000).unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let fib = instance
        .get_typed_func::<i32, i32>(&mut store, "fib")
        .unwrap();
    fib.call(&mut store, 15).unwrap();
    1_000_000 - store.get_fuel().unwrap()
}
