//! Interrupting runaway code: epoch deadlines bumped from another thread, and fuel.

use std::time::Duration;

use wasmjit::{Config, Engine, Instance, Module, Store, Trap};
use wasmjit_tests::support::trap_kind;

const LOOPS: &str = r#"(module
  (func (export "forever") (loop $l (br $l)))
  (func $recurse (export "recurse") (call $recurse))
  (func (export "count") (param i32) (result i32) (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get 0))))
    (local.get $i)))"#;

fn setup(config: &Config) -> (Engine, Store<()>, Instance) {
    let engine = Engine::new(config).unwrap();
    let module = Module::new(&engine, LOOPS).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    (engine, store, instance)
}

#[test]
fn an_epoch_bump_from_another_thread_interrupts_an_infinite_loop() {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let (engine, mut store, instance) = setup(&config);
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
        let ticker = engine.clone();
        let timer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            ticker.increment_epoch();
        });
        assert_eq!(trap_kind(forever.call(&mut store, ())), Trap::Interrupt);
        timer.join().unwrap();
        // Past the deadline, every entry traps until it is moved.
        assert_eq!(trap_kind(count.call(&mut store, 1)), Trap::Interrupt);
    }
    store.set_epoch_deadline(1);
    assert_eq!(count.call(&mut store, 1000).unwrap(), 1000);
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
/// `refuel` sets it. Wasm keeps the fuel in a variable while a function runs, in the store
/// across calls.
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
