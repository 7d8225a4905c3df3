//! Internal references (`anyref`): structs, arrays and `i31`s of wasm's GC, and host
//! values wasm internalised (`any.convert_extern`).

use wasmjit_codegen::gc_layout::{GC_ARRAY_LENGTH, GC_KIND, GC_KIND_ARRAY, GC_KIND_STRUCT};

use crate::externref::{ExternData, ExternRef};
use crate::store::{opaque, opaque_mut, AsContext, AsContextMut, StoreId, StoreOpaque};

/// A 31-bit integer, the payload of an `i31ref`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct I31(u32);

impl I31 {
    /// The low 31 bits of `value` (as `ref.i31` keeps them).
    pub fn wrapping_u32(value: u32) -> Self {
        I31(value & 0x7fff_ffff)
    }

    /// The low 31 bits of `value`, as `ref.i31` keeps them.
    pub fn wrapping_i32(value: i32) -> Self {
        I31::wrapping_u32(value as u32)
    }

    /// The value zero-extended (`i31.get_u`).
    pub fn get_u32(self) -> u32 {
        self.0
    }

    /// The value sign-extended (`i31.get_s`).
    pub fn get_i32(self) -> i32 {
        ((self.0 << 1) as i32) >> 1
    }
}

/// A non-null internal reference: a struct, an array, an `i31`, or a host value that wasm
/// internalised. It lives as long as its store (the store's GC heap does not reclaim
/// objects yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AnyRef {
    pub(crate) store: StoreId,
    /// The reference's word, as wasm holds it: `(value << 1) | 1` for an `i31`, an address
    /// otherwise.
    pub(crate) raw: u64,
}

/// A host value that wasm externalised from an internal reference (`extern.convert_any`),
/// kept as an `externref` of the store: its word is the internal reference's.
pub(crate) struct Externalized(pub(crate) u64);

impl AnyRef {
    /// The `i31ref` of `value`.
    pub fn from_i31(store: impl AsContextMut, value: I31) -> AnyRef {
        let mut store = store;
        AnyRef {
            store: opaque_mut(&mut store).id,
            raw: (u64::from(value.0) << 1) | 1,
        }
    }

    /// The host value `value`, internalised (what `any.convert_extern` gives).
    pub fn from_extern(store: impl AsContext, value: &ExternRef) -> AnyRef {
        let store = opaque(&store);
        store.check(value.store);
        AnyRef {
            store: store.id,
            raw: extern_word(store, value.index),
        }
    }

    /// The payload, if this is an `i31ref`.
    pub fn as_i31(&self) -> Option<I31> {
        (self.raw & 1 == 1).then_some(I31((self.raw >> 1) as u32 & 0x7fff_ffff))
    }

    /// Whether this is a struct.
    pub fn is_struct(&self, store: impl AsContext) -> bool {
        self.object_kind(opaque(&store)) == Some(GC_KIND_STRUCT)
    }

    /// Whether this is an array.
    pub fn is_array(&self, store: impl AsContext) -> bool {
        self.object_kind(opaque(&store)) == Some(GC_KIND_ARRAY)
    }

    /// The number of elements, if this is an array.
    pub fn array_len(&self, store: impl AsContext) -> Option<u32> {
        let store = opaque(&store);
        (self.object_kind(store) == Some(GC_KIND_ARRAY))
            // SAFETY: a live array (checked) has its length at this offset.
            .then(|| unsafe {
                ((self.raw + u64::from(GC_ARRAY_LENGTH)) as usize as *const u32).read()
            })
    }

    /// The host value, if this is an internalised `externref`.
    pub fn as_extern(&self, store: impl AsContext) -> Option<ExternRef> {
        let store = opaque(&store);
        store.check(self.store);
        if self.raw & 1 == 1 || self.object_kind(store).is_some() {
            return None;
        }
        let index = *store.extern_by_ptr.get(&(self.raw as usize))?;
        Some(ExternRef {
            store: store.id,
            index,
        })
    }

    /// The object's kind, if this is a struct or an array.
    fn object_kind(&self, store: &StoreOpaque) -> Option<u32> {
        store.check(self.store);
        // SAFETY: no wasm of the store runs while the host holds `store`.
        let object = self.raw & 1 == 0 && unsafe { store.vm.gc_heap.contains(self.raw as usize) };
        // SAFETY: an object of the heap (checked) starts with its header.
        object.then(|| unsafe { ((self.raw + u64::from(GC_KIND)) as usize as *const u32).read() })
    }
}

/// The word wasm holds for the store's `externref` number `index`: an externalised internal
/// reference's own word, or the address of the host value's record.
pub(crate) fn extern_word(store: &StoreOpaque, index: usize) -> u64 {
    let data: &ExternData = &store.externs[index];
    match data.value.downcast_ref::<Externalized>() {
        Some(Externalized(word)) => *word,
        None => data as *const ExternData as usize as u64,
    }
}
