//! Globals.

use std::ptr::NonNull;

use wasmjit_runtime::vmcontext::VMGlobal;

use crate::error::{Error, Result};
use crate::store::{opaque, opaque_mut, AsContext, AsContextMut, GlobalData, StoreId, StoreOpaque};
use crate::types::{GlobalType, Mutability, TypeSpace, ValType};
use crate::values::Val;

/// A global variable of a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Global {
    pub(crate) store: StoreId,
    pub(crate) index: usize,
}

impl Global {
    /// A new global of type `ty` holding `value`.
    pub fn new(mut store: impl AsContextMut, ty: GlobalType, value: Val) -> Result<Global> {
        let store = opaque_mut(&mut store);
        value.check(store, ty.content(), "global initial value")?;
        let global = Box::new(VMGlobal::default());
        // SAFETY: the global was just created; nothing else refers to it.
        unsafe { *global.bytes.get() = value.to_raw(store)? };
        let ptr = NonNull::from(&*global);
        store.owned_globals.push(global);
        let index = store.push_global(ptr, ty.to_codegen(store.engine.types()));
        Ok(Global {
            store: store.id,
            index,
        })
    }

    pub(crate) fn data<'a>(&self, store: &'a StoreOpaque) -> &'a GlobalData {
        store.check(self.store);
        &store.globals[self.index]
    }

    /// The global's type.
    pub fn ty(&self, store: impl AsContext) -> GlobalType {
        let store = opaque(&store);
        let space = TypeSpace::Engine(store.engine.types());
        GlobalType::from_codegen(&self.data(store).ty, &space)
    }

    /// The current value.
    pub fn get(&self, mut store: impl AsContextMut) -> Val {
        let store = opaque_mut(&mut store);
        let data = self.data(store);
        let ty = ValType::from_codegen(data.ty.content, &TypeSpace::Engine(store.engine.types()));
        // SAFETY: the storage lives as long as the store, and no wasm runs while the host
        // holds the store exclusively.
        let raw = unsafe { *data.ptr.as_ref().bytes.get() };
        Val::from_raw(store, raw, &ty)
    }

    /// Sets the value; an error if the global is immutable or `value` has another type.
    pub fn set(&self, mut store: impl AsContextMut, value: Val) -> Result<()> {
        let store = opaque_mut(&mut store);
        let data = self.data(store);
        let ty = GlobalType::from_codegen(&data.ty, &TypeSpace::Engine(store.engine.types()));
        if ty.mutability() == Mutability::Const {
            return Err(Error::Type("cannot set an immutable global".into()));
        }
        value.check(store, ty.content(), "global value")?;
        let raw = value.to_raw(store)?;
        // SAFETY: as in `get`.
        unsafe { *data.ptr.as_ref().bytes.get() = raw };
        Ok(())
    }
}
