//! Every rule of `WebAssembly.Memory` that wasmjit's `Memory` follows (atomics aside), each
//! checked through the public API.

use wasmjit::{
    Config, Engine, Error, Instance, Linker, Memory, MemoryError, Module, SharedMemory, Store,
};

const PAGE: usize = 65536;

fn store() -> Store<()> {
    Store::new(&Engine::default(), ())
}

fn memory_error(result: wasmjit::Result<Memory>) -> MemoryError {
    match result {
        Err(Error::Memory(e)) => e,
        other => panic!("expected a memory error, got {other:?}"),
    }
}

#[test]
fn limits_above_65536_pages_are_errors() {
    let mut store = store();
    let initial = memory_error(Memory::new(&mut store, 65537, None, false));
    let maximum = memory_error(Memory::new(&mut store, 1, Some(65537), false));
    assert_ne!(initial.to_string(), "");
    assert_ne!(maximum.to_string(), "");
    assert!(Memory::new(&mut store, 0, Some(65536), false).is_ok());
}

#[test]
fn initial_above_maximum_is_an_error() {
    let mut store = store();
    let e = memory_error(Memory::new(&mut store, 3, Some(2), false));
    let other = memory_error(Memory::new(&mut store, 1, None, true));
    assert_ne!(e, other, "each rule has its own error");
}

#[test]
fn shared_memory_needs_a_maximum() {
    let mut store = store();
    memory_error(Memory::new(&mut store, 1, None, true));
    let shared = Memory::new(&mut store, 1, Some(2), true).unwrap();
    assert!(shared.is_shared(&store));
}

#[test]
fn a_new_memory_is_zeroed_and_exactly_its_initial_size() {
    let mut store = store();
    let memory = Memory::new(&mut store, 3, Some(10), false).unwrap();
    assert_eq!(memory.size(&store), 3);
    assert_eq!(memory.data_size(&store), 3 * PAGE);
    assert!(memory.data(&store).iter().all(|b| *b == 0));
    let empty = Memory::new(&mut store, 0, None, false).unwrap();
    assert_eq!(empty.data_size(&store), 0);
    assert!(empty.data(&store).is_empty());
}

#[test]
fn a_refused_reservation_is_an_error() {
    let mut config = Config::new();
    // More address space than any 64-bit machine has.
    config.guard_size(1 << 62);
    let engine = Engine::new(&config).unwrap();
    let mut store = Store::new(&engine, ());
    memory_error(Memory::new(&mut store, 1, None, false));
}

#[test]
fn grow_returns_the_old_size_and_adds_zeroed_pages() {
    let mut store = store();
    let memory = Memory::new(&mut store, 3, Some(10), false).unwrap();
    memory.data_mut(&mut store)[3 * PAGE - 1] = 7;
    assert_eq!(memory.grow(&mut store, 2).unwrap(), 3);
    assert_eq!(memory.size(&store), 5);
    assert_eq!(memory.data_size(&store), 5 * PAGE);
    assert_eq!(memory.data(&store)[3 * PAGE - 1], 7);
    assert!(memory.data(&store)[3 * PAGE..].iter().all(|b| *b == 0));
}

#[test]
fn grow_zero_returns_the_current_size() {
    let mut store = store();
    let memory = Memory::new(&mut store, 4, Some(4), false).unwrap();
    assert_eq!(memory.grow(&mut store, 0).unwrap(), 4);
    assert_eq!(memory.size(&store), 4);
}

#[test]
fn a_failed_grow_changes_nothing() {
    let mut store = store();
    let memory = Memory::new(&mut store, 2, Some(3), false).unwrap();
    memory.data_mut(&mut store)[100] = 42;
    let ptr = memory.data_ptr(&store);
    assert!(matches!(memory.grow(&mut store, 2), Err(Error::Memory(_))));
    assert_eq!(memory.size(&store), 2);
    assert_eq!(memory.data_ptr(&store), ptr);
    assert_eq!(memory.data(&store)[100], 42);
    assert_eq!(memory.grow(&mut store, 1).unwrap(), 2);
}

#[test]
fn grow_past_65536_pages_without_maximum_fails() {
    let mut store = store();
    let memory = Memory::new(&mut store, 1, None, false).unwrap();
    assert!(memory.grow(&mut store, 65536).is_err());
    assert_eq!(memory.size(&store), 1);
}

#[test]
fn the_base_never_moves_and_raw_pointers_stay_valid() {
    let mut store = store();
    let memory = Memory::new(&mut store, 1, None, false).unwrap();
    let ptr = memory.data_ptr(&store);
    for _ in 0..8 {
        memory.grow(&mut store, 16).unwrap();
        assert_eq!(memory.data_ptr(&store), ptr);
    }
    // SAFETY: the pointer is valid for `data_size` bytes; no view of the memory is alive.
    unsafe { ptr.add(memory.data_size(&store) - 1).write(9) };
    assert_eq!(*memory.data(&store).last().unwrap(), 9);
}

#[test]
fn the_host_sees_exactly_size_bytes() {
    let mut store = store();
    let memory = Memory::new(&mut store, 1, Some(2), false).unwrap();
    let mut byte = [0u8; 1];
    assert!(memory.read(&store, PAGE - 1, &mut byte).is_ok());
    assert!(memory.read(&store, PAGE, &mut byte).is_err());
    assert!(memory.write(&mut store, PAGE, &[1]).is_err());
    assert!(memory.write(&mut store, PAGE - 1, &[1, 2]).is_err());
    assert!(memory.read(&store, usize::MAX, &mut byte).is_err());
    assert_eq!(memory.data(&store).len(), PAGE);
}

#[test]
fn wasm_grow_and_size_follow_the_same_rules() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (memory (export "m") 1 3)
             (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
             (func (export "size") (result i32) (memory.size)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let grow = instance
        .get_typed_func::<i32, i32>(&mut store, "grow")
        .unwrap();
    let size = instance
        .get_typed_func::<(), i32>(&mut store, "size")
        .unwrap();
    assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
    assert_eq!(size.call(&mut store, ()).unwrap(), 2);
    assert_eq!(grow.call(&mut store, 0).unwrap(), 2);
    assert_eq!(grow.call(&mut store, 2).unwrap(), -1);
    assert_eq!(size.call(&mut store, ()).unwrap(), 2);
    let memory = instance.get_memory(&mut store, "m").unwrap();
    assert_eq!(memory.size(&store), 2);
}

#[test]
fn a_shared_memory_is_seen_grown_by_every_holder() {
    let engine = Engine::default();
    let shared = SharedMemory::new(&engine, 1, 4).unwrap();
    let other = shared.clone();
    let ptr = shared.data_ptr();
    shared.write(10, &[5]).unwrap();
    assert_eq!(other.grow(2).unwrap(), 1);
    assert_eq!(shared.size(), 3);
    assert_eq!(shared.data_ptr(), ptr);
    let mut byte = [0];
    other.read(10, &mut byte).unwrap();
    assert_eq!(byte, [5]);
    std::thread::spawn(move || other.write(3 * PAGE - 1, &[6]).unwrap())
        .join()
        .unwrap();
    shared.read(3 * PAGE - 1, &mut byte).unwrap();
    assert_eq!(byte, [6]);
}

fn importer(engine: &Engine, limits: &str) -> Module {
    Module::new(
        engine,
        format!(r#"(module (memory (import "js" "mem") {limits}))"#),
    )
    .unwrap()
}

fn link(
    engine: &Engine,
    module: &Module,
    memory: impl FnOnce(&mut Store<()>) -> Memory,
) -> wasmjit::Result<Instance> {
    let mut store = Store::new(engine, ());
    let memory = memory(&mut store);
    let mut linker = Linker::new(engine);
    linker.define(&mut store, "js", "mem", memory)?;
    linker.instantiate(&mut store, module)
}

#[test]
fn memory_imports_link_by_current_size_maximum_and_sharing() {
    let engine = Engine::default();
    let needs_two = importer(&engine, "2");
    let capped = importer(&engine, "1 4");
    let shared = importer(&engine, "1 4 shared");

    assert!(link(&engine, &needs_two, |s| Memory::new(s, 2, None, false)
        .unwrap())
    .is_ok());
    let too_small = link(&engine, &needs_two, |s| {
        Memory::new(s, 1, None, false).unwrap()
    });
    assert!(too_small
        .unwrap_err()
        .to_string()
        .contains("incompatible import type"));
    let grown = link(&engine, &needs_two, |s| {
        let m = Memory::new(&mut *s, 1, None, false).unwrap();
        m.grow(&mut *s, 1).unwrap();
        m
    });
    assert!(grown.is_ok(), "matching uses the current size");

    assert!(link(&engine, &capped, |s| Memory::new(s, 1, Some(3), false)
        .unwrap())
    .is_ok());
    for (max, shared_flag) in [(None, false), (Some(5), false), (Some(4), true)] {
        let e = link(&engine, &capped, |s| {
            Memory::new(s, 1, max, shared_flag).unwrap()
        });
        assert!(e
            .unwrap_err()
            .to_string()
            .contains("incompatible import type"));
    }
    assert!(link(&engine, &shared, |s| Memory::new(s, 1, Some(4), true)
        .unwrap())
    .is_ok());
    let unshared = link(&engine, &shared, |s| {
        Memory::new(s, 1, Some(4), false).unwrap()
    });
    assert!(unshared
        .unwrap_err()
        .to_string()
        .contains("incompatible import type"));
}

#[test]
fn a_missing_import_is_an_unknown_import() {
    let engine = Engine::default();
    let module = importer(&engine, "1");
    let mut store = Store::new(&engine, ());
    let e = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap_err();
    assert!(e.to_string().contains("unknown import"), "{e}");
}

#[test]
fn the_accumulate_example_sums_to_45() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let memory = Memory::new(&mut store, 10, Some(100), false).unwrap();
    for i in 0..10u32 {
        memory
            .write(&mut store, 4 * i as usize, &i.to_le_bytes())
            .unwrap();
    }
    let module = Module::new(
        &engine,
        r#"(module (memory (import "js" "mem") 1)
          (func (export "accumulate") (param $ptr i32) (param $len i32) (result i32)
            (local $sum i32)
            (block $done (loop $next
              (br_if $done (i32.eqz (local.get $len)))
              (local.set $sum (i32.add (local.get $sum) (i32.load (local.get $ptr))))
              (local.set $ptr (i32.add (local.get $ptr) (i32.const 4)))
              (local.set $len (i32.sub (local.get $len) (i32.const 1)))
              (br $next)))
            (local.get $sum)))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker.define(&mut store, "js", "mem", memory).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let accumulate = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "accumulate")
        .unwrap();
    assert_eq!(accumulate.call(&mut store, (0, 10)).unwrap(), 45);
}
