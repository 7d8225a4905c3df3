//! wasmjit: run WebAssembly in native applications, compiled to machine code by Cranelift.
//!
//! The API follows wasmtime's where it fits: an [`Engine`] compiles [`Module`]s, a
//! [`Store`] owns instances and everything they create, a [`Linker`] resolves imports by
//! name. Linear memory follows the web's `WebAssembly.Memory`: [`Memory::new`] takes initial
//! and maximum sizes in 64 KiB pages and a `shared` flag, [`Memory::grow`] returns the old
//! size, and the bytes are reachable as a stable pointer and as views that borrow the store.
//!
//! ```
//! use wasmjit::{Engine, Instance, Module, Store};
//!
//! let engine = Engine::default();
//! let module = Module::new(&engine, r#"(module (func (export "add") (param i32 i32) (result i32)
//!     local.get 0 local.get 1 i32.add))"#).unwrap();
//! let mut store = Store::new(&engine, ());
//! let instance = Instance::new(&mut store, &module, &[]).unwrap();
//! let add = instance.get_typed_func::<(i32, i32), i32>(&mut store, "add").unwrap();
//! assert_eq!(add.call(&mut store, (2, 40)).unwrap(), 42);
//! ```

mod anyref;
mod artifact;
mod cache;
mod engine;
mod error;
mod externref;
mod func;
mod global;
mod instance;
mod limits;
mod linker;
mod memory;
mod module;
mod roots;
mod store;
mod table;
mod tag;
mod typed;
mod types;
mod values;

pub use anyref::{AnyRef, I31};
pub use engine::{
    BoundsChecks, Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig,
};
pub use error::{CompileError, Error, MemoryError, Result, TableError, Trap};
pub use externref::ExternRef;
pub use func::{Caller, Func};
pub use global::Global;
pub use instance::{Extern, Instance};
pub use limits::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
pub use linker::Linker;
pub use memory::{AtomicAccessError, Memory, MemoryAccessError, SharedMemory, WaitResult};
pub use module::{ExportType, ImportType, Module};
pub use roots::RootScope;
pub use store::{AsContext, AsContextMut, Store, StoreContext, StoreContextMut};
pub use table::Table;
pub use tag::{ExnRef, Tag, TagType};
pub use typed::{IntoFunc, TypedFunc, WasmRet, WasmTy, WasmTyList};
pub use types::{
    DefinedKind, DefinedType, ExternType, FuncType, GlobalType, HeapType, MemoryType,
    MemoryTypeBuilder, Mutability, RefType, TableType, ValType,
};
pub use values::Val;
