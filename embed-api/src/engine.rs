//! The engine and its configuration.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use wasmjit_codegen::{
    compile_host_trampolines, BoundsChecks, CodegenConfig, FuncType, OptLevel, Target,
};
use wasmjit_runtime::instance::LoadedModule;
use wasmjit_runtime::memory::MemoryConfig;
use wasmjit_runtime::type_registry::TypeRegistry;
use wasmparser::WasmFeatures;

use crate::error::{Error, Result};

/// How modules are compiled and run: target, optimisation, bounds checks, stack size.
#[derive(Clone, Debug)]
pub struct Config {
    target: Target,
    codegen: CodegenConfig,
    guard_before: u64,
    max_wasm_stack: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            target: Target::host(),
            codegen: CodegenConfig::default(),
            guard_before: 64 << 10,
            max_wasm_stack: 512 << 10,
        }
    }
}

impl Config {
    /// The defaults: the host target, Cranelift's speed optimisations, guard pages with a
    /// 32 MiB guard, Wasm 2.0 features plus threads (shared memories), 512 KiB of wasm stack.
    pub fn new() -> Self {
        Self::default()
    }

    /// Compiles for the target named by `triple` (`x86_64-unknown-linux-gnu`,
    /// `aarch64-unknown-linux-gnu`, ...). Modules for another architecture than the host's
    /// can be compiled but not instantiated.
    pub fn target(&mut self, triple: &str) -> Result<&mut Self> {
        self.target = Target::from_triple(triple)?;
        Ok(self)
    }

    /// Cranelift's optimisation level.
    pub fn opt_level(&mut self, level: OptLevel) -> &mut Self {
        self.codegen.opt_level = level;
        self
    }

    /// Guard pages (no compare on most accesses) or explicit bounds checks on every access.
    pub fn bounds_checks(&mut self, mode: BoundsChecks) -> &mut Self {
        self.codegen.bounds_checks = mode;
        self
    }

    /// Bytes of inaccessible address space after each memory's 4 GiB reservation. Accesses
    /// whose static offset fits in it need no compare.
    pub fn guard_size(&mut self, bytes: u64) -> &mut Self {
        self.codegen.guard_size = bytes;
        self
    }

    /// Whether accesses compared with their bound (all of them with explicit checks, large
    /// offsets with guard pages, atomics) also compute their address as 0 when out of bounds
    /// (Cranelift's `select_spectre_guard`), so a mispredicted check cannot read past the
    /// memory speculatively (Spectre variant 1). On by default, as in wasmtime; costs a
    /// conditional move per checked access.
    pub fn spectre_guard(&mut self, enable: bool) -> &mut Self {
        self.codegen.spectre_guard = enable;
        self
    }

    /// The most stack wasm code may use before it traps with "call stack exhausted".
    pub fn max_wasm_stack(&mut self, bytes: usize) -> &mut Self {
        self.max_wasm_stack = bytes;
        self
    }

    /// Keeps Cranelift's listing of each compiled function's machine instructions, readable
    /// with [`crate::Module::function_disassembly`].
    pub fn emit_disassembly(&mut self, enable: bool) -> &mut Self {
        self.codegen.emit_disassembly = enable;
        self
    }

    /// Epoch-based interruption: compiled code checks the engine's epoch
    /// ([`Engine::increment_epoch`], callable from any thread) against the store's deadline
    /// ([`crate::Store::set_epoch_deadline`]) at every function entry and loop header, and
    /// traps with "interrupt" once the deadline is reached. Off by default.
    pub fn epoch_interruption(&mut self, enable: bool) -> &mut Self {
        self.codegen.epoch_interruption = enable;
        self
    }

    /// Fuel metering: every operator wasm runs costs one unit of the store's fuel
    /// ([`crate::Store::set_fuel`], 0 to begin with), and code traps with "all fuel
    /// consumed" at the next function entry or loop header once none is left. Off by
    /// default.
    pub fn consume_fuel(&mut self, enable: bool) -> &mut Self {
        self.codegen.consume_fuel = enable;
        self
    }

    /// The WebAssembly features modules may use (validation rejects others).
    pub fn wasm_features(&mut self, features: WasmFeatures) -> &mut Self {
        self.codegen.features = features;
        self
    }
}

/// Compiles modules and holds what they share: the configuration and signature ids.
///
/// Cheap to clone; usable from any thread.
#[derive(Clone, Debug)]
pub struct Engine {
    inner: Arc<EngineInner>,
}

#[derive(Debug)]
struct EngineInner {
    config: Config,
    types: TypeRegistry,
    host_trampolines: Mutex<HashMap<FuncType, Arc<LoadedModule>>>,
    /// The epoch counter compiled code compares with each store's deadline.
    epoch: AtomicU64,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(&Config::default()).expect("the default configuration is valid")
    }
}

impl Engine {
    /// An engine with `config`.
    pub fn new(config: &Config) -> Result<Self> {
        if config.max_wasm_stack == 0 {
            return Err(Error::Type("max_wasm_stack must be positive".into()));
        }
        if config.target.is_host() {
            wasmjit_runtime::traps::init_traps();
        }
        Ok(Engine {
            inner: Arc::new(EngineInner {
                config: config.clone(),
                types: TypeRegistry::new(),
                host_trampolines: Mutex::new(HashMap::new()),
                epoch: AtomicU64::new(0),
            }),
        })
    }

    pub(crate) fn target(&self) -> &Target {
        &self.inner.config.target
    }

    pub(crate) fn codegen(&self) -> &CodegenConfig {
        &self.inner.config.codegen
    }

    pub(crate) fn max_wasm_stack(&self) -> usize {
        self.inner.config.max_wasm_stack
    }

    pub(crate) fn types(&self) -> &TypeRegistry {
        &self.inner.types
    }

    pub(crate) fn memory_config(&self) -> MemoryConfig {
        MemoryConfig {
            guard_before: self.inner.config.guard_before,
            guard_after: self.inner.config.codegen.guard_size,
            bounds_checks: self.inner.config.codegen.bounds_checks,
        }
    }

    /// The trampolines through which host functions of type `ty` are called, compiled on
    /// first use and shared by every host function of that type.
    pub(crate) fn host_trampolines(&self, ty: &FuncType) -> Result<Arc<LoadedModule>> {
        let mut cache = self
            .inner
            .host_trampolines
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(loaded) = cache.get(ty) {
            return Ok(loaded.clone());
        }
        let config = &self.inner.config;
        if !config.target.is_host() {
            return Err(Error::Link(format!(
                "host functions need an engine for this machine, not {}",
                config.target
            )));
        }
        let compiled = compile_host_trampolines(ty, &config.target, &config.codegen)?;
        let loaded = LoadedModule::new(compiled, &self.inner.types)
            .map_err(|e| Error::Link(format!("cannot map code memory: {e}")))?;
        let loaded = Arc::new(loaded);
        cache.insert(ty.clone(), loaded.clone());
        Ok(loaded)
    }

    /// Advances the epoch by one. Wasm running in any store of this engine with epoch
    /// interruption traps at its next check if the epoch reached its store's deadline.
    /// Cheap, lock-free, and callable from any thread (a timer thread, typically).
    pub fn increment_epoch(&self) {
        self.inner.epoch.fetch_add(1, Ordering::Release);
    }

    /// The current epoch.
    pub(crate) fn epoch(&self) -> &AtomicU64 {
        &self.inner.epoch
    }

    /// Whether two handles are the same engine.
    pub fn same(a: &Engine, b: &Engine) -> bool {
        Arc::ptr_eq(&a.inner, &b.inner)
    }
}
