//! Tables of function references.

use wasmjit_codegen::TableType;

use crate::vmcontext::{GrowRequest, GrowResource, VMFuncRef, VMTableDefinition};

/// Largest number of elements a table may have, whatever its declared maximum: a guest
/// cannot make the host allocate without bound.
pub const MAX_TABLE_ELEMENTS: u64 = 10_000_000;

/// A table: its elements and the definition record compiled code reads.
///
/// Elements are null or point to a `VMFuncRef` that lives as long as the store that owns
/// the table (an instance's vmctx or a host function's context).
#[derive(Debug)]
pub struct Table {
    elements: Vec<*const VMFuncRef>,
    definition: Box<VMTableDefinition>,
    ty: TableType,
    /// The most elements the table may have, whatever its maximum.
    limit: u64,
}

// SAFETY: the element pointers are only dereferenced by compiled code and by the store that
// owns both the table and the pointees; moving the table between threads with its store is
// sound because nothing here is tied to a thread.
unsafe impl Send for Table {}

impl Table {
    /// A table of `ty.minimum` elements, each `init`.
    pub fn new(ty: TableType, init: *const VMFuncRef) -> Result<Self, TableError> {
        Self::with_limit(ty, init, MAX_TABLE_ELEMENTS)
    }

    /// A table of `ty.minimum` elements, each `init`, that never grows past `limit`
    /// elements (nor [`MAX_TABLE_ELEMENTS`]).
    pub fn with_limit(
        ty: TableType,
        init: *const VMFuncRef,
        limit: u64,
    ) -> Result<Self, TableError> {
        let limit = limit.min(MAX_TABLE_ELEMENTS);
        if ty.minimum > limit {
            return Err(TableError::TooLarge(ty.minimum));
        }
        let mut elements = vec![init; ty.minimum as usize];
        let definition = Box::new(VMTableDefinition {
            base: elements.as_mut_ptr(),
            current_elements: ty.minimum,
        });
        Ok(Table {
            elements,
            definition,
            ty,
            limit,
        })
    }

    /// The declared type, with the current size as minimum.
    pub fn ty(&self) -> TableType {
        TableType {
            minimum: self.size(),
            ..self.ty
        }
    }

    /// The limiter's question before growing by `delta` elements; `None` when the growth
    /// would pass the maximum anyway.
    pub fn grow_request(&self, delta: u64) -> Option<GrowRequest> {
        let current = self.size();
        let desired = current
            .checked_add(delta)
            .filter(|n| *n <= self.ty.maximum.unwrap_or(u64::from(u32::MAX)))
            .filter(|n| *n <= self.limit)?;
        Some(GrowRequest {
            resource: GrowResource::Table,
            current: current as usize,
            desired: desired as usize,
            maximum: self.ty.maximum.map(|m| m as usize),
        })
    }

    /// Number of elements.
    pub fn size(&self) -> u64 {
        self.elements.len() as u64
    }

    /// The record compiled code reads; its address is stable for the table's life.
    pub fn definition(&self) -> *const VMTableDefinition {
        &*self.definition
    }

    /// Every element (each a reference's word, whatever the table's type).
    pub fn elements(&self) -> &[*const VMFuncRef] {
        &self.elements
    }

    /// Element `index`, if in bounds.
    pub fn get(&self, index: u64) -> Option<*const VMFuncRef> {
        self.elements.get(usize::try_from(index).ok()?).copied()
    }

    /// Sets element `index`; an error past the end.
    pub fn set(&mut self, index: u64, value: *const VMFuncRef) -> Result<(), TableError> {
        let slot = usize::try_from(index)
            .ok()
            .and_then(|i| self.elements.get_mut(i))
            .ok_or(TableError::OutOfBounds)?;
        *slot = value;
        Ok(())
    }

    /// Appends `delta` elements set to `init`; returns the old size. Past the maximum nothing
    /// changes.
    pub fn grow(&mut self, delta: u64, init: *const VMFuncRef) -> Result<u64, TableError> {
        let old = self.size();
        let new = old
            .checked_add(delta)
            .filter(|n| *n <= self.ty.maximum.unwrap_or(u64::from(u32::MAX)))
            .filter(|n| *n <= self.limit)
            .ok_or(TableError::GrowBeyondMaximum)?;
        self.elements.resize(new as usize, init);
        self.definition.base = self.elements.as_mut_ptr();
        self.definition.current_elements = new;
        Ok(old)
    }

    /// Writes `items` starting at `offset`, or nothing at all if they do not fit.
    pub fn init(&mut self, offset: u64, items: &[*const VMFuncRef]) -> Result<(), TableError> {
        let range = self.range(offset, items.len() as u64)?;
        self.elements[range].copy_from_slice(items);
        Ok(())
    }

    /// Sets `len` elements from `dst` to `value`, or nothing if the range does not fit.
    pub fn fill(&mut self, dst: u64, value: *const VMFuncRef, len: u64) -> Result<(), TableError> {
        let range = self.range(dst, len)?;
        self.elements[range].fill(value);
        Ok(())
    }

    /// Copies `len` elements from `src` to `dst` within this table (ranges may overlap), or
    /// nothing if either range does not fit.
    pub fn copy_within(&mut self, dst: u64, src: u64, len: u64) -> Result<(), TableError> {
        let src = self.range(src, len)?;
        let dst = self.range(dst, len)?;
        self.elements.copy_within(src, dst.start);
        Ok(())
    }

    /// The elements `src..src + len`, or an error if they are not all in the table.
    pub fn slice(&self, src: u64, len: u64) -> Result<&[*const VMFuncRef], TableError> {
        let range = self.range(src, len)?;
        Ok(&self.elements[range])
    }

    fn range(&self, start: u64, len: u64) -> Result<std::ops::Range<usize>, TableError> {
        let end = start
            .checked_add(len)
            .filter(|end| *end <= self.size())
            .ok_or(TableError::OutOfBounds)?;
        Ok(start as usize..end as usize)
    }
}

/// Why a table operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableError {
    /// An index or range past the end of the table.
    OutOfBounds,
    /// Growing would pass the maximum.
    GrowBeyondMaximum,
    /// The initial size exceeds what wasmjit allows.
    TooLarge(u64),
}

impl std::fmt::Display for TableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TableError::OutOfBounds => f.write_str("out of bounds table access"),
            TableError::GrowBeyondMaximum => f.write_str("table cannot grow past its maximum"),
            TableError::TooLarge(n) => {
                write!(f, "table of {n} elements exceeds the table size limit")
            }
        }
    }
}

impl std::error::Error for TableError {}
