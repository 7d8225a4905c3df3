//! One shared memory used by two threads, each with its own store and instance.
//!
//! Each thread's instance writes its own region of the shared memory; then the main thread
//! grows the memory and every holder sees the new size.

use std::thread;

use wasmjit::{Engine, Instance, Module, SharedMemory, Store};

const WAT: &str = r#"
(module
  (memory (import "env" "mem") 1 4 shared)
  (func (export "fill") (param $start i32) (param $count i32) (param $value i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $start) (i32.mul (local.get $count) (i32.const 4))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $start) (local.get $end)))
        (i32.store (local.get $start) (local.get $value))
        (local.set $start (i32.add (local.get $start) (i32.const 4)))
        (br $next))))
  (func (export "pages") (result i32) (memory.size)))
"#;

fn main() -> wasmjit::Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, WAT)?;
    let memory = SharedMemory::new(&engine, 1, 4)?;

    let workers: Vec<_> = (0..2)
        .map(|t: i32| {
            let (engine, module, memory) = (engine.clone(), module.clone(), memory.clone());
            thread::spawn(move || -> wasmjit::Result<()> {
                let mut store = Store::new(&engine, ());
                let instance = Instance::new(&mut store, &module, &[memory.into()])?;
                let fill = instance.get_typed_func::<(i32, i32, i32), ()>(&mut store, "fill")?;
                fill.call(&mut store, (t * 4096, 1024, t + 1))
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("worker thread panicked")?;
    }

    let mut word = [0u8; 4];
    memory.read(0, &mut word).expect("in bounds");
    let first = u32::from_le_bytes(word);
    memory.read(4096, &mut word).expect("in bounds");
    let second = u32::from_le_bytes(word);
    println!("thread 0 wrote {first}, thread 1 wrote {second}");

    let old = memory.grow(1)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[memory.clone().into()])?;
    let pages = instance.get_typed_func::<(), i32>(&mut store, "pages")?;
    println!("grown from {old} to {} pages", pages.call(&mut store, ())?);
    Ok(())
}
