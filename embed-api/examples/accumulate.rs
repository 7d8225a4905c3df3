//! The example of the web's `WebAssembly.Memory` page, from Rust.
//!
//! The host creates a memory of 10 pages (maximum 100), writes the u32 values 0..9 at its
//! start, instantiates a module that imports it as `js.mem`, and prints `accumulate(0, 10)`.

use wasmjit::{Engine, Linker, Memory, Module, Store};

const WAT: &str = r#"
(module
  (memory (import "js" "mem") 1)
  (func (export "accumulate") (param $ptr i32) (param $len i32) (result i32)
    (local $end i32)
    (local $sum i32)
    (local.set $end (i32.add (local.get $ptr) (i32.mul (local.get $len) (i32.const 4))))
    (block $done
      (loop $next
        (br_if $done (i32.eq (local.get $ptr) (local.get $end)))
        (local.set $sum (i32.add (local.get $sum) (i32.load (local.get $ptr))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 4)))
        (br $next)))
    (local.get $sum)))
"#;

fn main() -> wasmjit::Result<()> {
    let engine = Engine::default();
    let mut store = Store::new(&engine, ());
    let memory = Memory::new(&mut store, 10, Some(100), false)?;
    for (i, word) in memory
        .data_mut(&mut store)
        .chunks_exact_mut(4)
        .take(10)
        .enumerate()
    {
        word.copy_from_slice(&(i as u32).to_le_bytes());
    }
    let module = Module::new(&engine, WAT)?;
    let mut linker = Linker::new(&engine);
    linker.define(&mut store, "js", "mem", memory)?;
    let instance = linker.instantiate(&mut store, &module)?;
    let accumulate = instance.get_typed_func::<(i32, i32), i32>(&mut store, "accumulate")?;
    println!("{}", accumulate.call(&mut store, (0, 10))?);
    Ok(())
}
