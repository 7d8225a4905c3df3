//! Linking: a module's functions and trampolines laid out in one code image, the calls
//! between them resolved, so that the image can be mapped (or copied) as it is and needs
//! only its few load-time relocations patched.
//!
//! The image is position independent except for those relocations: calls between the
//! module's functions are PC-relative and are resolved here, once; what depends on where
//! the image or the runtime lands (the math routines Cranelift calls, absolute addresses of
//! functions) is listed in [`CodeLayout::load_relocs`] and patched by the runtime.

use serde::{Deserialize, Serialize};

use crate::compile::{
    CallSiteHandler, CompiledFunction, MathCall, RelocKind, RelocTarget, StackMap,
};
use crate::error::CompileError;
use crate::trap::TrapKind;

/// The alignment of every function in the image, so that where a function's loops and jump
/// tables fall within 32-byte fetch blocks depends on its own code, not on the size of the
/// functions before it. With 16 (Cranelift's own), the interpreter kernel's dispatch loop
/// ran 1.9x slower with fuel metering after a change that left its code as it was and only
/// resized other functions. With 64, apsp ran 1.09x slower (its loop placed worse); 32 gave
/// every kernel its best or equal time. The padding costs 16 bytes a function on average.
const FUNCTION_ALIGNMENT: u32 = 32;

/// Where everything is in a module's code image.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeLayout {
    /// Length of the image in bytes.
    pub len: u32,
    /// Start and length of each defined function's code, in index order (the first one is
    /// function `num_imported_funcs`).
    pub functions: Vec<(u32, u32)>,
    /// For each type index, the start and length of its host-to-wasm trampoline (where the
    /// exception unwinder stops), if the host may call a function of that type.
    pub array_to_wasm: Vec<Option<(u32, u32)>>,
    /// For each type index, the start of its wasm-to-host trampoline: only the trampolines
    /// of a host function's type have them.
    pub wasm_to_array: Vec<u32>,
    /// Every instruction that may trap, by offset in the image, sorted.
    pub traps: Vec<(u32, TrapKind)>,
    /// Every call site with an exception handler, by offsets in the image, sorted by
    /// return address.
    pub handlers: Vec<CallSiteHandler>,
    /// Every call site where a frame holds GC references, by offsets in the image, sorted
    /// by return address.
    pub stack_maps: Vec<StackMap>,
    /// Places to patch once the image's address is known.
    pub load_relocs: Vec<LoadReloc>,
}

impl CodeLayout {
    /// Restores the placeholders Cranelift left in the fields of the load-time relocations
    /// of `image` (zeros; a `bl`'s offset bits), undoing what loading patched in, so that an
    /// image read back from memory is the same as the one compiled.
    pub fn clear_load_relocs(&self, image: &mut [u8]) {
        for reloc in &self.load_relocs {
            let at = reloc.offset as usize;
            match reloc.kind {
                RelocKind::Abs8 => image[at..at + 8].fill(0),
                RelocKind::X86CallPCRel4 => image[at..at + 4].fill(0),
                RelocKind::Arm64Call => {
                    let insn = u32::from_le_bytes(image[at..at + 4].try_into().expect("4 bytes"));
                    image[at..at + 4].copy_from_slice(&(insn & 0xfc00_0000).to_le_bytes());
                }
            }
        }
    }
}

/// A place in the image to patch when it is loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadReloc {
    /// Offset of the patched field in the image.
    pub offset: u32,
    /// How to patch it.
    pub kind: RelocKind,
    /// What address to patch in.
    pub target: LoadTarget,
    /// Added to the target's address.
    pub addend: i64,
}

/// What a load-time relocation points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoadTarget {
    /// A place in the image itself, by offset (an absolute address of a function).
    Image(u32),
    /// A math routine of the runtime's.
    Math(MathCall),
}

/// The linked image: its bytes and its layout.
pub(crate) struct Linked {
    pub(crate) layout: CodeLayout,
    pub(crate) image: Vec<u8>,
    /// Cranelift's listing of each defined function, when asked for.
    pub(crate) disassembly: Vec<Option<String>>,
}

/// Lays out `functions` (the module's defined functions, in index order), then the
/// trampolines of each type, and resolves the calls between them. Calls to imported
/// functions go through the vmctx, so a relocation naming one is a bug and an error.
pub(crate) fn link(
    num_imported_funcs: u32,
    functions: Vec<CompiledFunction>,
    array_to_wasm: Vec<Option<CompiledFunction>>,
    wasm_to_array: Vec<CompiledFunction>,
) -> Result<Linked, CompileError> {
    let defined = functions.len();
    let entry_types: Vec<usize> = (0..array_to_wasm.len())
        .filter(|t| array_to_wasm[*t].is_some())
        .collect();
    let mut layout = CodeLayout {
        array_to_wasm: vec![None; array_to_wasm.len()],
        ..CodeLayout::default()
    };
    let entries = entry_types.len();
    let all: Vec<CompiledFunction> = functions
        .into_iter()
        .chain(array_to_wasm.into_iter().flatten())
        .chain(wasm_to_array)
        .collect();
    let too_large = || CompileError::Codegen("the module's code exceeds 4 GiB".into());
    let mut starts = Vec::with_capacity(all.len());
    let mut end = 0usize;
    for f in &all {
        let start = end.next_multiple_of(f.alignment.max(FUNCTION_ALIGNMENT) as usize);
        starts.push(u32::try_from(start).map_err(|_| too_large())?);
        end = start + f.body.len();
    }
    let len = u32::try_from(end).map_err(|_| too_large())?;
    let mut image = vec![0u8; end];
    layout.len = len;
    let mut disassembly = Vec::with_capacity(defined);
    for (i, (f, &start)) in all.iter().zip(&starts).enumerate() {
        let at = start as usize;
        image[at..at + f.body.len()].copy_from_slice(&f.body);
        layout
            .traps
            .extend(f.traps.iter().map(|(offset, kind)| (start + offset, *kind)));
        layout
            .handlers
            .extend(f.handlers.iter().map(|h| CallSiteHandler {
                return_offset: start + h.return_offset,
                handler_offset: start + h.handler_offset,
                frame_offset: h.frame_offset,
            }));
        layout
            .stack_maps
            .extend(f.stack_maps.iter().map(|map| StackMap {
                return_offset: start + map.return_offset,
                slots: map.slots.clone(),
            }));
        for reloc in &f.relocs {
            let place = start + reloc.offset;
            let target = match reloc.target {
                RelocTarget::Function(index) => {
                    let defined_index = index
                        .checked_sub(num_imported_funcs)
                        .map(|i| i as usize)
                        .filter(|i| *i < defined)
                        .ok_or_else(|| {
                            CompileError::Codegen(format!(
                                "a relocation names function {index}, which the module \
                                 does not define"
                            ))
                        })?;
                    LoadTarget::Image(starts[defined_index])
                }
                RelocTarget::LibCall(call) => LoadTarget::Math(call),
            };
            match (reloc.kind, target) {
                (RelocKind::X86CallPCRel4 | RelocKind::Arm64Call, LoadTarget::Image(to)) => {
                    let delta = i64::from(to) + reloc.addend - i64::from(place);
                    patch(&mut image, reloc.kind, place, delta)?;
                }
                _ => layout.load_relocs.push(LoadReloc {
                    offset: place,
                    kind: reloc.kind,
                    target,
                    addend: reloc.addend,
                }),
            }
        }
        if i < defined {
            layout.functions.push((start, f.body.len() as u32));
            disassembly.push(f.disassembly.clone());
        } else if i < defined + entries {
            layout.array_to_wasm[entry_types[i - defined]] = Some((start, f.body.len() as u32));
        } else {
            layout.wasm_to_array.push(start);
        }
    }
    layout.traps.sort_unstable_by_key(|(at, _)| *at);
    layout.handlers.sort_unstable_by_key(|h| h.return_offset);
    layout.stack_maps.sort_unstable_by_key(|m| m.return_offset);
    Ok(Linked {
        layout,
        image,
        disassembly,
    })
}

/// Writes a PC-relative call displacement `delta` (target minus place, in bytes) into the
/// call instruction at `place`.
fn patch(image: &mut [u8], kind: RelocKind, place: u32, delta: i64) -> Result<(), CompileError> {
    let at = place as usize;
    let out_of_range = || CompileError::Codegen(format!("call at {place:#x} out of range"));
    match kind {
        RelocKind::X86CallPCRel4 => {
            let delta = i32::try_from(delta).map_err(|_| out_of_range())?;
            image[at..at + 4].copy_from_slice(&delta.to_le_bytes());
        }
        RelocKind::Arm64Call => {
            if delta % 4 != 0 || !(-(1 << 27)..(1 << 27)).contains(&delta) {
                return Err(out_of_range());
            }
            let insn = u32::from_le_bytes(image[at..at + 4].try_into().expect("4 bytes"));
            let imm26 = ((delta >> 2) as u32) & 0x03ff_ffff;
            image[at..at + 4].copy_from_slice(&((insn & 0xfc00_0000) | imm26).to_le_bytes());
        }
        RelocKind::Abs8 => {
            return Err(CompileError::Codegen(format!(
                "absolute relocation at {place:#x} resolved as a call"
            )))
        }
    }
    Ok(())
}
