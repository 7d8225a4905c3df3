//! Host references (`externref`): opaque to wasm, any `Send + Sync` value to the host.

use std::any::Any;

use crate::store::{opaque, opaque_mut, AsContext, AsContextMut, StoreId};

/// A non-null `externref`: a host value that wasm can hold, store in tables and globals, and
/// pass back, but never look into. It lives as long as its store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExternRef {
    pub(crate) store: StoreId,
    pub(crate) index: usize,
}

/// What an `externref` points at: boxed so its address is stable, as wasm holds it.
pub(crate) struct ExternData {
    pub(crate) value: Box<dyn Any + Send + Sync>,
}

impl ExternRef {
    /// A new reference to `value`.
    pub fn new<T: Any + Send + Sync>(mut store: impl AsContextMut, value: T) -> ExternRef {
        let store = opaque_mut(&mut store);
        let data = Box::new(ExternData {
            value: Box::new(value),
        });
        let index = store.externs.len();
        store
            .extern_by_ptr
            .insert(&*data as *const ExternData as usize, index);
        store.externs.push(data);
        ExternRef {
            store: store.id,
            index,
        }
    }

    /// The host value.
    pub fn data<'a, S: AsContext + ?Sized>(&self, store: &'a S) -> &'a (dyn Any + Send + Sync) {
        let store = opaque(store);
        store.check(self.store);
        &*store.externs[self.index].value
    }
}
