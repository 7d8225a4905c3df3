//! Executable memory: a module's code laid out, relocated, protected and registered so that
//! the signal handler can recognise its trap sites.

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, RwLock};

use wasmjit_codegen::{
    CompiledFunction, CompiledModule, MathCall, RelocKind, RelocTarget, TrapKind,
};

use crate::mmap::{page_size, Mmap};

/// A module's machine code, mapped read-execute for as long as this value lives.
#[derive(Debug)]
pub struct CodeMemory {
    mmap: Mmap,
    functions: Vec<usize>,
    array_to_wasm: Vec<usize>,
    wasm_to_array: Vec<usize>,
}

impl CodeMemory {
    /// Lays out the module's functions and trampolines in one mapping, applies their
    /// relocations, makes them executable and registers their trap sites.
    pub fn new(module: &CompiledModule) -> io::Result<Self> {
        if !module.target.is_host() {
            return Err(io::Error::other(format!(
                "code compiled for {} cannot run on this machine",
                module.target
            )));
        }
        let all: Vec<&CompiledFunction> = module
            .functions
            .iter()
            .chain(&module.array_to_wasm)
            .chain(&module.wasm_to_array)
            .collect();
        let mut offsets = Vec::with_capacity(all.len());
        let mut end = 0usize;
        for f in &all {
            let start = end.next_multiple_of(f.alignment.max(16) as usize);
            offsets.push(start);
            end = start + f.body.len();
        }
        let len = end.max(1).next_multiple_of(page_size());
        let mmap = Mmap::reserve(len)?;
        mmap.make_accessible(0, len)?;
        let base = mmap.as_ptr();
        let defined = module.functions.len();
        let mut traps = Vec::new();
        let mut handlers = Vec::new();
        for (f, &offset) in all.iter().zip(&offsets) {
            handlers.extend(f.handlers.iter().map(|h| Handler {
                return_address: offset + h.return_offset as usize,
                handler: offset + h.handler_offset as usize,
                frame_offset: h.frame_offset,
            }));
            // SAFETY: `offset + body.len() <= len`, inside the mapping just made writable.
            unsafe {
                std::ptr::copy_nonoverlapping(f.body.as_ptr(), base.add(offset), f.body.len())
            };
            traps.extend(
                f.traps
                    .iter()
                    .map(|(at, kind)| (offset + *at as usize, *kind)),
            );
        }
        for (f, &offset) in all.iter().zip(&offsets) {
            for reloc in &f.relocs {
                let target = match reloc.target {
                    RelocTarget::Function(index) => {
                        let defined_index = index
                            .checked_sub(module.info.num_imported_funcs)
                            .filter(|i| (*i as usize) < defined)
                            .ok_or_else(|| {
                                io::Error::other("relocation to an imported function")
                            })?;
                        base as usize + offsets[defined_index as usize]
                    }
                    RelocTarget::LibCall(call) => libcall_address(call),
                };
                let place = base as usize + offset + reloc.offset as usize;
                // SAFETY: the relocation lies inside the function's bytes, in the writable
                // mapping.
                unsafe {
                    apply(
                        reloc.kind,
                        place,
                        target.wrapping_add_signed(reloc.addend as isize),
                    )?
                };
            }
        }
        mmap.make_executable(0, len)?;
        flush_icache(base, len);
        traps.sort_unstable_by_key(|(at, _)| *at);
        handlers.sort_unstable_by_key(|h| h.return_address);
        let types = module.array_to_wasm.len();
        let entries = (defined..defined + types)
            .map(|i| offsets[i]..offsets[i] + all[i].body.len())
            .collect();
        register(
            base as usize,
            len,
            CodeTables {
                traps,
                handlers,
                entries,
            },
        );
        let function_starts = |range: std::ops::Range<usize>| -> Vec<usize> {
            offsets[range].iter().map(|o| base as usize + o).collect()
        };
        Ok(CodeMemory {
            functions: function_starts(0..defined),
            array_to_wasm: function_starts(defined..defined + types),
            wasm_to_array: function_starts(defined + types..defined + 2 * types),
            mmap,
        })
    }

    /// Entry of defined function `defined_index` (function index minus imported functions).
    pub fn function(&self, defined_index: u32) -> *const u8 {
        self.functions[defined_index as usize] as *const u8
    }

    /// The host-to-wasm trampoline of module type `type_index`.
    pub fn array_to_wasm(&self, type_index: u32) -> *const u8 {
        self.array_to_wasm[type_index as usize] as *const u8
    }

    /// The wasm-to-host trampoline of module type `type_index`.
    pub fn wasm_to_array(&self, type_index: u32) -> *const u8 {
        self.wasm_to_array[type_index as usize] as *const u8
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        unregister(self.mmap.as_ptr() as usize);
    }
}

/// Patches one relocation at `place` to refer to `value`.
///
/// # Safety
/// `place` must be writable and hold the instruction or field the relocation describes.
unsafe fn apply(kind: RelocKind, place: usize, value: usize) -> io::Result<()> {
    match kind {
        RelocKind::Abs8 => {
            // SAFETY: per the contract; the field may be unaligned.
            unsafe { (place as *mut u64).write_unaligned(value as u64) };
        }
        RelocKind::X86CallPCRel4 => {
            let delta = (value as i64).wrapping_sub(place as i64);
            let delta = i32::try_from(delta).map_err(|_| io::Error::other("call out of range"))?;
            // SAFETY: per the contract.
            unsafe { (place as *mut i32).write_unaligned(delta) };
        }
        RelocKind::Arm64Call => {
            let delta = (value as i64).wrapping_sub(place as i64);
            if delta % 4 != 0 || !(-(1 << 27)..(1 << 27)).contains(&delta) {
                return Err(io::Error::other("call out of range"));
            }
            // SAFETY: per the contract; instructions are 4-byte aligned.
            unsafe {
                let insn = (place as *mut u32).read();
                let imm26 = ((delta >> 2) as u32) & 0x03ff_ffff;
                (place as *mut u32).write((insn & 0xfc00_0000) | imm26);
            }
        }
    }
    Ok(())
}

/// Makes freshly written code visible to instruction fetch.
fn flush_icache(start: *mut u8, len: usize) {
    #[cfg(target_arch = "aarch64")]
    {
        let line = 64usize;
        let begin = start as usize & !(line - 1);
        let end = start as usize + len;
        let mut addr = begin;
        while addr < end {
            // SAFETY: cleaning cache lines of mapped memory has no other effect.
            unsafe { std::arch::asm!("dc cvau, {0}", in(reg) addr) };
            addr += line;
        }
        // SAFETY: barriers and instruction-cache invalidation of mapped memory.
        unsafe { std::arch::asm!("dsb ish") };
        let mut addr = begin;
        while addr < end {
            // SAFETY: as above.
            unsafe { std::arch::asm!("ic ivau, {0}", in(reg) addr) };
            addr += line;
        }
        // SAFETY: as above.
        unsafe { std::arch::asm!("dsb ish", "isb") };
    }
    #[cfg(not(target_arch = "aarch64"))]
    let _ = (start, len);
}

/// C math routines that Cranelift calls where the target has no instruction.
fn libcall_address(call: MathCall) -> usize {
    extern "C" fn ceilf(x: f32) -> f32 {
        x.ceil()
    }
    extern "C" fn ceil(x: f64) -> f64 {
        x.ceil()
    }
    extern "C" fn floorf(x: f32) -> f32 {
        x.floor()
    }
    extern "C" fn floor(x: f64) -> f64 {
        x.floor()
    }
    extern "C" fn truncf(x: f32) -> f32 {
        x.trunc()
    }
    extern "C" fn trunc(x: f64) -> f64 {
        x.trunc()
    }
    extern "C" fn nearbyintf(x: f32) -> f32 {
        x.round_ties_even()
    }
    extern "C" fn nearbyint(x: f64) -> f64 {
        x.round_ties_even()
    }
    extern "C" fn fmaf(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
    extern "C" fn fma(a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }
    let address: *const () = match call {
        MathCall::CeilF32 => ceilf as _,
        MathCall::CeilF64 => ceil as _,
        MathCall::FloorF32 => floorf as _,
        MathCall::FloorF64 => floor as _,
        MathCall::TruncF32 => truncf as _,
        MathCall::TruncF64 => trunc as _,
        MathCall::NearestF32 => nearbyintf as _,
        MathCall::NearestF64 => nearbyint as _,
        MathCall::FmaF32 => fmaf as _,
        MathCall::FmaF64 => fma as _,
    };
    address as usize
}

/// A call site with an exception handler, at offsets in a code memory (absolute once
/// registered).
#[derive(Clone, Copy)]
struct Handler {
    return_address: usize,
    handler: usize,
    frame_offset: u32,
}

/// What the trap handler and the unwinder need to know of a code memory, at offsets from its
/// start.
struct CodeTables {
    /// Trap sites, sorted.
    traps: Vec<(usize, TrapKind)>,
    /// Call sites with exception handlers, sorted by return address.
    handlers: Vec<Handler>,
    /// The host-to-wasm trampolines: where the unwinder stops.
    entries: Vec<std::ops::Range<usize>>,
}

/// A registered code range: its end, its trap sites and its exception tables (absolute
/// addresses, sorted).
struct CodeRange {
    end: usize,
    traps: Arc<[(usize, TrapKind)]>,
    handlers: Arc<[Handler]>,
    entries: Arc<[std::ops::Range<usize>]>,
}

/// All live code memories by start address.
static CODE: RwLock<BTreeMap<usize, CodeRange>> = RwLock::new(BTreeMap::new());

fn register(start: usize, len: usize, tables: CodeTables) {
    let traps = tables
        .traps
        .into_iter()
        .map(|(at, kind)| (start + at, kind))
        .collect();
    let handlers = tables
        .handlers
        .into_iter()
        .map(|h| Handler {
            return_address: start + h.return_address,
            handler: start + h.handler,
            frame_offset: h.frame_offset,
        })
        .collect();
    let entries = tables
        .entries
        .into_iter()
        .map(|r| start + r.start..start + r.end)
        .collect();
    CODE.write().unwrap_or_else(|e| e.into_inner()).insert(
        start,
        CodeRange {
            end: start + len,
            traps,
            handlers,
            entries,
        },
    );
}

fn unregister(start: usize) {
    CODE.write()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&start);
}

/// The trap at `pc`, if `pc` is a trap site of registered compiled code.
///
/// Called from the signal handler. It may wait for another thread that is registering or
/// unregistering code, which never faults while holding the lock; the faulting thread
/// itself cannot hold it, since it was running compiled code.
pub(crate) fn lookup_trap(pc: usize) -> Option<TrapKind> {
    let code = CODE.read().unwrap_or_else(|e| e.into_inner());
    let (_, range) = code.range(..=pc).next_back()?;
    if pc >= range.end {
        return None;
    }
    let i = range.traps.binary_search_by_key(&pc, |(at, _)| *at).ok()?;
    Some(range.traps[i].1)
}

/// What the unwinder finds at a return address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FrameKind {
    /// A call site with an exception handler at `handler`; the frame's stack pointer at the
    /// call was `frame_offset` bytes below its frame pointer.
    Handler { handler: usize, frame_offset: u32 },
    /// Compiled code without a handler there.
    Compiled,
    /// A host-to-wasm trampoline: the frame that entered wasm.
    Entry,
}

/// The kind of frame the return address `pc` lies in; `None` outside compiled code.
pub(crate) fn lookup_frame(pc: usize) -> Option<FrameKind> {
    let code = CODE.read().unwrap_or_else(|e| e.into_inner());
    let (_, range) = code.range(..=pc).next_back()?;
    if pc >= range.end {
        return None;
    }
    if let Ok(i) = range
        .handlers
        .binary_search_by_key(&pc, |h| h.return_address)
    {
        let h = range.handlers[i];
        return Some(FrameKind::Handler {
            handler: h.handler,
            frame_offset: h.frame_offset,
        });
    }
    if range.entries.iter().any(|r| r.contains(&pc)) {
        return Some(FrameKind::Entry);
    }
    Some(FrameKind::Compiled)
}
