//! The `wasm_*_vec_t` types and their functions.

use std::mem::ManuallyDrop;

use crate::objects::{wasm_extern_t, wasm_frame_t, wasm_val_delete_in_place, wasm_val_t};
use crate::types::{
    wasm_exporttype_t, wasm_externtype_t, wasm_functype_t, wasm_globaltype_t, wasm_importtype_t,
    wasm_memorytype_t, wasm_tabletype_t, wasm_valtype_t,
};

/// A C vector: `size` elements at `data` (NULL when empty). An `own` vector owns its storage
/// and its elements; it is freed with its `*_vec_delete`, never by dropping.
#[repr(C)]
pub struct CVec<T> {
    /// Number of elements.
    pub size: usize,
    /// The elements, or NULL.
    pub data: *mut T,
}

/// An element of a vector: how it is copied, made empty and deleted.
pub trait Elem: Sized {
    fn copy_elem(&self) -> Self;
    fn empty_elem() -> Self;
    fn delete_elem(self) {}
}

impl Elem for u8 {
    fn copy_elem(&self) -> Self {
        *self
    }
    fn empty_elem() -> Self {
        0
    }
}

impl<T: Clone> Elem for Option<Box<T>> {
    fn copy_elem(&self) -> Self {
        self.clone()
    }
    fn empty_elem() -> Self {
        None
    }
}

impl Elem for wasm_val_t {
    fn copy_elem(&self) -> Self {
        crate::objects::val_copy(self)
    }
    fn empty_elem() -> Self {
        wasm_val_t::init()
    }
    fn delete_elem(mut self) {
        wasm_val_delete_in_place(&mut self);
    }
}

impl<T> CVec<T> {
    pub(crate) fn empty() -> Self {
        CVec {
            size: 0,
            data: std::ptr::null_mut(),
        }
    }

    pub(crate) fn from_vec(v: Vec<T>) -> Self {
        if v.is_empty() {
            return CVec::empty();
        }
        let mut b = ManuallyDrop::new(v.into_boxed_slice());
        CVec {
            size: b.len(),
            data: b.as_mut_ptr(),
        }
    }

    /// The elements, borrowed.
    pub(crate) fn as_slice(&self) -> &[T] {
        if self.data.is_null() || self.size == 0 {
            return &[];
        }
        // SAFETY: a vector's `data` points at `size` initialised elements (its contract).
        unsafe { std::slice::from_raw_parts(self.data, self.size) }
    }

    /// The elements, mutably borrowed.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [T] {
        if self.data.is_null() || self.size == 0 {
            return &mut [];
        }
        // SAFETY: as in `as_slice`, and `self` is borrowed exclusively.
        unsafe { std::slice::from_raw_parts_mut(self.data, self.size) }
    }

    /// Takes the elements and the storage out of an own vector, leaving it empty.
    ///
    /// # Safety
    /// The vector must be own: its storage allocated by this library (`from_vec`).
    pub(crate) unsafe fn take(&mut self) -> Vec<T> {
        let (size, data) = (self.size, self.data);
        *self = CVec::empty();
        if data.is_null() || size == 0 {
            return Vec::new();
        }
        // SAFETY: per the contract, `data` and `size` come from a boxed slice made by
        // `from_vec`, whose ownership is taken back once (the vector is now empty).
        unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, size)).into_vec() }
    }
}

impl<T: Elem> CVec<T> {
    /// Deletes the elements and the storage of an own vector.
    ///
    /// # Safety
    /// As for [`CVec::take`].
    pub(crate) unsafe fn delete(&mut self) {
        // SAFETY: per the contract.
        for elem in unsafe { self.take() } {
            elem.delete_elem();
        }
    }
}

/// A vector owned by a Rust object (a function type's parameters, a name), freed with it.
#[repr(transparent)]
pub(crate) struct OwnedVec<T: Elem>(pub(crate) CVec<T>);

impl<T: Elem> OwnedVec<T> {
    pub(crate) fn new(v: Vec<T>) -> Self {
        OwnedVec(CVec::from_vec(v))
    }
}

impl<T: Elem> Clone for OwnedVec<T> {
    fn clone(&self) -> Self {
        OwnedVec::new(self.0.as_slice().iter().map(Elem::copy_elem).collect())
    }
}

impl<T: Elem> Drop for OwnedVec<T> {
    fn drop(&mut self) {
        // SAFETY: an `OwnedVec`'s storage is always made by `from_vec`.
        unsafe { self.0.delete() }
    }
}

// SAFETY: an `OwnedVec` owns its elements as a `Vec` would.
unsafe impl<T: Elem + Send> Send for OwnedVec<T> {}
// SAFETY: as above.
unsafe impl<T: Elem + Sync> Sync for OwnedVec<T> {}

macro_rules! declare_vec {
    ($vec:ident, $elem:ty, $new_empty:ident, $new_uninit:ident, $new:ident, $copy:ident, $delete:ident) => {
        #[doc = concat!("`", stringify!($vec), "`.")]
        pub type $vec = CVec<$elem>;

        #[doc = concat!("`", stringify!($new_empty), "`.")]
        #[no_mangle]
        pub extern "C" fn $new_empty(out: &mut std::mem::MaybeUninit<$vec>) {
            out.write(CVec::empty());
        }

        #[doc = concat!("`", stringify!($new_uninit), "`: every element empty (zero, NULL).")]
        #[no_mangle]
        pub extern "C" fn $new_uninit(out: &mut std::mem::MaybeUninit<$vec>, size: usize) {
            out.write(CVec::from_vec(
                (0..size).map(|_| <$elem as Elem>::empty_elem()).collect(),
            ));
        }

        #[doc = concat!("`", stringify!($new), "`: takes ownership of the elements.")]
        ///
        /// # Safety
        /// `data` points at `size` elements (or `size` is 0).
        #[no_mangle]
        pub unsafe extern "C" fn $new(
            out: &mut std::mem::MaybeUninit<$vec>,
            size: usize,
            data: *const $elem,
        ) {
            let elems = if size == 0 || data.is_null() {
                Vec::new()
            } else {
                // SAFETY: per the contract; the elements are moved out (read once), their
                // ownership passing to the new vector as the standard says.
                (0..size).map(|i| unsafe { data.add(i).read() }).collect()
            };
            out.write(CVec::from_vec(elems));
        }

        #[doc = concat!("`", stringify!($copy), "`: a deep copy.")]
        #[no_mangle]
        pub extern "C" fn $copy(out: &mut std::mem::MaybeUninit<$vec>, src: &$vec) {
            out.write(CVec::from_vec(
                src.as_slice().iter().map(Elem::copy_elem).collect(),
            ));
        }

        #[doc = concat!("`", stringify!($delete), "`: deletes the elements and the storage.")]
        ///
        /// # Safety
        /// The vector is own and made by this library, and not deleted before.
        #[no_mangle]
        pub unsafe extern "C" fn $delete(vec: Option<&mut $vec>) {
            if let Some(vec) = vec {
                // SAFETY: per the contract.
                unsafe { vec.delete() }
            }
        }
    };
}

declare_vec!(
    wasm_byte_vec_t,
    u8,
    wasm_byte_vec_new_empty,
    wasm_byte_vec_new_uninitialized,
    wasm_byte_vec_new,
    wasm_byte_vec_copy,
    wasm_byte_vec_delete
);
declare_vec!(
    wasm_valtype_vec_t,
    Option<Box<wasm_valtype_t>>,
    wasm_valtype_vec_new_empty,
    wasm_valtype_vec_new_uninitialized,
    wasm_valtype_vec_new,
    wasm_valtype_vec_copy,
    wasm_valtype_vec_delete
);
declare_vec!(
    wasm_functype_vec_t,
    Option<Box<wasm_functype_t>>,
    wasm_functype_vec_new_empty,
    wasm_functype_vec_new_uninitialized,
    wasm_functype_vec_new,
    wasm_functype_vec_copy,
    wasm_functype_vec_delete
);
declare_vec!(
    wasm_globaltype_vec_t,
    Option<Box<wasm_globaltype_t>>,
    wasm_globaltype_vec_new_empty,
    wasm_globaltype_vec_new_uninitialized,
    wasm_globaltype_vec_new,
    wasm_globaltype_vec_copy,
    wasm_globaltype_vec_delete
);
declare_vec!(
    wasm_tabletype_vec_t,
    Option<Box<wasm_tabletype_t>>,
    wasm_tabletype_vec_new_empty,
    wasm_tabletype_vec_new_uninitialized,
    wasm_tabletype_vec_new,
    wasm_tabletype_vec_copy,
    wasm_tabletype_vec_delete
);
declare_vec!(
    wasm_memorytype_vec_t,
    Option<Box<wasm_memorytype_t>>,
    wasm_memorytype_vec_new_empty,
    wasm_memorytype_vec_new_uninitialized,
    wasm_memorytype_vec_new,
    wasm_memorytype_vec_copy,
    wasm_memorytype_vec_delete
);
declare_vec!(
    wasm_externtype_vec_t,
    Option<Box<wasm_externtype_t>>,
    wasm_externtype_vec_new_empty,
    wasm_externtype_vec_new_uninitialized,
    wasm_externtype_vec_new,
    wasm_externtype_vec_copy,
    wasm_externtype_vec_delete
);
declare_vec!(
    wasm_importtype_vec_t,
    Option<Box<wasm_importtype_t>>,
    wasm_importtype_vec_new_empty,
    wasm_importtype_vec_new_uninitialized,
    wasm_importtype_vec_new,
    wasm_importtype_vec_copy,
    wasm_importtype_vec_delete
);
declare_vec!(
    wasm_exporttype_vec_t,
    Option<Box<wasm_exporttype_t>>,
    wasm_exporttype_vec_new_empty,
    wasm_exporttype_vec_new_uninitialized,
    wasm_exporttype_vec_new,
    wasm_exporttype_vec_copy,
    wasm_exporttype_vec_delete
);
declare_vec!(
    wasm_val_vec_t,
    wasm_val_t,
    wasm_val_vec_new_empty,
    wasm_val_vec_new_uninitialized,
    wasm_val_vec_new,
    wasm_val_vec_copy,
    wasm_val_vec_delete
);
declare_vec!(
    wasm_frame_vec_t,
    Option<Box<wasm_frame_t>>,
    wasm_frame_vec_new_empty,
    wasm_frame_vec_new_uninitialized,
    wasm_frame_vec_new,
    wasm_frame_vec_copy,
    wasm_frame_vec_delete
);
declare_vec!(
    wasm_extern_vec_t,
    Option<Box<wasm_extern_t>>,
    wasm_extern_vec_new_empty,
    wasm_extern_vec_new_uninitialized,
    wasm_extern_vec_new,
    wasm_extern_vec_copy,
    wasm_extern_vec_delete
);

/// `wasm_name_t`.
pub type wasm_name_t = wasm_byte_vec_t;

/// A name or message as an owned byte vector.
pub(crate) fn name_from(bytes: &[u8]) -> OwnedVec<u8> {
    OwnedVec::new(bytes.to_vec())
}
