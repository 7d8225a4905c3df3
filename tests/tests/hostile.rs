//! Hostile and malformed input: bytes that are not a module, modules that try to reach past
//! their memory, tables and segments, and host code that faults. Every case ends in an error
//! or a trap, and the host (and every other instance) stays intact.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use wasmjit::{BoundsChecks, Config, Engine, Func, Instance, Linker, Module, Store, Trap, Val};
use wasmjit_tests::differential;
use wasmjit_tests::support::{instance, target_command, trap_kind};

/// The system allocator, remembering each thread's largest single allocation: decoding a
/// module must not trust the counts it declares.
struct Watch;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // `try_with` because the allocator also runs while thread-locals are torn down.
    let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
}

/// The largest allocation this thread has made.
fn largest() -> usize {
    LARGEST.with(Cell::get)
}

// SAFETY: defers every call to the system allocator unchanged; only records sizes.
unsafe impl GlobalAlloc for Watch {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above, which is the system allocator's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Watch = Watch;

/// No allocation made while decoding hostile bytes may exceed this.
const ALLOCATION_BOUND: usize = 64 << 20;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Mutations of one valid module: truncations, flipped bytes, and huge LEB128 counts
/// written over section contents.
fn mutants(wasm: &[u8], rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for _ in 0..4 {
        out.push(wasm[..rng.below(wasm.len())].to_vec());
    }
    for flips in [1, 4, 16] {
        let mut m = wasm.to_vec();
        for _ in 0..flips {
            let at = rng.below(m.len());
            m[at] ^= 1 << rng.below(8);
        }
        out.push(m);
    }
    for huge in [
        [0xFF, 0xFF, 0xFF, 0xFF, 0x0F],
        [0x80, 0x80, 0x80, 0x80, 0x08],
    ] {
        let mut m = wasm.to_vec();
        let at = 8 + rng.below(m.len().saturating_sub(8));
        let end = (at + huge.len()).min(m.len());
        m.splice(at..end, huge);
        out.push(m);
    }
    out
}

#[test]
fn module_new_on_mutated_bytes_returns_errors_without_panicking() {
    let engine = Engine::default();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut total, mut rejected) = (0, 0);
    for seed in 0..400 {
        let Ok(wasm) = differential::generate(seed) else {
            continue;
        };
        for mutant in mutants(&wasm, &mut rng) {
            let outcome = catch_unwind(AssertUnwindSafe(|| Module::new(&engine, &mutant)));
            let Ok(result) = outcome else {
                let path = std::env::temp_dir().join(format!("wasmjit-mutant-{seed}.wasm"));
                std::fs::write(&path, &mutant).unwrap();
                panic!("Module::new panicked on {}", path.display());
            };
            total += 1;
            rejected += result.is_err() as usize;
        }
    }
    println!("hostile: {total} mutated modules, {rejected} rejected with an error");
    assert!(total >= 3000, "only {total} mutants");
    assert!(
        rejected > total / 2,
        "mutations should mostly break modules"
    );
    let largest = largest();
    assert!(
        largest < ALLOCATION_BOUND,
        "an allocation of {largest} bytes"
    );
}

/// A module with one function whose body is `depth` nested blocks.
fn nested_blocks(depth: usize) -> Vec<u8> {
    let mut body = vec![0x00]; // no locals
    body.extend(std::iter::repeat_n([0x02, 0x40], depth).flatten());
    body.extend(std::iter::repeat_n(0x0B, depth + 1));
    let mut code = leb(1);
    code.extend(leb(body.len() as u64));
    code.extend(body);
    let mut wasm = b"\0asm\x01\0\0\0".to_vec();
    wasm.extend([0x01, 0x04, 0x01, 0x60, 0x00, 0x00]); // type: [] -> []
    wasm.extend([0x03, 0x02, 0x01, 0x00]); // one function of type 0
    wasm.push(0x0A);
    wasm.extend(leb(code.len() as u64));
    wasm.extend(code);
    wasm
}

fn leb(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

#[test]
fn deep_nesting_compiles_or_is_refused_without_overflowing_the_host() {
    let engine = Engine::default();
    for depth in [1_000, 100_000, 1_000_000] {
        // Either answer is fine; a crash of the test process is not.
        let _ = Module::new(&engine, nested_blocks(depth));
    }
    Module::new(&engine, nested_blocks(1_000)).expect("1000 nested blocks are fine");
}

/// Compiles `wat` with codegen directly, whose defaults include exception handling.
fn compile_with_exceptions(wat: &str) -> Result<(), wasmjit_codegen::CompileError> {
    let config = wasmjit_codegen::CodegenConfig::default();
    let bytes = wat::parse_str(wat).expect("valid text");
    wasmjit_codegen::compile_module(&bytes, &wasmjit_codegen::Target::host(), &config).map(drop)
}

#[test]
fn try_table_after_a_branch_compiles_without_panicking() {
    // Unreachable code is skipped, but its blocks still count: the `end` of an uncounted
    // `try_table` closed the outer block and the function's last `end` closed nothing.
    let skipped = r#"(module
        (func (block (br 0) (try_table (result i32) (i32.const 1)) drop))
        (func (block (return) (try_table (catch_all 0)) (block (try_table)))))"#;
    let result = catch_unwind(|| compile_with_exceptions(skipped));
    let result = result.expect("compiling unreachable try_table must not panic");
    result.expect("unreachable try_table compiles to nothing");

    // A reachable one compiles too, and so does one whose body is cut short by a branch.
    let reached = r#"(module
        (func (try_table (catch_all 0)) (br 0))
        (func (block (try_table (catch_all 1) (br 0) (try_table (catch_all 0))))))"#;
    catch_unwind(|| compile_with_exceptions(reached))
        .expect("must not panic")
        .expect("reachable try_table compiles");
}

#[test]
fn huge_declared_counts_are_errors() {
    let engine = Engine::default();
    let header = b"\0asm\x01\0\0\0".to_vec();
    let with = |section: &[u8]| {
        let mut wasm = header.clone();
        wasm.extend(section);
        wasm
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("types", with(&[0x01, 0x05, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F])),
        (
            "functions",
            with(&[0x03, 0x05, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
        ),
        (
            "data count",
            with(&[0x0C, 0x05, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
        ),
        ("section size", with(&[0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F])),
        (
            "locals",
            with(&[
                0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00, 0x0A, 0x0A, 0x01, 0x08,
                0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x7F, 0x0B,
            ]),
        ),
        (
            "memory pages",
            with(&[0x05, 0x04, 0x01, 0x00, 0x81, 0x80, 0x04]),
        ),
    ];
    for (what, wasm) in cases {
        assert!(Module::new(&engine, &wasm).is_err(), "{what} accepted");
    }
    let largest = largest();
    assert!(
        largest < ALLOCATION_BOUND,
        "an allocation of {largest} bytes"
    );
}

#[test]
fn atomics_and_simd_at_the_edge_of_memory() {
    let engine = Engine::default();
    let (mut store, inst) = instance(
        &engine,
        r#"(module (memory 1 1 shared)
          (func (export "rmw") (param i32) (result i32)
            (i32.atomic.rmw.add (local.get 0) (i32.const 1)))
          (func (export "cmpxchg64") (param i32) (result i64)
            (i64.atomic.rmw.cmpxchg offset=8 (local.get 0) (i64.const 0) (i64.const 5)))
          (func (export "v128") (param i32) (result i32)
            (i32x4.extract_lane 3 (v128.load (local.get 0))))
          (func (export "v128_store") (param i32)
            (v128.store offset=1 (local.get 0) (v128.const i64x2 -1 -1)))
          (func (export "lane") (param i32) (result i64)
            (i64x2.extract_lane 1 (v128.load64_lane 1 (local.get 0) (v128.const i64x2 0 0)))))"#,
    );
    let rmw = inst.get_typed_func::<i32, i32>(&mut store, "rmw").unwrap();
    let cmpxchg = inst
        .get_typed_func::<i32, i64>(&mut store, "cmpxchg64")
        .unwrap();
    let v128 = inst.get_typed_func::<i32, i32>(&mut store, "v128").unwrap();
    let v128_store = inst
        .get_typed_func::<i32, ()>(&mut store, "v128_store")
        .unwrap();
    let lane = inst.get_typed_func::<i32, i64>(&mut store, "lane").unwrap();

    assert_eq!(rmw.call(&mut store, 65532).unwrap(), 0);
    for addr in [65536, -4, i32::MIN] {
        assert_eq!(
            trap_kind(rmw.call(&mut store, addr)),
            Trap::MemoryOutOfBounds
        );
    }
    // Misaligned and out of bounds at once: alignment is checked first.
    for addr in [65533, 65537, -1] {
        assert_eq!(trap_kind(rmw.call(&mut store, addr)), Trap::HeapMisaligned);
    }
    // The add above left 1 in the top half of this i64.
    assert_eq!(cmpxchg.call(&mut store, 65520).unwrap(), 1 << 32);
    assert_eq!(
        trap_kind(cmpxchg.call(&mut store, 65528)),
        Trap::MemoryOutOfBounds
    );
    assert_eq!(v128.call(&mut store, 65520).unwrap(), 1);
    for addr in [65521, 65535, -1] {
        assert_eq!(
            trap_kind(v128.call(&mut store, addr)),
            Trap::MemoryOutOfBounds
        );
    }
    // A store straddling the end writes nothing: the last bytes keep their values.
    assert_eq!(
        trap_kind(v128_store.call(&mut store, 65520)),
        Trap::MemoryOutOfBounds
    );
    assert_eq!(v128.call(&mut store, 65520).unwrap(), 1);
    assert_eq!(lane.call(&mut store, 65528).unwrap(), 1 << 32);
    assert_eq!(
        trap_kind(lane.call(&mut store, 65529)),
        Trap::MemoryOutOfBounds
    );
}

/// Every store of more than one byte that straddles the end of memory traps and writes
/// nothing (the spec's store checks the whole range first), in both bounds-check modes: on
/// aarch64, where the hardware may commit the in-bounds part of a faulting store, the
/// compiler checks such stores explicitly.
#[test]
fn stores_straddling_the_end_of_memory_write_nothing() {
    const STORES: [(&str, u32); 7] = [
        ("(i32.store16 (local.get 0) (i32.const -1))", 2),
        ("(i32.store (local.get 0) (i32.const -1))", 4),
        ("(i64.store32 (local.get 0) (i64.const -1))", 4),
        ("(i64.store (local.get 0) (i64.const -1))", 8),
        (
            "(f64.store (local.get 0) (f64.const -nan:0xfffffffffffff))",
            8,
        ),
        ("(v128.store (local.get 0) (v128.const i64x2 -1 -1))", 16),
        (
            "(v128.store64_lane 0 (local.get 0) (v128.const i64x2 -1 -1))",
            8,
        ),
    ];
    for mode in [BoundsChecks::GuardPages, BoundsChecks::Explicit] {
        let mut config = Config::new();
        config.bounds_checks(mode);
        let engine = Engine::new(&config).unwrap();
        for (body, size) in STORES {
            let (mut store, inst) = instance(
                &engine,
                &format!(
                    r#"(module (memory (export "memory") 1 1)
                      (func (export "store") (param i32) {body}))"#
                ),
            );
            let run = inst.get_typed_func::<i32, ()>(&mut store, "store").unwrap();
            let memory = inst.get_memory(&mut store, "memory").unwrap();
            for addr in 65536 - size + 1..65536 {
                assert_eq!(
                    trap_kind(run.call(&mut store, addr as i32)),
                    Trap::MemoryOutOfBounds,
                    "{body} at {addr}"
                );
                let tail = &memory.data(&store)[65536 - 16..];
                assert!(tail.iter().all(|&b| b == 0), "{body} at {addr}: {tail:?}");
            }
            run.call(&mut store, (65536 - size) as i32).unwrap();
            let tail = &memory.data(&store)[65536 - size as usize..];
            assert!(tail.iter().all(|&b| b == 0xff), "{body}: {tail:?}");
        }
    }
}

#[test]
fn tables_and_indirect_calls_out_of_range_trap() {
    let engine = Engine::default();
    let (mut store, inst) = instance(
        &engine,
        r#"(module
          (type $ii (func (param i32) (result i32)))
          (type $v (func))
          (table 4 4 funcref)
          (elem (i32.const 0) func $id $nop)
          (func $id (type $ii) (local.get 0))
          (func $nop (type $v))
          (func (export "call") (param i32) (result i32)
            (call_indirect (type $ii) (i32.const 5) (local.get 0)))
          (func (export "get") (param i32) (result funcref) (table.get (local.get 0)))
          (func (export "init") (param i32) (table.init 0 (local.get 0) (i32.const 0) (i32.const 2)))
          (func (export "copy") (param i32) (table.copy (local.get 0) (i32.const 0) (i32.const 2))))"#,
    );
    let call = inst.get_typed_func::<i32, i32>(&mut store, "call").unwrap();
    assert_eq!(call.call(&mut store, 0).unwrap(), 5);
    assert_eq!(trap_kind(call.call(&mut store, 1)), Trap::BadSignature);
    assert_eq!(
        trap_kind(call.call(&mut store, 2)),
        Trap::IndirectCallToNull
    );
    for index in [4, -1, i32::MIN] {
        assert_eq!(
            trap_kind(call.call(&mut store, index)),
            Trap::TableOutOfBounds
        );
    }
    let get = inst.get_func(&mut store, "get").unwrap();
    let mut out = [Val::FuncRef(None)];
    let result = get.call(&mut store, &[Val::I32(4)], &mut out);
    assert_eq!(trap_kind(result), Trap::TableOutOfBounds);
    for name in ["init", "copy"] {
        let f = inst.get_typed_func::<i32, ()>(&mut store, name).unwrap();
        assert_eq!(trap_kind(f.call(&mut store, 3)), Trap::TableOutOfBounds);
        // Nothing was written: entry 3 is still null.
        assert_eq!(
            trap_kind(call.call(&mut store, 3)),
            Trap::IndirectCallToNull
        );
    }
}

#[test]
fn segments_out_of_range_fail_instantiation_without_partial_writes() {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let memory = wasmjit::Memory::new(&mut store, 1, Some(1), false).unwrap();
    let module = Module::new(
        &engine,
        r#"(module (import "env" "memory" (memory 1 1))
          (data (i32.const 0) "first")
          (data (i32.const 65530) "0123456789"))"#,
    )
    .unwrap();
    let mut linker = Linker::new(&engine);
    linker.define(&mut store, "env", "memory", memory).unwrap();
    let err = linker.instantiate(&mut store, &module).unwrap_err();
    assert_eq!(err.trap(), Some(Trap::MemoryOutOfBounds));
    let bytes = memory.data(&store);
    // Segments apply in order (Wasm 2.0): the first one landed, the failing one wrote nothing.
    assert_eq!(&bytes[..5], b"first");
    assert!(bytes[65530..].iter().all(|&b| b == 0));

    let table = r#"(module (table 2 funcref) (func $f)
          (elem (i32.const 1) func $f $f))"#;
    let module = Module::new(&engine, table).unwrap();
    let err = Instance::new(&mut store, &module, &[]).unwrap_err();
    assert_eq!(err.trap(), Some(Trap::TableOutOfBounds));
}

#[test]
fn memory_grow_by_huge_amounts_fails_and_changes_nothing() {
    let engine = Engine::default();
    let (mut store, inst) = instance(
        &engine,
        r#"(module (memory (export "m") 1)
          (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#,
    );
    let grow = inst.get_typed_func::<i32, i32>(&mut store, "grow").unwrap();
    for delta in [-1, i32::MIN, 65536] {
        assert_eq!(grow.call(&mut store, delta).unwrap(), -1, "grow({delta})");
    }
    let memory = inst.get_memory(&mut store, "m").unwrap();
    assert_eq!(memory.size(&store), 1);
    assert_eq!(grow.call(&mut store, 1).unwrap(), 1);
    assert_eq!(memory.size(&store), 2);
}

#[test]
fn a_guest_cannot_reach_another_instances_memory() {
    let engine = Engine::default();
    let wat = r#"(module (memory (export "m") 1)
          (func (export "peek") (param i32) (result i32) (i32.load offset=0x1000 (local.get 0)))
          (func (export "poke") (param i32) (i32.store (local.get 0) (i32.const 0x5EC12E7))))"#;
    let (mut store, a) = instance(&engine, wat);
    let b = Instance::new(&mut store, &Module::new(&engine, wat).unwrap(), &[]).unwrap();
    let poke_b = b.get_typed_func::<i32, ()>(&mut store, "poke").unwrap();
    for addr in (0..65536).step_by(4096) {
        poke_b.call(&mut store, addr).unwrap();
    }
    // Every address the guest can form, in 64 KiB steps, with the offset on top: all past
    // its own page trap, none reads the other instance's secret.
    let peek_a = a.get_typed_func::<i32, i32>(&mut store, "peek").unwrap();
    let mut trapped = 0;
    for step in 0..65536u32 {
        match peek_a.call(&mut store, (step << 16) as i32) {
            Ok(value) => assert_ne!(value, 0x5EC12E7, "read another memory at step {step}"),
            Err(e) => {
                assert_eq!(e.trap(), Some(Trap::MemoryOutOfBounds));
                trapped += 1;
            }
        }
    }
    assert_eq!(trapped, 65535);
}

/// SIGSEGV's number on Linux (x86-64 and aarch64).
const SIGSEGV: i32 = 11;

/// Set in the child process that `a_segfault_in_a_host_function_kills_the_process` starts.
const SEGFAULT_CHILD: &str = "WASMJIT_TEST_SEGFAULT_CHILD";

#[test]
fn a_segfault_in_a_host_function_kills_the_process() {
    if std::env::var_os(SEGFAULT_CHILD).is_some() {
        let engine = Engine::default();
        let mut store = Store::new(&engine, ());
        let crash = Func::wrap(&mut store, || {
            let null = std::hint::black_box(std::ptr::null_mut::<u32>());
            // SAFETY: not sound, on purpose: this child process must die of SIGSEGV.
            unsafe { null.write_volatile(1) };
        })
        .unwrap();
        let module = Module::new(
            &engine,
            r#"(module (import "host" "crash" (func $crash)) (func (export "run") (call $crash)))"#,
        )
        .unwrap();
        let inst = Instance::new(&mut store, &module, &[crash.into()]).unwrap();
        let run = inst.get_typed_func::<(), ()>(&mut store, "run").unwrap();
        let result = run.call(&mut store, ());
        println!("a host segfault came back as {result:?}");
        std::process::exit(0);
    }
    let status = target_command(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_segfault_in_a_host_function_kills_the_process",
            "--nocapture",
        ])
        .env(SEGFAULT_CHILD, "1")
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.status.signal(), Some(SIGSEGV), "child: {status:?}");
}

#[test]
fn an_invalid_module_reports_its_first_invalid_function_whatever_the_compile_order() {
    // Bodies are validated by the threads that compile them, largest first: the error must
    // still be the first invalid function's, as if the bodies were validated in order.
    let module = |second_invalid: bool| {
        let mut wat = String::from("(module\n");
        for i in 0..40 {
            wat += &match i {
                5 => "(func (result i32) (i64.const 0))\n".to_owned(),
                30 => {
                    let adds = "(local.set 0 (i32.add (local.get 0) (i32.const 1)))\n".repeat(500);
                    let last = if second_invalid {
                        "(f32.const 0)"
                    } else {
                        "(i32.const 0)"
                    };
                    format!("(func (result i32) (local i32) {adds} {last})\n")
                }
                _ => "(func (result i32) (i32.const 7))\n".to_owned(),
            };
        }
        wat::parse_str(wat + ")").expect("well-formed text")
    };
    let engine = Engine::default();
    let first_only = Module::new(&engine, module(false)).expect_err("function 5 is invalid");
    for _ in 0..20 {
        let both = Module::new(&engine, module(true)).expect_err("functions 5 and 30 are invalid");
        assert_eq!(both.to_string(), first_only.to_string());
    }
    assert!(
        first_only.to_string().contains("type mismatch"),
        "{first_only}"
    );
}
