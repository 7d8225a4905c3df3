//! Internal references (`anyref`): structs, arrays and `i31`s of wasm's GC, and host
//! values wasm internalised (`any.convert_extern`).

use wasmjit_codegen::gc_layout::{
    StructLayout, GC_ARRAY_LENGTH, GC_KIND, GC_KIND_ARRAY, GC_KIND_STRUCT, GC_PAYLOAD, GC_TYPE_ID,
};
use wasmjit_codegen::{self as cg, CompositeType};

use crate::error::{Error, Result};
use crate::externref::{ExternData, ExternRef};
use crate::roots::Root;
use crate::store::{opaque, opaque_mut, AsContext, AsContextMut, StoreId, StoreOpaque};
use crate::types::{TypeSpace, ValType};
use crate::values::Val;

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
/// internalised.
///
/// A handle to an object roots it: the collector keeps the object (at its address: nothing
/// moves) while the handle's root is held. Roots are released by scope (see
/// [`crate::RootScope`]): the handles a host function gets or makes are released when it
/// returns, those made in a `RootScope` when the scope ends, and the others with the store.
/// Using a released handle is an error (and the queries answer as for a value of another
/// kind), never a read of a collected object. Handles compare equal when they refer to the
/// same object.
#[derive(Clone, Copy, Debug)]
pub struct AnyRef {
    pub(crate) store: StoreId,
    /// The reference's word, as wasm holds it: `(value << 1) | 1` for an `i31`, an address
    /// otherwise.
    raw: u64,
    /// The root that keeps an object alive (none for an `i31` or a host value).
    root: Option<Root>,
}

impl PartialEq for AnyRef {
    fn eq(&self, other: &Self) -> bool {
        (self.store, self.raw) == (other.store, other.raw)
    }
}

impl Eq for AnyRef {}

impl std::hash::Hash for AnyRef {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.store, self.raw).hash(state);
    }
}

/// A host value that wasm externalised from an internal reference (`extern.convert_any`),
/// kept as an `externref` of the store: its word is the internal reference's.
pub(crate) struct Externalized(pub(crate) u64);

impl AnyRef {
    /// A handle to the reference `raw` that wasm gave the host: an object's word is
    /// added to the store's host roots first.
    pub(crate) fn rooted(store: &mut StoreOpaque, raw: u64) -> AnyRef {
        // SAFETY: the store is borrowed, so no wasm of it runs.
        let object = raw & 1 == 0 && unsafe { store.vm.gc_heap.contains(raw as usize) };
        AnyRef {
            store: store.id,
            raw,
            root: object.then(|| store.host_roots.push(raw)),
        }
    }

    /// The reference's word, as wasm holds it, if the handle is of `store` and still rooted.
    pub(crate) fn word(&self, store: &StoreOpaque) -> Result<u64> {
        store.check(self.store);
        if let Some(root) = self.root {
            store.host_roots.check(root)?;
        }
        Ok(self.raw)
    }

    /// The `i31ref` of `value`.
    pub fn from_i31(store: impl AsContextMut, value: I31) -> AnyRef {
        let mut store = store;
        AnyRef {
            store: opaque_mut(&mut store).id,
            raw: (u64::from(value.0) << 1) | 1,
            root: None,
        }
    }

    /// The host value `value`, internalised (what `any.convert_extern` gives).
    pub fn from_extern(store: impl AsContext, value: &ExternRef) -> AnyRef {
        let store = opaque(&store);
        store.check(value.store);
        AnyRef {
            store: store.id,
            raw: extern_word(store, value.index),
            root: None,
        }
    }

    /// The payload, if this is an `i31ref`.
    pub fn as_i31(&self) -> Option<I31> {
        (self.raw & 1 == 1).then_some(I31((self.raw >> 1) as u32 & 0x7fff_ffff))
    }

    /// Whether this is a struct (an error if the handle was released).
    pub fn is_struct(&self, store: impl AsContext) -> Result<bool> {
        Ok(self.object_kind(opaque(&store))? == Some(GC_KIND_STRUCT))
    }

    /// Whether this is an array (an error if the handle was released).
    pub fn is_array(&self, store: impl AsContext) -> Result<bool> {
        Ok(self.object_kind(opaque(&store))? == Some(GC_KIND_ARRAY))
    }

    /// The number of elements, if this is an array (an error if the handle was released).
    pub fn array_len(&self, store: impl AsContext) -> Result<Option<u32>> {
        let store = opaque(&store);
        let kind = self.object_kind(store)?;
        Ok((kind == Some(GC_KIND_ARRAY))
            // SAFETY: a live array (checked) has its length at this offset.
            .then(|| unsafe {
                ((self.raw + u64::from(GC_ARRAY_LENGTH)) as usize as *const u32).read()
            }))
    }

    /// The host value, if this is an internalised `externref`.
    pub fn as_extern(&self, store: impl AsContext) -> Option<ExternRef> {
        let store = opaque(&store);
        store.check(self.store);
        if self.raw & 1 == 1 || self.root.is_some() {
            return None;
        }
        let index = *store.extern_by_ptr.get(&(self.raw as usize))?;
        Some(ExternRef {
            store: store.id,
            index,
        })
    }

    /// Field `index` of this struct (a packed field zero-extended to an `i32`).
    pub fn struct_field(&self, mut store: impl AsContextMut, index: usize) -> Result<Val> {
        let store = opaque_mut(&mut store);
        let (address, field) = self.field(store, Place::Field(index))?;
        Ok(read_field(store, address, field))
    }

    /// Sets field `index` of this struct to `value` (a packed field keeps its low bits);
    /// an error if the field is immutable or `value` is not of its type.
    pub fn set_struct_field(
        &self,
        mut store: impl AsContextMut,
        index: usize,
        value: Val,
    ) -> Result<()> {
        let store = opaque_mut(&mut store);
        let (address, field) = self.field(store, Place::Field(index))?;
        write_field(store, address, field, value)
    }

    /// Element `index` of this array (a packed element zero-extended to an `i32`).
    pub fn array_get(&self, mut store: impl AsContextMut, index: u32) -> Result<Val> {
        let store = opaque_mut(&mut store);
        let (address, field) = self.field(store, Place::Element(index))?;
        Ok(read_field(store, address, field))
    }

    /// Sets element `index` of this array to `value` (a packed element keeps its low bits);
    /// an error if the elements are immutable or `value` is not of their type.
    pub fn array_set(&self, mut store: impl AsContextMut, index: u32, value: Val) -> Result<()> {
        let store = opaque_mut(&mut store);
        let (address, field) = self.field(store, Place::Element(index))?;
        write_field(store, address, field, value)
    }

    /// The address and type of a struct field or array element, or an error naming what is
    /// missing.
    fn field(&self, store: &StoreOpaque, place: Place) -> Result<(usize, cg::FieldType)> {
        // SAFETY: an object of the heap (checked by `object_kind`) starts with its header.
        let header =
            |offset: u32| unsafe { ((self.raw + u64::from(offset)) as usize as *const u32).read() };
        let ty = match self.object_kind(store)? {
            Some(_) => store.engine.types().get_type(header(GC_TYPE_ID)).composite,
            None => return Err(Error::Type("not a struct or an array".into())),
        };
        match (place, ty) {
            (Place::Field(index), CompositeType::Struct(fields)) => {
                let field = *fields.get(index).ok_or_else(|| {
                    Error::Type(format!(
                        "the struct has {} fields, not {}",
                        fields.len(),
                        index + 1
                    ))
                })?;
                let offset = StructLayout::new(&fields).offsets[index];
                Ok((self.raw as usize + offset as usize, field))
            }
            (Place::Element(index), CompositeType::Array(field)) => {
                let len = header(GC_ARRAY_LENGTH);
                if index >= len {
                    return Err(Error::Type(format!(
                        "element {index} of an array of {len} elements"
                    )));
                }
                let size = field.storage.size() as usize;
                Ok((
                    self.raw as usize + GC_PAYLOAD as usize + index as usize * size,
                    field,
                ))
            }
            (Place::Field(_), _) => Err(Error::Type("not a struct".into())),
            (Place::Element(_), _) => Err(Error::Type("not an array".into())),
        }
    }

    /// The object's kind, if this is a struct or an array; an error if the handle was
    /// released.
    fn object_kind(&self, store: &StoreOpaque) -> Result<Option<u32>> {
        self.word(store)?;
        // SAFETY: an object (a handle with a root, held: checked) starts with its header.
        Ok(self
            .root
            .map(|_| unsafe { ((self.raw + u64::from(GC_KIND)) as usize as *const u32).read() }))
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

/// Which part of an object the host reads or writes.
#[derive(Clone, Copy)]
enum Place {
    /// A struct's field.
    Field(usize),
    /// An array's element.
    Element(u32),
}

/// The public type a field of `storage` reads as.
fn field_type(store: &StoreOpaque, storage: cg::StorageType) -> ValType {
    ValType::from_codegen(storage.unpacked(), &TypeSpace::engine(store.engine.types()))
}

/// Reads the field of type `field` at `address`, a live object's field.
fn read_field(store: &mut StoreOpaque, address: usize, field: cg::FieldType) -> Val {
    let mut raw = [0u8; 16];
    // SAFETY: the field lies inside a live object of the store (checked by the caller), and
    // no wasm runs while the host holds the store.
    unsafe {
        std::ptr::copy_nonoverlapping(
            address as *const u8,
            raw.as_mut_ptr(),
            field.storage.size() as usize,
        )
    };
    let ty = field_type(store, field.storage);
    Val::from_raw(store, raw, &ty)
}

/// Writes `value` to the field of type `field` at `address`, a live object's field.
fn write_field(
    store: &StoreOpaque,
    address: usize,
    field: cg::FieldType,
    value: Val,
) -> Result<()> {
    if !field.mutable {
        return Err(Error::Type("the field is immutable".into()));
    }
    let ty = field_type(store, field.storage);
    value.check(store, &ty, "field")?;
    let raw = value.to_raw(store)?;
    // SAFETY: the field lies inside a live object of the store (checked by the caller), and
    // no wasm runs while the host holds the store.
    unsafe {
        std::ptr::copy_nonoverlapping(
            raw.as_ptr(),
            address as *mut u8,
            field.storage.size() as usize,
        )
    };
    Ok(())
}
