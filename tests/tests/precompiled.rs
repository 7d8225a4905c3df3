//! Precompiled modules: `Module::serialize` and `Module::deserialize` round trips, and the
//! checks that refuse damaged artifacts and artifacts compiled for another target or with
//! other settings.

use wasmjit::{Config, Engine, Error, Instance, Module, Store, Trap, Val};
use wasmjit_tests::support::trap_kind;

/// A module with a memory and data segment, a table, globals, an import, a libcall-prone
/// float operation, and a trap: every part of the metadata and code a round trip must keep.
const WAT: &str = r#"
(module
  (import "env" "add" (func $add (param i32 i32) (result i32)))
  (memory (export "memory") 1 4)
  (data (i32.const 16) "precompiled")
  (table 2 funcref)
  (elem (i32.const 0) $double $ceil_bits)
  (global $g (mut i32) (i32.const 7))
  (type $unary (func (param i32) (result i32)))
  (func $double (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2)))
  (func $ceil_bits (param i32) (result i32)
    (i32.reinterpret_f32 (f32.ceil (f32.convert_i32_s (local.get 0)))))
  (func (export "call") (param i32 i32) (result i32)
    (call_indirect (type $unary) (local.get 1) (local.get 0)))
  (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "bump") (result i32)
    (global.set $g (call $add (global.get $g) (i32.const 1)))
    (global.get $g))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1))))
"#;

fn add_import(store: &mut Store<()>) -> wasmjit::Func {
    wasmjit::Func::wrap(store, |a: i32, b: i32| a.wrapping_add(b)).unwrap()
}

fn call(
    store: &mut Store<()>,
    instance: &Instance,
    name: &str,
    args: &[Val],
) -> wasmjit::Result<i32> {
    let func = instance.get_func(&mut *store, name).unwrap();
    let mut results = [Val::I32(0)];
    func.call(&mut *store, args, &mut results)?;
    Ok(results[0].i32().unwrap())
}

/// Runs the module's exports and returns what they gave, so that a compiled and a
/// deserialized module can be compared.
fn exercise(engine: &Engine, module: &Module) -> Vec<String> {
    let mut store = Store::new(engine, ());
    let add = add_import(&mut store);
    let instance = Instance::new(&mut store, module, &[add.into()]).unwrap();
    let mut seen = Vec::new();
    for (f, x) in [(0, 21), (1, 3), (1, -5)] {
        seen.push(format!(
            "{:?}",
            call(&mut store, &instance, "call", &[Val::I32(f), Val::I32(x)])
        ));
    }
    for at in 16..27 {
        seen.push(format!(
            "{:?}",
            call(&mut store, &instance, "load8", &[Val::I32(at)])
        ));
    }
    seen.push(format!("{:?}", call(&mut store, &instance, "bump", &[])));
    seen.push(format!("{:?}", call(&mut store, &instance, "bump", &[])));
    let trap = trap_kind(call(
        &mut store,
        &instance,
        "div",
        &[Val::I32(1), Val::I32(0)],
    ));
    assert_eq!(trap, Trap::IntegerDivisionByZero);
    let trap = trap_kind(call(&mut store, &instance, "load8", &[Val::I32(65536)]));
    assert_eq!(trap, Trap::MemoryOutOfBounds);
    seen
}

#[test]
fn a_deserialized_module_behaves_as_the_compiled_one() {
    let engine = Engine::default();
    let module = Module::new(&engine, WAT).unwrap();
    let bytes = module.serialize().unwrap();
    assert!(Module::is_precompiled(&bytes));
    assert!(!Module::is_precompiled(WAT.as_bytes()));
    // SAFETY: the bytes were just written by `serialize`.
    let loaded = unsafe { Module::deserialize(&engine, &bytes) }.unwrap();
    assert_eq!(loaded.imports(), module.imports());
    assert_eq!(loaded.exports(), module.exports());
    assert_eq!(loaded.code_size(), module.code_size());
    let expected = exercise(&engine, &module);
    assert_eq!(expected[0], "Ok(42)");
    assert_eq!(exercise(&engine, &loaded), expected);
    // A second engine with the same settings loads it too, and so does a file.
    let other = Engine::default();
    let path =
        std::env::temp_dir().join(format!("wasmjit-precompiled-{}.cwasm", std::process::id()));
    let precompiled = other.precompile_module(WAT.as_bytes()).unwrap();
    // Loaded code is read back with its load-time relocations cleared again: serializing a
    // loaded module writes the very bytes precompiling it does.
    assert_eq!(bytes, precompiled);
    std::fs::write(&path, &precompiled).unwrap();
    // SAFETY: written just above by `precompile_module`.
    let from_file = unsafe { Module::deserialize_file(&other, &path) }.unwrap();
    assert_eq!(exercise(&other, &from_file), expected);
    assert_eq!(from_file.serialize().unwrap(), precompiled);
    // Damaged or empty files are refused like damaged bytes.
    let mut damaged = precompiled.clone();
    let last = damaged.len() - 5;
    damaged[last] ^= 1;
    for broken in [&damaged[..], &precompiled[..precompiled.len() / 2], &[]] {
        std::fs::write(&path, broken).unwrap();
        // SAFETY: the file is wasmjit's own, damaged on purpose, which the checks refuse
        // before any code is used.
        let result = unsafe { Module::deserialize_file(&other, &path) };
        assert!(matches!(result, Err(Error::Artifact(_))), "{result:?}");
    }
    std::fs::remove_file(&path).unwrap();
}

fn artifact_error(engine: &Engine, bytes: &[u8]) -> String {
    // SAFETY: every artifact given here is either wasmjit's own or damaged on purpose,
    // which the checks must refuse before any code is used.
    match unsafe { Module::deserialize(engine, bytes) } {
        Err(Error::Artifact(why)) => why,
        Err(other) => panic!("expected an artifact error, got {other}"),
        Ok(_) => panic!("a damaged artifact was accepted"),
    }
}

#[test]
fn any_flipped_bit_and_any_truncation_is_an_error() {
    let engine = Engine::default();
    let bytes = engine.precompile_module(WAT.as_bytes()).unwrap();
    for at in 0..bytes.len() {
        for bit in [0x01u8, 0x80] {
            let mut damaged = bytes.clone();
            damaged[at] ^= bit;
            artifact_error(&engine, &damaged);
        }
    }
    for len in 0..bytes.len() {
        artifact_error(&engine, &bytes[..len]);
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(artifact_error(&engine, &longer).contains("truncated or damaged"));
    assert!(
        artifact_error(&engine, b"\0asm\x01\0\0\0").contains("not a wasmjit precompiled module")
    );
}

#[test]
fn a_large_artifact_truncated_at_every_kibibyte_is_an_error() {
    let mut wat = String::from("(module (memory 1)");
    for i in 0..600 {
        wat.push_str(&format!(
            "(func (export \"f{i}\") (param i32) (result i32) (i32.add (i32.load offset={i} (local.get 0)) (i32.const {i})))"
        ));
    }
    wat.push(')');
    let engine = Engine::default();
    let bytes = engine.precompile_module(wat.as_bytes()).unwrap();
    assert!(bytes.len() > 16 << 10, "{} bytes", bytes.len());
    for len in (0..bytes.len()).step_by(1024) {
        artifact_error(&engine, &bytes[..len]);
    }
    // SAFETY: written by `precompile_module` just above.
    assert!(unsafe { Module::deserialize(&engine, &bytes) }.is_ok());
}

#[test]
fn an_artifact_for_another_target_or_other_settings_is_refused() {
    let other_target = if cfg!(target_arch = "x86_64") {
        "aarch64-unknown-linux-gnu"
    } else {
        "x86_64-unknown-linux-gnu"
    };
    let mut config = Config::new();
    config.target(other_target).unwrap();
    let cross = Engine::new(&config).unwrap();
    let foreign = cross.precompile_module(WAT.as_bytes()).unwrap();
    let engine = Engine::default();
    let why = artifact_error(&engine, &foreign);
    assert!(
        why.contains(&format!("it was compiled for {other_target}")),
        "{why}"
    );
    // The cross engine reads its own artifact back (it cannot run it, but can inspect it).
    // SAFETY: written by `precompile_module` just above.
    let module = unsafe { Module::deserialize(&cross, &foreign) }.unwrap();
    assert_eq!(module.exports().len(), 5);

    let mut fuel = Config::new();
    fuel.consume_fuel(true);
    let fuel = Engine::new(&fuel).unwrap();
    let why = artifact_error(&fuel, &engine.precompile_module(WAT.as_bytes()).unwrap());
    assert!(
        why.contains("consume_fuel = false") && why.contains("consume_fuel = true"),
        "{why}"
    );

    let mut explicit = Config::new();
    explicit.bounds_checks(wasmjit::BoundsChecks::Explicit);
    let explicit = Engine::new(&explicit).unwrap();
    let why = artifact_error(
        &explicit,
        &engine.precompile_module(WAT.as_bytes()).unwrap(),
    );
    assert!(why.contains("bounds_checks"), "{why}");
}

#[test]
fn code_of_another_calling_convention_is_refused() {
    use wasmjit_codegen::{CodeSettings, CodegenConfig, Target};
    let ours = CodeSettings::new(&Target::host(), &CodegenConfig::default()).unwrap();
    let conv = ours
        .settings
        .iter()
        .find(|(name, _)| name == "wasm_call_conv")
        .map(|(_, value)| value.clone());
    assert_eq!(conv.as_deref(), Some("tail"));
    let mut other = ours.clone();
    for (name, value) in &mut other.settings {
        if name == "wasm_call_conv" {
            *value = "system_v".into();
        }
    }
    let why = other.check_compatible(&ours).unwrap_err();
    assert!(why.contains("wasm_call_conv = system_v"), "{why}");
    assert!(ours.check_compatible(&ours).is_ok());
}

#[test]
fn the_compile_cache_maps_stored_code_and_recovers_from_damaged_entries() {
    let dir = std::env::temp_dir().join(format!("wasmjit-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = Config::new();
    // SAFETY: the folder is this test's own, written only by wasmjit's cache.
    unsafe { config.cache_dir(Some(dir.clone())) };
    let engine = Engine::new(&config).unwrap();
    let module = Module::new(&engine, WAT).unwrap();
    let entries = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    };
    let stored = entries();
    assert_eq!(stored.len(), 1, "one entry per compiled module");
    assert!(stored[0].extension().is_some_and(|x| x == "cwasm"));
    assert_eq!(
        std::fs::read(&stored[0]).unwrap(),
        module.serialize().unwrap()
    );

    // A hit loads the entry instead of compiling: an entry replaced by another module's
    // artifact (which only a writer of the folder could do) is what the next compile gets.
    let other = "(module (func (export \"other\")))";
    std::fs::write(
        &stored[0],
        engine.precompile_module(other.as_bytes()).unwrap(),
    )
    .unwrap();
    let hit = Module::new(&engine, WAT).unwrap();
    assert_eq!(hit.exports()[0].name(), "other");

    // A damaged entry is compiled again and rewritten.
    std::fs::write(&stored[0], b"damaged").unwrap();
    let recompiled = Module::new(&engine, WAT).unwrap();
    assert_eq!(exercise(&engine, &recompiled), exercise(&engine, &module));
    assert_eq!(entries(), stored);
    assert_eq!(
        std::fs::read(&stored[0]).unwrap(),
        module.serialize().unwrap()
    );

    // Other settings, another entry.
    let mut fuel = config.clone();
    fuel.consume_fuel(true);
    Module::new(&Engine::new(&fuel).unwrap(), WAT).unwrap();
    assert_eq!(entries().len(), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}
