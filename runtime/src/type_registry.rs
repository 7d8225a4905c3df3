//! Engine-wide type ids, so that `call_indirect`, `call_ref` and casts compare integers.
//!
//! A defined type may name other defined types (`(ref $t)`). A module's types name them by
//! module type index, which means nothing outside the module, so the registry keys types by
//! their *canonical* form. Types are iso-recursive: the unit of identity is a whole recursion
//! group, and two groups are the same when they are structurally equal with references
//! inside the group given as positions in the group and references outside it as the
//! engine-wide ids of the types they name. Equal canonical groups get equal ids, across
//! every module of an engine; each type of a group gets its own id (the group's first id plus
//! its position).
//!
//! Each id keeps its type with every reference resolved to an engine-wide id
//! ([`TypeRegistry::get_type`]) and its chain of declared supertypes, root first, ending
//! with itself, so a subtype test is a length check and one comparison: `sub <: sup` exactly
//! when `sup`'s chain is a prefix of `sub`'s, i.e. when `sub`'s chain holds `sup` at `sup`'s
//! depth.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use wasmjit_codegen::{FuncType, SubType, TypeKind, TypeLookup};

/// Marks a reference to a type of the same recursion group in a canonical key: the low bits
/// are the position in the group.
const REC_GROUP_BIT: u32 = 1 << 31;

/// Interns recursion groups in canonical form (see the module documentation).
#[derive(Debug, Default)]
pub struct TypeRegistry {
    inner: Mutex<Interned>,
}

#[derive(Debug, Default)]
struct Interned {
    /// Each canonical group's first id.
    groups: HashMap<Box<[SubType]>, u32>,
    /// Every registered type, by id.
    types: Vec<Registered>,
}

/// One registered type.
#[derive(Debug, Clone)]
struct Registered {
    /// The type, every reference an engine-wide id.
    ty: SubType,
    /// Its supertype chain, root first, ending with its own id.
    supertypes: Arc<[u32]>,
    /// See [`TypeRegistry::is_plain_func`].
    plain_func: bool,
}

impl TypeRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of function type `ty` (canonical: references are engine-wide ids), as a final
    /// type without supertypes in a group of its own, the form every function type of the
    /// text format without `sub` or `rec` has.
    pub fn register(&self, ty: &FuncType) -> u32 {
        let mut inner = self.lock();
        inner.intern(&[SubType::func(ty.clone())], &|id| id)
    }

    /// The ids of a module's types, in order: `types` is the module's type section, with
    /// references by module type index, and `rec_groups` its recursion groups in order.
    /// Validation guarantees that a group names only earlier types and its own.
    pub fn register_module(&self, types: &[SubType], rec_groups: &[Range<u32>]) -> Box<[u32]> {
        let mut ids: Vec<u32> = Vec::with_capacity(types.len());
        let mut inner = self.lock();
        for group in rec_groups {
            let start = group.start;
            let members = &types[group.start as usize..group.end as usize];
            let known = ids.clone();
            let first = inner.intern(members, &|index| {
                if index >= start {
                    REC_GROUP_BIT | (index - start)
                } else {
                    known[index as usize]
                }
            });
            ids.extend(first..first + members.len() as u32);
        }
        ids.into()
    }

    /// The function type of `id`.
    ///
    /// # Panics
    /// If `id` was not given out by this registry or is not a function type.
    pub fn get(&self, id: u32) -> FuncType {
        self.get_type(id)
            .as_func()
            .expect("a function type id")
            .clone()
    }

    /// The type of `id`, every reference an engine-wide id.
    ///
    /// # Panics
    /// If `id` was not given out by this registry.
    pub fn get_type(&self, id: u32) -> SubType {
        self.lock().types[id as usize].ty.clone()
    }

    /// Whether `id` is a plain function type: final, without supertype, alone in its
    /// recursion group and not naming itself, as every function type written without `sub`
    /// or `rec` is. Such a type is identified by its structure alone, as
    /// [`TypeRegistry::register`] registers it.
    pub fn is_plain_func(&self, id: u32) -> bool {
        self.lock().types[id as usize].plain_func
    }

    /// The supertype chain of `id`, root first, ending with `id`.
    pub fn supertypes(&self, id: u32) -> Arc<[u32]> {
        self.lock().types[id as usize].supertypes.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Interned> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Interned {
    /// The first id of the group `members`, whose references `key` maps to the canonical
    /// form (engine ids, or [`REC_GROUP_BIT`] and a position), registering it on first sight.
    fn intern(&mut self, members: &[SubType], key: &dyn Fn(u32) -> u32) -> u32 {
        let canonical: Box<[SubType]> = members.iter().map(|t| t.map_index(&key)).collect();
        if let Some(first) = self.groups.get(&canonical) {
            return *first;
        }
        let first = u32::try_from(self.types.len())
            .ok()
            .filter(|n| {
                n.checked_add(members.len() as u32)
                    .is_some_and(|e| e < REC_GROUP_BIT)
            })
            .expect("fewer than 2^31 types");
        let resolve = |index: u32| {
            if index & REC_GROUP_BIT != 0 {
                first + (index & !REC_GROUP_BIT)
            } else {
                index
            }
        };
        for (position, key) in canonical.iter().enumerate() {
            let ty = key.map_index(&resolve);
            let names_group = key.map_index(&|i| i & !REC_GROUP_BIT) != *key;
            let plain_func = canonical.len() == 1
                && key.is_final
                && key.supertype.is_none()
                && key.as_func().is_some()
                && !names_group;
            let id = first + position as u32;
            let supertypes: Arc<[u32]> = match ty.supertype {
                Some(sup) => {
                    let mut chain = self.types[sup as usize].supertypes.to_vec();
                    chain.push(id);
                    chain.into()
                }
                None => Arc::from([id]),
            };
            self.types.push(Registered {
                ty,
                supertypes,
                plain_func,
            });
        }
        self.groups.insert(canonical, first);
        first
    }
}

/// Subtyping by engine-wide id.
impl TypeLookup for TypeRegistry {
    fn kind(&self, index: u32) -> TypeKind {
        self.lock().types[index as usize].ty.composite.kind()
    }

    fn is_subtype(&self, sub: u32, sup: u32) -> bool {
        let inner = self.lock();
        let chain = &inner.types[sub as usize].supertypes;
        let depth = inner.types[sup as usize].supertypes.len();
        depth <= chain.len() && chain[depth - 1] == sup
    }
}

#[cfg(test)]
mod tests {
    use wasmjit_codegen::{CompositeType, FieldType, HeapType, RefType, StorageType, ValType};

    use super::*;

    fn concrete(i: u32) -> ValType {
        ValType::Ref(RefType {
            nullable: false,
            heap: HeapType::Concrete(i),
        })
    }

    fn singletons(types: &[SubType]) -> Vec<Range<u32>> {
        (0..types.len() as u32).map(|i| i..i + 1).collect()
    }

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
        // Module A: 0 = [] -> [], 1 = [(ref 0)] -> []. Module B: the same with an extra
        // type first, so its indices differ by one.
        let a = [
            SubType::func(FuncType::new([], [])),
            SubType::func(FuncType::new([concrete(0)], [])),
        ];
        let a = registry.register_module(&a, &singletons(&a));
        let b = [
            SubType::func(FuncType::new([ValType::F32], [])),
            SubType::func(FuncType::new([], [])),
            SubType::func(FuncType::new([concrete(1)], [])),
        ];
        let b = registry.register_module(&b, &singletons(&b));
        assert_eq!(a[1], b[2]);
        assert_eq!(a[0], b[1]);
        // Naming another type gives another id, and the canonical form names it by id.
        let c = [
            SubType::func(FuncType::new([ValType::F32], [])),
            SubType::func(FuncType::new([concrete(0)], [])),
        ];
        let c = registry.register_module(&c, &singletons(&c));
        assert_ne!(c[1], a[1]);
        assert_eq!(registry.get(c[1]).params[0], concrete(c[0]));
    }

    fn list_struct(next: u32) -> SubType {
        SubType {
            is_final: false,
            supertype: None,
            composite: CompositeType::Struct(
                [FieldType {
                    storage: StorageType::Val(concrete(next)),
                    mutable: true,
                }]
                .into(),
            ),
        }
    }

    #[test]
    fn recursion_groups_are_compared_as_wholes() {
        let registry = TypeRegistry::new();
        // (rec (type $a (struct (field (ref $a))))) in two modules, at different indices.
        let one = registry.register_module(&[list_struct(0)], &singletons(&[list_struct(0)]));
        let two = registry.register_module(
            &[SubType::func(FuncType::new([], [])), list_struct(1)],
            &[0..1, 1..2],
        );
        assert_eq!(one[0], two[1]);
        // The same struct in a group of two is another type.
        let pair = [list_struct(0), list_struct(1)];
        let three = registry.register_module(&pair, &[Range { start: 0, end: 2 }]);
        assert_ne!(three[0], one[0]);
        assert_ne!(three[0], three[1]);
        assert_eq!(
            registry.get_type(three[1]).composite,
            list_struct(three[1]).composite
        );
    }

    #[test]
    fn subtype_chains_answer_subtyping() {
        let registry = TypeRegistry::new();
        let base = list_struct(0);
        let mut derived = list_struct(0);
        derived.supertype = Some(0);
        let mut leaf = list_struct(0);
        leaf.supertype = Some(1);
        let ids = registry.register_module(&[base, derived, leaf], &[0..1, 1..2, 2..3]);
        assert!(registry.is_subtype(ids[2], ids[0]));
        assert!(registry.is_subtype(ids[2], ids[1]));
        assert!(registry.is_subtype(ids[1], ids[1]));
        assert!(!registry.is_subtype(ids[0], ids[1]));
        assert!(!registry.is_subtype(ids[1], ids[2]));
        assert_eq!(&*registry.supertypes(ids[2]), &ids[..]);
    }
}
