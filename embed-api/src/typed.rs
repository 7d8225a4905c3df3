//! Statically typed functions: host closures with Rust parameter types, and `TypedFunc`.

use std::marker::PhantomData;

use wasmjit_runtime::vmcontext::ValRaw;

use crate::error::{Error, Result};
use crate::func::{Caller, Func};
use crate::store::{opaque_mut, AsContextMut, StoreOpaque};
use crate::types::{FuncType, ValType};

/// A Rust type that is a WebAssembly value type.
pub trait WasmTy: Send + 'static {
    /// The WebAssembly type.
    fn valtype() -> ValType;
    /// Reads the value from a trampoline slot.
    fn load(raw: &ValRaw) -> Self;
    /// Writes the value to a trampoline slot.
    fn store(self, raw: &mut ValRaw);
}

macro_rules! wasm_ty {
    ($($ty:ty => $valtype:ident, $bits:ty, $to:expr, $from:expr;)*) => {$(
        impl WasmTy for $ty {
            fn valtype() -> ValType {
                ValType::$valtype
            }
            fn load(raw: &ValRaw) -> Self {
                let bits = <$bits>::from_le_bytes(raw[..size_of::<$bits>()].try_into().unwrap_or_default());
                ($from)(bits)
            }
            fn store(self, raw: &mut ValRaw) {
                let bits: $bits = ($to)(self);
                raw[..size_of::<$bits>()].copy_from_slice(&bits.to_le_bytes());
            }
        }
    )*};
}

wasm_ty! {
    i32 => I32, u32, |v: i32| v as u32, |b: u32| b as i32;
    u32 => I32, u32, |v: u32| v, |b: u32| b;
    i64 => I64, u64, |v: i64| v as u64, |b: u64| b as i64;
    u64 => I64, u64, |v: u64| v, |b: u64| b;
    f32 => F32, u32, f32::to_bits, f32::from_bits;
    f64 => F64, u64, f64::to_bits, f64::from_bits;
    u128 => V128, u128, |v: u128| v, |b: u128| b;
}

/// A list of WebAssembly values as Rust types: `()`, one `WasmTy`, or a tuple of them.
pub trait WasmTyList: Sized + Send + 'static {
    /// Number of values.
    const LEN: usize;
    /// Their WebAssembly types.
    fn types() -> Vec<ValType>;
    /// Writes the values to consecutive trampoline slots.
    fn store_all(self, raws: &mut [ValRaw]);
    /// Reads the values from consecutive trampoline slots.
    fn load_all(raws: &[ValRaw]) -> Self;
}

impl<A: WasmTy> WasmTyList for A {
    const LEN: usize = 1;
    fn types() -> Vec<ValType> {
        vec![A::valtype()]
    }
    fn store_all(self, raws: &mut [ValRaw]) {
        self.store(&mut raws[0]);
    }
    fn load_all(raws: &[ValRaw]) -> Self {
        A::load(&raws[0])
    }
}

macro_rules! count {
    () => { 0 };
    ($head:ident $($tail:ident)*) => { 1 + count!($($tail)*) };
}

macro_rules! tuple_list {
    ($($a:ident)*) => {
        #[allow(non_snake_case)]
        impl<$($a: WasmTy,)*> WasmTyList for ($($a,)*) {
            const LEN: usize = count!($($a)*);
            fn types() -> Vec<ValType> {
                vec![$($a::valtype()),*]
            }
            fn store_all(self, raws: &mut [ValRaw]) {
                let ($($a,)*) = self;
                let mut slots = raws.iter_mut();
                $($a.store(slots.next().expect("a slot per value"));)*
            }
            fn load_all(raws: &[ValRaw]) -> Self {
                let mut slots = raws.iter();
                ($($a::load(slots.next().expect("a slot per value")),)*)
            }
        }
    };
}

impl WasmTyList for () {
    const LEN: usize = 0;
    fn types() -> Vec<ValType> {
        Vec::new()
    }
    fn store_all(self, _: &mut [ValRaw]) {}
    fn load_all(_: &[ValRaw]) -> Self {}
}

tuple_list!(A1);
tuple_list!(A1 A2);
tuple_list!(A1 A2 A3);
tuple_list!(A1 A2 A3 A4);
tuple_list!(A1 A2 A3 A4 A5);
tuple_list!(A1 A2 A3 A4 A5 A6);
tuple_list!(A1 A2 A3 A4 A5 A6 A7);
tuple_list!(A1 A2 A3 A4 A5 A6 A7 A8);
tuple_list!(A1 A2 A3 A4 A5 A6 A7 A8 A9);
tuple_list!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10);

/// What a host closure may return: values, or a `Result` of them (an `Err` traps).
pub trait WasmRet: Send + 'static {
    /// The WebAssembly result types.
    fn types() -> Vec<ValType>;
    /// Writes the results to the trampoline slots, or passes on the error.
    fn store_ret(self, raws: &mut [ValRaw]) -> Result<()>;
}

impl<L: WasmTyList> WasmRet for L {
    fn types() -> Vec<ValType> {
        L::types()
    }
    fn store_ret(self, raws: &mut [ValRaw]) -> Result<()> {
        self.store_all(raws);
        Ok(())
    }
}

impl<L: WasmTyList> WasmRet for Result<L> {
    fn types() -> Vec<ValType> {
        L::types()
    }
    fn store_ret(self, raws: &mut [ValRaw]) -> Result<()> {
        self.map(|values| values.store_all(raws))
    }
}

/// A Rust closure usable as a host function: `Fn(A1, .., An) -> R` or
/// `Fn(Caller<'_, T>, A1, .., An) -> R`, with `WasmTy` parameters and a `WasmRet` result.
pub trait IntoFunc<T, Params, Results>: Send + Sync + 'static {
    /// The signature and the type-erased body.
    #[doc(hidden)]
    fn into_func(self) -> (FuncType, Box<crate::func::HostFn<T>>);
}

macro_rules! into_func {
    ($($a:ident)*) => {
        #[allow(non_snake_case)]
        impl<T, F, $($a: WasmTy,)* R: WasmRet> IntoFunc<T, ($($a,)*), R> for F
        where
            F: Fn($($a),*) -> R + Send + Sync + 'static,
        {
            fn into_func(self) -> (FuncType, Box<crate::func::HostFn<T>>) {
                let ty = FuncType::new(<($($a,)*) as WasmTyList>::types(), R::types());
                let body = move |_: Caller<'_, T>, values: &mut [ValRaw]| {
                    let ($($a,)*) = <($($a,)*) as WasmTyList>::load_all(values);
                    self($($a),*).store_ret(values)
                };
                (ty, Box::new(body))
            }
        }

        #[allow(non_snake_case)]
        impl<T, F, $($a: WasmTy,)* R: WasmRet> IntoFunc<T, (Caller<'static, T>, $($a,)*), R> for F
        where
            F: for<'c> Fn(Caller<'c, T>, $($a),*) -> R + Send + Sync + 'static,
        {
            fn into_func(self) -> (FuncType, Box<crate::func::HostFn<T>>) {
                let ty = FuncType::new(<($($a,)*) as WasmTyList>::types(), R::types());
                let body = move |caller: Caller<'_, T>, values: &mut [ValRaw]| {
                    let ($($a,)*) = <($($a,)*) as WasmTyList>::load_all(values);
                    self(caller, $($a),*).store_ret(values)
                };
                (ty, Box::new(body))
            }
        }
    };
}

into_func!();
into_func!(A1);
into_func!(A1 A2);
into_func!(A1 A2 A3);
into_func!(A1 A2 A3 A4);
into_func!(A1 A2 A3 A4 A5);
into_func!(A1 A2 A3 A4 A5 A6);
into_func!(A1 A2 A3 A4 A5 A6 A7);
into_func!(A1 A2 A3 A4 A5 A6 A7 A8);
into_func!(A1 A2 A3 A4 A5 A6 A7 A8 A9);
into_func!(A1 A2 A3 A4 A5 A6 A7 A8 A9 A10);

impl Func {
    /// A host function from a Rust closure; its signature comes from the closure's types.
    ///
    /// ```
    /// # use wasmjit::{Engine, Store, Func};
    /// let engine = Engine::default();
    /// let mut store = Store::new(&engine, ());
    /// let add = Func::wrap(&mut store, |a: i32, b: i32| a.wrapping_add(b)).unwrap();
    /// assert_eq!(add.typed::<(i32, i32), i32>(&store).unwrap().call(&mut store, (2, 3)).unwrap(), 5);
    /// ```
    pub fn wrap<T: 'static, Params, Results>(
        mut store: impl AsContextMut<Data = T>,
        func: impl IntoFunc<T, Params, Results>,
    ) -> Result<Func> {
        let (ty, body) = func.into_func();
        Func::new_raw(store.as_context_mut(), ty, body)
    }
}

/// A function whose signature was checked once against `Params` and `Results`; calls pass
/// values in registers-sized slots on the stack and allocate nothing.
pub struct TypedFunc<Params, Results> {
    func: Func,
    _marker: PhantomData<fn(Params) -> Results>,
}

impl<P, R> Clone for TypedFunc<P, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P, R> Copy for TypedFunc<P, R> {}

/// Most values a typed call passes without a heap allocation.
const INLINE_SLOTS: usize = 16;

impl<P: WasmTyList, R: WasmTyList> TypedFunc<P, R> {
    pub(crate) fn new(func: Func, store: &StoreOpaque) -> Result<Self> {
        let ty = func.ty_in(store);
        if !ty.params().eq(P::types()) || !ty.results().eq(R::types()) {
            return Err(Error::Type(format!(
                "function has type {ty}, not {}",
                FuncType::new(P::types(), R::types())
            )));
        }
        Ok(TypedFunc {
            func,
            _marker: PhantomData,
        })
    }

    /// The untyped function.
    pub fn func(&self) -> Func {
        self.func
    }

    /// Calls the function.
    pub fn call(&self, mut store: impl AsContextMut, params: P) -> Result<R> {
        let store = opaque_mut(&mut store);
        let len = P::LEN.max(R::LEN);
        if len <= INLINE_SLOTS {
            let mut slots = [[0u8; 16]; INLINE_SLOTS];
            params.store_all(&mut slots);
            // SAFETY: the slots hold the arguments, typed as the signature checked in `new`
            // says, with room for every result.
            unsafe { self.func.call_raw(store, slots.as_mut_ptr())? };
            Ok(R::load_all(&slots))
        } else {
            let mut slots = vec![[0u8; 16]; len];
            params.store_all(&mut slots);
            // SAFETY: as above.
            unsafe { self.func.call_raw(store, slots.as_mut_ptr())? };
            Ok(R::load_all(&slots))
        }
    }
}
