//! Types of values and of the things modules import and export.
//!
//! These are wasmjit's own types, so that the code generator's or the decoder's types can
//! change without changing the API. Conversions to and from the code generator's types are
//! crate-private.

use crate::tag::TagType;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use wasmjit_codegen as cg;

use wasmjit_runtime::type_registry::TypeRegistry;

use crate::error::{Error, MemoryError, Result};

/// A WebAssembly value type: a number, a vector or a reference ([`RefType`]).
///
/// As in wasmtime, `funcref` and `externref` are [`ValType::FUNCREF`] and
/// [`ValType::EXTERNREF`], shorthands for `ValType::Ref(RefType::new(true, HeapType::Func))`
/// and its `Extern` counterpart.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ValType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit IEEE float.
    F32,
    /// 64-bit IEEE float.
    F64,
    /// 128-bit vector.
    V128,
    /// A reference.
    Ref(RefType),
}

impl ValType {
    /// `funcref`: a nullable reference to any function.
    pub const FUNCREF: ValType = ValType::Ref(RefType::FUNCREF);
    /// `externref`: a nullable reference to any host value.
    pub const EXTERNREF: ValType = ValType::Ref(RefType::EXTERNREF);
    /// `exnref`, i.e. `(ref null exn)`.
    pub const EXNREF: ValType = ValType::Ref(RefType::EXNREF);
    /// `anyref`, i.e. `(ref null any)`.
    pub const ANYREF: ValType = ValType::Ref(RefType::ANYREF);
    /// `nullfuncref`: a reference to no function (only null has this type).
    pub const NULLFUNCREF: ValType = ValType::Ref(RefType::NULLFUNCREF);
    /// `nullexternref`: a reference to no host value (only null has this type).
    pub const NULLEXTERNREF: ValType = ValType::Ref(RefType::NULLEXTERNREF);

    /// Whether values of this type are references.
    pub fn is_ref(&self) -> bool {
        matches!(self, ValType::Ref(_))
    }

    /// The reference type, if this is one.
    pub fn as_ref(&self) -> Option<&RefType> {
        match self {
            ValType::Ref(r) => Some(r),
            _ => None,
        }
    }

    /// Whether this is `funcref` exactly.
    pub fn is_funcref(&self) -> bool {
        *self == ValType::FUNCREF
    }

    /// Whether this is `externref` exactly.
    pub fn is_externref(&self) -> bool {
        *self == ValType::EXTERNREF
    }

    /// Whether every value of `self` is a value of `other`: equal number types, or
    /// reference types where `self` is a subtype of `other` (see [`RefType::matches`]).
    pub fn matches(&self, other: &ValType) -> bool {
        match (self, other) {
            (ValType::Ref(a), ValType::Ref(b)) => a.matches(b),
            (a, b) => a == b,
        }
    }

    pub(crate) fn from_codegen(ty: cg::ValType, space: &TypeSpace<'_>) -> Self {
        match ty {
            cg::ValType::I32 => ValType::I32,
            cg::ValType::I64 => ValType::I64,
            cg::ValType::F32 => ValType::F32,
            cg::ValType::F64 => ValType::F64,
            cg::ValType::V128 => ValType::V128,
            cg::ValType::Ref(r) => ValType::Ref(RefType::from_codegen(r, space)),
        }
    }

    /// The canonical codegen form: concrete types as the engine's signature ids.
    pub(crate) fn to_codegen(&self, cx: &Canonical<'_>) -> cg::ValType {
        match self {
            ValType::I32 => cg::ValType::I32,
            ValType::I64 => cg::ValType::I64,
            ValType::F32 => cg::ValType::F32,
            ValType::F64 => cg::ValType::F64,
            ValType::V128 => cg::ValType::V128,
            ValType::Ref(r) => cg::ValType::Ref(r.to_codegen(cx)),
        }
    }
}

/// Prints the text format's name: `i32`, `funcref`, `(ref null extern)`, ...
impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValType::I32 => f.write_str("i32"),
            ValType::I64 => f.write_str("i64"),
            ValType::F32 => f.write_str("f32"),
            ValType::F64 => f.write_str("f64"),
            ValType::V128 => f.write_str("v128"),
            ValType::Ref(r) => r.fmt(f),
        }
    }
}

/// A reference type: what it points to ([`HeapType`]) and whether null is one of its values.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RefType {
    nullable: bool,
    heap_type: HeapType,
}

impl RefType {
    /// `funcref`, i.e. `(ref null func)`.
    pub const FUNCREF: RefType = RefType::new(true, HeapType::Func);
    /// `externref`, i.e. `(ref null extern)`.
    pub const EXTERNREF: RefType = RefType::new(true, HeapType::Extern);
    /// `exnref`: `(ref null exn)`.
    pub const EXNREF: RefType = RefType::new(true, HeapType::Exn);
    /// `anyref`: `(ref null any)`.
    pub const ANYREF: RefType = RefType::new(true, HeapType::Any);
    /// `nullfuncref`, i.e. `(ref null nofunc)`.
    pub const NULLFUNCREF: RefType = RefType::new(true, HeapType::NoFunc);
    /// `nullexternref`, i.e. `(ref null noextern)`.
    pub const NULLEXTERNREF: RefType = RefType::new(true, HeapType::NoExtern);

    /// A reference to `heap_type`; `(ref null heap_type)` when `nullable`.
    pub const fn new(nullable: bool, heap_type: HeapType) -> Self {
        RefType {
            nullable,
            heap_type,
        }
    }

    /// Whether null is a value of this type.
    pub fn is_nullable(&self) -> bool {
        self.nullable
    }

    /// What the reference points to.
    pub fn heap_type(&self) -> &HeapType {
        &self.heap_type
    }

    /// Whether every value of `self` is a value of `other`: `other` nullable if `self` is,
    /// and `self`'s heap type below `other`'s (see [`HeapType::matches`]). So `(ref $t)`
    /// matches `funcref`, and `funcref` does not match `(ref $t)`.
    pub fn matches(&self, other: &RefType) -> bool {
        (!self.nullable || other.nullable) && self.heap_type.matches(&other.heap_type)
    }

    fn from_codegen(r: cg::RefType, space: &TypeSpace<'_>) -> Self {
        RefType::new(r.nullable, HeapType::from_codegen(r.heap, space))
    }

    pub(crate) fn to_codegen(&self, cx: &Canonical<'_>) -> cg::RefType {
        cg::RefType {
            nullable: self.nullable,
            heap: self.heap_type.to_codegen(cx),
        }
    }
}

/// Prints `funcref`, `externref`, `(ref func)`, `(ref null noextern)`, `(ref (func ...))`.
impl fmt::Display for RefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.nullable, &self.heap_type) {
            (
                true,
                HeapType::Func
                | HeapType::Extern
                | HeapType::Exn
                | HeapType::Any
                | HeapType::Eq
                | HeapType::I31
                | HeapType::Struct
                | HeapType::Array,
            ) => {
                write!(f, "{}ref", self.heap_type)
            }
            (true, heap) => write!(f, "(ref null {heap})"),
            (false, heap) => write!(f, "(ref {heap})"),
        }
    }
}

/// What a reference points to: the abstract heap types of Wasm 3.0, functions of one
/// signature, and the engine's other defined types.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HeapType {
    /// Any function (`func`).
    Func,
    /// Any host value (`extern`).
    Extern,
    /// No function: the bottom of the function types, whose only reference is null
    /// (`nofunc`).
    NoFunc,
    /// No host value: only null (`noextern`).
    NoExtern,
    /// Any exception (`exn`).
    Exn,
    /// No exception: only null (`noexn`).
    NoExn,
    /// Any internal value: structs, arrays, `i31`s and internalised host values (`any`).
    Any,
    /// Values `ref.eq` compares: structs, arrays and `i31`s (`eq`).
    Eq,
    /// Unboxed 31-bit integers (`i31`).
    I31,
    /// Any struct (`struct`).
    Struct,
    /// Any array (`array`).
    Array,
    /// No internal value: only null (`none`).
    None,
    /// Functions of this signature (`(ref $t)` for a function type `$t` that is final,
    /// without supertype and alone in its recursion group, as every function type written
    /// without `sub` or `rec` is).
    ConcreteFunc(FuncType),
    /// Another defined type of the engine: a struct or array type, or a function type
    /// declared with `sub` or in a recursion group.
    Concrete(DefinedType),
}

impl HeapType {
    /// Whether every reference to `self` is a reference to `other`: equal types, a
    /// concrete type below its declared supertypes and the abstract type of its kind, the
    /// bottom types (`nofunc`, `noextern`, `noexn`, `none`) below every type of their
    /// hierarchy, `i31`, `struct` and `array` below `eq`, below `any`.
    pub fn matches(&self, other: &HeapType) -> bool {
        use HeapType::*;
        if self == other {
            return true;
        }
        match (self, other) {
            (Concrete(a), Concrete(b)) => a.is_subtype_of(b),
            (Concrete(a), abs) => matches!(
                (a.kind, abs),
                (DefinedKind::Func, Func)
                    | (DefinedKind::Struct, Struct | Eq | Any)
                    | (DefinedKind::Array, Array | Eq | Any)
            ),
            (ConcreteFunc(_), Func) | (NoFunc, Func | ConcreteFunc(_)) => true,
            (NoFunc, Concrete(b)) => b.kind == DefinedKind::Func,
            (None, Concrete(b)) => b.kind != DefinedKind::Func,
            (NoExtern, Extern) | (NoExn, Exn) => true,
            (None, Any | Eq | I31 | Struct | Array) => true,
            (I31 | Struct | Array, Eq | Any) | (Eq, Any) => true,
            _ => false,
        }
    }

    /// Whether the references point to functions (`func`, `nofunc` or a function type).
    pub fn is_func(&self) -> bool {
        match self {
            HeapType::Func | HeapType::NoFunc | HeapType::ConcreteFunc(_) => true,
            HeapType::Concrete(ty) => ty.kind == DefinedKind::Func,
            _ => false,
        }
    }

    /// Whether the references point to host values (`extern`, `noextern`).
    pub fn is_extern(&self) -> bool {
        matches!(self, HeapType::Extern | HeapType::NoExtern)
    }

    /// Whether the references point to exceptions (`exn`, `noexn`).
    pub fn is_exn(&self) -> bool {
        matches!(self, HeapType::Exn | HeapType::NoExn)
    }

    /// Whether the references point to internal values (`any` and the types below it).
    pub fn is_any(&self) -> bool {
        match self {
            HeapType::Any
            | HeapType::Eq
            | HeapType::I31
            | HeapType::Struct
            | HeapType::Array
            | HeapType::None => true,
            HeapType::Concrete(ty) => ty.kind != DefinedKind::Func,
            _ => false,
        }
    }

    /// The signature, for a concrete function type.
    pub fn as_concrete_func(&self) -> Option<&FuncType> {
        match self {
            HeapType::ConcreteFunc(ty) => Some(ty),
            _ => Option::None,
        }
    }

    fn from_codegen(heap: cg::HeapType, space: &TypeSpace<'_>) -> Self {
        match heap {
            cg::HeapType::Func => HeapType::Func,
            cg::HeapType::Extern => HeapType::Extern,
            cg::HeapType::NoFunc => HeapType::NoFunc,
            cg::HeapType::NoExtern => HeapType::NoExtern,
            cg::HeapType::Exn => HeapType::Exn,
            cg::HeapType::NoExn => HeapType::NoExn,
            cg::HeapType::Any => HeapType::Any,
            cg::HeapType::Eq => HeapType::Eq,
            cg::HeapType::I31 => HeapType::I31,
            cg::HeapType::Struct => HeapType::Struct,
            cg::HeapType::Array => HeapType::Array,
            cg::HeapType::None => HeapType::None,
            cg::HeapType::Concrete(index) => space.heap_type(index),
        }
    }

    pub(crate) fn to_codegen(&self, cx: &Canonical<'_>) -> cg::HeapType {
        match self {
            HeapType::Func => cg::HeapType::Func,
            HeapType::Extern => cg::HeapType::Extern,
            HeapType::NoFunc => cg::HeapType::NoFunc,
            HeapType::NoExtern => cg::HeapType::NoExtern,
            HeapType::Exn => cg::HeapType::Exn,
            HeapType::NoExn => cg::HeapType::NoExn,
            HeapType::Any => cg::HeapType::Any,
            HeapType::Eq => cg::HeapType::Eq,
            HeapType::I31 => cg::HeapType::I31,
            HeapType::Struct => cg::HeapType::Struct,
            HeapType::Array => cg::HeapType::Array,
            HeapType::None => cg::HeapType::None,
            HeapType::ConcreteFunc(ty) => cg::HeapType::Concrete(cx.id(ty)),
            HeapType::Concrete(ty) => cg::HeapType::Concrete(ty.id),
        }
    }
}

/// Prints the text format's name (`func`, `nofunc`, ...) or `(func (param ...) ...)`.
impl fmt::Display for HeapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeapType::Func => f.write_str("func"),
            HeapType::Extern => f.write_str("extern"),
            HeapType::NoFunc => f.write_str("nofunc"),
            HeapType::NoExtern => f.write_str("noextern"),
            HeapType::Exn => f.write_str("exn"),
            HeapType::NoExn => f.write_str("noexn"),
            HeapType::Any => f.write_str("any"),
            HeapType::Eq => f.write_str("eq"),
            HeapType::I31 => f.write_str("i31"),
            HeapType::Struct => f.write_str("struct"),
            HeapType::Array => f.write_str("array"),
            HeapType::None => f.write_str("none"),
            HeapType::ConcreteFunc(ty) => write!(f, "(func {ty})"),
            HeapType::Concrete(ty) => ty.fmt(f),
        }
    }
}

/// What a defined type is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DefinedKind {
    /// A function type.
    Func,
    /// A struct type.
    Struct,
    /// An array type.
    Array,
}

/// A defined type of an engine, by its engine-wide id: types are equal exactly when their
/// recursion groups are (the spec's iso-recursive equivalence), so the id is the type's
/// identity. It knows its declared supertypes, so subtyping needs no engine. Compare it only
/// with types of the same engine.
#[derive(Clone, Debug)]
pub struct DefinedType {
    id: u32,
    kind: DefinedKind,
    /// The supertype chain, root first, ending with `id`.
    supertypes: Arc<[u32]>,
}

impl DefinedType {
    /// Whether the type is a function, struct or array type.
    pub fn kind(&self) -> DefinedKind {
        self.kind
    }

    /// Whether `self` is `other` or declares it as a supertype, directly or not.
    pub fn is_subtype_of(&self, other: &DefinedType) -> bool {
        let depth = other.supertypes.len();
        depth <= self.supertypes.len() && self.supertypes[depth - 1] == other.id
    }

    fn from_registry(registry: &TypeRegistry, id: u32) -> Self {
        DefinedType {
            id,
            kind: match cg::TypeLookup::kind(registry, id) {
                cg::TypeKind::Func => DefinedKind::Func,
                cg::TypeKind::Struct => DefinedKind::Struct,
                cg::TypeKind::Array => DefinedKind::Array,
            },
            supertypes: registry.supertypes(id),
        }
    }
}

impl PartialEq for DefinedType {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for DefinedType {}

impl std::hash::Hash for DefinedType {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id.hash(state);
    }
}

/// Prints the kind and the engine-wide id: `(struct #12)`.
impl fmt::Display for DefinedType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            DefinedKind::Func => "func",
            DefinedKind::Struct => "struct",
            DefinedKind::Array => "array",
        };
        write!(f, "({kind} #{})", self.id)
    }
}

/// Where the concrete type indices of codegen types lead: a module's type section (indices
/// are module type indices, mapped to engine-wide ids by the module's `type_ids`) or the
/// engine's registry (indices are engine-wide ids). A plain function type (see
/// [`HeapType::ConcreteFunc`]) is spelt out, which always ends (such a type names only
/// other types, never itself); each is spelt out once and shared, so the work grows with
/// the number of types, not with the size of their expansion. Any other defined type is a
/// [`DefinedType`].
pub(crate) struct TypeSpace<'a> {
    registry: &'a TypeRegistry,
    /// A module's engine-wide type ids, by module type index.
    module_ids: Option<&'a [u32]>,
    spelt: RefCell<HashMap<u32, FuncType>>,
}

impl<'a> TypeSpace<'a> {
    /// The types of one module, by module type index: `ids` are their engine-wide ids.
    pub(crate) fn module(registry: &'a TypeRegistry, ids: &'a [u32]) -> Self {
        TypeSpace {
            registry,
            module_ids: Some(ids),
            spelt: RefCell::default(),
        }
    }

    /// Canonical types, by engine-wide id.
    pub(crate) fn engine(registry: &'a TypeRegistry) -> Self {
        TypeSpace {
            registry,
            module_ids: Option::None,
            spelt: RefCell::default(),
        }
    }

    fn engine_id(&self, index: u32) -> u32 {
        match self.module_ids {
            Some(ids) => ids[index as usize],
            Option::None => index,
        }
    }

    /// The public form of the function type at `index`.
    pub(crate) fn func_type(&self, index: u32) -> FuncType {
        let id = self.engine_id(index);
        if let Some(ty) = self.spelt.borrow().get(&id) {
            return ty.clone();
        }
        let engine = TypeSpace::engine(self.registry);
        let ty = FuncType::from_codegen(&self.registry.get(id), &engine);
        self.spelt.borrow_mut().insert(id, ty.clone());
        ty
    }

    /// The public form of the concrete heap type at `index`.
    fn heap_type(&self, index: u32) -> HeapType {
        let id = self.engine_id(index);
        if self.registry.is_plain_func(id) {
            HeapType::ConcreteFunc(self.func_type(index))
        } else {
            HeapType::Concrete(DefinedType::from_registry(self.registry, id))
        }
    }
}

/// Turns public types into canonical codegen types, registering each signature they name
/// once (keyed by its shared storage), so the work grows with the number of distinct
/// signatures, not with the size of their expansion.
pub(crate) struct Canonical<'a> {
    registry: &'a TypeRegistry,
    ids: RefCell<HashMap<*const ValType, u32>>,
}

impl<'a> Canonical<'a> {
    /// A canonicaliser registering with `registry`.
    pub(crate) fn new(registry: &'a TypeRegistry) -> Self {
        Canonical {
            registry,
            ids: RefCell::default(),
        }
    }

    /// The signature id of `ty`. The key is `ty`'s storage, which the caller keeps alive
    /// while this canonicaliser is in use.
    fn id(&self, ty: &FuncType) -> u32 {
        let key = ty.types.as_ptr();
        if let Some(id) = self.ids.borrow().get(&key) {
            return *id;
        }
        let id = self.registry.register(&ty.to_codegen(self));
        self.ids.borrow_mut().insert(key, id);
        id
    }
}

/// A function signature: parameter and result types. Cheap to clone (one reference count),
/// since every untyped call reads its function's type. Signatures that name other
/// signatures share them, so two handles of one signature compare in constant time.
#[derive(Clone, Debug, Eq, Default)]
pub struct FuncType {
    /// The parameter types, then the result types.
    types: Arc<[ValType]>,
    /// How many of `types` are parameters.
    num_params: usize,
}

impl PartialEq for FuncType {
    fn eq(&self, other: &FuncType) -> bool {
        Arc::ptr_eq(&self.types, &other.types)
            || (self.num_params == other.num_params && self.types == other.types)
    }
}

/// Hashes the shape only (the number of parameters and results), so hashing a signature that
/// names others never walks them; equal signatures have equal shapes.
impl std::hash::Hash for FuncType {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.num_params.hash(state);
        self.types.len().hash(state);
    }
}

impl FuncType {
    /// A signature with the given parameters and results, in order.
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> Self {
        let mut types: Vec<ValType> = params.into_iter().collect();
        let num_params = types.len();
        types.extend(results);
        FuncType {
            types: types.into(),
            num_params,
        }
    }

    /// The parameter types, in order.
    pub fn params(&self) -> impl ExactSizeIterator<Item = ValType> + '_ {
        self.types[..self.num_params].iter().cloned()
    }

    /// The result types, in order.
    pub fn results(&self) -> impl ExactSizeIterator<Item = ValType> + '_ {
        self.types[self.num_params..].iter().cloned()
    }

    pub(crate) fn from_codegen(ty: &cg::FuncType, space: &TypeSpace<'_>) -> Self {
        FuncType::new(
            ty.params.iter().map(|t| ValType::from_codegen(*t, space)),
            ty.results.iter().map(|t| ValType::from_codegen(*t, space)),
        )
    }

    /// The canonical codegen form (concrete types as signature ids).
    pub(crate) fn to_codegen(&self, cx: &Canonical<'_>) -> cg::FuncType {
        let types: Vec<cg::ValType> = self.types.iter().map(|t| t.to_codegen(cx)).collect();
        let (params, results) = types.split_at(self.num_params);
        cg::FuncType::new(params.iter().copied(), results.iter().copied())
    }

    /// The codegen form for code that only needs the calling convention (trampolines):
    /// every reference as its abstract top type, so no type index appears.
    pub(crate) fn to_abi_codegen(&self) -> cg::FuncType {
        let erase = |t: ValType| match t {
            ValType::Ref(_) => cg::ValType::FUNCREF,
            ValType::I32 => cg::ValType::I32,
            ValType::I64 => cg::ValType::I64,
            ValType::F32 => cg::ValType::F32,
            ValType::F64 => cg::ValType::F64,
            ValType::V128 => cg::ValType::V128,
        };
        cg::FuncType::new(self.params().map(erase), self.results().map(erase))
    }

    /// The engine-wide signature id of this type, registering it on first sight.
    pub(crate) fn type_id(&self, registry: &TypeRegistry) -> u32 {
        Canonical::new(registry).id(self)
    }
}

/// Prints `(i32, i64) -> (f32)`; a signature named by one of these types shows as
/// `(func ...)`, so the text stays short however deeply signatures name each other.
impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shallow = |t: &ValType| match t {
            ValType::Ref(r) if r.heap_type.as_concrete_func().is_some() => {
                let null = if r.nullable { "null " } else { "" };
                format!("(ref {null}(func ...))")
            }
            t => t.to_string(),
        };
        let list = |tys: &[ValType]| tys.iter().map(shallow).collect::<Vec<_>>();
        write!(
            f,
            "({}) -> ({})",
            list(&self.types[..self.num_params]).join(", "),
            list(&self.types[self.num_params..]).join(", ")
        )
    }
}

/// A linear memory's type: limits in pages (of 64 KiB, or of one byte with the
/// custom-page-sizes proposal), whether it is shared between threads, whether it is indexed
/// with 64-bit addresses.
///
/// Built with [`MemoryType::new`], [`MemoryType::shared`] or, checking the limits instead of
/// panicking, [`MemoryType::builder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemoryType {
    minimum: u64,
    maximum: Option<u64>,
    shared: bool,
    memory64: bool,
    page_size_log2: u8,
}

impl MemoryType {
    /// The type of an unshared 32-bit memory of `minimum` pages, growable to `maximum`
    /// pages (or to 4 GiB).
    ///
    /// # Panics
    /// If the limits are invalid: `minimum > maximum`, or either above 65536 pages.
    pub fn new(minimum: u64, maximum: Option<u64>) -> Self {
        let built = MemoryType::builder().min(minimum).max(maximum).build();
        built.unwrap_or_else(|e| panic!("invalid memory type: {e}"))
    }

    /// The type of a shared 32-bit memory of `minimum` pages, growable to `maximum` pages.
    ///
    /// # Panics
    /// If the limits are invalid: `minimum > maximum`, or `maximum` above 65536 pages.
    pub fn shared(minimum: u64, maximum: u64) -> Self {
        let built = MemoryType::builder()
            .min(minimum)
            .max(Some(maximum))
            .shared(true)
            .build();
        built.unwrap_or_else(|e| panic!("invalid memory type: {e}"))
    }

    /// A builder for any memory type, whose `build` reports bad limits as an error.
    pub fn builder() -> MemoryTypeBuilder {
        MemoryTypeBuilder::default()
    }

    /// The initial (or, for an existing memory, current) size in pages.
    pub fn minimum(&self) -> u64 {
        self.minimum
    }

    /// The largest size in pages, if bounded.
    pub fn maximum(&self) -> Option<u64> {
        self.maximum
    }

    /// Whether the memory may be shared between threads.
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// Whether the memory is indexed with 64-bit addresses (the memory64 proposal).
    pub fn is_64(&self) -> bool {
        self.memory64
    }

    /// The size of the pages the limits, `memory.size` and `memory.grow` count in, in
    /// bytes: 65536, or 1 for a memory declared `(pagesize 1)` (the custom-page-sizes
    /// proposal).
    pub fn page_size(&self) -> u64 {
        1 << self.page_size_log2
    }

    /// log2 of [`MemoryType::page_size`]: 16 or 0.
    pub fn page_size_log2(&self) -> u8 {
        self.page_size_log2
    }

    pub(crate) fn from_codegen(ty: &cg::MemoryType) -> Self {
        MemoryType {
            minimum: ty.minimum,
            maximum: ty.maximum,
            shared: ty.shared,
            memory64: ty.memory64,
            page_size_log2: ty.page_size_log2,
        }
    }

    pub(crate) fn to_codegen(self) -> cg::MemoryType {
        cg::MemoryType {
            minimum: self.minimum,
            maximum: self.maximum,
            shared: self.shared,
            memory64: self.memory64,
            page_size_log2: self.page_size_log2,
        }
    }
}

/// Builds a [`MemoryType`] step by step, as wasmtime's `MemoryTypeBuilder` does: by default
/// an unshared 32-bit memory of 0 pages with no maximum.
#[derive(Clone, Debug)]
pub struct MemoryTypeBuilder {
    ty: MemoryType,
}

impl Default for MemoryTypeBuilder {
    fn default() -> Self {
        MemoryTypeBuilder {
            ty: MemoryType {
                minimum: 0,
                maximum: None,
                shared: false,
                memory64: false,
                page_size_log2: cg::WASM_PAGE_SIZE_LOG2,
            },
        }
    }
}

impl MemoryTypeBuilder {
    /// The initial size in pages.
    pub fn min(&mut self, minimum: u64) -> &mut Self {
        self.ty.minimum = minimum;
        self
    }

    /// The largest size in pages, or `None` for no maximum.
    pub fn max(&mut self, maximum: Option<u64>) -> &mut Self {
        self.ty.maximum = maximum;
        self
    }

    /// Whether the memory is shared between threads (a shared memory needs a maximum).
    pub fn shared(&mut self, shared: bool) -> &mut Self {
        self.ty.shared = shared;
        self
    }

    /// Whether the memory is indexed with 64-bit addresses.
    pub fn memory64(&mut self, memory64: bool) -> &mut Self {
        self.ty.memory64 = memory64;
        self
    }

    /// log2 of the page size: 16 (64 KiB, the default) or 0 (one byte, the
    /// custom-page-sizes proposal). Modules importing the memory must declare the same.
    pub fn page_size_log2(&mut self, log2: u8) -> &mut Self {
        self.ty.page_size_log2 = log2;
        self
    }

    /// The memory type, or an `Error::Memory` naming the broken rule: a page size other
    /// than 1 or 65536 bytes, a size above the largest the index type allows with that page
    /// size, `minimum > maximum`, or a shared memory without a maximum.
    pub fn build(&self) -> Result<MemoryType> {
        let ty = self.ty;
        let limit = ty.to_codegen().index_limit_pages();
        let error = if ty.page_size_log2 != 0 && ty.page_size_log2 != cg::WASM_PAGE_SIZE_LOG2 {
            Some(MemoryError::PageSize {
                log2: ty.page_size_log2,
            })
        } else if ty.minimum > limit {
            Some(MemoryError::InitialTooLarge { pages: ty.minimum })
        } else {
            match ty.maximum {
                Some(max) if max > limit => Some(MemoryError::MaximumTooLarge { pages: max }),
                Some(max) if ty.minimum > max => Some(MemoryError::InitialAboveMaximum {
                    initial: ty.minimum,
                    maximum: max,
                }),
                None if ty.shared => Some(MemoryError::SharedWithoutMaximum),
                _ => None,
            }
        };
        match error {
            Some(e) => Err(Error::Memory(e)),
            None => Ok(ty),
        }
    }
}

/// A table's type: its element type and limits, in elements.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TableType {
    element: RefType,
    minimum: u64,
    maximum: Option<u64>,
    table64: bool,
}

impl TableType {
    /// A table of `element` references (`RefType::FUNCREF`, `RefType::EXTERNREF`, a typed
    /// `(ref null $t)`, ...), `minimum` elements initially, growable to `maximum` elements
    /// (or without bound), indexed with `i32`.
    pub fn new(element: RefType, minimum: u64, maximum: Option<u64>) -> Self {
        TableType {
            element,
            minimum,
            maximum,
            table64: false,
        }
    }

    /// As [`TableType::new`], for a table indexed with `i64` (the memory64 proposal's
    /// 64-bit tables).
    pub fn new64(element: RefType, minimum: u64, maximum: Option<u64>) -> Self {
        TableType {
            table64: true,
            ..TableType::new(element, minimum, maximum)
        }
    }

    /// Whether the table is indexed with `i64`.
    pub fn is_64(&self) -> bool {
        self.table64
    }

    /// The reference type stored in the table.
    pub fn element(&self) -> &RefType {
        &self.element
    }

    /// The initial (or, for an existing table, current) number of elements.
    pub fn minimum(&self) -> u64 {
        self.minimum
    }

    /// The largest number of elements, if bounded.
    pub fn maximum(&self) -> Option<u64> {
        self.maximum
    }

    pub(crate) fn from_codegen(ty: &cg::TableType, space: &TypeSpace<'_>) -> Self {
        TableType {
            table64: ty.table64,
            ..TableType::new(
                RefType::from_codegen(ty.element, space),
                ty.minimum,
                ty.maximum,
            )
        }
    }

    /// The canonical codegen form (concrete types as signature ids).
    pub(crate) fn to_codegen(&self, cx: &Canonical<'_>) -> cg::TableType {
        cg::TableType {
            element: self.element.to_codegen(cx),
            minimum: self.minimum,
            maximum: self.maximum,
            table64: self.table64,
        }
    }
}

/// Whether a global can be changed after its initialisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mutability {
    /// An immutable global (`global.set` is invalid, [`crate::Global::set`] fails).
    Const,
    /// A mutable global.
    Var,
}

/// A global's type: its content type and mutability.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GlobalType {
    content: ValType,
    mutability: Mutability,
}

impl GlobalType {
    /// A global holding a value of type `content`.
    pub fn new(content: ValType, mutability: Mutability) -> Self {
        GlobalType {
            content,
            mutability,
        }
    }

    /// The type of the value held.
    pub fn content(&self) -> &ValType {
        &self.content
    }

    /// Whether the global may change.
    pub fn mutability(&self) -> Mutability {
        self.mutability
    }

    pub(crate) fn from_codegen(ty: &cg::GlobalType, space: &TypeSpace<'_>) -> Self {
        let mutability = if ty.mutable {
            Mutability::Var
        } else {
            Mutability::Const
        };
        GlobalType::new(ValType::from_codegen(ty.content, space), mutability)
    }

    /// The canonical codegen form (concrete types as signature ids).
    pub(crate) fn to_codegen(&self, cx: &Canonical<'_>) -> cg::GlobalType {
        cg::GlobalType {
            content: self.content.to_codegen(cx),
            mutable: self.mutability == Mutability::Var,
        }
    }
}

/// The type of an import or export.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExternType {
    /// A function of this signature.
    Func(FuncType),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
    /// A tag.
    Tag(TagType),
}

impl ExternType {
    /// The function type, if this is one.
    pub fn func(&self) -> Option<&FuncType> {
        match self {
            ExternType::Func(ty) => Some(ty),
            _ => None,
        }
    }

    /// The table type, if this is one.
    pub fn table(&self) -> Option<&TableType> {
        match self {
            ExternType::Table(ty) => Some(ty),
            _ => None,
        }
    }

    /// The memory type, if this is one.
    pub fn memory(&self) -> Option<&MemoryType> {
        match self {
            ExternType::Memory(ty) => Some(ty),
            _ => None,
        }
    }

    /// The global type, if this is one.
    pub fn global(&self) -> Option<&GlobalType> {
        match self {
            ExternType::Global(ty) => Some(ty),
            _ => None,
        }
    }

    /// The tag type, if this is one.
    pub fn tag(&self) -> Option<&TagType> {
        match self {
            ExternType::Tag(ty) => Some(ty),
            _ => None,
        }
    }

    /// The public form of an import's or export's type in a module whose types `space`
    /// gives.
    pub(crate) fn from_codegen(space: &TypeSpace<'_>, ty: &cg::EntityType) -> Self {
        match ty {
            cg::EntityType::Function(t) => ExternType::Func(space.func_type(*t)),
            cg::EntityType::Table(t) => ExternType::Table(TableType::from_codegen(t, space)),
            cg::EntityType::Memory(m) => ExternType::Memory(MemoryType::from_codegen(m)),
            cg::EntityType::Global(g) => ExternType::Global(GlobalType::from_codegen(g, space)),
            cg::EntityType::Tag(t) => ExternType::Tag(TagType::new(space.func_type(*t))),
        }
    }
}
