//! Resource limits and scale: a store's limiter caps memory and table growth and instance
//! counts; thousands of memories come and go without leaking address space.

use wasmjit::{
    Engine, Error, Instance, Memory, Module, RefType, ResourceLimiter, Store, StoreLimits,
    StoreLimitsBuilder, Table, TableType, Val,
};

const GROWER: &str = r#"(module
  (memory (export "memory") 1)
  (table (export "table") 1 funcref)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "grow_table") (param i32) (result i32)
    (table.grow (ref.null func) (local.get 0))))"#;

fn limited(limits: StoreLimits) -> (Engine, Store<StoreLimits>) {
    let engine = Engine::default();
    let mut store = Store::new(&engine, limits);
    store.limiter(|limits| limits);
    (engine, store)
}

#[test]
fn refused_growth_is_minus_one_in_wasm_and_an_error_on_the_host() {
    let (engine, mut store) = limited(
        StoreLimitsBuilder::new()
            .memory_size(4 << 16)
            .table_elements(10)
            .build(),
    );
    let module = Module::new(&engine, GROWER).unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let grow = instance
        .get_typed_func::<i32, i32>(&mut store, "grow")
        .unwrap();
    assert_eq!(grow.call(&mut store, 3).unwrap(), 1);
    assert_eq!(grow.call(&mut store, 1).unwrap(), -1);
    assert_eq!(grow.call(&mut store, 0).unwrap(), 4);
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    assert_eq!(memory.size(&store), 4);
    assert!(matches!(memory.grow(&mut store, 1), Err(Error::Limit(_))));
    assert_eq!(memory.size(&store), 4);

    let grow_table = instance
        .get_typed_func::<i32, i32>(&mut store, "grow_table")
        .unwrap();
    assert_eq!(grow_table.call(&mut store, 9).unwrap(), 1);
    assert_eq!(grow_table.call(&mut store, 1).unwrap(), -1);
    let table = instance.get_table(&mut store, "table").unwrap();
    assert!(matches!(
        table.grow(&mut store, 1, Val::FuncRef(None)),
        Err(Error::Limit(_))
    ));
    assert_eq!(table.size(&store), 10);
}

#[test]
fn the_total_over_all_memories_is_capped() {
    let (engine, mut store) = limited(StoreLimitsBuilder::new().total_memory_size(3 << 16).build());
    let module = Module::new(&engine, GROWER).unwrap();
    let a = Instance::new(&mut store, &module, &[]).unwrap();
    let b = Instance::new(&mut store, &module, &[]).unwrap();
    let grow_a = a.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
    let grow_b = b.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
    assert_eq!(grow_a.call(&mut store, 1).unwrap(), 1);
    assert_eq!(grow_b.call(&mut store, 1).unwrap(), -1);
    assert_eq!(store.data().memory_allowed(), 3 << 16);
    assert!(matches!(
        Instance::new(&mut store, &module, &[]),
        Err(Error::Limit(_))
    ));
    assert!(matches!(
        Memory::new(&mut store, 1, None, false),
        Err(Error::Limit(_))
    ));
}

#[test]
fn instance_memory_and_table_counts_are_capped() {
    let (engine, mut store) = limited(
        StoreLimitsBuilder::new()
            .instances(3)
            .memories(4)
            .tables(5)
            .build(),
    );
    let module = Module::new(&engine, GROWER).unwrap();
    for _ in 0..3 {
        Instance::new(&mut store, &module, &[]).unwrap();
    }
    let err = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert!(matches!(err, Error::Limit(_)), "{err}");
    Memory::new(&mut store, 0, None, false).unwrap();
    assert!(matches!(
        Memory::new(&mut store, 0, None, false),
        Err(Error::Limit(_))
    ));
    let ty = TableType::new(RefType::FUNCREF, 0, None);
    Table::new(&mut store, ty.clone(), Val::FuncRef(None)).unwrap();
    Table::new(&mut store, ty.clone(), Val::FuncRef(None)).unwrap();
    assert!(matches!(
        Table::new(&mut store, ty, Val::FuncRef(None)),
        Err(Error::Limit(_))
    ));
}

/// A limiter of the host's own: counts what it was asked and refuses growth past 2 pages.
#[derive(Default)]
struct Counting {
    asked: usize,
}

impl ResourceLimiter for Counting {
    fn memory_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> bool {
        self.asked += 1;
        desired <= 2 << 16
    }

    fn table_growing(&mut self, _current: usize, _desired: usize, _max: Option<usize>) -> bool {
        true
    }
}

#[test]
fn a_custom_limiter_sees_every_request() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, Counting::default());
    store.limiter(|c| c);
    let module = Module::new(&engine, GROWER).unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let grow = instance
        .get_typed_func::<i32, i32>(&mut store, "grow")
        .unwrap();
    assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
    assert_eq!(grow.call(&mut store, 1).unwrap(), -1);
    // Instantiation's memory, then the two grows.
    assert_eq!(store.data().asked, 3);
}

#[test]
fn memories_are_created_concurrently_from_two_threads() {
    let engine = Engine::default();
    std::thread::scope(|s| {
        for t in 0..2u8 {
            let engine = engine.clone();
            s.spawn(move || {
                let mut store = Store::new(&engine, ());
                for i in 0..500u32 {
                    let memory = Memory::new(&mut store, 1, Some(2), false).unwrap();
                    memory.data_mut(&mut store)[0] = t;
                    memory.grow(&mut store, 1).unwrap();
                    assert_eq!(memory.data(&store)[0], t, "memory {i} of thread {t}");
                    assert_eq!(memory.data(&store).len(), 2 << 16);
                }
            });
        }
    });
}
