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
/// (`func_wrap`, created in a store at each instantiation) can be mixed. Defining a name
/// twice is an error unless [`Linker::allow_shadowing`] was turned on.
pub struct Linker<T> {
    engine: Engine,
    items: HashMap<(String, String), Definition<T>>,
    allow_shadowing: bool,
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
            allow_shadowing: false,
        }
    }

    /// Whether a later definition of a name may replace an earlier one (off by default, when
    /// defining a name twice is an `Error::Link`). The spec scripts' `register` needs it.
    pub fn allow_shadowing(&mut self, allow: bool) -> &mut Self {
        self.allow_shadowing = allow;
        self
    }

    /// An error if `module`.`name` is already defined and shadowing is not allowed.
    fn check_free(&self, module: &str, name: &str) -> Result<()> {
        let key = (module.to_string(), name.to_string());
        if !self.allow_shadowing && self.items.contains_key(&key) {
            return Err(Error::Link(format!(
                "`{module}`.`{name}` is defined twice in the linker"
            )));
        }
        Ok(())
    }

    /// Records `definition` as `module`.`name`, refusing to replace one unless shadowing is
    /// allowed.
    fn insert(&mut self, module: &str, name: &str, definition: Definition<T>) -> Result<()> {
        self.check_free(module, name)?;
        self.items
            .insert((module.to_string(), name.to_string()), definition);
        Ok(())
    }

    /// Defines `module`.`name` as `item`, an item of the store the linker's instances will
    /// live in.
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
        self.insert(module, name, Definition::Extern(item))?;
        Ok(self)
    }

    /// Defines `module`.`name` as a host function from a Rust closure, created anew in the
    /// store of each instantiation.
    pub fn func_wrap<Params, Results>(
        &mut self,
        module: &str,
        name: &str,
        func: impl IntoFunc<T, Params, Results>,
    ) -> Result<&mut Self> {
        let (ty, body) = func.into_func();
        self.insert(module, name, Definition::HostFunc(ty, Arc::from(body)))?;
        Ok(self)
    }

    /// Defines every export of `instance` under the module name `module` (the spec
    /// scripts' `register`). If one of the names is already defined (and shadowing is not
    /// allowed), nothing is defined.
    pub fn instance(
        &mut self,
        mut store: impl AsContextMut<Data = T>,
        module: &str,
        instance: Instance,
    ) -> Result<&mut Self> {
        let exports = instance.exports(&mut store);
        for (name, _) in &exports {
            self.check_free(module, name)?;
        }
        for (name, item) in exports {
            self.insert(module, &name, Definition::Extern(item))?;
        }
        Ok(self)
    }

    /// The item defined as `module`.`name`, created in `store` if it is a host function;
    /// `None` if there is no such definition or the host function could not be created
    /// ([`Linker::instantiate`] reports that error).
    pub fn get(
        &self,
        store: impl AsContextMut<Data = T>,
        module: &str,
        name: &str,
    ) -> Option<Extern> {
        self.get_or_error(store, module, name).ok().flatten()
    }

    /// As [`Linker::get`], with the error of creating a host function kept.
    fn get_or_error(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &str,
        name: &str,
    ) -> Result<Option<Extern>> {
        let Some(definition) = self.items.get(&(module.to_string(), name.to_string())) else {
            return Ok(None);
        };
        match definition.clone() {
            Definition::Extern(e) => Ok(Some(e)),
            Definition::HostFunc(ty, body) => {
                let body: Box<HostFn<T>> =
                    Box::new(move |caller: Caller<'_, T>, values: &mut [ValRaw]| {
                        body(caller, values)
                    });
                let func = Func::new_raw(store.as_context_mut(), ty, body)?;
                Ok(Some(Extern::Func(func)))
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
                .get_or_error(&mut store, import.module(), import.name())?
                .ok_or_else(|| {
                    Error::Link(format!(
                        "unknown import: `{}`.`{}` is not defined",
                        import.module(),
                        import.name()
                    ))
                })?;
            imports.push(item);
        }
        instantiate(opaque_mut(&mut store), module, &imports)
    }
}
