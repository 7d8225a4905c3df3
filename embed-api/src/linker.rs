//! Linking imports by module and field name.

use std::collections::HashMap;
use std::sync::Arc;

use wasmjit_codegen::MemoryAssumptions;
use wasmjit_runtime::vmcontext::ValRaw;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::func::{Caller, Func, HostFn};
use crate::instance::{instantiate, Extern, Instance};
use crate::module::Module;
use crate::store::{opaque, opaque_mut, AsContextMut};
use crate::typed::IntoFunc;
use crate::types::FuncType;

/// Resolves a module's imports by `(module, name)` and instantiates it.
///
/// Items of a store (`define`, `instance`) and host functions not yet tied to a store
/// (`func_wrap`, created in a store at each instantiation) can be mixed.
pub struct Linker<T> {
    engine: Engine,
    items: HashMap<(String, String), Definition<T>>,
}

enum Definition<T> {
    Extern(Extern),
    HostFunc(FuncType, Arc<HostFn<T>>),
}

impl<T> Clone for Definition<T> {
    fn clone(&self) -> Self {
        match self {
            Definition::Extern(e) => Definition::Extern(e.clone()),
            Definition::HostFunc(ty, f) => Definition::HostFunc(ty.clone(), f.clone()),
        }
    }
}

impl<T: 'static> Linker<T> {
    /// An empty linker for modules of `engine`.
    pub fn new(engine: &Engine) -> Self {
        Linker {
            engine: engine.clone(),
            items: HashMap::new(),
        }
    }

    /// Defines `module`.`name` as `item`, replacing any earlier definition.
    ///
    /// A memory is refused here already if its layout cannot serve code of this linker's
    /// engine (a shared memory of an engine with explicit bounds checks or a smaller guard,
    /// say), with the reason; instantiation checks it again against the module's code.
    pub fn define(
        &mut self,
        store: impl AsContextMut<Data = T>,
        module: &str,
        name: &str,
        item: impl Into<Extern>,
    ) -> Result<&mut Self> {
        let item = item.into();
        let memory = match &item {
            Extern::Memory(m) => Some(m.runtime(opaque(&store)).clone()),
            Extern::SharedMemory(m) => Some(m.runtime().clone()),
            _ => None,
        };
        if let Some(memory) = memory {
            let assumed = MemoryAssumptions::new(self.engine.codegen(), &memory.ty());
            assumed.check(&memory.layout()).map_err(|mismatch| {
                Error::Link(format!(
                    "cannot define `{module}`.`{name}`: the memory's layout does not fit code \
                     of this engine: {mismatch}"
                ))
            })?;
        }
        self.items.insert(
            (module.to_string(), name.to_string()),
            Definition::Extern(item),
        );
        Ok(self)
    }

    /// Defines `module`.`name` as a host function from a Rust closure.
    pub fn func_wrap<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        func: impl IntoFunc<T, Params, Results>,
    ) -> Result<&mut Self> {
        let (ty, body) = func.into_func();
        self.items.insert(
            (module.to_string(), name.to_string()),
            Definition::HostFunc(ty, Arc::from(body)),
        );
        Ok(self)
    }

    /// Defines every export of `instance` under the module name `module` (the spec
    /// scripts' `register`).
    pub fn instance(
        &mut self,
        mut store: impl AsContextMut<Data = T>,
        module: &str,
        instance: Instance,
    ) -> Result<&mut Self> {
        for (name, item) in instance.exports(&mut store) {
            self.items
                .insert((module.to_string(), name), Definition::Extern(item));
        }
        Ok(self)
    }

    /// The item defined as `module`.`name`, created in `store` if it is a host function.
    pub fn get(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &str,
        name: &str,
    ) -> Option<Extern> {
        let definition = self.items.get(&(module.to_string(), name.to_string()))?;
        match definition.clone() {
            Definition::Extern(e) => Some(e),
            Definition::HostFunc(ty, body) => {
                let body: Box<HostFn<T>> =
                    Box::new(move |caller: Caller<'_, T>, values: &mut [ValRaw]| {
                        body(caller, values)
                    });
                Func::new_raw(store.as_context_mut(), ty, body)
                    .ok()
                    .map(Extern::Func)
            }
        }
    }

    /// Instantiates `module` with its imports taken from this linker. An import the linker
    /// does not define is an "unknown import" error.
    pub fn instantiate(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &Module,
    ) -> Result<Instance> {
        if !Engine::same(&self.engine, module.engine()) {
            return Err(Error::Link("module belongs to another engine".into()));
        }
        let mut imports = Vec::new();
        for import in module.imports() {
            let item = self
                .get(&mut store, &import.module, &import.name)
                .ok_or_else(|| {
                    Error::Link(format!(
                        "unknown import: `{}`.`{}` is not defined",
                        import.module, import.name
                    ))
                })?;
            imports.push(item);
        }
        instantiate(opaque_mut(&mut store), module, &imports)
    }
}
