//! The linker's definitions: a name defined twice is an error unless shadowing is allowed,
//! and an error creating a host function reaches the caller of `instantiate` as itself.

use wasmjit::{Config, Engine, Error, Linker, Memory, Module, Store};

const IMPORTS_F: &str = r#"(module (import "env" "f" (func (result i32)))
    (func (export "g") (result i32) call 0))"#;

#[test]
fn defining_a_name_twice_is_an_error() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker.func_wrap("env", "f", || 1i32).unwrap();
    let err = linker.func_wrap("env", "f", || 2i32).err().unwrap();
    match &err {
        Error::Link(message) => {
            assert!(message.contains("`env`.`f`"), "{message}");
            assert!(message.contains("defined twice"), "{message}");
        }
        other => panic!("expected a link error, got {other:?}"),
    }
    let memory = Memory::new(&mut store, 1, None, false).unwrap();
    assert!(matches!(
        linker.define(&mut store, "env", "f", memory),
        Err(Error::Link(_))
    ));
    // The first definition stands.
    let module = Module::new(&engine, IMPORTS_F).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let g = instance.get_typed_func::<(), i32>(&mut store, "g").unwrap();
    assert_eq!(g.call(&mut store, ()).unwrap(), 1);
}

#[test]
fn registering_an_instance_over_a_defined_name_defines_nothing() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker.func_wrap("env", "b", || 0i32).unwrap();
    let module = Module::new(
        &engine,
        r#"(module (func (export "a")) (func (export "b") (result i32) i32.const 5))"#,
    )
    .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    assert!(matches!(
        linker.instance(&mut store, "env", instance),
        Err(Error::Link(_))
    ));
    assert!(linker.get(&mut store, "env", "a").is_none());
}

#[test]
fn shadowing_replaces_an_earlier_definition_when_allowed() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker.allow_shadowing(true);
    linker.func_wrap("env", "f", || 1i32).unwrap();
    linker.func_wrap("env", "f", || 2i32).unwrap();
    let module = Module::new(&engine, IMPORTS_F).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let g = instance.get_typed_func::<(), i32>(&mut store, "g").unwrap();
    assert_eq!(g.call(&mut store, ()).unwrap(), 2);

    let exporter = Module::new(
        &engine,
        r#"(module (func (export "f") (result i32) i32.const 3))"#,
    )
    .unwrap();
    let exporter = linker.instantiate(&mut store, &exporter).unwrap();
    linker.instance(&mut store, "env", exporter).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let g = instance.get_typed_func::<(), i32>(&mut store, "g").unwrap();
    assert_eq!(g.call(&mut store, ()).unwrap(), 3);
}

#[test]
fn an_error_creating_a_host_function_is_not_an_unknown_import() {
    // Host functions need trampolines for this machine: an engine compiling for the other
    // architecture cannot create them.
    let other = if cfg!(target_arch = "x86_64") {
        "aarch64-unknown-linux-gnu"
    } else {
        "x86_64-unknown-linux-gnu"
    };
    let mut config = Config::new();
    config.target(other).unwrap();
    let engine = Engine::new(&config).unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker.func_wrap("env", "f", || 1i32).unwrap();
    let module = Module::new(&engine, IMPORTS_F).unwrap();
    let err = linker.instantiate(&mut store, &module).err().unwrap();
    let message = err.to_string();
    assert!(!message.contains("unknown import"), "{message}");
    assert!(message.contains("host functions"), "{message}");
    // `get` keeps wasmtime's signature: no item.
    assert!(linker.get(&mut store, "env", "f").is_none());
}

#[test]
fn host_functions_take_up_to_ten_parameters_with_the_caller() {
    // WASI's path_open has nine parameters; the caller comes first.
    let engine = Engine::default();
    let mut store = Store::new(&engine, 0u64);
    let mut linker = Linker::new(&engine);
    linker
        .func_wrap(
            "env",
            "ten",
            |mut caller: wasmjit::Caller<'_, u64>,
             a: i32,
             b: i64,
             c: i32,
             d: i32,
             e: i32,
             f: i64,
             g: i64,
             h: i32,
             i: i32,
             j: i32| {
                let sum = [
                    a as i64, b, c as i64, d as i64, e as i64, f, g, h as i64, i as i64,
                ]
                .iter()
                .sum::<i64>()
                    + j as i64;
                *caller.data_mut() += 1;
                sum
            },
        )
        .unwrap();
    let module = Module::new(
        &engine,
        r#"(module
             (import "env" "ten" (func $ten (param i32 i64 i32 i32 i32 i64 i64 i32 i32 i32) (result i64)))
             (func (export "go") (result i64)
               (call $ten (i32.const 1) (i64.const 2) (i32.const 3) (i32.const 4) (i32.const 5)
                          (i64.const 6) (i64.const 7) (i32.const 8) (i32.const 9) (i32.const 10))))"#,
    )
    .unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    let go = instance
        .get_typed_func::<(), i64>(&mut store, "go")
        .unwrap();
    assert_eq!(go.call(&mut store, ()).unwrap(), 55);
    assert_eq!(*store.data(), 1);
}
