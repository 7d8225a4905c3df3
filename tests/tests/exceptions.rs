//! Exception handling (`throw`, `throw_ref`, `try_table`): C++-style throws across frames and
//! instances, uncaught exceptions reaching the host with their tag and payload, host
//! functions throwing into wasm, and rethrows keeping the exception's identity.

use wasmjit::{
    Config, Engine, Error, ExnRef, FuncType, Instance, Linker, Module, Store, Tag, TagType, Trap,
    ValType,
};

/// The library instance: it defines the C++-style tag (payload: an exception object pointer)
/// and throws it three frames deep.
const LIBRARY: &str = r#"(module
  (tag $cpp (export "cpp") (param i32))
  (func $deep (param i32) (throw $cpp (local.get 0)))
  (func $middle (param i32) (call $deep (local.get 0)) (unreachable))
  (func (export "throw_deep") (param i32) (call $middle (local.get 0)) (unreachable))
  (func (export "divide") (param i32 i32) (result i32)
    (i32.div_s (local.get 0) (local.get 1))))"#;

/// The application instance: catches what the library throws, or lets it go.
const APP: &str = r#"(module
  (import "lib" "cpp" (tag $cpp (param i32)))
  (import "lib" "throw_deep" (func $throw_deep (param i32)))
  (import "lib" "divide" (func $divide (param i32 i32) (result i32)))
  (import "host" "throw" (func $host_throw (param i32)))
  (tag $other (param i64))
  (func (export "catch") (param i32) (result i32)
    (block $caught (result i32)
      (try_table (catch $cpp $caught)
        (call $throw_deep (local.get 0)))
      (i32.const -1)))
  (func (export "uncaught") (param i32)
    (block $caught (result i64)
      (try_table (catch $other $caught)
        (call $throw_deep (local.get 0)))
      (return))
    (drop))
  (func (export "catch_host") (param i32) (result i32)
    (block $caught (result i32)
      (try_table (catch $cpp $caught)
        (call $host_throw (local.get 0)))
      (i32.const -1))
    (i32.const 1000)
    (i32.add))
  (func (export "catch_all") (param i32) (result i32)
    (block $caught
      (try_table (catch_all $caught)
        (call $throw_deep (local.get 0)))
      (return (i32.const -1)))
    (i32.const 7))
  (func (export "trap_inside") (result i32)
    (block $caught
      (try_table (catch_all $caught)
        (drop (call $divide (i32.const 1) (i32.const 0))))
      (return (i32.const -1)))
    (i32.const 7))
  (func (export "rethrow") (param i32)
    (block $caught (result i32 exnref)
      (try_table (catch_ref $cpp $caught)
        (call $throw_deep (local.get 0)))
      (return))
    (throw_ref)
    (drop))
  (func (export "rethrow_host") (param i32)
    (block $caught (result exnref)
      (try_table (catch_all_ref $caught)
        (call $host_throw (local.get 0)))
      (return))
    (throw_ref)))"#;

struct Setup {
    store: Store<()>,
    app: Instance,
    cpp: Tag,
    host_exceptions: std::sync::Arc<std::sync::Mutex<Vec<ExnRef>>>,
}

fn setup() -> Setup {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let library = Module::new(&engine, LIBRARY).unwrap();
    let library = Instance::new(&mut store, &library, &[]).unwrap();
    let cpp = library.get_tag(&mut store, "cpp").unwrap();
    let mut linker = Linker::new(&engine);
    linker.instance(&mut store, "lib", library).unwrap();
    let host_exceptions = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let thrown = host_exceptions.clone();
    let host_throw = wasmjit::Func::new(
        &mut store,
        FuncType::new([ValType::I32], []),
        move |mut caller, params, _| {
            let exn = ExnRef::new(&mut caller, &cpp, &[params[0]])?;
            thrown.lock().unwrap().push(exn);
            Err(Error::Exception(exn))
        },
    )
    .unwrap();
    linker
        .define(&mut store, "host", "throw", host_throw)
        .unwrap();
    let app = Module::new(&engine, APP).unwrap();
    let app = linker.instantiate(&mut store, &app).unwrap();
    Setup {
        store,
        app,
        cpp,
        host_exceptions,
    }
}

/// The exception a call ended with; fails the test if it returned or trapped instead.
fn thrown<T: std::fmt::Debug>(result: wasmjit::Result<T>) -> wasmjit::ExnRef {
    match result {
        Err(Error::Exception(exn)) => exn,
        other => panic!("expected an exception, got {other:?}"),
    }
}

#[test]
fn a_throw_through_three_frames_and_two_instances_is_caught_in_the_first() {
    let Setup { mut store, app, .. } = setup();
    let catch = app.get_typed_func::<i32, i32>(&mut store, "catch").unwrap();
    // The payload stands for a C++ exception object's address.
    assert_eq!(catch.call(&mut store, 0x1234).unwrap(), 0x1234);
    assert_eq!(catch.call(&mut store, -5).unwrap(), -5);
    let catch_all = app
        .get_typed_func::<i32, i32>(&mut store, "catch_all")
        .unwrap();
    assert_eq!(catch_all.call(&mut store, 1).unwrap(), 7);
}

#[test]
fn an_uncaught_exception_reaches_the_host_with_its_tag_and_payload() {
    let Setup {
        mut store,
        app,
        cpp,
        ..
    } = setup();
    let uncaught = app
        .get_typed_func::<i32, ()>(&mut store, "uncaught")
        .unwrap();
    let exn = thrown(uncaught.call(&mut store, 42));
    assert_eq!(exn.tag(&mut store), cpp);
    let payload = exn.payload(&mut store);
    assert_eq!(payload.len(), 1);
    assert_eq!(payload[0].i32(), Some(42));
    assert_eq!(
        cpp.ty(&store),
        TagType::new(FuncType::new([ValType::I32], []))
    );
    // The store is still usable after the exception left wasm.
    let catch = app.get_typed_func::<i32, i32>(&mut store, "catch").unwrap();
    assert_eq!(catch.call(&mut store, 3).unwrap(), 3);
}

#[test]
fn a_host_function_throws_and_wasm_catches() {
    let Setup { mut store, app, .. } = setup();
    let catch_host = app
        .get_typed_func::<i32, i32>(&mut store, "catch_host")
        .unwrap();
    assert_eq!(catch_host.call(&mut store, 5).unwrap(), 1005);
}

#[test]
fn throw_ref_rethrows_the_same_exception() {
    let Setup {
        mut store,
        app,
        cpp,
        host_exceptions,
    } = setup();
    let rethrow = app
        .get_typed_func::<i32, ()>(&mut store, "rethrow")
        .unwrap();
    let exn = thrown(rethrow.call(&mut store, 9));
    assert_eq!(exn.tag(&mut store), cpp);
    assert_eq!(exn.payload(&mut store)[0].i32(), Some(9));
    let rethrow_host = app
        .get_typed_func::<i32, ()>(&mut store, "rethrow_host")
        .unwrap();
    let exn = thrown(rethrow_host.call(&mut store, 11));
    let thrown = *host_exceptions.lock().unwrap().last().unwrap();
    assert_eq!(
        exn, thrown,
        "the rethrown exception is the one the host threw"
    );
}

#[test]
fn traps_are_not_caught_by_try_table() {
    let Setup { mut store, app, .. } = setup();
    let trap_inside = app
        .get_typed_func::<(), i32>(&mut store, "trap_inside")
        .unwrap();
    let err = trap_inside.call(&mut store, ()).unwrap_err();
    assert_eq!(err.trap(), Some(Trap::IntegerDivisionByZero));
}

#[test]
fn a_host_tag_is_imported_and_exceptions_of_it_are_inspected() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let ty = TagType::new(FuncType::new([ValType::I64, ValType::F64], []));
    let tag = Tag::new(&mut store, &ty).unwrap();
    let module = Module::new(
        &engine,
        r#"(module
          (import "host" "tag" (tag $t (param i64 f64)))
          (func (export "throw") (throw $t (i64.const -3) (f64.const 2.5))))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[tag.into()]).unwrap();
    let throw = instance
        .get_typed_func::<(), ()>(&mut store, "throw")
        .unwrap();
    let exn = thrown(throw.call(&mut store, ()));
    assert_eq!(exn.tag(&mut store), tag);
    let payload = exn.payload(&mut store);
    assert_eq!(payload[0].i64(), Some(-3));
    assert_eq!(payload[1].f64(), Some(2.5));
    // A tag of another type is refused as the import.
    let other = Tag::new(&mut store, &TagType::new(FuncType::new([ValType::I32], []))).unwrap();
    assert!(Instance::new(&mut store, &module, &[other.into()]).is_err());
}

#[test]
fn exceptions_can_be_turned_off() {
    let mut config = Config::new();
    config.wasm_exceptions(false);
    let engine = Engine::new(&config).unwrap();
    let err = Module::new(&engine, LIBRARY).unwrap_err();
    assert!(
        err.to_string().contains("exception"),
        "unexpected error: {err}"
    );
}

#[test]
fn deep_recursion_with_a_handler_per_frame_unwinds_to_the_innermost() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    // `down(n)` recurses n times inside a try_table per frame that catches and rethrows with
    // the payload plus one; the innermost throws 0.
    let module = Module::new(
        &engine,
        r#"(module
          (tag $t (param i32))
          (func $down (export "down") (param i32) (result i32)
            (block $caught (result i32)
              (try_table (result i32) (catch $t $caught)
                (if (i32.eqz (local.get 0)) (then (throw $t (i32.const 0))))
                (call $down (i32.sub (local.get 0) (i32.const 1))))
              (return))
            (throw $t (i32.add (i32.const 1))))
          (func (export "run") (param i32) (result i32)
            (block $caught (result i32)
              (try_table (catch $t $caught) (drop (call $down (local.get 0))))
              (i32.const -1))))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, 1000).unwrap(), 1001);
}

#[test]
fn fuel_is_counted_across_throws_and_runs_out_inside_a_handler_loop() {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config).unwrap();
    let mut store = Store::new(&engine, ());
    // Each iteration throws from a callee and catches in the loop; the loop never ends, so
    // only fuel stops it.
    let module = Module::new(
        &engine,
        r#"(module
          (tag $t (param i32))
          (func $throw (param i32) (throw $t (local.get 0)))
          (func (export "count") (param i32) (result i32)
            (local $n i32)
            (loop $again
              (block $caught (result i32)
                (try_table (catch $t $caught) (call $throw (local.get $n)))
                (unreachable))
              (local.set $n (i32.add (i32.const 1)))
              (br_if $again (i32.lt_u (local.get $n) (local.get 0))))
            (local.get $n))
          (func (export "forever")
            (loop $again
              (block $caught (result i32)
                (try_table (catch $t $caught) (call $throw (i32.const 0)))
                (unreachable))
              (drop)
              (br $again)))
          (func (export "catch_then_trap")
            (block $caught (result i32)
              (try_table (catch $t $caught) (call $throw (i32.const 0)))
              (unreachable))
            (drop)
            (unreachable)))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    store.set_fuel(1_000_000).unwrap();
    let count = instance
        .get_typed_func::<i32, i32>(&mut store, "count")
        .unwrap();
    assert_eq!(count.call(&mut store, 1000).unwrap(), 1000);
    let left = store.get_fuel().unwrap();
    assert!(
        left < 1_000_000 - 10_000,
        "1000 throws cost fuel: {left} left"
    );
    let forever = instance
        .get_typed_func::<(), ()>(&mut store, "forever")
        .unwrap();
    let err = forever.call(&mut store, ()).unwrap_err();
    assert_eq!(err.trap(), Some(Trap::OutOfFuel));

    // A trap in a handler leaves the fuel the handler took over from the thrower.
    store.set_fuel(1_000_000).unwrap();
    let catch_then_trap = instance
        .get_typed_func::<(), ()>(&mut store, "catch_then_trap")
        .unwrap();
    let err = catch_then_trap.call(&mut store, ()).unwrap_err();
    assert_eq!(err.trap(), Some(Trap::UnreachableCodeReached));
    let left = store.get_fuel().unwrap();
    assert!((1_000_000 - 100..1_000_000).contains(&left), "{left} left");
}

#[test]
fn an_exception_thrown_at_the_stack_limit_is_still_caught() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    // `deep` recurses until the stack is exhausted (a trap, not an exception); `throw_at`
    // throws at depth n, caught at the top.
    let module = Module::new(
        &engine,
        r#"(module
          (tag $t (param i32))
          (func $deep (param i32) (result i32)
            (if (i32.eqz (local.get 0)) (then (throw $t (i32.const 99))))
            (i32.add (i32.const 1) (call $deep (i32.sub (local.get 0) (i32.const 1)))))
          (func (export "throw_at") (param i32) (result i32)
            (block $caught (result i32)
              (try_table (result i32) (catch $t $caught) (call $deep (local.get 0)))))
          (func (export "overflow") (result i32)
            (block $caught
              (try_table (result i32) (catch_all $caught) (call $deep (i32.const -1)))
              (return))
            (i32.const -1)))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let throw_at = instance
        .get_typed_func::<i32, i32>(&mut store, "throw_at")
        .unwrap();
    assert_eq!(throw_at.call(&mut store, 10_000).unwrap(), 99);
    let overflow = instance
        .get_typed_func::<(), i32>(&mut store, "overflow")
        .unwrap();
    let err = overflow.call(&mut store, ()).unwrap_err();
    assert_eq!(err.trap(), Some(Trap::StackOverflow));
    // The store runs wasm again afterwards.
    assert_eq!(throw_at.call(&mut store, 5).unwrap(), 99);
}

#[test]
fn exnref_values_cross_the_api() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let module = Module::new(
        &engine,
        r#"(module
          (tag $t (export "t") (param i32))
          (func (export "catch") (param i32) (result exnref)
            (block $caught (result exnref)
              (try_table (catch_all_ref $caught) (throw $t (local.get 0)))
              (unreachable)))
          (func (export "rethrow") (param exnref) (throw_ref (local.get 0))))"#,
    )
    .unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let tag = instance.get_tag(&mut store, "t").unwrap();
    let catch = instance.get_func(&mut store, "catch").unwrap();
    let mut result = [wasmjit::Val::ExnRef(None)];
    catch
        .call(&mut store, &[wasmjit::Val::I32(4)], &mut result)
        .unwrap();
    let wasmjit::Val::ExnRef(Some(exn)) = result[0] else {
        panic!("expected an exception, got {}", result[0]);
    };
    assert_eq!(exn.tag(&mut store), tag);
    assert_eq!(exn.payload(&mut store)[0].i32(), Some(4));
    let rethrow = instance.get_func(&mut store, "rethrow").unwrap();
    let err = rethrow.call(&mut store, &result, &mut []).unwrap_err();
    let Error::Exception(again) = err else {
        panic!("expected an exception, got {err}");
    };
    assert_eq!(again, exn);
    // A null exnref traps.
    let err = rethrow
        .call(&mut store, &[wasmjit::Val::ExnRef(None)], &mut [])
        .unwrap_err();
    assert_eq!(err.trap(), Some(Trap::NullReference));
}
