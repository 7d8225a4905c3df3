//! Typed function references through the embedding API: `call_ref` of a host-supplied
//! typed reference, typed tables with initialisers, non-nullable globals, and import
//! matching with subtyping.

use wasmjit::{
    Engine, Error, ExternType, Func, FuncType, Global, GlobalType, HeapType, Instance, Linker,
    Module, Mutability, RefType, Store, Table, TableType, Trap, Val, ValType,
};

/// `[i32] -> [i32]`, the signature the modules below call through references.
fn unary() -> FuncType {
    FuncType::new([ValType::I32], [ValType::I32])
}

/// `(ref $unary)` or `(ref null $unary)`.
fn unary_ref(nullable: bool) -> RefType {
    RefType::new(nullable, HeapType::ConcreteFunc(unary()))
}

const APPLY: &str = r#"(module
    (type $unary (func (param i32) (result i32)))
    (func $double (export "double") (type $unary) (i32.mul (local.get 0) (i32.const 2)))
    (func (export "apply") (param $f (ref $unary)) (param $x i32) (result i32)
        (call_ref $unary (local.get $x) (local.get $f)))
    (func (export "apply_nullable") (param $f (ref null $unary)) (param $x i32) (result i32)
        (call_ref $unary (local.get $x) (local.get $f)))
    (func (export "or_default") (param $f (ref null $unary)) (result i32)
        (block $null
            (return (call_ref $unary (i32.const 5) (br_on_null $null (local.get $f)))))
        (i32.const -1))
    (func (export "tail") (param $f (ref $unary)) (param $x i32) (result i32)
        (return_call_ref $unary (local.get $x) (local.get $f)))
)"#;

#[test]
fn call_ref_of_a_typed_reference_from_the_host() {
    let engine = Engine::default();
    let module = Module::new(&engine, APPLY).unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let double = instance.get_func(&mut store, "double").unwrap();
    let apply = instance.get_func(&mut store, "apply").unwrap();

    // The parameter's type is spelt out for the host: a non-nullable reference to `$unary`.
    let params: Vec<ValType> = apply.ty(&store).params().collect();
    assert_eq!(params[0], ValType::Ref(unary_ref(false)));
    assert_eq!(params[0].to_string(), "(ref (func (i32) -> (i32)))");
    assert!(params[0].matches(&ValType::FUNCREF));
    assert!(!ValType::FUNCREF.matches(&params[0]));

    let mut out = [Val::I32(0)];
    apply
        .call(
            &mut store,
            &[Val::FuncRef(Some(double)), Val::I32(21)],
            &mut out,
        )
        .unwrap();
    assert_eq!(out[0].i32(), Some(42));

    // A host function of the same signature is a `(ref $unary)` too.
    let plus_one = Func::new(&mut store, unary(), |_, params, results| {
        results[0] = Val::I32(params[0].i32().unwrap() + 1);
        Ok(())
    })
    .unwrap();
    assert!(Val::FuncRef(Some(plus_one)).matches_ty(&store, &params[0]));
    apply
        .call(
            &mut store,
            &[Val::FuncRef(Some(plus_one)), Val::I32(41)],
            &mut out,
        )
        .unwrap();
    assert_eq!(out[0].i32(), Some(42));
    let tail = instance.get_func(&mut store, "tail").unwrap();
    tail.call(
        &mut store,
        &[Val::FuncRef(Some(plus_one)), Val::I32(9)],
        &mut out,
    )
    .unwrap();
    assert_eq!(out[0].i32(), Some(10));

    // A function of another signature, or null, is refused before the call.
    let other = Func::new(&mut store, FuncType::new([], []), |_, _, _| Ok(())).unwrap();
    let err = apply
        .call(
            &mut store,
            &[Val::FuncRef(Some(other)), Val::I32(1)],
            &mut out,
        )
        .unwrap_err();
    assert!(matches!(err, Error::Type(_)), "{err}");
    assert!(
        err.to_string().contains("(ref (func (i32) -> (i32)))"),
        "{err}"
    );
    let err = apply
        .call(&mut store, &[Val::FuncRef(None), Val::I32(1)], &mut out)
        .unwrap_err();
    assert!(matches!(err, Error::Type(_)), "{err}");

    // Through a nullable parameter, null reaches `call_ref`, which traps; `br_on_null`
    // branches on it instead.
    let apply_nullable = instance.get_func(&mut store, "apply_nullable").unwrap();
    let err = apply_nullable
        .call(&mut store, &[Val::FuncRef(None), Val::I32(1)], &mut out)
        .unwrap_err();
    assert_eq!(err.trap(), Some(Trap::NullReference), "{err}");
    let or_default = instance.get_func(&mut store, "or_default").unwrap();
    or_default
        .call(&mut store, &[Val::FuncRef(None)], &mut out)
        .unwrap();
    assert_eq!(out[0].i32(), Some(-1));
    or_default
        .call(&mut store, &[Val::FuncRef(Some(double))], &mut out)
        .unwrap();
    assert_eq!(out[0].i32(), Some(10));
}

#[test]
fn typed_table_with_an_initialiser() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (type $unary (func (param i32) (result i32)))
            (func $inc (type $unary) (i32.add (local.get 0) (i32.const 1)))
            (table $t (export "t") 3 (ref $unary) (ref.func $inc))
            (func (export "call") (param $i i32) (param $x i32) (result i32)
                (call_ref $unary (local.get $x) (table.get $t (local.get $i))))
        )"#,
    )
    .unwrap();
    // The module's export type names the element type.
    let export = module
        .exports()
        .into_iter()
        .find(|e| e.name() == "t")
        .unwrap();
    let ExternType::Table(ty) = export.ty() else {
        panic!("not a table")
    };
    assert_eq!(ty.element(), &unary_ref(false));

    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let table = instance.get_table(&mut store, "t").unwrap();
    assert_eq!(table.ty(&store).element(), &unary_ref(false));
    // Every element starts as the initialiser's function.
    for i in 0..3 {
        assert!(matches!(
            table.get(&mut store, i),
            Some(Val::FuncRef(Some(_)))
        ));
    }
    let call = instance
        .get_typed_func::<(i32, i32), i32>(&mut store, "call")
        .unwrap();
    assert_eq!(call.call(&mut store, (2, 41)).unwrap(), 42);

    // The host may store any function of the element type, but not null nor another type.
    let times_ten = Func::new(&mut store, unary(), |_, p, r| {
        r[0] = Val::I32(p[0].i32().unwrap() * 10);
        Ok(())
    })
    .unwrap();
    table
        .set(&mut store, 1, Val::FuncRef(Some(times_ten)))
        .unwrap();
    assert_eq!(call.call(&mut store, (1, 7)).unwrap(), 70);
    let err = table.set(&mut store, 1, Val::FuncRef(None)).unwrap_err();
    assert!(matches!(err, Error::Type(_)), "{err}");
    let nullary = Func::new(&mut store, FuncType::new([], []), |_, _, _| Ok(())).unwrap();
    let err = table
        .set(&mut store, 1, Val::FuncRef(Some(nullary)))
        .unwrap_err();
    assert!(matches!(err, Error::Type(_)), "{err}");
    let err = table.grow(&mut store, 1, Val::FuncRef(None)).unwrap_err();
    assert!(matches!(err, Error::Type(_)), "{err}");

    // A typed table made by the host, then filled with a host function, serves the import
    // of a module that calls through it.
    let host_table = Table::new(
        &mut store,
        TableType::new(unary_ref(true), 2, None),
        Val::FuncRef(None),
    )
    .unwrap();
    host_table
        .set(&mut store, 0, Val::FuncRef(Some(times_ten)))
        .unwrap();
    let user = Module::new(
        &engine,
        r#"(module
            (type $unary (func (param i32) (result i32)))
            (import "host" "t" (table $t 2 (ref null $unary)))
            (func (export "call") (param $i i32) (param $x i32) (result i32)
                (call_ref $unary (local.get $x) (table.get $t (local.get $i))))
        )"#,
    )
    .unwrap();
    let user = Instance::new(&mut store, &user, &[host_table.into()]).unwrap();
    let call = user
        .get_typed_func::<(i32, i32), i32>(&mut store, "call")
        .unwrap();
    assert_eq!(call.call(&mut store, (0, 4)).unwrap(), 40);
    let err = call.call(&mut store, (1, 4)).unwrap_err();
    assert_eq!(err.trap(), Some(Trap::NullReference), "{err}");
}

#[test]
fn non_nullable_globals() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module
            (type $unary (func (param i32) (result i32)))
            (func $neg (type $unary) (i32.sub (i32.const 0) (local.get 0)))
            (global (export "g") (ref $unary) (ref.func $neg))
            (global (export "m") (mut (ref func)) (ref.func $neg))
        )"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let g = instance.get_global(&mut store, "g").unwrap();
    assert_eq!(
        g.ty(&store),
        GlobalType::new(ValType::Ref(unary_ref(false)), Mutability::Const)
    );
    let Val::FuncRef(Some(neg)) = g.get(&mut store) else {
        panic!("the global holds no function")
    };
    let mut out = [Val::I32(0)];
    neg.call(&mut store, &[Val::I32(5)], &mut out).unwrap();
    assert_eq!(out[0].i32(), Some(-5));

    // A mutable `(ref func)` takes any function, never null.
    let m = instance.get_global(&mut store, "m").unwrap();
    let nullary = Func::new(&mut store, FuncType::new([], []), |_, _, _| Ok(())).unwrap();
    m.set(&mut store, Val::FuncRef(Some(nullary))).unwrap();
    assert_eq!(m.get(&mut store), Val::FuncRef(Some(nullary)));
    let err = m.set(&mut store, Val::FuncRef(None)).unwrap_err();
    assert!(matches!(err, Error::Type(_)), "{err}");

    // The host creates typed globals the same way.
    let ty = GlobalType::new(ValType::Ref(unary_ref(false)), Mutability::Const);
    let err = Global::new(&mut store, ty.clone(), Val::FuncRef(None)).unwrap_err();
    assert!(matches!(err, Error::Type(_)), "{err}");
    let err = Global::new(&mut store, ty.clone(), Val::FuncRef(Some(nullary))).unwrap_err();
    assert!(matches!(err, Error::Type(_)), "{err}");
    let host = Global::new(&mut store, ty.clone(), Val::FuncRef(Some(neg))).unwrap();
    assert_eq!(host.ty(&store), ty);
}

#[test]
fn imports_match_with_subtyping() {
    let engine = Engine::default();
    let exporter = Module::new(
        &engine,
        r#"(module
            (type $unary (func (param i32) (result i32)))
            (func $id (type $unary) (local.get 0))
            (global (export "typed") (ref $unary) (ref.func $id))
            (global (export "nullable") funcref (ref.func $id))
            (table (export "table") 1 (ref null $unary))
            (func (export "id") (type $unary) (local.get 0))
        )"#,
    )
    .unwrap();
    let mut store = Store::new(&engine, ());
    let exporter = Instance::new(&mut store, &exporter, &[]).unwrap();
    let mut linker = Linker::new(&engine);
    linker
        .instance(&mut store, "a", exporter)
        .expect("define the exports");

    // A `(ref $unary)` global serves a `funcref` import and a `(ref null func)` one; a
    // function of type `$unary` serves an import of the same type declared in another
    // module (at another type index).
    let accepted = Module::new(
        &engine,
        r#"(module
            (type $other (func))
            (type $unary (func (param i32) (result i32)))
            (import "a" "typed" (global funcref))
            (import "a" "typed" (global (ref null func)))
            (import "a" "typed" (global (ref $unary)))
            (import "a" "id" (func (type $unary)))
            (import "a" "table" (table 1 (ref null $unary)))
        )"#,
    )
    .unwrap();
    linker.instantiate(&mut store, &accepted).unwrap();

    // Not the reverse: a `funcref` global cannot serve a `(ref func)` import.
    let err = refused(
        &engine,
        &linker,
        &mut store,
        r#"(module (import "a" "nullable" (global (ref func))))"#,
    );
    assert!(
        err.contains("expected a global of (ref func), found a global of funcref"),
        "{err}"
    );
    // Tables are invariant: a `(ref null $unary)` table does not serve a `funcref` one.
    let err = refused(
        &engine,
        &linker,
        &mut store,
        r#"(module (import "a" "table" (table 1 funcref)))"#,
    );
    assert!(
        err.contains("expected a table of funcref, found a table of (ref null"),
        "{err}"
    );
    // A function of another type is refused, with both types named.
    let err = refused(
        &engine,
        &linker,
        &mut store,
        r#"(module (type (func (param i64) (result i32))) (import "a" "id" (func (type 0))))"#,
    );
    assert!(
        err.contains(
            "expected a function of type (i64) -> (i32), found one of type (i32) -> (i32)"
        ),
        "{err}"
    );
    // A function whose type names another function type: the types match across modules
    // by structure, not by index.
    let takes_ref = r#"(module
        (type $unary (func (param i32) (result i32)))
        (type $apply (func (param (ref $unary)) (result i32)))
        (func (export "f") (type $apply) (call_ref $unary (i32.const 3) (local.get 0)))
    )"#;
    let takes_ref = Module::new(&engine, takes_ref).unwrap();
    let takes_ref = Instance::new(&mut store, &takes_ref, &[]).unwrap();
    let f = takes_ref.get_func(&mut store, "f").unwrap();
    linker.define(&mut store, "b", "f", f).unwrap();
    let user = Module::new(
        &engine,
        r#"(module
            (type $pad (func (param f64)))
            (type $unary (func (param i32) (result i32)))
            (type $apply (func (param (ref $unary)) (result i32)))
            (import "b" "f" (func (type $apply)))
        )"#,
    )
    .unwrap();
    linker.instantiate(&mut store, &user).unwrap();
    let err = refused(
        &engine,
        &linker,
        &mut store,
        r#"(module
            (type $binary (func (param i32 i32) (result i32)))
            (type $apply (func (param (ref $binary)) (result i32)))
            (import "b" "f" (func (type $apply)))
        )"#,
    );
    assert!(
        err.contains("incompatible import type for `b`.`f`"),
        "{err}"
    );
}

/// The link error of instantiating `wat` with `linker`'s definitions.
fn refused(engine: &Engine, linker: &Linker<()>, store: &mut Store<()>, wat: &str) -> String {
    let module = Module::new(engine, wat).unwrap();
    let err = linker.instantiate(store, &module).unwrap_err();
    assert!(matches!(err, Error::Link(_)), "{err}");
    err.to_string()
}

#[test]
fn function_references_can_be_turned_off() {
    let mut config = wasmjit::Config::new();
    config.wasm_function_references(false);
    let engine = Engine::new(&config).unwrap();
    let err = Module::new(&engine, APPLY).unwrap_err();
    assert!(matches!(err, Error::Compile(_)), "{err}");
    // The default engine compiles it.
    Module::new(&Engine::default(), APPLY).unwrap();
}

#[test]
fn type_references_reach_only_earlier_types() {
    let engine = Engine::default();
    let mut config = wasmjit::Config::new();
    config.wasm_gc(false);
    let without_gc = Engine::new(&config).unwrap();
    // A type may not name a later type (outside its recursion group).
    let later = "(module (type (func (param (ref 1)))) (type (func)))";
    for engine in [&engine, &without_gc] {
        let err = Module::new(engine, later).unwrap_err();
        assert!(matches!(err, Error::Compile(_)), "{err}");
    }
    // Naming itself needs GC: each type is then its own recursion group.
    let own = "(module (type $self (func (param (ref null $self)))))";
    let err = Module::new(&without_gc, own).unwrap_err();
    assert!(matches!(err, Error::Compile(_)), "{err}");
    Module::new(&engine, own).unwrap();
    // A chain of types naming earlier ones is spelt out for the host.
    let module = Module::new(
        &engine,
        r#"(module
            (type $a (func))
            (type $b (func (param (ref $a))))
            (type $c (func (result (ref null $b))))
            (func (export "c") (type $c) (ref.null $b))
        )"#,
    )
    .unwrap();
    let export = module.exports().into_iter().next().unwrap();
    let ty = export.ty().func().unwrap().clone();
    let a = FuncType::new([], []);
    let b = FuncType::new(
        [ValType::Ref(RefType::new(false, HeapType::ConcreteFunc(a)))],
        [],
    );
    let c = FuncType::new(
        [],
        [ValType::Ref(RefType::new(true, HeapType::ConcreteFunc(b)))],
    );
    assert_eq!(ty, c);
}

#[test]
fn long_chains_of_named_types_stay_cheap() {
    // Type k takes two `(ref k-1)`: spelt out as a tree it would have 2^60 leaves. The API
    // shares each signature, and the registry sees each once.
    let mut wat = String::from("(module (type (func))");
    for k in 1..=60 {
        let prev = k - 1;
        wat.push_str(&format!(
            " (type (func (param (ref null {prev}) (ref null {prev}))))"
        ));
    }
    wat.push_str(" (func (export \"f\") (type 60)))");
    let engine = Engine::default();
    let module = Module::new(&engine, &wat).unwrap();
    assert_eq!(module.exports().len(), 1);
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[]).unwrap();
    let f = instance.get_func(&mut store, "f").unwrap();
    let mut ty = f.ty(&store);
    for _ in 0..60 {
        let first = ty.params().next().unwrap();
        let Some(HeapType::ConcreteFunc(inner)) = first.as_ref().map(|r| r.heap_type().clone())
        else {
            panic!("not a typed reference: {first}")
        };
        ty = inner;
    }
    assert_eq!(ty, FuncType::new([], []));
    // A host function of the same type gets the same signature id: it serves as the export.
    let f_ty = f.ty(&store);
    let host = Func::new(&mut store, f_ty, |_, _, _| Ok(())).unwrap();
    let mut linker = Linker::new(&engine);
    linker.define(&mut store, "m", "f", host).unwrap();
    let user = wat.replace(
        " (func (export \"f\") (type 60))",
        " (import \"m\" \"f\" (func (type 60)))",
    );
    let user = Module::new(&engine, &user).unwrap();
    linker.instantiate(&mut store, &user).unwrap();
}
