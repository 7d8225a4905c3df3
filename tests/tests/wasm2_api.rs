//! Wasm 2.0 through the embedding API: tables from the host, externrefs, `v128` values and
//! multi-value host functions.

use wasmjit::{
    Engine, ExternRef, Func, Instance, Linker, Module, RefType, Store, Table, TableType, Val,
};

#[test]
fn host_tables_grow_and_hold_functions_that_wasm_calls() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let ty = TableType::new(RefType::FUNCREF, 1, Some(4));
    let table = Table::new(&mut store, ty, Val::FuncRef(None)).unwrap();
    let seven = Func::wrap(&mut store, || 7i32).unwrap();
    assert_eq!(
        table
            .grow(&mut store, 2, Val::FuncRef(Some(seven)))
            .unwrap(),
        1
    );
    assert_eq!(table.size(&store), 3);
    assert!(table.grow(&mut store, 2, Val::FuncRef(None)).is_err());
    assert!(table.set(&mut store, 3, Val::FuncRef(None)).is_err());
    assert!(matches!(table.get(&mut store, 0), Some(Val::FuncRef(None))));
    assert!(matches!(
        table.get(&mut store, 2),
        Some(Val::FuncRef(Some(_)))
    ));

    let module = Module::new(
        &engine,
        r#"(module (import "host" "table" (table 3 funcref))
             (func (export "call") (param i32) (result i32)
               (call_indirect (result i32) (local.get 0))))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker.define(&mut store, "host", "table", table).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let call = instance
        .get_typed_func::<i32, i32>(&mut store, "call")
        .unwrap();
    assert_eq!(call.call(&mut store, 1).unwrap(), 7);
    let e = call.call(&mut store, 0).unwrap_err();
    assert!(e.to_string().contains("uninitialized element"), "{e}");
}

#[test]
fn externrefs_round_trip_through_wasm_tables() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (table $t 2 externref)
             (func (export "put") (param externref) (table.set $t (i32.const 1) (local.get 0)))
             (func (export "get") (result externref) (table.get $t (i32.const 1)))
             (func (export "is_null") (param externref) (result i32) (ref.is_null (local.get 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let host = ExternRef::new(&mut store, String::from("host value"));
    let put = instance.get_func(&mut store, "put").unwrap();
    put.call(&mut store, &[Val::ExternRef(Some(host))], &mut [])
        .unwrap();
    let get = instance.get_func(&mut store, "get").unwrap();
    let mut out = [Val::ExternRef(None)];
    get.call(&mut store, &[], &mut out).unwrap();
    let Val::ExternRef(Some(back)) = out[0] else {
        panic!("expected an externref, got {:?}", out[0]);
    };
    assert_eq!(
        back.data(&store)
            .downcast_ref::<String>()
            .map(String::as_str),
        Some("host value")
    );
    let is_null = instance.get_func(&mut store, "is_null").unwrap();
    let mut flag = [Val::I32(-1)];
    is_null
        .call(&mut store, &[Val::ExternRef(None)], &mut flag)
        .unwrap();
    assert_eq!(flag[0], Val::I32(1));
}

#[test]
fn v128_values_cross_the_host_boundary() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (func (export "add") (param v128 v128) (result v128)
             (i32x4.add (local.get 0) (local.get 1))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let add = instance
        .get_typed_func::<(u128, u128), u128>(&mut store, "add")
        .unwrap();
    let lanes = |l: [u32; 4]| {
        l.iter()
            .rev()
            .fold(0u128, |acc, x| (acc << 32) | u128::from(*x))
    };
    let sum = add
        .call(
            &mut store,
            (lanes([1, 2, 3, u32::MAX]), lanes([10, 20, 30, 1])),
        )
        .unwrap();
    assert_eq!(sum, lanes([11, 22, 33, 0]));
}

#[test]
fn host_functions_return_several_values() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (import "host" "divmod" (func $dm (param i32 i32) (result i32 i32)))
             (func (export "run") (param i32 i32) (result i32)
               (call $dm (local.get 0) (local.get 1))
               (i32.mul (i32.const 100))
               (i32.add)))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap("host", "divmod", |a: i32, b: i32| (a / b, a % b))
        .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let run = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, (17, 5)).unwrap(), 3 + 2 * 100);
}
