//! How GC objects (structs and arrays) are laid out in a store's GC heap.
//!
//! Compiled code reads and writes fields inline at the offsets given here, and the runtime
//! allocates objects of the sizes given here, so both sides share this one module.
//!
//! ```text
//! 0   type_id: u32   engine-wide id of the object's defined type
//! 4   kind: u32      GC_KIND_STRUCT or GC_KIND_ARRAY
//! 8   length: u32    an array's element count (0 for a struct)
//! 12  (reserved for the collector's mark bits)
//! 16  fields         a struct's fields at `StructLayout::offsets`, or an array's elements,
//!                    `StorageType::size` bytes apart
//! ```
//!
//! A reference is one pointer-sized word: null is 0, an `i31` is `(value << 1) | 1`, a GC
//! object its (8-byte aligned) address; an internalised host reference keeps the host's
//! address, which lies outside the GC heap.

use crate::module::FieldType;

/// Offset of the type id in an object's header.
pub const GC_TYPE_ID: u32 = 0;
/// Offset of the kind in an object's header.
pub const GC_KIND: u32 = 4;
/// Offset of an array's length.
pub const GC_ARRAY_LENGTH: u32 = 8;
/// Offset of the header word holding the block's size in bytes (a multiple of
/// [`GC_ALIGN`]) and, in bit 0, the collector's mark; compiled code that allocates inline
/// writes it with the length as one 8-byte word.
pub const GC_MARK: u32 = 12;
/// Offset of the first field or element.
pub const GC_PAYLOAD: u32 = 16;
/// The kind of a struct.
pub const GC_KIND_STRUCT: u32 = 1;
/// The kind of an array.
pub const GC_KIND_ARRAY: u32 = 2;
/// Objects are aligned (and sized) to this many bytes.
pub const GC_ALIGN: u32 = 16;

/// Where a struct type's fields are and how big its objects are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructLayout {
    /// Each field's offset from the object's start, in field order.
    pub offsets: Vec<u32>,
    /// The object's size in bytes, header included, a multiple of [`GC_ALIGN`].
    pub size: u32,
}

impl StructLayout {
    /// The layout of a struct of `fields`: each field at the next offset aligned to its
    /// size, in order.
    pub fn new(fields: &[FieldType]) -> Self {
        let mut end = GC_PAYLOAD;
        let offsets = fields
            .iter()
            .map(|field| {
                let size = field.storage.size();
                let offset = end.next_multiple_of(size);
                end = offset + size;
                offset
            })
            .collect();
        StructLayout {
            offsets,
            size: end.next_multiple_of(GC_ALIGN),
        }
    }
}

/// The size in bytes of an array of `len` elements of `elem_size` bytes, header included
/// and rounded up to [`GC_ALIGN`]; `None` if it does not fit in a `u32`.
pub fn array_size(len: u32, elem_size: u32) -> Option<u32> {
    len.checked_mul(elem_size)?
        .checked_add(GC_PAYLOAD)?
        .checked_next_multiple_of(GC_ALIGN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module::{StorageType, ValType};

    fn field(storage: StorageType) -> FieldType {
        FieldType {
            storage,
            mutable: true,
        }
    }

    #[test]
    fn fields_are_aligned_to_their_size() {
        let layout = StructLayout::new(&[
            field(StorageType::I8),
            field(StorageType::Val(ValType::I64)),
            field(StorageType::I16),
            field(StorageType::Val(ValType::V128)),
        ]);
        assert_eq!(layout.offsets, [16, 24, 32, 48]);
        assert_eq!(layout.size, 64);
        assert_eq!(StructLayout::new(&[]).size, 16);
    }

    #[test]
    fn array_sizes_round_up_and_refuse_overflow() {
        assert_eq!(array_size(3, 1), Some(32));
        assert_eq!(array_size(0, 8), Some(16));
        assert_eq!(array_size(u32::MAX, 2), None);
    }
}

const _: () = assert!(GC_MARK == GC_ARRAY_LENGTH + 4 && GC_KIND == GC_TYPE_ID + 4);
