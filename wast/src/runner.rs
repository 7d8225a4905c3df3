//! Runs one `.wast` script of the spec suite against wasmjit, directive by directive.

use std::collections::HashMap;
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use wasmjit::{
    AnyRef, Config, Engine, Error, Extern, ExternRef, Instance, Linker, Module, SharedMemory,
    Store, Trap, Val,
};
use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::token::{Id, Span};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

use crate::spectest;

/// The result of one directive: its line in the script and why it failed, if it did.
#[derive(Debug)]
pub struct DirectiveResult {
    /// 1-based line of the directive.
    pub line: usize,
    /// `None` if it passed.
    pub failure: Option<String>,
}

/// How the runner turns a script's modules into [`Module`]s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loading {
    /// Compile each module.
    Compile,
    /// Compile each module, write it out with [`Module::serialize`] and use what
    /// [`Module::deserialize`] reads back: the whole suite then checks that a precompiled
    /// module keeps everything its code and its instances need.
    RoundTrip,
}

/// Runs the script `text` with engines of `config` (which sets, among others, the features
/// modules are validated under), loading modules as `loading` says. A script that does not
/// parse is one failing directive at line 0. `(thread ...)` blocks run on threads of their
/// own, each with its own store, sharing the shared memories they name.
pub fn run_wast(text: &str, config: &Config, loading: Loading) -> Vec<DirectiveResult> {
    run_script(
        &Arc::from(text),
        config.clone(),
        loading,
        None,
        HashMap::new(),
    )
}

/// Shared memories a thread receives from its parent: by instance name, the exports.
type SharedInstances = HashMap<String, Vec<(String, SharedMemory)>>;

/// Runs the whole script, or with `thread` the directives of the `(thread ...)` whose
/// keyword is at that byte offset.
fn run_script(
    text: &Arc<str>,
    config: Config,
    loading: Loading,
    thread: Option<usize>,
    shared: SharedInstances,
) -> Vec<DirectiveResult> {
    let mut lexer = Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buffer = match ParseBuffer::new_with_lexer(lexer) {
        Ok(b) => b,
        Err(e) => return vec![parse_failure(e)],
    };
    let wast: Wast<'_> = match parser::parse(&buffer) {
        Ok(w) => w,
        Err(e) => return vec![parse_failure(e)],
    };
    let directives = match thread {
        None => wast.directives,
        Some(offset) => find_thread(wast.directives, offset).unwrap_or_default(),
    };
    let mut runner = match Runner::new(config, loading, text.clone(), shared) {
        Ok(r) => r,
        Err(e) => {
            return vec![DirectiveResult {
                line: 0,
                failure: Some(format!("cannot set up the engine: {e}")),
            }]
        }
    };
    let mut results = Vec::new();
    for directive in directives {
        let line = line_of(text, directive.span());
        let failure = runner.run(directive).err();
        results.push(DirectiveResult { line, failure });
        results.append(&mut runner.finished);
    }
    for (_, handle) in runner.threads.drain() {
        match handle.join() {
            Ok(more) => results.extend(more),
            Err(_) => results.push(DirectiveResult {
                line: 0,
                failure: Some("a script thread panicked".into()),
            }),
        }
    }
    results
}

/// The directives of the `(thread ...)` at byte `offset`, searching nested threads too.
fn find_thread(
    directives: Vec<WastDirective<'_>>,
    offset: usize,
) -> Option<Vec<WastDirective<'_>>> {
    for directive in directives {
        if let WastDirective::Thread(thread) = directive {
            if thread.span.offset() == offset {
                return Some(thread.directives);
            }
            if let Some(found) = find_thread(thread.directives, offset) {
                return Some(found);
            }
        }
    }
    None
}

fn parse_failure(e: wast::Error) -> DirectiveResult {
    DirectiveResult {
        line: 0,
        failure: Some(format!("script does not parse: {e}")),
    }
}

fn line_of(text: &str, span: Span) -> usize {
    span.linecol_in(text).0 + 1
}

/// The state of one script: its store, registered modules and named instances.
struct Runner {
    engine: Engine,
    config: Config,
    loading: Loading,
    text: Arc<str>,
    store: Store<()>,
    linker: Linker<()>,
    instances: HashMap<String, Instance>,
    definitions: HashMap<String, Module>,
    current: Option<Instance>,
    /// Instances of the parent script this thread shares (their shared memories).
    shared: SharedInstances,
    /// Script threads started and not yet waited for.
    threads: HashMap<String, JoinHandle<Vec<DirectiveResult>>>,
    /// Results of threads waited for, to report after the current directive.
    finished: Vec<DirectiveResult>,
}

type Outcome = Result<(), String>;

impl Runner {
    fn new(
        config: Config,
        loading: Loading,
        text: Arc<str>,
        shared: SharedInstances,
    ) -> wasmjit::Result<Self> {
        let engine = Engine::new(&config)?;
        let mut store = Store::new(&engine, ());
        // With fuel metering on, all the fuel there is: scripts run to their end (an error
        // means metering is off).
        let _ = store.set_fuel(u64::MAX);
        let mut linker = Linker::new(&engine);
        // A script may `register` a name again, replacing the earlier module's exports.
        linker.allow_shadowing(true);
        spectest::define(&mut linker, &mut store)?;
        Ok(Runner {
            engine,
            config,
            loading,
            text,
            store,
            linker,
            instances: HashMap::new(),
            definitions: HashMap::new(),
            current: None,
            shared,
            threads: HashMap::new(),
            finished: Vec::new(),
        })
    }

    fn run(&mut self, directive: WastDirective<'_>) -> Outcome {
        match directive {
            WastDirective::Module(mut module) => {
                let name = module.name().map(|id| id.name().to_string());
                self.current = None;
                let module = self.compile(&mut module)?;
                let instance = self.instantiate(&module).map_err(|e| e.to_string())?;
                self.current = Some(instance);
                if let Some(name) = name {
                    self.instances.insert(name, instance);
                }
                Ok(())
            }
            WastDirective::ModuleDefinition(mut module) => {
                let name = module.name().map(|id| id.name().to_string());
                let compiled = self.compile(&mut module)?;
                if let Some(name) = name {
                    self.definitions.insert(name, compiled);
                }
                Ok(())
            }
            WastDirective::ModuleInstance {
                instance, module, ..
            } => {
                let definition = module
                    .and_then(|m| self.definitions.get(m.name()))
                    .cloned()
                    .ok_or("unknown module definition")?;
                let created = self.instantiate(&definition).map_err(|e| e.to_string())?;
                self.current = Some(created);
                if let Some(name) = instance {
                    self.instances.insert(name.name().to_string(), created);
                }
                Ok(())
            }
            WastDirective::Register {
                name,
                module: Some(id),
                ..
            } if self.shared.contains_key(id.name()) => {
                for (field, memory) in self.shared[id.name()].clone() {
                    self.linker
                        .define(&mut self.store, name, &field, memory)
                        .map_err(|e| e.to_string())?;
                }
                Ok(())
            }
            WastDirective::Register { name, module, .. } => {
                let instance = self.instance(module)?;
                self.linker
                    .instance(&mut self.store, name, instance)
                    .map_err(|e| e.to_string())?;
                Ok(())
            }
            WastDirective::Invoke(invoke) => {
                self.invoke(&invoke).map(|_| ()).map_err(|e| e.to_string())
            }
            WastDirective::AssertReturn { exec, results, .. } => {
                let actual = self
                    .execute(exec)
                    .map_err(|e| format!("unexpected error: {e}"))?;
                self.check_results(&actual, &results)
            }
            WastDirective::AssertTrap { exec, message, .. } => match self.execute(exec) {
                Ok(values) => Err(format!("expected trap `{message}`, got {values:?}")),
                Err(e) => check_trap(&e, message),
            },
            WastDirective::AssertException { exec, .. } => match self.execute(exec) {
                Ok(values) => Err(format!("expected an exception, got {values:?}")),
                Err(Error::Exception(_)) => Ok(()),
                Err(e) => Err(format!("expected an exception, got: {e}")),
            },
            WastDirective::AssertExhaustion { call, message, .. } => match self.invoke(&call) {
                Ok(values) => Err(format!("expected `{message}`, got {values:?}")),
                Err(e) => check_trap(&e, message),
            },
            WastDirective::AssertInvalid {
                module, message, ..
            } => self.expect_compile_error(module, message),
            WastDirective::AssertMalformed {
                module, message, ..
            } => self.expect_compile_error(module, message),
            WastDirective::AssertUnlinkable {
                mut module,
                message,
                ..
            } => {
                let bytes = module.encode().map_err(|e| format!("cannot encode: {e}"))?;
                let module = self
                    .load(bytes)
                    .map_err(|e| format!("expected link error `{message}`, compile failed: {e}"))?;
                match self.instantiate(&module) {
                    Ok(_) => Err(format!(
                        "expected link error `{message}`, instantiation succeeded"
                    )),
                    Err(Error::Link(e))
                        if e.contains("unknown import")
                            || e.contains("incompatible import type") =>
                    {
                        Ok(())
                    }
                    Err(e) => Err(format!("expected link error `{message}`, got: {e}")),
                }
            }
            WastDirective::Thread(thread) => {
                let mut shared = HashMap::new();
                if let Some(id) = thread.shared_module {
                    shared.insert(id.name().to_string(), self.shared_exports(id.name())?);
                }
                let (text, config, loading) =
                    (self.text.clone(), self.config.clone(), self.loading);
                let offset = thread.span.offset();
                let handle = thread::Builder::new()
                    .stack_size(16 << 20)
                    .spawn(move || run_script(&text, config, loading, Some(offset), shared))
                    .map_err(|e| format!("cannot start a script thread: {e}"))?;
                self.threads.insert(thread.name.name().to_string(), handle);
                Ok(())
            }
            WastDirective::Wait { thread, .. } => {
                let handle = self
                    .threads
                    .remove(thread.name())
                    .ok_or_else(|| format!("no thread ${}", thread.name()))?;
                let results = handle.join().map_err(|_| "the script thread panicked")?;
                self.finished.extend(results);
                Ok(())
            }
            other => Err(format!("unsupported directive {}", directive_name(&other))),
        }
    }

    /// The shared memories exported by instance `name`, to hand to a script thread.
    fn shared_exports(&mut self, name: &str) -> Result<Vec<(String, SharedMemory)>, String> {
        if let Some(exports) = self.shared.get(name) {
            return Ok(exports.clone());
        }
        let instance = *self
            .instances
            .get(name)
            .ok_or_else(|| format!("unknown instance ${name}"))?;
        let exports = instance.exports(&mut self.store);
        Ok(exports
            .into_iter()
            .filter_map(|(field, item)| match item {
                Extern::Memory(m) => m.shared(&self.store).map(|s| (field, s)),
                Extern::SharedMemory(s) => Some((field, s)),
                _ => None,
            })
            .collect())
    }

    fn compile(&self, module: &mut QuoteWat<'_>) -> Result<Module, String> {
        let bytes = module
            .encode()
            .map_err(|e| format!("cannot encode module: {e}"))?;
        self.load(bytes).map_err(|e| format!("compile error: {e}"))
    }

    /// A module from its binary, compiled, or round-tripped through its precompiled form.
    fn load(&self, bytes: Vec<u8>) -> wasmjit::Result<Module> {
        let module = Module::new(&self.engine, bytes)?;
        match self.loading {
            Loading::Compile => Ok(module),
            Loading::RoundTrip => {
                let artifact = module.serialize()?;
                // SAFETY: the artifact was written by `serialize` just above.
                unsafe { Module::deserialize(&self.engine, artifact) }
            }
        }
    }

    fn instantiate(&mut self, module: &Module) -> wasmjit::Result<Instance> {
        self.linker.instantiate(&mut self.store, module)
    }

    fn instance(&self, name: Option<Id<'_>>) -> Result<Instance, String> {
        match name {
            Some(id) => self
                .instances
                .get(id.name())
                .copied()
                .ok_or_else(|| format!("unknown instance ${}", id.name())),
            None => self
                .current
                .ok_or_else(|| "no module instantiated yet".into()),
        }
    }

    fn expect_compile_error(&self, mut module: QuoteWat<'_>, message: &str) -> Outcome {
        let Ok(bytes) = module.encode() else {
            // The text itself is rejected: as good as a module error.
            return Ok(());
        };
        match self.load(bytes) {
            Ok(_) => Err(format!(
                "expected compile error `{message}`, module compiled"
            )),
            Err(Error::Compile(e)) if e.to_string().starts_with("unsupported") => {
                Err(format!("expected `{message}`, got {e}"))
            }
            Err(_) => Ok(()),
        }
    }

    /// Runs an action: an invocation, a module instantiation or a global read.
    fn execute(&mut self, exec: WastExecute<'_>) -> wasmjit::Result<Vec<Val>> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Wat(mut wat) => {
                let bytes = match &mut wat {
                    Wat::Module(_) => wat.encode(),
                    Wat::Component(_) => return Err(Error::msg("components are not supported")),
                }
                .map_err(|e| Error::msg(e.to_string()))?;
                let module = self.load(bytes)?;
                self.instantiate(&module).map(|_| Vec::new())
            }
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(module).map_err(Error::msg)?;
                let global = instance
                    .get_global(&mut self.store, global)
                    .ok_or_else(|| Error::msg(format!("no global `{global}`")))?;
                Ok(vec![global.get(&mut self.store)])
            }
        }
    }

    fn invoke(&mut self, invoke: &WastInvoke<'_>) -> wasmjit::Result<Vec<Val>> {
        let instance = self.instance(invoke.module).map_err(Error::msg)?;
        let func = instance
            .get_func(&mut self.store, invoke.name)
            .ok_or_else(|| Error::msg(format!("no function `{}`", invoke.name)))?;
        let args = invoke
            .args
            .iter()
            .map(|arg| self.argument(arg))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::msg)?;
        let ty = func.ty(&self.store);
        let mut results: Vec<Val> = ty.results().map(|t| Val::default_for(&t)).collect();
        func.call(&mut self.store, &args, &mut results)?;
        Ok(results)
    }

    /// The value a script argument stands for; `ref.extern N` is a host reference to `N`.
    fn argument(&mut self, arg: &WastArg<'_>) -> Result<Val, String> {
        let WastArg::Core(core) = arg else {
            return Err("component values are not supported".into());
        };
        Ok(match core {
            WastArgCore::I32(v) => Val::I32(*v),
            WastArgCore::I64(v) => Val::I64(*v),
            WastArgCore::F32(v) => Val::F32(v.bits),
            WastArgCore::F64(v) => Val::F64(v.bits),
            WastArgCore::V128(v) => Val::V128(u128::from_le_bytes(v.to_le_bytes())),
            WastArgCore::RefNull(HeapType::Abstract {
                ty: AbstractHeapType::Extern | AbstractHeapType::NoExtern,
                ..
            }) => Val::ExternRef(None),
            WastArgCore::RefNull(HeapType::Abstract {
                ty: AbstractHeapType::Exn | AbstractHeapType::NoExn,
                ..
            }) => Val::ExnRef(None),
            WastArgCore::RefNull(HeapType::Abstract {
                ty:
                    AbstractHeapType::Any
                    | AbstractHeapType::Eq
                    | AbstractHeapType::I31
                    | AbstractHeapType::Struct
                    | AbstractHeapType::Array
                    | AbstractHeapType::None,
                ..
            }) => Val::AnyRef(None),
            WastArgCore::RefNull(_) => Val::FuncRef(None),
            WastArgCore::RefExtern(n) => Val::ExternRef(Some(ExternRef::new(&mut self.store, *n))),
            WastArgCore::RefHost(n) => {
                let host = ExternRef::new(&mut self.store, *n);
                Val::AnyRef(Some(AnyRef::from_extern(&self.store, &host)))
            }
        })
    }

    fn check_results(&self, actual: &[Val], expected: &[WastRet<'_>]) -> Outcome {
        if actual.len() != expected.len() {
            return Err(format!(
                "expected {} results, got {}: {actual:?}",
                expected.len(),
                actual.len()
            ));
        }
        for (i, (value, want)) in actual.iter().zip(expected).enumerate() {
            let WastRet::Core(want) = want else {
                return Err("component results are not supported".into());
            };
            if !self.matches_ret(value, want) {
                return Err(format!("result {i}: expected {want:?}, got {value:?}"));
            }
        }
        Ok(())
    }

    fn matches_ret(&self, value: &Val, want: &WastRetCore<'_>) -> bool {
        match (want, value) {
            (WastRetCore::I32(w), Val::I32(v)) => w == v,
            (WastRetCore::I64(w), Val::I64(v)) => w == v,
            (WastRetCore::F32(p), Val::F32(v)) => matches_f32(p, *v),
            (WastRetCore::F64(p), Val::F64(v)) => matches_f64(p, *v),
            (WastRetCore::V128(p), Val::V128(v)) => matches_v128(p, *v),
            (WastRetCore::RefNull(_), Val::FuncRef(f)) => f.is_none(),
            (WastRetCore::RefNull(_), Val::ExternRef(r)) => r.is_none(),
            (WastRetCore::RefNull(_), Val::ExnRef(r)) => r.is_none(),
            (WastRetCore::RefNull(_), Val::AnyRef(r)) => r.is_none(),
            (WastRetCore::RefAny, Val::AnyRef(r)) => r.is_some(),
            (WastRetCore::RefEq, Val::AnyRef(Some(r))) => {
                r.as_i31().is_some()
                    || r.is_struct(&self.store).unwrap_or(false)
                    || r.is_array(&self.store).unwrap_or(false)
            }
            (WastRetCore::RefI31, Val::AnyRef(Some(r))) => r.as_i31().is_some(),
            (WastRetCore::RefStruct, Val::AnyRef(Some(r))) => {
                r.is_struct(&self.store).unwrap_or(false)
            }
            (WastRetCore::RefArray, Val::AnyRef(Some(r))) => {
                r.is_array(&self.store).unwrap_or(false)
            }
            (WastRetCore::RefHost(n), Val::AnyRef(Some(r))) => r
                .as_extern(&self.store)
                .is_some_and(|e| e.data(&self.store).downcast_ref::<u32>() == Some(n)),
            (WastRetCore::RefFunc(_), Val::FuncRef(f)) => f.is_some(),
            (WastRetCore::RefExtern(None), Val::ExternRef(r)) => r.is_some(),
            (WastRetCore::RefExtern(Some(n)), Val::ExternRef(Some(r))) => {
                r.data(&self.store).downcast_ref::<u32>() == Some(n)
            }
            (WastRetCore::Either(options), v) => options.iter().any(|o| self.matches_ret(v, o)),
            _ => false,
        }
    }
}

fn directive_name(d: &WastDirective<'_>) -> &'static str {
    match d {
        WastDirective::AssertException { .. } => "assert_exception",
        WastDirective::AssertSuspension { .. } => "assert_suspension",
        WastDirective::Thread(_) => "thread",
        WastDirective::Wait { .. } => "wait",
        WastDirective::AssertInvalidCustom { .. } => "assert_invalid_custom",
        WastDirective::AssertMalformedCustom { .. } => "assert_malformed_custom",
        _ => "(other)",
    }
}

/// Whether a trap error matches the script's expected message. Messages are matched as
/// prefixes, with the aliases other runtimes accept for the same trap.
fn check_trap(error: &Error, expected: &str) -> Outcome {
    let Some(trap) = error.trap() else {
        return Err(format!("expected trap `{expected}`, got error: {error}"));
    };
    let ours = trap.message();
    let alias = match trap {
        Trap::TableOutOfBounds => "undefined element",
        Trap::IndirectCallToNull => "uninitialized",
        _ => ours,
    };
    // The reference interpreter names the kind of a null reference: `null function
    // reference` (`call_ref`), `null structure reference`, `null array reference`, `null
    // i31 reference`.
    let named_null = trap == Trap::NullReference
        && expected.starts_with("null ")
        && expected.ends_with(" reference");
    let prefix = |a: &str, b: &str| a.starts_with(b) || b.starts_with(a);
    if prefix(expected, ours) || prefix(expected, alias) || named_null {
        Ok(())
    } else {
        Err(format!("expected trap `{expected}`, got `{ours}`"))
    }
}

fn matches_f32(pattern: &NanPattern<wast::token::F32>, bits: u32) -> bool {
    match pattern {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff == 0x7fc0_0000,
        NanPattern::ArithmeticNan => bits & 0x7fc0_0000 == 0x7fc0_0000,
        NanPattern::Value(v) => v.bits == bits,
    }
}

fn matches_f64(pattern: &NanPattern<wast::token::F64>, bits: u64) -> bool {
    match pattern {
        NanPattern::CanonicalNan => bits & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
        NanPattern::ArithmeticNan => bits & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
        NanPattern::Value(v) => v.bits == bits,
    }
}

fn matches_v128(pattern: &V128Pattern, value: u128) -> bool {
    let bytes = value.to_le_bytes();
    let lane = |i: usize, size: usize| -> u64 {
        let mut b = [0u8; 8];
        b[..size].copy_from_slice(&bytes[i * size..(i + 1) * size]);
        u64::from_le_bytes(b)
    };
    match pattern {
        V128Pattern::I8x16(l) => l
            .iter()
            .enumerate()
            .all(|(i, v)| lane(i, 1) == u64::from(*v as u8)),
        V128Pattern::I16x8(l) => l
            .iter()
            .enumerate()
            .all(|(i, v)| lane(i, 2) == u64::from(*v as u16)),
        V128Pattern::I32x4(l) => l
            .iter()
            .enumerate()
            .all(|(i, v)| lane(i, 4) == u64::from(*v as u32)),
        V128Pattern::I64x2(l) => l.iter().enumerate().all(|(i, v)| lane(i, 8) == *v as u64),
        V128Pattern::F32x4(l) => l
            .iter()
            .enumerate()
            .all(|(i, p)| matches_f32(p, lane(i, 4) as u32)),
        V128Pattern::F64x2(l) => l
            .iter()
            .enumerate()
            .all(|(i, p)| matches_f64(p, lane(i, 8))),
    }
}
