//! The pooling allocator: slots run out with an error and come back, a reused slot shows
//! nothing of the instance that held it before, guard regions still trap, and shared
//! memories, the limiter, fuel and epochs work on pooled memories.

use std::sync::Arc;
use std::thread;

use wasmjit::{
    BoundsChecks, Config, Engine, Error, Instance, InstanceAllocationStrategy, Memory, MemoryError,
    Module, PoolingAllocationConfig, SharedMemory, Store, StoreLimitsBuilder, Trap,
};

/// A module with one memory of `pages` pages (growable to 4) holding `data` at `offset`,
/// exporting it, `grow`, and `load` of a byte at any address.
fn module_text(pages: u32, offset: u32, data: &str) -> String {
    format!(
        r#"(module
          (memory (export "memory") {pages} 4)
          (data (i32.const {offset}) "{data}")
          (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
          (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0))))"#
    )
}

fn pooled_engine(
    slots: u32,
    configure: impl FnOnce(&mut Config, &mut PoolingAllocationConfig),
) -> Engine {
    let mut config = Config::new();
    let mut pool = PoolingAllocationConfig::new();
    pool.total_memories(slots).max_memory_size(4 << 16);
    configure(&mut config, &mut pool);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&config).unwrap()
}

#[test]
fn exhausting_the_pool_is_an_error_until_a_slot_comes_back() {
    let engine = pooled_engine(2, |_, _| {});
    let module = Module::new(&engine, module_text(1, 0, "x")).unwrap();
    let mut stores: Vec<Store<()>> = (0..2).map(|_| Store::new(&engine, ())).collect();
    for store in &mut stores {
        Instance::new(store, &module, &[]).unwrap();
    }
    let mut third = Store::new(&engine, ());
    let err = Instance::new(&mut third, &module, &[]).unwrap_err();
    assert!(
        matches!(err, Error::Memory(MemoryError::PoolExhausted { slots: 2 })),
        "{err}"
    );
    assert!(
        err.to_string().contains("memory slots are all in use"),
        "{err}"
    );
    assert!(Memory::new(&mut third, 1, None, false).is_err());
    stores.pop();
    Instance::new(&mut third, &module, &[]).unwrap();
}

#[test]
fn memories_larger_than_a_slot_are_refused_and_growth_stops_at_the_slot() {
    let engine = pooled_engine(1, |_, _| {});
    let too_big = Module::new(&engine, "(module (memory 5))").unwrap();
    let mut store = Store::new(&engine, ());
    let err = Instance::new(&mut store, &too_big, &[]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Memory(MemoryError::PoolSlotTooSmall { pages: 5, limit: 4 })
        ),
        "{err}"
    );
    let module = Module::new(&engine, "(module (memory (export \"m\") 1) (func (export \"grow\") (param i32) (result i32) (memory.grow (local.get 0))))").unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let grow = instance
        .get_typed_func::<i32, i32>(&mut store, "grow")
        .unwrap();
    assert_eq!(grow.call(&mut store, 4).unwrap(), -1);
    assert_eq!(grow.call(&mut store, 3).unwrap(), 1);
    assert_eq!(grow.call(&mut store, 1).unwrap(), -1);
}

/// Checks that `memory` holds exactly `data` at `offset` and zeros elsewhere.
fn assert_fresh(memory: &[u8], offset: usize, data: &[u8], what: &str) {
    let end = offset + data.len();
    assert_eq!(&memory[offset..end], data, "{what}: data segment");
    if let Some(i) = memory[..offset].iter().position(|b| *b != 0) {
        panic!("{what}: stale byte {:#x} at {i}", memory[i]);
    }
    if let Some(i) = memory[end..].iter().position(|b| *b != 0) {
        panic!("{what}: stale byte {:#x} at {}", memory[end + i], end + i);
    }
}

/// Instantiates and drops `cycles` times through a pool of 10 slots, alternating two
/// modules of different sizes and data, with up to 5 stores alive at once. Each new
/// instance's memory is scanned whole, before and after growing, and then filled with a
/// secret before its store is dropped.
fn cycle_through_the_pool(engine: &Engine, cycles: usize) {
    let layouts = [
        (1usize, 100usize, "first module's data"),
        (2, 70_000, "second"),
    ];
    let modules: Vec<Module> = layouts
        .iter()
        .map(|(pages, offset, data)| {
            Module::new(engine, module_text(*pages as u32, *offset as u32, data)).unwrap()
        })
        .collect();
    let mut live: std::collections::VecDeque<Store<()>> = Default::default();
    for cycle in 0..cycles {
        let which = (cycle / 3) % 2;
        let (pages, offset, data) = layouts[which];
        let mut store = Store::new(engine, ());
        let instance = Instance::new(&mut store, &modules[which], &[]).unwrap();
        let memory = instance.get_memory(&mut store, "memory").unwrap();
        assert_eq!(memory.data_size(&store), pages << 16);
        assert_fresh(memory.data(&store), offset, data.as_bytes(), "new instance");
        let grow = instance
            .get_typed_func::<i32, i32>(&mut store, "grow")
            .unwrap();
        let delta = (cycle % 3) as i32;
        assert_eq!(grow.call(&mut store, delta).unwrap(), pages as i32);
        assert_fresh(memory.data(&store), offset, data.as_bytes(), "after grow");
        let secret = 0xa5 ^ (cycle as u8);
        memory.data_mut(&mut store).fill(secret.max(1));
        let load = instance
            .get_typed_func::<i32, i32>(&mut store, "load")
            .unwrap();
        let last = memory.data_size(&store) as i32 - 1;
        assert_eq!(
            load.call(&mut store, last).unwrap(),
            i32::from(secret.max(1))
        );
        live.push_back(store);
        if live.len() > 5 || cycle % 7 == 0 {
            live.pop_front();
        }
    }
}

#[test]
fn ten_thousand_cycles_through_ten_slots_leave_nothing_behind() {
    let engine = pooled_engine(10, |_, _| {});
    cycle_through_the_pool(&engine, 10_000);
}

#[test]
fn reset_by_hand_and_without_images_leaves_nothing_behind() {
    let engine = pooled_engine(10, |config, pool| {
        config.memory_init_cow(false);
        pool.linear_memory_keep_resident(70_000);
    });
    cycle_through_the_pool(&engine, 2_000);
    let engine = pooled_engine(10, |_, pool| {
        pool.linear_memory_keep_resident(1 << 20);
    });
    cycle_through_the_pool(&engine, 2_000);
}

#[test]
fn threads_share_the_pool_without_sharing_slots() {
    let engine = pooled_engine(8, |_, _| {});
    let module = Module::new(&engine, module_text(1, 8, "mine")).unwrap();
    let handles: Vec<_> = (0..4u8)
        .map(|t| {
            let (engine, module) = (engine.clone(), module.clone());
            thread::spawn(move || {
                for _ in 0..500 {
                    let mut store = Store::new(&engine, ());
                    let instance = Instance::new(&mut store, &module, &[]).unwrap();
                    let memory = instance.get_memory(&mut store, "memory").unwrap();
                    assert_fresh(memory.data(&store), 8, b"mine", "threaded");
                    memory.data_mut(&mut store).fill(t + 1);
                    thread::yield_now();
                    assert!(memory.data(&store).iter().all(|b| *b == t + 1));
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}

fn assert_oob(result: wasmjit::Result<i32>) {
    match result {
        Err(Error::Trap(trap)) => assert_eq!(trap, Trap::MemoryOutOfBounds),
        other => panic!("expected an out-of-bounds trap, got {other:?}"),
    }
}

#[test]
fn accesses_past_a_pooled_memory_trap() {
    for checks in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let engine = pooled_engine(3, |config, _| {
            config.bounds_checks(checks);
        });
        let module = Module::new(&engine, module_text(1, 0, "a")).unwrap();
        // Neighbouring slots in use, so a stray access would have something to hit.
        let mut stores: Vec<Store<()>> = (0..3).map(|_| Store::new(&engine, ())).collect();
        let instances: Vec<Instance> = stores
            .iter_mut()
            .map(|store| Instance::new(store, &module, &[]).unwrap())
            .collect();
        let store = &mut stores[1];
        let load = instances[1]
            .get_typed_func::<i32, i32>(&mut *store, "load")
            .unwrap();
        assert_eq!(load.call(&mut *store, 0).unwrap(), i32::from(b'a'));
        assert_eq!(load.call(&mut *store, 65535).unwrap(), 0);
        for addr in [65536, 4 << 16, 1 << 30, -1] {
            assert_oob(load.call(&mut *store, addr));
        }
        let grow = instances[1]
            .get_typed_func::<i32, i32>(&mut *store, "grow")
            .unwrap();
        assert_eq!(grow.call(&mut *store, 1).unwrap(), 1);
        assert_eq!(load.call(&mut *store, 131071).unwrap(), 0);
        assert_oob(load.call(&mut *store, 131072));
    }
}

#[test]
fn a_shared_memory_frees_its_slot_when_the_last_holder_drops_it() {
    let engine = pooled_engine(1, |_, _| {});
    let shared = SharedMemory::new(&engine, 1, 2).unwrap();
    let module = Module::new(
        &engine,
        r#"(module (memory (import "env" "memory") 1 2 shared)
             (func (export "store") (i32.store8 (i32.const 3) (i32.const 42))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[shared.clone().into()]).unwrap();
    instance
        .get_typed_func::<(), ()>(&mut store, "store")
        .unwrap()
        .call(&mut store, ())
        .unwrap();
    let mut byte = [0];
    shared.read(3, &mut byte).unwrap();
    assert_eq!(byte, [42]);
    drop(shared);
    let err = SharedMemory::new(&engine, 1, 1).unwrap_err();
    assert!(
        matches!(err, Error::Memory(MemoryError::PoolExhausted { .. })),
        "{err}"
    );
    drop(store);
    let again = SharedMemory::new(&engine, 1, 1).unwrap();
    again.read(3, &mut byte).unwrap();
    assert_eq!(byte, [0], "the shared memory's bytes survived its slot");
}

#[test]
fn the_limiter_fuel_and_epochs_work_on_pooled_memories() {
    let engine = pooled_engine(2, |config, _| {
        config.consume_fuel(true).epoch_interruption(true);
    });
    let module = Module::new(
        &engine,
        r#"(module (memory (export "memory") 1 4)
             (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
             (func (export "spin") (loop (br 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(
        &engine,
        StoreLimitsBuilder::new().memory_size(2 << 16).build(),
    );
    store.limiter(|limits| limits);
    store.set_fuel(1_000_000).unwrap();
    store.set_epoch_deadline(1_000);
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let grow = instance
        .get_typed_func::<i32, i32>(&mut store, "grow")
        .unwrap();
    assert_eq!(grow.call(&mut store, 2).unwrap(), -1);
    assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
    let spin = instance
        .get_typed_func::<(), ()>(&mut store, "spin")
        .unwrap();
    match spin.call(&mut store, ()) {
        Err(Error::Trap(trap)) => assert_eq!(trap, Trap::OutOfFuel),
        other => panic!("expected out of fuel, got {other:?}"),
    }
    store.set_fuel(u64::MAX).unwrap();
    store.set_epoch_deadline(1);
    let ticker = {
        let engine = engine.clone();
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = done.clone();
        (
            thread::spawn(move || {
                while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                    engine.increment_epoch();
                    thread::sleep(std::time::Duration::from_millis(1));
                }
            }),
            done,
        )
    };
    match spin.call(&mut store, ()) {
        Err(Error::Trap(trap)) => assert_eq!(trap, Trap::Interrupt),
        other => panic!("expected an interrupt, got {other:?}"),
    }
    ticker.1.store(true, std::sync::atomic::Ordering::Relaxed);
    ticker.0.join().unwrap();
}

#[test]
fn instance_and_table_limits_are_errors() {
    let engine = pooled_engine(10, |_, pool| {
        pool.total_core_instances(2)
            .total_tables(3)
            .table_elements(5);
    });
    let two_tables = Module::new(
        &engine,
        r#"(module (table 1 funcref) (table (export "t") 2 funcref)
             (func (export "grow") (param i32) (result i32)
               (table.grow 1 (ref.null func) (local.get 0))))"#,
    )
    .unwrap();
    let no_tables = Module::new(&engine, "(module)").unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &two_tables, &[]).unwrap();
    let grow = instance
        .get_typed_func::<i32, i32>(&mut store, "grow")
        .unwrap();
    assert_eq!(grow.call(&mut store, 4).unwrap(), -1);
    assert_eq!(grow.call(&mut store, 3).unwrap(), 2);
    // Only one table left: a second instance of the module does not fit.
    let mut other = Store::new(&engine, ());
    let err = Instance::new(&mut other, &two_tables, &[]).unwrap_err();
    assert!(
        matches!(&err, Error::Limit(m) if m.contains("3 tables")),
        "{err}"
    );
    // The refused instantiation gave its instance back: one more fits, then none.
    Instance::new(&mut other, &no_tables, &[]).unwrap();
    let err = Instance::new(&mut other, &no_tables, &[]).unwrap_err();
    assert!(
        matches!(&err, Error::Limit(m) if m.contains("2 instances")),
        "{err}"
    );
    drop(store);
    Instance::new(&mut other, &two_tables, &[]).unwrap();
    drop(other);
    let too_long = Module::new(&engine, "(module (table 6 funcref))").unwrap();
    let mut third = Store::new(&engine, ());
    assert!(matches!(
        Instance::new(&mut third, &too_long, &[]),
        Err(Error::Table(_))
    ));
}
