//! Runtime objects: references, values, modules, functions, globals, tables, memories,
//! externs, instances, traps, frames and foreign objects.
//!
//! Every reference object is one Rust struct, [`wasm_ref_t`], so that the standard's
//! `*_as_ref`, `*_as_extern` and their inverses are pointer casts and any `*_delete` of the
//! right kind frees any of them.

use std::collections::HashMap;
use std::ffi::c_void;
use std::mem::MaybeUninit;
use std::panic::{self, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

use wasmjit_api::{
    AnyRef, Error, Extern, ExternRef, ExternType, Func, Global, Instance, Memory, Module,
    SharedMemory, Table, Tag, Val, ValType,
};

use crate::types::{
    kind_of, type_of, wasm_externtype_t, wasm_functype_t, wasm_globaltype_t, wasm_memorytype_t,
    wasm_tabletype_t, WASMJIT_ANYREF, WASM_EXTERNREF, WASM_EXTERN_FUNC, WASM_EXTERN_GLOBAL,
    WASM_EXTERN_MEMORY, WASM_EXTERN_TABLE, WASM_EXTERN_TAG, WASM_F32, WASM_F64, WASM_FUNCREF,
    WASM_I32, WASM_I64,
};
use crate::vec::{
    wasm_byte_vec_t, wasm_exporttype_vec_t, wasm_extern_vec_t, wasm_frame_vec_t,
    wasm_importtype_vec_t, wasm_val_vec_t, CVec,
};
use crate::{wasm_store_t, with_store, HostInfo, StoreCell, StoreRef, WeakStore};

/// A module and the host info attached to it (shared by its copies).
pub(crate) struct ModuleObj {
    pub(crate) module: Module,
    info: Mutex<Option<HostInfo>>,
}

/// A trap: its message and, for a wasm trap, its kind.
pub(crate) struct TrapObj {
    pub(crate) message: String,
    info: Mutex<Option<HostInfo>>,
}

/// What a reference object refers to.
#[derive(Clone)]
pub(crate) enum Obj {
    Func(Func),
    Global(Global),
    Table(Table),
    Memory(Memory),
    SharedMemory(SharedMemory),
    Tag(Tag),
    Instance(Instance),
    Foreign(ExternRef),
    /// An internal reference (wasmjit.h's `anyref`).
    Any(AnyRef),
    Module(Arc<ModuleObj>),
    Trap(Arc<TrapObj>),
}

impl Obj {
    /// Whether both are the same object.
    fn same(&self, other: &Obj) -> bool {
        match (self, other) {
            (Obj::Func(a), Obj::Func(b)) => a == b,
            (Obj::Global(a), Obj::Global(b)) => a == b,
            (Obj::Table(a), Obj::Table(b)) => a == b,
            (Obj::Memory(a), Obj::Memory(b)) => a == b,
            (Obj::SharedMemory(a), Obj::SharedMemory(b)) => a.data_ptr() == b.data_ptr(),
            (Obj::Tag(a), Obj::Tag(b)) => a == b,
            (Obj::Instance(a), Obj::Instance(b)) => a == b,
            (Obj::Foreign(a), Obj::Foreign(b)) => a == b,
            (Obj::Any(a), Obj::Any(b)) => a == b,
            (Obj::Module(a), Obj::Module(b)) => Arc::ptr_eq(a, b),
            (Obj::Trap(a), Obj::Trap(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// The key of an object whose host info its store keeps (all but modules and traps).
    fn key(&self) -> Option<ObjKey> {
        Some(match self {
            Obj::Func(f) => ObjKey::Func(*f),
            Obj::Global(g) => ObjKey::Global(*g),
            Obj::Table(t) => ObjKey::Table(*t),
            Obj::Memory(m) => ObjKey::Memory(*m),
            Obj::SharedMemory(m) => ObjKey::SharedMemory(m.data_ptr() as usize),
            Obj::Tag(t) => ObjKey::Tag(*t),
            Obj::Instance(i) => ObjKey::Instance(*i),
            Obj::Foreign(r) => ObjKey::Foreign(*r),
            Obj::Any(r) => ObjKey::Any(*r),
            Obj::Module(_) | Obj::Trap(_) => return None,
        })
    }
}

/// The identity of an object of a store, as [`Obj::same`] compares it (a shared memory by
/// its data, which every handle to it shares).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ObjKey {
    Func(Func),
    Global(Global),
    Table(Table),
    Memory(Memory),
    SharedMemory(usize),
    Tag(Tag),
    Instance(Instance),
    Foreign(ExternRef),
    Any(AnyRef),
}

/// The host info of a store's objects. Looking an object up is a hash lookup (a store may
/// hold many thousands of instances with info); the finalizers run in the order the objects
/// first got a slot, when the store goes.
#[derive(Default)]
pub(crate) struct HostInfoTable {
    slots: Vec<Option<HostInfo>>,
    index: HashMap<ObjKey, usize>,
}

impl HostInfoTable {
    /// The info slot of the object `key`, made empty if it has none yet.
    fn slot(&mut self, key: ObjKey) -> &mut Option<HostInfo> {
        let next = self.slots.len();
        let index = *self.index.entry(key).or_insert(next);
        if index == next {
            self.slots.push(None);
        }
        &mut self.slots[index]
    }
}

/// `wasm_ref_t`, and every reference object: `wasm_func_t`, `wasm_global_t`,
/// `wasm_table_t`, `wasm_memory_t`, `wasm_extern_t`, `wasm_instance_t`, `wasm_module_t`,
/// `wasm_trap_t`, `wasm_foreign_t`.
#[derive(Clone)]
pub struct wasm_ref_t {
    /// The store the object lives in (none for modules and traps).
    pub(crate) store: Option<StoreRef>,
    pub(crate) obj: Obj,
}

/// `wasm_func_t`.
pub type wasm_func_t = wasm_ref_t;
/// `wasm_global_t`.
pub type wasm_global_t = wasm_ref_t;
/// `wasm_table_t`.
pub type wasm_table_t = wasm_ref_t;
/// `wasm_memory_t`.
pub type wasm_memory_t = wasm_ref_t;
/// `wasm_extern_t`: a function, global, table or memory.
pub type wasm_extern_t = wasm_ref_t;
/// `wasm_instance_t`.
pub type wasm_instance_t = wasm_ref_t;
/// `wasm_module_t`.
pub type wasm_module_t = wasm_ref_t;
/// `wasm_trap_t`.
pub type wasm_trap_t = wasm_ref_t;
/// `wasm_foreign_t`.
pub type wasm_foreign_t = wasm_ref_t;

impl wasm_ref_t {
    pub(crate) fn new(store: &StoreRef, obj: Obj) -> Box<wasm_ref_t> {
        Box::new(wasm_ref_t {
            store: Some(store.clone()),
            obj,
        })
    }

    /// The object's store.
    pub(crate) fn store(&self) -> &StoreCell {
        self.store
            .as_deref()
            .expect("wasm.h: object without a store")
    }

    fn extern_kind(&self) -> Option<u8> {
        Some(match self.obj {
            Obj::Func(_) => WASM_EXTERN_FUNC,
            Obj::Global(_) => WASM_EXTERN_GLOBAL,
            Obj::Table(_) => WASM_EXTERN_TABLE,
            Obj::Memory(_) | Obj::SharedMemory(_) => WASM_EXTERN_MEMORY,
            Obj::Tag(_) => WASM_EXTERN_TAG,
            _ => return None,
        })
    }

    pub(crate) fn to_extern(&self) -> Option<Extern> {
        Some(match &self.obj {
            Obj::Func(f) => Extern::Func(*f),
            Obj::Global(g) => Extern::Global(*g),
            Obj::Table(t) => Extern::Table(*t),
            Obj::Memory(m) => Extern::Memory(*m),
            Obj::SharedMemory(m) => Extern::SharedMemory(m.clone()),
            Obj::Tag(t) => Extern::Tag(*t),
            _ => return None,
        })
    }

    pub(crate) fn from_extern(store: &StoreRef, ext: Extern) -> Box<wasm_ref_t> {
        let obj = match ext {
            Extern::Func(f) => Obj::Func(f),
            Extern::Global(g) => Obj::Global(g),
            Extern::Table(t) => Obj::Table(t),
            Extern::Memory(m) => Obj::Memory(m),
            Extern::SharedMemory(m) => Obj::SharedMemory(m),
            Extern::Tag(t) => Obj::Tag(t),
        };
        wasm_ref_t::new(store, obj)
    }

    fn func(&self) -> Func {
        match self.obj {
            Obj::Func(f) => f,
            _ => panic!("wasm.h: a function was expected"),
        }
    }

    fn global(&self) -> Global {
        match self.obj {
            Obj::Global(g) => g,
            _ => panic!("wasm.h: a global was expected"),
        }
    }

    fn table(&self) -> Table {
        match self.obj {
            Obj::Table(t) => t,
            _ => panic!("wasm.h: a table was expected"),
        }
    }

    fn instance(&self) -> Instance {
        match self.obj {
            Obj::Instance(i) => i,
            _ => panic!("wasm.h: an instance was expected"),
        }
    }

    pub(crate) fn module(&self) -> &Module {
        match &self.obj {
            Obj::Module(m) => &m.module,
            _ => panic!("wasm.h: a module was expected"),
        }
    }

    fn trap(&self) -> &TrapObj {
        match &self.obj {
            Obj::Trap(t) => t,
            _ => panic!("wasm.h: a trap was expected"),
        }
    }

    /// Runs `f` on the object's host info slot.
    fn with_host_info<R>(&self, f: impl FnOnce(&mut Option<HostInfo>) -> R) -> R {
        let local = match &self.obj {
            Obj::Module(m) => Some(&m.info),
            Obj::Trap(t) => Some(&t.info),
            _ => None,
        };
        if let Some(m) = local {
            let mut guard = m.lock().unwrap_or_else(|e| e.into_inner());
            return f(&mut guard);
        }
        let key = self.obj.key().expect("every other object lives in a store");
        with_store(self.store(), |store| {
            f(store.data_mut().host_info.slot(key))
        })
    }
}

/// A new own trap with `message`.
pub(crate) fn new_trap(message: String) -> Box<wasm_trap_t> {
    Box::new(wasm_ref_t {
        store: None,
        obj: Obj::Trap(Arc::new(TrapObj {
            message,
            info: Mutex::new(None),
        })),
    })
}

/// The trap for an error from wasmjit: a wasm trap's message is the spec's.
pub(crate) fn trap_from_error(e: &Error) -> Box<wasm_trap_t> {
    match e.trap() {
        Some(t) => new_trap(t.message().to_string()),
        None => new_trap(e.to_string()),
    }
}

macro_rules! ref_common {
    ($delete:ident, $copy:ident, $same:ident, $get:ident, $set:ident, $set_fin:ident) => {
        #[doc = concat!("`", stringify!($delete), "`.")]
        #[no_mangle]
        pub extern "C" fn $delete(_r: Option<Box<wasm_ref_t>>) {}

        #[doc = concat!("`", stringify!($copy), "`: a new reference to the same object.")]
        #[no_mangle]
        pub extern "C" fn $copy(r: Option<&wasm_ref_t>) -> Option<Box<wasm_ref_t>> {
            r.map(|r| Box::new(r.clone()))
        }

        #[doc = concat!("`", stringify!($same), "`: whether both refer to the same object.")]
        #[no_mangle]
        pub extern "C" fn $same(a: Option<&wasm_ref_t>, b: Option<&wasm_ref_t>) -> bool {
            match (a, b) {
                (None, None) => true,
                (Some(a), Some(b)) => a.obj.same(&b.obj),
                _ => false,
            }
        }

        #[doc = concat!("`", stringify!($get), "`: NULL if none was set.")]
        #[no_mangle]
        pub extern "C" fn $get(r: &wasm_ref_t) -> *mut c_void {
            r.with_host_info(|i| i.as_ref().map_or(std::ptr::null_mut(), |i| i.data))
        }

        #[doc = concat!("`", stringify!($set), "`: replaces (and finalizes) any previous info.")]
        #[no_mangle]
        pub extern "C" fn $set(r: &wasm_ref_t, data: *mut c_void) {
            let old = r.with_host_info(|i| {
                i.replace(HostInfo {
                    data,
                    finalizer: None,
                })
            });
            drop(old);
        }

        #[doc = concat!("`", stringify!($set_fin), "`: `finalizer(data)` runs when the object goes.")]
        #[no_mangle]
        pub extern "C" fn $set_fin(
            r: &wasm_ref_t,
            data: *mut c_void,
            finalizer: Option<extern "C" fn(*mut c_void)>,
        ) {
            let old = r.with_host_info(|i| i.replace(HostInfo { data, finalizer }));
            drop(old);
        }
    };
}

macro_rules! ref_casts {
    ($pat:pat, $as_ref:ident, $as_ref_const:ident, $ref_as:ident, $ref_as_const:ident) => {
        #[doc = concat!("`", stringify!($as_ref), "`: the same object.")]
        #[no_mangle]
        pub extern "C" fn $as_ref(r: Option<&mut wasm_ref_t>) -> Option<&mut wasm_ref_t> {
            r
        }

        #[doc = concat!("`", stringify!($as_ref_const), "`: the same object.")]
        #[no_mangle]
        pub extern "C" fn $as_ref_const(r: Option<&wasm_ref_t>) -> Option<&wasm_ref_t> {
            r
        }

        #[doc = concat!("`", stringify!($ref_as), "`: NULL if of another kind.")]
        #[no_mangle]
        pub extern "C" fn $ref_as(r: Option<&mut wasm_ref_t>) -> Option<&mut wasm_ref_t> {
            r.filter(|r| matches!(r.obj, $pat))
        }

        #[doc = concat!("`", stringify!($ref_as_const), "`: NULL if of another kind.")]
        #[no_mangle]
        pub extern "C" fn $ref_as_const(r: Option<&wasm_ref_t>) -> Option<&wasm_ref_t> {
            r.filter(|r| matches!(r.obj, $pat))
        }
    };
}

macro_rules! declare_ref {
    ($pat:pat, $delete:ident, $copy:ident, $same:ident, $get:ident, $set:ident, $set_fin:ident,
     $as_ref:ident, $as_ref_const:ident, $ref_as:ident, $ref_as_const:ident) => {
        ref_common!($delete, $copy, $same, $get, $set, $set_fin);
        ref_casts!($pat, $as_ref, $as_ref_const, $ref_as, $ref_as_const);
    };
}

ref_common!(
    wasm_ref_delete,
    wasm_ref_copy,
    wasm_ref_same,
    wasm_ref_get_host_info,
    wasm_ref_set_host_info,
    wasm_ref_set_host_info_with_finalizer
);

declare_ref!(
    Obj::Func(_),
    wasm_func_delete,
    wasm_func_copy,
    wasm_func_same,
    wasm_func_get_host_info,
    wasm_func_set_host_info,
    wasm_func_set_host_info_with_finalizer,
    wasm_func_as_ref,
    wasm_func_as_ref_const,
    wasm_ref_as_func,
    wasm_ref_as_func_const
);
declare_ref!(
    Obj::Global(_),
    wasm_global_delete,
    wasm_global_copy,
    wasm_global_same,
    wasm_global_get_host_info,
    wasm_global_set_host_info,
    wasm_global_set_host_info_with_finalizer,
    wasm_global_as_ref,
    wasm_global_as_ref_const,
    wasm_ref_as_global,
    wasm_ref_as_global_const
);
declare_ref!(
    Obj::Table(_),
    wasm_table_delete,
    wasm_table_copy,
    wasm_table_same,
    wasm_table_get_host_info,
    wasm_table_set_host_info,
    wasm_table_set_host_info_with_finalizer,
    wasm_table_as_ref,
    wasm_table_as_ref_const,
    wasm_ref_as_table,
    wasm_ref_as_table_const
);
declare_ref!(
    Obj::Memory(_) | Obj::SharedMemory(_),
    wasm_memory_delete,
    wasm_memory_copy,
    wasm_memory_same,
    wasm_memory_get_host_info,
    wasm_memory_set_host_info,
    wasm_memory_set_host_info_with_finalizer,
    wasm_memory_as_ref,
    wasm_memory_as_ref_const,
    wasm_ref_as_memory,
    wasm_ref_as_memory_const
);
declare_ref!(
    Obj::Func(_) | Obj::Global(_) | Obj::Table(_) | Obj::Memory(_) | Obj::SharedMemory(_),
    wasm_extern_delete,
    wasm_extern_copy,
    wasm_extern_same,
    wasm_extern_get_host_info,
    wasm_extern_set_host_info,
    wasm_extern_set_host_info_with_finalizer,
    wasm_extern_as_ref,
    wasm_extern_as_ref_const,
    wasm_ref_as_extern,
    wasm_ref_as_extern_const
);
declare_ref!(
    Obj::Instance(_),
    wasm_instance_delete,
    wasm_instance_copy,
    wasm_instance_same,
    wasm_instance_get_host_info,
    wasm_instance_set_host_info,
    wasm_instance_set_host_info_with_finalizer,
    wasm_instance_as_ref,
    wasm_instance_as_ref_const,
    wasm_ref_as_instance,
    wasm_ref_as_instance_const
);
declare_ref!(
    Obj::Module(_),
    wasm_module_delete,
    wasm_module_copy,
    wasm_module_same,
    wasm_module_get_host_info,
    wasm_module_set_host_info,
    wasm_module_set_host_info_with_finalizer,
    wasm_module_as_ref,
    wasm_module_as_ref_const,
    wasm_ref_as_module,
    wasm_ref_as_module_const
);
declare_ref!(
    Obj::Trap(_),
    wasm_trap_delete,
    wasm_trap_copy,
    wasm_trap_same,
    wasm_trap_get_host_info,
    wasm_trap_set_host_info,
    wasm_trap_set_host_info_with_finalizer,
    wasm_trap_as_ref,
    wasm_trap_as_ref_const,
    wasm_ref_as_trap,
    wasm_ref_as_trap_const
);
declare_ref!(
    Obj::Foreign(_),
    wasm_foreign_delete,
    wasm_foreign_copy,
    wasm_foreign_same,
    wasm_foreign_get_host_info,
    wasm_foreign_set_host_info,
    wasm_foreign_set_host_info_with_finalizer,
    wasm_foreign_as_ref,
    wasm_foreign_as_ref_const,
    wasm_ref_as_foreign,
    wasm_ref_as_foreign_const
);

macro_rules! extern_casts {
    ($pat:pat, $as_ext:ident, $as_ext_const:ident, $ext_as:ident, $ext_as_const:ident) => {
        ref_casts!($pat, $as_ext, $as_ext_const, $ext_as, $ext_as_const);
    };
}

extern_casts!(
    Obj::Func(_),
    wasm_func_as_extern,
    wasm_func_as_extern_const,
    wasm_extern_as_func,
    wasm_extern_as_func_const
);
extern_casts!(
    Obj::Global(_),
    wasm_global_as_extern,
    wasm_global_as_extern_const,
    wasm_extern_as_global,
    wasm_extern_as_global_const
);
extern_casts!(
    Obj::Table(_),
    wasm_table_as_extern,
    wasm_table_as_extern_const,
    wasm_extern_as_table,
    wasm_extern_as_table_const
);
extern_casts!(
    Obj::Memory(_) | Obj::SharedMemory(_),
    wasm_memory_as_extern,
    wasm_memory_as_extern_const,
    wasm_extern_as_memory,
    wasm_extern_as_memory_const
);

// ---------------------------------------------------------------------------------------------
// Values

/// The payload of a `wasm_val_t`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union wasm_val_union {
    /// `i32`.
    pub i32: i32,
    /// `i64`.
    pub i64: i64,
    /// `f32`.
    pub f32: f32,
    /// `f64`.
    pub f64: f64,
    /// `ref`: own in an own value; NULL for a null reference.
    pub ref_: *mut wasm_ref_t,
}

/// `wasm_val_t`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct wasm_val_t {
    /// A `wasm_valkind_t`.
    pub kind: u8,
    /// The value.
    pub of: wasm_val_union,
}

impl wasm_val_t {
    /// `WASM_INIT_VAL`: a null `externref`.
    pub(crate) fn init() -> Self {
        wasm_val_t {
            kind: WASM_EXTERNREF,
            of: wasm_val_union {
                ref_: std::ptr::null_mut(),
            },
        }
    }

    fn is_ref(&self) -> bool {
        matches!(self.kind, WASM_EXTERNREF | WASM_FUNCREF | WASMJIT_ANYREF)
    }
}

/// Deletes the reference an own value holds, leaving a null one.
pub(crate) fn wasm_val_delete_in_place(v: &mut wasm_val_t) {
    if v.is_ref() {
        // SAFETY: a reference value's payload is `ref_`.
        let r = unsafe { v.of.ref_ };
        if !r.is_null() {
            // SAFETY: an own value owns its reference, made by `Box::into_raw` here.
            drop(unsafe { Box::from_raw(r) });
        }
        v.of.ref_ = std::ptr::null_mut();
    }
}

/// A deep copy: a reference value gets its own reference.
pub(crate) fn val_copy(v: &wasm_val_t) -> wasm_val_t {
    let mut copy = *v;
    if v.is_ref() {
        // SAFETY: a reference value's payload is `ref_`, NULL or a valid reference.
        if let Some(r) = unsafe { v.of.ref_.as_ref() } {
            copy.of.ref_ = Box::into_raw(Box::new(r.clone()));
        }
    }
    copy
}

/// `wasm_val_delete`.
#[no_mangle]
pub extern "C" fn wasm_val_delete(v: Option<&mut wasm_val_t>) {
    if let Some(v) = v {
        wasm_val_delete_in_place(v);
    }
}

/// `wasm_val_copy`.
#[no_mangle]
pub extern "C" fn wasm_val_copy(out: &mut MaybeUninit<wasm_val_t>, v: &wasm_val_t) {
    out.write(val_copy(v));
}

/// The wasmjit value of a C value (borrowing its reference).
pub(crate) fn val_to_rust(v: &wasm_val_t) -> Result<Val, String> {
    // SAFETY: the payload read is the one `kind` names (the value's contract).
    unsafe {
        Ok(match v.kind {
            WASM_I32 => Val::I32(v.of.i32),
            WASM_I64 => Val::I64(v.of.i64),
            WASM_F32 => Val::from_f32(v.of.f32),
            WASM_F64 => Val::from_f64(v.of.f64),
            WASM_FUNCREF | WASM_EXTERNREF | WASMJIT_ANYREF => {
                let ty = type_of(v.kind).expect("a reference kind");
                ref_to_val(v.of.ref_.as_ref(), &ty)?
            }
            k => return Err(format!("unknown value kind {k}")),
        })
    }
}

/// The value of reference type `ty` a reference stands for (a function, a host value or an
/// internal reference by the type's heap type; the embedding API checks the rest where the
/// value is used).
pub(crate) fn ref_to_val(r: Option<&wasm_ref_t>, ty: &ValType) -> Result<Val, String> {
    let heap = match ty {
        ValType::Ref(r) => r.heap_type(),
        _ => return Err(format!("a reference where a {ty} is needed")),
    };
    Ok(match (r.map(|r| &r.obj), heap) {
        (None, h) if h.is_extern() => Val::ExternRef(None),
        (None, h) if h.is_any() => Val::AnyRef(None),
        (None, h) if h.is_func() => Val::FuncRef(None),
        (Some(Obj::Foreign(r)), h) if h.is_extern() => Val::ExternRef(Some(*r)),
        (Some(Obj::Any(r)), h) if h.is_any() => Val::AnyRef(Some(*r)),
        (Some(Obj::Func(f)), h) if h.is_func() => Val::FuncRef(Some(*f)),
        _ => return Err(format!("a reference that is not a {ty}")),
    })
}

/// The own reference a reference value stands for, NULL for null.
pub(crate) fn val_to_ref(store: &StoreRef, v: Val) -> Option<Box<wasm_ref_t>> {
    match v {
        Val::FuncRef(Some(f)) => Some(wasm_ref_t::new(store, Obj::Func(f))),
        Val::ExternRef(Some(r)) => Some(wasm_ref_t::new(store, Obj::Foreign(r))),
        Val::AnyRef(Some(r)) => Some(wasm_ref_t::new(store, Obj::Any(r))),
        _ => None,
    }
}

/// The own C value of a wasmjit value.
pub(crate) fn val_from_rust(store: &StoreRef, v: Val) -> Result<wasm_val_t, String> {
    let of = match v {
        Val::I32(i32) => wasm_val_union { i32 },
        Val::I64(i64) => wasm_val_union { i64 },
        Val::F32(bits) => wasm_val_union {
            f32: f32::from_bits(bits),
        },
        Val::F64(bits) => wasm_val_union {
            f64: f64::from_bits(bits),
        },
        Val::V128(_) => return Err("v128 values have no wasm_val_t".into()),
        Val::ExnRef(_) => return Err("exnref values have no wasm_val_t".into()),
        Val::FuncRef(_) | Val::ExternRef(_) | Val::AnyRef(_) => wasm_val_union {
            ref_: val_to_ref(store, v).map_or(std::ptr::null_mut(), Box::into_raw),
        },
    };
    Ok(wasm_val_t {
        kind: kind_of(&v.ty()),
        of,
    })
}

// ---------------------------------------------------------------------------------------------
// Modules

/// `wasm_shared_module_t`: a module that can be sent to another thread.
pub struct wasm_shared_module_t {
    module: Module,
}

fn bytes(v: &wasm_byte_vec_t) -> &[u8] {
    v.as_slice()
}

/// `wasm_module_new`: NULL if the binary is malformed or invalid.
#[no_mangle]
pub extern "C" fn wasm_module_new(
    store: &wasm_store_t,
    binary: &wasm_byte_vec_t,
) -> Option<Box<wasm_module_t>> {
    let engine = with_store(&store.store, |s| s.engine().clone());
    let module = Module::from_binary(&engine, bytes(binary)).ok()?;
    Some(module_ref(module))
}

fn module_ref(module: Module) -> Box<wasm_module_t> {
    Box::new(wasm_ref_t {
        store: None,
        obj: Obj::Module(Arc::new(ModuleObj {
            module,
            info: Mutex::new(None),
        })),
    })
}

/// `wasm_module_validate`.
#[no_mangle]
pub extern "C" fn wasm_module_validate(store: &wasm_store_t, binary: &wasm_byte_vec_t) -> bool {
    let engine = with_store(&store.store, |s| s.engine().clone());
    Module::from_binary(&engine, bytes(binary)).is_ok()
}

/// `wasm_module_imports`.
#[no_mangle]
pub extern "C" fn wasm_module_imports(
    module: &wasm_module_t,
    out: &mut MaybeUninit<wasm_importtype_vec_t>,
) {
    let imports = module.module().imports();
    let v = imports
        .iter()
        .map(|i| {
            Some(Box::new(crate::types::wasm_importtype_t::new(
                i.module(),
                i.name(),
                i.ty(),
            )))
        })
        .collect();
    crate::types::write_vec(out, v);
}

/// `wasm_module_exports`.
#[no_mangle]
pub extern "C" fn wasm_module_exports(
    module: &wasm_module_t,
    out: &mut MaybeUninit<wasm_exporttype_vec_t>,
) {
    let exports = module.module().exports();
    let v = exports
        .iter()
        .map(|e| {
            Some(Box::new(crate::types::wasm_exporttype_t::new(
                e.name(),
                e.ty(),
            )))
        })
        .collect();
    crate::types::write_vec(out, v);
}

/// `wasm_module_serialize`: the module's precompiled form (`Module::serialize`), which
/// `wasm_module_deserialize` loads without compiling; an empty vector if it cannot be
/// written.
#[no_mangle]
pub extern "C" fn wasm_module_serialize(
    module: &wasm_module_t,
    out: &mut MaybeUninit<wasm_byte_vec_t>,
) {
    let artifact = module.module().serialize().unwrap_or_default();
    crate::types::write_vec(out, artifact);
}

/// `wasm_module_deserialize`: a module from what `wasm_module_serialize` wrote, with the
/// store's engine; NULL if the bytes are not a precompiled module, are damaged, or were
/// written by another wasmjit version, for another target or with other code settings.
///
/// As in the Rust API (`Module::deserialize`), the bytes become machine code: they must come
/// from `wasm_module_serialize` of a trusted source. The checks catch accidents (a checksum
/// covers every byte), not forgeries.
#[no_mangle]
pub extern "C" fn wasm_module_deserialize(
    store: &wasm_store_t,
    binary: &wasm_byte_vec_t,
) -> Option<Box<wasm_module_t>> {
    let engine = with_store(&store.store, |s| s.engine().clone());
    // SAFETY: the caller passes bytes written by `wasm_module_serialize`, as this function's
    // documented contract (and the standard's) requires.
    let module = unsafe { Module::deserialize(&engine, bytes(binary)) }.ok()?;
    Some(module_ref(module))
}

/// `wasm_module_share`.
#[no_mangle]
pub extern "C" fn wasm_module_share(module: &wasm_module_t) -> Box<wasm_shared_module_t> {
    Box::new(wasm_shared_module_t {
        module: module.module().clone(),
    })
}

/// `wasm_module_obtain`: NULL if the store's engine is not the module's.
#[no_mangle]
pub extern "C" fn wasm_module_obtain(
    store: &wasm_store_t,
    shared: &wasm_shared_module_t,
) -> Option<Box<wasm_module_t>> {
    let engine = with_store(&store.store, |s| s.engine().clone());
    if !wasmjit_api::Engine::same(&engine, shared.module.engine()) {
        return None;
    }
    Some(module_ref(shared.module.clone()))
}

/// `wasm_shared_module_delete`.
#[no_mangle]
pub extern "C" fn wasm_shared_module_delete(_shared: Option<Box<wasm_shared_module_t>>) {}

// ---------------------------------------------------------------------------------------------
// Foreign objects

/// What a foreign object is to wasmjit: an `externref` to nothing but its identity.
struct Foreign;

/// `wasm_foreign_new`: a new host object, usable as an `externref`.
#[no_mangle]
pub extern "C" fn wasm_foreign_new(store: &wasm_store_t) -> Box<wasm_foreign_t> {
    let r = with_store(&store.store, |s| ExternRef::new(s, Foreign));
    wasm_ref_t::new(&store.store, Obj::Foreign(r))
}

// ---------------------------------------------------------------------------------------------
// Traps and frames

/// `wasm_frame_t`. wasmjit records no frames yet, so traps have none.
#[derive(Clone)]
pub struct wasm_frame_t {
    func_index: u32,
    func_offset: usize,
    module_offset: usize,
}

/// `wasm_trap_new`: the message is taken up to its terminating NUL, if any.
#[no_mangle]
pub extern "C" fn wasm_trap_new(
    _store: Option<&wasm_store_t>,
    message: &wasm_byte_vec_t,
) -> Box<wasm_trap_t> {
    let mut bytes = message.as_slice();
    if let Some(end) = bytes.iter().position(|b| *b == 0) {
        bytes = &bytes[..end];
    }
    new_trap(String::from_utf8_lossy(bytes).into_owned())
}

/// `wasm_trap_message`: NUL-terminated, the NUL counted in the size.
#[no_mangle]
pub extern "C" fn wasm_trap_message(trap: &wasm_trap_t, out: &mut MaybeUninit<wasm_byte_vec_t>) {
    let mut bytes = trap.trap().message.clone().into_bytes();
    bytes.push(0);
    out.write(CVec::from_vec(bytes));
}

/// `wasm_trap_origin`: always NULL (no frames recorded).
#[no_mangle]
pub extern "C" fn wasm_trap_origin(_trap: &wasm_trap_t) -> Option<Box<wasm_frame_t>> {
    None
}

/// `wasm_trap_trace`: always empty (no frames recorded).
#[no_mangle]
pub extern "C" fn wasm_trap_trace(_trap: &wasm_trap_t, out: &mut MaybeUninit<wasm_frame_vec_t>) {
    out.write(CVec::empty());
}

/// `wasm_frame_delete`.
#[no_mangle]
pub extern "C" fn wasm_frame_delete(_frame: Option<Box<wasm_frame_t>>) {}

/// `wasm_frame_copy`.
#[no_mangle]
pub extern "C" fn wasm_frame_copy(frame: &wasm_frame_t) -> Box<wasm_frame_t> {
    Box::new(frame.clone())
}

/// `wasm_frame_instance`: NULL (frames do not record their instance).
#[no_mangle]
pub extern "C" fn wasm_frame_instance(_frame: &wasm_frame_t) -> Option<&mut wasm_instance_t> {
    None
}

/// `wasm_frame_func_index`.
#[no_mangle]
pub extern "C" fn wasm_frame_func_index(frame: &wasm_frame_t) -> u32 {
    frame.func_index
}

/// `wasm_frame_func_offset`.
#[no_mangle]
pub extern "C" fn wasm_frame_func_offset(frame: &wasm_frame_t) -> usize {
    frame.func_offset
}

/// `wasm_frame_module_offset`.
#[no_mangle]
pub extern "C" fn wasm_frame_module_offset(frame: &wasm_frame_t) -> usize {
    frame.module_offset
}

// ---------------------------------------------------------------------------------------------
// Functions

/// `wasm_func_callback_t`. Declared `C-unwind` so that a Rust callback's panic reaches the
/// `catch_unwind` here and becomes a trap instead of aborting.
pub type wasm_func_callback_t = unsafe extern "C-unwind" fn(
    args: *const wasm_val_vec_t,
    results: *mut wasm_val_vec_t,
) -> Option<Box<wasm_trap_t>>;

/// `wasm_func_callback_with_env_t`.
pub type wasm_func_callback_with_env_t = unsafe extern "C-unwind" fn(
    env: *mut c_void,
    args: *const wasm_val_vec_t,
    results: *mut wasm_val_vec_t,
) -> Option<Box<wasm_trap_t>>;

/// A host function's environment, finalized when the function (its store) goes.
struct Env {
    data: *mut c_void,
    finalizer: Option<extern "C" fn(*mut c_void)>,
}

// SAFETY: the environment belongs to the host, handed back only to its callback and its
// finalizer; the host promised (README.md) it may move with the store.
unsafe impl Send for Env {}
// SAFETY: as above; the C API never dereferences it.
unsafe impl Sync for Env {}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(finalizer) = self.finalizer {
            finalizer(self.data);
        }
    }
}

/// A wrapper making the weak store pointer usable in a `Send + Sync` closure.
struct SendWeak(WeakStore);

fn new_host_func(
    store: &wasm_store_t,
    ty: &wasm_functype_t,
    call: impl Fn(*const wasm_val_vec_t, *mut wasm_val_vec_t) -> Option<Box<wasm_trap_t>>
        + Send
        + Sync
        + 'static,
) -> Option<Box<wasm_func_t>> {
    let fty = ty.func().ty.clone();
    let weak = SendWeak(Arc::downgrade(&store.store));
    let result_types: Vec<ValType> = fty.results().collect();
    let func = with_store(&store.store, |s| {
        Func::new(s, fty, move |_caller, params, results| {
            let weak = &weak;
            let store = weak
                .0
                .upgrade()
                .ok_or_else(|| Error::msg("the store is gone"))?;
            let args: Vec<wasm_val_t> = params
                .iter()
                .map(|p| val_from_rust(&store, *p))
                .collect::<Result<_, _>>()
                .map_err(Error::msg)?;
            let mut args = CVec::from_vec(args);
            let mut outs = CVec::from_vec(
                result_types
                    .iter()
                    .map(|t| {
                        let mut v = wasm_val_t::init();
                        v.kind = kind_of(t);
                        v.of.i64 = 0;
                        v
                    })
                    .collect(),
            );
            let outcome = panic::catch_unwind(AssertUnwindSafe(|| call(&args, &mut outs)));
            let converted: Result<Vec<Val>, String> =
                outs.as_slice().iter().map(val_to_rust).collect();
            // SAFETY: both vectors were made above by `from_vec`; the callback may only
            // change their elements.
            unsafe {
                args.delete();
                outs.delete();
            }
            match outcome {
                Err(_) => return Err(Error::msg("host callback panicked")),
                Ok(Some(trap)) => return Err(Error::msg(trap.trap().message.clone())),
                Ok(None) => {}
            }
            let values = converted.map_err(Error::msg)?;
            if values.len() != results.len() {
                return Err(Error::msg("host callback changed its results vector"));
            }
            results.copy_from_slice(&values);
            Ok(())
        })
    })
    .ok()?;
    Some(wasm_ref_t::new(&store.store, Obj::Func(func)))
}

/// `wasm_func_new`.
#[no_mangle]
pub extern "C" fn wasm_func_new(
    store: &wasm_store_t,
    ty: &wasm_functype_t,
    callback: wasm_func_callback_t,
) -> Option<Box<wasm_func_t>> {
    new_host_func(store, ty, move |args, results| {
        // SAFETY: the callback is the host's, called with valid vectors as its type says.
        unsafe { callback(args, results) }
    })
}

/// `wasm_func_new_with_env`: `finalizer(env)` runs when the store goes.
#[no_mangle]
pub extern "C" fn wasm_func_new_with_env(
    store: &wasm_store_t,
    ty: &wasm_functype_t,
    callback: wasm_func_callback_with_env_t,
    env: *mut c_void,
    finalizer: Option<extern "C" fn(*mut c_void)>,
) -> Option<Box<wasm_func_t>> {
    let env = Env {
        data: env,
        finalizer,
    };
    new_host_func(store, ty, move |args, results| {
        let env = &env;
        // SAFETY: the callback is the host's, called with its environment and valid vectors.
        unsafe { callback(env.data, args, results) }
    })
}

/// `wasm_func_type`.
#[no_mangle]
pub extern "C" fn wasm_func_type(func: &wasm_func_t) -> Box<wasm_functype_t> {
    let ty = with_store(func.store(), |s| func.func().ty(s));
    Box::new(wasm_externtype_t::new(ExternType::Func(ty)))
}

/// `wasm_func_param_arity`.
#[no_mangle]
pub extern "C" fn wasm_func_param_arity(func: &wasm_func_t) -> usize {
    with_store(func.store(), |s| func.func().ty(s).params().len())
}

/// `wasm_func_result_arity`.
#[no_mangle]
pub extern "C" fn wasm_func_result_arity(func: &wasm_func_t) -> usize {
    with_store(func.store(), |s| func.func().ty(s).results().len())
}

/// `wasm_func_call`: NULL on success, else an own trap. `results` must have room for the
/// function's results (its size is the result arity); they are written as own values. A
/// `results` of another size is reported after the call, so that a call that traps reports
/// its own trap (upstream's `trap.c` calls trapping functions with no result slots).
#[no_mangle]
pub extern "C" fn wasm_func_call(
    func: &wasm_func_t,
    args: &wasm_val_vec_t,
    results: &mut wasm_val_vec_t,
) -> Option<Box<wasm_trap_t>> {
    let store = func.store.as_ref().expect("a function has a store");
    // Most calls pass a few values: keep them on the stack.
    let mut params = [Val::I32(0); CALL_INLINE_VALUES];
    let params_heap: Vec<Val>;
    let params: &[Val] = match args.as_slice() {
        a if a.len() <= CALL_INLINE_VALUES => {
            for (slot, v) in params.iter_mut().zip(a) {
                match val_to_rust(v) {
                    Ok(v) => *slot = v,
                    Err(e) => return Some(new_trap(e)),
                }
            }
            &params[..a.len()]
        }
        a => match a.iter().map(val_to_rust).collect() {
            Ok(p) => {
                params_heap = p;
                &params_heap
            }
            Err(e) => return Some(new_trap(e)),
        },
    };
    let mut values = [Val::I32(0); CALL_INLINE_VALUES];
    let mut values_heap = Vec::new();
    let values: &mut [Val] = if results.size <= CALL_INLINE_VALUES {
        &mut values[..results.size]
    } else {
        values_heap.resize(results.size, Val::I32(0));
        &mut values_heap
    };
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        with_store(store, |s| {
            let ty = func.func().ty(&*s);
            if results.size != ty.results().len() {
                // The call still runs, so that a call that traps reports its own trap
                // (upstream's `trap.c` passes no result slots to trapping functions).
                let mut scratch: Vec<Val> = ty.results().map(|t| Val::default_for(&t)).collect();
                func.func().call(s, params, &mut scratch)?;
                return Err(Error::msg(format!(
                    "wasm_func_call: {} result slots for a function with {} results",
                    results.size,
                    ty.results().len()
                )));
            }
            for (slot, ty) in values.iter_mut().zip(ty.results()) {
                *slot = Val::default_for(&ty);
            }
            func.func().call(s, params, values)
        })
    }));
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Some(trap_from_error(&e)),
        Err(_) => return Some(new_trap("panic in wasm_func_call".into())),
    }
    for (slot, v) in results.as_mut_slice().iter_mut().zip(values.iter()) {
        match val_from_rust(store, *v) {
            Ok(v) => *slot = v,
            Err(e) => return Some(new_trap(e)),
        }
    }
    None
}

/// Values `wasm_func_call` converts on the stack; more use the heap.
const CALL_INLINE_VALUES: usize = 8;

// ---------------------------------------------------------------------------------------------
// Globals

/// `wasm_global_new`: NULL if the value does not fit the type.
#[no_mangle]
pub extern "C" fn wasm_global_new(
    store: &wasm_store_t,
    ty: &wasm_globaltype_t,
    val: &wasm_val_t,
) -> Option<Box<wasm_global_t>> {
    let val = val_to_rust(val).ok()?;
    let ty = ty.global().ty.clone();
    let global = with_store(&store.store, |s| Global::new(s, ty, val)).ok()?;
    Some(wasm_ref_t::new(&store.store, Obj::Global(global)))
}

/// `wasm_global_type`.
#[no_mangle]
pub extern "C" fn wasm_global_type(global: &wasm_global_t) -> Box<wasm_globaltype_t> {
    let ty = with_store(global.store(), |s| global.global().ty(s));
    Box::new(wasm_externtype_t::new(ExternType::Global(ty)))
}

/// `wasm_global_get`.
#[no_mangle]
pub extern "C" fn wasm_global_get(global: &wasm_global_t, out: &mut MaybeUninit<wasm_val_t>) {
    let store = global.store.clone().expect("a global has a store");
    let v = with_store(&store, |s| global.global().get(s));
    out.write(val_from_rust(&store, v).unwrap_or_else(|_| wasm_val_t::init()));
}

/// `wasm_global_set`: ignored if the global is immutable or the value of another type.
#[no_mangle]
pub extern "C" fn wasm_global_set(global: &wasm_global_t, val: &wasm_val_t) {
    if let Ok(v) = val_to_rust(val) {
        let _ = with_store(global.store(), |s| global.global().set(s, v));
    }
}

// ---------------------------------------------------------------------------------------------
// Tables

/// `wasm_table_new`: `init` (NULL for null) fills the table; NULL if it does not fit.
#[no_mangle]
pub extern "C" fn wasm_table_new(
    store: &wasm_store_t,
    ty: &wasm_tabletype_t,
    init: Option<&wasm_ref_t>,
) -> Option<Box<wasm_table_t>> {
    let ty = ty.table().ty.clone();
    let init = ref_to_val(init, &ValType::Ref(ty.element().clone())).ok()?;
    let table = with_store(&store.store, |s| Table::new(s, ty, init)).ok()?;
    Some(wasm_ref_t::new(&store.store, Obj::Table(table)))
}

/// `wasm_table_type`.
#[no_mangle]
pub extern "C" fn wasm_table_type(table: &wasm_table_t) -> Box<wasm_tabletype_t> {
    let ty = with_store(table.store(), |s| table.table().ty(s));
    Box::new(wasm_externtype_t::new(ExternType::Table(ty)))
}

/// `wasm_table_get`: NULL for a null element or an index out of bounds.
#[no_mangle]
pub extern "C" fn wasm_table_get(table: &wasm_table_t, index: u32) -> Option<Box<wasm_ref_t>> {
    let store = table.store.clone().expect("a table has a store");
    let v = with_store(&store, |s| table.table().get(s, u64::from(index)))?;
    val_to_ref(&store, v)
}

/// `wasm_table_set`: false for an index out of bounds or a reference of another type.
#[no_mangle]
pub extern "C" fn wasm_table_set(table: &wasm_table_t, index: u32, r: Option<&wasm_ref_t>) -> bool {
    with_store(table.store(), |s| {
        let ty = table.table().ty(&*s);
        match ref_to_val(r, &ValType::Ref(ty.element().clone())) {
            Ok(v) => table.table().set(s, u64::from(index), v).is_ok(),
            Err(_) => false,
        }
    })
}

/// `wasm_table_size`.
#[no_mangle]
pub extern "C" fn wasm_table_size(table: &wasm_table_t) -> u32 {
    let size = with_store(table.store(), |s| table.table().size(s));
    size.min(u64::from(u32::MAX)) as u32
}

/// `wasm_table_grow`: false if the table cannot grow by `delta`.
#[no_mangle]
pub extern "C" fn wasm_table_grow(
    table: &wasm_table_t,
    delta: u32,
    init: Option<&wasm_ref_t>,
) -> bool {
    with_store(table.store(), |s| {
        let ty = table.table().ty(&*s);
        match ref_to_val(init, &ValType::Ref(ty.element().clone())) {
            Ok(v) => table.table().grow(s, u64::from(delta), v).is_ok(),
            Err(_) => false,
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Memories

/// `wasm_memory_new`: NULL if the store's limiter or the system refuses.
#[no_mangle]
pub extern "C" fn wasm_memory_new(
    store: &wasm_store_t,
    ty: &wasm_memorytype_t,
) -> Option<Box<wasm_memory_t>> {
    let ty = ty.memory().ty;
    let memory = with_store(&store.store, |s| {
        Memory::new(s, ty.minimum(), ty.maximum(), ty.is_shared())
    })
    .ok()?;
    Some(wasm_ref_t::new(&store.store, Obj::Memory(memory)))
}

/// The memory type, data pointer, data size and size of a memory.
pub(crate) fn memory_info(m: &wasm_memory_t) -> (wasmjit_api::MemoryType, *mut u8, usize, u64) {
    match &m.obj {
        Obj::Memory(mem) => with_store(m.store(), |s| {
            (
                mem.ty(&*s),
                mem.data_ptr(&*s),
                mem.data_size(&*s),
                mem.size(&*s),
            )
        }),
        Obj::SharedMemory(mem) => (mem.ty(), mem.data_ptr(), mem.data_size(), mem.size()),
        _ => panic!("wasm.h: a memory was expected"),
    }
}

/// Grows a memory, returning the old size in pages.
pub(crate) fn memory_grow(m: &wasm_memory_t, delta: u64) -> Result<u64, Error> {
    match &m.obj {
        Obj::Memory(mem) => with_store(m.store(), |s| mem.grow(s, delta)),
        Obj::SharedMemory(mem) => mem.grow(delta),
        _ => panic!("wasm.h: a memory was expected"),
    }
}

/// `wasm_memory_type`.
#[no_mangle]
pub extern "C" fn wasm_memory_type(memory: &wasm_memory_t) -> Box<wasm_memorytype_t> {
    let (ty, ..) = memory_info(memory);
    Box::new(wasm_externtype_t::new(ExternType::Memory(ty)))
}

/// `wasm_memory_data`: valid until the memory grows.
#[no_mangle]
pub extern "C" fn wasm_memory_data(memory: &wasm_memory_t) -> *mut u8 {
    memory_info(memory).1
}

/// `wasm_memory_data_size`: in bytes.
#[no_mangle]
pub extern "C" fn wasm_memory_data_size(memory: &wasm_memory_t) -> usize {
    memory_info(memory).2
}

/// `wasm_memory_size`: in pages.
#[no_mangle]
pub extern "C" fn wasm_memory_size(memory: &wasm_memory_t) -> u32 {
    memory_info(memory).3.min(u64::from(u32::MAX)) as u32
}

/// `wasm_memory_grow`: false if the memory cannot grow by `delta` pages.
#[no_mangle]
pub extern "C" fn wasm_memory_grow(memory: &wasm_memory_t, delta: u32) -> bool {
    memory_grow(memory, u64::from(delta)).is_ok()
}

// ---------------------------------------------------------------------------------------------
// Externs and instances

/// `wasm_extern_kind`.
#[no_mangle]
pub extern "C" fn wasm_extern_kind(ext: &wasm_extern_t) -> u8 {
    ext.extern_kind().expect("wasm.h: an extern was expected")
}

/// `wasm_extern_type`.
#[no_mangle]
pub extern "C" fn wasm_extern_type(ext: &wasm_extern_t) -> Box<wasm_externtype_t> {
    let e = ext.to_extern().expect("wasm.h: an extern was expected");
    let ty = with_store(ext.store(), |s| e.ty(s));
    Box::new(wasm_externtype_t::new(ty))
}

/// `wasm_instance_new`: on failure NULL, and if `trap` is not NULL, `*trap` is an own trap
/// saying why (the start function's trap, or the link error).
#[no_mangle]
pub extern "C" fn wasm_instance_new(
    store: &wasm_store_t,
    module: &wasm_module_t,
    imports: Option<&wasm_extern_vec_t>,
    trap: Option<&mut MaybeUninit<Option<Box<wasm_trap_t>>>>,
) -> Option<Box<wasm_instance_t>> {
    let fail = |trap: Option<&mut MaybeUninit<Option<Box<wasm_trap_t>>>>, t: Box<wasm_trap_t>| {
        if let Some(out) = trap {
            out.write(Some(t));
        }
        None
    };
    let mut externs = Vec::new();
    for ext in imports.map_or(&[][..], |v| v.as_slice()) {
        match ext.as_ref().and_then(|e| e.to_extern()) {
            Some(e) => externs.push(e),
            None => return fail(trap, new_trap("an import is NULL or not an extern".into())),
        }
    }
    let result = with_store(&store.store, |s| {
        Instance::new(s, module.module(), &externs)
    });
    match result {
        Ok(instance) => {
            if let Some(out) = trap {
                out.write(None);
            }
            Some(wasm_ref_t::new(&store.store, Obj::Instance(instance)))
        }
        Err(e) => fail(trap, trap_from_error(&e)),
    }
}

/// `wasm_instance_exports`: in the module's export order.
#[no_mangle]
pub extern "C" fn wasm_instance_exports(
    instance: &wasm_instance_t,
    out: &mut MaybeUninit<wasm_extern_vec_t>,
) {
    let store = instance.store.clone().expect("an instance has a store");
    let exports = with_store(&store, |s| instance.instance().exports(s));
    let v = exports
        .into_iter()
        .map(|(_, e)| Some(wasm_ref_t::from_extern(&store, e)))
        .collect();
    out.write(CVec::from_vec(v));
}
