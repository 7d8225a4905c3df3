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
