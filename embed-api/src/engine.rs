//! The engine and its configuration.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock};

use wasmjit_codegen::{
    compile_host_trampolines, compile_module, CodeSettings, CodegenConfig, Target,
};
use wasmjit_runtime::allocator::{InstanceAllocator, PoolLimits};
use wasmjit_runtime::epochs::EpochStores;
use wasmjit_runtime::instance::LoadedModule;
use wasmjit_runtime::memory::MemoryConfig;
use wasmjit_runtime::pool::PoolConfig;
use wasmjit_runtime::type_registry::TypeRegistry;
use wasmparser::WasmFeatures;

use crate::artifact;
use crate::cache::Cache;
use crate::error::{Error, Result};
use crate::types::FuncType;

/// How heap accesses are kept inside linear memory ([`Config::bounds_checks`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BoundsChecks {
    /// Rely on each memory's 4 GiB reservation and its guard region (the default): an
    /// access whose static offset fits in the guard compiles with no compare, and a stray
    /// access faults and becomes a trap.
    GuardPages,
    /// Compare every access against the memory's current length.
    Explicit,
}

impl BoundsChecks {
    fn to_codegen(self) -> wasmjit_codegen::BoundsChecks {
        match self {
            BoundsChecks::GuardPages => wasmjit_codegen::BoundsChecks::GuardPages,
            BoundsChecks::Explicit => wasmjit_codegen::BoundsChecks::Explicit,
        }
    }
}

/// How much Cranelift optimises the generated code ([`Config::opt_level`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OptLevel {
    /// No optimisation: the fastest compile.
    None,
    /// Optimise for speed (the default).
    Speed,
    /// Optimise for speed and size.
    SpeedAndSize,
}

impl OptLevel {
    fn to_codegen(self) -> wasmjit_codegen::OptLevel {
        match self {
            OptLevel::None => wasmjit_codegen::OptLevel::None,
            OptLevel::Speed => wasmjit_codegen::OptLevel::Speed,
            OptLevel::SpeedAndSize => wasmjit_codegen::OptLevel::SpeedAndSize,
        }
    }
}

/// Where instances' memories come from ([`Config::allocation_strategy`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum InstanceAllocationStrategy {
    /// Each memory reserves its own address space when it is created and gives it back when
    /// it is dropped (the default). Nothing is reserved up front, but every instantiation
    /// maps and unmaps, which serialises threads on the process's address-space lock.
    #[default]
    OnDemand,
    /// Memories live in slots of one reservation made when the engine is created, and are
    /// reset and reused: instantiation maps nothing, and threads instantiating together do
    /// not wait for each other. Bounded by the limits of the [`PoolingAllocationConfig`].
    Pooling(PoolingAllocationConfig),
}

/// The limits of the pooling allocator ([`InstanceAllocationStrategy::Pooling`]).
///
/// The engine reserves `total_memories` slots of address space when it is created, each
/// laid out as an on-demand memory is (with guard pages, 4 GiB plus the guards: the default
/// 1000 slots take about 4 TiB of address space, no memory). A memory created by
/// instantiation, [`crate::Memory::new`] or [`crate::SharedMemory::new`] takes a slot and
/// gives it back when it is dropped (a shared memory, when its last holder drops it); the
/// slot's pages are then given back to the kernel, except the first
/// `linear_memory_keep_resident` bytes, which are restored in place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolingAllocationConfig {
    total_core_instances: u32,
    total_memories: u32,
    total_tables: u32,
    max_memory_size: usize,
    table_elements: usize,
    linear_memory_keep_resident: usize,
    decommit_batch_size: usize,
}

impl Default for PoolingAllocationConfig {
    fn default() -> Self {
        PoolingAllocationConfig {
            total_core_instances: 1000,
            total_memories: 1000,
            total_tables: 1000,
            max_memory_size: 4 << 30,
            table_elements: 20_000,
            linear_memory_keep_resident: 0,
            decommit_batch_size: 16,
        }
    }
}

impl PoolingAllocationConfig {
    /// The defaults: 1000 instances, 1000 memories of up to 4 GiB, 1000 tables of up to
    /// 20,000 elements, nothing kept resident, slots decommitted 16 at a time.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many instances may be alive at once in the engine's stores. One more
    /// instantiation is an [`Error::Limit`].
    pub fn total_core_instances(&mut self, count: u32) -> &mut Self {
        self.total_core_instances = count;
        self
    }

    /// How many tables defined by modules may be alive at once in the engine's stores (tables
    /// created with [`crate::Table::new`] are not counted). An instantiation that would pass
    /// it is an [`Error::Limit`].
    pub fn total_tables(&mut self, count: u32) -> &mut Self {
        self.total_tables = count;
        self
    }

    /// The most elements a table defined by a module may have: a larger initial size is an
    /// [`Error::Table`] at instantiation, and `table.grow` past it fails.
    pub fn table_elements(&mut self, elements: usize) -> &mut Self {
        self.table_elements = elements;
        self
    }

    /// How many memories may be alive at once in the engine's stores. Creating one more is
    /// an [`Error::Memory`] with [`crate::MemoryError::PoolExhausted`].
    pub fn total_memories(&mut self, count: u32) -> &mut Self {
        self.total_memories = count;
        self
    }

    /// The largest a memory may be, in bytes (rounded down to 64 KiB pages): a larger initial
    /// size is an error, and `memory.grow` past it fails. With explicit bounds checks this
    /// is also the address space each slot reserves.
    pub fn max_memory_size(&mut self, bytes: usize) -> &mut Self {
        self.max_memory_size = bytes;
        self
    }

    /// Bytes at the start of each memory that are restored by hand when its slot is reset
    /// (the memory image's bytes copied back, zeros elsewhere) rather than given back to the
    /// kernel, so the next instance does not fault them in again (0 by default). A memory
    /// that fits in it is reused with no system call and no page fault, at the cost of
    /// copying it at every reset and keeping it resident while its slot is free.
    pub fn linear_memory_keep_resident(&mut self, bytes: usize) -> &mut Self {
        self.linear_memory_keep_resident = bytes;
        self
    }

    /// How many returned memory slots wait to give their pages back to the kernel together
    /// (default 16; 1 gives each back as it is returned). In a multithreaded host every `madvise` that gives pages
    /// back interrupts the other cores running the process to flush their TLBs; a batch of
    /// returned slots gives back neighbouring slots in one call, so threads instantiating
    /// together stop interrupting each other at every drop, at the cost of keeping up to
    /// `n - 1` returned slots' pages resident a little longer. A slot is never reused before
    /// its pages are reset; when no slot is free, the waiting ones are reset at once.
    pub fn decommit_batch_size(&mut self, n: usize) -> &mut Self {
        self.decommit_batch_size = n.max(1);
        self
    }
}

/// How modules are compiled and run: target, optimisation, bounds checks, stack size.
#[derive(Clone, Debug)]
pub struct Config {
    target: Target,
    codegen: CodegenConfig,
    guard_before: u64,
    max_wasm_stack: usize,
    allocation_strategy: InstanceAllocationStrategy,
    memory_init_cow: bool,
    cache: Option<Cache>,
    gc_stress: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            target: Target::host(),
            codegen: CodegenConfig::default(),
            guard_before: 64 << 10,
            max_wasm_stack: 512 << 10,
            allocation_strategy: InstanceAllocationStrategy::OnDemand,
            memory_init_cow: true,
            cache: None,
            gc_stress: false,
        }
    }
}

impl Config {
    /// The defaults: the host target, Cranelift's speed optimisations, guard pages with a
    /// 32 MiB guard, Wasm 2.0 features plus threads (shared memories) and the Wasm 3.0
    /// features wasmjit compiles (tail calls, memory64, typed function references,
    /// multi-memory, extended constant expressions, exception handling), 512 KiB of wasm
    /// stack.
    pub fn new() -> Self {
        Self::default()
    }

    /// Compiles for the target named by `triple` (`x86_64-unknown-linux-gnu`,
    /// `aarch64-unknown-linux-gnu`, ...). Modules for another architecture than the host's
    /// can be compiled but not instantiated.
    pub fn target(&mut self, triple: &str) -> Result<&mut Self> {
        self.target = Target::from_triple(triple).map_err(Error::compile)?;
        Ok(self)
    }

    /// Cranelift's optimisation level ([`OptLevel::Speed`] by default).
    pub fn opt_level(&mut self, level: OptLevel) -> &mut Self {
        self.codegen.opt_level = level.to_codegen();
        self
    }

    /// Guard pages (no compare on most accesses; the default) or explicit bounds checks on
    /// every access.
    pub fn bounds_checks(&mut self, mode: BoundsChecks) -> &mut Self {
        self.codegen.bounds_checks = mode.to_codegen();
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

    /// Whether direct calls to small functions of the same module are inlined into their
    /// callers where that pays at run time (calls inside loops, recursive calls), one level
    /// deep, within a size budget per callee and per caller. On by default; turning it off
    /// compiles faster and keeps every call a call.
    pub fn inlining(&mut self, enable: bool) -> &mut Self {
        self.codegen.inlining = enable;
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

    /// Epoch-based interruption: wasm traps with "interrupt" at its next function entry or
    /// loop header once the engine's epoch ([`Engine::increment_epoch`], callable from any
    /// thread) reaches the store's deadline ([`crate::Store::set_epoch_deadline`]). Function
    /// entries check it for free, through the stack limit they check anyway (a function
    /// with no frame and no calls, which cannot run long, has no check); loop headers read
    /// one byte of a page the store maps, which an interrupt makes inaccessible. Off by
    /// default.
    pub fn epoch_interruption(&mut self, enable: bool) -> &mut Self {
        self.codegen.epoch_interruption = enable;
        self
    }

    /// Fuel metering: every operator wasm runs costs one unit of the store's fuel
    /// ([`crate::Store::set_fuel`], 0 to begin with), and code traps with "all fuel
    /// consumed" at the end of a straight-line run that needs more than is left (the
    /// store's fuel then reads 0). Off by default.
    pub fn consume_fuel(&mut self, enable: bool) -> &mut Self {
        self.codegen.consume_fuel = enable;
        self
    }

    /// Where instances' memories come from: reserved per memory
    /// ([`InstanceAllocationStrategy::OnDemand`], the default) or from a pool reserved when
    /// the engine is created ([`InstanceAllocationStrategy::Pooling`]).
    pub fn allocation_strategy(&mut self, strategy: InstanceAllocationStrategy) -> &mut Self {
        self.allocation_strategy = strategy;
        self
    }

    /// Whether a module's data segments are laid out once in a memory image (a `memfd`)
    /// mapped copy-on-write into each new instance's memory, rather than copied at every
    /// instantiation. A data segment then costs nothing until it is written. On by default,
    /// with either allocation strategy.
    ///
    /// Applies only where mapping the data up front cannot be told apart from copying it:
    /// every active data segment has an `i32.const` offset and fits in the initial size of
    /// one of the module's own non-shared memories, and every active element segment has an
    /// `i32.const` offset and fits in one of the module's own tables. Other modules (with
    /// imported memories or tables, offsets read from globals, segments that trap, shared
    /// memories, or an image over 1 MiB that is less than half data) have their segments
    /// copied.
    pub fn memory_init_cow(&mut self, enable: bool) -> &mut Self {
        self.memory_init_cow = enable;
        self
    }

    /// Keeps compiled modules in the folder `dir` (created when first needed): compiling a
    /// module that was compiled before with the same settings maps the stored code instead
    /// ([`crate::Module::deserialize_file`]), and compiling a new one stores it. Entries are
    /// named by a SHA-256 of the module's binary and of the settings that change code.
    /// `None` turns the cache off (the default).
    ///
    /// # Safety
    /// Stored code runs in this process. The folder must be writable only by users trusted
    /// as much as the process itself: whoever can write an entry there chooses the code a
    /// module compiled later runs. Entries are checked for damage, not for forgery.
    pub unsafe fn cache_dir(&mut self, dir: Option<PathBuf>) -> &mut Self {
        self.cache = dir.map(Cache::new);
        self
    }

    /// Turns one validation feature on or off.
    fn feature(&mut self, feature: WasmFeatures, enable: bool) -> &mut Self {
        self.codegen.features.set(feature, enable);
        self
    }

    /// The threads proposal: shared memories, atomic instructions, `wait` and `notify`.
    /// On by default.
    pub fn wasm_threads(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::THREADS, enable)
    }

    /// 128-bit SIMD (Wasm 2.0). On by default.
    pub fn wasm_simd(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::SIMD, enable)
    }

    /// Relaxed SIMD (Wasm 3.0): `i8x16.relaxed_swizzle`, `f32x4.relaxed_madd` and the other
    /// operators whose results may differ between targets where the inputs are unusual
    /// (out-of-range indices, NaN, overflow). Each gives the same result every time on a
    /// given target. On aarch64 every one gives its deterministic counterpart's result
    /// (`i8x16.swizzle`, `trunc_sat`, `min`/`max`, `q15mulr_sat_s`, a bitwise select, exact
    /// signed dot products) and `relaxed_madd` is fused. On x86-64 they give the native
    /// instructions' results: `pshufb` (indices 16 to 127 wrap), `cvttps2dq`/`cvttpd2dq`
    /// (`i32::MIN` for NaN and overflow in the signed truncations; the unsigned ones
    /// saturate), `minps`/`maxps` (`relaxed_min(a, b)` is `b < a ? b : a`), `blendv` (the
    /// mask lane's top bit, but for 16-bit lanes), `pmulhrsw` (-32768 * -32768 gives
    /// -32768), `pmaddubsw` (the second operand's bytes unsigned, pair sums saturating),
    /// and `relaxed_madd` fused where the CPU has FMA (not in code cross-compiled for the
    /// x86-64-v2 baseline). The full table is in the code generator's
    /// `translate/simd/relaxed.rs`. On by default.
    pub fn wasm_relaxed_simd(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::RELAXED_SIMD, enable)
    }

    /// Bulk memory operations (Wasm 2.0): `memory.copy`, `memory.fill`, `memory.init`,
    /// passive segments and their table counterparts. On by default.
    pub fn wasm_bulk_memory(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::BULK_MEMORY, enable)
    }

    /// Reference types (Wasm 2.0): `funcref` and `externref` values, several tables, table
    /// instructions. On by default.
    pub fn wasm_reference_types(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::REFERENCE_TYPES, enable)
    }

    /// Multi-value (Wasm 2.0): functions and blocks with several results. On by default.
    pub fn wasm_multi_value(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::MULTI_VALUE, enable)
    }

    /// Sign-extension operators (Wasm 2.0): `i32.extend8_s` and the like. On by default.
    pub fn wasm_sign_extension(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::SIGN_EXTENSION, enable)
    }

    /// Non-trapping float-to-int conversions (Wasm 2.0): `i32.trunc_sat_f32_s` and the
    /// like. On by default.
    pub fn wasm_saturating_float_to_int(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::SATURATING_FLOAT_TO_INT, enable)
    }

    /// The multi-memory proposal (Wasm 3.0): several memories per module. On by default.
    pub fn wasm_multi_memory(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::MULTI_MEMORY, enable)
    }

    /// The extended constant expressions proposal: `i32.add`, `i64.mul` and the like in
    /// initialisers and segment offsets (Wasm 3.0). On by default.
    pub fn wasm_extended_const(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::EXTENDED_CONST, enable)
    }

    /// The memory64 proposal (Wasm 3.0): memories indexed with `i64` addresses, always
    /// bounds-checked explicitly (no reservation covers a 64-bit index). On by default.
    pub fn wasm_memory64(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::MEMORY64, enable)
    }

    /// The tail-call proposal (Wasm 3.0): `return_call` and `return_call_indirect`, which
    /// replace the caller's frame, so tail recursion runs in constant stack. On by default.
    pub fn wasm_tail_call(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::TAIL_CALL, enable)
    }

    /// The typed function references proposal (Wasm 3.0): `(ref $t)`, `(ref null func)`
    /// and the other typed references, `call_ref`, `return_call_ref`, `ref.as_non_null`,
    /// `br_on_null`, `br_on_non_null`, non-nullable locals and table initialisers. On by
    /// default.
    pub fn wasm_function_references(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::FUNCTION_REFERENCES, enable)
    }

    /// Garbage collection (Wasm 3.0): recursion groups, subtypes, struct and array types,
    /// `i31ref`, casts and the GC instructions. On by default.
    pub fn wasm_gc(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::GC, enable)
    }

    /// A test mode: every allocation of a GC object from wasm runs a collection first, so
    /// that every call site's stack map is used. Slow; off by default.
    #[doc(hidden)]
    pub fn gc_stress(&mut self, enable: bool) -> &mut Self {
        self.gc_stress = enable;
        self
    }

    /// Exception handling (Wasm 3.0): tags, `throw`, `throw_ref`, `try_table` and `exnref`.
    /// On by default; turned off, modules using it are invalid.
    pub fn wasm_exceptions(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::EXCEPTIONS, enable)
    }

    /// The wide arithmetic proposal: `i64.add128`, `i64.sub128`, `i64.mul_wide_s` and
    /// `i64.mul_wide_u`, 128-bit results as two `i64`s. Off by default until it is
    /// standardised.
    pub fn wasm_wide_arithmetic(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::WIDE_ARITHMETIC, enable)
    }

    /// The custom-page-sizes proposal: memories declared `(pagesize 1)`, whose limits,
    /// `memory.size` and `memory.grow` count single bytes (page size 65536 may be named
    /// too). Such a memory's accesses are always compared with its length: its end need not
    /// fall on a host page, so guard pages cannot catch what passes it. An imported memory
    /// must have the page size the module declares ([`crate::MemoryType::page_size`]).
    /// Off by default until it is standardised.
    pub fn wasm_custom_page_sizes(&mut self, enable: bool) -> &mut Self {
        self.feature(WasmFeatures::CUSTOM_PAGE_SIZES, enable)
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
    allocator: InstanceAllocator,
    types: TypeRegistry,
    /// By the calling convention's form of the signature (references as `funcref`), which
    /// is all trampolines depend on.
    host_trampolines: Mutex<HashMap<wasmjit_codegen::FuncType, Arc<LoadedModule>>>,
    /// The epoch counter each store's deadline is compared with.
    epoch: AtomicU64,
    /// The stores to interrupt when the epoch reaches their deadline (those of an engine
    /// with epoch interruption).
    epoch_stores: EpochStores,
    /// What this engine's code depends on, worked out on first use (precompiled modules
    /// record it and are checked against it).
    code_settings: OnceLock<CodeSettings>,
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
            return Err(Error::Config("max_wasm_stack must be positive".into()));
        }
        if config.target.is_host() {
            wasmjit_runtime::traps::init_traps();
        }
        let memory = MemoryConfig {
            guard_before: config.guard_before,
            guard_after: config.codegen.guard_size,
            bounds_checks: config.codegen.bounds_checks,
        };
        let allocator = match &config.allocation_strategy {
            InstanceAllocationStrategy::OnDemand => {
                InstanceAllocator::on_demand(memory, config.memory_init_cow)
            }
            InstanceAllocationStrategy::Pooling(pool) => {
                let limits = PoolLimits {
                    total_instances: pool.total_core_instances,
                    total_tables: pool.total_tables,
                    table_elements: pool.table_elements as u64,
                };
                let pool = PoolConfig {
                    total_memories: pool.total_memories,
                    max_memory_pages: (pool.max_memory_size >> 16) as u64,
                    keep_resident: pool.linear_memory_keep_resident,
                    decommit_batch: pool.decommit_batch_size,
                    memory,
                };
                InstanceAllocator::pooling(&pool, &limits, config.memory_init_cow).map_err(|e| {
                    Error::Config(format!(
                        "cannot reserve the pooling allocator's memory: {e}"
                    ))
                })?
            }
        };
        Ok(Engine {
            inner: Arc::new(EngineInner {
                config: config.clone(),
                allocator,
                types: TypeRegistry::new(),
                host_trampolines: Mutex::new(HashMap::new()),
                epoch: AtomicU64::new(0),
                epoch_stores: EpochStores::default(),
                code_settings: OnceLock::new(),
            }),
        })
    }

    pub(crate) fn target(&self) -> &Target {
        &self.inner.config.target
    }

    pub(crate) fn codegen(&self) -> &CodegenConfig {
        &self.inner.config.codegen
    }

    /// The compile cache, if [`Config::cache_dir`] set one.
    pub(crate) fn cache(&self) -> Option<&Cache> {
        self.inner.config.cache.as_ref()
    }

    /// The settings the code this engine compiles depends on.
    pub(crate) fn code_settings(&self) -> Result<&CodeSettings> {
        if let Some(settings) = self.inner.code_settings.get() {
            return Ok(settings);
        }
        let config = &self.inner.config;
        let settings =
            CodeSettings::new(&config.target, &config.codegen).map_err(Error::compile)?;
        Ok(self.inner.code_settings.get_or_init(|| settings))
    }

    /// Compiles a module (binary or text) to the precompiled form that
    /// [`crate::Module::deserialize`] loads, without making it executable: for this
    /// engine's target, which may be another architecture (see [`Config::target`]).
    pub fn precompile_module(&self, bytes: &[u8]) -> Result<Vec<u8>> {
        let binary = wat::parse_bytes(bytes).map_err(|e| Error::Text(e.to_string()))?;
        let config = &self.inner.config;
        let compiled =
            compile_module(&binary, &config.target, &config.codegen).map_err(Error::compile)?;
        artifact::write(self.code_settings()?, &compiled, &compiled.image)
    }

    pub(crate) fn max_wasm_stack(&self) -> usize {
        self.inner.config.max_wasm_stack
    }

    /// Whether every GC allocation from wasm collects first ([`Config::gc_stress`]).
    pub(crate) fn gc_stress(&self) -> bool {
        self.inner.config.gc_stress
    }

    pub(crate) fn types(&self) -> &TypeRegistry {
        &self.inner.types
    }

    /// Where the engine's memories come from, and its pool's counts.
    pub(crate) fn instance_allocator(&self) -> &InstanceAllocator {
        &self.inner.allocator
    }

    /// The trampolines through which host functions of type `ty` are called, compiled on
    /// first use and shared by every host function of that type.
    pub(crate) fn host_trampolines(&self, ty: &FuncType) -> Result<Arc<LoadedModule>> {
        let mut cache = self
            .inner
            .host_trampolines
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let abi = ty.to_abi_codegen();
        if let Some(loaded) = cache.get(&abi) {
            return Ok(loaded.clone());
        }
        let config = &self.inner.config;
        if !config.target.is_host() {
            return Err(Error::Link(format!(
                "host functions need an engine for this machine, not {}",
                config.target
            )));
        }
        let compiled = compile_host_trampolines(&abi, &config.target, &config.codegen)
            .map_err(Error::compile)?;
        let loaded = LoadedModule::new(compiled, &self.inner.types)
            .map_err(|e| Error::Link(format!("cannot map code memory: {e}")))?;
        let loaded = Arc::new(loaded);
        cache.insert(abi, loaded.clone());
        Ok(loaded)
    }

    /// Advances the epoch by one. Wasm running in any store of this engine with epoch
    /// interruption traps at its next function entry or loop header if the epoch reached
    /// its store's deadline. Callable from any thread (a timer thread, typically); it
    /// visits the engine's live stores under a lock, to interrupt those past their
    /// deadline (see `wasmjit_runtime::epochs`).
    pub fn increment_epoch(&self) {
        self.inner.epoch_stores.increment(&self.inner.epoch);
    }

    /// The stores epoch bumps interrupt.
    pub(crate) fn epoch_stores(&self) -> &EpochStores {
        &self.inner.epoch_stores
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
