//! The collector under load: programs that allocate far more than their store's GC heap
//! limit allows at once run to completion (so their garbage is collected, cycles included)
//! with bounded memory, and collections during deep recursion keep every object the frames
//! hold, in every call into wasm in progress (wasm that called the host that called wasm
//! again). The programs are in `tests/gc/*.wat`; each checks its own objects and traps if
//! one is wrong.

use wasmjit::{
    Caller, Config, Engine, Error, Instance, Linker, Module, Store, StoreLimits,
    StoreLimitsBuilder, TypedFunc,
};

/// A store whose GC heap may hold at most `limit` bytes, and `file` instantiated in it. The
/// wasm stack is 1 MiB: 5,000 frames each holding two references across their call take
/// more than the default 512 KiB.
fn instantiate(file: &str, limit: usize) -> (Store<StoreLimits>, Instance) {
    let engine = Engine::new(Config::new().max_wasm_stack(1 << 20)).unwrap();
    let mut store = Store::new(
        &engine,
        StoreLimitsBuilder::new().gc_heap_size(limit).build(),
    );
    store.limiter(|limits| limits);
    let path = format!("{}/gc/{file}", env!("CARGO_MANIFEST_DIR"));
    let module = Module::from_file(&engine, &path).unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    (store, instance)
}

/// This process's resident memory in bytes.
fn resident_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: usize = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib << 10
}

#[test]
fn ten_gib_of_lists_trees_and_ref_arrays_go_through_a_64_mib_heap() {
    const SIZE: i32 = 4096;
    // Each round: a list of 1,000 cells, a tree of 1,023 nodes, an array of 1,000
    // references, every one with a 4 KiB byte array: some 12 MiB, all garbage at its end
    // (4 KiB arrays keep the object count, and the time under QEMU, modest).
    let per_round = 3023 * (SIZE as usize);
    let rounds = ((10usize << 30) / per_round) as i32;
    let (mut store, instance) = instantiate("churn.wat", 64 << 20);
    let churn = instance
        .get_typed_func::<(i32, i32), i64>(&mut store, "churn")
        .unwrap();
    let before = resident_bytes();
    let sum = churn.call(&mut store, (rounds, SIZE)).unwrap();
    let grown = resident_bytes().saturating_sub(before);
    // What each round reads back: the list's bytes are its indices' low bytes, the tree's
    // are 1 and the reference array's 2.
    let list: i64 = (0..1000).map(|i| i64::from(i % 256)).sum();
    assert_eq!(sum, i64::from(rounds) * (list + 1023 + 2 * 1000));
    assert!(
        grown < 256 << 20,
        "resident memory grew by {} MiB for a 64 MiB GC heap",
        grown >> 20
    );
}

#[test]
fn collections_in_deep_recursion_keep_what_every_frame_holds() {
    const DEPTH: i32 = 5000;
    let (mut store, instance) = instantiate("deep.wat", 16 << 20);
    let deep = instance
        .get_typed_func::<(i32, i32, i32), i64>(&mut store, "deep")
        .unwrap();
    // At the bottom, a chain of 40,000 objects of 256 bytes (some 12 MiB, all live until
    // the function making it returns) in a 16 MiB heap: a collection at each doubling of
    // the live bytes while 5,000 frames each hold a struct and an array. (200,000 such
    // objects, 58 MiB live at once, cannot fit: see the test below.)
    let sum = deep.call(&mut store, (DEPTH, 40_000, 256)).unwrap();
    assert_eq!(sum, i64::from(DEPTH) * i64::from(DEPTH + 1) / 2);
}

#[test]
fn unreachable_cycles_between_structs_and_arrays_are_reclaimed() {
    let (mut store, instance) = instantiate("cycles.wat", 16 << 20);
    let cycles = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "cycles")
        .unwrap();
    // 1,000,000 cycles of a struct, an array of 8 references back to it and 1 KiB of
    // payload: about 1 GiB through a 16 MiB heap.
    assert_eq!(
        cycles.call(&mut store, (1_000_000, 1024)).unwrap(),
        1_000_000
    );
}

#[test]
fn live_data_beyond_the_limit_is_a_trap_and_the_store_goes_on() {
    let (mut store, instance) = instantiate("deep.wat", 1 << 20);
    let deep = instance
        .get_typed_func::<(i32, i32, i32), i64>(&mut store, "deep")
        .unwrap();
    // 100,000 objects of 64 bytes kept alive together (6 MiB) cannot fit in 1 MiB.
    let error = deep.call(&mut store, (1, 100_000, 64)).unwrap_err();
    assert!(matches!(error, Error::Trap(_)), "{error}");
    // Once they are garbage, the heap serves the next call.
    assert_eq!(deep.call(&mut store, (10, 1000, 64)).unwrap(), 55);
}

/// The store data of the re-entry test: the limits, and the module's exports for the host
/// function to call.
struct Reentry {
    limits: StoreLimits,
    outer: Option<TypedFunc<(i32, i32), i64>>,
    churn: Option<TypedFunc<i32, ()>>,
}

#[test]
fn collections_in_nested_calls_keep_what_the_outer_calls_hold() {
    const LENGTH: i32 = 1000;
    const DEPTH: i32 = 4;
    let engine = Engine::default();
    let path = format!("{}/gc/reenter.wat", env!("CARGO_MANIFEST_DIR"));
    let module = Module::from_file(&engine, &path).unwrap();
    let mut store = Store::new(
        &engine,
        Reentry {
            limits: StoreLimitsBuilder::new().gc_heap_size(8 << 20).build(),
            outer: None,
            churn: None,
        },
    );
    store.limiter(|data| &mut data.limits);
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "host",
            "reenter",
            |mut caller: Caller<'_, Reentry>, depth: i32| -> wasmjit::Result<()> {
                let outer = caller.data().outer.unwrap();
                let churn = caller.data().churn.unwrap();
                // Below the outermost call, each level's list (about 1 MiB) waits in its
                // frame while the level under it runs.
                if depth > 0 {
                    let sum = outer.call(&mut caller, (LENGTH, depth - 1))?;
                    assert_eq!(sum, expected_sum(LENGTH));
                }
                // 32 MiB of garbage through an 8 MiB heap: it must collect while every
                // enclosing call's frames hold their lists.
                churn.call(&mut caller, 512)?;
                caller.gc();
                Ok(())
            },
        )
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    store.data_mut().outer = Some(instance.get_typed_func(&mut store, "outer").unwrap());
    store.data_mut().churn = Some(instance.get_typed_func(&mut store, "churn").unwrap());
    let outer = store.data().outer.unwrap();
    assert_eq!(
        outer.call(&mut store, (LENGTH, DEPTH)).unwrap(),
        expected_sum(LENGTH)
    );
}

/// What `outer` of `reenter.wat` returns for a list of `length` cells: each cell gives its
/// value and its array's last byte (the value's low byte).
fn expected_sum(length: i32) -> i64 {
    (1..=i64::from(length)).map(|v| v + v % 256).sum()
}
