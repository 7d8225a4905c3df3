//! Scale: 10,000 instances, each with its own memory (a 4 GiB reservation), alive at once,
//! then dropped, with the address space back where it started. Alone in its test binary so
//! that no other test's memories change the process's address-space size meanwhile.

use wasmjit::{Engine, Instance, Module, Store};

/// The process's virtual memory size, from /proc.
fn vm_size_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmSize:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn ten_thousand_instances_with_memories_then_address_space_returns() {
    let engine = Engine::default();
    let module = Module::new(
        &engine,
        r#"(module (memory (export "m") 1)
            (func (export "poke") (param i32) (i32.store (i32.const 0) (local.get 0))))"#,
    )
    .unwrap();
    // Warm up what is allocated once per process (signal stacks, registries).
    Instance::new(&mut Store::new(&engine, ()), &module, &[]).unwrap();
    let before = vm_size_kib();
    {
        let mut store = Store::new(&engine, ());
        let mut instances = Vec::new();
        for i in 0..10_000 {
            let instance = Instance::new(&mut store, &module, &[]).unwrap();
            let poke = instance
                .get_typed_func::<i32, ()>(&mut store, "poke")
                .unwrap();
            poke.call(&mut store, i).unwrap();
            instances.push(instance);
        }
        let during = vm_size_kib();
        assert!(
            during >= before + 10_000 * 4 * 1024 * 1024,
            "each memory reserves its 4 GiB: {before} KiB -> {during} KiB"
        );
        for (i, instance) in instances.iter().enumerate() {
            let memory = instance.get_memory(&mut store, "m").unwrap();
            assert_eq!(memory.data(&store)[..4], (i as i32).to_le_bytes());
        }
    }
    let after = vm_size_kib();
    assert!(
        after < before + 1024 * 1024,
        "address space not returned: {before} KiB before, {after} KiB after"
    );
}
