//! Custom page sizes (`Config::wasm_custom_page_sizes`): memories of one-byte pages count
//! `memory.size`, `memory.grow` and their limits in bytes, trap one byte past their length
//! (even inside a host page, under every bounds-check setting and allocator), are matched on
//! page size when imported, and report their page size through the embedding API.

use wasmjit::{
    BoundsChecks, Config, Engine, Error, InstanceAllocationStrategy, Linker, Memory, MemoryType,
    Module, OptLevel, PoolingAllocationConfig, Store, Trap,
};
use wasmjit_tests::support::trap_kind;

/// A memory of 100 one-byte pages, growable to 70,000 bytes, with its size, grow, load and
/// store.
const BYTES: &str = r#"(module
  (memory (export "mem") 100 70000 (pagesize 1))
  (func (export "size") (result i32) (memory.size))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "load32") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store8 (local.get 0) (local.get 1))))"#;

fn config() -> Config {
    let mut config = Config::new();
    config.wasm_custom_page_sizes(true);
    config
}

/// Every setting the code or the memory's layout depends on.
fn configs() -> Vec<(&'static str, Config)> {
    let mut explicit = config();
    explicit
        .opt_level(OptLevel::None)
        .bounds_checks(BoundsChecks::Explicit);
    let mut pooled = config();
    let mut pool = PoolingAllocationConfig::new();
    pool.total_memories(4).total_core_instances(4);
    pooled.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    vec![
        ("guard pages", config()),
        ("explicit", explicit),
        ("pooled", pooled),
    ]
}

#[test]
fn one_byte_pages_count_bytes_and_trap_one_past_the_length() {
    for (label, config) in configs() {
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, BYTES).unwrap();
        let mut store = Store::new(&engine, ());
        let instance = Linker::new(&engine)
            .instantiate(&mut store, &module)
            .unwrap();
        let size = instance
            .get_typed_func::<(), i32>(&mut store, "size")
            .unwrap();
        let grow = instance
            .get_typed_func::<i32, i32>(&mut store, "grow")
            .unwrap();
        let load = instance
            .get_typed_func::<i32, i32>(&mut store, "load")
            .unwrap();
        let load32 = instance
            .get_typed_func::<i32, i32>(&mut store, "load32")
            .unwrap();
        let store8 = instance
            .get_typed_func::<(i32, i32), ()>(&mut store, "store")
            .unwrap();
        let mem = instance.get_memory(&mut store, "mem").unwrap();

        assert_eq!(size.call(&mut store, ()).unwrap(), 100, "{label}");
        assert_eq!(mem.data_size(&store), 100, "{label}");
        store8.call(&mut store, (99, 7)).unwrap();
        assert_eq!(load.call(&mut store, 99).unwrap(), 7, "{label}");
        // Byte 100 lies in the same host page as byte 99, and still traps.
        for at in [100, 101, 4095, 4096, -1] {
            assert_eq!(
                trap_kind(load.call(&mut store, at)),
                Trap::MemoryOutOfBounds,
                "{label}: load at {at}"
            );
        }
        assert_eq!(
            trap_kind(load32.call(&mut store, 97)),
            Trap::MemoryOutOfBounds,
            "{label}: a load straddling the end"
        );
        assert_eq!(
            trap_kind(store8.call(&mut store, (100, 1))),
            Trap::MemoryOutOfBounds,
            "{label}"
        );

        // Growing by 5 bytes: the old size back, the new bytes zero, the next one out.
        assert_eq!(grow.call(&mut store, 5).unwrap(), 100, "{label}");
        assert_eq!(size.call(&mut store, ()).unwrap(), 105, "{label}");
        assert_eq!(mem.size(&store), 105, "{label}");
        assert_eq!(mem.data_size(&store), 105, "{label}");
        assert_eq!(load.call(&mut store, 104).unwrap(), 0, "{label}");
        assert_eq!(
            trap_kind(load.call(&mut store, 105)),
            Trap::MemoryOutOfBounds,
            "{label}"
        );
        // Across host pages, up to the maximum and not past it.
        assert_eq!(grow.call(&mut store, 69_000).unwrap(), 105, "{label}");
        assert_eq!(load32.call(&mut store, 69_101).unwrap(), 0, "{label}");
        assert_eq!(grow.call(&mut store, 1000).unwrap(), -1, "{label}");
        assert_eq!(mem.grow(&mut store, 895).unwrap(), 69_105, "{label}");
        assert_eq!(size.call(&mut store, ()).unwrap(), 70_000, "{label}");
        assert_eq!(load.call(&mut store, 69_999).unwrap(), 0, "{label}");
        assert_eq!(
            trap_kind(load.call(&mut store, 70_000)),
            Trap::MemoryOutOfBounds,
            "{label}"
        );
        assert!(mem.grow(&mut store, 1).is_err(), "{label}");
        // The host sees the same length.
        let mut byte = [0u8; 1];
        mem.read(&store, 69_999, &mut byte).unwrap();
        assert!(mem.read(&store, 70_000, &mut byte).is_err(), "{label}");
    }
}

#[test]
fn pooled_slots_come_back_zeroed() {
    let (_, config) = configs().pop().unwrap();
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, BYTES).unwrap();
    for round in 0..20 {
        let mut store = Store::new(&engine, ());
        let instance = Linker::new(&engine)
            .instantiate(&mut store, &module)
            .unwrap();
        let mem = instance.get_memory(&mut store, "mem").unwrap();
        mem.grow(&mut store, 5000 + round).unwrap();
        assert!(
            mem.data(&store).iter().all(|b| *b == 0),
            "round {round}: a previous instance's bytes"
        );
        mem.data_mut(&mut store).fill(0xa5);
    }
}

#[test]
fn imports_must_have_the_declared_page_size() {
    let engine = Engine::new(&config()).unwrap();
    let importer = |page_size| {
        let wat = format!(r#"(module (import "host" "mem" (memory 1 (pagesize {page_size}))))"#);
        Module::new(&engine, wat).unwrap()
    };
    let mut store = Store::new(&engine, ());
    let bytes = Memory::with_type(
        &mut store,
        &MemoryType::builder()
            .min(1)
            .page_size_log2(0)
            .build()
            .unwrap(),
    )
    .unwrap();
    let pages = Memory::new(&mut store, 1, None, false).unwrap();
    for (memory, matching, other) in [(bytes, 1, 65536), (pages, 65536, 1)] {
        let mut linker = Linker::new(&engine);
        linker.define(&mut store, "host", "mem", memory).unwrap();
        linker.instantiate(&mut store, &importer(matching)).unwrap();
        let err = linker
            .instantiate(&mut store, &importer(other))
            .unwrap_err();
        assert!(matches!(err, Error::Link(_)), "{err}");
        assert!(
            err.to_string().contains("incompatible import type"),
            "{err}"
        );
    }
}

#[test]
fn memory_types_report_their_page_size() {
    let engine = Engine::new(&config()).unwrap();
    let module = Module::new(&engine, BYTES).unwrap();
    let export = module.exports().into_iter().find(|e| e.name() == "mem");
    let ty = *export.unwrap().ty().memory().unwrap();
    assert_eq!((ty.page_size(), ty.page_size_log2()), (1, 0));
    assert_eq!((ty.minimum(), ty.maximum()), (100, Some(70_000)));
    let mut store = Store::new(&engine, ());
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let mem = instance.get_memory(&mut store, "mem").unwrap();
    assert_eq!(mem.ty(&store).page_size(), 1);
    assert_eq!(MemoryType::new(1, None).page_size(), 65536);

    // Limits are counted in the memory's own pages: 2^32 - 1 one-byte pages for a 32-bit
    // memory, and page sizes other than 1 and 65536 are refused.
    let builder = |log2, min| MemoryType::builder().min(min).page_size_log2(log2).build();
    assert!(builder(0, u64::from(u32::MAX)).is_ok());
    assert!(builder(0, 1 << 32).is_err());
    assert!(builder(16, 1 << 17).is_err());
    let err = builder(12, 1).unwrap_err();
    assert!(err.to_string().contains("page size"), "{err}");
}

#[test]
fn the_proposal_is_off_by_default() {
    let err = Module::new(&Engine::default(), BYTES).unwrap_err();
    assert!(err.to_string().contains("page size"), "{err}");
    Module::new(&Engine::default(), "(module (memory 1 (pagesize 65536)))").unwrap_err();
}
