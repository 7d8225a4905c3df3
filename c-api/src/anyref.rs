//! wasmjit.h's internal references (`anyref`): the GC structs, arrays and `i31`s of wasm,
//! which `wasm.h` has no kind for. A value of kind `WASMJIT_ANYREF` holds a `wasm_ref_t*`
//! (NULL for null) as `funcref` and `externref` values do; these functions make `i31`s and
//! read and write objects' fields, as the embedding API's [`AnyRef`] does.
//!
//! Like the embedding API's handles, a reference a host callback gets is released when the
//! callback returns; using it afterwards is an error, never a read of a collected object.

use std::mem::MaybeUninit;

use wasmjit_api::{AnyRef, Val, I31};

use crate::ext::{error, wasmjit_error_t};
use crate::objects::{val_from_rust, val_to_rust, wasm_ref_t, wasm_val_t, Obj};
use crate::{wasm_store_t, with_store};

/// The internal reference `r` stands for, or an error naming what it is instead.
fn any(r: &wasm_ref_t) -> Result<AnyRef, String> {
    match &r.obj {
        Obj::Any(a) => Ok(*a),
        _ => Err("not an anyref".into()),
    }
}

/// Runs `f` on `r`'s internal reference and its store, turning an error into a
/// `wasmjit_error_t`.
fn with_any<R>(
    r: &wasm_ref_t,
    f: impl FnOnce(AnyRef, &mut wasmjit_api::Store<crate::StoreData>) -> Result<R, String>,
) -> Result<R, Option<Box<wasmjit_error_t>>> {
    let a = any(r).map_err(error)?;
    with_store(r.store(), |store| f(a, store)).map_err(error)
}

/// Writes `value` (a value read from an object) to `out` as an own C value.
fn write_val(r: &wasm_ref_t, value: Val, out: &mut MaybeUninit<wasm_val_t>) -> Result<(), String> {
    let store = r.store.as_ref().expect("an anyref has a store");
    out.write(val_from_rust(store, value)?);
    Ok(())
}

/// `wasmjit_anyref_from_i31`: an own `i31ref` of the low 31 bits of `value`.
#[no_mangle]
pub extern "C" fn wasmjit_anyref_from_i31(store: &wasm_store_t, value: u32) -> Box<wasm_ref_t> {
    let a = with_store(&store.store, |s| {
        AnyRef::from_i31(s, I31::wrapping_u32(value))
    });
    wasm_ref_t::new(&store.store, Obj::Any(a))
}

/// `wasmjit_anyref_i31_get_u`: whether `r` is an `i31ref`; if so, its value zero-extended
/// in `*out`.
#[no_mangle]
pub extern "C" fn wasmjit_anyref_i31_get_u(r: &wasm_ref_t, out: &mut u32) -> bool {
    match any(r).ok().and_then(|a| a.as_i31()) {
        Some(i) => {
            *out = i.get_u32();
            true
        }
        None => false,
    }
}

/// `wasmjit_anyref_i31_get_s`: as `wasmjit_anyref_i31_get_u`, sign-extended.
#[no_mangle]
pub extern "C" fn wasmjit_anyref_i31_get_s(r: &wasm_ref_t, out: &mut i32) -> bool {
    match any(r).ok().and_then(|a| a.as_i31()) {
        Some(i) => {
            *out = i.get_i32();
            true
        }
        None => false,
    }
}

/// `wasmjit_anyref_is_struct`: whether `r` is a (still rooted) struct.
#[no_mangle]
pub extern "C" fn wasmjit_anyref_is_struct(r: &wasm_ref_t) -> bool {
    with_any(r, |a, s| a.is_struct(s).map_err(|e| e.to_string())).unwrap_or(false)
}

/// `wasmjit_anyref_is_array`: whether `r` is a (still rooted) array.
#[no_mangle]
pub extern "C" fn wasmjit_anyref_is_array(r: &wasm_ref_t) -> bool {
    with_any(r, |a, s| a.is_array(s).map_err(|e| e.to_string())).unwrap_or(false)
}

/// `wasmjit_anyref_array_len`: the number of elements of the array `r` in `*out`.
#[no_mangle]
pub extern "C" fn wasmjit_anyref_array_len(
    r: &wasm_ref_t,
    out: &mut u32,
) -> Option<Box<wasmjit_error_t>> {
    match with_any(r, |a, s| {
        a.array_len(s)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "not an array".to_string())
    }) {
        Ok(len) => {
            *out = len;
            None
        }
        Err(e) => e,
    }
}

/// `wasmjit_anyref_struct_get`: field `index` of the struct `r` as an own value in `*out`
/// (a packed field zero-extended to an `i32`).
#[no_mangle]
pub extern "C" fn wasmjit_anyref_struct_get(
    r: &wasm_ref_t,
    index: usize,
    out: &mut MaybeUninit<wasm_val_t>,
) -> Option<Box<wasmjit_error_t>> {
    with_any(r, |a, s| {
        let value = a.struct_field(s, index).map_err(|e| e.to_string())?;
        write_val(r, value, out)
    })
    .err()
    .flatten()
}

/// `wasmjit_anyref_struct_set`: sets field `index` of the struct `r` to `*value` (borrowed);
/// an error if the field is immutable or the value not of its type.
#[no_mangle]
pub extern "C" fn wasmjit_anyref_struct_set(
    r: &wasm_ref_t,
    index: usize,
    value: &wasm_val_t,
) -> Option<Box<wasmjit_error_t>> {
    with_any(r, |a, s| {
        let value = val_to_rust(value)?;
        a.set_struct_field(s, index, value)
            .map_err(|e| e.to_string())
    })
    .err()
    .flatten()
}

/// `wasmjit_anyref_array_get`: element `index` of the array `r` as an own value in `*out`
/// (a packed element zero-extended to an `i32`).
#[no_mangle]
pub extern "C" fn wasmjit_anyref_array_get(
    r: &wasm_ref_t,
    index: u32,
    out: &mut MaybeUninit<wasm_val_t>,
) -> Option<Box<wasmjit_error_t>> {
    with_any(r, |a, s| {
        let value = a.array_get(s, index).map_err(|e| e.to_string())?;
        write_val(r, value, out)
    })
    .err()
    .flatten()
}

/// `wasmjit_anyref_array_set`: sets element `index` of the array `r` to `*value`
/// (borrowed); an error if the elements are immutable or the value not of their type.
#[no_mangle]
pub extern "C" fn wasmjit_anyref_array_set(
    r: &wasm_ref_t,
    index: u32,
    value: &wasm_val_t,
) -> Option<Box<wasmjit_error_t>> {
    with_any(r, |a, s| {
        let value = val_to_rust(value)?;
        a.array_set(s, index, value).map_err(|e| e.to_string())
    })
    .err()
    .flatten()
}
