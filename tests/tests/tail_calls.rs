//! Tail calls (`return_call`, `return_call_indirect`): they run in constant stack, fuel and
//! epochs still interrupt them, traps inside them report their kind, and they reach host
//! functions and other instances as ordinary calls do.

use wasmjit::{Config, Engine, Instance, Linker, Module, Store, Trap};
use wasmjit_tests::support::{bump_epoch_soon, instance as instantiate, trap_kind};

/// Mutual recursion between `even` and `odd`, directly, through a table, and between an
/// exported function and one that only direct calls reach (whose signature has no caller
/// vmctx: the two tail-call each other with different stack arguments on some targets);
/// `spin` calls itself forever; `div` tail-calls a function that divides.
const TAIL: &str = r#"(module
  (type $pred (func (param i64) (result i32)))
  (table funcref (elem $even_i $odd_i))
  (func $even (export "even") (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0))
      (then (i32.const 1))
      (else (return_call $odd (i64.sub (local.get 0) (i64.const 1))))))
  (func $odd (export "odd") (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0))
      (then (i32.const 0))
      (else (return_call $even (i64.sub (local.get 0) (i64.const 1))))))
  (func $even_i (export "even_indirect") (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0))
      (then (i32.const 1))
      (else (return_call_indirect (type $pred)
        (i64.sub (local.get 0) (i64.const 1)) (i32.const 1)))))
  (func $odd_i (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0))
      (then (i32.const 0))
      (else (return_call_indirect (type $pred)
        (i64.sub (local.get 0) (i64.const 1)) (i32.const 0)))))
  (func $even_m (export "even_mixed") (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0))
      (then (i32.const 1))
      (else (return_call $odd_m (i64.sub (local.get 0) (i64.const 1))))))
  (func $odd_m (param i64) (result i32)
    (if (result i32) (i64.eqz (local.get 0))
      (then (i32.const 0))
      (else (return_call $even_m (i64.sub (local.get 0) (i64.const 1))))))
  (func $spin (export "spin") (return_call $spin))
  (func $divide (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "div") (param i32 i32) (result i32)
    (return_call $divide (local.get 0) (local.get 1))))"#;

const MILLION: i64 = 1_000_000;

#[test]
fn a_million_mutual_tail_calls_run_in_constant_stack() {
    let (mut store, instance) = instantiate(&Engine::default(), TAIL);
    for name in ["even", "even_indirect", "even_mixed"] {
        let f = instance
            .get_typed_func::<i64, i32>(&mut store, name)
            .unwrap();
        assert_eq!(f.call(&mut store, MILLION).unwrap(), 1, "{name}");
        assert_eq!(f.call(&mut store, MILLION + 1).unwrap(), 0, "{name}");
    }
    // The same depth as ordinary calls exhausts the stack: the test above measures
    // something.
    let calls = r#"(module (func $down (export "down") (param i64) (result i64)
        (if (result i64) (i64.eqz (local.get 0)) (then (i64.const 0))
          (else (i64.add (i64.const 1) (call $down (i64.sub (local.get 0) (i64.const 1))))))))"#;
    let (mut store, calls) = instantiate(&Engine::default(), calls);
    let down = calls
        .get_typed_func::<i64, i64>(&mut store, "down")
        .unwrap();
    assert_eq!(
        trap_kind(down.call(&mut store, MILLION)),
        Trap::StackOverflow
    );
}

#[test]
fn traps_in_tail_called_functions_report_their_kind() {
    let (mut store, instance) = instantiate(&Engine::default(), TAIL);
    let div = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "div")
        .unwrap();
    assert_eq!(div.call(&mut store, (7, 2)).unwrap(), 3);
    assert_eq!(
        trap_kind(div.call(&mut store, (7, 0))),
        Trap::IntegerDivisionByZero
    );
    assert_eq!(
        trap_kind(div.call(&mut store, (i32::MIN, -1))),
        Trap::IntegerOverflow
    );
    // The store is usable after the trap.
    assert_eq!(div.call(&mut store, (9, 3)).unwrap(), 3);
}

#[test]
fn fuel_counts_tail_calls() {
    let mut config = Config::new();
    config.consume_fuel(true);
    let (mut store, instance) = instantiate(&Engine::new(&config).unwrap(), TAIL);
    let even = instance
        .get_typed_func::<i64, i32>(&mut store, "even")
        .unwrap();
    let spin = instance
        .get_typed_func::<(), ()>(&mut store, "spin")
        .unwrap();

    store.set_fuel(100 * MILLION as u64).unwrap();
    assert_eq!(even.call(&mut store, MILLION).unwrap(), 1);
    let used = 100 * MILLION as u64 - store.get_fuel().unwrap();
    // Every step runs at least its `if` and `return_call`.
    assert!(used >= 2 * MILLION as u64, "used {used}");

    store.set_fuel(10_000).unwrap();
    assert_eq!(trap_kind(even.call(&mut store, MILLION)), Trap::OutOfFuel);
    store.set_fuel(10_000).unwrap();
    assert_eq!(trap_kind(spin.call(&mut store, ())), Trap::OutOfFuel);
}

#[test]
fn an_epoch_bump_interrupts_endless_tail_calls() {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config).unwrap();
    let (mut store, instance) = instantiate(&engine, TAIL);
    let spin = instance
        .get_typed_func::<(), ()>(&mut store, "spin")
        .unwrap();
    store.set_epoch_deadline(1);
    let timer = bump_epoch_soon(&engine);
    assert_eq!(trap_kind(spin.call(&mut store, ())), Trap::Interrupt);
    timer.join().unwrap();
}

#[test]
fn tail_calls_reach_host_functions_and_other_instances() {
    let engine = Engine::default();
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "twice", |x: i64| x * 2).unwrap();
    // Many parameters: some go on the stack, and the tail call changes how many.
    let callee = r#"(module
      (func (export "sum") (param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64) (result i64)
        (i64.add (local.get 0) (local.get 1)) (i64.add (local.get 2) (local.get 3)) (i64.add)
        (i64.add (local.get 4) (local.get 5)) (i64.add (local.get 6) (local.get 7)) (i64.add)
        (i64.add)
        (i64.add (local.get 8) (local.get 9)) (i64.add (local.get 10) (local.get 11)) (i64.add)
        (i64.add)))"#;
    let mut store = Store::new(&engine, ());
    let other = linker
        .instantiate(&mut store, &Module::new(&engine, callee).unwrap())
        .unwrap();
    linker.instance(&mut store, "other", other).unwrap();
    let caller = r#"(module
      (import "host" "twice" (func $twice (param i64) (result i64)))
      (import "other" "sum" (func $sum
        (param i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64 i64) (result i64)))
      (func (export "twice") (param i64) (result i64) (return_call $twice (local.get 0)))
      (func (export "spread") (param i64) (result i64)
        (return_call $sum
          (local.get 0) (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4)
          (i64.const 5) (i64.const 6) (i64.const 7) (i64.const 8) (i64.const 9)
          (i64.const 10) (i64.const 11))))"#;
    let instance: Instance = linker
        .instantiate(&mut store, &Module::new(&engine, caller).unwrap())
        .unwrap();
    let twice = instance
        .get_typed_func::<i64, i64>(&mut store, "twice")
        .unwrap();
    assert_eq!(twice.call(&mut store, 21).unwrap(), 42);
    let spread = instance
        .get_typed_func::<i64, i64>(&mut store, "spread")
        .unwrap();
    assert_eq!(spread.call(&mut store, 100).unwrap(), 166);
}

#[test]
fn the_tail_call_switch_turns_the_proposal_off() {
    let mut config = Config::new();
    config.wasm_tail_call(false);
    let engine = Engine::new(&config).unwrap();
    let err = Module::new(&engine, TAIL).unwrap_err();
    assert!(err.to_string().contains("tail"), "{err}");
}
