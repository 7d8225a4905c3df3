//! Executable memory: a module's code laid out, relocated, protected and registered so that
//! the signal handler can recognise its trap sites.

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, RwLock};

use wasmjit_codegen::{CodeLayout, LoadReloc, LoadTarget, MathCall, RelocKind, TrapKind};

use crate::mmap::{page_size, Mmap};

/// A module's machine code, mapped read-execute for as long as this value lives.
#[derive(Debug)]
pub struct CodeMemory {
    /// The mapping holding the image, unmapped when the code is dropped.
    _mapping: Mmap,
    /// Address of the image's first byte, inside `mmap`.
    base: usize,
    len: usize,
    functions: Vec<usize>,
    array_to_wasm: Vec<Option<usize>>,
    wasm_to_array: Vec<usize>,
}

impl CodeMemory {
    /// Copies a linked code image into fresh memory, applies its load-time relocations,
    /// makes it executable and registers its trap sites.
    pub fn new(layout: &CodeLayout, image: &[u8]) -> io::Result<Self> {
        check_image(layout, image.len())?;
        let mmap = Mmap::reserve(image.len())?;
        mmap.make_accessible(0, mmap.len())?;
        // SAFETY: the mapping is at least `image.len()` bytes long and was just made
        // writable; it is new, so it does not overlap `image`.
        unsafe {
            std::ptr::copy_nonoverlapping(image.as_ptr(), mmap.as_ptr(), image.len());
        }
        let len = mmap.len();
        Self::finish(mmap, 0, len, layout, true)
    }

    /// Runs a linked code image in place: `mmap` is a private (copy-on-write) mapping of a
    /// file whose bytes at `offset`, a multiple of the host's page size, are the image.
    /// Only the pages holding load-time relocations are copied (by the kernel, when they
    /// are patched); the others stay shared with the file's page cache. Where the file's
    /// pages cannot be made executable (a file system mounted `noexec`), the image is
    /// copied instead.
    pub fn from_mapping(mmap: Mmap, offset: usize, layout: &CodeLayout) -> io::Result<Self> {
        let page = page_size();
        let len = layout.len as usize;
        check_image(layout, len)?;
        if !offset.is_multiple_of(page)
            || offset.checked_add(len).is_none_or(|end| end > mmap.len())
        {
            return Err(io::Error::other(
                "the code image is not page aligned inside the mapping",
            ));
        }
        let span = len.max(1).next_multiple_of(page);
        let span = span.min(mmap.len() - offset);
        match mmap.make_executable(offset, span) {
            Ok(()) => Self::finish(mmap, offset, span, layout, false),
            Err(_) => {
                // SAFETY: `offset + len <= mmap.len()` (checked above) and the mapping is
                // readable.
                let image = unsafe { std::slice::from_raw_parts(mmap.as_ptr().add(offset), len) };
                Self::new(layout, image)
            }
        }
    }

    /// Applies the load-time relocations of the image at `offset` in `mmap` (`span` bytes,
    /// whole pages; `writable` if they are already), makes it executable and registers it.
    fn finish(
        mmap: Mmap,
        offset: usize,
        span: usize,
        layout: &CodeLayout,
        writable: bool,
    ) -> io::Result<Self> {
        let base = mmap.as_ptr() as usize + offset;
        if !writable {
            let page = page_size();
            let mut pages: Vec<(usize, usize)> = layout
                .load_relocs
                .iter()
                .map(|r| {
                    let start = offset + r.offset as usize;
                    let end = start + reloc_width(r.kind);
                    (start / page * page, end.next_multiple_of(page))
                })
                .collect();
            pages.sort_unstable();
            pages.dedup();
            for (first, last) in pages {
                mmap.make_accessible(first, last - first)?;
            }
        }
        for reloc in &layout.load_relocs {
            let start = reloc.offset as usize;
            let target = match reloc.target {
                LoadTarget::Image(at) => base + at as usize,
                LoadTarget::Math(call) => libcall_address(call),
            };
            // SAFETY: `check_image` made sure the field lies inside the image, and its
            // pages are writable (made so above).
            unsafe {
                apply(
                    reloc.kind,
                    base + start,
                    target.wrapping_add_signed(reloc.addend as isize),
                )?
            };
        }
        mmap.make_executable(offset, span)?;
        flush_icache(base as *mut u8, layout.len as usize);
        register(base, span, layout);
        let absolute = |starts: &mut dyn Iterator<Item = u32>| -> Vec<usize> {
            starts.map(|o| base + o as usize).collect()
        };
        Ok(CodeMemory {
            functions: absolute(&mut layout.functions.iter().map(|(start, _)| *start)),
            array_to_wasm: layout
                .array_to_wasm
                .iter()
                .map(|entry| entry.map(|(start, _)| base + start as usize))
                .collect(),
            wasm_to_array: absolute(&mut layout.wasm_to_array.iter().copied()),
            _mapping: mmap,
            base,
            len: layout.len as usize,
        })
    }

    /// The image as loaded: its load-time relocations hold this process's addresses.
    pub fn image(&self) -> &[u8] {
        // SAFETY: the image's `len` bytes are mapped readable (and executable) for as long
        // as `self` lives, and nothing writes them after loading.
        unsafe { std::slice::from_raw_parts(self.base as *const u8, self.len) }
    }

    /// Entry of defined function `defined_index` (function index minus imported functions).
    pub fn function(&self, defined_index: u32) -> *const u8 {
        self.functions[defined_index as usize] as *const u8
    }

    /// The host-to-wasm trampoline of module type `type_index`; `None` for a type of no
    /// function the host may call (see `ModuleInfo::host_callable_types`).
    pub fn array_to_wasm(&self, type_index: u32) -> Option<*const u8> {
        self.array_to_wasm
            .get(type_index as usize)
            .copied()
            .flatten()
            .map(|at| at as *const u8)
    }

    /// The wasm-to-host trampoline of module type `type_index`.
    pub fn wasm_to_array(&self, type_index: u32) -> *const u8 {
        self.wasm_to_array[type_index as usize] as *const u8
    }
}

impl Drop for CodeMemory {
    fn drop(&mut self) {
        unregister(self.base);
    }
}

/// Checks that every offset the layout gives lies inside an image of `len` bytes, so that
/// a damaged layout is an error rather than a write out of bounds.
fn check_image(layout: &CodeLayout, len: usize) -> io::Result<()> {
    let inside = |at: u32, width: usize| (at as usize).saturating_add(width) <= len;
    let ok = layout.len as usize == len
        && layout
            .functions
            .iter()
            .all(|(start, size)| inside(*start, *size as usize))
        && layout
            .array_to_wasm
            .iter()
            .flatten()
            .all(|(start, size)| inside(*start, *size as usize))
        && layout.wasm_to_array.iter().all(|start| inside(*start, 1))
        && layout
            .handlers
            .iter()
            .all(|h| inside(h.return_offset, 0) && inside(h.handler_offset, 1))
        && layout.traps.iter().all(|(at, _)| inside(*at, 1))
        && layout
            .stack_maps
            .iter()
            .all(|m| inside(m.return_offset, 0) && m.slots.iter().all(|s| *s >= 8))
        && layout.load_relocs.iter().all(|r: &LoadReloc| {
            inside(r.offset, reloc_width(r.kind))
                && match r.target {
                    LoadTarget::Image(at) => inside(at, 0),
                    LoadTarget::Math(_) => true,
                }
        });
    if ok {
        Ok(())
    } else {
        Err(io::Error::other(
            "the code layout does not fit the code image",
        ))
    }
}

/// Bytes a relocation of `kind` patches.
fn reloc_width(kind: RelocKind) -> usize {
    match kind {
        RelocKind::Abs8 => 8,
        RelocKind::X86CallPCRel4 | RelocKind::Arm64Call => 4,
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

/// A registered code range: its end, its trap sites and its exception tables (absolute
/// addresses, sorted).
struct CodeRange {
    end: usize,
    traps: Arc<[(usize, TrapKind)]>,
    handlers: Arc<[Handler]>,
    /// Return addresses with the GC reference slots of their frames (distances below the
    /// frame pointer).
    stack_maps: Arc<[(usize, Box<[u32]>)]>,
    entries: Arc<[std::ops::Range<usize>]>,
}

/// All live code memories by start address.
static CODE: RwLock<BTreeMap<usize, CodeRange>> = RwLock::new(BTreeMap::new());

fn register(start: usize, len: usize, layout: &CodeLayout) {
    let traps = layout
        .traps
        .iter()
        .map(|(at, kind)| (start + *at as usize, *kind))
        .collect();
    let handlers = layout
        .handlers
        .iter()
        .map(|h| Handler {
            return_address: start + h.return_offset as usize,
            handler: start + h.handler_offset as usize,
            frame_offset: h.frame_offset,
        })
        .collect();
    let stack_maps = layout
        .stack_maps
        .iter()
        .map(|m| (start + m.return_offset as usize, m.slots.clone().into()))
        .collect();
    let entries = layout
        .array_to_wasm
        .iter()
        .flatten()
        .map(|(at, len)| start + *at as usize..start + (*at + *len) as usize)
        .collect();
    CODE.write().unwrap_or_else(|e| e.into_inner()).insert(
        start,
        CodeRange {
            end: start + len,
            traps,
            handlers,
            stack_maps,
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

/// Appends to `slots` the GC reference slots of the compiled frame whose call returns to
/// `pc`, as distances below its frame pointer (none if the frame holds no reference there).
pub(crate) fn stack_map_slots(pc: usize, slots: &mut Vec<u32>) {
    let code = CODE.read().unwrap_or_else(|e| e.into_inner());
    let Some((_, range)) = code.range(..=pc).next_back() else {
        return;
    };
    if let Ok(i) = range.stack_maps.binary_search_by_key(&pc, |(at, _)| *at) {
        slots.extend_from_slice(&range.stack_maps[i].1);
    }
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
