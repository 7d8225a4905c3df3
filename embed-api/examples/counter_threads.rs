//! N threads run the same module on one shared memory: one increments a counter, the others
//! wait (with `memory.atomic.wait32`) until it says it is done, then read the counter. The
//! host prints the final value.

use std::thread;

use wasmjit::{Engine, Instance, Module, SharedMemory, Store};

const WAT: &str = r#"
(module
  (memory (import "env" "mem") 1 1 shared)
  ;; Address 0: the counter. Address 4: the "done" flag the waiters sleep on.
  (func (export "produce") (param $n i32)
    (loop $next
      (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (i32.atomic.store (i32.const 4) (i32.const 1))
    (drop (memory.atomic.notify (i32.const 4) (i32.const -1))))
  (func (export "consume") (result i32)
    (loop $sleep
      (if (i32.eqz (i32.atomic.load (i32.const 4)))
        (then
          (drop (memory.atomic.wait32 (i32.const 4) (i32.const 0) (i64.const -1)))
          (br $sleep))))
    (i32.atomic.load (i32.const 0))))
"#;

const THREADS: usize = 4;
const INCREMENTS: i32 = 100_000;

fn main() -> wasmjit::Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, WAT)?;
    let memory = SharedMemory::new(&engine, 1, 1)?;
    let threads: Vec<_> = (0..THREADS)
        .map(|i| {
            let (engine, module, memory) = (engine.clone(), module.clone(), memory.clone());
            thread::spawn(move || -> wasmjit::Result<Option<i32>> {
                let mut store = Store::new(&engine, ());
                let instance = Instance::new(&mut store, &module, &[memory.into()])?;
                if i == 0 {
                    let produce = instance.get_typed_func::<i32, ()>(&mut store, "produce")?;
                    produce.call(&mut store, INCREMENTS)?;
                    Ok(None)
                } else {
                    let consume = instance.get_typed_func::<(), i32>(&mut store, "consume")?;
                    consume.call(&mut store, ()).map(Some)
                }
            })
        })
        .collect();
    for (i, t) in threads.into_iter().enumerate() {
        if let Some(seen) = t.join().expect("thread panicked")? {
            println!("thread {i} woke up and read {seen}");
        }
    }
    let counter = memory
        .atomic_u32(0)
        .expect("the counter is in bounds and aligned");
    println!(
        "final value: {}",
        counter.load(std::sync::atomic::Ordering::SeqCst)
    );
    Ok(())
}
