//! What a module declares, decoded once by wasmparser into plain data.
//!
//! [`ModuleInfo`] is everything the runtime needs to instantiate a module (types, imports,
//! exports, segments, initialisers) and everything the translator needs to compile one
//! function (signatures, the index spaces). Index spaces follow the spec: imported entities
//! come first, then the module's own.

use std::fmt;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use wasmparser::{
    Data, Element, ExternalKind, Operator, Parser, Payload, TypeRef, ValidPayload, Validator,
    ValidatorResources, WasmFeatures,
};

use crate::error::CompileError;
use crate::memory_layout::WASM_PAGE_SIZE_LOG2;

/// What a reference points to: the spec's heap types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HeapType {
    /// Any function (`func`).
    Func,
    /// Any host value (`extern`).
    Extern,
    /// No function: the bottom of the function types; only null has it (`nofunc`).
    NoFunc,
    /// No host value: only null has it (`noextern`).
    NoExtern,
    /// Any exception (`exn`).
    Exn,
    /// No exception: only null has it (`noexn`).
    NoExn,
    /// Any internal value: GC objects, `i31`s and internalised host values (`any`).
    Any,
    /// Values comparable with `ref.eq`: GC objects and `i31`s (`eq`).
    Eq,
    /// Unboxed 31-bit integers (`i31`).
    I31,
    /// Any struct (`struct`).
    Struct,
    /// Any array (`array`).
    Array,
    /// The bottom of the internal types; only null has it (`none`).
    None,
    /// A defined type (a function, struct or array type). In a module's own types
    /// ([`ModuleInfo`]) the index is the module's type index; in types the runtime holds (a
    /// store's tables and globals, the engine's type registry) it is the engine-wide type id,
    /// so that equal types of different modules compare equal.
    Concrete(u32),
}

/// The kind of a defined type, which decides the abstract heap types above it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TypeKind {
    /// A function type (below `func`).
    Func,
    /// A struct type (below `struct`, `eq` and `any`).
    Struct,
    /// An array type (below `array`, `eq` and `any`).
    Array,
}

/// What heap subtyping must know of defined types: their kind and their declared supertypes.
/// Implemented by a module's types (module type indices) and by the engine's type registry
/// (engine-wide ids).
pub trait TypeLookup {
    /// The kind of defined type `index`.
    fn kind(&self, index: u32) -> TypeKind;
    /// Whether defined type `sub` is `sup` or declares it, directly or through its
    /// supertypes, as a supertype.
    fn is_subtype(&self, sub: u32, sup: u32) -> bool;
}

impl HeapType {
    /// Whether every value of `self` is a value of `other` (the spec's heap subtyping).
    /// Concrete types are looked up in `types`, so both sides must use its index space.
    pub fn matches(self, other: HeapType, types: &dyn TypeLookup) -> bool {
        use HeapType::*;
        if self == other {
            return true;
        }
        match (self, other) {
            (Concrete(a), Concrete(b)) => types.is_subtype(a, b),
            (Concrete(a), abs) => matches!(
                (types.kind(a), abs),
                (TypeKind::Func, Func)
                    | (TypeKind::Struct, Struct | Eq | Any)
                    | (TypeKind::Array, Array | Eq | Any)
            ),
            (NoFunc, Concrete(b)) => types.kind(b) == TypeKind::Func,
            (None, Concrete(b)) => types.kind(b) != TypeKind::Func,
            (NoFunc, Func) | (NoExtern, Extern) | (NoExn, Exn) => true,
            (None, Any | Eq | I31 | Struct | Array) => true,
            (I31 | Struct | Array, Eq | Any) | (Eq, Any) => true,
            _ => false,
        }
    }

    /// The top of the hierarchy the type belongs to (`func`, `extern`, `exn` or `any`).
    pub fn top(self, types: &dyn TypeLookup) -> HeapType {
        use HeapType::*;
        match self {
            Func | NoFunc => Func,
            Extern | NoExtern => Extern,
            Exn | NoExn => Exn,
            Any | Eq | I31 | Struct | Array | None => Any,
            Concrete(i) => match types.kind(i) {
                TypeKind::Func => Func,
                _ => Any,
            },
        }
    }

    /// The heap type with a concrete index mapped by `f` (e.g. module type index to engine
    /// signature id).
    pub fn map_index(self, f: impl FnOnce(u32) -> u32) -> HeapType {
        match self {
            HeapType::Concrete(i) => HeapType::Concrete(f(i)),
            other => other,
        }
    }
}

/// A reference type: a heap type and whether null is a value of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RefType {
    /// Whether null is a value (`ref null ...`).
    pub nullable: bool,
    /// What the reference points to.
    pub heap: HeapType,
}

impl RefType {
    /// `funcref`, i.e. `(ref null func)`.
    pub const FUNCREF: RefType = RefType {
        nullable: true,
        heap: HeapType::Func,
    };
    /// `externref`, i.e. `(ref null extern)`.
    pub const EXTERNREF: RefType = RefType {
        nullable: true,
        heap: HeapType::Extern,
    };

    /// Whether every value of `self` is a value of `other`.
    pub fn matches(self, other: RefType, types: &dyn TypeLookup) -> bool {
        (!self.nullable || other.nullable) && self.heap.matches(other.heap, types)
    }

    /// Whether the references point to functions (`func`, `nofunc` or a function type).
    pub fn is_func(self, types: &dyn TypeLookup) -> bool {
        self.heap.top(types) == HeapType::Func
    }

    /// Whether a reference of this type may point to a GC object, so that the collector
    /// must see it: references of the `any` hierarchy but `i31` and `none` (never an
    /// object), and `externref`, which may hold an object made external with
    /// `extern.convert_any`.
    pub fn may_be_gc_object(self, types: &dyn TypeLookup) -> bool {
        matches!(self.heap.top(types), HeapType::Any | HeapType::Extern)
            && !matches!(
                self.heap,
                HeapType::I31 | HeapType::None | HeapType::NoExtern
            )
    }

    pub(crate) fn from_wasm(r: wasmparser::RefType) -> Result<Self, CompileError> {
        Ok(RefType {
            nullable: r.is_nullable(),
            heap: HeapType::from_wasm(r.heap_type())?,
        })
    }
}

impl HeapType {
    pub(crate) fn from_wasm(heap: wasmparser::HeapType) -> Result<Self, CompileError> {
        use wasmparser::{AbstractHeapType as A, HeapType as H};
        Ok(match heap {
            H::Abstract { shared: false, ty } => match ty {
                A::Func => HeapType::Func,
                A::Extern => HeapType::Extern,
                A::NoFunc => HeapType::NoFunc,
                A::NoExtern => HeapType::NoExtern,
                A::Exn => HeapType::Exn,
                A::NoExn => HeapType::NoExn,
                A::Any => HeapType::Any,
                A::Eq => HeapType::Eq,
                A::I31 => HeapType::I31,
                A::Struct => HeapType::Struct,
                A::Array => HeapType::Array,
                A::None => HeapType::None,
                _ => return Err(CompileError::Unsupported(format!("heap type {heap:?}"))),
            },
            H::Concrete(index) | H::Exact(index) => match index.as_module_index() {
                Some(i) => HeapType::Concrete(i),
                None => return Err(CompileError::Unsupported(format!("heap type {heap:?}"))),
            },
            _ => return Err(CompileError::Unsupported(format!("heap type {heap:?}"))),
        })
    }
}

impl fmt::Display for RefType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let heap = match self.heap {
            HeapType::Func => "func".to_string(),
            HeapType::Extern => "extern".to_string(),
            HeapType::NoFunc => "nofunc".to_string(),
            HeapType::NoExtern => "noextern".to_string(),
            HeapType::Exn => "exn".to_string(),
            HeapType::NoExn => "noexn".to_string(),
            HeapType::Any => "any".to_string(),
            HeapType::Eq => "eq".to_string(),
            HeapType::I31 => "i31".to_string(),
            HeapType::Struct => "struct".to_string(),
            HeapType::Array => "array".to_string(),
            HeapType::None => "none".to_string(),
            HeapType::Concrete(i) => i.to_string(),
        };
        match (self.nullable, self.heap) {
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
            ) => write!(f, "{heap}ref"),
            (true, _) => write!(f, "(ref null {heap})"),
            (false, _) => write!(f, "(ref {heap})"),
        }
    }
}

/// A WebAssembly value type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// `funcref`.
    pub const FUNCREF: ValType = ValType::Ref(RefType::FUNCREF);
    /// `externref`.
    pub const EXTERNREF: ValType = ValType::Ref(RefType::EXTERNREF);

    pub(crate) fn from_wasm(ty: wasmparser::ValType) -> Result<Self, CompileError> {
        Ok(match ty {
            wasmparser::ValType::I32 => ValType::I32,
            wasmparser::ValType::I64 => ValType::I64,
            wasmparser::ValType::F32 => ValType::F32,
            wasmparser::ValType::F64 => ValType::F64,
            wasmparser::ValType::V128 => ValType::V128,
            wasmparser::ValType::Ref(r) => ValType::Ref(RefType::from_wasm(r)?),
        })
    }

    /// Whether values of this type are references.
    pub fn is_ref(self) -> bool {
        matches!(self, ValType::Ref(_))
    }

    /// The reference type, if this is one.
    pub fn as_ref(self) -> Option<RefType> {
        match self {
            ValType::Ref(r) => Some(r),
            _ => None,
        }
    }

    /// Whether every value of `self` is a value of `other` (see [`RefType::matches`]).
    pub fn matches(self, other: ValType, types: &dyn TypeLookup) -> bool {
        match (self, other) {
            (ValType::Ref(a), ValType::Ref(b)) => a.matches(b, types),
            (a, b) => a == b,
        }
    }

    /// The type with its concrete type index mapped by `f`.
    pub fn map_index(self, f: impl FnOnce(u32) -> u32) -> ValType {
        match self {
            ValType::Ref(r) => ValType::Ref(RefType {
                heap: r.heap.map_index(f),
                ..r
            }),
            other => other,
        }
    }
}

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

/// A function signature.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct FuncType {
    /// Parameter types, in order.
    pub params: Box<[ValType]>,
    /// Result types, in order.
    pub results: Box<[ValType]>,
}

impl FuncType {
    /// A signature with the given parameters and results.
    pub fn new(
        params: impl IntoIterator<Item = ValType>,
        results: impl IntoIterator<Item = ValType>,
    ) -> Self {
        FuncType {
            params: params.into_iter().collect(),
            results: results.into_iter().collect(),
        }
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |tys: &[ValType]| tys.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        write!(
            f,
            "({}) -> ({})",
            list(&self.params).join(", "),
            list(&self.results).join(", ")
        )
    }
}

/// How a struct field or array element is stored: a packed integer or a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StorageType {
    /// An 8-bit integer, read as an `i32` (`get_s`/`get_u`).
    I8,
    /// A 16-bit integer, read as an `i32`.
    I16,
    /// A value of this type.
    Val(ValType),
}

impl StorageType {
    /// Whether a field of this type may refer to a GC object (see
    /// [`RefType::may_be_gc_object`]): the collector traces it.
    pub fn is_gc_ref(self, types: &dyn TypeLookup) -> bool {
        matches!(self, StorageType::Val(ValType::Ref(r)) if r.may_be_gc_object(types))
    }

    /// The size in bytes of one stored field.
    pub fn size(self) -> u32 {
        match self {
            StorageType::I8 => 1,
            StorageType::I16 => 2,
            StorageType::Val(ValType::I32 | ValType::F32) => 4,
            StorageType::Val(ValType::I64 | ValType::F64 | ValType::Ref(_)) => 8,
            StorageType::Val(ValType::V128) => 16,
        }
    }

    /// The value type the field is read as (`i32` for packed fields).
    pub fn unpacked(self) -> ValType {
        match self {
            StorageType::I8 | StorageType::I16 => ValType::I32,
            StorageType::Val(t) => t,
        }
    }

    fn map_index(self, f: impl FnOnce(u32) -> u32) -> StorageType {
        match self {
            StorageType::Val(t) => StorageType::Val(t.map_index(f)),
            packed => packed,
        }
    }
}

/// A struct field or an array's element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldType {
    /// How the field is stored.
    pub storage: StorageType,
    /// Whether `struct.set`/`array.set` may change it.
    pub mutable: bool,
}

impl FieldType {
    /// The field type with its concrete type index mapped by `f`.
    pub fn map_index(self, f: impl FnOnce(u32) -> u32) -> FieldType {
        FieldType {
            storage: self.storage.map_index(f),
            mutable: self.mutable,
        }
    }
}

/// The structure of a defined type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CompositeType {
    /// A function type.
    Func(FuncType),
    /// A struct type: its fields in order.
    Struct(Box<[FieldType]>),
    /// An array type: its element type.
    Array(FieldType),
}

impl CompositeType {
    /// The kind of the type.
    pub fn kind(&self) -> TypeKind {
        match self {
            CompositeType::Func(_) => TypeKind::Func,
            CompositeType::Struct(_) => TypeKind::Struct,
            CompositeType::Array(_) => TypeKind::Array,
        }
    }

    /// The type with every concrete type index mapped by `f`.
    pub fn map_index(&self, f: &impl Fn(u32) -> u32) -> CompositeType {
        match self {
            CompositeType::Func(ty) => CompositeType::Func(FuncType {
                params: ty.params.iter().map(|t| t.map_index(f)).collect(),
                results: ty.results.iter().map(|t| t.map_index(f)).collect(),
            }),
            CompositeType::Struct(fields) => {
                CompositeType::Struct(fields.iter().map(|t| t.map_index(f)).collect())
            }
            CompositeType::Array(elem) => CompositeType::Array(elem.map_index(f)),
        }
    }
}

/// A defined type: its structure, its declared supertype and whether it may have subtypes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SubType {
    /// `sub final` (or no `sub` at all): no type may declare this one as its supertype.
    pub is_final: bool,
    /// The declared supertype, if any.
    pub supertype: Option<u32>,
    /// The structure.
    pub composite: CompositeType,
}

impl SubType {
    /// A final function type without supertype, as every function type is without GC.
    pub fn func(ty: FuncType) -> Self {
        SubType {
            is_final: true,
            supertype: None,
            composite: CompositeType::Func(ty),
        }
    }

    /// The function type, if this is one.
    pub fn as_func(&self) -> Option<&FuncType> {
        match &self.composite {
            CompositeType::Func(ty) => Some(ty),
            _ => None,
        }
    }

    /// The type with every concrete type index (supertype included) mapped by `f`.
    pub fn map_index(&self, f: &impl Fn(u32) -> u32) -> SubType {
        SubType {
            is_final: self.is_final,
            supertype: self.supertype.map(f),
            composite: self.composite.map_index(f),
        }
    }

    fn from_wasm(ty: &wasmparser::SubType) -> Result<Self, CompileError> {
        let field = |f: &wasmparser::FieldType| -> Result<FieldType, CompileError> {
            Ok(FieldType {
                storage: match f.element_type {
                    wasmparser::StorageType::I8 => StorageType::I8,
                    wasmparser::StorageType::I16 => StorageType::I16,
                    wasmparser::StorageType::Val(v) => StorageType::Val(ValType::from_wasm(v)?),
                },
                mutable: f.mutable,
            })
        };
        let composite = match &ty.composite_type.inner {
            wasmparser::CompositeInnerType::Func(f) => CompositeType::Func(FuncType {
                params: convert(f.params())?,
                results: convert(f.results())?,
            }),
            wasmparser::CompositeInnerType::Struct(s) => {
                CompositeType::Struct(s.fields.iter().map(field).collect::<Result<_, _>>()?)
            }
            wasmparser::CompositeInnerType::Array(a) => CompositeType::Array(field(&a.0)?),
            other => return Err(CompileError::Unsupported(format!("type {other:?}"))),
        };
        let supertype =
            match ty.supertype_idxs.first() {
                Some(index) => Some(index.as_module_index().ok_or_else(|| {
                    CompileError::Unsupported(format!("supertype index {index:?}"))
                })?),
                None => None,
            };
        Ok(SubType {
            is_final: ty.is_final,
            supertype,
            composite,
        })
    }
}

/// A linear memory's limits, in pages (of 64 KiB unless the custom-page-sizes proposal
/// names another size).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MemoryType {
    /// Initial size in pages.
    pub minimum: u64,
    /// Largest size in pages, if bounded.
    pub maximum: Option<u64>,
    /// Whether the memory may be shared between threads.
    pub shared: bool,
    /// Whether the memory is indexed with 64-bit addresses.
    pub memory64: bool,
    /// log2 of the page size in bytes: [`WASM_PAGE_SIZE_LOG2`] (64 KiB), or 0 (one byte)
    /// with the custom-page-sizes proposal.
    pub page_size_log2: u8,
}

impl MemoryType {
    /// The page size in bytes.
    pub fn page_size(&self) -> u64 {
        1 << self.page_size_log2
    }

    /// `pages` pages in bytes (a `u128`: a 64-bit memory's page count reaches 2^64 bytes).
    pub fn pages_to_bytes(&self, pages: u64) -> u128 {
        u128::from(pages) << self.page_size_log2
    }

    /// The most pages the index type lets the memory have: 4 GiB of 32-bit memory, 2^64
    /// bytes of 64-bit memory, less one page when pages are one byte (the limits the
    /// custom-page-sizes proposal gives).
    pub fn index_limit_pages(&self) -> u64 {
        let address_bits = if self.memory64 { 64 } else { 32 };
        match address_bits - u32::from(self.page_size_log2) {
            64 => u64::MAX,
            bits if self.page_size_log2 == 0 => (1 << bits) - 1,
            bits => 1 << bits,
        }
    }
}

/// A table's element type and limits, in elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TableType {
    /// The reference type stored in the table.
    pub element: RefType,
    /// Initial number of elements.
    pub minimum: u64,
    /// Largest number of elements, if bounded.
    pub maximum: Option<u64>,
    /// Whether the table is indexed with `i64` (the memory64 proposal's 64-bit tables).
    pub table64: bool,
}

/// A global's content type and mutability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GlobalType {
    /// The type of the value held.
    pub content: ValType,
    /// Whether `global.set` may change it.
    pub mutable: bool,
}

/// One instruction of a constant expression.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum ConstOp {
    /// `i32.const`.
    I32Const(i32),
    /// `i64.const`.
    I64Const(i64),
    /// `f32.const`, as raw bits.
    F32Const(u32),
    /// `f64.const`, as raw bits.
    F64Const(u64),
    /// `v128.const`.
    V128Const(u128),
    /// `ref.null` of any reference type.
    RefNull,
    /// `ref.func` of a function index.
    RefFunc(u32),
    /// `global.get` of an (imported) global.
    GlobalGet(u32),
    /// `i32.add` (extended constant expressions).
    I32Add,
    /// `i32.sub`.
    I32Sub,
    /// `i32.mul`.
    I32Mul,
    /// `i64.add`.
    I64Add,
    /// `i64.sub`.
    I64Sub,
    /// `i64.mul`.
    I64Mul,
    /// `struct.new` of a module type index: the fields are popped, the last on top.
    StructNew(u32),
    /// `struct.new_default`.
    StructNewDefault(u32),
    /// `array.new`: the initial element and the length are popped.
    ArrayNew(u32),
    /// `array.new_default`: the length is popped.
    ArrayNewDefault(u32),
    /// `array.new_fixed` of a type and an element count: the elements are popped.
    ArrayNewFixed(u32, u32),
    /// `ref.i31`.
    RefI31,
    /// `any.convert_extern`: the same reference, seen as internal.
    AnyConvertExtern,
    /// `extern.convert_any`: the same reference, seen as external.
    ExternConvertAny,
}

/// A constant expression: global initialisers, segment offsets, element items.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct ConstExpr {
    /// The instructions, in order, without the final `end`.
    pub ops: Vec<ConstOp>,
}

impl ConstExpr {
    fn parse(expr: &wasmparser::ConstExpr<'_>) -> Result<Self, CompileError> {
        let mut ops = Vec::new();
        let mut reader = expr.get_operators_reader();
        while !reader.eof() {
            let op = match reader.read()? {
                Operator::I32Const { value } => ConstOp::I32Const(value),
                Operator::I64Const { value } => ConstOp::I64Const(value),
                Operator::F32Const { value } => ConstOp::F32Const(value.bits()),
                Operator::F64Const { value } => ConstOp::F64Const(value.bits()),
                Operator::V128Const { value } => ConstOp::V128Const(value.i128() as u128),
                Operator::RefNull { .. } => ConstOp::RefNull,
                Operator::RefFunc { function_index } => ConstOp::RefFunc(function_index),
                Operator::GlobalGet { global_index } => ConstOp::GlobalGet(global_index),
                Operator::I32Add => ConstOp::I32Add,
                Operator::I32Sub => ConstOp::I32Sub,
                Operator::I32Mul => ConstOp::I32Mul,
                Operator::I64Add => ConstOp::I64Add,
                Operator::I64Sub => ConstOp::I64Sub,
                Operator::I64Mul => ConstOp::I64Mul,
                Operator::StructNew { struct_type_index } => ConstOp::StructNew(struct_type_index),
                Operator::StructNewDefault { struct_type_index } => {
                    ConstOp::StructNewDefault(struct_type_index)
                }
                Operator::ArrayNew { array_type_index } => ConstOp::ArrayNew(array_type_index),
                Operator::ArrayNewDefault { array_type_index } => {
                    ConstOp::ArrayNewDefault(array_type_index)
                }
                Operator::ArrayNewFixed {
                    array_type_index,
                    array_size,
                } => ConstOp::ArrayNewFixed(array_type_index, array_size),
                Operator::RefI31 => ConstOp::RefI31,
                Operator::AnyConvertExtern => ConstOp::AnyConvertExtern,
                Operator::ExternConvertAny => ConstOp::ExternConvertAny,
                Operator::End => continue,
                other => {
                    return Err(CompileError::Unsupported(format!(
                        "constant expression operator {other:?}"
                    )))
                }
            };
            ops.push(op);
        }
        Ok(ConstExpr { ops })
    }
}

/// What an import or export refers to: a kind and an index in that kind's index space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EntityIndex {
    /// A function.
    Function(u32),
    /// A table.
    Table(u32),
    /// A linear memory.
    Memory(u32),
    /// A global.
    Global(u32),
    /// A tag.
    Tag(u32),
}

/// The type an import requires.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum EntityType {
    /// A function of the given type index.
    Function(u32),
    /// A table.
    Table(TableType),
    /// A memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
    /// A tag whose payload is the parameters of the given type index.
    Tag(u32),
}

/// One import of a module.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Import {
    /// The module name, e.g. `"js"`.
    pub module: String,
    /// The field name, e.g. `"mem"`.
    pub name: String,
    /// What the import must be.
    pub ty: EntityType,
}

/// One export of a module.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Export {
    /// The export's name.
    pub name: String,
    /// What it exports.
    pub index: EntityIndex,
}

/// How an element segment is used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ElemKind {
    /// Copied into a table at instantiation, then dropped.
    Active {
        /// The table written.
        table: u32,
        /// The first element written.
        offset: ConstExpr,
    },
    /// Kept for `table.init`.
    Passive,
    /// Only declares functions referenced by `ref.func`.
    Declared,
}

/// The items of an element segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ElemItems {
    /// Function indices.
    Functions(Vec<u32>),
    /// Constant expressions, each giving a reference.
    Expressions(Vec<ConstExpr>),
}

impl ElemItems {
    /// Number of items.
    pub fn len(&self) -> usize {
        match self {
            ElemItems::Functions(f) => f.len(),
            ElemItems::Expressions(e) => e.len(),
        }
    }

    /// Whether the segment has no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An element segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ElementSegment {
    /// Active, passive or declared.
    pub kind: ElemKind,
    /// The reference type of the items.
    pub element: RefType,
    /// The items.
    pub items: ElemItems,
}

/// How a data segment is used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DataKind {
    /// Copied into a memory at instantiation, then dropped.
    Active {
        /// The memory written.
        memory: u32,
        /// The first byte written.
        offset: ConstExpr,
    },
    /// Kept for `memory.init`.
    Passive,
}

/// A data segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataSegment {
    /// Active or passive.
    pub kind: DataKind,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Everything a module declares, in the spec's index spaces.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ModuleInfo {
    /// The type section: every defined type, in index order.
    pub types: Vec<SubType>,
    /// The recursion groups of the type section, as ranges of type indices, in order (a
    /// type outside an explicit `rec` is a group of one).
    pub rec_groups: Vec<Range<u32>>,
    /// Imports, in declaration order.
    pub imports: Vec<Import>,
    /// The type index of every function, imported ones first.
    pub functions: Vec<u32>,
    /// Every table, imported ones first.
    pub tables: Vec<TableType>,
    /// Every memory, imported ones first.
    pub memories: Vec<MemoryType>,
    /// Every global, imported ones first.
    pub globals: Vec<GlobalType>,
    /// Initial element expressions of the module's own tables (index
    /// `num_imported_tables + i`); `None` fills the table with null.
    pub table_inits: Vec<Option<ConstExpr>>,
    /// Initialisers of the module's own globals (index `num_imported_globals + i`).
    pub global_inits: Vec<ConstExpr>,
    /// Exports, in declaration order.
    pub exports: Vec<Export>,
    /// The start function, if any.
    pub start: Option<u32>,
    /// Element segments.
    pub elements: Vec<ElementSegment>,
    /// Data segments.
    pub data: Vec<DataSegment>,
    /// How many functions are imported.
    pub num_imported_funcs: u32,
    /// How many tables are imported.
    pub num_imported_tables: u32,
    /// How many memories are imported.
    pub num_imported_memories: u32,
    /// How many globals are imported.
    pub num_imported_globals: u32,
    /// The type index of each tag (its payload is the type's parameters), imported first.
    pub tags: Vec<u32>,
    /// How many tags are imported.
    pub num_imported_tags: u32,
    /// Byte ranges of the module's function bodies within the module's binary.
    pub(crate) bodies: Vec<Range<usize>>,
    /// Names from the name section, by function index, where present.
    pub func_names: Vec<(u32, String)>,
    /// What a function validator needs to validate each body while it is translated (and
    /// type its operand stack, see [`crate::translate`]'s GC references); absent in a module
    /// without bodies and in one read back from an artifact, which is not translated again.
    #[serde(skip)]
    pub(crate) validation: Option<(ValidatorResources, WasmFeatures)>,
}

impl ModuleInfo {
    /// Which functions the module lets out, by function index: its exports, element
    /// segments' items and `ref.func` in constant expressions (the spec's declared
    /// references: code can take a reference to no other function), and its start function.
    /// The host, other instances, `call_indirect` and `call_ref` reach only these; any other
    /// defined function is called only by `call` and `return_call` in this module.
    pub fn escaping_functions(&self) -> Vec<bool> {
        let mut escaping = vec![false; self.functions.len()];
        let mut let_out = |f: u32| {
            if let Some(escapes) = escaping.get_mut(f as usize) {
                *escapes = true;
            }
        };
        self.start.into_iter().for_each(&mut let_out);
        for export in &self.exports {
            if let EntityIndex::Function(f) = export.index {
                let_out(f);
            }
        }
        let mut exprs: Vec<&ConstExpr> = self.global_inits.iter().collect();
        exprs.extend(self.table_inits.iter().flatten());
        for segment in &self.elements {
            match &segment.items {
                ElemItems::Functions(items) => items.iter().copied().for_each(&mut let_out),
                ElemItems::Expressions(items) => exprs.extend(items),
            }
        }
        for op in exprs.iter().flat_map(|e| &e.ops) {
            if let ConstOp::RefFunc(f) = op {
                let_out(*f);
            }
        }
        escaping
    }

    /// The types of the functions the host may call, as sorted type indices: those of the
    /// functions the module lets out ([`ModuleInfo::escaping_functions`]). Only these types
    /// get an array-to-wasm trampoline.
    pub fn host_callable_types(&self) -> Vec<u32> {
        let mut types: Vec<u32> = (self.escaping_functions().into_iter())
            .zip(&self.functions)
            .filter_map(|(escapes, ty)| escapes.then_some(*ty))
            .collect();
        types.sort_unstable();
        types.dedup();
        types
    }

    /// Validates `bytes` with the given features, but for the function bodies, and decodes
    /// what the module declares.
    ///
    /// The bodies are validated where they are translated, each by the thread that compiles
    /// it (see [`crate::translate`]), with the validation resources kept here: reading every
    /// body once more on one thread before the parallel compile would put ~1% of the work
    /// in its serial part. An invalid module is an error whose message names the byte offset
    /// of the problem.
    pub fn parse(bytes: &[u8], features: WasmFeatures) -> Result<Self, CompileError> {
        let mut validator = Validator::new_with_features(features);
        let mut resources = None;
        let mut parser = Parser::new(0);
        parser.set_features(features);
        for payload in parser.parse_all(bytes) {
            if let ValidPayload::Func(func, _) = validator.payload(&payload?)? {
                resources.get_or_insert(func.resources);
            }
        }
        let mut info = ModuleInfo::default();
        for payload in Parser::new(0).parse_all(bytes) {
            info.read_payload(payload?)?;
        }
        info.validation = resources.map(|r| (r, features));
        Ok(info)
    }

    /// Whether a value of this module may be a reference to a GC object: some type it
    /// declares (of a function, global, table, field or tag) is such a reference type.
    /// Values of other modules never are (their locals can only hold null), and their
    /// translation needs no stack maps.
    pub fn may_hold_gc_refs(&self) -> bool {
        let gc = |ty: &ValType| matches!(ty, ValType::Ref(r) if r.may_be_gc_object(self));
        self.types.iter().any(|ty| match &ty.composite {
            CompositeType::Func(f) => f.params.iter().chain(f.results.iter()).any(gc),
            CompositeType::Struct(fields) => fields.iter().any(|f| f.storage.is_gc_ref(self)),
            CompositeType::Array(elem) => elem.storage.is_gc_ref(self),
        }) || self.globals.iter().any(|g| gc(&g.content))
            || self.tables.iter().any(|t| t.element.may_be_gc_object(self))
    }

    fn read_payload(&mut self, payload: Payload<'_>) -> Result<(), CompileError> {
        match payload {
            Payload::TypeSection(reader) => {
                for group in reader {
                    let group = group?;
                    let start = self.types.len() as u32;
                    for ty in group.types() {
                        self.types.push(SubType::from_wasm(ty)?);
                    }
                    self.rec_groups.push(start..self.types.len() as u32);
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import?;
                    let ty = match import.ty {
                        TypeRef::Func(idx) => {
                            self.functions.push(idx);
                            self.num_imported_funcs += 1;
                            EntityType::Function(idx)
                        }
                        TypeRef::Table(t) => {
                            let t = table_type(t)?;
                            self.tables.push(t);
                            self.num_imported_tables += 1;
                            EntityType::Table(t)
                        }
                        TypeRef::Memory(m) => {
                            let m = memory_type(m);
                            self.memories.push(m);
                            self.num_imported_memories += 1;
                            EntityType::Memory(m)
                        }
                        TypeRef::Global(g) => {
                            let g = global_type(g)?;
                            self.globals.push(g);
                            self.num_imported_globals += 1;
                            EntityType::Global(g)
                        }
                        TypeRef::Tag(t) => {
                            self.tags.push(t.func_type_idx);
                            self.num_imported_tags += 1;
                            EntityType::Tag(t.func_type_idx)
                        }
                        other => {
                            return Err(CompileError::Unsupported(format!("import of {other:?}")))
                        }
                    };
                    self.imports.push(Import {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                        ty,
                    });
                }
            }
            Payload::FunctionSection(reader) => {
                for idx in reader {
                    self.functions.push(idx?);
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let table = table?;
                    self.tables.push(table_type(table.ty)?);
                    self.table_inits.push(match table.init {
                        wasmparser::TableInit::RefNull => None,
                        wasmparser::TableInit::Expr(expr) => Some(ConstExpr::parse(&expr)?),
                    });
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    self.memories.push(memory_type(memory?));
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    let global = global?;
                    self.globals.push(global_type(global.ty)?);
                    self.global_inits.push(ConstExpr::parse(&global.init_expr)?);
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    let index = match export.kind {
                        ExternalKind::Func | ExternalKind::FuncExact => {
                            EntityIndex::Function(export.index)
                        }
                        ExternalKind::Table => EntityIndex::Table(export.index),
                        ExternalKind::Memory => EntityIndex::Memory(export.index),
                        ExternalKind::Global => EntityIndex::Global(export.index),
                        ExternalKind::Tag => EntityIndex::Tag(export.index),
                    };
                    self.exports.push(Export {
                        name: export.name.to_string(),
                        index,
                    });
                }
            }
            Payload::TagSection(reader) => {
                for tag in reader {
                    self.tags.push(tag?.func_type_idx);
                }
            }
            Payload::StartSection { func, .. } => self.start = Some(func),
            Payload::ElementSection(reader) => {
                for element in reader {
                    self.elements.push(element_segment(element?)?);
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    self.data.push(data_segment(data?)?);
                }
            }
            Payload::CodeSectionEntry(body) => self
                .bodies
                .push(body.range().start as usize..body.range().end as usize),
            Payload::CustomSection(section) => {
                if let wasmparser::KnownCustom::Name(names) = section.as_known() {
                    self.read_names(names);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Function names are a debugging aid: a malformed name section is ignored, as the spec
    /// requires of custom sections.
    fn read_names(&mut self, names: wasmparser::NameSectionReader<'_>) {
        for name in names.into_iter().flatten() {
            if let wasmparser::Name::Function(map) = name {
                for naming in map.into_iter().flatten() {
                    self.func_names
                        .push((naming.index, naming.name.to_string()));
                }
            }
        }
    }

    /// The signature of function `index`.
    pub fn func_type(&self, index: u32) -> &FuncType {
        self.signature(self.functions[index as usize])
    }

    /// The function type at type index `index`.
    ///
    /// # Panics
    /// If the type is not a function type (validation rules that out wherever a signature
    /// is expected).
    pub fn signature(&self, index: u32) -> &FuncType {
        self.types[index as usize]
            .as_func()
            .expect("validated: a function type")
    }

    /// The fields of struct type `index`.
    ///
    /// # Panics
    /// If the type is not a struct type.
    pub fn struct_fields(&self, index: u32) -> &[FieldType] {
        match &self.types[index as usize].composite {
            CompositeType::Struct(fields) => fields,
            _ => panic!("validated: type {index} is a struct type"),
        }
    }

    /// The element type of array type `index`.
    ///
    /// # Panics
    /// If the type is not an array type.
    pub fn array_element(&self, index: u32) -> FieldType {
        match &self.types[index as usize].composite {
            CompositeType::Array(elem) => *elem,
            _ => panic!("validated: type {index} is an array type"),
        }
    }

    /// Whether function `index` is imported.
    pub fn is_imported_func(&self, index: u32) -> bool {
        index < self.num_imported_funcs
    }

    /// Number of functions the module defines (its code section entries).
    pub fn num_defined_funcs(&self) -> u32 {
        self.functions.len() as u32 - self.num_imported_funcs
    }

    /// The payload types of tag `index`.
    pub fn tag_type(&self, index: u32) -> &FuncType {
        self.signature(self.tags[index as usize])
    }

    /// The export named `name`, if any.
    pub fn export(&self, name: &str) -> Option<EntityIndex> {
        self.exports
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.index)
    }

    /// The debugging name of function `index`, if the name section gives one.
    pub fn func_name(&self, index: u32) -> Option<&str> {
        self.func_names
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, n)| n.as_str())
    }
}

/// Subtyping of a module's types by module type index.
impl TypeLookup for ModuleInfo {
    fn kind(&self, index: u32) -> TypeKind {
        self.types[index as usize].composite.kind()
    }

    fn is_subtype(&self, sub: u32, sup: u32) -> bool {
        let mut current = Some(sub);
        while let Some(index) = current {
            if index == sup {
                return true;
            }
            current = self.types[index as usize].supertype;
        }
        false
    }
}

fn convert(tys: &[wasmparser::ValType]) -> Result<Box<[ValType]>, CompileError> {
    tys.iter().map(|t| ValType::from_wasm(*t)).collect()
}

fn table_type(t: wasmparser::TableType) -> Result<TableType, CompileError> {
    Ok(TableType {
        element: RefType::from_wasm(t.element_type)?,
        minimum: t.initial,
        maximum: t.maximum,
        table64: t.table64,
    })
}

fn memory_type(m: wasmparser::MemoryType) -> MemoryType {
    MemoryType {
        minimum: m.initial,
        maximum: m.maximum,
        shared: m.shared,
        memory64: m.memory64,
        // Validation allows 0 and 16 only.
        page_size_log2: m
            .page_size_log2
            .map_or(WASM_PAGE_SIZE_LOG2, |log2| log2 as u8),
    }
}

fn global_type(g: wasmparser::GlobalType) -> Result<GlobalType, CompileError> {
    Ok(GlobalType {
        content: ValType::from_wasm(g.content_type)?,
        mutable: g.mutable,
    })
}

fn element_segment(element: Element<'_>) -> Result<ElementSegment, CompileError> {
    let kind = match element.kind {
        wasmparser::ElementKind::Active {
            table_index,
            offset_expr,
        } => ElemKind::Active {
            table: table_index.unwrap_or(0),
            offset: ConstExpr::parse(&offset_expr)?,
        },
        wasmparser::ElementKind::Passive => ElemKind::Passive,
        wasmparser::ElementKind::Declared => ElemKind::Declared,
    };
    let (element, items) = match element.items {
        wasmparser::ElementItems::Functions(reader) => (
            RefType {
                nullable: false,
                heap: HeapType::Func,
            },
            ElemItems::Functions(reader.into_iter().collect::<Result<_, _>>()?),
        ),
        wasmparser::ElementItems::Expressions(ty, reader) => {
            let mut exprs = Vec::new();
            for expr in reader {
                exprs.push(ConstExpr::parse(&expr?)?);
            }
            (RefType::from_wasm(ty)?, ElemItems::Expressions(exprs))
        }
    };
    Ok(ElementSegment {
        kind,
        element,
        items,
    })
}

fn data_segment(data: Data<'_>) -> Result<DataSegment, CompileError> {
    let kind = match data.kind {
        wasmparser::DataKind::Active {
            memory_index,
            offset_expr,
        } => DataKind::Active {
            memory: memory_index,
            offset: ConstExpr::parse(&offset_expr)?,
        },
        wasmparser::DataKind::Passive => DataKind::Passive,
    };
    Ok(DataSegment {
        kind,
        bytes: data.data.to_vec(),
    })
}
