//! The alias regions the translation puts memory accesses in, all numbered here so that no
//! two kinds share a number: Cranelift's alias analysis takes accesses in different regions
//! to be independent, so a shared number would let it reorder or merge accesses that may
//! overlap.

use cranelift_codegen::ir::{AliasRegion, AliasRegionData};

use super::FuncTranslator;

/// What an alias region holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Region {
    /// Every memory's definition (its current length): only calls change it, so heap stores
    /// do not make Cranelift reload it.
    Definitions,
    /// The bytes of the memory of this index: memories never overlap, and neither overlaps
    /// the runtime's records.
    Memory(u32),
    /// The vmctx fields that never change while the instance lives (see
    /// `FuncTranslator::vmctx_field`): nothing stores to them.
    VmctxFields,
    /// The fuel a `return` writes to the store: nothing reads the store's fuel after a
    /// return in the same function, and the region marks the write for
    /// `drop_inlined_return_fuel_writes`.
    ReturnFuel,
}

impl Region {
    /// The region's number in a function's alias regions.
    pub(super) fn id(self) -> u32 {
        match self {
            Region::Definitions => 0,
            // Far below the fixed numbers: a module has at most 100 memories.
            Region::Memory(index) => 1 + index,
            Region::VmctxFields => u32::MAX,
            Region::ReturnFuel => u32::MAX - 1,
        }
    }

    fn description(self) -> &'static str {
        match self {
            Region::Definitions => "memory definitions",
            Region::Memory(_) => "linear memory",
            Region::VmctxFields => "vmctx fields",
            Region::ReturnFuel => "fuel at a return",
        }
    }
}

impl FuncTranslator<'_, '_> {
    /// The alias region `region` in this function.
    pub(super) fn alias_region(&mut self, region: Region) -> AliasRegion {
        self.builder.func.dfg.alias_regions.insert(AliasRegionData {
            user_id: region.id(),
            description: region.description().into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Region;

    /// wasmparser refuses a module with more memories (its `MAX_WASM_MEMORIES`).
    const MAX_MEMORIES: u32 = 100;

    #[test]
    fn every_region_has_a_number_of_its_own() {
        let fixed = [Region::Definitions, Region::VmctxFields, Region::ReturnFuel];
        let memories = (0..MAX_MEMORIES).map(Region::Memory);
        let ids: Vec<u32> = fixed.into_iter().chain(memories).map(Region::id).collect();
        let mut distinct = ids.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), ids.len(), "{ids:?}");
    }
}
