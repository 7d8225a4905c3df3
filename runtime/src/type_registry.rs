//! Engine-wide signature ids, so that `call_indirect` compares one integer.

use std::collections::HashMap;
use std::sync::Mutex;

use wasmjit_codegen::FuncType;

/// Interns function types: equal types get equal ids, across every module of an engine.
#[derive(Debug, Default)]
pub struct TypeRegistry {
    ids: Mutex<HashMap<FuncType, u32>>,
}

impl TypeRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The id of `ty`, assigning the next free one on first sight.
    pub fn register(&self, ty: &FuncType) -> u32 {
        let mut ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        let next = ids.len() as u32;
        *ids.entry(ty.clone()).or_insert(next)
    }
}

#[cfg(test)]
mod tests {
    use wasmjit_codegen::ValType;

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
}
