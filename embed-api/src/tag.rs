//! Exception tags and exceptions.
//!
//! A [`Tag`] is the identity exceptions are thrown and caught with: `try_table`'s `catch`
//! clauses match a tag, not a type, so two tags of the same type are different tags. Modules
//! define, import and export tags; the host makes them with [`Tag::new`] and passes them as
//! imports. An [`ExnRef`] is an exception: its tag and its payload values. An exception no
//! wasm handler catches ends the call with [`Error::Exception`], which the host can inspect;
//! a host function throws one into its wasm caller by returning that error.

use std::ptr::NonNull;

use wasmjit_runtime::exceptions::{VMException, VMTag};

use crate::error::{Error, Result};
use crate::store::{opaque, opaque_mut, AsContext, AsContextMut, StoreId, StoreOpaque};
use crate::types::{Canonical, FuncType, TypeSpace};
use crate::values::Val;

/// The type of a tag: its exceptions' payload is the parameters of a function type with no
/// results.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TagType {
    ty: FuncType,
}

impl TagType {
    /// The tag type whose payload is `ty`'s parameters. `ty` has no results (validation
    /// requires it of every tag).
    pub fn new(ty: FuncType) -> TagType {
        TagType { ty }
    }

    /// The function type whose parameters are the payload.
    pub fn ty(&self) -> &FuncType {
        &self.ty
    }
}

/// A tag of a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tag {
    pub(crate) store: StoreId,
    pub(crate) index: usize,
}

/// What the store knows of a tag.
pub(crate) struct TagData {
    /// The tag's runtime record; its address is the tag's identity.
    pub(crate) ptr: NonNull<VMTag>,
    pub(crate) ty: TagType,
}

impl Tag {
    /// A new tag of type `ty`, distinct from every other tag.
    pub fn new(mut store: impl AsContextMut, ty: &TagType) -> Result<Tag> {
        if ty.ty().results().len() != 0 {
            return Err(Error::Type(format!(
                "a tag's function type has no results, not {}",
                ty.ty()
            )));
        }
        let store = opaque_mut(&mut store);
        let canonical = ty.ty().to_codegen(&Canonical::new(store.engine.types()));
        let tag = Box::new(VMTag {
            type_id: store.engine.types().register(&canonical),
            ty: canonical,
        });
        let ptr = NonNull::from(&*tag);
        store.owned_tags.push(tag);
        Ok(store.tag_for_ptr(ptr, ty.clone()))
    }

    /// The tag's type.
    pub fn ty(&self, store: impl AsContext) -> TagType {
        self.data(opaque(&store)).ty.clone()
    }

    pub(crate) fn data<'a>(&self, store: &'a StoreOpaque) -> &'a TagData {
        store.check(self.store);
        &store.tags[self.index]
    }
}

/// The public type of a tag of `store`.
pub(crate) fn tag_type(store: &StoreOpaque, tag: &VMTag) -> TagType {
    TagType::new(FuncType::from_codegen(
        &tag.ty,
        &TypeSpace::engine(store.engine.types()),
    ))
}

/// An exception of a store: a tag and the payload values it was thrown with. Rethrowing
/// keeps the identity: the same exception is caught again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExnRef {
    pub(crate) store: StoreId,
    pub(crate) ptr: NonNull<VMException>,
}

// SAFETY: the handle is only dereferenced through its store, which checks the id; the
// exception lives as long as that store.
unsafe impl Send for ExnRef {}
// SAFETY: as above.
unsafe impl Sync for ExnRef {}

impl ExnRef {
    /// A new exception of `tag` carrying `payload`, for a host function to throw (return
    /// `Err(Error::Exception(exn))`). The values must have the tag's payload types.
    pub fn new(mut store: impl AsContextMut, tag: &Tag, payload: &[Val]) -> Result<ExnRef> {
        let store = opaque_mut(&mut store);
        let data = tag.data(store);
        let (ptr, ty) = (data.ptr, data.ty.clone());
        let params: Vec<_> = ty.ty().params().collect();
        if params.len() != payload.len() {
            return Err(Error::Type(format!(
                "tag of type {} given {} payload values",
                ty.ty(),
                payload.len()
            )));
        }
        let mut values = Vec::with_capacity(payload.len());
        for (value, expected) in payload.iter().zip(params) {
            if value.ty() != expected {
                return Err(Error::Type(format!(
                    "payload value of type {} where {expected} was expected",
                    value.ty()
                )));
            }
            values.push(value.to_raw(store)?);
        }
        let exn = VMException::new(ptr.as_ptr(), values.into());
        // SAFETY: the store is exclusively borrowed: no wasm of it runs meanwhile.
        let exn = unsafe { store.vm.exceptions.push(exn) };
        Ok(ExnRef {
            store: store.id,
            ptr: NonNull::new(exn).expect("a pushed exception has an address"),
        })
    }

    /// The handle of an exception of `store` thrown by wasm.
    pub(crate) fn from_raw(store: &StoreOpaque, exn: *mut VMException) -> ExnRef {
        ExnRef {
            store: store.id,
            ptr: NonNull::new(exn).expect("a thrown exception is never null"),
        }
    }

    fn vm<'a>(&self, store: &'a StoreOpaque) -> &'a VMException {
        store.check(self.store);
        // SAFETY: the exception belongs to this store (checked) and lives as long as it.
        unsafe { self.ptr.as_ref() }
    }

    /// The tag the exception was thrown with.
    pub fn tag(&self, mut store: impl AsContextMut) -> Tag {
        let store = opaque_mut(&mut store);
        let tag = self.vm(store).tag;
        // SAFETY: a tag outlives the exceptions thrown with it (both belong to the store).
        let ty = tag_type(store, unsafe { &*tag });
        let ptr = NonNull::new(tag.cast_mut()).expect("an exception always has a tag");
        store.tag_for_ptr(ptr, ty)
    }

    /// The payload values, in order.
    pub fn payload(&self, mut store: impl AsContextMut) -> Vec<Val> {
        let store = opaque_mut(&mut store);
        let vm = self.vm(store);
        // SAFETY: as in `tag`.
        let ty = tag_type(store, unsafe { &*vm.tag });
        let raw: Vec<_> = vm.values().to_vec();
        ty.ty()
            .params()
            .zip(raw)
            .map(|(t, raw)| Val::from_raw(store, raw, &t))
            .collect()
    }

    /// The runtime record, for throwing from a host function.
    pub(crate) fn as_raw(&self) -> *mut VMException {
        self.ptr.as_ptr()
    }
}
