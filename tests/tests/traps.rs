//! Traps end the guest, never the host: out-of-bounds accesses at the edges of the address
//! space, stack exhaustion, arithmetic traps, failing and panicking host functions. After
//! each, the store stays usable.

use wasmjit::{Config, Engine, Error, Func, Instance, Linker, Memory, Module, Store, Trap, Val};
use wasmjit_tests::support::{instance, trap_kind};

const EDGES: &str = r#"(module
  (memory 1)
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "load_max_offset") (param i32) (result i32)
    (i32.load offset=0xFFFFFFFF (local.get 0)))
  (func (export "load64_offset") (param i32) (result i64)
    (i64.load offset=65528 (local.get 0)))
  (func (export "store") (param i32) (i32.store8 (local.get 0) (i32.const 1))))"#;

fn check_edges(engine: &Engine) {
    let (mut store, instance) = instance(engine, EDGES);
    let load = instance
        .get_typed_func::<i32, i32>(&mut store, "load")
        .unwrap();
    let max = instance
        .get_typed_func::<i32, i32>(&mut store, "load_max_offset")
        .unwrap();
    let load64 = instance
        .get_typed_func::<i32, i64>(&mut store, "load64_offset")
        .unwrap();
    let store8 = instance
        .get_typed_func::<i32, ()>(&mut store, "store")
        .unwrap();

    assert_eq!(load.call(&mut store, 65532).unwrap(), 0);
    assert_eq!(load64.call(&mut store, 0).unwrap(), 0);
    for addr in [65533, 65536, -1, i32::MIN] {
        assert_eq!(
            trap_kind(load.call(&mut store, addr)),
            Trap::MemoryOutOfBounds
        );
    }
    for addr in [0, 1, -1] {
        assert_eq!(
            trap_kind(max.call(&mut store, addr)),
            Trap::MemoryOutOfBounds
        );
    }
    assert_eq!(
        trap_kind(load64.call(&mut store, 1)),
        Trap::MemoryOutOfBounds
    );
    assert_eq!(
        trap_kind(store8.call(&mut store, 65536)),
        Trap::MemoryOutOfBounds
    );
    store8.call(&mut store, 65535).unwrap();
    assert_eq!(load.call(&mut store, 65532).unwrap(), 1 << 24);
}

#[test]
fn accesses_past_the_end_trap_with_guard_pages() {
    check_edges(&Engine::default());
}

#[test]
fn accesses_past_the_end_trap_with_explicit_checks() {
    let mut config = Config::new();
    config.bounds_checks(wasmjit::BoundsChecks::Explicit);
    check_edges(&Engine::new(&config).unwrap());
}

#[test]
fn a_trap_leaves_host_memory_and_other_instances_untouched() {
    let engine = Engine::default();
    let (mut store, a) = instance(&engine, EDGES);
    let b = Instance::new(&mut store, &Module::new(&engine, EDGES).unwrap(), &[]).unwrap();
    let store_a = a.get_typed_func::<i32, ()>(&mut store, "store").unwrap();
    let load_b = b.get_typed_func::<i32, i32>(&mut store, "load").unwrap();
    for addr in [65536, 1 << 20, i32::MAX, -1] {
        assert!(store_a.call(&mut store, addr).is_err());
    }
    assert_eq!(load_b.call(&mut store, 0).unwrap(), 0);
}

#[test]
fn infinite_recursion_exhausts_the_stack_and_the_next_call_works() {
    let (mut store, instance) = instance(
        &Engine::default(),
        r#"(module
          (func $f (export "recurse") (param i64) (result i64)
            (i64.add (call $f (i64.add (local.get 0) (i64.const 1))) (i64.const 1)))
          (func (export "ok") (result i32) (i32.const 7)))"#,
    );
    let recurse = instance
        .get_typed_func::<i64, i64>(&mut store, "recurse")
        .unwrap();
    let ok = instance
        .get_typed_func::<(), i32>(&mut store, "ok")
        .unwrap();
    for _ in 0..3 {
        assert_eq!(trap_kind(recurse.call(&mut store, 0)), Trap::StackOverflow);
        assert_eq!(ok.call(&mut store, ()).unwrap(), 7);
    }
}

/// On a thread that has never run wasm, with a small stack: the out-of-bounds fault of a
/// one-byte store (in guard-page mode, a signal) one frame short of the stack limit, and the
/// stack-limit trap one frame deeper, both come back as traps. The signal handler runs on the
/// signal stack the runtime gives every thread that runs wasm, and the thread has one after.
#[test]
fn faults_at_the_stack_limit_of_a_new_thread_are_traps() {
    let thread = std::thread::Builder::new().stack_size(1 << 20).spawn(|| {
        let mut config = Config::new();
        config.max_wasm_stack(256 << 10);
        let (mut store, instance) = instance(
            &Engine::new(&config).unwrap(),
            r#"(module (memory 1)
              (func $f (export "dive") (param i32)
                (if (i32.eqz (local.get 0))
                  (then (i32.store8 (i32.const 65536) (i32.const 1)))
                  (else (call $f (i32.sub (local.get 0) (i32.const 1)))))))"#,
        );
        let dive = instance
            .get_typed_func::<i32, ()>(&mut store, "dive")
            .unwrap();
        // `low` frames reach the store; `high` frames exhaust the stack first.
        let (mut low, mut high) = (0, 1 << 20);
        assert_eq!(
            trap_kind(dive.call(&mut store, low)),
            Trap::MemoryOutOfBounds
        );
        assert_eq!(trap_kind(dive.call(&mut store, high)), Trap::StackOverflow);
        while high - low > 1 {
            let mid = low + (high - low) / 2;
            match trap_kind(dive.call(&mut store, mid)) {
                Trap::MemoryOutOfBounds => low = mid,
                Trap::StackOverflow => high = mid,
                other => panic!("{mid} frames: {other:?}"),
            }
        }
        assert!(low > 1000, "only {low} frames fit in 256 KiB");
        low
    });
    let frames = thread.unwrap().join().unwrap();
    println!("the deepest fault handled: {frames} frames down");
}

#[test]
fn arithmetic_traps_carry_the_spec_messages() {
    let (mut store, instance) = instance(
        &Engine::default(),
        r#"(module
          (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
          (func (export "trunc") (param f32) (result i32) (i32.trunc_f32_s (local.get 0)))
          (func (export "unreachable") unreachable))"#,
    );
    let div = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "div")
        .unwrap();
    let trunc = instance
        .get_typed_func::<f32, i32>(&mut store, "trunc")
        .unwrap();
    let unreachable = instance
        .get_typed_func::<(), ()>(&mut store, "unreachable")
        .unwrap();
    let e = div.call(&mut store, (1, 0)).unwrap_err();
    assert!(e.to_string().contains("integer divide by zero"), "{e}");
    assert_eq!(
        trap_kind(div.call(&mut store, (i32::MIN, -1))),
        Trap::IntegerOverflow
    );
    assert_eq!(
        trap_kind(trunc.call(&mut store, f32::NAN)),
        Trap::BadConversionToInteger
    );
    assert_eq!(
        trap_kind(trunc.call(&mut store, 3e9)),
        Trap::IntegerOverflow
    );
    let e = unreachable.call(&mut store, ()).unwrap_err();
    assert!(e.to_string().contains("unreachable"), "{e}");
    assert_eq!(div.call(&mut store, (7, 2)).unwrap(), 3);
}

const CALLS_HOST: &str = r#"(module
  (import "host" "f" (func $f (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (param i32) (result i32) (call $f (local.get 0))))"#;

fn with_host<F, R>(f: F) -> (Store<()>, Instance)
where
    F: wasmjit::IntoFunc<(), (wasmjit::Caller<'static, ()>, i32), R>,
{
    let engine = Engine::default();
    let module = Module::new(&engine, CALLS_HOST).unwrap();
    let mut store = Store::new(&engine, ());
    let mut linker = Linker::new(&engine);
    linker.func_wrap("host", "f", f).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    (store, instance)
}

#[test]
fn a_host_function_reaches_its_callers_memory() {
    let (mut store, instance) = with_host(|mut caller: wasmjit::Caller<'_, ()>, addr: i32| {
        let memory = caller.get_export("memory").unwrap().into_memory().unwrap();
        memory.write(&mut caller, addr as usize, &[0x2a]).unwrap();
        memory.data(&caller)[addr as usize] as i32 + 1
    });
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    assert_eq!(run.call(&mut store, 100).unwrap(), 43);
    let memory = instance.get_memory(&mut store, "memory").unwrap();
    assert_eq!(memory.data(&store)[100], 0x2a);
}

#[test]
fn a_failing_host_function_is_an_error_and_the_store_stays_usable() {
    let (mut store, instance) = with_host(|_: wasmjit::Caller<'_, ()>, x: i32| {
        if x < 0 {
            Err(Error::msg("negative input"))
        } else {
            Ok(x * 2)
        }
    });
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    let e = run.call(&mut store, -1).unwrap_err();
    assert!(e.to_string().contains("negative input"), "{e}");
    assert!(e.trap().is_none(), "a host error is not a wasm trap");
    assert_eq!(run.call(&mut store, 21).unwrap(), 42);
}

#[test]
fn a_panicking_host_function_panics_in_the_caller_of_wasm() {
    let (mut store, instance) = with_host(|_: wasmjit::Caller<'_, ()>, x: i32| -> i32 {
        assert!(x >= 0, "host function panicked on {x}");
        x
    });
    let run = instance
        .get_typed_func::<i32, i32>(&mut store, "run")
        .unwrap();
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = run.call(&mut store, -5);
    }))
    .unwrap_err();
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("host function panicked on -5"),
        "{message}"
    );
    assert_eq!(run.call(&mut store, 5).unwrap(), 5);
}

#[test]
fn two_thousand_memories_come_and_go_without_exhausting_address_space() {
    let engine = Engine::default();
    for _ in 0..2000 {
        let mut store = Store::new(&engine, ());
        let memory = Memory::new(&mut store, 1, None, false).unwrap();
        memory.data_mut(&mut store)[0] = 1;
    }
    let module = Module::new(&engine, "(module (memory 1))").unwrap();
    for _ in 0..2000 {
        let mut store = Store::new(&engine, ());
        Instance::new(&mut store, &module, &[]).unwrap();
    }
}

#[test]
fn dynamic_calls_check_argument_types() {
    let (mut store, instance) = instance(
        &Engine::default(),
        r#"(module (func (export "id") (param i64) (result i64) (local.get 0)))"#,
    );
    let id = instance.get_func(&mut store, "id").unwrap();
    let mut results = [Val::I64(0)];
    assert!(matches!(
        id.call(&mut store, &[Val::I32(1)], &mut results),
        Err(Error::Type(_))
    ));
    id.call(&mut store, &[Val::I64(-9)], &mut results).unwrap();
    assert_eq!(results[0], Val::I64(-9));
    let func = Func::wrap(&mut store, |x: i64| x + 1).unwrap();
    func.call(&mut store, &[Val::I64(1)], &mut results).unwrap();
    assert_eq!(results[0], Val::I64(2));
}
