//! Shared memory used by several threads at once: exact atomic counters, wait/notify across
//! threads, and growth seen by every holder. Bounded: each test ends on its own.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use wasmjit::{Engine, Error, Instance, Module, SharedMemory, Store, Trap};

const COUNTER: &str = r#"(module
  (memory (import "env" "mem") 1 16 shared)
  (func (export "add") (param $n i32)
    (loop $next
      (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "wait") (param $expected i32) (param $timeout i64) (result i32)
    (memory.atomic.wait32 (i32.const 64) (local.get $expected) (local.get $timeout)))
  (func (export "notify") (result i32)
    (i32.atomic.store (i32.const 64) (i32.const 1))
    (memory.atomic.notify (i32.const 64) (i32.const 1)))
  (func (export "load") (param i32) (result i32) (i32.atomic.load (local.get 0)))
  (func (export "pages") (result i32) (memory.size)))"#;

fn instance(engine: &Engine, module: &Module, memory: &SharedMemory) -> (Store<()>, Instance) {
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, module, &[memory.clone().into()]).unwrap();
    (store, instance)
}

#[test]
fn four_threads_add_a_million_each_exactly() {
    let engine = Engine::default();
    let module = Module::new(&engine, COUNTER).unwrap();
    let memory = SharedMemory::new(&engine, 1, 16).unwrap();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (engine, module, memory) = (engine.clone(), module.clone(), memory.clone());
            thread::spawn(move || {
                let (mut store, instance) = instance(&engine, &module, &memory);
                let add = instance
                    .get_typed_func::<i32, ()>(&mut store, "add")
                    .unwrap();
                add.call(&mut store, 1_000_000).unwrap();
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let mut word = [0u8; 4];
    memory.read(0, &mut word).unwrap();
    assert_eq!(u32::from_le_bytes(word), 4_000_000);
}

#[test]
fn wait_is_woken_by_notify_from_another_thread() {
    let engine = Engine::default();
    let module = Module::new(&engine, COUNTER).unwrap();
    let memory = SharedMemory::new(&engine, 1, 16).unwrap();
    let (mut store, main) = instance(&engine, &module, &memory);
    let wait = main
        .get_typed_func::<(i32, i64), i32>(&mut store, "wait")
        .unwrap();
    assert_eq!(wait.call(&mut store, (5, 0)).unwrap(), 1, "not equal");
    assert_eq!(
        wait.call(&mut store, (0, 1_000_000)).unwrap(),
        2,
        "timed out"
    );

    let barrier = Arc::new(Barrier::new(2));
    let done = Arc::new(AtomicBool::new(false));
    let notifier = {
        let (engine, module, memory, barrier, done) = (
            engine.clone(),
            module.clone(),
            memory.clone(),
            barrier.clone(),
            done.clone(),
        );
        thread::spawn(move || {
            let (mut store, instance) = instance(&engine, &module, &memory);
            let notify = instance
                .get_typed_func::<(), i32>(&mut store, "notify")
                .unwrap();
            barrier.wait();
            let mut woken = 0;
            while woken == 0 && !done.load(Ordering::SeqCst) {
                woken = notify.call(&mut store, ()).unwrap();
                thread::yield_now();
            }
            woken
        })
    };
    barrier.wait();
    let status = wait.call(&mut store, (0, 10_000_000_000)).unwrap();
    done.store(true, Ordering::SeqCst);
    let woken = notifier.join().unwrap();
    // Either the wait parked and was woken, or the notifier's store came first.
    assert!(
        (status == 0 && woken == 1) || status == 1,
        "wait {status}, notify {woken}"
    );
}

#[test]
fn wait_on_a_non_shared_memory_traps() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (memory 1)
             (func (export "wait") (result i32)
               (memory.atomic.wait32 (i32.const 0) (i32.const 0) (i64.const 0)))
             (func (export "notify") (result i32)
               (memory.atomic.notify (i32.const 0) (i32.const 1)))
             (func (export "unaligned") (result i32) (i32.atomic.load (i32.const 2))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let kind = |r: wasmjit::Result<i32>| match r {
        Err(Error::Trap(t)) => t,
        other => panic!("expected a trap, got {other:?}"),
    };
    let wait = instance
        .get_typed_func::<(), i32>(&mut store, "wait")
        .unwrap();
    assert_eq!(
        kind(wait.call(&mut store, ())),
        Trap::AtomicWaitNonSharedMemory
    );
    let notify = instance
        .get_typed_func::<(), i32>(&mut store, "notify")
        .unwrap();
    assert_eq!(notify.call(&mut store, ()).unwrap(), 0);
    let unaligned = instance
        .get_typed_func::<(), i32>(&mut store, "unaligned")
        .unwrap();
    assert_eq!(kind(unaligned.call(&mut store, ())), Trap::HeapMisaligned);
}

#[test]
fn growth_from_one_thread_is_seen_by_readers_near_the_old_end() {
    let engine = Engine::default();
    let module = Module::new(&engine, COUNTER).unwrap();
    let memory = SharedMemory::new(&engine, 1, 16).unwrap();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (engine, module, memory) = (engine.clone(), module.clone(), memory.clone());
            thread::spawn(move || {
                let (mut store, instance) = instance(&engine, &module, &memory);
                let load = instance
                    .get_typed_func::<i32, i32>(&mut store, "load")
                    .unwrap();
                let pages = instance
                    .get_typed_func::<(), i32>(&mut store, "pages")
                    .unwrap();
                let mut last = 1;
                while last < 16 {
                    let now = pages.call(&mut store, ()).unwrap();
                    assert!(now >= last, "the size only rises");
                    let edge = now * 65536 - 4;
                    assert_eq!(load.call(&mut store, edge).unwrap(), 0);
                    last = now;
                }
            })
        })
        .collect();
    for _ in 0..15 {
        memory.grow(1).unwrap();
        thread::yield_now();
    }
    assert!(memory.grow(1).is_err());
    for r in readers {
        r.join().unwrap();
    }
}

#[test]
fn the_host_uses_the_same_atomics_and_waits_as_wasm() {
    use std::time::Duration;
    use wasmjit::{AtomicAccessError, WaitResult};

    let engine = Engine::default();
    let module = Module::new(&engine, COUNTER).unwrap();
    let memory = SharedMemory::new(&engine, 1, 16).unwrap();
    let counter = memory.atomic_u32(0).unwrap();
    counter.fetch_add(41, Ordering::SeqCst);
    let (mut store, instance) = instance(&engine, &module, &memory);
    let add = instance
        .get_typed_func::<i32, ()>(&mut store, "add")
        .unwrap();
    add.call(&mut store, 1).unwrap();
    assert_eq!(counter.load(Ordering::SeqCst), 42);
    assert!(matches!(
        memory.atomic_u32(2),
        Err(AtomicAccessError::Unaligned { .. })
    ));
    assert!(matches!(
        memory.atomic_u64(65536),
        Err(AtomicAccessError::OutOfBounds(_))
    ));
    assert_eq!(
        memory.atomic_wait32(64, 7, Some(Duration::ZERO)).unwrap(),
        WaitResult::NotEqual
    );
    assert_eq!(
        memory
            .atomic_wait32(64, 0, Some(Duration::from_millis(1)))
            .unwrap(),
        WaitResult::TimedOut
    );

    // wasm's notify wakes a waiting host thread.
    let waiter = {
        let memory = memory.clone();
        thread::spawn(move || memory.atomic_wait32(64, 0, Some(Duration::from_secs(30))))
    };
    let notify = instance
        .get_typed_func::<(), i32>(&mut store, "notify")
        .unwrap();
    let mut woken = 0;
    while woken == 0 && !waiter.is_finished() {
        woken = notify.call(&mut store, ()).unwrap();
        thread::yield_now();
    }
    let result = waiter.join().unwrap().unwrap();
    assert!(
        result == WaitResult::Woken || result == WaitResult::NotEqual,
        "{result:?}"
    );
    assert_eq!(memory.atomic_notify(64, 1).unwrap(), 0);
}

#[test]
fn a_lock_from_cmpxchg_and_wait_loses_no_update() {
    const LOCKED: &str = r#"(module
      (memory (import "env" "mem") 1 1 shared)
      (func $lock
        (loop $retry
          (if (i32.atomic.rmw.cmpxchg (i32.const 8) (i32.const 0) (i32.const 1))
            (then
              (drop (memory.atomic.wait32 (i32.const 8) (i32.const 1) (i64.const -1)))
              (br $retry)))))
      (func $unlock
        (i32.atomic.store (i32.const 8) (i32.const 0))
        (drop (memory.atomic.notify (i32.const 8) (i32.const 1))))
      (func (export "work") (param $n i32)
        (loop $next
          (call $lock)
          ;; A plain, non-atomic read-modify-write: only the lock keeps it exact.
          (i32.store (i32.const 16) (i32.add (i32.load (i32.const 16)) (i32.const 1)))
          (call $unlock)
          (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))"#;
    let engine = Engine::default();
    let module = Module::new(&engine, LOCKED).unwrap();
    let memory = SharedMemory::new(&engine, 1, 1).unwrap();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let (engine, module, memory) = (engine.clone(), module.clone(), memory.clone());
            thread::spawn(move || {
                let (mut store, instance) = instance(&engine, &module, &memory);
                let work = instance
                    .get_typed_func::<i32, ()>(&mut store, "work")
                    .unwrap();
                work.call(&mut store, 20_000).unwrap();
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let mut word = [0u8; 4];
    memory.read(16, &mut word).unwrap();
    assert_eq!(u32::from_le_bytes(word), 80_000);
}
