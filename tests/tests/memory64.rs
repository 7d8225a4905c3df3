//! 64-bit memories and tables (memory64): `i64` addresses for every kind of access, explicit
//! bounds checks that neither wrap nor trap early, growth past 4 GiB, and the embedding API.

use wasmjit::{
    BoundsChecks, Config, Engine, Instance, Memory, MemoryType, Module, OptLevel, RefType, Store,
    Table, TableType, Trap, Val,
};
use wasmjit_tests::support::trap_kind;

const PAGE: u64 = 65536;

const ACCESS: &str = r#"(module
  (import "host" "mem" (memory $m i64 1))
  (memory $small i64 1 1)
  (func (export "load") (param i64) (result i64) (i64.load (local.get 0)))
  (func (export "store") (param i64 i64) (i64.store (local.get 0) (local.get 1)))
  (func (export "load_far") (param i64) (result i32)
    (i32.load8_u offset=0xFFFFFFFFFFFFFFF0 (local.get 0)))
  (func (export "load_small_offset") (param i64) (result i32)
    (i32.load $small offset=0x10000 (local.get 0)))
  (func (export "atomic_add") (param i64 i64) (result i64)
    (i64.atomic.rmw.add (local.get 0) (local.get 1)))
  (func (export "v128_load") (param i64) (result i64)
    (i64x2.extract_lane 1 (v128.load (local.get 0))))
  (func (export "fill") (param i64 i32 i64) (memory.fill (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy") (param i64 i64 i64) (memory.copy (local.get 0) (local.get 1) (local.get 2)))
  (func (export "size") (result i64) (memory.size))
  (func (export "grow") (param i64) (result i64) (memory.grow (local.get 0))))"#;

/// The defaults and multi-memory (`ACCESS` has two memories).
fn base() -> Config {
    let mut config = Config::new();
    config.wasm_multi_memory(true);
    config
}

/// The base, and no optimisation with explicit checks for 32-bit memories too.
fn configs() -> Vec<Config> {
    let mut plain = base();
    plain
        .opt_level(OptLevel::None)
        .bounds_checks(BoundsChecks::Explicit);
    vec![base(), plain]
}

fn setup(config: &Config) -> (Store<()>, Instance, Memory) {
    let engine = Engine::new(config).unwrap();
    let module = Module::new(&engine, ACCESS).unwrap();
    let mut store = Store::new(&engine, ());
    let ty = MemoryType::builder().min(1).memory64(true).build().unwrap();
    let memory = Memory::with_type(&mut store, &ty).unwrap();
    assert!(memory.ty(&store).is_64());
    let instance = Instance::new(&mut store, &module, &[memory.into()]).unwrap();
    (store, instance, memory)
}

#[test]
fn accesses_take_i64_addresses_and_trap_exactly_past_the_end() {
    for config in configs() {
        let (mut store, instance, memory) = setup(&config);
        let load = instance
            .get_typed_func::<i64, i64>(&mut store, "load")
            .unwrap();
        let store_ = instance
            .get_typed_func::<(i64, i64), ()>(&mut store, "store")
            .unwrap();
        let last = PAGE as i64 - 8;
        store_
            .call(&mut store, (last, 0x0102_0304_0506_0708))
            .unwrap();
        assert_eq!(load.call(&mut store, last).unwrap(), 0x0102_0304_0506_0708);
        assert_eq!(memory.data(&store)[PAGE as usize - 1], 0x01);
        for bad in [last + 1, PAGE as i64, 1 << 32, i64::MAX, -1, -8] {
            assert_eq!(
                trap_kind(load.call(&mut store, bad)),
                Trap::MemoryOutOfBounds,
                "load at {bad:#x}"
            );
            assert_eq!(
                trap_kind(store_.call(&mut store, (bad, 1))),
                Trap::MemoryOutOfBounds,
                "store at {bad:#x}"
            );
        }
        // `index + offset` wraps past 2^64: out of bounds, not address 0x10.
        let far = instance
            .get_typed_func::<i64, i32>(&mut store, "load_far")
            .unwrap();
        assert_eq!(
            trap_kind(far.call(&mut store, 0x20)),
            Trap::MemoryOutOfBounds
        );
        assert_eq!(trap_kind(far.call(&mut store, 0)), Trap::MemoryOutOfBounds);
        // An offset past the minimum of a memory that cannot grow always traps.
        let small = instance
            .get_typed_func::<i64, i32>(&mut store, "load_small_offset")
            .unwrap();
        assert_eq!(
            trap_kind(small.call(&mut store, 0)),
            Trap::MemoryOutOfBounds
        );

        let atomic = instance
            .get_typed_func::<(i64, i64), i64>(&mut store, "atomic_add")
            .unwrap();
        assert_eq!(atomic.call(&mut store, (0, 5)).unwrap(), 0);
        assert_eq!(atomic.call(&mut store, (0, 5)).unwrap(), 5);
        assert_eq!(
            trap_kind(atomic.call(&mut store, (PAGE as i64, 1))),
            Trap::MemoryOutOfBounds
        );
        let v128 = instance
            .get_typed_func::<i64, i64>(&mut store, "v128_load")
            .unwrap();
        assert_eq!(
            v128.call(&mut store, last - 8).unwrap(),
            0x0102_0304_0506_0708
        );
        assert_eq!(
            trap_kind(v128.call(&mut store, last - 7)),
            Trap::MemoryOutOfBounds
        );

        let fill = instance
            .get_typed_func::<(i64, i32, i64), ()>(&mut store, "fill")
            .unwrap();
        let copy = instance
            .get_typed_func::<(i64, i64, i64), ()>(&mut store, "copy")
            .unwrap();
        fill.call(&mut store, (16, 0xAB, 16)).unwrap();
        copy.call(&mut store, (64, 16, 16)).unwrap();
        assert_eq!(memory.data(&store)[64..80], [0xAB; 16]);
        assert_eq!(
            trap_kind(fill.call(&mut store, (-1, 0, 2))),
            Trap::MemoryOutOfBounds
        );
        assert_eq!(
            trap_kind(copy.call(&mut store, (0, -16, 32))),
            Trap::MemoryOutOfBounds
        );
    }
}

#[test]
fn a_64_bit_memory_grows_past_4_gib() {
    let (mut store, instance, memory) = setup(&base());
    let size = instance
        .get_typed_func::<(), i64>(&mut store, "size")
        .unwrap();
    let grow = instance
        .get_typed_func::<i64, i64>(&mut store, "grow")
        .unwrap();
    let load = instance
        .get_typed_func::<i64, i64>(&mut store, "load")
        .unwrap();
    let store_ = instance
        .get_typed_func::<(i64, i64), ()>(&mut store, "store")
        .unwrap();
    let four_gib_pages = (1u64 << 32) / PAGE;
    assert_eq!(grow.call(&mut store, four_gib_pages as i64).unwrap(), 1);
    assert_eq!(
        size.call(&mut store, ()).unwrap(),
        four_gib_pages as i64 + 1
    );
    assert_eq!(memory.size(&store), four_gib_pages + 1);
    let high = (1i64 << 32) + 8;
    store_.call(&mut store, (high, -2)).unwrap();
    assert_eq!(load.call(&mut store, high).unwrap(), -2);
    let end = ((four_gib_pages + 1) * PAGE) as i64;
    assert_eq!(load.call(&mut store, end - 8).unwrap(), 0);
    assert_eq!(
        trap_kind(load.call(&mut store, end - 7)),
        Trap::MemoryOutOfBounds
    );
    // Growth by more than the index space allows fails without trapping.
    assert_eq!(grow.call(&mut store, 1 << 48).unwrap(), -1);
    assert_eq!(grow.call(&mut store, -1).unwrap(), -1);
    assert_eq!(
        size.call(&mut store, ()).unwrap(),
        four_gib_pages as i64 + 1
    );
}

#[test]
fn index_types_must_match_and_the_switch_turns_memory64_off() {
    let engine = Engine::new(&base()).unwrap();
    let module = Module::new(&engine, ACCESS).unwrap();
    let mut store = Store::new(&engine, ());
    let narrow = Memory::new(&mut store, 1, None, false).unwrap();
    assert!(!narrow.ty(&store).is_64());
    assert!(Instance::new(&mut store, &module, &[narrow.into()]).is_err());

    let mut config = base();
    config.wasm_memory64(false);
    let err = Module::new(&Engine::new(&config).unwrap(), ACCESS).unwrap_err();
    assert!(err.to_string().contains("memory64"), "{err}");
}

const TABLES: &str = r#"(module
  (import "host" "tab" (table $imported i64 1 funcref))
  (table $t i64 2 funcref)
  (elem (table $t) (i64.const 1) func $seven)
  (func $seven (result i32) (i32.const 7))
  (func (export "call") (param i64) (result i32) (call_indirect $t (result i32) (local.get 0)))
  (func (export "size") (result i64) (table.size $t))
  (func (export "grow") (param i64) (result i64) (table.grow $t (ref.null func) (local.get 0)))
  (func (export "is_null") (param i64) (result i32) (ref.is_null (table.get $t (local.get 0))))
  (func (export "fill") (param i64 i64) (table.fill $t (local.get 0) (ref.func $seven) (local.get 1)))
  (func (export "copy_in") (param i64) (table.copy $imported $t (local.get 0) (i64.const 1) (i64.const 1)))
  (func (export "call_imported") (result i32) (call_indirect $imported (result i32) (i64.const 0))))"#;

#[test]
fn tables_take_i64_indices() {
    for config in configs() {
        let engine = Engine::new(&config).unwrap();
        let module = Module::new(&engine, TABLES).unwrap();
        let mut store = Store::new(&engine, ());
        let ty = TableType::new64(RefType::FUNCREF, 1, None);
        let table = Table::new(&mut store, ty, Val::FuncRef(None)).unwrap();
        assert!(table.ty(&store).is_64());
        let instance = Instance::new(&mut store, &module, &[table.into()]).unwrap();
        let call = instance
            .get_typed_func::<i64, i32>(&mut store, "call")
            .unwrap();
        let size = instance
            .get_typed_func::<(), i64>(&mut store, "size")
            .unwrap();
        let grow = instance
            .get_typed_func::<i64, i64>(&mut store, "grow")
            .unwrap();
        let is_null = instance
            .get_typed_func::<i64, i32>(&mut store, "is_null")
            .unwrap();
        let fill = instance
            .get_typed_func::<(i64, i64), ()>(&mut store, "fill")
            .unwrap();
        assert_eq!(call.call(&mut store, 1).unwrap(), 7);
        assert_eq!(
            trap_kind(call.call(&mut store, 0)),
            Trap::IndirectCallToNull
        );
        // 2^32 + 1 is out of bounds, not element 1.
        for bad in [2, 1 << 32, (1 << 32) + 1, -1] {
            assert_eq!(
                trap_kind(call.call(&mut store, bad)),
                Trap::TableOutOfBounds,
                "{bad:#x}"
            );
            assert_eq!(
                trap_kind(is_null.call(&mut store, bad)),
                Trap::TableOutOfBounds,
                "{bad:#x}"
            );
        }
        assert_eq!(size.call(&mut store, ()).unwrap(), 2);
        assert_eq!(grow.call(&mut store, 3).unwrap(), 2);
        assert_eq!(grow.call(&mut store, 1 << 40).unwrap(), -1);
        assert_eq!(size.call(&mut store, ()).unwrap(), 5);
        fill.call(&mut store, (2, 3)).unwrap();
        assert_eq!(call.call(&mut store, 4).unwrap(), 7);
        assert_eq!(
            trap_kind(fill.call(&mut store, (4, -1))),
            Trap::TableOutOfBounds
        );
        let copy_in = instance
            .get_typed_func::<i64, ()>(&mut store, "copy_in")
            .unwrap();
        let call_imported = instance
            .get_typed_func::<(), i32>(&mut store, "call_imported")
            .unwrap();
        copy_in.call(&mut store, 0).unwrap();
        assert_eq!(call_imported.call(&mut store, ()).unwrap(), 7);
        assert_eq!(
            trap_kind(copy_in.call(&mut store, 1)),
            Trap::TableOutOfBounds
        );

        // A 32-bit table does not satisfy a 64-bit import.
        let narrow = Table::new(
            &mut store,
            TableType::new(RefType::FUNCREF, 1, None),
            Val::FuncRef(None),
        )
        .unwrap();
        assert!(Instance::new(&mut store, &module, &[narrow.into()]).is_err());
    }
}
