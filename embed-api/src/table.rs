//! Tables of function references.

use std::ptr::NonNull;

use wasmjit_runtime::table::Table as RtTable;
use wasmjit_runtime::vmcontext::VMFuncRef;

use crate::error::{Error, Result};
use crate::store::{opaque, opaque_mut, AsContext, AsContextMut, StoreId, StoreOpaque};
use crate::types::{TableType, ValType};
use crate::values::Val;

/// A table of a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Table {
    pub(crate) store: StoreId,
    pub(crate) index: usize,
}

impl Table {
    /// A new table of type `ty`, every element `init`.
    pub fn new(mut store: impl AsContextMut, ty: TableType, init: Val) -> Result<Table> {
        let store = opaque_mut(&mut store);
        if ty.element() != ValType::FuncRef {
            return Err(Error::Type(format!(
                "tables of {} are not supported yet",
                ty.element()
            )));
        }
        let init = element(store, ty.element(), init)?;
        store.limit_new_table(ty.minimum(), ty.maximum())?;
        let mut table = Box::new(RtTable::new(ty.to_codegen(), init).map_err(Error::table)?);
        let ptr = NonNull::from(&mut *table);
        store.owned_tables.push(table);
        let index = store.push_table(ptr);
        Ok(Table {
            store: store.id,
            index,
        })
    }

    pub(crate) fn runtime(&self, store: &StoreOpaque) -> NonNull<RtTable> {
        store.check(self.store);
        store.tables[self.index]
    }

    /// The table's type, with its current size as minimum.
    pub fn ty(&self, store: impl AsContext) -> TableType {
        // SAFETY: the table lives as long as the store, which is borrowed.
        TableType::from_codegen(&unsafe { self.runtime(opaque(&store)).as_ref() }.ty())
    }

    /// Number of elements.
    pub fn size(&self, store: impl AsContext) -> u64 {
        // SAFETY: as in `ty`.
        unsafe { self.runtime(opaque(&store)).as_ref() }.size()
    }

    /// Element `index`, or `None` past the end.
    pub fn get(&self, mut store: impl AsContextMut, index: u64) -> Option<Val> {
        let store = opaque_mut(&mut store);
        // SAFETY: as in `ty`.
        let table = unsafe { self.runtime(store).as_ref() };
        let (raw, ty) = (table.get(index)?, ValType::from_codegen(table.ty().element));
        Some(Val::from_raw(
            store,
            (raw as usize as u128).to_le_bytes(),
            ty,
        ))
    }

    /// Sets element `index` to `value`.
    pub fn set(&self, mut store: impl AsContextMut, index: u64, value: Val) -> Result<()> {
        let store = opaque_mut(&mut store);
        // SAFETY: the table lives as long as the store, which is borrowed.
        let ty = unsafe { self.runtime(store).as_ref() }.ty().element;
        let value = element(store, ValType::from_codegen(ty), value)?;
        // SAFETY: the table lives as long as the store, which is borrowed exclusively.
        unsafe { self.runtime(store).as_mut() }
            .set(index, value)
            .map_err(Error::table)?;
        Ok(())
    }

    /// Grows the table by `delta` elements set to `init`, returning the old size.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64, init: Val) -> Result<u64> {
        let store = opaque_mut(&mut store);
        // SAFETY: the table lives as long as the store, which is borrowed.
        let ty = unsafe { self.runtime(store).as_ref() }.ty().element;
        let init = element(store, ValType::from_codegen(ty), init)?;
        // SAFETY: the table lives as long as the store, which is borrowed.
        if let Some(request) = unsafe { self.runtime(store).as_ref() }.grow_request(delta) {
            store.limit(request, "growing the table")?;
        }
        // SAFETY: as in `set`.
        unsafe { self.runtime(store).as_mut() }
            .grow(delta, init)
            .map_err(Error::table)
    }
}

/// The raw element for a reference `value` stored in a table of `element`s.
fn element(store: &StoreOpaque, element: ValType, value: Val) -> Result<*const VMFuncRef> {
    if value.ty() != element {
        return Err(Error::Type(format!(
            "a table of {element} cannot hold a {}",
            value.ty()
        )));
    }
    let raw = u128::from_le_bytes(value.to_raw(store)?);
    Ok(raw as usize as *const VMFuncRef)
}
