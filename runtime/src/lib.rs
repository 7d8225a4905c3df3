//! wasmjit's runtime: everything compiled WebAssembly needs while it runs.
//!
//! Linear memories in guard-page reservations, executable code memory, the per-instance
//! vmctx, tables, globals, instantiation, the builtins compiled code calls, and the signal
//! handlers that turn faults in compiled code into WebAssembly traps. It consumes the plain
//! data that `wasmjit-codegen` produces and knows nothing of wasm's operators; the public
//! embedding API lives in the `wasmjit` crate.

pub mod allocator;
pub mod builtins;
pub mod code_memory;
pub mod epochs;
pub mod exceptions;
mod frames;
pub mod gc;
pub mod instance;
pub mod memory;
pub mod memory_image;
pub mod mmap;
pub mod parking;
pub mod pool;
pub mod table;
pub mod traps;
pub mod type_registry;
pub mod vmcontext;
