//! The `spectest` module the spec scripts import: printing functions, globals, a table and
//! memories.

use wasmjit::{
    Global, GlobalType, Linker, Memory, Mutability, RefType, Store, Table, TableType, Val, ValType,
};

/// Defines `spectest` in `linker`, its items created in `store`.
pub fn define(linker: &mut Linker<()>, store: &mut Store<()>) -> wasmjit::Result<()> {
    linker
        .func_wrap("spectest", "print", || {})?
        .func_wrap("spectest", "print_i32", |_: i32| {})?
        .func_wrap("spectest", "print_i64", |_: i64| {})?
        .func_wrap("spectest", "print_f32", |_: f32| {})?
        .func_wrap("spectest", "print_f64", |_: f64| {})?
        .func_wrap("spectest", "print_i32_f32", |_: i32, _: f32| {})?
        .func_wrap("spectest", "print_f64_f64", |_: f64, _: f64| {})?;
    let globals = [
        ("global_i32", ValType::I32, Val::I32(666)),
        ("global_i64", ValType::I64, Val::I64(666)),
        ("global_f32", ValType::F32, Val::from_f32(666.6)),
        ("global_f64", ValType::F64, Val::from_f64(666.6)),
    ];
    for (name, content, value) in globals {
        let ty = GlobalType::new(content, Mutability::Const);
        let global = Global::new(&mut *store, ty, value)?;
        linker.define(&mut *store, "spectest", name, global)?;
    }
    let table = TableType::new(RefType::FUNCREF, 10, Some(20));
    let table = Table::new(&mut *store, table, Val::FuncRef(None))?;
    linker.define(&mut *store, "spectest", "table", table)?;
    let memory = Memory::new(&mut *store, 1, Some(2), false)?;
    linker.define(&mut *store, "spectest", "memory", memory)?;
    let shared = Memory::new(&mut *store, 1, Some(2), true)?;
    linker.define(&mut *store, "spectest", "shared_memory", shared)?;
    Ok(())
}
