//! Copy-on-write memory images: data segments land where the spec puts them whether they are
//! mapped from an image or copied, an instance's writes reach neither other instances nor the
//! image, memories grow past their image, and modules whose segments are not static fall
//! back to copying.

use wasmjit::{
    Config, Engine, Error, Global, Instance, InstanceAllocationStrategy, Module,
    PoolingAllocationConfig, Store, Trap, Val,
};

/// The four engines every test runs on: on-demand and pooled, each with and without images.
fn engines() -> Vec<(&'static str, Engine)> {
    let mut out = Vec::new();
    for (name, pooled, cow) in [
        ("on-demand, cow", false, true),
        ("on-demand, copy", false, false),
        ("pooled, cow", true, true),
        ("pooled, copy", true, false),
    ] {
        let mut config = Config::new();
        config.memory_init_cow(cow).wasm_multi_memory(true);
        if pooled {
            let mut pool = PoolingAllocationConfig::new();
            pool.total_memories(8).max_memory_size(64 << 16);
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        out.push((name, Engine::new(&config).unwrap()));
    }
    out
}

/// Whether the page at `addr` is mapped from a memory image, by `/proc/self/maps`.
fn mapped_from_image(addr: usize) -> bool {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    maps.lines().any(|line| {
        let range = line.split_whitespace().next().unwrap_or("");
        let (start, end) = range.split_once('-').unwrap_or(("0", "0"));
        let start = usize::from_str_radix(start, 16).unwrap_or(0);
        let end = usize::from_str_radix(end, 16).unwrap_or(0);
        start <= addr && addr < end && line.contains("wasm-memory-image")
    })
}

/// The bytes memory `name` of a fresh instance holds, and whether its page at `probe` is
/// mapped from an image.
fn fresh_memory(engine: &Engine, module: &Module, name: &str, probe: usize) -> (Vec<u8>, bool) {
    let mut store = Store::new(engine, ());
    let instance = Instance::new(&mut store, module, &[]).unwrap();
    let memory = instance.get_memory(&mut store, name).unwrap();
    let imaged = mapped_from_image(memory.data_ptr(&store) as usize + probe);
    (memory.data(&store).to_vec(), imaged)
}

/// Data segments as `(offset, bytes)`, in order.
type Segments<'a> = Vec<(usize, &'a [u8])>;

/// What memory of `pages` pages holds after applying `segments` in order.
fn expected(pages: usize, segments: &[(usize, &[u8])]) -> Vec<u8> {
    let mut bytes = vec![0; pages << 16];
    for (offset, data) in segments {
        bytes[*offset..offset + data.len()].copy_from_slice(data);
    }
    bytes
}

#[test]
fn data_segments_land_in_place_with_and_without_images() {
    let big: Vec<u8> = (0..(1 << 20) + 13).map(|i| (i * 7 + 1) as u8).collect();
    let big_text: String = big.iter().map(|b| format!("\\{b:02x}")).collect();
    let cases: Vec<(String, usize, Segments)> = vec![
        (
            r#"(module (memory (export "m") 2)
                 (data (i32.const 5) "abcdef") (data (i32.const 7) "XY")
                 (data (i32.const 70000) "second page") (data (i32.const 131070) "zz")
                 (data (i32.const 9) ""))"#
                .to_owned(),
            2,
            vec![
                (5, b"abcdef"),
                (7, b"XY"),
                (70_000, b"second page"),
                (131_070, b"zz"),
            ],
        ),
        (
            format!(r#"(module (memory (export "m") 20) (data (i32.const 4099) "{big_text}"))"#),
            20,
            vec![(4099, &big)],
        ),
    ];
    for (name, engine) in engines() {
        for (text, pages, segments) in &cases {
            let module = Module::new(&engine, text).unwrap();
            let (bytes, imaged) = fresh_memory(&engine, &module, "m", segments[0].0);
            assert!(
                bytes == expected(*pages, segments),
                "{name}: wrong contents"
            );
            assert_eq!(imaged, name.ends_with("cow"), "{name}: image use");
        }
    }
}

#[test]
fn writes_reach_neither_other_instances_nor_the_image() {
    for (name, engine) in engines() {
        let module = Module::new(
            &engine,
            r#"(module (memory (export "m") 1 3) (data (i32.const 16) "original")
                 (func (export "poke") (param i32 i32) (i32.store8 (local.get 0) (local.get 1))))"#,
        )
        .unwrap();
        let mut store = Store::new(&engine, ());
        let a = Instance::new(&mut store, &module, &[]).unwrap();
        let b = Instance::new(&mut store, &module, &[]).unwrap();
        let poke = a
            .get_typed_func::<(i32, i32), ()>(&mut store, "poke")
            .unwrap();
        poke.call(&mut store, (16, i32::from(b'X'))).unwrap();
        poke.call(&mut store, (1000, 1)).unwrap();
        let ma = a.get_memory(&mut store, "m").unwrap();
        let mb = b.get_memory(&mut store, "m").unwrap();
        assert_eq!(&ma.data(&store)[16..24], b"Xriginal", "{name}");
        assert_eq!(&mb.data(&store)[16..24], b"original", "{name}");
        assert_eq!(mb.data(&store)[1000], 0, "{name}");
        mb.data_mut(&mut store)[17] = b'Y';
        assert_eq!(ma.data(&store)[17], b'r', "{name}");
        // The image is untouched: a new instance, in a new store, sees the original.
        let (bytes, _) = fresh_memory(&engine, &module, "m", 0);
        assert_eq!(&bytes[16..24], b"original", "{name}");
        assert_eq!(bytes[1000], 0, "{name}");

        // Growing past the image: old bytes stay, new pages are zero and writable.
        assert_eq!(ma.grow(&mut store, 2).unwrap(), 1);
        assert_eq!(&ma.data(&store)[16..24], b"Xriginal", "{name}");
        assert!(ma.data(&store)[65536..].iter().all(|b| *b == 0), "{name}");
        poke.call(&mut store, (3 * 65536 - 1, 9)).unwrap();
        assert_eq!(ma.data(&store)[3 * 65536 - 1], 9, "{name}");
    }
}

#[test]
fn segments_that_are_not_static_are_copied() {
    for (name, engine) in engines() {
        // An offset read from an imported global.
        let module = Module::new(
            &engine,
            r#"(module (global (import "env" "at") i32) (memory (export "m") 1)
                 (data (global.get 0) "from a global"))"#,
        )
        .unwrap();
        let mut store = Store::new(&engine, ());
        let at = Global::new(
            &mut store,
            wasmjit::GlobalType::new(wasmjit::ValType::I32, wasmjit::Mutability::Const),
            Val::I32(300),
        )
        .unwrap();
        let instance = Instance::new(&mut store, &module, &[at.into()]).unwrap();
        let memory = instance.get_memory(&mut store, "m").unwrap();
        assert_eq!(&memory.data(&store)[300..313], b"from a global", "{name}");
        assert!(
            !mapped_from_image(memory.data_ptr(&store) as usize),
            "{name}"
        );

        // A segment past the end traps after the earlier one was written, as copying does.
        let module = Module::new(
            &engine,
            r#"(module (memory (export "m") 1) (data (i32.const 0) "kept")
                 (data (i32.const 65535) "past the end"))"#,
        )
        .unwrap();
        let mut store = Store::new(&engine, ());
        match Instance::new(&mut store, &module, &[]) {
            Err(Error::Trap(trap)) => assert_eq!(trap, Trap::MemoryOutOfBounds, "{name}"),
            other => panic!("{name}: expected a trap, got {other:?}"),
        }

        // A trapping element segment stops the data segments after it.
        let module = Module::new(
            &engine,
            r#"(module (memory (export "m") 1) (table 1 funcref) (func $f)
                 (elem (i32.const 1) $f)
                 (data (i32.const 0) "never"))"#,
        )
        .unwrap();
        match Instance::new(&mut store, &module, &[]) {
            Err(Error::Trap(trap)) => assert_eq!(trap, Trap::TableOutOfBounds, "{name}"),
            other => panic!("{name}: expected a trap, got {other:?}"),
        }
    }
}

#[test]
fn sparse_segments_are_copied_for_the_whole_module() {
    for (name, engine) in engines() {
        let module = Module::new(
            &engine,
            r#"(module (memory (export "a") 1) (memory (export "b") 64)
                 (data (memory 0) (i32.const 8) "dense")
                 (data (memory 1) (i32.const 0) "far") (data (memory 1) (i32.const 3145728) "apart"))"#,
        )
        .unwrap();
        let (a, a_imaged) = fresh_memory(&engine, &module, "a", 0);
        let (b, b_imaged) = fresh_memory(&engine, &module, "b", 0);
        assert!(a == expected(1, &[(8, b"dense")]), "{name}");
        assert!(
            b == expected(64, &[(0, b"far"), (3 << 20, b"apart")]),
            "{name}"
        );
        assert!(!a_imaged && !b_imaged, "{name}");
    }
}

#[test]
fn each_memory_of_a_module_gets_its_own_image() {
    for (name, engine) in engines() {
        let module = Module::new(
            &engine,
            r#"(module (memory (export "a") 1) (memory (export "b") 2) (memory (export "c") 1)
                 (data (memory 1) (i32.const 65540) "in b") (data (memory 0) (i32.const 1) "in a"))"#,
        )
        .unwrap();
        let (a, _) = fresh_memory(&engine, &module, "a", 0);
        let (b, _) = fresh_memory(&engine, &module, "b", 0);
        let (c, _) = fresh_memory(&engine, &module, "c", 0);
        assert!(a == expected(1, &[(1, b"in a")]), "{name}");
        assert!(b == expected(2, &[(65540, b"in b")]), "{name}");
        assert!(c == expected(1, &[]), "{name}");
    }
}
