//! Types of values and of the things modules import and export.
//!
//! These are wasmjit's own types, so that the code generator's or the decoder's types can
//! change without changing the API. Conversions to and from the code generator's types are
//! crate-private.

use crate::tag::TagType;
use std::fmt;
use std::sync::Arc;

use wasmjit_codegen as cg;

use crate::error::{Error, MemoryError, Result};

/// Largest number of 64 KiB pages a 32-bit memory can have (4 GiB).
const MAX_PAGES_32: u64 = 1 << 16;

/// Largest number of 64 KiB pages a 64-bit memory can have (the whole 64-bit space).
const MAX_PAGES_64: u64 = 1 << 48;

/// A WebAssembly value type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
    /// Nullable reference to a function.
    FuncRef,
    /// Nullable reference to a host value.
    ExternRef,
}

impl ValType {
    /// Whether values of this type are references (`funcref`, `externref`).
    pub fn is_ref(self) -> bool {
        matches!(self, ValType::FuncRef | ValType::ExternRef)
    }

    pub(crate) fn from_codegen(ty: cg::ValType) -> Self {
        match ty {
            cg::ValType::I32 => ValType::I32,
            cg::ValType::I64 => ValType::I64,
            cg::ValType::F32 => ValType::F32,
            cg::ValType::F64 => ValType::F64,
            cg::ValType::V128 => ValType::V128,
            cg::ValType::FuncRef => ValType::FuncRef,
            cg::ValType::ExternRef => ValType::ExternRef,
        }
    }

    pub(crate) fn to_codegen(self) -> cg::ValType {
        match self {
            ValType::I32 => cg::ValType::I32,
            ValType::I64 => cg::ValType::I64,
            ValType::F32 => cg::ValType::F32,
            ValType::F64 => cg::ValType::F64,
            ValType::V128 => cg::ValType::V128,
            ValType::FuncRef => cg::ValType::FuncRef,
            ValType::ExternRef => cg::ValType::ExternRef,
        }
    }
}

/// Prints the text format's name: `i32`, `funcref`, ...
impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValType::I32 => "i32",
            ValType::I64 => "i64",
            ValType::F32 => "f32",
            ValType::F64 => "f64",
            ValType::V128 => "v128",
            ValType::FuncRef => "funcref",
            ValType::ExternRef => "externref",
        })
    }
}

/// A function signature: parameter and result types. Cheap to clone (one reference count),
/// since every untyped call reads its function's type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct FuncType {
    /// The parameter types, then the result types.
    types: Arc<[ValType]>,
    /// How many of `types` are parameters.
    num_params: usize,
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
        self.types[..self.num_params].iter().copied()
    }

    /// The result types, in order.
    pub fn results(&self) -> impl ExactSizeIterator<Item = ValType> + '_ {
        self.types[self.num_params..].iter().copied()
    }

    pub(crate) fn from_codegen(ty: &cg::FuncType) -> Self {
        FuncType::new(
            ty.params.iter().map(|t| ValType::from_codegen(*t)),
            ty.results.iter().map(|t| ValType::from_codegen(*t)),
        )
    }

    pub(crate) fn to_codegen(&self) -> cg::FuncType {
        cg::FuncType::new(
            self.params().map(ValType::to_codegen),
            self.results().map(ValType::to_codegen),
        )
    }
}

/// Prints `(i32, i64) -> (f32)`.
impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |tys: &[ValType]| tys.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        write!(
            f,
            "({}) -> ({})",
            list(&self.types[..self.num_params]).join(", "),
            list(&self.types[self.num_params..]).join(", ")
        )
    }
}

/// A linear memory's type: limits in 64 KiB pages, whether it is shared between threads,
/// whether it is indexed with 64-bit addresses.
///
/// Built with [`MemoryType::new`], [`MemoryType::shared`] or, checking the limits instead of
/// panicking, [`MemoryType::builder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemoryType {
    minimum: u64,
    maximum: Option<u64>,
    shared: bool,
    memory64: bool,
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

    pub(crate) fn from_codegen(ty: &cg::MemoryType) -> Self {
        MemoryType {
            minimum: ty.minimum,
            maximum: ty.maximum,
            shared: ty.shared,
            memory64: ty.memory64,
        }
    }

    pub(crate) fn to_codegen(self) -> cg::MemoryType {
        cg::MemoryType {
            minimum: self.minimum,
            maximum: self.maximum,
            shared: self.shared,
            memory64: self.memory64,
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

    /// The memory type, or an `Error::Memory` naming the broken rule: a size above the
    /// largest the index type allows, `minimum > maximum`, or a shared memory without a
    /// maximum.
    pub fn build(&self) -> Result<MemoryType> {
        let ty = self.ty;
        let limit = if ty.memory64 {
            MAX_PAGES_64
        } else {
            MAX_PAGES_32
        };
        let error = if ty.minimum > limit {
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TableType {
    element: ValType,
    minimum: u64,
    maximum: Option<u64>,
    table64: bool,
}

impl TableType {
    /// A table of `element` references (`FuncRef` or `ExternRef`), `minimum` elements
    /// initially, growable to `maximum` elements (or without bound), indexed with `i32`.
    pub fn new(element: ValType, minimum: u64, maximum: Option<u64>) -> Self {
        TableType {
            element,
            minimum,
            maximum,
            table64: false,
        }
    }

    /// As [`TableType::new`], for a table indexed with `i64` (the memory64 proposal's
    /// 64-bit tables).
    pub fn new64(element: ValType, minimum: u64, maximum: Option<u64>) -> Self {
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
    pub fn element(&self) -> ValType {
        self.element
    }

    /// The initial (or, for an existing table, current) number of elements.
    pub fn minimum(&self) -> u64 {
        self.minimum
    }

    /// The largest number of elements, if bounded.
    pub fn maximum(&self) -> Option<u64> {
        self.maximum
    }

    pub(crate) fn from_codegen(ty: &cg::TableType) -> Self {
        TableType {
            table64: ty.table64,
            ..TableType::new(ValType::from_codegen(ty.element), ty.minimum, ty.maximum)
        }
    }

    pub(crate) fn to_codegen(self) -> cg::TableType {
        cg::TableType {
            element: self.element.to_codegen(),
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
    pub fn content(&self) -> ValType {
        self.content
    }

    /// Whether the global may change.
    pub fn mutability(&self) -> Mutability {
        self.mutability
    }

    pub(crate) fn from_codegen(ty: &cg::GlobalType) -> Self {
        let mutability = if ty.mutable {
            Mutability::Var
        } else {
            Mutability::Const
        };
        GlobalType::new(ValType::from_codegen(ty.content), mutability)
    }

    pub(crate) fn to_codegen(self) -> cg::GlobalType {
        cg::GlobalType {
            content: self.content.to_codegen(),
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

    /// The public form of an import's or export's type in `info`.
    pub(crate) fn from_codegen(info: &cg::ModuleInfo, ty: &cg::EntityType) -> Self {
        match ty {
            cg::EntityType::Function(t) => {
                ExternType::Func(FuncType::from_codegen(&info.types[*t as usize]))
            }
            cg::EntityType::Table(t) => ExternType::Table(TableType::from_codegen(t)),
            cg::EntityType::Memory(m) => ExternType::Memory(MemoryType::from_codegen(m)),
            cg::EntityType::Global(g) => ExternType::Global(GlobalType::from_codegen(g)),
            cg::EntityType::Tag(t) => ExternType::Tag(TagType::new(FuncType::from_codegen(
                &info.types[*t as usize],
            ))),
        }
    }
}
