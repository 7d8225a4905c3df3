//! The second form of the `WebAssembly.Memory` example: read a memory the module exports.
//!
//! The module fills its own memory with the u32 values 0..9 at instantiation and exports it
//! as `memory`; the host reads the first value through the export and sums all ten.

use wasmjit::{Engine, Instance, Module, Store};

const WAT: &str = r#"
(module
  (memory (export "memory") 1)
  (data (i32.const 0)
    "\00\00\00\00\01\00\00\00\02\00\00\00\03\00\00\00\04\00\00\00"
    "\05\00\00\00\06\00\00\00\07\00\00\00\08\00\00\00\09\00\00\00"))
"#;

fn main() -> wasmjit::Result<()> {
    let engine = Engine::default();
    let module = Module::new(&engine, WAT)?;
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])?;
    let memory = instance
        .get_memory(&mut store, "memory")
        .expect("the module exports its memory");
    let words: Vec<u32> = memory.data(&store)[..40]
        .chunks_exact(4)
        .map(|w| u32::from_le_bytes(w.try_into().expect("four bytes")))
        .collect();
    println!("first value: {}", words[0]);
    println!("sum: {}", words.iter().sum::<u32>());
    Ok(())
}
