//! Type objects: value, function, global, table, memory, extern, import and export types.
//!
//! The four kinds of extern type are one Rust struct, [`wasm_externtype_t`], so that the
//! standard's `wasm_functype_as_externtype` and its inverses are pointer casts, and any of
//! them can be deleted by any of the `*_delete` functions of the right kind.

use std::mem::MaybeUninit;

use wasmjit_api::{
    ExternType, FuncType, GlobalType, MemoryType, Mutability, TableType, TagType, ValType,
};

use crate::vec::{name_from, wasm_name_t, wasm_valtype_vec_t, CVec, OwnedVec};

/// `wasm_valkind_t` values.
pub(crate) const WASM_I32: u8 = 0;
pub(crate) const WASM_I64: u8 = 1;
pub(crate) const WASM_F32: u8 = 2;
pub(crate) const WASM_F64: u8 = 3;
pub(crate) const WASM_V128: u8 = 4;
pub(crate) const WASM_EXTERNREF: u8 = 128;
pub(crate) const WASM_FUNCREF: u8 = 129;
/// wasmjit.h's kinds for the reference hierarchies `wasm.h` lacks: `anyref` (GC structs,
/// arrays, `i31`s) and `exnref`.
pub(crate) const WASMJIT_ANYREF: u8 = 130;
pub(crate) const WASMJIT_EXNREF: u8 = 131;

/// `wasm_externkind_t` values.
pub(crate) const WASM_EXTERN_FUNC: u8 = 0;
pub(crate) const WASM_EXTERN_GLOBAL: u8 = 1;
pub(crate) const WASM_EXTERN_TABLE: u8 = 2;
pub(crate) const WASM_EXTERN_MEMORY: u8 = 3;
/// An exception tag: wasm.h has no kind for tags, wasmjit reports them with this one.
pub(crate) const WASM_EXTERN_TAG: u8 = 4;

/// `wasm_limits_max_default`: no maximum.
const LIMITS_MAX_DEFAULT: u32 = u32::MAX;

/// The `wasm_valkind_t` of a type. `wasm.h` has only `funcref` and `externref`, wasmjit.h
/// adds `anyref` and `exnref`: a typed reference shows as the kind of its heap type's
/// hierarchy.
pub(crate) fn kind_of(ty: &ValType) -> u8 {
    match ty {
        ValType::I32 => WASM_I32,
        ValType::I64 => WASM_I64,
        ValType::F32 => WASM_F32,
        ValType::F64 => WASM_F64,
        ValType::V128 => WASM_V128,
        ValType::Ref(r) if r.heap_type().is_extern() => WASM_EXTERNREF,
        ValType::Ref(r) if r.heap_type().is_any() => WASMJIT_ANYREF,
        ValType::Ref(r) if r.heap_type().is_exn() => WASMJIT_EXNREF,
        ValType::Ref(_) => WASM_FUNCREF,
    }
}

pub(crate) fn type_of(kind: u8) -> Option<ValType> {
    Some(match kind {
        WASM_I32 => ValType::I32,
        WASM_I64 => ValType::I64,
        WASM_F32 => ValType::F32,
        WASM_F64 => ValType::F64,
        WASM_EXTERNREF => ValType::EXTERNREF,
        WASM_FUNCREF => ValType::FUNCREF,
        WASMJIT_ANYREF => ValType::ANYREF,
        WASMJIT_EXNREF => ValType::EXNREF,
        _ => return None,
    })
}

/// `wasm_valtype_t`.
#[derive(Clone)]
pub struct wasm_valtype_t {
    pub(crate) ty: ValType,
}

/// `wasm_limits_t`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct wasm_limits_t {
    /// Initial size.
    pub min: u32,
    /// Largest size, `0xffffffff` for none.
    pub max: u32,
}

impl wasm_limits_t {
    fn new(min: u64, max: Option<u64>) -> Self {
        wasm_limits_t {
            min: min.min(u64::from(u32::MAX)) as u32,
            max: max.map_or(LIMITS_MAX_DEFAULT, |m| m.min(u64::from(u32::MAX)) as u32),
        }
    }

    fn max(&self) -> Option<u64> {
        (self.max != LIMITS_MAX_DEFAULT).then_some(u64::from(self.max))
    }
}

/// A function type with its parameter and result vectors, which the accessors lend.
pub(crate) struct CFuncType {
    pub(crate) ty: FuncType,
    params: OwnedVec<Option<Box<wasm_valtype_t>>>,
    results: OwnedVec<Option<Box<wasm_valtype_t>>>,
}

pub(crate) struct CGlobalType {
    pub(crate) ty: GlobalType,
    content: wasm_valtype_t,
}

pub(crate) struct CTableType {
    pub(crate) ty: TableType,
    element: wasm_valtype_t,
    limits: wasm_limits_t,
}

pub(crate) struct CMemoryType {
    pub(crate) ty: MemoryType,
    limits: wasm_limits_t,
}

/// What an extern type is.
pub(crate) enum Which {
    Func(CFuncType),
    Global(CGlobalType),
    Table(CTableType),
    Memory(CMemoryType),
    Tag(TagType),
}

/// `wasm_externtype_t`, and also `wasm_functype_t`, `wasm_globaltype_t`,
/// `wasm_tabletype_t` and `wasm_memorytype_t`.
pub struct wasm_externtype_t {
    pub(crate) which: Which,
}

/// `wasm_functype_t`: an extern type of kind `WASM_EXTERN_FUNC`.
pub type wasm_functype_t = wasm_externtype_t;
/// `wasm_globaltype_t`: an extern type of kind `WASM_EXTERN_GLOBAL`.
pub type wasm_globaltype_t = wasm_externtype_t;
/// `wasm_tabletype_t`: an extern type of kind `WASM_EXTERN_TABLE`.
pub type wasm_tabletype_t = wasm_externtype_t;
/// `wasm_memorytype_t`: an extern type of kind `WASM_EXTERN_MEMORY`.
pub type wasm_memorytype_t = wasm_externtype_t;

fn valtypes(tys: impl Iterator<Item = ValType>) -> OwnedVec<Option<Box<wasm_valtype_t>>> {
    OwnedVec::new(
        tys.map(|ty| Some(Box::new(wasm_valtype_t { ty })))
            .collect(),
    )
}

impl wasm_externtype_t {
    pub(crate) fn new(ty: ExternType) -> Self {
        let which = match ty {
            ExternType::Func(ty) => Which::Func(CFuncType {
                params: valtypes(ty.params()),
                results: valtypes(ty.results()),
                ty,
            }),
            ExternType::Global(ty) => Which::Global(CGlobalType {
                content: wasm_valtype_t {
                    ty: ty.content().clone(),
                },
                ty,
            }),
            ExternType::Table(ty) => Which::Table(CTableType {
                element: wasm_valtype_t {
                    ty: ValType::Ref(ty.element().clone()),
                },
                limits: wasm_limits_t::new(ty.minimum(), ty.maximum()),
                ty,
            }),
            ExternType::Tag(ty) => Which::Tag(ty),
            ExternType::Memory(ty) => Which::Memory(CMemoryType {
                limits: wasm_limits_t::new(ty.minimum(), ty.maximum()),
                ty,
            }),
        };
        wasm_externtype_t { which }
    }

    pub(crate) fn ty(&self) -> ExternType {
        match &self.which {
            Which::Func(f) => ExternType::Func(f.ty.clone()),
            Which::Global(g) => ExternType::Global(g.ty.clone()),
            Which::Table(t) => ExternType::Table(t.ty.clone()),
            Which::Memory(m) => ExternType::Memory(m.ty),
            Which::Tag(t) => ExternType::Tag(t.clone()),
        }
    }

    pub(crate) fn func(&self) -> &CFuncType {
        match &self.which {
            Which::Func(f) => f,
            _ => panic!("wasm.h: a function type was expected"),
        }
    }

    pub(crate) fn global(&self) -> &CGlobalType {
        match &self.which {
            Which::Global(g) => g,
            _ => panic!("wasm.h: a global type was expected"),
        }
    }

    pub(crate) fn table(&self) -> &CTableType {
        match &self.which {
            Which::Table(t) => t,
            _ => panic!("wasm.h: a table type was expected"),
        }
    }

    pub(crate) fn memory(&self) -> &CMemoryType {
        match &self.which {
            Which::Memory(m) => m,
            _ => panic!("wasm.h: a memory type was expected"),
        }
    }

    fn kind(&self) -> u8 {
        match &self.which {
            Which::Func(_) => WASM_EXTERN_FUNC,
            Which::Global(_) => WASM_EXTERN_GLOBAL,
            Which::Table(_) => WASM_EXTERN_TABLE,
            Which::Memory(_) => WASM_EXTERN_MEMORY,
            Which::Tag(_) => WASM_EXTERN_TAG,
        }
    }
}

impl Clone for wasm_externtype_t {
    fn clone(&self) -> Self {
        wasm_externtype_t::new(self.ty())
    }
}

/// `wasm_importtype_t`.
#[derive(Clone)]
pub struct wasm_importtype_t {
    module: OwnedVec<u8>,
    name: OwnedVec<u8>,
    ty: Box<wasm_externtype_t>,
}

/// `wasm_exporttype_t`.
#[derive(Clone)]
pub struct wasm_exporttype_t {
    name: OwnedVec<u8>,
    ty: Box<wasm_externtype_t>,
}

impl wasm_importtype_t {
    pub(crate) fn new(module: &str, name: &str, ty: ExternType) -> Self {
        wasm_importtype_t {
            module: name_from(module.as_bytes()),
            name: name_from(name.as_bytes()),
            ty: Box::new(wasm_externtype_t::new(ty)),
        }
    }
}

impl wasm_exporttype_t {
    pub(crate) fn new(name: &str, ty: ExternType) -> Self {
        wasm_exporttype_t {
            name: name_from(name.as_bytes()),
            ty: Box::new(wasm_externtype_t::new(ty)),
        }
    }
}

/// Takes the bytes out of an own name.
fn take_name(name: &mut wasm_name_t) -> OwnedVec<u8> {
    // SAFETY: the standard makes the name `own`, so made by this library.
    OwnedVec::new(unsafe { name.take() })
}

macro_rules! type_common {
    ($t:ty, $delete:ident, $copy:ident) => {
        #[doc = concat!("`", stringify!($delete), "`.")]
        #[no_mangle]
        pub extern "C" fn $delete(_ty: Option<Box<$t>>) {}

        #[doc = concat!("`", stringify!($copy), "`.")]
        #[no_mangle]
        pub extern "C" fn $copy(ty: &$t) -> Box<$t> {
            Box::new(ty.clone())
        }
    };
}

type_common!(wasm_valtype_t, wasm_valtype_delete, wasm_valtype_copy);
type_common!(wasm_functype_t, wasm_functype_delete, wasm_functype_copy);
type_common!(
    wasm_globaltype_t,
    wasm_globaltype_delete,
    wasm_globaltype_copy
);
type_common!(wasm_tabletype_t, wasm_tabletype_delete, wasm_tabletype_copy);
type_common!(
    wasm_memorytype_t,
    wasm_memorytype_delete,
    wasm_memorytype_copy
);
type_common!(
    wasm_externtype_t,
    wasm_externtype_delete,
    wasm_externtype_copy
);
type_common!(
    wasm_importtype_t,
    wasm_importtype_delete,
    wasm_importtype_copy
);
type_common!(
    wasm_exporttype_t,
    wasm_exporttype_delete,
    wasm_exporttype_copy
);

/// `wasm_valtype_new`: NULL for an unknown kind.
#[no_mangle]
pub extern "C" fn wasm_valtype_new(kind: u8) -> Option<Box<wasm_valtype_t>> {
    Some(Box::new(wasm_valtype_t { ty: type_of(kind)? }))
}

/// `wasm_valtype_kind`.
#[no_mangle]
pub extern "C" fn wasm_valtype_kind(ty: &wasm_valtype_t) -> u8 {
    kind_of(&ty.ty)
}

/// `wasm_functype_new`: takes the two vectors' elements (a NULL element is invalid).
#[no_mangle]
pub extern "C" fn wasm_functype_new(
    params: &mut wasm_valtype_vec_t,
    results: &mut wasm_valtype_vec_t,
) -> Box<wasm_functype_t> {
    let take = |v: &mut wasm_valtype_vec_t| -> Vec<ValType> {
        // SAFETY: the standard makes both vectors `own`.
        let elems = unsafe { v.take() };
        elems
            .into_iter()
            .map(|t| t.expect("wasm_functype_new: NULL value type").ty)
            .collect()
    };
    let params = take(params);
    let results = take(results);
    Box::new(wasm_externtype_t::new(ExternType::Func(FuncType::new(
        params, results,
    ))))
}

/// `wasm_functype_params`.
#[no_mangle]
pub extern "C" fn wasm_functype_params(ty: &wasm_functype_t) -> &wasm_valtype_vec_t {
    &ty.func().params.0
}

/// `wasm_functype_results`.
#[no_mangle]
pub extern "C" fn wasm_functype_results(ty: &wasm_functype_t) -> &wasm_valtype_vec_t {
    &ty.func().results.0
}

/// `wasm_globaltype_new`: takes the content type; NULL for a bad mutability.
#[no_mangle]
pub extern "C" fn wasm_globaltype_new(
    content: Box<wasm_valtype_t>,
    mutability: u8,
) -> Option<Box<wasm_globaltype_t>> {
    let mutability = match mutability {
        0 => Mutability::Const,
        1 => Mutability::Var,
        _ => return None,
    };
    let ty = GlobalType::new(content.ty, mutability);
    Some(Box::new(wasm_externtype_t::new(ExternType::Global(ty))))
}

/// `wasm_globaltype_content`.
#[no_mangle]
pub extern "C" fn wasm_globaltype_content(ty: &wasm_globaltype_t) -> &wasm_valtype_t {
    &ty.global().content
}

/// `wasm_globaltype_mutability`.
#[no_mangle]
pub extern "C" fn wasm_globaltype_mutability(ty: &wasm_globaltype_t) -> u8 {
    match ty.global().ty.mutability() {
        Mutability::Const => 0,
        Mutability::Var => 1,
    }
}

/// `wasm_tabletype_new`: takes the element type; NULL unless it is a reference type.
#[no_mangle]
pub extern "C" fn wasm_tabletype_new(
    element: Box<wasm_valtype_t>,
    limits: &wasm_limits_t,
) -> Option<Box<wasm_tabletype_t>> {
    let element = element.ty.as_ref()?.clone();
    let ty = TableType::new(element, u64::from(limits.min), limits.max());
    Some(Box::new(wasm_externtype_t::new(ExternType::Table(ty))))
}

/// `wasm_tabletype_element`.
#[no_mangle]
pub extern "C" fn wasm_tabletype_element(ty: &wasm_tabletype_t) -> &wasm_valtype_t {
    &ty.table().element
}

/// `wasm_tabletype_limits`.
#[no_mangle]
pub extern "C" fn wasm_tabletype_limits(ty: &wasm_tabletype_t) -> &wasm_limits_t {
    &ty.table().limits
}

/// `wasm_memorytype_new`: NULL if the limits are invalid (minimum above maximum, or either
/// above 65536 pages).
#[no_mangle]
pub extern "C" fn wasm_memorytype_new(limits: &wasm_limits_t) -> Option<Box<wasm_memorytype_t>> {
    let ty = MemoryType::builder()
        .min(u64::from(limits.min))
        .max(limits.max())
        .build()
        .ok()?;
    Some(Box::new(wasm_externtype_t::new(ExternType::Memory(ty))))
}

/// `wasm_memorytype_limits`.
#[no_mangle]
pub extern "C" fn wasm_memorytype_limits(ty: &wasm_memorytype_t) -> &wasm_limits_t {
    &ty.memory().limits
}

/// `wasm_externtype_kind`.
#[no_mangle]
pub extern "C" fn wasm_externtype_kind(ty: &wasm_externtype_t) -> u8 {
    ty.kind()
}

macro_rules! externtype_casts {
    ($kind:ident, $as_ext:ident, $as_ext_const:ident, $ext_as:ident, $ext_as_const:ident) => {
        #[doc = concat!("`", stringify!($as_ext), "`: the same object.")]
        #[no_mangle]
        pub extern "C" fn $as_ext(ty: &mut wasm_externtype_t) -> &mut wasm_externtype_t {
            ty
        }

        #[doc = concat!("`", stringify!($as_ext_const), "`: the same object.")]
        #[no_mangle]
        pub extern "C" fn $as_ext_const(ty: &wasm_externtype_t) -> &wasm_externtype_t {
            ty
        }

        #[doc = concat!("`", stringify!($ext_as), "`: NULL if of another kind.")]
        #[no_mangle]
        pub extern "C" fn $ext_as(ty: &mut wasm_externtype_t) -> Option<&mut wasm_externtype_t> {
            (ty.kind() == $kind).then_some(ty)
        }

        #[doc = concat!("`", stringify!($ext_as_const), "`: NULL if of another kind.")]
        #[no_mangle]
        pub extern "C" fn $ext_as_const(ty: &wasm_externtype_t) -> Option<&wasm_externtype_t> {
            (ty.kind() == $kind).then_some(ty)
        }
    };
}

externtype_casts!(
    WASM_EXTERN_FUNC,
    wasm_functype_as_externtype,
    wasm_functype_as_externtype_const,
    wasm_externtype_as_functype,
    wasm_externtype_as_functype_const
);
externtype_casts!(
    WASM_EXTERN_GLOBAL,
    wasm_globaltype_as_externtype,
    wasm_globaltype_as_externtype_const,
    wasm_externtype_as_globaltype,
    wasm_externtype_as_globaltype_const
);
externtype_casts!(
    WASM_EXTERN_TABLE,
    wasm_tabletype_as_externtype,
    wasm_tabletype_as_externtype_const,
    wasm_externtype_as_tabletype,
    wasm_externtype_as_tabletype_const
);
externtype_casts!(
    WASM_EXTERN_MEMORY,
    wasm_memorytype_as_externtype,
    wasm_memorytype_as_externtype_const,
    wasm_externtype_as_memorytype,
    wasm_externtype_as_memorytype_const
);

/// `wasm_importtype_new`: takes the names and the type.
#[no_mangle]
pub extern "C" fn wasm_importtype_new(
    module: &mut wasm_name_t,
    name: &mut wasm_name_t,
    ty: Box<wasm_externtype_t>,
) -> Box<wasm_importtype_t> {
    Box::new(wasm_importtype_t {
        module: take_name(module),
        name: take_name(name),
        ty,
    })
}

/// `wasm_importtype_module`.
#[no_mangle]
pub extern "C" fn wasm_importtype_module(ty: &wasm_importtype_t) -> &wasm_name_t {
    &ty.module.0
}

/// `wasm_importtype_name`.
#[no_mangle]
pub extern "C" fn wasm_importtype_name(ty: &wasm_importtype_t) -> &wasm_name_t {
    &ty.name.0
}

/// `wasm_importtype_type`.
#[no_mangle]
pub extern "C" fn wasm_importtype_type(ty: &wasm_importtype_t) -> &wasm_externtype_t {
    &ty.ty
}

/// `wasm_exporttype_new`: takes the name and the type.
#[no_mangle]
pub extern "C" fn wasm_exporttype_new(
    name: &mut wasm_name_t,
    ty: Box<wasm_externtype_t>,
) -> Box<wasm_exporttype_t> {
    Box::new(wasm_exporttype_t {
        name: take_name(name),
        ty,
    })
}

/// `wasm_exporttype_name`.
#[no_mangle]
pub extern "C" fn wasm_exporttype_name(ty: &wasm_exporttype_t) -> &wasm_name_t {
    &ty.name.0
}

/// `wasm_exporttype_type`.
#[no_mangle]
pub extern "C" fn wasm_exporttype_type(ty: &wasm_exporttype_t) -> &wasm_externtype_t {
    &ty.ty
}

/// Writes a new own vector to `out`.
pub(crate) fn write_vec<T>(out: &mut MaybeUninit<CVec<T>>, v: Vec<T>) {
    out.write(CVec::from_vec(v));
}
