//! Functions: exported wasm functions and host functions, and calls between them.

use std::panic::{self, AssertUnwindSafe};
use std::ptr;

use wasmjit_runtime::instance::Instance as RtInstance;
use wasmjit_runtime::traps::{catch_traps, raise_trap, TrapReason};
use wasmjit_runtime::vmcontext::{VMFuncRef, VMStoreContext, ValRaw};

use crate::error::{Error, Result, Trap};
use crate::instance::Instance;
use crate::store::{opaque, opaque_mut, AsContext, AsContextMut, StoreContext, StoreContextMut};
use crate::store::{StoreId, StoreInner, StoreOpaque};
use crate::tag::ExnRef;
use crate::types::{FuncType, TypeSpace};
use crate::values::Val;
use crate::Extern;
use wasmjit_runtime::type_registry::TypeRegistry;

/// Value slots an untyped call keeps on the stack; larger signatures use the heap.
const INLINE_SLOTS: usize = 8;
/// A function in a store: exported by an instance or defined by the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Func {
    pub(crate) store: StoreId,
    pub(crate) index: usize,
}

/// What the store knows of a function.
pub(crate) struct FuncData {
    /// The callable reference: code, signature id and callee vmctx.
    pub(crate) func_ref: *const VMFuncRef,
    /// The array-to-wasm trampoline of the function's type.
    trampoline: *const u8,
    ty: FuncType,
}

/// The signature of the array-to-wasm trampolines codegen emits: callee vmctx, caller vmctx,
/// code, values, and the store context, whose fuel the trampoline passes to the callee and
/// where it writes the fuel the callee returns (with fuel metering on). The trampoline cannot find the store through the callee's
/// vmctx: an instance may export a host function it imported, whose context is laid out
/// otherwise.
type ArrayToWasm =
    unsafe extern "C" fn(*mut u8, *mut u8, *const u8, *mut ValRaw, *const VMStoreContext);

/// A host function as the store keeps it: takes the caller and the argument/result array.
pub(crate) type HostFn<T> = dyn Fn(Caller<'_, T>, &mut [ValRaw]) -> Result<()> + Send + Sync;

/// A host function's context: the callee vmctx of its funcref. `callback` comes first, where
/// the wasm-to-array trampoline loads it (`wasmjit_codegen::HOST_CONTEXT_CALLBACK`).
#[repr(C)]
struct HostContext<T> {
    callback: unsafe extern "C" fn(*mut HostContext<T>, *mut u8, *mut ValRaw, usize) -> u64,
    /// Where the trampoline throws the exception the callback returns.
    throw: unsafe extern "C" fn(*mut u8, u64),
    /// The store's context, where the trampoline records the exit from wasm.
    vm: *const VMStoreContext,
    func_ref: VMFuncRef,
    store: *mut StoreInner<T>,
    func: Box<HostFn<T>>,
}

// The wasm-to-array trampoline loads `callback` at `HOST_CONTEXT_CALLBACK`, checked at compile
// time. `callback` is the first field of a `#[repr(C)]` struct and no field's size depends on
// `T` (only pointers to it), so the offset checked for `T = ()` holds for every `T`.
const _: () = assert!(
    std::mem::offset_of!(HostContext<()>, callback)
        == wasmjit_codegen::HOST_CONTEXT_CALLBACK as usize
        && std::mem::offset_of!(HostContext<()>, throw)
            == wasmjit_codegen::HOST_CONTEXT_THROW as usize
        && std::mem::offset_of!(HostContext<()>, vm)
            == wasmjit_codegen::HOST_CONTEXT_STORE_CONTEXT as usize
);

impl FuncData {
    /// The data of function `func_index` of `instance`.
    pub(crate) fn for_instance_func(
        instance: &RtInstance,
        func_index: u32,
        registry: &TypeRegistry,
    ) -> Self {
        let module = instance.module();
        let info = &module.compiled().info;
        let type_index = info.functions[func_index as usize];
        assert!(
            module.lets_out(func_index),
            "function {func_index} is reached only by its module's direct calls: the host \
             cannot call it with that signature"
        );
        FuncData {
            func_ref: instance.func_ref(func_index),
            trampoline: module.code().array_to_wasm(type_index).expect(
                "the host reaches only a module's start function and the functions it lets \
                 out (exports, elements, `ref.func` in constant expressions), whose types \
                 have trampolines",
            ),
            ty: TypeSpace::module(registry, module.type_ids()).func_type(type_index),
        }
    }
}

impl Func {
    /// A host function of type `ty` that reads its arguments from `params` and writes its
    /// results to `results`; an `Err` becomes a trap in the calling wasm.
    pub fn new<T: 'static>(
        mut store: impl AsContextMut<Data = T>,
        ty: FuncType,
        func: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Result<Func> {
        let ty2 = ty.clone();
        let raw = move |mut caller: Caller<'_, T>, values: &mut [ValRaw]| -> Result<()> {
            let params: Vec<Val> = ty2
                .params()
                .zip(values.iter())
                .map(|(t, raw)| Val::from_raw(opaque_mut(&mut caller), *raw, &t))
                .collect();
            let mut results: Vec<Val> = ty2.results().map(|t| Val::default_for(&t)).collect();
            func(caller.reborrow(), &params, &mut results)?;
            for ((result, ty), slot) in results.iter().zip(ty2.results()).zip(values.iter_mut()) {
                result.check(opaque(&caller), &ty, "host function result")?;
                *slot = result.to_raw(opaque(&caller))?;
            }
            Ok(())
        };
        Self::new_raw(store.as_context_mut(), ty, Box::new(raw))
    }

    /// Registers a host function given as a closure over the raw value array.
    pub(crate) fn new_raw<T: 'static>(
        store: StoreContextMut<'_, T>,
        ty: FuncType,
        func: Box<HostFn<T>>,
    ) -> Result<Func> {
        let inner = store.0;
        let trampolines = inner.opaque.engine.host_trampolines(&ty)?;
        let type_id = ty.type_id(inner.opaque.engine.types());
        let mut ctx = Box::new(HostContext {
            callback: host_callback::<T>,
            throw: wasmjit_runtime::exceptions::throw_entry(),
            vm: &inner.opaque.vm,
            func_ref: VMFuncRef {
                func_ptr: trampolines.code().wasm_to_array(0),
                type_id,
                vmctx: ptr::null_mut(),
            },
            store: inner as *mut StoreInner<T>,
            func,
        });
        let ctx_ptr: *mut HostContext<T> = &mut *ctx;
        ctx.func_ref.vmctx = ctx_ptr.cast();
        let data = FuncData {
            func_ref: &ctx.func_ref,
            trampoline: trampolines
                .code()
                .array_to_wasm(0)
                .expect("a host function's trampolines include its array-to-wasm one"),
            ty,
        };
        inner.opaque.host_funcs.push(Box::new((ctx, trampolines)));
        let store_id = inner.opaque.id;
        let index = inner.opaque.push_func(data);
        Ok(Func {
            store: store_id,
            index,
        })
    }

    /// The function's signature.
    pub fn ty(&self, store: impl AsContext) -> FuncType {
        self.data(opaque(&store)).ty.clone()
    }

    pub(crate) fn ty_in(&self, store: &StoreOpaque) -> FuncType {
        self.data(store).ty.clone()
    }

    pub(crate) fn data<'a>(&self, store: &'a StoreOpaque) -> &'a FuncData {
        store.check(self.store);
        &store.funcs[self.index]
    }

    /// The raw funcref of this function, for tables, globals and arguments.
    pub(crate) fn func_ref(&self, store: &StoreOpaque) -> *const VMFuncRef {
        self.data(store).func_ref
    }

    /// Calls the function with `params`, writing its results to `results`.
    ///
    /// The number and types of `params` and the length of `results` must match the
    /// function's signature. A trap in the function is an `Error::Trap`; a panic in a host
    /// function it calls resumes here.
    pub fn call(
        &self,
        mut store: impl AsContextMut,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        self.call_in(opaque_mut(&mut store), params, results)
    }

    /// [`Func::call`] on the untyped part of a store.
    ///
    /// Allocates nothing for signatures of up to [`INLINE_SLOTS`] parameters and results.
    pub(crate) fn call_in(
        &self,
        store: &mut StoreOpaque,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let ty = self.data(store).ty.clone();
        if params.len() != ty.params().len() || results.len() != ty.results().len() {
            return Err(Error::Type(format!(
                "function {ty} called with {} arguments and {} result slots",
                params.len(),
                results.len()
            )));
        }
        // Arguments and results share one slot array; most signatures fit on the stack.
        let slots = ty.params().len().max(ty.results().len());
        let mut inline = [[0u8; 16]; INLINE_SLOTS];
        let mut heap = Vec::new();
        let values: &mut [[u8; 16]] = if slots <= INLINE_SLOTS {
            &mut inline[..slots]
        } else {
            heap.resize(slots, [0u8; 16]);
            &mut heap
        };
        for ((param, expected), slot) in params.iter().zip(ty.params()).zip(values.iter_mut()) {
            param.check(store, &expected, "argument")?;
            *slot = param.to_raw(store)?;
        }
        // SAFETY: `values` holds an argument or result slot for every parameter and result of
        // the function's type, which the trampoline was compiled for.
        unsafe { self.call_raw(store, values.as_mut_ptr())? };
        for ((result, ty), raw) in results.iter_mut().zip(ty.results()).zip(values.iter()) {
            *result = Val::from_raw(store, *raw, &ty);
        }
        Ok(())
    }

    /// Calls the function through its trampoline on a prepared value array.
    ///
    /// # Safety
    /// `values` must have room for `max(params, results)` slots, holding the arguments, each
    /// of the type the signature says.
    pub(crate) unsafe fn call_raw(
        &self,
        store: &mut StoreOpaque,
        values: *mut ValRaw,
    ) -> Result<()> {
        let data = self.data(store);
        // SAFETY: the funcref lives as long as the store; the trampoline was compiled for
        // this function's type and has the `ArrayToWasm` signature.
        let (trampoline, func_ptr, vmctx) = unsafe {
            let func_ref = &*data.func_ref;
            let trampoline: ArrayToWasm = std::mem::transmute(data.trampoline);
            (trampoline, func_ref.func_ptr, func_ref.vmctx)
        };
        let max_stack = store.engine.max_wasm_stack();
        let vm = &store.vm as *const _;
        // SAFETY: the store context outlives the call; from here until the call returns the
        // store is only reached through the raw pointers compiled code and host functions
        // hold, as the exclusive borrow of the store guarantees no one else uses it.
        let result = unsafe {
            catch_traps(vm, max_stack, || {
                trampoline(vmctx, ptr::null_mut(), func_ptr, values, vm);
            })
        };
        result.map_err(|reason| match reason {
            TrapReason::Wasm { kind, .. } => {
                let trap = Trap::from_codegen(kind);
                if trap == Trap::OutOfFuel {
                    // The charge that trapped did not count its run, and the store holds
                    // the fuel as of the last call or return: none is left for the host to
                    // see.
                    *store.vm.fuel.get_mut() = u64::MAX;
                }
                Error::Trap(trap)
            }
            TrapReason::Host(e) => match e.downcast::<Error>() {
                Ok(e) => *e,
                Err(e) => Error::Host(e),
            },
            TrapReason::Panic(payload) => panic::resume_unwind(payload),
            TrapReason::Exception(exn) => Error::Exception(ExnRef::from_raw(store, exn)),
        })
    }

    /// A typed view of the function, checked against its signature once, so that calls
    /// need no checks and no allocation.
    pub fn typed<P, R>(&self, store: impl AsContext) -> Result<crate::TypedFunc<P, R>>
    where
        P: crate::WasmTyList,
        R: crate::WasmTyList,
    {
        crate::TypedFunc::new(*self, opaque(&store))
    }
}

// SAFETY: the context's raw store pointer refers to the store that owns the context, which
// moves between threads as a whole; the closure is `Send + Sync`.
unsafe impl<T> Send for HostContext<T> {}

/// Called by the wasm-to-array trampoline of a host function. Returns 0, or the exception
/// the host function throws (its error was [`Error::Exception`]).
///
/// # Safety
/// `ctx` is the host function's context, `values` an array of `len` slots holding the
/// arguments, and the call happens inside `catch_traps` on a store the context belongs to.
unsafe extern "C" fn host_callback<T>(
    ctx: *mut HostContext<T>,
    caller_vmctx: *mut u8,
    values: *mut ValRaw,
    len: usize,
) -> u64 {
    let outcome = {
        // SAFETY: per the function's contract; the store is not otherwise borrowed while
        // wasm runs, so this is the only live reference to it.
        let (ctx, store, values) = unsafe {
            (
                &*ctx,
                &mut *(*ctx).store,
                std::slice::from_raw_parts_mut(values, len),
            )
        };
        let caller = (!caller_vmctx.is_null()).then(|| {
            // SAFETY: a non-null caller vmctx is the vmctx of the calling instance.
            unsafe { RtInstance::from_vmctx(caller_vmctx) }.host_data()
        });
        // The handles the host function gets or makes are released when it returns (its
        // results are in `values` by then, which wasm reads before it can collect).
        let mark = store.opaque.host_roots.enter();
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            (ctx.func)(
                Caller {
                    store: &mut *store,
                    caller,
                },
                values,
            )
        }));
        store.opaque.host_roots.exit(mark);
        outcome
    };
    match outcome {
        Ok(Ok(())) => 0,
        // SAFETY: the context's store pointer is valid (the contract); the exception must be
        // of this store to be thrown into its wasm.
        Ok(Err(Error::Exception(exn))) if exn.store == unsafe { (*(*ctx).store).opaque.id } => {
            exn.as_raw() as u64
        }
        // SAFETY: inside catch_traps (the contract), and no value with a destructor is live
        // in this frame: `outcome`'s error was moved into the reason.
        Ok(Err(e)) => unsafe { raise_trap(TrapReason::Host(Box::new(e))) },
        // SAFETY: as above.
        Err(payload) => unsafe { raise_trap(TrapReason::Panic(payload)) },
    }
}

/// The context a host function runs in: the store, and the instance that called it.
pub struct Caller<'a, T> {
    store: &'a mut StoreInner<T>,
    caller: Option<usize>,
}

impl<T> Caller<'_, T> {
    /// The store's host data.
    pub fn data(&self) -> &T {
        &self.store.data
    }

    /// The store's host data, mutably.
    pub fn data_mut(&mut self) -> &mut T {
        &mut self.store.data
    }

    /// An export of the calling instance, such as its memory, so that a host function can
    /// read the memory of the module that called it.
    pub fn get_export(&mut self, name: &str) -> Option<Extern> {
        let index = self.caller?;
        let instance = Instance {
            store: self.store.opaque.id,
            index,
        };
        instance.get_export(&mut *self, name)
    }

    /// The store's fuel left, as wasm left it when it called this function (see
    /// [`crate::Store::get_fuel`]).
    pub fn get_fuel(&self) -> Result<u64> {
        self.store.opaque.get_fuel()
    }

    /// Sets the store's fuel: the calling wasm goes on with `fuel` units when this function
    /// returns (see [`crate::Store::set_fuel`]).
    pub fn set_fuel(&mut self, fuel: u64) -> Result<()> {
        self.store.opaque.set_fuel(fuel)
    }

    /// Sets the store's epoch deadline `ticks` epochs from now (see
    /// [`crate::Store::set_epoch_deadline`]): the calling wasm goes on until then, even if
    /// the old deadline had passed.
    pub fn set_epoch_deadline(&mut self, ticks: u64) {
        self.store.opaque.set_epoch_deadline(ticks);
    }

    /// Collects the store's GC heap (see [`crate::Store::gc`]): the objects the calling
    /// wasm frames hold stay, as do those of every call into wasm in progress.
    pub fn gc(&mut self) {
        self.store.opaque.gc();
    }

    fn reborrow(&mut self) -> Caller<'_, T> {
        Caller {
            store: self.store,
            caller: self.caller,
        }
    }
}

impl<T> AsContext for Caller<'_, T> {
    type Data = T;
    fn as_context(&self) -> StoreContext<'_, T> {
        StoreContext(self.store)
    }
}

impl<T> AsContextMut for Caller<'_, T> {
    fn as_context_mut(&mut self) -> StoreContextMut<'_, T> {
        StoreContextMut(self.store)
    }
}
