//! Compiling a whole module: every function body and the trampolines, in parallel.

use std::cmp::Reverse;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;

use cranelift_codegen::binemit::Reloc as ClifReloc;
use cranelift_codegen::control::ControlPlane;
use cranelift_codegen::ir::{
    types, ExternalName, Function, Inst, LibCall, UserExternalName, UserFuncName,
};
use cranelift_codegen::isa::TargetIsa;
use cranelift_codegen::{Context, FinalizedMachExceptionHandler, FinalizedRelocTarget};
use serde::{Deserialize, Serialize};
use wasmparser::{BinaryReader, FunctionBody};

use crate::abi::wasm_signature;
use crate::config::CodegenConfig;
use crate::error::CompileError;
use crate::inline::Inliner;
use crate::link::{link, CodeLayout};
use crate::memory_layout::MemoryAssumptions;
use crate::merge_blocks::merge_blocks;
use crate::module::{FuncType, ModuleInfo, SubType};
use crate::target::Target;
use crate::trampolines;
use crate::translate::{
    drop_inlined_return_fuel_writes, translate_function, FuncEnv, TranslateContext, Translation,
};
use crate::trap::TrapKind;
use crate::vmoffsets::VMOffsets;

/// How a relocation patches the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RelocKind {
    /// x86-64 `call rel32`: 32-bit PC-relative, `target + addend - place`.
    X86CallPCRel4,
    /// aarch64 `bl`: 26-bit word offset, `(target + addend - place) >> 2`.
    Arm64Call,
    /// A 64-bit absolute address, `target + addend`.
    Abs8,
}

/// What a relocation points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RelocTarget {
    /// The start of a function defined by the module, by function index.
    Function(u32),
    /// A math routine the target lacks an instruction for.
    LibCall(MathCall),
}

/// One place in a function's code that must be patched with an address when it is linked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reloc {
    /// Byte offset of the patched field from the start of the function.
    pub offset: u32,
    /// How to patch it.
    pub kind: RelocKind,
    /// The address to patch in.
    pub target: RelocTarget,
    /// Added to the target's address.
    pub addend: i64,
}

/// Machine code for one function, not yet linked.
#[derive(Clone, Debug, Default)]
pub(crate) struct CompiledFunction {
    /// The code bytes (and the function's constant pool).
    pub body: Vec<u8>,
    /// Places to patch before the code can run.
    pub relocs: Vec<Reloc>,
    /// Every instruction that may trap, by offset from the function's start.
    pub traps: Vec<(u32, TrapKind)>,
    /// Every call site with an exception handler (inside a `try_table`), sorted by return
    /// address.
    pub handlers: Vec<CallSiteHandler>,
    /// The GC references the function's frame holds at each call, sorted by return address.
    pub stack_maps: Vec<StackMap>,
    /// Required alignment of the function's start, in bytes.
    pub alignment: u32,
    /// Cranelift's listing of the machine instructions, when
    /// [`CodegenConfig::emit_disassembly`] is set.
    pub disassembly: Option<String>,
}

/// A call site whose callee may throw to a handler in the calling function: the unwinder
/// resumes at `handler` with the stack pointer `frame_offset` bytes below the frame pointer
/// and the exception in the first payload register (see [`crate::translate`]'s exceptions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallSiteHandler {
    /// Offset of the call's return address from the function's start.
    pub return_offset: u32,
    /// Offset of the handler from the function's start.
    pub handler_offset: u32,
    /// Distance from the frame pointer down to the stack pointer at the call.
    pub frame_offset: u32,
}

/// Where a compiled frame holds references to GC objects while a call is in progress: the
/// collector reads them through the frame pointer (see `declare_value_needs_stack_map` in
/// [`crate::translate`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackMap {
    /// Offset of the call's return address (from the function's start while compiled, in
    /// the image once linked).
    pub return_offset: u32,
    /// Each 8-byte slot holding a reference, as its distance below the frame pointer.
    pub slots: Vec<u32>,
}

/// A module compiled for one target: its metadata and all of its code.
#[derive(Debug, Serialize, Deserialize)]
pub struct CompiledModule {
    /// What the module declares.
    pub info: ModuleInfo,
    /// The vmctx layout the code expects.
    pub offsets: VMOffsets,
    /// For each memory, imported ones first, what the code assumes of its layout: the
    /// runtime refuses to instantiate with a memory that does not satisfy it.
    pub memory_assumptions: Vec<MemoryAssumptions>,
    /// The target the code is for.
    pub target: Target,
    /// Where the functions and trampolines are in the code image, its trap sites and its
    /// load-time relocations. For each type, the image holds a host-to-wasm trampoline,
    /// `extern "C" fn(callee_vmctx, caller_vmctx, func_ptr, values: *mut [u8; 16])`, which
    /// reads the arguments from `values`, calls `func_ptr` and writes the results back to it,
    /// and a wasm-to-host trampoline, a function of the wasm signature of that type whose
    /// callee vmctx is a host-function context: it stores the arguments in a value array and
    /// calls the context's callback (see [`crate::trampolines`]).
    pub code: CodeLayout,
    /// The code image's bytes, `code.len` of them, before load-time relocation. Empty once
    /// the runtime has taken them (precompiled modules store them outside the metadata).
    #[serde(skip)]
    pub image: Vec<u8>,
    /// Cranelift's listing of each defined function's instructions, when
    /// [`CodegenConfig::emit_disassembly`] is set; not kept in precompiled modules.
    #[serde(skip)]
    pub disassembly: Vec<Option<String>>,
}

/// Validates, translates and compiles the module in `bytes` for `target`.
pub fn compile_module(
    bytes: &[u8],
    target: &Target,
    config: &CodegenConfig,
) -> Result<CompiledModule, CompileError> {
    let info = ModuleInfo::parse(bytes, config.features)?;
    let isa = target.isa(config)?;
    let offsets = VMOffsets::new(&info);
    let memory_assumptions: Vec<_> = info
        .memories
        .iter()
        .map(|ty| MemoryAssumptions::new(config, ty))
        .collect();
    let escaping = info.escaping_functions();
    let env = FuncEnv {
        isa: &*isa,
        module: &info,
        offsets: &offsets,
        memories: &memory_assumptions,
        config,
        escaping: &escaping,
    };
    let (functions, array_to_wasm) = compile_parallel(&env, bytes)?;
    // Host functions bring their own wasm-to-array trampolines (`compile_host_trampolines`).
    let linked = link(
        info.num_imported_funcs,
        functions,
        array_to_wasm,
        Vec::new(),
    )?;
    Ok(CompiledModule {
        info,
        offsets,
        memory_assumptions,
        target: target.clone(),
        code: linked.layout,
        image: linked.image,
        disassembly: linked.disassembly,
    })
}

/// Compiles just the two trampolines of `ty`, as a module with that one type and no
/// functions. Host functions of that type are called, and call out, through them.
pub fn compile_host_trampolines(
    ty: &FuncType,
    target: &Target,
    config: &CodegenConfig,
) -> Result<CompiledModule, CompileError> {
    let info = ModuleInfo {
        types: vec![SubType::func(ty.clone())],
        rec_groups: vec![Range { start: 0, end: 1 }],
        ..ModuleInfo::default()
    };
    let isa = target.isa(config)?;
    let mut ctx = Context::new();
    let array_to_wasm = compile_trampoline(&mut ctx, &*isa, &info, config, 0, true)?;
    let wasm_to_array = compile_trampoline(&mut ctx, &*isa, &info, config, 0, false)?;
    let linked = link(
        0,
        Vec::new(),
        vec![Some(array_to_wasm)],
        vec![wasm_to_array],
    )?;
    Ok(CompiledModule {
        offsets: VMOffsets::new(&info),
        memory_assumptions: Vec::new(),
        info,
        target: target.clone(),
        code: linked.layout,
        image: linked.image,
        disassembly: linked.disassembly,
    })
}

/// The array-to-wasm trampoline (with `array_to_wasm`) or the wasm-to-array one of
/// function type `type_index` of `info`.
fn compile_trampoline(
    ctx: &mut Context,
    isa: &dyn TargetIsa,
    info: &ModuleInfo,
    config: &CodegenConfig,
    type_index: usize,
    array_to_wasm: bool,
) -> Result<CompiledFunction, CompileError> {
    let ty = info.types[type_index].as_func().ok_or_else(|| {
        CompileError::Codegen(format!(
            "a trampoline for type {type_index}, not a function type"
        ))
    })?;
    ctx.clear();
    ctx.func = if array_to_wasm {
        trampolines::array_to_wasm(isa, ty, config.consume_fuel)
    } else {
        trampolines::wasm_to_array(isa, ty, config.consume_fuel)
    };
    emit(ctx, isa, config.emit_disassembly)
}

/// A module's defined functions, and its array-to-wasm trampolines by type index.
type Compiled = (Vec<CompiledFunction>, Vec<Option<CompiledFunction>>);

/// Compiles the defined functions, and the array-to-wasm trampolines of the types the host
/// may call ([`ModuleInfo::host_callable_types`]; by type index, `None` for the others), on
/// every available core, keeping index order.
///
/// The workers run on rayon's global pool, whose threads outlive a compilation (as
/// wasmtime's do): no thread is started per module, and each keeps its allocator's warm
/// memory. They take jobs one at a time from a shared queue: functions largest body
/// first, so that no core is left compiling a big function alone at the end while the
/// others idle (a fixed split of the functions into one run per core leaves one core with
/// most of the work whenever the big functions sit together), then the trampolines, small
/// jobs that fill the cores' last gaps. Job `i` is defined function `i` below the number
/// of defined functions, and above it the trampoline of the `i - count`th host-callable
/// type. With one core available to the calling thread (its CPU affinity), it compiles
/// everything itself.
fn compile_parallel(env: &FuncEnv<'_>, bytes: &[u8]) -> Result<Compiled, CompileError> {
    let count = env.module.bodies.len();
    let entry_types = env.module.host_callable_types();
    let jobs = count + entry_types.len();
    let threads = thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(rayon::current_num_threads())
        .min(jobs.div_ceil(8))
        .max(1);
    let mut queue: Vec<usize> = (0..jobs).collect();
    queue[..count].sort_by_key(|&i| Reverse(env.module.bodies[i].len()));
    let next = AtomicUsize::new(0);
    // The lowest job that failed: the module's error is the first invalid function's (as if
    // the bodies were validated in order), so after an error the workers skip only the
    // jobs above it.
    let failed = AtomicUsize::new(usize::MAX);
    let take = || loop {
        let job = *queue.get(next.fetch_add(1, Ordering::Relaxed))?;
        if job < failed.load(Ordering::Relaxed) {
            return Some(job);
        }
    };
    let parts = if threads == 1 {
        vec![compile_some(env, bytes, &entry_types, take, &failed)]
    } else {
        let parts = Mutex::new(Vec::with_capacity(threads));
        rayon::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|_| {
                    let part = compile_some(env, bytes, &entry_types, take, &failed);
                    parts.lock().expect("a compile worker panicked").push(part);
                });
            }
        });
        parts.into_inner().expect("a compile worker panicked")
    };
    let mut functions: Vec<Option<CompiledFunction>> = (0..jobs).map(|_| None).collect();
    let mut first_error: Option<(usize, CompileError)> = None;
    for (i, result) in parts.into_iter().flatten() {
        match result {
            Ok(function) => functions[i] = Some(function),
            // The lowest-numbered failing function's error, whatever the timing.
            Err(e) if first_error.as_ref().is_none_or(|(j, _)| i < *j) => {
                first_error = Some((i, e));
            }
            Err(_) => {}
        }
    }
    if let Some((_, e)) = first_error {
        return Err(e);
    }
    let mut functions = functions
        .into_iter()
        .map(|f| f.expect("every job was taken from the queue"));
    let defined = functions.by_ref().take(count).collect();
    let mut array_to_wasm: Vec<Option<CompiledFunction>> =
        (0..env.module.types.len()).map(|_| None).collect();
    for (type_index, trampoline) in entry_types.iter().zip(functions) {
        array_to_wasm[*type_index as usize] = Some(trampoline);
    }
    Ok((defined, array_to_wasm))
}

/// Compiles the jobs of [`compile_parallel`] that `take` hands out until it has none left
/// (its trampoline jobs are those of `entry_types`), reusing one Cranelift context for all
/// of them; lowers `failed` to the job of each error.
fn compile_some(
    env: &FuncEnv<'_>,
    bytes: &[u8],
    entry_types: &[u32],
    take: impl Fn() -> Option<usize>,
    failed: &AtomicUsize,
) -> Vec<(usize, Result<CompiledFunction, CompileError>)> {
    let mut ctx = Context::new();
    let mut translate_ctx = TranslateContext::default();
    let mut inliner = env.config.inlining.then(|| Inliner::new(env, bytes));
    let mut out = Vec::new();
    let count = env.module.bodies.len();
    while let Some(i) = take() {
        let compiled = match i.checked_sub(count) {
            Some(job) => compile_trampoline(
                &mut ctx,
                env.isa,
                env.module,
                env.config,
                entry_types[job] as usize,
                true,
            ),
            None => {
                ctx.clear();
                translate_defined(env, bytes, i, &mut ctx.func, &mut translate_ctx).and_then(
                    |translation| {
                        let inliner = inliner
                            .as_mut()
                            .filter(|_| may_inline(&ctx.func, &translation.calls_in_loops));
                        if let Some(inliner) = inliner {
                            inliner.start_caller(&ctx.func, translation);
                            let inlined = ctx.inline(&mut *inliner).map_err(|e| {
                                CompileError::Codegen(format!("{}: inlining: {e:?}", ctx.func.name))
                            })?;
                            if inlined && env.config.consume_fuel {
                                drop_inlined_return_fuel_writes(&mut ctx.func);
                            }
                        }
                        merge_blocks(&mut ctx.func);
                        emit(&mut ctx, env.isa, env.config.emit_disassembly)
                    },
                )
            }
        };
        if compiled.is_err() {
            failed.fetch_min(i, Ordering::Relaxed);
        }
        out.push((i, compiled));
    }
    out
}

/// Whether `func`, whose direct calls inside a `loop` are `calls_in_loops`, makes a call
/// the inliner may take (see [`crate::inline`]): one in a loop, or one to itself. Most
/// functions make neither, and the inliner's walk over their instructions is skipped.
fn may_inline(func: &Function, calls_in_loops: &[Inst]) -> bool {
    let UserFuncName::User(ref name) = func.name else {
        return true;
    };
    !calls_in_loops.is_empty()
        || func.dfg.ext_funcs.values().any(|callee| match callee.name {
            ExternalName::User(callee) => func.params.user_named_funcs()[callee] == *name,
            _ => false,
        })
}

/// Validates and translates the body of defined function `defined` (counted from the first
/// non-imported function) into `func`, which it clears first (keeping its allocations).
pub(crate) fn translate_defined(
    env: &FuncEnv<'_>,
    bytes: &[u8],
    defined: usize,
    func: &mut Function,
    ctx: &mut TranslateContext,
) -> Result<Translation, CompileError> {
    let func_index = env.module.num_imported_funcs + defined as u32;
    let range = env.module.bodies[defined].clone();
    // The features decide how some encodings read (a memory index or a zero byte).
    let body = FunctionBody::new(BinaryReader::new_features(
        &bytes[range.clone()],
        range.start as u64,
        env.config.features,
    ));
    func.clear();
    // `Function::clear` leaves the exception tables of the previous function (Cranelift
    // 0.135), whose calls and blocks are gone.
    func.dfg.exception_tables.clear();
    func.name = UserFuncName::User(UserExternalName::new(0, func_index));
    func.signature = wasm_signature(
        env.module.func_type(func_index),
        env.config.consume_fuel,
        env.callers(func_index),
    );
    translate_function(env, func_index, body, func, ctx)
}

/// Runs Cranelift on the function in `ctx` and collects its code, relocations and traps.
fn emit(
    ctx: &mut Context,
    isa: &dyn TargetIsa,
    disassemble: bool,
) -> Result<CompiledFunction, CompileError> {
    ctx.set_disasm(disassemble);
    let func_name = ctx.func.name.to_string();
    let user_names = ctx.func.params.user_named_funcs().clone();
    let code = ctx
        .compile(isa, &mut ControlPlane::default())
        .map_err(|e| CompileError::Codegen(format!("{func_name}: {:?}", e.inner)))?;
    let buffer = &code.buffer;
    let mut relocs = Vec::with_capacity(buffer.relocs().len());
    for r in buffer.relocs() {
        let kind = match r.kind {
            ClifReloc::X86CallPCRel4 | ClifReloc::X86CallPLTRel4 => RelocKind::X86CallPCRel4,
            ClifReloc::Arm64Call => RelocKind::Arm64Call,
            ClifReloc::Abs8 => RelocKind::Abs8,
            other => {
                return Err(CompileError::Codegen(format!(
                    "{func_name}: unexpected relocation {other:?}"
                )))
            }
        };
        let target = match &r.target {
            FinalizedRelocTarget::ExternalName(ExternalName::User(name)) => {
                RelocTarget::Function(user_names[*name].index)
            }
            FinalizedRelocTarget::ExternalName(ExternalName::LibCall(call)) => {
                RelocTarget::LibCall(MathCall::from_libcall(*call).ok_or_else(|| {
                    CompileError::Codegen(format!("{func_name}: unexpected libcall {call:?}"))
                })?)
            }
            other => {
                return Err(CompileError::Codegen(format!(
                    "{func_name}: unexpected relocation target {other:?}"
                )))
            }
        };
        relocs.push(Reloc {
            offset: r.offset,
            kind,
            target,
            addend: r.addend,
        });
    }
    let mut handlers = Vec::new();
    for site in buffer.call_sites() {
        // Handlers match in order: the first catch-all is the innermost `try_table`'s (an
        // inlined callee's handlers come before its caller's).
        let first_default = site.exception_handlers.iter().find_map(|h| match h {
            FinalizedMachExceptionHandler::Default(offset) => Some(*offset),
            _ => None,
        });
        if let Some(handler_offset) = first_default {
            let frame_offset = site.frame_offset.ok_or_else(|| {
                CompileError::Codegen(format!(
                    "{func_name}: a call site with a handler has no frame offset"
                ))
            })?;
            handlers.push(CallSiteHandler {
                return_offset: site.ret_addr,
                handler_offset,
                frame_offset,
            });
        }
    }
    handlers.sort_unstable_by_key(|h| h.return_offset);
    let mut stack_maps = Vec::with_capacity(buffer.user_stack_maps().len());
    for (return_offset, frame_size, map) in buffer.user_stack_maps() {
        // `entries` gives offsets from the stack pointer at the call, which lies
        // `frame_size` bytes below the frame pointer.
        let slots = map
            .entries()
            .map(|(ty, offset)| match ty {
                types::I64 if offset + 8 <= *frame_size => Ok(frame_size - offset),
                _ => Err(CompileError::Codegen(format!(
                    "{func_name}: a stack map slot of type {ty} at {offset} in a frame of \
                     {frame_size} bytes"
                ))),
            })
            .collect::<Result<_, _>>()?;
        stack_maps.push(StackMap {
            return_offset: *return_offset,
            slots,
        });
    }
    let traps = buffer
        .traps()
        .iter()
        .map(|t| {
            TrapKind::from_trap_code(t.code)
                .map(|kind| (t.offset, kind))
                .ok_or_else(|| {
                    CompileError::Codegen(format!("{func_name}: unknown trap code {}", t.code))
                })
        })
        .collect::<Result<_, _>>()?;
    Ok(CompiledFunction {
        body: buffer.data().to_vec(),
        relocs,
        traps,
        handlers,
        stack_maps,
        alignment: isa.function_alignment().preferred,
        disassembly: code.vcode.clone(),
    })
}

/// A math routine Cranelift calls where the target lacks an instruction (rounding without
/// SSE4.1, fused multiply-add without FMA). The runtime provides each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MathCall {
    /// `ceilf`.
    CeilF32,
    /// `ceil`.
    CeilF64,
    /// `floorf`.
    FloorF32,
    /// `floor`.
    FloorF64,
    /// `truncf`.
    TruncF32,
    /// `trunc`.
    TruncF64,
    /// `nearbyintf` (round to nearest, ties to even).
    NearestF32,
    /// `nearbyint`.
    NearestF64,
    /// `fmaf`.
    FmaF32,
    /// `fma`.
    FmaF64,
}

impl MathCall {
    /// The routine Cranelift's libcall `call` stands for, if it is one of ours.
    fn from_libcall(call: LibCall) -> Option<Self> {
        Some(match call {
            LibCall::CeilF32 => MathCall::CeilF32,
            LibCall::CeilF64 => MathCall::CeilF64,
            LibCall::FloorF32 => MathCall::FloorF32,
            LibCall::FloorF64 => MathCall::FloorF64,
            LibCall::TruncF32 => MathCall::TruncF32,
            LibCall::TruncF64 => MathCall::TruncF64,
            LibCall::NearestF32 => MathCall::NearestF32,
            LibCall::NearestF64 => MathCall::NearestF64,
            LibCall::FmaF32 => MathCall::FmaF32,
            LibCall::FmaF64 => MathCall::FmaF64,
            _ => return None,
        })
    }
}
