//! Dynamically typed WebAssembly values.

use std::fmt;

use wasmjit_runtime::exceptions::VMException;
use wasmjit_runtime::vmcontext::{VMFuncRef, ValRaw};

use crate::error::{Error, Result};
use wasmjit_runtime::gc;

use crate::anyref::{extern_word, AnyRef};
use crate::externref::ExternRef;
use crate::func::Func;
use crate::store::{opaque, AsContext, StoreOpaque};
use crate::tag::ExnRef;
use crate::types::{Canonical, HeapType, ValType};

/// A WebAssembly value. Floats are kept as bits, so NaN payloads survive a round trip.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Val {
    /// An `i32`.
    I32(i32),
    /// An `i64`.
    I64(i64),
    /// An `f32`, as its bits.
    F32(u32),
    /// An `f64`, as its bits.
    F64(u64),
    /// A `v128`.
    V128(u128),
    /// A `funcref`: `None` is null.
    FuncRef(Option<Func>),
    /// An `externref`: `None` is null.
    ExternRef(Option<ExternRef>),
    /// An `exnref`: `None` is null.
    ExnRef(Option<ExnRef>),
    /// An `anyref` (a struct, an array, an `i31` or an internalised host value): `None` is
    /// null.
    AnyRef(Option<AnyRef>),
}

impl Val {
    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FUNCREF,
            Val::ExternRef(_) => ValType::EXTERNREF,
            Val::ExnRef(_) => ValType::EXNREF,
            Val::AnyRef(_) => ValType::ANYREF,
        }
    }

    /// Whether the value is one of type `ty`: a number of that type, or a reference that
    /// `ty` admits. A null matches any nullable reference type of its kind; a function
    /// matches `funcref`, `(ref func)` and its own signature's `(ref $t)`.
    pub fn matches_ty(&self, store: impl AsContext, ty: &ValType) -> bool {
        self.matches_in(opaque(&store), ty)
    }

    pub(crate) fn matches_in(&self, store: &StoreOpaque, ty: &ValType) -> bool {
        let r = match (self, ty) {
            (_, ValType::Ref(r)) => r,
            (v, ty) => return v.ty() == *ty,
        };
        match self {
            Val::FuncRef(None) => r.is_nullable() && r.heap_type().is_func(),
            Val::ExternRef(None) => r.is_nullable() && r.heap_type().is_extern(),
            Val::FuncRef(Some(f)) => match r.heap_type() {
                HeapType::Func => true,
                heap @ (HeapType::ConcreteFunc(_) | HeapType::Concrete(_)) => {
                    f.store == store.id && heap.is_func() && {
                        let registry = store.engine.types();
                        let cx = Canonical::new(registry);
                        let wasmjit_codegen::HeapType::Concrete(want) = heap.to_codegen(&cx) else {
                            return false;
                        };
                        // SAFETY: the funcref lives as long as the store, which is borrowed.
                        let id = unsafe { (*f.func_ref(store)).type_id };
                        wasmjit_codegen::TypeLookup::is_subtype(registry, id, want)
                    }
                }
                _ => false,
            },
            Val::ExternRef(Some(_)) => *r.heap_type() == HeapType::Extern,
            Val::ExnRef(None) => r.is_nullable() && r.heap_type().is_exn(),
            Val::ExnRef(Some(_)) => *r.heap_type() == HeapType::Exn,
            Val::AnyRef(None) => r.is_nullable() && r.heap_type().is_any(),
            Val::AnyRef(Some(a)) => {
                a.store == store.id && r.heap_type().is_any() && {
                    let heap = r
                        .heap_type()
                        .to_codegen(&Canonical::new(store.engine.types()));
                    // SAFETY: the reference is of this store and rooted (checked), and the
                    // store is borrowed, so no wasm runs.
                    a.word(store)
                        .is_ok_and(|word| unsafe { gc::ref_matches(&store.vm, word, heap) })
                }
            }
            _ => false,
        }
    }

    /// An error naming the value and `ty` unless the value matches `ty` ([`Val::matches_ty`]);
    /// `what` says where the value was going.
    pub(crate) fn check(&self, store: &StoreOpaque, ty: &ValType, what: &str) -> Result<()> {
        if let Val::AnyRef(Some(a)) = self {
            if a.store == store.id {
                a.word(store)?;
            }
        }
        if self.matches_in(store, ty) {
            Ok(())
        } else {
            Err(Error::Type(format!("{what}: a {self} is not a {ty}")))
        }
    }

    /// An `f32` value.
    pub fn from_f32(v: f32) -> Self {
        Val::F32(v.to_bits())
    }

    /// An `f64` value.
    pub fn from_f64(v: f64) -> Self {
        Val::F64(v.to_bits())
    }

    /// The zero (or null) value of `ty`. For a non-nullable reference type, which has no
    /// default, the null of its kind (which the type then refuses).
    pub fn default_for(ty: &ValType) -> Self {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::Ref(r) if r.heap_type().is_extern() => Val::ExternRef(None),
            ValType::Ref(r) if r.heap_type().is_exn() => Val::ExnRef(None),
            ValType::Ref(r) if r.heap_type().is_any() => Val::AnyRef(None),
            ValType::Ref(_) => Val::FuncRef(None),
        }
    }

    /// The value as an `i32`, if it is one.
    pub fn i32(&self) -> Option<i32> {
        match self {
            Val::I32(v) => Some(*v),
            _ => None,
        }
    }

    /// The value as an `i64`, if it is one.
    pub fn i64(&self) -> Option<i64> {
        match self {
            Val::I64(v) => Some(*v),
            _ => None,
        }
    }

    /// The value as an `f32`, if it is one.
    pub fn f32(&self) -> Option<f32> {
        match self {
            Val::F32(v) => Some(f32::from_bits(*v)),
            _ => None,
        }
    }

    /// The value as an `f64`, if it is one.
    pub fn f64(&self) -> Option<f64> {
        match self {
            Val::F64(v) => Some(f64::from_bits(*v)),
            _ => None,
        }
    }

    /// Encodes the value in a trampoline slot.
    pub(crate) fn to_raw(self, store: &StoreOpaque) -> Result<ValRaw> {
        let bits: u128 = match self {
            Val::I32(v) => u128::from(v as u32),
            Val::I64(v) => u128::from(v as u64),
            Val::F32(v) => u128::from(v),
            Val::F64(v) => u128::from(v),
            Val::V128(v) => v,
            Val::FuncRef(None) => 0,
            Val::FuncRef(Some(f)) => {
                if f.store != store.id {
                    return Err(Error::Link("function belongs to another store".into()));
                }
                f.func_ref(store) as usize as u128
            }
            Val::ExternRef(None) => 0,
            Val::ExternRef(Some(r)) => {
                if r.store != store.id {
                    return Err(Error::Link("externref belongs to another store".into()));
                }
                u128::from(extern_word(store, r.index))
            }
            Val::ExnRef(None) => 0,
            Val::ExnRef(Some(e)) => {
                if e.store != store.id {
                    return Err(Error::Link("exnref belongs to another store".into()));
                }
                e.as_raw() as usize as u128
            }
            Val::AnyRef(None) => 0,
            Val::AnyRef(Some(a)) => {
                if a.store != store.id {
                    return Err(Error::Link("anyref belongs to another store".into()));
                }
                u128::from(a.word(store)?)
            }
        };
        Ok(bits.to_le_bytes())
    }

    /// Decodes a trampoline slot holding a value of type `ty`.
    pub(crate) fn from_raw(store: &mut StoreOpaque, raw: ValRaw, ty: &ValType) -> Val {
        let bits = u128::from_le_bytes(raw);
        match ty {
            ValType::I32 => Val::I32(bits as u32 as i32),
            ValType::I64 => Val::I64(bits as u64 as i64),
            ValType::F32 => Val::F32(bits as u32),
            ValType::F64 => Val::F64(bits as u64),
            ValType::V128 => Val::V128(bits),
            ValType::Ref(r) if r.heap_type().is_exn() => {
                let ptr = bits as u64 as usize as *mut VMException;
                Val::ExnRef((!ptr.is_null()).then(|| ExnRef::from_raw(store, ptr)))
            }
            ValType::Ref(r) if r.heap_type().is_any() => {
                let raw = bits as u64;
                Val::AnyRef((raw != 0).then(|| AnyRef::rooted(store, raw)))
            }
            ValType::Ref(r) if !r.heap_type().is_extern() => {
                let ptr = bits as u64 as usize as *const VMFuncRef;
                Val::FuncRef(store.func_for_ref(ptr).map(|index| Func {
                    store: store.id,
                    index,
                }))
            }
            ValType::Ref(_) => Val::ExternRef(store.extern_for_word(bits as u64)),
        }
    }
}

impl fmt::Display for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Val::I32(v) => write!(f, "{v}"),
            Val::I64(v) => write!(f, "{v}"),
            Val::F32(v) => write!(f, "{}", f32::from_bits(*v)),
            Val::F64(v) => write!(f, "{}", f64::from_bits(*v)),
            Val::V128(v) => write!(f, "0x{v:032x}"),
            Val::FuncRef(None) => f.write_str("null funcref"),
            Val::FuncRef(Some(_)) => f.write_str("funcref"),
            Val::ExternRef(None) => f.write_str("null externref"),
            Val::ExternRef(Some(_)) => f.write_str("externref"),
            Val::ExnRef(None) => f.write_str("null exnref"),
            Val::ExnRef(Some(_)) => f.write_str("exnref"),
            Val::AnyRef(None) => f.write_str("null anyref"),
            Val::AnyRef(Some(_)) => f.write_str("anyref"),
        }
    }
}

impl From<i32> for Val {
    fn from(v: i32) -> Self {
        Val::I32(v)
    }
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::I64(v)
    }
}

impl From<f32> for Val {
    fn from(v: f32) -> Self {
        Val::from_f32(v)
    }
}

impl From<f64> for Val {
    fn from(v: f64) -> Self {
        Val::from_f64(v)
    }
}
