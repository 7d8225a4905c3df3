//! Engine-wide signature ids, so that `call_indirect` and `call_ref` compare one integer.
//!
//! A function type may name other function types (`(ref $t)`). A module's types name them by
//! module type index, which means nothing outside the module, so the registry keys a type by
//! its *canonical* form: every concrete heap type replaced by the engine-wide id of the type
//! it names ([`HeapType::Concrete`] holding an id), and a reference of a type to itself by
//! [`SELF_REFERENCE`]. Equal canonical forms get equal ids, across every module of an engine.

use std::collections::HashMap;
use std::sync::Mutex;

use wasmjit_codegen::{FuncType, ValType};

/// The index a canonical type uses to name itself (`(type $t (func (param (ref $t))))`).
/// No id reaches it: the registry would need 2^32 types first.
pub const SELF_REFERENCE: u32 = u32::MAX;

/// Interns function types in canonical form (see the module documentation).
#[derive(Debug, Default)]
pub struct TypeRegistry {
    inner: Mutex<Interned>,
}

#[derive(Debug, Default)]
struct Interned {
    ids: HashMap<FuncType, u32>,
    types: Vec<FuncType>,
}

impl TypeRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of the canonical type `ty`, assigning the next free one on first sight.
    pub fn register(&self, ty: &FuncType) -> u32 {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(id) = inner.ids.get(ty) {
            return *id;
        }
        let id = inner.types.len() as u32;
        assert!(id < SELF_REFERENCE, "type registry full");
        inner.ids.insert(ty.clone(), id);
        inner.types.push(ty.clone());
        id
    }

    /// The ids of a module's types, in order. A type may name earlier types and itself (a
    /// type section without GC's recursion groups can name nothing else; the validator
    /// refuses the rest).
    pub fn register_module(&self, types: &[FuncType]) -> Box<[u32]> {
        let mut ids: Vec<u32> = Vec::with_capacity(types.len());
        for (index, ty) in types.iter().enumerate() {
            let canonical = map_func_type(ty, |i| {
                if i as usize == index {
                    SELF_REFERENCE
                } else {
                    ids[i as usize]
                }
            });
            ids.push(self.register(&canonical));
        }
        ids.into()
    }

    /// The canonical type of `id`, as given to [`TypeRegistry::register`].
    ///
    /// # Panics
    /// If `id` was not given out by this registry.
    pub fn get(&self, id: u32) -> FuncType {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.types[id as usize].clone()
    }
}

/// `ty` with every concrete type index mapped by `f`.
pub fn map_func_type(ty: &FuncType, f: impl Fn(u32) -> u32) -> FuncType {
    let map = |t: &ValType| t.map_index(&f);
    FuncType {
        params: ty.params.iter().map(map).collect(),
        results: ty.results.iter().map(map).collect(),
    }
}

#[cfg(test)]
mod tests {
    use wasmjit_codegen::{HeapType, RefType};

    use super::*;

    #[test]
    fn equal_types_share_an_id() {
        let registry = TypeRegistry::new();
        let a = registry.register(&FuncType::new([ValType::I32], []));
        let b = registry.register(&FuncType::new([ValType::I64], []));
        let c = registry.register(&FuncType::new([ValType::I32], []));
        assert_eq!(a, c);
        assert_ne!(a, b);
    }

    #[test]
    fn types_naming_types_compare_across_modules() {
        let registry = TypeRegistry::new();
        let concrete = |i| {
            ValType::Ref(RefType {
                nullable: false,
                heap: HeapType::Concrete(i),
            })
        };
        // Module A: 0 = [] -> [], 1 = [(ref 0)] -> []. Module B: the same with an extra
        // type first, so its indices differ by one.
        let a =
            registry.register_module(&[FuncType::new([], []), FuncType::new([concrete(0)], [])]);
        let b = registry.register_module(&[
            FuncType::new([ValType::F32], []),
            FuncType::new([], []),
            FuncType::new([concrete(1)], []),
        ]);
        assert_eq!(a[1], b[2]);
        assert_eq!(a[0], b[1]);
        // A type naming itself differs from one naming another type.
        let c = registry.register_module(&[FuncType::new([concrete(0)], [])]);
        assert_ne!(c[0], a[1]);
        assert_eq!(registry.get(c[0]).params[0], concrete(SELF_REFERENCE));
    }
}
