//! wasmjit's own API types: value, function, memory, table and global types, traps found
//! through `Error::downcast_ref`, and the configuration's feature switches.

use wasmjit::{
    Config, Engine, Error, ExternType, FuncType, GlobalType, Instance, MemoryError, MemoryType,
    Module, Mutability, RefType, Store, TableType, Trap, ValType,
};

#[test]
fn func_types_list_their_params_and_results() {
    let ty = FuncType::new([ValType::I32, ValType::F64], [ValType::EXTERNREF]);
    assert_eq!(ty.params().len(), 2);
    assert_eq!(
        ty.params().collect::<Vec<_>>(),
        [ValType::I32, ValType::F64]
    );
    assert_eq!(ty.results().collect::<Vec<_>>(), [ValType::EXTERNREF]);
    assert_eq!(ty.to_string(), "(i32, f64) -> (externref)");
    assert!(ValType::FUNCREF.is_ref() && !ValType::V128.is_ref());
}

#[test]
fn memory_types_check_their_limits() {
    let ty = MemoryType::new(1, Some(2));
    assert_eq!((ty.minimum(), ty.maximum()), (1, Some(2)));
    assert!(!ty.is_shared() && !ty.is_64());
    let shared = MemoryType::shared(1, 4);
    assert!(shared.is_shared());
    assert_eq!(shared.maximum(), Some(4));

    let built = MemoryType::builder()
        .min(2)
        .max(Some(3))
        .shared(true)
        .build()
        .unwrap();
    assert_eq!(built, MemoryType::shared(2, 3));
    let error = |result: wasmjit::Result<MemoryType>| match result {
        Err(Error::Memory(e)) => e,
        other => panic!("expected a memory error, got {other:?}"),
    };
    assert_eq!(
        error(MemoryType::builder().min(3).max(Some(2)).build()),
        MemoryError::InitialAboveMaximum {
            initial: 3,
            maximum: 2
        }
    );
    assert_eq!(
        error(MemoryType::builder().shared(true).build()),
        MemoryError::SharedWithoutMaximum
    );
    assert_eq!(
        error(MemoryType::builder().max(Some(65537)).build()),
        MemoryError::MaximumTooLarge { pages: 65537 }
    );
    let big = MemoryType::builder()
        .min(65537)
        .memory64(true)
        .build()
        .unwrap();
    assert!(big.is_64());
}

#[test]
#[should_panic(expected = "invalid memory type")]
fn memory_type_new_panics_on_bad_limits() {
    MemoryType::new(2, Some(1));
}

#[test]
fn modules_report_imports_and_exports_in_wasmjit_types() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
             (import "env" "mem" (memory 1 2 shared))
             (import "env" "g" (global (mut i64)))
             (table (export "t") 3 funcref)
             (func (export "f") (param i32) (result f32) f32.const 0))"#,
    )
    .unwrap();
    let imports = module.imports();
    assert_eq!((imports[0].module(), imports[0].name()), ("env", "mem"));
    assert_eq!(
        imports[0].ty().memory().copied(),
        Some(MemoryType::shared(1, 2))
    );
    assert_eq!(
        imports[1].ty(),
        ExternType::Global(GlobalType::new(ValType::I64, Mutability::Var))
    );
    let exports = module.exports();
    assert_eq!(exports[0].name(), "t");
    assert_eq!(
        exports[0].ty().table().cloned(),
        Some(TableType::new(RefType::FUNCREF, 3, None))
    );
    let f = exports[1].ty();
    let f = f.func().unwrap();
    assert_eq!(f, &FuncType::new([ValType::I32], [ValType::F32]));
}

#[test]
fn traps_are_matchable_and_found_by_downcast_ref() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (func (export "div") (param i32) (result i32)
             i32.const 1 local.get 0 i32.div_u))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let div = instance
        .get_typed_func::<i32, i32>(&mut store, "div")
        .unwrap();
    let err = div.call(&mut store, 0).unwrap_err();
    assert_eq!(err.trap(), Some(Trap::IntegerDivisionByZero));
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::IntegerDivisionByZero)
    );
    assert!(err.downcast_ref::<MemoryError>().is_none());
    assert_eq!(
        Trap::IntegerDivisionByZero.to_string(),
        "integer divide by zero"
    );
    assert_eq!(err.to_string(), "wasm trap: integer divide by zero");
}

#[test]
fn host_errors_are_found_by_downcast_ref() {
    #[derive(Debug)]
    struct Mine;
    impl std::fmt::Display for Mine {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("mine")
        }
    }
    impl std::error::Error for Mine {}

    let err = Error::Host(Box::new(Mine));
    assert!(err.downcast_ref::<Mine>().is_some());
    assert!(err.downcast_ref::<Trap>().is_none());
    assert!(err.trap().is_none());
}

#[test]
fn feature_switches_change_validation() {
    let simd = r#"(module (func (result v128) v128.const i64x2 0 0))"#;
    let engine = Engine::default();
    assert!(Module::new(&engine, simd).is_ok());
    let mut config = Config::new();
    config.wasm_simd(false);
    let engine = Engine::new(&config).unwrap();
    assert!(matches!(Module::new(&engine, simd), Err(Error::Compile(_))));

    // Multi-memory is part of Wasm 3.0: on by default, and its switch turns it off.
    let two_memories = r#"(module (memory 1) (memory 1))"#;
    assert!(Module::new(&Engine::default(), two_memories).is_ok());
    let mut config = Config::new();
    config.wasm_multi_memory(false);
    let engine = Engine::new(&config).unwrap();
    assert!(Module::new(&engine, two_memories).is_err());

    // Wide arithmetic is off by default, and computes 128-bit results when on.
    let wide = r#"(module
      (func (export "add") (param i64 i64 i64 i64) (result i64 i64)
        (i64.add128 (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
      (func (export "mul_s") (param i64 i64) (result i64 i64)
        (i64.mul_wide_s (local.get 0) (local.get 1))))"#;
    assert!(Module::new(&Engine::default(), wide).is_err());
    let mut config = Config::new();
    config.wasm_wide_arithmetic(true);
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, wide).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let add = instance
        .get_typed_func::<(i64, i64, i64, i64), (i64, i64)>(&mut store, "add")
        .unwrap();
    // (2^64 - 1) + 1 carries into the high half.
    assert_eq!(add.call(&mut store, (-1, 0, 1, 0)).unwrap(), (0, 1));
    let mul_s = instance
        .get_typed_func::<(i64, i64), (i64, i64)>(&mut store, "mul_s")
        .unwrap();
    assert_eq!(mul_s.call(&mut store, (-2, 3)).unwrap(), (-6, -1));
    assert_eq!(mul_s.call(&mut store, (i64::MAX, 2)).unwrap(), (-2, 0));
}
