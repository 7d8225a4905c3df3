//! Interrupting runaway code: epoch deadlines bumped from another thread, and fuel.

use wasmjit::{Config, Engine, Instance, Module, Store, Trap, TypedFunc};
use wasmjit_tests::support::{bump_epoch_soon, trap_kind};

const LOOPS: &str = r#"(module
  (func (export "forever") (loop $l (br $l)))
  (func (export "forever_inside") (param i32) (local $i i32)
    (loop $outer
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (if (i32.eq (local.get $i) (local.get 0)) (then (loop $inner (br $inner))))
      (br $outer)))
  (func $recurse (export "recurse") (call $recurse))
  (func (export "count") (param i32) (result i32) (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get 0))))
    (local.get $i)))"#;

/// An engine with epoch interruption, a store, and an instance of [`LOOPS`].
fn with_epochs() -> (Engine, Store<()>, Instance) {
    let mut config = Config::new();
    config.epoch_interruption(true);
    setup(&config)
}

fn setup(config: &Config) -> (Engine, Store<()>, Instance) {
    let engine = Engine::new(config).unwrap();
    let module = Module::new(&engine, LOOPS).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    (engine, store, instance)
}

#[test]
fn an_epoch_bump_from_another_thread_interrupts_an_infinite_loop() {
    let (engine, mut store, instance) = with_epochs();
    let forever = instance
        .get_typed_func::<(), ()>(&mut store, "forever")
        .unwrap();
    let count = instance
        .get_typed_func::<i32, i32>(&mut store, "count")
        .unwrap();
    // No deadline set yet: code runs to completion.
    assert_eq!(count.call(&mut store, 1000).unwrap(), 1000);
    for _ in 0..3 {
        store.set_epoch_deadline(1);
        let timer = bump_epoch_soon(&engine);
        assert_eq!(trap_kind(forever.call(&mut store, ())), Trap::Interrupt);
        timer.join().unwrap();
        // Past the deadline, every entry traps until it is moved.
        assert_eq!(trap_kind(count.call(&mut store, 1)), Trap::Interrupt);
    }
    store.set_epoch_deadline(1);
    assert_eq!(count.call(&mut store, 1000).unwrap(), 1000);
}

#[test]
fn an_endless_inner_loop_is_interrupted_by_its_own_check() {
    // The outer loop's check runs before the inner loop starts; only the inner loop's
    // header can see the interrupt.
    let (engine, mut store, instance) = with_epochs();
    let forever_inside = instance
        .get_typed_func::<i32, ()>(&mut store, "forever_inside")
        .unwrap();
    store.set_epoch_deadline(1);
    let timer = bump_epoch_soon(&engine);
    assert_eq!(
        trap_kind(forever_inside.call(&mut store, 1000)),
        Trap::Interrupt
    );
    timer.join().unwrap();
}

#[test]
fn loops_run_again_once_an_interrupted_store_has_no_deadline() {
    let (_engine, mut store, instance) = with_epochs();
    let count = instance
        .get_typed_func::<i32, i32>(&mut store, "count")
        .unwrap();
    store.set_epoch_deadline(0);
    assert_eq!(trap_kind(count.call(&mut store, 1000)), Trap::Interrupt);
    // A deadline beyond reach: calls take the way in that expects no interrupt.
    store.set_epoch_deadline(u64::MAX);
    assert_eq!(count.call(&mut store, 1000).unwrap(), 1000);
}

/// Functions without loops: a call tree of 2^n leaves, and recursion as deep as asked.
const LOOP_FREE: &str = r#"(module
  (import "h" "tick" (func $tick))
  (func $tree (export "tree") (param i32)
    (if (local.get 0)
      (then
        (call $tree (i32.sub (local.get 0) (i32.const 1)))
        (call $tree (i32.sub (local.get 0) (i32.const 1))))))
  (func $deep (export "deep") (param i32) (result i32)
    (if (result i32) (local.get 0)
      (then (i32.add (call $deep (i32.sub (local.get 0) (i32.const 1))) (i32.const 1)))
      (else (i32.const 0))))
  (func (export "tick_then_loop") (param i32) (result i32) (local $i i32)
    (call $tick)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get 0))))
    (local.get $i)))"#;

/// An engine with epoch interruption, a store, and an instance of [`LOOP_FREE`] whose
/// `tick` bumps the epoch and, with `extend`, moves the deadline 10 epochs on.
fn loop_free(extend: bool) -> (Engine, Store<()>, Instance) {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config).unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = wasmjit::Linker::new(&engine);
    let ticker = engine.clone();
    linker
        .func_wrap("h", "tick", move |mut caller: wasmjit::Caller<'_, ()>| {
            ticker.increment_epoch();
            if extend {
                caller.set_epoch_deadline(10);
            }
        })
        .unwrap();
    let module = Module::new(&engine, LOOP_FREE).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    (engine, store, instance)
}

#[test]
fn an_epoch_bump_interrupts_loop_free_recursion_at_a_function_entry() {
    let (engine, mut store, instance) = loop_free(false);
    let tree = instance
        .get_typed_func::<i32, ()>(&mut store, "tree")
        .unwrap();
    let deep = instance
        .get_typed_func::<i32, i32>(&mut store, "deep")
        .unwrap();
    store.set_epoch_deadline(1);
    let timer = bump_epoch_soon(&engine);
    // 2^60 calls: only the interrupt ends it.
    assert_eq!(trap_kind(tree.call(&mut store, 60)), Trap::Interrupt);
    timer.join().unwrap();
    // With the deadline far away, running out of stack is still a stack overflow.
    store.set_epoch_deadline(1_000);
    assert_eq!(deep.call(&mut store, 1000).unwrap(), 1000);
    assert_eq!(
        trap_kind(deep.call(&mut store, i32::MAX)),
        Trap::StackOverflow
    );
}

#[test]
fn a_deadline_reached_while_no_wasm_runs_interrupts_the_next_call() {
    let (engine, mut store, instance) = loop_free(false);
    let deep = instance
        .get_typed_func::<i32, i32>(&mut store, "deep")
        .unwrap();
    store.set_epoch_deadline(2);
    engine.increment_epoch();
    assert_eq!(deep.call(&mut store, 10).unwrap(), 10);
    engine.increment_epoch();
    assert_eq!(trap_kind(deep.call(&mut store, 10)), Trap::Interrupt);
    assert_eq!(trap_kind(deep.call(&mut store, 10)), Trap::Interrupt);
    // A deadline already reached when it is set.
    store.set_epoch_deadline(0);
    assert_eq!(trap_kind(deep.call(&mut store, 10)), Trap::Interrupt);
    store.set_epoch_deadline(1);
    assert_eq!(deep.call(&mut store, 10).unwrap(), 10);
}

#[test]
fn a_host_function_moving_the_deadline_lifts_the_interrupt() {
    // `tick` reaches the deadline; without a new one the loop after it is interrupted.
    let (_engine, mut store, instance) = loop_free(false);
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "tick_then_loop")
        .unwrap();
    store.set_epoch_deadline(1);
    assert_eq!(trap_kind(run.call(&mut store, 1000)), Trap::Interrupt);
    // `tick` reaches the deadline and moves it: the loop runs to its end.
    let (_engine, mut store, instance) = loop_free(true);
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "tick_then_loop")
        .unwrap();
    store.set_epoch_deadline(1);
    assert_eq!(run.call(&mut store, 1000).unwrap(), 1000);
    assert_eq!(run.call(&mut store, 1000).unwrap(), 1000);
}

#[test]
fn stores_come_and_go_while_another_thread_bumps_the_epoch() {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, LOOPS).unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ticker = {
        let (engine, stop) = (engine.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut bumps = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                engine.increment_epoch();
                bumps += 1;
            }
            bumps
        })
    };
    let (mut completed, mut interrupted) = (0, 0);
    for round in 0..300 {
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let count = instance
            .get_typed_func::<i32, i32>(&mut store, "count")
            .unwrap();
        if round % 2 == 0 {
            store.set_epoch_deadline(u64::MAX / 2);
            assert_eq!(count.call(&mut store, 10_000).unwrap(), 10_000);
            completed += 1;
        } else {
            store.set_epoch_deadline(1);
            match count.call(&mut store, 100_000_000) {
                Ok(n) => assert_eq!(n, 100_000_000),
                Err(e) => {
                    assert_eq!(trap_kind(Err::<i32, _>(e)), Trap::Interrupt);
                    interrupted += 1;
                }
            }
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(ticker.join().unwrap() > 0);
    assert_eq!(completed, 150);
    assert!(interrupted > 0, "no call was interrupted");
}

#[test]
fn fuel_runs_out_in_loops_and_recursion() {
    let mut config = Config::new();
    config.consume_fuel(true);
    let (_engine, mut store, instance) = setup(&config);
    let count = instance
        .get_typed_func::<i32, i32>(&mut store, "count")
        .unwrap();
    let forever = instance
        .get_typed_func::<(), ()>(&mut store, "forever")
        .unwrap();
    let recurse = instance
        .get_typed_func::<(), ()>(&mut store, "recurse")
        .unwrap();

    assert_eq!(store.get_fuel().unwrap(), 0);
    assert_eq!(trap_kind(count.call(&mut store, 1)), Trap::OutOfFuel);

    store.set_fuel(1_000_000).unwrap();
    assert_eq!(count.call(&mut store, 1000).unwrap(), 1000);
    let used = 1_000_000 - store.get_fuel().unwrap();
    // Eight operators per iteration.
    assert!((8_000..8_100).contains(&used), "used {used}");

    store.set_fuel(10_000).unwrap();
    assert_eq!(
        trap_kind(count.call(&mut store, 1_000_000)),
        Trap::OutOfFuel
    );
    store.set_fuel(10_000).unwrap();
    assert_eq!(trap_kind(forever.call(&mut store, ())), Trap::OutOfFuel);
    store.set_fuel(10_000).unwrap();
    assert_eq!(trap_kind(recurse.call(&mut store, ())), Trap::OutOfFuel);
    assert_eq!(store.get_fuel().unwrap(), 0);
}

/// A store with fuel metering on (and no fuel yet) and an instance of `wat` in it.
fn metered(wat: &str) -> (Store<()>, Instance) {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, wat).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    (store, instance)
}

/// Checks that `func(arg)` returns `result` using exactly `used` fuel: with more it leaves
/// the rest, with exactly enough it returns and leaves none, and with one unit less it runs
/// out (leaving none).
fn assert_uses_exactly(
    store: &mut Store<()>,
    func: &TypedFunc<i32, i32>,
    arg: i32,
    result: i32,
    used: u64,
) {
    store.set_fuel(1000).unwrap();
    assert_eq!(func.call(&mut *store, arg).unwrap(), result);
    assert_eq!(1000 - store.get_fuel().unwrap(), used, "argument {arg}");
    store.set_fuel(used).unwrap();
    assert_eq!(func.call(&mut *store, arg).unwrap(), result);
    assert_eq!(store.get_fuel().unwrap(), 0);
    store.set_fuel(used - 1).unwrap();
    assert_eq!(trap_kind(func.call(&mut *store, arg)), Trap::OutOfFuel);
    assert_eq!(store.get_fuel().unwrap(), 0);
}

#[test]
fn fuel_counts_each_operator_run_once_whichever_way_control_goes() {
    let (mut store, instance) = metered(
        r#"(module
          (func (export "mix") (param i32) (result i32)
            (block $b
              (br_if $b (local.get 0))
              (local.set 0 (i32.const 7)))
            (if (i32.eq (local.get 0) (i32.const 7))
              (then (local.set 0 (i32.const 8))))
            (local.get 0)))"#,
    );
    let mix = instance
        .get_typed_func::<i32, i32>(&mut store, "mix")
        .unwrap();
    // The operators run (an `end` counts where control falls through it): 0 runs all 15;
    // 1 branches past the block's `end` and skips the `then` arm (9); 7 takes it (12).
    for (arg, result, used) in [(0, 8, 15), (1, 1, 9), (7, 8, 12)] {
        assert_uses_exactly(&mut store, &mix, arg, result, used);
    }
}

#[test]
fn fuel_is_exact_whether_a_callee_takes_it_from_its_parameter_or_the_store() {
    // Functions without a loop take the fuel from their parameter, those with one load it
    // from the store, where every caller writes it before the call: a caller that did not
    // would lose the operators it ran before the call from the count.
    let (mut store, instance) = metered(
        r#"(module
          (func $leaf (param i32) (result i32)
            (i32.add (local.get 0) (i32.const 1)))
          (func $looped (param i32) (result i32)
            (loop $l)
            (local.get 0))
          (func (export "then_looped") (param i32) (result i32)
            (call $looped (i32.add (local.get 0) (i32.const 2))))
          (func (export "looping_caller") (param i32) (result i32)
            (loop $l (drop (call $leaf (local.get 0))))
            (call $leaf (local.get 0))))"#,
    );
    // `then_looped`: local.get, i32.const, i32.add, call, end (5) and `$looped`'s loop,
    // end, local.get, end (4).
    let then_looped = instance
        .get_typed_func::<i32, i32>(&mut store, "then_looped")
        .unwrap();
    assert_uses_exactly(&mut store, &then_looped, 5, 7, 9);
    // `looping_caller`: loop, local.get, call, drop, end, local.get, call, end (8) and
    // `$leaf`'s local.get, i32.const, i32.add, end (4) twice.
    let looping_caller = instance
        .get_typed_func::<i32, i32>(&mut store, "looping_caller")
        .unwrap();
    assert_uses_exactly(&mut store, &looping_caller, 5, 6, 16);
}

#[test]
fn fuel_counts_a_br_table_dispatch_and_its_case_exactly() {
    // `br_table` with forward targets only: case 0 is reached by the table alone (its run
    // continues the dispatch's), `$c1` both by the table and by case 0 falling through (so
    // each way charges its own), and the table carries a value to either.
    let (mut store, instance) = metered(
        r#"(module
          (func (export "switch") (param i32) (result i32)
            (block $c1 (result i32)
              (block $c0 (result i32)
                (i32.const 10)
                (local.get 0)
                (br_table $c0 $c1 $c1))
              (i32.const 1)
              (i32.add))
            (i32.const 100)
            (i32.add))
          (func (export "spin") (param i32)
            (loop $l
              (block $b
                (br_table $b $l (local.get 0)))
              (br $l))))"#,
    );
    let switch = instance
        .get_typed_func::<i32, i32>(&mut store, "switch")
        .unwrap();
    // Operators run: 0 takes `$c0` and falls through `$c1`'s `end` (block, block, const,
    // local.get, br_table, const, add, end, const, add, end: 11); any other index branches
    // to `$c1` (the first five, const, add, end: 8).
    for (arg, result, used) in [(0, 111, 11), (1, 110, 8), (2, 110, 8), (-1, 110, 8)] {
        assert_uses_exactly(&mut store, &switch, arg, result, used);
    }
    // A table whose every target is forward still closes a loop through the `br` after it,
    // and one with a loop target charges before branching: both run out.
    let spin = instance
        .get_typed_func::<i32, ()>(&mut store, "spin")
        .unwrap();
    for arg in [0, 1] {
        store.set_fuel(10_000).unwrap();
        assert_eq!(trap_kind(spin.call(&mut store, arg)), Trap::OutOfFuel);
        assert_eq!(store.get_fuel().unwrap(), 0);
    }
}

#[test]
fn fuel_runs_out_in_loops_closed_by_any_branch() {
    let (mut store, instance) = metered(
        r#"(module
          (func (export "cast") (ref.i31 (i32.const 1))
            (loop $l (param anyref) (br_on_cast $l anyref (ref i31)) (drop)))
          (func (export "cast_fail") (ref.i31 (i32.const 1))
            (loop $l (param anyref) (br_on_cast_fail $l anyref (ref struct)) (drop)))
          (func (export "non_null") (ref.i31 (i32.const 1))
            (loop $l (param anyref) (br_on_non_null $l) (unreachable)))
          (func (export "table") (loop $l (br_table $l $l (i32.const 0)))))"#,
    );
    for name in ["cast", "cast_fail", "non_null", "table"] {
        let func = instance.get_typed_func::<(), ()>(&mut store, name).unwrap();
        store.set_fuel(10_000).unwrap();
        assert_eq!(
            trap_kind(func.call(&mut store, ())),
            Trap::OutOfFuel,
            "{name}"
        );
        assert_eq!(store.get_fuel().unwrap(), 0, "{name}");
    }
}

#[test]
fn without_the_settings_code_is_not_metered() {
    let (_engine, mut store, instance) = setup(&Config::new());
    assert!(store.get_fuel().is_err());
    assert!(store.set_fuel(10).is_err());
    store.set_epoch_deadline(0);
    let count = instance
        .get_typed_func::<i32, i32>(&mut store, "count")
        .unwrap();
    assert_eq!(count.call(&mut store, 100_000).unwrap(), 100_000);
}

/// Host functions that look at the fuel: `peek` records it, `nested` runs more wasm,
/// `refuel` sets it. Wasm functions pass the fuel left to their callees and return it to
/// their callers in registers; the trampolines to and from the host keep it in the store
/// while the host runs.
const HOST_CALLS: &str = r#"(module
  (import "h" "peek" (func $peek))
  (import "h" "nested" (func $nested))
  (import "h" "refuel" (func $refuel))
  (func (export "peek3") (call $peek) (call $peek) (call $peek))
  (func (export "around_nested") (call $peek) (call $nested) (call $peek))
  (func (export "refuel_then_burn") (call $refuel) (call $burn (i32.const 10000)))
  (func (export "burn_then_trap") (call $burn (i32.const 1000)) (unreachable))
  (func $burn (export "burn") (param i32) (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get 0))))))"#;

#[derive(Default)]
struct Peeks {
    fuel: Vec<u64>,
    burn: Option<wasmjit::TypedFunc<i32, ()>>,
}

#[test]
fn host_functions_see_and_set_the_fuel_and_traps_leave_it_counted() {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config).unwrap();
    let mut store = Store::new(&engine, Peeks::default());
    let mut linker = wasmjit::Linker::new(&engine);
    linker
        .func_wrap("h", "peek", |mut caller: wasmjit::Caller<'_, Peeks>| {
            let fuel = caller.get_fuel().unwrap();
            caller.data_mut().fuel.push(fuel);
        })
        .unwrap();
    linker
        .func_wrap("h", "nested", |mut caller: wasmjit::Caller<'_, Peeks>| {
            let burn = caller.data().burn.unwrap();
            burn.call(&mut caller, 1000).unwrap();
        })
        .unwrap();
    linker
        .func_wrap("h", "refuel", |mut caller: wasmjit::Caller<'_, Peeks>| {
            caller.set_fuel(1_000_000).unwrap();
        })
        .unwrap();
    let module = Module::new(&engine, HOST_CALLS).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let func = |store: &mut Store<Peeks>, name| {
        instance
            .get_typed_func::<(), ()>(&mut *store, name)
            .unwrap()
    };
    store.data_mut().burn = Some(instance.get_typed_func(&mut store, "burn").unwrap());

    store.set_fuel(1_000_000).unwrap();
    func(&mut store, "peek3").call(&mut store, ()).unwrap();
    let left = store.get_fuel().unwrap();
    let peeks = std::mem::take(&mut store.data_mut().fuel);
    assert!(
        1_000_000 > peeks[0] && peeks[0] > peeks[1] && peeks[1] > peeks[2] && peeks[2] > left,
        "{peeks:?}, then {left}"
    );
    assert_eq!(peeks[0] - peeks[1], peeks[1] - peeks[2], "{peeks:?}");

    // The nested call's fuel (8 operators per iteration) is gone when wasm goes on.
    func(&mut store, "around_nested")
        .call(&mut store, ())
        .unwrap();
    let peeks = std::mem::take(&mut store.data_mut().fuel);
    let nested = peeks[0] - peeks[1];
    assert!((8_000..8_100).contains(&nested), "{peeks:?}");

    // With 100 units wasm could not burn 10,000 iterations: it goes on with the host's
    // 1,000,000.
    store.set_fuel(100).unwrap();
    func(&mut store, "refuel_then_burn")
        .call(&mut store, ())
        .unwrap();
    let used = 1_000_000 - store.get_fuel().unwrap();
    assert!((80_000..80_100).contains(&used), "used {used}");

    // A trap leaves the fuel counted up to the last call, as the store sees it.
    store.set_fuel(1_000_000).unwrap();
    assert_eq!(
        trap_kind(func(&mut store, "burn_then_trap").call(&mut store, ())),
        Trap::UnreachableCodeReached
    );
    let used = 1_000_000 - store.get_fuel().unwrap();
    assert!((8_000..8_100).contains(&used), "used {used}");

    // Calls in a row, each one a trap or a return, each starting from the fuel set.
    let burn = store.data().burn.unwrap();
    for round in 0..20u64 {
        let fuel = if round % 2 == 0 { 50 } else { 1_000_000 };
        store.set_fuel(fuel).unwrap();
        let result = burn.call(&mut store, 100);
        assert_eq!(result.is_ok(), round % 2 == 1, "round {round}");
    }
}

/// Calls of every kind to `$burn` (`n` loop iterations, eight operators each), as wasm
/// functions pass the fuel to each other: directly, through a table, through a reference,
/// their tail forms, to another instance's function; a host function setting the fuel
/// between two wasm frames (reached through a table); a `throw` caught in the caller after
/// the callee burned, and one no wasm catches.
const CALLS: &str = r#"(module
  (type $t (func (param i32) (result i32)))
  (type $v (func))
  (import "other" "burn" (func $other (type $t)))
  (import "h" "refuel" (func $refuel (type $v)))
  (tag $e (param i32))
  (table 3 funcref)
  (elem (i32.const 0) func $burn $other $refuel)
  (elem declare func $burn)
  (func $burn (export "burn") (type $t) (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get 0))))
    (local.get $i))
  (func (export "direct") (type $t) (call $burn (local.get 0)))
  (func (export "indirect") (type $t) (call_indirect (type $t) (local.get 0) (i32.const 0)))
  (func (export "ref") (type $t) (call_ref $t (local.get 0) (ref.func $burn)))
  (func (export "tail") (type $t) (return_call $burn (local.get 0)))
  (func (export "tail_indirect") (type $t)
    (return_call_indirect (type $t) (local.get 0) (i32.const 0)))
  (func (export "tail_ref") (type $t) (return_call_ref $t (local.get 0) (ref.func $burn)))
  (func (export "imported") (type $t) (call $other (local.get 0)))
  (func (export "imported_indirect") (type $t)
    (call_indirect (type $t) (local.get 0) (i32.const 1)))
  (func $refuel_then_burn (type $t)
    (call_indirect (type $v) (i32.const 2))
    (call $burn (local.get 0)))
  (func (export "host_between") (type $t)
    (i32.add (call $refuel_then_burn (local.get 0)) (call $burn (local.get 0))))
  (func $burn_then_throw (param i32)
    (throw $e (call $burn (local.get 0))))
  (func (export "caught") (type $t)
    (block $h (result i32)
      (try_table (catch $e $h) (call $burn_then_throw (local.get 0)))
      (i32.const -1))
    (call $burn))
  (func (export "uncaught") (type $t)
    (call $burn_then_throw (local.get 0))
    (i32.const -1)))"#;

/// An instance of [`CALLS`] (with or without inlining), whose `refuel` sets the fuel to the
/// store's data, in a store with fuel metering.
fn calls_instance(inlining: bool) -> (Store<u64>, Instance) {
    let mut config = Config::new();
    config.consume_fuel(true).inlining(inlining);
    let engine = Engine::new(&config).unwrap();
    let mut store = Store::new(&engine, 0u64);
    let mut linker = wasmjit::Linker::new(&engine);
    linker
        .func_wrap("h", "refuel", |mut caller: wasmjit::Caller<'_, u64>| {
            let fuel = *caller.data();
            caller.set_fuel(fuel).unwrap();
        })
        .unwrap();
    let other = Module::new(&engine, LOOPS).unwrap();
    let other = linker.instantiate(&mut store, &other).unwrap();
    let count = other.get_export(&mut store, "count").unwrap();
    linker.define(&mut store, "other", "burn", count).unwrap();
    let module = Module::new(&engine, CALLS).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    (store, instance)
}

/// The fuel `name(n)` of [`CALLS`] uses, with its result.
fn fuel_of(store: &mut Store<u64>, instance: &Instance, name: &str, n: i32) -> (u64, i32) {
    let func = instance
        .get_typed_func::<i32, i32>(&mut *store, name)
        .unwrap();
    store.set_fuel(1_000_000).unwrap();
    let result = func.call(&mut *store, n).unwrap();
    (1_000_000 - store.get_fuel().unwrap(), result)
}

#[test]
fn fuel_passes_through_every_kind_of_call_and_back() {
    let kinds = [
        "direct",
        "indirect",
        "ref",
        "tail",
        "tail_indirect",
        "tail_ref",
        "imported",
        "imported_indirect",
    ];
    let mut counts = Vec::new();
    for inlining in [false, true] {
        let (mut store, instance) = calls_instance(inlining);
        for name in kinds {
            let (used, result) = fuel_of(&mut store, &instance, name, 1000);
            assert_eq!(result, 1000, "{name}");
            assert!((8_000..8_020).contains(&used), "{name}: used {used}");
            // Exactly enough fuel is enough, one unit less is not, and both leave none.
            let func = instance
                .get_typed_func::<i32, i32>(&mut store, name)
                .unwrap();
            store.set_fuel(used).unwrap();
            assert_eq!(func.call(&mut store, 1000).unwrap(), 1000, "{name}");
            assert_eq!(store.get_fuel().unwrap(), 0, "{name}");
            store.set_fuel(used - 1).unwrap();
            assert_eq!(trap_kind(func.call(&mut store, 1000)), Trap::OutOfFuel);
            assert_eq!(store.get_fuel().unwrap(), 0, "{name}");
            counts.push(used);
        }
    }
    // The same operators are counted with inlining as without.
    let (off, on) = counts.split_at(kinds.len());
    assert_eq!(off, on);
}

#[test]
fn a_host_function_setting_the_fuel_between_two_wasm_frames_sets_it_for_both() {
    let mut counts = Vec::new();
    for inlining in [false, true] {
        let (mut store, instance) = calls_instance(inlining);
        // The host sets 1,000,000 (what the call started with) once `$refuel_then_burn`
        // has run a few operators: the two burns after it (16 operators an iteration, one
        // in each frame) are what is used.
        *store.data_mut() = 1_000_000;
        let (used, result) = fuel_of(&mut store, &instance, "host_between", 1000);
        assert_eq!(result, 2000);
        assert!((16_000..16_030).contains(&used), "used {used}");
        counts.push(used);
        let func = instance
            .get_typed_func::<i32, i32>(&mut store, "host_between")
            .unwrap();
        // 20 units reach the host, which sets enough for both burns.
        store.set_fuel(20).unwrap();
        assert_eq!(func.call(&mut store, 1000).unwrap(), 2000);
        // Enough for both burns before the host sets too little for the caller's.
        *store.data_mut() = 10_000;
        store.set_fuel(1_000_000).unwrap();
        assert_eq!(trap_kind(func.call(&mut store, 1000)), Trap::OutOfFuel);
        assert_eq!(store.get_fuel().unwrap(), 0);
    }
    assert_eq!(counts[0], counts[1], "with and without inlining");
}

#[test]
fn a_caught_exception_leaves_the_handler_the_fuel_the_thrower_left() {
    let mut counts = Vec::new();
    for inlining in [false, true] {
        let (mut store, instance) = calls_instance(inlining);
        // The callee's burn and the handler's burn both count.
        let (used, result) = fuel_of(&mut store, &instance, "caught", 1000);
        assert_eq!(result, 1000);
        assert!((16_000..16_030).contains(&used), "used {used}");
        let caught = instance
            .get_typed_func::<i32, i32>(&mut store, "caught")
            .unwrap();
        store.set_fuel(used).unwrap();
        assert_eq!(caught.call(&mut store, 1000).unwrap(), 1000);
        assert_eq!(store.get_fuel().unwrap(), 0);
        store.set_fuel(used - 1).unwrap();
        assert_eq!(trap_kind(caught.call(&mut store, 1000)), Trap::OutOfFuel);
        // An exception no wasm catches leaves the thrower's fuel for the host.
        let uncaught = instance
            .get_typed_func::<i32, i32>(&mut store, "uncaught")
            .unwrap();
        store.set_fuel(1_000_000).unwrap();
        let err = uncaught.call(&mut store, 1000).unwrap_err();
        assert!(matches!(err, wasmjit::Error::Exception(_)), "{err}");
        let thrown = 1_000_000 - store.get_fuel().unwrap();
        assert!((8_000..8_020).contains(&thrown), "used {thrown}");
        counts.push((used, thrown));
    }
    assert_eq!(counts[0], counts[1], "with and without inlining");
}

/// A loop that calls a small function (inlined when inlining is on) and then traps; and
/// the same loop in a function that returns, called by one that then traps.
const STEPS_THEN_TRAP: &str = r#"(module
  (func $step (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func (export "steps_then_trap") (param $n i32) (local $i i32)
    (loop $l
      (local.set $i (call $step (local.get $i)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (unreachable))
  (func $steps (param $n i32) (local $i i32)
    (loop $l
      (local.set $i (call $step (local.get $i)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func (export "returns_then_trap") (param $n i32)
    (call $steps (local.get $n))
    (unreachable)))"#;

/// After a trap the store holds the fuel as the last call or return wrote it; the return of
/// an inlined callee is a jump and writes nothing.
#[test]
fn a_trap_leaves_the_fuel_counted_up_to_the_last_call_or_return_that_was_not_inlined() {
    let used = |inlining: bool, name: &str| {
        let mut config = Config::new();
        config.consume_fuel(true).inlining(inlining);
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, STEPS_THEN_TRAP).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let func = instance
            .get_typed_func::<i32, ()>(&mut store, name)
            .unwrap();
        store.set_fuel(1_000_000).unwrap();
        assert_eq!(
            trap_kind(func.call(&mut store, 100)),
            Trap::UnreachableCodeReached
        );
        1_000_000 - store.get_fuel().unwrap()
    };
    // Each iteration runs 7 operators of the loop and 4 of `$step` (its `end` included);
    // the `loop` runs once. The last write before the trap: called, the return of the
    // 100th `$step`; inlined, its call (the inlined return writes nothing).
    let before_last_call = 1 + 99 * 11 + 2;
    assert_eq!(used(false, "steps_then_trap"), before_last_call + 4);
    assert_eq!(used(true, "steps_then_trap"), before_last_call);
    // A function that inlined `$step` still writes the fuel at its own return: the caller's
    // two operators, then the `loop`, 100 iterations and the two `end`s of `$steps`.
    let returned = 2 + 1 + 100 * 11 + 2;
    assert_eq!(used(false, "returns_then_trap"), returned);
    assert_eq!(used(true, "returns_then_trap"), returned);
}
