//! Differential testing against the `wasmi` interpreter.
//!
//! A seed becomes a valid module (`wasm-smith`, with every Wasm 2.0 feature both engines
//! support, NaNs canonicalised and loops bounded by fuel), every exported function is called
//! with arguments drawn from the same seed in wasmjit and in wasmi, and what each engine saw is
//! recorded as an [`Outcome`]: instantiation result, each call's results or trap kind, and at
//! the end every exported global, memory and table. The two outcomes must be equal.
//!
//! Only a stack overflow may differ (the engines count stack differently): once either engine
//! overflows, the rest of that module is not compared.
//!
//! Modules may also use Wasm 3.0 features ([`Features`]): those wasmi 2 runs (tail calls,
//! memory64, extended constants, multi-memory) are compared with wasmi as above; the others
//! (relaxed SIMD, exceptions, typed references and GC) are compared
//! between two wasmjit configurations whose results must not differ ([`self_configs`]).

use std::fmt;

use arbitrary::Unstructured;
use wasm_smith::Config as SmithConfig;

/// How much fuel `wasm-smith`'s termination pass gives each module: loops and recursion
/// trap with `unreachable` once it is spent.
const FUEL: u32 = 10_000;

/// The most bytes a store's GC heap may hold while a module runs.
const GC_HEAP_LIMIT: usize = 64 << 20;

/// The most bytes of random input a seed turns into, which bounds the module's size.
const INPUT_BYTES: usize = 16 << 10;

/// The features a generated module may use beyond Wasm 2.0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features {
    /// `return_call` and `return_call_indirect`.
    pub tail_call: bool,
    /// 64-bit memories (and tables).
    pub memory64: bool,
    /// Arithmetic in constant expressions.
    pub extended_const: bool,
    /// Up to two memories.
    pub multi_memory: bool,
    /// The relaxed SIMD operators (whose results wasmi 2 does not pin to wasmjit's).
    pub relaxed_simd: bool,
    /// Exception handling: wasmi 2 has none, so such modules are compared between wasmjit
    /// configurations.
    pub exceptions: bool,
    /// Typed function references and GC (wasm-smith's `gc_enabled`, which generates both):
    /// wasmi 2 has neither, so such modules are compared between wasmjit configurations.
    pub typed_references: bool,
}

impl Features {
    /// Wasm 2.0 alone.
    pub const WASM2: Features = Features {
        tail_call: false,
        memory64: false,
        extended_const: false,
        multi_memory: false,
        relaxed_simd: false,
        exceptions: false,
        typed_references: false,
    };

    /// The Wasm 3.0 features wasmi 2 runs too: modules using them are compared with wasmi.
    pub const WASMI: Features = Features {
        tail_call: true,
        memory64: true,
        extended_const: true,
        multi_memory: true,
        ..Features::WASM2
    };

    /// Every feature wasmjit compiles today: modules using them are compared between
    /// wasmjit configurations ([`self_configs`]).
    pub const WASMJIT: Features = Features {
        relaxed_simd: true,
        exceptions: true,
        typed_references: true,
        ..Features::WASMI
    };

    /// Whether wasmi 2 runs modules using these features.
    pub fn wasmi_runs(&self) -> bool {
        !(self.relaxed_simd || self.exceptions || self.typed_references)
    }
}

/// What `wasm-smith` may generate: Wasm 2.0 and `features`, without imports, memories of at
/// most 64 pages with a declared maximum (so growth stays small in the interpreter), small
/// tables. With `disallow_traps`, every trapping instruction is guarded, so calls run deeper
/// instead of stopping at the first `unreachable` or out-of-bounds access.
pub fn smith_config(disallow_traps: bool, features: Features) -> SmithConfig {
    SmithConfig {
        disallow_traps,
        allow_start_export: true,
        bulk_memory_enabled: true,
        canonicalize_nans: true,
        custom_page_sizes_enabled: false,
        exceptions_enabled: features.exceptions,
        export_everything: true,
        extended_const_enabled: features.extended_const,
        gc_enabled: features.typed_references,
        max_imports: 0,
        min_funcs: 4,
        max_funcs: 24,
        max_memories: if features.multi_memory { 2 } else { 1 },
        max_memory32_bytes: 64 << 16,
        max_memory64_bytes: 64 << 16,
        memory_max_size_required: true,
        max_table_elements: 1_000,
        table_max_size_required: true,
        max_tables: 4,
        memory64_enabled: features.memory64,
        multi_value_enabled: true,
        reference_types_enabled: true,
        relaxed_simd_enabled: features.relaxed_simd,
        saturating_float_to_int_enabled: true,
        sign_extension_ops_enabled: true,
        simd_enabled: true,
        tail_call_enabled: features.tail_call,
        threads_enabled: false,
        wide_arithmetic_enabled: false,
        ..SmithConfig::default()
    }
}

/// A deterministic stream of bytes for one seed (splitmix64).
fn seed_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        out.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The Wasm 2.0 module generated for `seed`, as binary wasm: odd seeds guard their trapping
/// instructions, even seeds do not.
pub fn generate(seed: u64) -> arbitrary::Result<Vec<u8>> {
    generate_with(seed, Features::WASM2)
}

/// The module using `features` generated for `seed`, as [`generate`] does.
pub fn generate_with(seed: u64, features: Features) -> arbitrary::Result<Vec<u8>> {
    let input = seed_bytes(seed, INPUT_BYTES);
    generate_from(&mut Unstructured::new(&input), seed % 2 == 1, features)
}

/// The module generated from fuzzer input.
pub fn generate_from(
    u: &mut Unstructured<'_>,
    disallow_traps: bool,
    features: Features,
) -> arbitrary::Result<Vec<u8>> {
    let mut module = wasm_smith::Module::new(smith_config(disallow_traps, features), u)?;
    module
        .ensure_termination(FUEL)
        .map_err(|_| arbitrary::Error::IncorrectFormat)?;
    Ok(module.to_bytes())
}

/// A value as both engines can report it: numbers by their bits, references by null-ness.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`'s bits.
    F32(u32),
    /// An `f64`'s bits.
    F64(u64),
    /// A `v128`.
    V128(u128),
    /// A `funcref` or `externref`: whether it is null.
    Ref {
        /// The reference is null.
        null: bool,
    },
}

/// How a step ended, in terms both engines share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// It returned these values (empty for instantiation).
    Ok(Vec<Value>),
    /// It trapped; the spec's message for the trap.
    Trap(&'static str),
    /// It failed without a trap (a link or resource error), with the message.
    Error(String),
}

/// Everything observable about running one module.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Instantiation, then each export called, by name.
    pub steps: Vec<(String, Step)>,
    /// The final value of every exported global.
    pub globals: Vec<(String, Value)>,
    /// The final size and bytes of every exported memory.
    pub memories: Vec<(String, Vec<u8>)>,
    /// The final size and null-ness of every entry of every exported table.
    pub tables: Vec<(String, Vec<bool>)>,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, step) in &self.steps {
            writeln!(f, "  {name}: {step:?}")?;
        }
        for (name, value) in &self.globals {
            writeln!(f, "  global {name} = {value:?}")?;
        }
        for (name, bytes) in &self.memories {
            let sum = bytes
                .iter()
                .fold(0u64, |h, &b| h.wrapping_mul(31).wrapping_add(b as u64));
            writeln!(f, "  memory {name}: {} bytes, hash {sum:#x}", bytes.len())?;
        }
        for (name, entries) in &self.tables {
            let null = entries.iter().filter(|&&n| n).count();
            writeln!(f, "  table {name}: {} entries, {null} null", entries.len())?;
        }
        Ok(())
    }
}

/// The argument values for a call: edge cases and random bits, from the seed.
fn arguments(rng: &mut Vec<u8>, params: &[ValKind]) -> Vec<Value> {
    let mut next = || -> u64 {
        if rng.len() < 8 {
            let seed = u64::from_le_bytes(rng[..].try_into().unwrap_or([7; 8]));
            *rng = seed_bytes(seed ^ 0xA5A5, 256);
        }
        let word: [u8; 8] = rng[rng.len() - 8..].try_into().expect("8 bytes");
        rng.truncate(rng.len() - 8);
        u64::from_le_bytes(word)
    };
    params
        .iter()
        .map(|kind| {
            let bits = next();
            let bits = match bits % 8 {
                0 => 0,
                1 => 1,
                2 => u64::MAX,
                3 => 0x8000_0000_0000_0000 | (bits >> 40),
                _ => bits,
            };
            match kind {
                ValKind::I32 => Value::I32(bits as i32),
                ValKind::I64 => Value::I64(bits as i64),
                ValKind::F32 => Value::F32(bits as u32),
                ValKind::F64 => Value::F64(bits),
                ValKind::V128 => Value::V128(((bits as u128) << 64) | next() as u128),
                ValKind::Ref => Value::Ref { null: true },
            }
        })
        .collect()
}

/// A value type, without the reference's kind (arguments of reference type are null).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ValKind {
    I32,
    I64,
    F32,
    F64,
    V128,
    Ref,
}

/// The message of a stack overflow: steps after one are not compared.
pub const STACK_OVERFLOW: &str = "call stack exhausted";

/// The wasmjit configuration for `seed`, rotating through the modes whose results must not
/// differ: the defaults (inlining small callees), explicit bounds checks, fuel and epoch
/// checks (with fuel and time to spare), and no Cranelift optimisation and no inlining.
pub fn wasmjit_config(seed: u64) -> wasmjit::Config {
    let mut config = wasmjit::Config::new();
    // The features `smith_config` generates: the defaults without threads, and the
    // proposals wasmjit has off by default.
    config
        .wasm_threads(false)
        .wasm_multi_memory(true)
        .wasm_extended_const(true);
    match seed % 4 {
        1 => {
            config.bounds_checks(wasmjit::BoundsChecks::Explicit);
        }
        2 => {
            config.consume_fuel(true).epoch_interruption(true);
        }
        3 => {
            config.opt_level(wasmjit::OptLevel::None).inlining(false);
        }
        _ => {}
    }
    config
}

/// The two wasmjit configurations modules wasmi cannot run are compared between: optimised
/// code with guard pages and inlining, and unoptimised code without inlining, with explicit
/// bounds checks, fuel and epoch checks (with fuel and time to spare).
pub fn self_configs() -> [wasmjit::Config; 2] {
    let optimised = wasmjit_config(0);
    let mut plain = wasmjit_config(0);
    plain
        .opt_level(wasmjit::OptLevel::None)
        .bounds_checks(wasmjit::BoundsChecks::Explicit)
        .inlining(false)
        .consume_fuel(true)
        .epoch_interruption(true);
    [optimised, plain]
}

/// Runs `wasm` in wasmjit, configured by [`wasmjit_config`].
pub fn run_wasmjit(wasm: &[u8], seed: u64) -> Outcome {
    run_wasmjit_with(wasm, seed, &wasmjit_config(seed))
}

/// Runs `wasm` in wasmjit configured by `config`, with arguments drawn from `seed`.
pub fn run_wasmjit_with(wasm: &[u8], seed: u64, config: &wasmjit::Config) -> Outcome {
    use wasmjit::{
        Engine, Extern, Instance, Module, Store, StoreLimits, StoreLimitsBuilder, Val, ValType,
    };

    let engine = Engine::new(config).expect("engine");
    let mut outcome = Outcome::default();
    let module = match Module::new(&engine, wasm) {
        Ok(module) => module,
        Err(e) => {
            outcome
                .steps
                .push(("compile".into(), Step::Error(e.to_string())));
            return outcome;
        }
    };
    // A cap keeps a module that keeps what it allocates small.
    let limits = StoreLimitsBuilder::new()
        .gc_heap_size(GC_HEAP_LIMIT)
        .build();
    let mut store = Store::new(&engine, limits);
    store.limiter(|limits: &mut StoreLimits| limits);
    // Only the fuel-and-epochs mode accepts fuel; the deadline is never reached.
    let _ = store.set_fuel(u64::MAX);
    store.set_epoch_deadline(u64::MAX);
    let instance = match Instance::new(&mut store, &module, &[]) {
        Ok(instance) => instance,
        Err(e) => {
            outcome
                .steps
                .push(("instantiate".into(), wasmjit_step(Err(e), &[])));
            return outcome;
        }
    };
    outcome.steps.push(("instantiate".into(), Step::Ok(vec![])));

    let kind = |ty: ValType| match ty {
        ValType::I32 => ValKind::I32,
        ValType::I64 => ValKind::I64,
        ValType::F32 => ValKind::F32,
        ValType::F64 => ValKind::F64,
        ValType::V128 => ValKind::V128,
        ValType::Ref(_) => ValKind::Ref,
    };
    let mut rng = seed_bytes(seed ^ 0x5EED, 256);
    let mut exports = instance.exports(&mut store);
    exports.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, export) in &exports {
        let Extern::Func(func) = export else { continue };
        let ty = func.ty(&store);
        let params: Vec<ValKind> = ty.params().map(kind).collect();
        let args: Vec<Val> = arguments(&mut rng, &params)
            .into_iter()
            .zip(ty.params())
            .map(|(v, t)| match v {
                Value::I32(x) => Val::I32(x),
                Value::I64(x) => Val::I64(x),
                Value::F32(x) => Val::F32(x),
                Value::F64(x) => Val::F64(x),
                Value::V128(x) => Val::V128(x),
                Value::Ref { .. } => Val::default_for(&t),
            })
            .collect();
        let mut results: Vec<Val> = ty.results().map(|t| Val::default_for(&t)).collect();
        let result = func.call(&mut store, &args, &mut results);
        let step = wasmjit_step(result, &results);
        let overflow = step == Step::Trap(STACK_OVERFLOW);
        outcome.steps.push((name.clone(), step));
        if overflow {
            return outcome;
        }
    }
    for (name, export) in &exports {
        match export {
            Extern::Global(global) => {
                let value = wasmjit_value(&global.get(&mut store));
                outcome.globals.push((name.clone(), value));
            }
            Extern::Memory(memory) => {
                let bytes = memory.data(&store).to_vec();
                outcome.memories.push((name.clone(), bytes));
            }
            Extern::Table(table) => {
                let size = table.size(&store);
                let entries = (0..size)
                    .map(|i| {
                        let entry = table.get(&mut store, i).expect("in bounds");
                        wasmjit_value(&entry) == Value::Ref { null: true }
                    })
                    .collect();
                outcome.tables.push((name.clone(), entries));
            }
            _ => {}
        }
    }
    outcome
}

fn wasmjit_value(value: &wasmjit::Val) -> Value {
    use wasmjit::Val;
    match *value {
        Val::I32(x) => Value::I32(x),
        Val::I64(x) => Value::I64(x),
        Val::F32(x) => Value::F32(x),
        Val::F64(x) => Value::F64(x),
        Val::V128(x) => Value::V128(x),
        Val::FuncRef(f) => Value::Ref { null: f.is_none() },
        Val::ExternRef(r) => Value::Ref { null: r.is_none() },
        Val::ExnRef(r) => Value::Ref { null: r.is_none() },
        Val::AnyRef(r) => Value::Ref { null: r.is_none() },
    }
}

fn wasmjit_step(result: wasmjit::Result<()>, results: &[wasmjit::Val]) -> Step {
    match result {
        Ok(()) => Step::Ok(results.iter().map(wasmjit_value).collect()),
        Err(e) => match e.trap() {
            Some(trap) => Step::Trap(trap.message()),
            None => Step::Error(e.to_string()),
        },
    }
}

/// Runs `wasm` in the wasmi interpreter.
pub fn run_wasmi(wasm: &[u8], seed: u64) -> Outcome {
    use wasmi::{Config, Engine, Extern, Instance, Module, Store, Val, ValType};

    let mut config = Config::default();
    config
        .wasm_multi_memory(true)
        .wasm_tail_call(true)
        .wasm_extended_const(true)
        .wasm_memory64(true)
        .wasm_relaxed_simd(false)
        .wasm_simd(true);
    let engine = Engine::new(&config);
    let mut outcome = Outcome::default();
    let module = match Module::new(&engine, wasm) {
        Ok(module) => module,
        Err(e) => {
            outcome
                .steps
                .push(("compile".into(), Step::Error(e.to_string())));
            return outcome;
        }
    };
    let mut store = Store::new(&engine, ());
    let instance = match Instance::new(&mut store, &module, &[]) {
        Ok(instance) => instance,
        Err(e) => {
            outcome
                .steps
                .push(("instantiate".into(), wasmi_step(Err(e), &[])));
            return outcome;
        }
    };
    outcome.steps.push(("instantiate".into(), Step::Ok(vec![])));

    let kind = |ty: &ValType| match ty {
        ValType::I32 => ValKind::I32,
        ValType::I64 => ValKind::I64,
        ValType::F32 => ValKind::F32,
        ValType::F64 => ValKind::F64,
        ValType::V128 => ValKind::V128,
        ValType::FuncRef | ValType::ExternRef => ValKind::Ref,
    };
    let mut rng = seed_bytes(seed ^ 0x5EED, 256);
    let mut exports: Vec<(String, Extern)> = instance
        .exports(&store)
        .map(|e| (e.name().to_string(), e.into_extern()))
        .collect();
    exports.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, export) in &exports {
        let Extern::Func(func) = export else { continue };
        let ty = func.ty(&store);
        let params: Vec<ValKind> = ty.params().iter().map(kind).collect();
        let args: Vec<Val> = arguments(&mut rng, &params)
            .into_iter()
            .zip(ty.params())
            .map(|(v, t)| match v {
                Value::I32(x) => Val::I32(x),
                Value::I64(x) => Val::I64(x),
                Value::F32(x) => Val::F32(wasmi::F32::from_bits(x)),
                Value::F64(x) => Val::F64(wasmi::F64::from_bits(x)),
                Value::V128(x) => Val::V128(x.into()),
                Value::Ref { .. } => Val::default_for_ty(*t),
            })
            .collect();
        let mut results: Vec<Val> = ty
            .results()
            .iter()
            .map(|t| Val::default_for_ty(*t))
            .collect();
        let result = func.call(&mut store, &args, &mut results);
        let step = wasmi_step(result, &results);
        let overflow = step == Step::Trap(STACK_OVERFLOW);
        outcome.steps.push((name.clone(), step));
        if overflow {
            return outcome;
        }
    }
    for (name, export) in &exports {
        match export {
            Extern::Global(global) => {
                let value = wasmi_value(&global.get(&store));
                outcome.globals.push((name.clone(), value));
            }
            Extern::Memory(memory) => {
                let bytes = memory.data(&store).to_vec();
                outcome.memories.push((name.clone(), bytes));
            }
            Extern::Table(table) => {
                let size = table.size(&store);
                let entries = (0..size)
                    .map(|i| table.get(&store, i).expect("in bounds").is_null())
                    .collect();
                outcome.tables.push((name.clone(), entries));
            }
            _ => {}
        }
    }
    outcome
}

fn wasmi_value(value: &wasmi::Val) -> Value {
    use wasmi::Val;
    match value {
        Val::I32(x) => Value::I32(*x),
        Val::I64(x) => Value::I64(*x),
        Val::F32(x) => Value::F32(x.to_bits()),
        Val::F64(x) => Value::F64(x.to_bits()),
        Val::V128(x) => Value::V128(x.as_u128()),
        Val::FuncRef(f) => Value::Ref { null: f.is_null() },
        Val::ExternRef(r) => Value::Ref { null: r.is_null() },
    }
}

fn wasmi_step(result: Result<(), wasmi::Error>, results: &[wasmi::Val]) -> Step {
    use wasmi::TrapCode;
    match result {
        Ok(()) => Step::Ok(results.iter().map(wasmi_value).collect()),
        Err(e) => match e.as_trap_code() {
            Some(code) => Step::Trap(match code {
                TrapCode::UnreachableCodeReached => "unreachable",
                TrapCode::MemoryOutOfBounds => "out of bounds memory access",
                TrapCode::TableOutOfBounds => "out of bounds table access",
                TrapCode::IndirectCallToNull => "uninitialized element",
                TrapCode::IntegerDivisionByZero => "integer divide by zero",
                TrapCode::IntegerOverflow => "integer overflow",
                TrapCode::BadConversionToInteger => "invalid conversion to integer",
                TrapCode::StackOverflow => STACK_OVERFLOW,
                TrapCode::BadSignature => "indirect call type mismatch",
                other => return Step::Error(format!("wasmi trap {other:?}")),
            }),
            None => {
                // wasmi reports segments out of bounds at instantiation as errors, not
                // traps; the spec's message starts them.
                let message = e.to_string();
                match TRAP_MESSAGES.iter().find(|m| message.starts_with(*m)) {
                    Some(trap) => Step::Trap(trap),
                    None => Step::Error(message),
                }
            }
        },
    }
}

/// The spec's trap messages that wasmi also uses for instantiation errors.
const TRAP_MESSAGES: [&str; 2] = ["out of bounds memory access", "out of bounds table access"];

/// Compares the two outcomes, ignoring everything after a stack overflow in either.
/// Returns a description of the first difference.
pub fn compare(ours: &Outcome, theirs: &Outcome) -> Result<(), String> {
    let overflowed = |o: &Outcome| {
        o.steps
            .iter()
            .position(|(_, s)| *s == Step::Trap(STACK_OVERFLOW))
    };
    if let Some(at) = overflowed(ours).or(overflowed(theirs)) {
        for (a, b) in ours.steps.iter().zip(&theirs.steps).take(at) {
            if a != b {
                return Err(format!("{}: wasmjit {:?}, wasmi {:?}", a.0, a.1, b.1));
            }
        }
        return Ok(());
    }
    for (a, b) in ours.steps.iter().zip(&theirs.steps) {
        let same = match (&a.1, &b.1) {
            // Both refused the module: the messages differ between engines.
            (Step::Error(_), Step::Error(_)) => true,
            (x, y) => x == y,
        };
        if a.0 != b.0 || !same {
            return Err(format!("{}: wasmjit {:?}, wasmi {:?}", a.0, a.1, b.1));
        }
    }
    if ours.steps.len() != theirs.steps.len() {
        return Err(format!(
            "wasmjit ran {} steps, wasmi {}",
            ours.steps.len(),
            theirs.steps.len()
        ));
    }
    if ours.globals != theirs.globals {
        return Err(format!(
            "globals: wasmjit {:?}, wasmi {:?}",
            ours.globals, theirs.globals
        ));
    }
    for (a, b) in ours.memories.iter().zip(&theirs.memories) {
        if a != b {
            let first = a.1.iter().zip(&b.1).position(|(x, y)| x != y);
            return Err(format!(
                "memory {}: wasmjit {} bytes, wasmi {} bytes, first difference at {first:?}",
                a.0,
                a.1.len(),
                b.1.len()
            ));
        }
    }
    if ours.tables != theirs.tables {
        return Err("tables differ".into());
    }
    Ok(())
}

/// Whether a difference is wasmi's known `select`/`i32.eqz` miscompilation (see
/// `tests/differential-oracle-bugs.txt`), and nothing else:
///
/// - the first step where the outcomes differ is one where wasmi traps with "integer divide
///   by zero" and wasmjit returns or traps otherwise (any other difference, such as a wrong
///   result, a difference only in globals, memories or tables, or an error, is not excused);
/// - the function that step runs (the exported function, or the start function for
///   instantiation), or a function it can call, holds wasm-smith's divisor guard that wasmi
///   gets wrong: `local.set t; T.const 1; local.get t; local.get t; T.eqz; select` (see
///   [`has_divisor_guard`]). Calls are followed through `call`; an indirect call may reach any
///   function whose reference the module takes (element segments, `ref.func`).
///
/// Both the fixed-seed run and the fuzz target skip the mismatches it accepts; the seeds listed
/// in `tests/differential-oracle-bugs.txt` check that it still recognises the bug.
pub fn looks_like_known_wasmi_bug(wasm: &[u8], ours: &Outcome, theirs: &Outcome) -> bool {
    let divide = Step::Trap("integer divide by zero");
    let Some((a, b)) = ours.steps.iter().zip(&theirs.steps).find(|(a, b)| a != b) else {
        return false;
    };
    let wasmjit_ran = matches!(a.1, Step::Ok(_) | Step::Trap(_)) && a.1 != divide;
    if a.0 != b.0 || b.1 != divide || !wasmjit_ran {
        return false;
    }
    let Ok(module) = ModuleCalls::parse(wasm) else {
        return false;
    };
    let root = if a.0 == "instantiate" {
        module.start
    } else {
        module
            .exports
            .iter()
            .find(|(name, _)| *name == a.0)
            .map(|e| e.1)
    };
    root.is_some_and(|root| module.reaches_divisor_guard(root))
}

/// Whether any function of `wasm` holds wasm-smith's divisor guard (see [`has_divisor_guard`]).
pub fn module_has_divisor_guard(wasm: &[u8]) -> bool {
    ModuleCalls::parse(wasm).is_ok_and(|module| module.funcs.iter().any(|f| f.guard))
}

/// What [`looks_like_known_wasmi_bug`] needs of a module: its functions' calls and guards.
#[derive(Default)]
struct ModuleCalls {
    /// Exported functions by name.
    exports: Vec<(String, u32)>,
    /// The start function.
    start: Option<u32>,
    /// Functions whose reference the module takes: what an indirect call may reach.
    referenced: Vec<u32>,
    /// Per function (imports first, with no body): direct callees, whether it calls
    /// indirectly, and whether it holds the divisor guard.
    funcs: Vec<FuncCalls>,
}

#[derive(Clone, Default)]
struct FuncCalls {
    callees: Vec<u32>,
    indirect: bool,
    guard: bool,
}

impl ModuleCalls {
    fn parse(wasm: &[u8]) -> wasmparser::Result<Self> {
        use wasmparser::{ElementItems, ExternalKind, Operator, Parser, Payload, TypeRef};

        let mut module = ModuleCalls::default();
        for payload in Parser::new(0).parse_all(wasm) {
            match payload? {
                Payload::ImportSection(imports) => {
                    for import in imports.into_imports() {
                        if let TypeRef::Func(_) = import?.ty {
                            module.funcs.push(FuncCalls::default());
                        }
                    }
                }
                Payload::ExportSection(exports) => {
                    for export in exports {
                        let export = export?;
                        if export.kind == ExternalKind::Func {
                            module.exports.push((export.name.to_string(), export.index));
                        }
                    }
                }
                Payload::StartSection { func, .. } => module.start = Some(func),
                Payload::GlobalSection(globals) => {
                    for global in globals {
                        for op in global?.init_expr.get_operators_reader() {
                            if let Operator::RefFunc { function_index } = op? {
                                module.referenced.push(function_index);
                            }
                        }
                    }
                }
                Payload::ElementSection(elements) => {
                    for element in elements {
                        match element?.items {
                            ElementItems::Functions(funcs) => {
                                for func in funcs {
                                    module.referenced.push(func?);
                                }
                            }
                            ElementItems::Expressions(_, exprs) => {
                                for expr in exprs {
                                    for op in expr?.get_operators_reader() {
                                        if let Operator::RefFunc { function_index } = op? {
                                            module.referenced.push(function_index);
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                Payload::CodeSectionEntry(body) => {
                    let mut func = FuncCalls::default();
                    let mut ops = Vec::new();
                    for op in body.get_operators_reader()? {
                        let op = op?;
                        match op {
                            Operator::Call { function_index }
                            | Operator::ReturnCall { function_index } => {
                                func.callees.push(function_index)
                            }
                            Operator::CallIndirect { .. }
                            | Operator::ReturnCallIndirect { .. }
                            | Operator::CallRef { .. }
                            | Operator::ReturnCallRef { .. } => func.indirect = true,
                            Operator::RefFunc { function_index } => {
                                module.referenced.push(function_index)
                            }
                            _ => {}
                        }
                        ops.push(op);
                    }
                    func.guard = has_divisor_guard(&ops);
                    module.funcs.push(func);
                }
                _ => {}
            }
        }
        Ok(module)
    }

    /// Whether function `root` or one it can call holds the divisor guard.
    fn reaches_divisor_guard(&self, root: u32) -> bool {
        let mut seen = vec![false; self.funcs.len()];
        let mut todo = vec![root];
        while let Some(index) = todo.pop() {
            let Some(func) = self.funcs.get(index as usize) else {
                continue;
            };
            if std::mem::replace(&mut seen[index as usize], true) {
                continue;
            }
            if func.guard {
                return true;
            }
            todo.extend(&func.callees);
            if func.indirect {
                todo.extend(&self.referenced);
            }
        }
        false
    }
}

/// Whether `ops` hold the guard wasm-smith writes before an integer `div`/`rem` when traps
/// are disallowed, `select(T.const 1, x, T.eqz x)` with `x` in a local `t`:
/// `local.set t; T.const 1; local.get t; local.get t; T.eqz; select`, for `T` `i32` or `i64`.
/// wasmi 2.0.0 fuses the `eqz` into the `select` and picks the wrong operand.
pub fn has_divisor_guard(ops: &[wasmparser::Operator<'_>]) -> bool {
    use wasmparser::Operator::{I32Const, I32Eqz, I64Const, I64Eqz, LocalGet, LocalSet, Select};
    ops.windows(6).any(|w| match w {
        [LocalSet { local_index: t }, one, LocalGet { local_index: a }, LocalGet { local_index: b }, eqz, Select] => {
            a == t
                && b == t
                && matches!(
                    (one, eqz),
                    (I32Const { value: 1 }, I32Eqz) | (I64Const { value: 1 }, I64Eqz)
                )
        }
        _ => false,
    })
}
