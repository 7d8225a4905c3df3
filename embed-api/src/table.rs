//! Tables of function references.

use std::ptr::NonNull;

use wasmjit_runtime::table::Table as RtTable;
use wasmjit_runtime::vmcontext::VMFuncRef;

use crate::error::{Error, Result};
use crate::store::{opaque, opaque_mut, AsContext, AsContextMut, StoreId, StoreOpaque};
use crate::types::{TableType, TypeSpace, ValType};
use crate::values::Val;

/// A table of a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Table {
    pub(crate) store: StoreId,
    pub(crate) index: usize,
}

impl Table {
    /// A new table of type `ty`, every element `init`: a table of functions (`funcref`,
    /// `(ref func)`, `(ref null $t)`, ...); `init` must be of the element type, so a table of
    /// non-nullable references starts with a function in every element.
    pub fn new(mut store: impl AsContextMut, ty: TableType, init: Val) -> Result<Table> {
        let store = opaque_mut(&mut store);
        if !ty.element().heap_type().is_func() {
            return Err(Error::Type(format!(
                "tables of {} are not supported yet",
                ty.element()
            )));
        }
        let element_ty = ValType::Ref(ty.element().clone());
        let init = element(store, &element_ty, init)?;
        store.limit_new_table(ty.minimum(), ty.maximum())?;
        let ty = ty.to_codegen(store.engine.types());
        let mut table = Box::new(RtTable::new(ty, init).map_err(Error::table)?);
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
        let store = opaque(&store);
        // SAFETY: the table lives as long as the store, which is borrowed.
        let ty = unsafe { self.runtime(store).as_ref() }.ty();
        TableType::from_codegen(&ty, &TypeSpace::Engine(store.engine.types()))
    }

    /// The element type, in the public form.
    fn element_type(&self, store: &StoreOpaque) -> ValType {
        // SAFETY: the table lives as long as the store, which is borrowed.
        let element = unsafe { self.runtime(store).as_ref() }.ty().element;
        let space = TypeSpace::Engine(store.engine.types());
        ValType::from_codegen(wasmjit_codegen::ValType::Ref(element), &space)
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
        let raw = table.get(index)?;
        let ty = self.element_type(store);
        Some(Val::from_raw(
            store,
            (raw as usize as u128).to_le_bytes(),
            &ty,
        ))
    }

    /// Sets element `index` to `value`.
    pub fn set(&self, mut store: impl AsContextMut, index: u64, value: Val) -> Result<()> {
        let store = opaque_mut(&mut store);
        let ty = self.element_type(store);
        let value = element(store, &ty, value)?;
        // SAFETY: the table lives as long as the store, which is borrowed exclusively.
        unsafe { self.runtime(store).as_mut() }
            .set(index, value)
            .map_err(Error::table)?;
        Ok(())
    }

    /// Grows the table by `delta` elements set to `init`, returning the old size.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64, init: Val) -> Result<u64> {
        let store = opaque_mut(&mut store);
        let ty = self.element_type(store);
        let init = element(store, &ty, init)?;
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
fn element(store: &StoreOpaque, element: &ValType, value: Val) -> Result<*const VMFuncRef> {
    value.check(store, element, "table element")?;
    let raw = u128::from_le_bytes(value.to_raw(store)?);
    Ok(raw as usize as *const VMFuncRef)
}
