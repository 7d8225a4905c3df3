//! Copy-on-write memory images: a module's data segments laid out once in a `memfd`, then
//! mapped private into every new instance's memory instead of copied.
//!
//! Reads of an imaged page come straight from the page cache and a write copies only the
//! page written, so a data segment costs nothing at instantiation until it is written.
//!
//! A module gets images only when mapping them up front cannot be told apart from the spec's
//! segment-by-segment copying, which happens in order and stops at the first segment that
//! does not fit. So every active segment must be static and known to fit:
//! - every active data segment writes one of the module's own, non-shared memories at an
//!   `i32.const` offset, and ends within the memory's initial size;
//! - every active element segment writes one of the module's own tables at an `i32.const`
//!   offset and ends within its initial size (an element segment that traps would have
//!   stopped the data segments after it).
//!
//! Otherwise (imported memories or tables, offsets read from imported globals, segments that
//! trap, shared memories) the module's segments are copied as before. Overlapping segments
//! need no fallback: they are written to the image in order, so the later one wins as it
//! does when copying. Sparse images are fine as far as memory goes (the holes of a `memfd`
//! take none), but an image more than 1 MiB long and less than half data also falls back to
//! copying: the kernel fills holes with page-cache pages when they are read, which a zeroed
//! anonymous page does better.

use std::fs::File;
use std::io;
use std::os::fd::FromRawFd;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use wasmjit_codegen::{ConstExpr, ConstOp, DataKind, ElemKind, ModuleInfo};

use crate::mmap::{page_size, Mmap};

/// Above this length an image must be at least half data to be used.
const SPARSE_IMAGE_THRESHOLD: usize = 1 << 20;

/// One memory's initial contents, in a `memfd`.
#[derive(Debug)]
pub struct MemoryImage {
    file: File,
    /// A read-only view of the file, from which a pool slot's resident pages are restored.
    view: Mmap,
    offset: usize,
    len: usize,
}

impl MemoryImage {
    /// The file holding the image's bytes from its start.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The image's bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the view maps `len` bytes of the file read-only for as long as `self`
        // lives, and the file is never written after `build_image` returns.
        unsafe { std::slice::from_raw_parts(self.view.as_ptr(), self.len) }
    }

    /// Where the image starts in the memory, in bytes (host-page aligned).
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The image's length in bytes (whole host pages).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the image is empty (never: images are made only for non-empty data).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The images of a module's defined memories, by defined-memory index; empty when the
/// module's segments must be copied (see the module docs for when).
pub fn module_images(info: &ModuleInfo) -> Box<[Option<Arc<MemoryImage>>]> {
    let Some(layout) = static_layout(info) else {
        return Box::default();
    };
    let mut images = Vec::with_capacity(layout.len());
    for segments in layout {
        match build_image(&segments) {
            Ok(Built::Image(image)) => images.push(Some(Arc::new(image))),
            Ok(Built::NoData) => images.push(None),
            // Too sparse, or no memfd (an old kernel, a sandbox): the whole module's segments
            // are copied, since they must be applied in order across memories.
            Ok(Built::TooSparse) | Err(_) => return Box::default(),
        }
    }
    images.into_boxed_slice()
}

/// The offset of a constant expression that is one `i32.const`.
fn static_offset(expr: &ConstExpr) -> Option<u64> {
    match expr.ops.as_slice() {
        [ConstOp::I32Const(v)] => Some(u64::from(*v as u32)),
        _ => None,
    }
}

/// A memory's active data segments, in order, as `(offset, bytes)`.
type Segments<'a> = Vec<(usize, &'a [u8])>;

/// For each defined memory, its active data segments, or `None` when some segment is not
/// static or might trap.
fn static_layout(info: &ModuleInfo) -> Option<Vec<Segments<'_>>> {
    for segment in &info.elements {
        if let ElemKind::Active { table, offset } = &segment.kind {
            if *table < info.num_imported_tables {
                return None;
            }
            let end = static_offset(offset)?.checked_add(segment.items.len() as u64)?;
            if end > info.tables.get(*table as usize)?.minimum {
                return None;
            }
        }
    }
    let defined = &info.memories[info.num_imported_memories as usize..];
    let mut layout: Vec<Segments<'_>> = vec![Vec::new(); defined.len()];
    for segment in &info.data {
        let DataKind::Active { memory, offset } = &segment.kind else {
            continue;
        };
        let index = memory.checked_sub(info.num_imported_memories)? as usize;
        let ty = defined.get(index)?;
        if ty.shared || ty.memory64 {
            return None;
        }
        let start = static_offset(offset)?;
        let end = start.checked_add(segment.bytes.len() as u64)?;
        if u128::from(end) > ty.pages_to_bytes(ty.minimum) {
            return None;
        }
        layout[index].push((usize::try_from(start).ok()?, &segment.bytes));
    }
    Some(layout)
}

/// What [`build_image`] made of one memory's segments.
enum Built {
    /// The image.
    Image(MemoryImage),
    /// The segments hold no bytes: the memory starts zeroed.
    NoData,
    /// The image would be more than 1 MiB and less than half data.
    TooSparse,
}

/// Writes `segments` into a new `memfd`.
fn build_image(segments: &[(usize, &[u8])]) -> io::Result<Built> {
    let nonempty = || segments.iter().filter(|(_, bytes)| !bytes.is_empty());
    let (Some(start), Some(end)) = (
        nonempty().map(|(offset, _)| *offset).min(),
        nonempty().map(|(offset, bytes)| offset + bytes.len()).max(),
    ) else {
        return Ok(Built::NoData);
    };
    let page = page_size();
    let offset = start - start % page;
    let len = end.next_multiple_of(page) - offset;
    let data: usize = nonempty().map(|(_, bytes)| bytes.len()).sum();
    if len > SPARSE_IMAGE_THRESHOLD && data < len / 2 {
        return Ok(Built::TooSparse);
    }
    // SAFETY: the name is a NUL-terminated string; the result is checked.
    let fd = unsafe { libc::memfd_create(c"wasm-memory-image".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    let file = unsafe { File::from_raw_fd(fd) };
    file.set_len(len as u64)?;
    for (start, bytes) in nonempty() {
        file.write_all_at(bytes, (start - offset) as u64)?;
    }
    let view = Mmap::map_file_readonly(&file, len)?;
    Ok(Built::Image(MemoryImage {
        file,
        view,
        offset,
        len,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmjit_codegen::{DataSegment, MemoryType};

    fn info(segments: &[(u64, &[u8])]) -> ModuleInfo {
        let mut info = ModuleInfo::default();
        info.memories = vec![MemoryType {
            minimum: 2,
            maximum: None,
            shared: false,
            memory64: false,
            page_size_log2: wasmjit_codegen::WASM_PAGE_SIZE_LOG2,
        }];
        info.data = segments
            .iter()
            .map(|(offset, bytes)| DataSegment {
                kind: DataKind::Active {
                    memory: 0,
                    offset: ConstExpr {
                        ops: vec![ConstOp::I32Const(*offset as i32)],
                    },
                },
                bytes: bytes.to_vec(),
            })
            .collect();
        info
    }

    #[test]
    fn overlapping_segments_are_laid_out_in_order() {
        let images = module_images(&info(&[(70_000, b"abcdef"), (70_002, b"XY")]));
        let image = images[0].as_ref().expect("an image");
        assert_eq!(image.offset(), 70_000 - 70_000 % page_size());
        let at = 70_000 - image.offset();
        assert_eq!(&image.bytes()[at..at + 6], b"abXYef");
        assert_eq!(image.bytes().len(), image.len());
    }

    #[test]
    fn segments_past_the_initial_size_fall_back_to_copying() {
        assert!(module_images(&info(&[(0, b"a"), (2 << 16, b"b")])).is_empty());
    }

    #[test]
    fn sparse_images_fall_back_to_copying() {
        let mut info = info(&[(0, b"a")]);
        info.memories[0].minimum = 64;
        info.memories.push(info.memories[0]);
        for offset in [0, 3 << 20] {
            info.data.push(DataSegment {
                kind: DataKind::Active {
                    memory: 1,
                    offset: ConstExpr {
                        ops: vec![ConstOp::I32Const(offset)],
                    },
                },
                bytes: b"far apart".to_vec(),
            });
        }
        assert!(module_images(&info).is_empty());
    }

    #[test]
    fn no_data_no_image() {
        let images = module_images(&info(&[(5, b"")]));
        assert!(images[0].is_none());
    }
}
