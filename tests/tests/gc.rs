//! Wasm GC through the embedding API: structs, arrays and `i31`s crossing the host
//! boundary, types canonicalised across modules, `call_indirect` of subtypes, and the GC
//! heap limit (allocation past it traps, never aborts), and the scopes that release the
//! host's handles.

use wasmjit::{
    AnyRef, Caller, DefinedKind, Engine, Func, FuncType, HeapType, Instance, Linker, Module,
    RefType, RootScope, Store, StoreLimits, StoreLimitsBuilder, Trap, Val, ValType, I31,
};
use wasmjit_tests::support::{instance, trap_kind};

const LIST: &str = r#"(module
    (type $node (struct (field $value i32) (field $next (ref null $node))))
    (type $bytes (array (mut i8)))
    (func (export "list") (param $n i32) (result (ref null $node))
        (local $head (ref null $node))
        (block $done
            (loop $more
                (br_if $done (i32.eqz (local.get $n)))
                (local.set $head (struct.new $node (local.get $n) (local.get $head)))
                (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                (br $more)))
        (local.get $head))
    (func (export "sum") (param $list (ref null $node)) (result i32)
        (local $sum i32)
        (block $done
            (loop $more
                (br_on_null $done (local.get $list))
                (local.set $sum (i32.add (local.get $sum)
                    (struct.get $node $value (ref.as_non_null (local.get $list)))))
                (local.set $list (struct.get $node $next (ref.as_non_null (local.get $list))))
                (br $more)))
        (local.get $sum))
    (func (export "bytes") (param $len i32) (result anyref)
        (array.new $bytes (i32.const 0xff) (local.get $len)))
    (func (export "byte_s") (param $a anyref) (param $i i32) (result i32)
        (array.get_s $bytes (ref.cast (ref $bytes) (local.get $a)) (local.get $i)))
    (func (export "byte_u") (param $a anyref) (param $i i32) (result i32)
        (array.get_u $bytes (ref.cast (ref $bytes) (local.get $a)) (local.get $i)))
    (func (export "i31") (param $x i32) (result i31ref) (ref.i31 (local.get $x)))
    (func (export "i31_s") (param $r i31ref) (result i32) (i31.get_s (local.get $r)))
    (func (export "is_struct") (param $r anyref) (result i32)
        (ref.test (ref struct) (local.get $r)))
)"#;

fn call(store: &mut Store<()>, instance: &Instance, name: &str, args: &[Val]) -> Val {
    let func = instance.get_func(&mut *store, name).unwrap();
    let mut out = [Val::I32(0)];
    func.call(&mut *store, args, &mut out).unwrap();
    out[0]
}

#[test]
fn objects_cross_the_host_boundary_and_keep_their_contents() {
    let engine = Engine::default();
    let (mut store, instance) = instance(&engine, LIST);
    let list = call(&mut store, &instance, "list", &[Val::I32(100)]);
    let Val::AnyRef(Some(head)) = list else {
        panic!("a struct reference, got {list:?}");
    };
    assert!(head.is_struct(&store).unwrap());
    assert!(!head.is_array(&store).unwrap());
    assert_eq!(head.as_i31(), None);
    assert_eq!(
        call(&mut store, &instance, "sum", &[list]).i32(),
        Some(5050)
    );
    assert_eq!(
        call(&mut store, &instance, "sum", &[Val::AnyRef(None)]).i32(),
        Some(0)
    );

    // Packed elements read sign- or zero-extended.
    let bytes = call(&mut store, &instance, "bytes", &[Val::I32(3)]);
    let Val::AnyRef(Some(array)) = bytes else {
        panic!("an array reference, got {bytes:?}");
    };
    assert_eq!(array.array_len(&store).unwrap(), Some(3));
    let get = |store: &mut Store<()>, name, i| call(store, &instance, name, &[bytes, Val::I32(i)]);
    assert_eq!(get(&mut store, "byte_s", 2).i32(), Some(-1));
    assert_eq!(get(&mut store, "byte_u", 2).i32(), Some(255));
    let func = instance.get_func(&mut store, "byte_u").unwrap();
    let err = func
        .call(&mut store, &[bytes, Val::I32(3)], &mut [Val::I32(0)])
        .unwrap_err();
    assert_eq!(err.trap(), Some(Trap::ArrayOutOfBounds));
    // A cast of the wrong kind traps.
    let err = func
        .call(&mut store, &[list, Val::I32(0)], &mut [Val::I32(0)])
        .unwrap_err();
    assert_eq!(err.trap(), Some(Trap::CastFailure));
}

#[test]
fn i31_values_round_trip_and_are_not_objects() {
    let engine = Engine::default();
    let (mut store, instance) = instance(&engine, LIST);
    let r = call(&mut store, &instance, "i31", &[Val::I32(-5)]);
    let Val::AnyRef(Some(i31)) = r else {
        panic!("an i31ref, got {r:?}");
    };
    assert_eq!(i31.as_i31().map(I31::get_i32), Some(-5));
    assert_eq!(i31.as_i31().map(I31::get_u32), Some(0x7fff_fffb));
    assert!(!i31.is_struct(&store).unwrap());
    // One made by the host reads back in wasm.
    let host = AnyRef::from_i31(&mut store, I31::wrapping_i32(1 << 30));
    let value = call(&mut store, &instance, "i31_s", &[Val::AnyRef(Some(host))]);
    assert_eq!(value.i32(), Some(-(1 << 30)));
    assert_eq!(
        call(
            &mut store,
            &instance,
            "is_struct",
            &[Val::AnyRef(Some(host))]
        )
        .i32(),
        Some(0)
    );
    // An internalised host value is neither an i31 nor an object, though it is an address.
    let host_value = wasmjit::ExternRef::new(&mut store, 7u32);
    let internal = AnyRef::from_extern(&store, &host_value);
    assert_eq!(internal.as_i31(), None);
    assert!(!internal.is_struct(&store).unwrap());
    assert_eq!(internal.as_extern(&store), Some(host_value));
    assert_eq!(
        call(
            &mut store,
            &instance,
            "is_struct",
            &[Val::AnyRef(Some(internal))]
        )
        .i32(),
        Some(0)
    );
    // An i31ref where wasm wants a struct reference is refused by the host side too.
    let sum = instance.get_func(&mut store, "sum").unwrap();
    assert!(sum
        .call(&mut store, &[Val::AnyRef(Some(host))], &mut [Val::I32(0)])
        .is_err());
}

#[test]
fn types_of_different_modules_are_equal_by_structure() {
    let engine = Engine::default();
    // A recursive struct type, defined the same way in two modules at different indices:
    // one module's objects pass the other's casts.
    let maker = Module::new(
        &engine,
        r#"(module
            (type $list (struct (field i32) (field (ref null $list))))
            (func (export "make") (result anyref)
                (struct.new $list (i32.const 7) (ref.null $list))))"#,
    )
    .unwrap();
    let user = Module::new(
        &engine,
        r#"(module
            (type $pad (array i8))
            (type $list (struct (field i32) (field (ref null $list))))
            (type $other (struct (field i32) (field (ref null $other)) (field i32)))
            (func (export "is_list") (param anyref) (result i32)
                (ref.test (ref $list) (local.get 0)))
            (func (export "is_other") (param anyref) (result i32)
                (ref.test (ref $other) (local.get 0))))"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let maker = Instance::new(&mut store, &maker, &[]).unwrap();
    let user = Instance::new(&mut store, &user, &[]).unwrap();
    let object = call(&mut store, &maker, "make", &[]);
    assert_eq!(call(&mut store, &user, "is_list", &[object]).i32(), Some(1));
    assert_eq!(
        call(&mut store, &user, "is_other", &[object]).i32(),
        Some(0)
    );

    // The API names the type by identity, with its kind and its place in the hierarchy.
    let is_list = user.get_func(&mut store, "is_list").unwrap();
    let ty = maker.get_func(&mut store, "make").unwrap().ty(&store);
    assert_eq!(ty.results().next(), Some(ValType::ANYREF));
    assert_eq!(is_list.ty(&store).params().next(), Some(ValType::ANYREF));
}

#[test]
fn call_indirect_accepts_functions_of_declared_subtypes() {
    // `$unrelated` has `$base`'s structure but is final, which makes it another type.
    let engine = Engine::default();
    let (mut store, instance) = instance(
        &engine,
        r#"(module
            (type $base (sub (func (result i32))))
            (type $derived (sub $base (func (result i32))))
            (type $unrelated (func (result i32)))
            (func $d (type $derived) (i32.const 1))
            (func $u (type $unrelated) (i32.const 2))
            (table 2 funcref)
            (elem (i32.const 0) func $d $u)
            (func (export "call_base") (param i32) (result i32)
                (call_indirect (type $base) (local.get 0)))
            (func (export "call_derived") (param i32) (result i32)
                (call_indirect (type $derived) (local.get 0)))
            (func (export "derived") (result (ref $derived)) (ref.func $d))
            (elem declare func $d))"#,
    );
    assert_eq!(
        call(&mut store, &instance, "call_base", &[Val::I32(0)]).i32(),
        Some(1)
    );
    let call_base = instance.get_func(&mut store, "call_base").unwrap();
    let err = call_base
        .call(&mut store, &[Val::I32(1)], &mut [Val::I32(0)])
        .unwrap_err();
    assert_eq!(err.trap(), Some(Trap::BadSignature));
    assert_eq!(
        call(&mut store, &instance, "call_derived", &[Val::I32(0)]).i32(),
        Some(1)
    );

    // The host sees a non-plain function type as a defined type of the function kind.
    let derived = instance.get_func(&mut store, "derived").unwrap();
    let result = derived.ty(&store).results().next().unwrap();
    let result: &RefType = result.as_ref().expect("a reference type");
    assert!(!result.is_nullable());
    match result.heap_type() {
        HeapType::Concrete(ty) => assert_eq!(ty.kind(), DefinedKind::Func),
        other => panic!("a defined type, got {other}"),
    }
}

#[test]
fn the_gc_heap_limit_traps_allocation_past_it() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (type $chunk (array (mut i64)))
            (type $link (struct (field (ref null $link)) (field (ref $chunk))))
            (global $keep (mut (ref null $link)) (ref.null $link))
            (func (export "allocate") (param $n i32)
                (loop $more
                    (global.set $keep (struct.new $link (global.get $keep)
                        (array.new_default $chunk (i32.const 1024))))
                    (br_if $more (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))))"#,
    )
    .unwrap();
    let limits = StoreLimitsBuilder::new().gc_heap_size(4 << 20).build();
    let mut store = Store::new(&engine, limits);
    store.limiter(|limits: &mut StoreLimits| limits);
    let instance = Linker::new(&engine)
        .instantiate(&mut store, &module)
        .unwrap();
    let allocate = instance
        .get_typed_func::<i32, ()>(&mut store, "allocate")
        .unwrap();
    // Each array is 8 KiB and a bit, and stays reachable from the global through the
    // chain: 100 fit in 4 MiB, 1000 more do not, collections or not.
    allocate.call(&mut store, 100).unwrap();
    assert_eq!(
        trap_kind(allocate.call(&mut store, 1000)),
        Trap::GcHeapExhausted
    );
}

#[test]
fn an_oversized_array_traps_instead_of_aborting() {
    let engine = Engine::default();
    let (mut store, instance) = instance(
        &engine,
        r#"(module
            (type $big (array i64))
            (func (export "big") (param i32) (result i32)
                (array.len (array.new_default $big (local.get 0)))))"#,
    );
    let big = instance
        .get_typed_func::<i32, i32>(&mut store, "big")
        .unwrap();
    assert_eq!(big.call(&mut store, 10).unwrap(), 10);
    assert_eq!(trap_kind(big.call(&mut store, -1)), Trap::GcHeapExhausted);
}

#[test]
fn the_host_reads_and_writes_fields_within_their_types() {
    let engine = Engine::default();
    let (mut store, instance) = instance(
        &engine,
        r#"(module
            (type $point (struct (field $x (mut i32)) (field $tag i8)
                (field $next (mut (ref null $point)))))
            (type $shorts (array (mut i16)))
            (func (export "point") (result anyref)
                (struct.new $point (i32.const 3) (i32.const -1) (ref.null $point)))
            (func (export "x") (param anyref) (result i32)
                (struct.get $point $x (ref.cast (ref $point) (local.get 0))))
            (func (export "shorts") (result anyref)
                (array.new_default $shorts (i32.const 4)))
            (func (export "short_s") (param anyref i32) (result i32)
                (array.get_s $shorts (ref.cast (ref $shorts) (local.get 0)) (local.get 1))))"#,
    );
    let point = call(&mut store, &instance, "point", &[]);
    let Val::AnyRef(Some(p)) = point else {
        panic!("a struct, got {point:?}");
    };
    assert_eq!(p.struct_field(&mut store, 0).unwrap(), Val::I32(3));
    // A packed field reads zero-extended.
    assert_eq!(p.struct_field(&mut store, 1).unwrap(), Val::I32(255));
    assert_eq!(p.struct_field(&mut store, 2).unwrap(), Val::AnyRef(None));
    assert!(p.struct_field(&mut store, 3).is_err());

    p.set_struct_field(&mut store, 0, Val::I32(42)).unwrap();
    assert_eq!(call(&mut store, &instance, "x", &[point]).i32(), Some(42));
    // Immutable fields and values of another type are refused.
    assert!(p.set_struct_field(&mut store, 1, Val::I32(0)).is_err());
    assert!(p.set_struct_field(&mut store, 0, Val::I64(0)).is_err());
    let i31 = AnyRef::from_i31(&mut store, I31::wrapping_u32(9));
    assert!(p
        .set_struct_field(&mut store, 2, Val::AnyRef(Some(i31)))
        .is_err());
    p.set_struct_field(&mut store, 2, point).unwrap();
    assert_eq!(p.struct_field(&mut store, 2).unwrap(), point);
    assert!(p.array_get(&mut store, 0).is_err());

    let shorts = call(&mut store, &instance, "shorts", &[]);
    let Val::AnyRef(Some(a)) = shorts else {
        panic!("an array, got {shorts:?}");
    };
    // A packed element keeps the low bits of what the host writes.
    a.array_set(&mut store, 1, Val::I32(0x1_ffff)).unwrap();
    assert_eq!(a.array_get(&mut store, 1).unwrap(), Val::I32(0xffff));
    let value = call(&mut store, &instance, "short_s", &[shorts, Val::I32(1)]);
    assert_eq!(value.i32(), Some(-1));
    assert!(a.array_get(&mut store, 4).is_err());
    assert!(a.array_set(&mut store, 4, Val::I32(0)).is_err());
    assert!(a.struct_field(&mut store, 0).is_err());
}

const ROOTS: &str = r#"(module
    (type $node (struct (field i32) (field (ref null $node))))
    (type $bytes (array (mut i8)))
    (global $kept (mut (ref null $node)) (ref.null $node))
    (table $table 1 (ref null $node))
    (func (export "make") (param i32) (result (ref null $node))
        (struct.new $node (local.get 0) (ref.null $node)))
    (func (export "keep") (param i32)
        (global.set $kept (struct.new $node (local.get 0) (ref.null $node)))
        (table.set $table (i32.const 0)
            (struct.new $node (i32.add (local.get 0) (i32.const 1)) (ref.null $node))))
    (func (export "kept") (result i32)
        (i32.add
            (i32.mul (struct.get $node 0 (ref.as_non_null (global.get $kept))) (i32.const 100))
            (struct.get $node 0 (ref.as_non_null (table.get $table (i32.const 0))))))
    (func (export "churn") (param $n i32)
        (loop $more
            (drop (array.new_default $bytes (i32.const 65536)))
            (br_if $more (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
)"#;

#[test]
fn host_handles_globals_and_tables_keep_their_objects_through_collections() {
    let engine = Engine::default();
    let mut store = Store::new(
        &engine,
        StoreLimitsBuilder::new().gc_heap_size(4 << 20).build(),
    );
    store.limiter(|limits| limits);
    let module = Module::new(&engine, ROOTS).unwrap();
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let mut out = [Val::I32(0)];
    let make = instance.get_func(&mut store, "make").unwrap();
    make.call(&mut store, &[Val::I32(7)], &mut out).unwrap();
    let Val::AnyRef(Some(handle)) = out[0] else {
        panic!("a struct reference, got {:?}", out[0]);
    };
    let keep = instance
        .get_typed_func::<i32, ()>(&mut store, "keep")
        .unwrap();
    let kept = instance
        .get_typed_func::<(), i32>(&mut store, "kept")
        .unwrap();
    let churn = instance
        .get_typed_func::<i32, ()>(&mut store, "churn")
        .unwrap();
    keep.call(&mut store, 9).unwrap();
    // 64 MiB of garbage through a 4 MiB heap: collections, or a trap without them.
    churn.call(&mut store, 1000).unwrap();
    store.gc();
    churn.call(&mut store, 1000).unwrap();
    assert_eq!(handle.struct_field(&mut store, 0).unwrap(), Val::I32(7));
    assert_eq!(kept.call(&mut store, ()).unwrap(), 910);
}

#[test]
fn a_collection_at_every_allocation_keeps_what_wasm_holds() {
    let mut config = wasmjit::Config::new();
    config.gc_stress(true);
    let engine = Engine::new(&config).unwrap();
    let (mut store, instance) = instance(&engine, LIST);
    let list = call(&mut store, &instance, "list", &[Val::I32(300)]);
    assert_eq!(
        call(&mut store, &instance, "sum", &[list]),
        Val::I32(300 * 301 / 2)
    );
}

/// A module whose `pass` hands `rounds` fresh 64 KiB arrays, one by one, to the host
/// function `host.take`.
const PASS: &str = r#"(module
    (type $bytes (array (mut i8)))
    (import "host" "take" (func $take (param anyref)))
    (func (export "pass") (param $rounds i32)
        (loop $more
            (call $take (array.new $bytes (local.get $rounds) (i32.const 65536)))
            (br_if $more (local.tee $rounds (i32.sub (local.get $rounds) (i32.const 1))))))
    (func (export "bytes") (result anyref) (array.new_default $bytes (i32.const 65536)))
    (func (export "len") (param anyref) (result i32)
        (array.len (ref.cast (ref $bytes) (local.get 0))))
)"#;

/// The store data of the root-scope tests: the limits, and a handle a host function kept.
struct Kept {
    limits: StoreLimits,
    handle: Option<AnyRef>,
}

/// A store with an 8 MiB GC heap and `PASS` instantiated with a `take` that reads its
/// argument's first byte (checking it against the round) and keeps the handle.
fn pass_instance() -> (Store<Kept>, Instance) {
    let engine = Engine::default();
    let mut store = Store::new(
        &engine,
        Kept {
            limits: StoreLimitsBuilder::new().gc_heap_size(8 << 20).build(),
            handle: None,
        },
    );
    store.limiter(|data| &mut data.limits);
    let ty = FuncType::new([ValType::ANYREF], []);
    let take = Func::new(&mut store, ty, |mut caller: Caller<'_, Kept>, args, _| {
        let Val::AnyRef(Some(array)) = args[0] else {
            panic!("an array, got {:?}", args[0]);
        };
        assert_eq!(array.array_len(&caller).unwrap(), Some(65536));
        array.array_get(&mut caller, 0)?;
        caller.data_mut().handle = Some(array);
        Ok(())
    })
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker.define(&mut store, "host", "take", take).unwrap();
    let module = Module::new(&engine, PASS).unwrap();
    let instance = linker.instantiate(&mut store, &module).unwrap();
    (store, instance)
}

#[test]
fn handles_a_host_function_gets_are_released_when_it_returns() {
    let (mut store, instance) = pass_instance();
    let pass = instance
        .get_typed_func::<i32, ()>(&mut store, "pass")
        .unwrap();
    // 1,000 arrays of 64 KiB (64 MiB) through an 8 MiB heap: if the host's handles kept
    // them, the heap would run out.
    pass.call(&mut store, 1000).unwrap();
    // The handle the host function kept past its return is refused, not read.
    let kept = store.data().handle.unwrap();
    assert!(kept.array_get(&mut store, 0).is_err());
    assert!(kept.is_array(&store).is_err());
    assert!(!Val::AnyRef(Some(kept)).matches_ty(&store, &ValType::ANYREF));
    let len = instance.get_func(&mut store, "len").unwrap();
    let error = len
        .call(&mut store, &[Val::AnyRef(Some(kept))], &mut [Val::I32(0)])
        .unwrap_err();
    assert!(error.to_string().contains("no longer rooted"), "{error}");
}

#[test]
fn a_root_scope_releases_the_handles_made_in_it() {
    let (mut store, instance) = pass_instance();
    let bytes = instance.get_func(&mut store, "bytes").unwrap();
    let mut out = [Val::I32(0)];
    bytes.call(&mut store, &[], &mut out).unwrap();
    let outside = out[0];
    let mut inside = None;
    // 1,000 arrays of 64 KiB made in scopes go through an 8 MiB heap.
    for _ in 0..1000 {
        let mut scope = RootScope::new(&mut store);
        bytes.call(&mut scope, &[], &mut out).unwrap();
        let Val::AnyRef(Some(array)) = out[0] else {
            panic!("an array, got {:?}", out[0]);
        };
        assert_eq!(array.array_get(&mut scope, 0).unwrap(), Val::I32(0));
        inside = Some(array);
    }
    store.gc();
    let inside = inside.unwrap();
    assert!(inside.array_get(&mut store, 0).is_err());
    assert!(inside.array_len(&store).is_err());
    // A handle made outside every scope lives with the store.
    let Val::AnyRef(Some(outside)) = outside else {
        panic!("an array, got {outside:?}");
    };
    assert_eq!(outside.array_len(&store).unwrap(), Some(65536));
    assert_eq!(outside.array_get(&mut store, 1).unwrap(), Val::I32(0));
}
