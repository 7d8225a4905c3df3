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

/// A module that lets functions out in every way the host can reach them, each of its own
/// type, and has two types no such function has.
const LET_OUT: &str = r#"(module
  (type $unused (func (param f64) (result f64)))
  (global $started (mut i32) (i32.const 0))
  (table (export "table") 1 funcref)
  (elem (i32.const 0) $from_table)
  (global (export "global") funcref (ref.func $from_global))
  (elem declare func $returned)
  (func $start (global.set $started (i32.const 7)))
  (start $start)
  (func (export "started") (result i32) (global.get $started))
  (func $from_table (param i64) (result i64) (i64.add (local.get 0) (i64.const 1)))
  (func $from_global (param f32) (result f32) (f32.neg (local.get 0)))
  (func $returned (param i32 i32) (result i32) (i32.sub (local.get 0) (local.get 1)))
  (func (export "give") (result funcref) (ref.func $returned))
  (func $internal (param i32 i64) (drop (local.get 0))))"#;

#[test]
fn the_host_calls_every_function_a_module_lets_out() {
    let bytes = wat::parse_str(LET_OUT).unwrap();
    let info = wasmjit_codegen::ModuleInfo::parse(&bytes, wasmparser::WasmFeatures::all()).unwrap();
    // Every function but `$internal` escapes (the start function, an export, an element,
    // a global's `ref.func`, a declared `ref.func`): only `$internal` is compiled without
    // the caller's vmctx, and the host calls each of the others below.
    let escaping = info.escaping_functions();
    assert_eq!(escaping, [true, true, true, true, true, true, false]);
    let callable = info.host_callable_types();
    // Every type but `$unused` and `$internal`'s has an array-to-wasm trampoline.
    assert_eq!((info.types.len(), callable.len()), (8, 6), "{callable:?}");
    for t in &callable {
        let ty = info.types[*t as usize].as_func().unwrap();
        assert!(ty.params.len() < 2 || ty.results.len() == 1, "{ty:?}");
        assert!(
            !ty.params.contains(&wasmjit_codegen::ValType::F64),
            "{ty:?}"
        );
    }

    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let module = Module::new(&engine, LET_OUT).unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let call = |store: &mut Store<()>, func: Func, params: &[Val]| {
        let mut results = [Val::I32(0)];
        func.call(&mut *store, params, &mut results).unwrap();
        results[0]
    };
    // The start function ran through its trampoline.
    let started = instance.get_func(&mut store, "started").unwrap();
    assert!(matches!(call(&mut store, started, &[]), Val::I32(7)));
    let table = instance.get_table(&mut store, "table").unwrap();
    let Some(Val::FuncRef(Some(from_table))) = table.get(&mut store, 0) else {
        panic!("the element segment filled the table");
    };
    assert!(matches!(
        call(&mut store, from_table, &[Val::I64(41)]),
        Val::I64(42)
    ));
    let global = instance.get_global(&mut store, "global").unwrap();
    let Val::FuncRef(Some(from_global)) = global.get(&mut store) else {
        panic!("the global holds a function");
    };
    let negated = call(&mut store, from_global, &[Val::F32(2.5f32.to_bits())]);
    assert!(matches!(negated, Val::F32(bits) if f32::from_bits(bits) == -2.5));
    let give = instance.get_func(&mut store, "give").unwrap();
    let Val::FuncRef(Some(returned)) = call(&mut store, give, &[]) else {
        panic!("`give` returns a function");
    };
    assert!(matches!(
        call(&mut store, returned, &[Val::I32(5), Val::I32(3)]),
        Val::I32(2)
    ));
}
