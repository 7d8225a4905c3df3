//! A memory laid out by one engine, used by code of another: instantiation (and
//! `Linker::define`) must refuse every memory whose layout does not give what the importing
//! code leaves unchecked, so the guest gets an error or a trap, never another memory's bytes
//! and never a fault outside linear memory (which aborts the process).

use wasmjit::{
    BoundsChecks, Config, Engine, Error, Instance, Linker, Memory, Module, SharedMemory, Store,
};
use wasmjit_tests::support::trap_kind;

/// A module importing a shared memory of one page (maximum 1) and reading or writing
/// anywhere in it.
const PEEK_POKE: &str = r#"(module
    (import "env" "memory" (memory 1 1 shared))
    (func (export "peek") (param i32) (result i32) (i32.load (local.get 0)))
    (func (export "poke") (param i32 i32) (i32.store (local.get 0) (local.get 1))))"#;

fn engine(configure: impl FnOnce(&mut Config)) -> Engine {
    let mut config = Config::new();
    configure(&mut config);
    Engine::new(&config).unwrap()
}

fn explicit() -> Engine {
    engine(|c| {
        c.bounds_checks(BoundsChecks::Explicit);
    })
}

/// Instantiates `wat` in a new store of `engine`, importing `memory` as `env`.`memory`.
fn instantiate_with(
    engine: &Engine,
    wat: &str,
    memory: &SharedMemory,
) -> (Store<()>, wasmjit::Result<Instance>) {
    let module = Module::new(engine, wat).unwrap();
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, &module, &[memory.clone().into()]);
    (store, instance)
}

fn link_error(result: wasmjit::Result<Instance>) -> String {
    match result {
        Err(Error::Link(message)) => message,
        other => panic!("expected a link error, got {other:?}"),
    }
}

#[test]
fn an_explicit_mode_shared_memory_is_refused_by_guard_page_code() {
    let memory = SharedMemory::new(&explicit(), 1, 1).unwrap();
    let guard_pages = Engine::default();
    let (_, result) = instantiate_with(&guard_pages, PEEK_POKE, &memory);
    let message = link_error(result);
    assert!(message.contains("`env`.`memory`"), "{message}");
    assert!(message.contains("guard pages"), "{message}");
    assert!(message.contains("explicit bounds checks"), "{message}");

    let mut store = Store::new(&guard_pages, ());
    let mut linker = Linker::new(&guard_pages);
    match linker.define(&mut store, "env", "memory", memory.clone()) {
        Err(Error::Link(message)) => assert!(message.contains("guard pages"), "{message}"),
        Err(other) => panic!("expected a link error, got {other}"),
        Ok(_) => panic!("Linker::define accepted an explicit-mode memory"),
    }
}

#[test]
fn a_guard_page_shared_memory_serves_explicit_code_of_another_engine() {
    let memory = SharedMemory::new(&Engine::default(), 1, 1).unwrap();
    let (mut store, result) = instantiate_with(&explicit(), PEEK_POKE, &memory);
    let instance = result.unwrap();
    let poke = instance
        .get_typed_func::<(i32, i32), ()>(&mut store, "poke")
        .unwrap();
    let peek = instance
        .get_typed_func::<i32, i32>(&mut store, "peek")
        .unwrap();
    poke.call(&mut store, (65532, 7)).unwrap();
    assert_eq!(peek.call(&mut store, 65532).unwrap(), 7);
    for address in [65533, 0x0100_0000, 0x0400_0000, -4] {
        trap_kind(peek.call(&mut store, address));
    }
}

#[test]
fn engines_with_the_same_memory_settings_share_a_memory() {
    // Fuel changes the code but not what it assumes of memories.
    let fuel = engine(|c| {
        c.consume_fuel(true);
    });
    let memory = SharedMemory::new(&Engine::default(), 1, 1).unwrap();
    let (mut store, result) = instantiate_with(&fuel, PEEK_POKE, &memory);
    let instance = result.unwrap();
    store.set_fuel(1_000).unwrap();
    let poke = instance
        .get_typed_func::<(i32, i32), ()>(&mut store, "poke")
        .unwrap();
    poke.call(&mut store, (8, 42)).unwrap();
    let mut bytes = [0; 4];
    memory.read(8, &mut bytes).unwrap();
    assert_eq!(u32::from_le_bytes(bytes), 42);
}

/// The largest static offset a 4-byte load leaves unchecked under `guard` bytes of guard.
fn largest_unchecked_offset(guard: u64) -> u64 {
    guard - 4
}

fn load_at_offset(offset: u64) -> String {
    format!(
        r#"(module
            (import "env" "memory" (memory 1 1 shared))
            (func (export "load") (param i32) (result i32)
                (i32.load offset={offset} (local.get 0))))"#
    )
}

#[test]
fn a_smaller_guard_is_refused_by_code_that_relies_on_a_larger_one() {
    let small_guard = engine(|c| {
        c.guard_size(64 << 10);
    });
    let memory = SharedMemory::new(&small_guard, 1, 1).unwrap();
    // The default engine leaves offsets up to its 32 MiB guard unchecked.
    let wat = load_at_offset(largest_unchecked_offset(32 << 20));
    let (_, result) = instantiate_with(&Engine::default(), &wat, &memory);
    let message = link_error(result);
    assert!(message.contains("a smaller guard"), "{message}");

    // The other way round is sound: the larger guard covers the smaller one's reach, and the
    // access at the edge of the smaller guard traps.
    let memory = SharedMemory::new(&Engine::default(), 1, 1).unwrap();
    let wat = load_at_offset(largest_unchecked_offset(64 << 10));
    let (mut store, result) = instantiate_with(&small_guard, &wat, &memory);
    let load = result
        .unwrap()
        .get_typed_func::<i32, i32>(&mut store, "load")
        .unwrap();
    for index in [-1, -65536, 65536, 4] {
        trap_kind(load.call(&mut store, index));
    }
}

#[test]
fn a_guest_cannot_reach_another_stores_secret_through_a_foreign_memory() {
    const SECRET: &[u8; 8] = b"secret!!";
    let engine = Engine::default();
    let mut victim_store = Store::new(&engine, ());
    let victim = Memory::new(&mut victim_store, 1, None, false).unwrap();
    victim.write(&mut victim_store, 0, SECRET).unwrap();
    let shared = SharedMemory::new(&explicit(), 1, 1).unwrap();
    let distance = (victim.data_ptr(&victim_store) as i64) - (shared.data_ptr() as i64);

    // Guard-page code may not use the explicit-mode memory at all.
    let (_, result) = instantiate_with(&engine, PEEK_POKE, &shared);
    link_error(result);

    // Explicit code may, and checks every access: the victim stays out of reach.
    let (mut store, result) = instantiate_with(&explicit(), PEEK_POKE, &shared);
    let instance = result.unwrap();
    let peek = instance
        .get_typed_func::<i32, i32>(&mut store, "peek")
        .unwrap();
    let poke = instance
        .get_typed_func::<(i32, i32), ()>(&mut store, "poke")
        .unwrap();
    if let Ok(address) = i32::try_from(distance) {
        trap_kind(peek.call(&mut store, address));
        trap_kind(poke.call(&mut store, (address, 0x0bad_f00d)));
    }
    for address in [65536, 0x0100_0000, 0x0400_0000, i32::MAX, -4] {
        trap_kind(peek.call(&mut store, address));
        trap_kind(poke.call(&mut store, (address, 0x0bad_f00d)));
    }
    let mut read = [0; 8];
    victim.read(&victim_store, 0, &mut read).unwrap();
    assert_eq!(&read, SECRET);
}

#[test]
fn an_access_past_any_possible_length_traps_and_ends_the_block() {
    // Offsets beyond the memory's maximum always trap; the code after them is unreachable
    // and must still compile, in both bounds-check modes.
    let wat = r#"(module
        (memory 1 1)
        (func (export "past") (param i32) (result i32)
            (i32.load offset=65536 (local.get 0))
            (i32.add (i32.const 1)))
        (func (export "store_past") (param i32)
            (i32.store offset=65533 (local.get 0) (i32.const 1))
            (i32.store (i32.const 0) (i32.const 2)))
        (func (export "first") (result i32) (i32.load (i32.const 0))))"#;
    for engine in [Engine::default(), explicit()] {
        let module = Module::new(&engine, wat).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).unwrap();
        let past = instance
            .get_typed_func::<i32, i32>(&mut store, "past")
            .unwrap();
        let store_past = instance
            .get_typed_func::<i32, ()>(&mut store, "store_past")
            .unwrap();
        let first = instance
            .get_typed_func::<(), i32>(&mut store, "first")
            .unwrap();
        trap_kind(past.call(&mut store, 0));
        trap_kind(store_past.call(&mut store, 0));
        assert_eq!(first.call(&mut store, ()).unwrap(), 0);
    }
}
