//! Compiled modules.

use crate::tag::TagType;
use std::borrow::Cow;
use std::sync::Arc;

use wasmjit_codegen::{compile_module, CompiledModule, EntityIndex, ModuleInfo};
use wasmjit_runtime::instance::LoadedModule;
use wasmjit_runtime::mmap::{page_size, Mmap};

use crate::artifact;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::types::{ExternType, GlobalType, MemoryType, TableType, TypeSpace};

/// A validated and compiled WebAssembly module, ready to be instantiated any number of
/// times. Cheap to clone; usable from any thread.
#[derive(Clone, Debug)]
pub struct Module {
    inner: Arc<ModuleInner>,
}

#[derive(Debug)]
struct ModuleInner {
    engine: Engine,
    artifact: Artifact,
}

#[derive(Debug)]
enum Artifact {
    /// Code for this machine, linked and executable.
    Loaded(Arc<LoadedModule>),
    /// Code for another architecture: compiled, never run.
    Foreign(Box<CompiledModule>),
}

/// The error of a module whose code could not be made executable.
fn code_memory_error(e: std::io::Error) -> Error {
    Error::Link(format!("cannot map code memory: {e}"))
}

/// An import a module requires: [`Module::imports`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportType {
    module: String,
    name: String,
    ty: ExternType,
}

impl ImportType {
    /// The module name it is imported from.
    pub fn module(&self) -> &str {
        &self.module
    }

    /// The field name within that module.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it must be.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}

/// An export a module provides: [`Module::exports`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportType {
    name: String,
    ty: ExternType,
}

impl ExportType {
    /// The export's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it is.
    pub fn ty(&self) -> ExternType {
        self.ty.clone()
    }
}

impl Module {
    /// Compiles a module from its binary encoding or its text format.
    ///
    /// Invalid or malformed input is an error; for binaries the message names the offset.
    pub fn new(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Self> {
        let binary = wat::parse_bytes(bytes.as_ref()).map_err(|e| Error::Text(e.to_string()))?;
        Self::from_binary(engine, &binary)
    }

    /// Compiles a module from its binary encoding (or loads it from the engine's compile
    /// cache, [`crate::Config::cache_dir`]).
    pub fn from_binary(engine: &Engine, binary: &[u8]) -> Result<Self> {
        let compile = || {
            let compiled = compile_module(binary, engine.target(), engine.codegen())
                .map_err(Error::compile)?;
            Self::from_compiled(engine, compiled)
        };
        match engine.cache() {
            Some(cache) => cache.get_or_compile(engine, binary, compile),
            None => compile(),
        }
    }

    /// Copies compiled code into executable memory, if it is for this machine.
    fn from_compiled(engine: &Engine, compiled: CompiledModule) -> Result<Self> {
        let artifact = if compiled.target.is_host() {
            let loaded = LoadedModule::new(compiled, engine.types()).map_err(code_memory_error)?;
            Artifact::Loaded(Arc::new(loaded))
        } else {
            Artifact::Foreign(Box::new(compiled))
        };
        Ok(Self::with_artifact(engine, artifact))
    }

    fn with_artifact(engine: &Engine, artifact: Artifact) -> Self {
        Module {
            inner: Arc::new(ModuleInner {
                engine: engine.clone(),
                artifact,
            }),
        }
    }

    /// Reads and compiles a `.wasm` or `.wat` file.
    pub fn from_file(engine: &Engine, path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .map_err(|e| Error::Link(format!("cannot read {}: {e}", path.display())))?;
        Self::new(engine, bytes)
    }

    /// The module in the precompiled form (`.cwasm`) that [`Module::deserialize`] loads
    /// without compiling: code, metadata, and the settings the code was compiled with.
    pub fn serialize(&self) -> Result<Vec<u8>> {
        let settings = self.inner.engine.code_settings()?;
        match &self.inner.artifact {
            Artifact::Loaded(loaded) => {
                artifact::write(settings, loaded.compiled(), loaded.code().image())
            }
            Artifact::Foreign(compiled) => artifact::write(settings, compiled, &compiled.image),
        }
    }

    /// Loads a module that [`Module::serialize`] or [`Engine::precompile_module`] wrote,
    /// without compiling it.
    ///
    /// The bytes are checked: something that is not a precompiled module, one truncated or
    /// with any bit changed (CRC-32s cover all of it), one written by another wasmjit
    /// version, for another target, or with settings that change code (bounds checks, guard
    /// size, fuel, epochs, features, Cranelift flags, CPU features this machine lacks) is an
    /// [`Error::Artifact`].
    ///
    /// # Safety
    /// The bytes become machine code that runs in this process. The checks above catch
    /// accidents, not forgeries: a checksum is not a signature. The caller must make sure the
    /// bytes were written by wasmjit's own `serialize` or `precompile_module`, from a source
    /// trusted as much as the process itself (not, say, uploaded by a guest's user).
    pub unsafe fn deserialize(engine: &Engine, bytes: impl AsRef<[u8]>) -> Result<Self> {
        let bytes = bytes.as_ref();
        let (compiled, code) = artifact::read(bytes, engine.code_settings()?)?;
        Self::from_image(engine, compiled, &bytes[code])
    }

    /// Copies a deserialized module's code image into executable memory, or keeps it if
    /// the module is for another machine.
    fn from_image(engine: &Engine, mut compiled: CompiledModule, image: &[u8]) -> Result<Self> {
        let artifact = if compiled.target.is_host() {
            let loaded = LoadedModule::new_from(compiled, image, engine.types())
                .map_err(code_memory_error)?;
            Artifact::Loaded(Arc::new(loaded))
        } else {
            compiled.image = image.to_vec();
            Artifact::Foreign(Box::new(compiled))
        };
        Ok(Self::with_artifact(engine, artifact))
    }

    /// Loads a precompiled module from a file; see [`Module::deserialize`].
    ///
    /// The file is mapped, not read: its code runs in place, shared with the page cache
    /// (and with other processes loading the same file), except for the few pages that
    /// loading patches, which become private copies. Where the file's pages cannot be made
    /// executable (a file system mounted `noexec`), the code is copied instead.
    ///
    /// # Safety
    /// As for [`Module::deserialize`]: the file must have been written by wasmjit from a
    /// trusted source. It must also not change, nor be truncated, for as long as the module
    /// lives: its pages are the module's code.
    pub unsafe fn deserialize_file(
        engine: &Engine,
        path: impl AsRef<std::path::Path>,
    ) -> Result<Self> {
        let path = path.as_ref();
        let cannot =
            |e: std::io::Error| Error::Artifact(format!("cannot read {}: {e}", path.display()));
        let file = std::fs::File::open(path).map_err(cannot)?;
        let len = file.metadata().map_err(cannot)?.len();
        let len = usize::try_from(len)
            .map_err(|_| Error::Artifact(format!("{} is too large", path.display())))?;
        if len == 0 {
            // An empty file cannot be mapped; `read` names what is wrong with it.
            return Err(artifact::read(&[], engine.code_settings()?).expect_err("empty"));
        }
        let mmap = Mmap::map_file_copy_on_write(&file, len).map_err(cannot)?;
        // SAFETY: the mapping is `len` bytes or more (whole pages), readable, and the file's
        // `len` bytes back it; the caller guarantees that the file does not change while
        // the module lives, so the slice's bytes do not either.
        let bytes = unsafe { std::slice::from_raw_parts(mmap.as_ptr().cast_const(), len) };
        let (compiled, code) = artifact::read(bytes, engine.code_settings()?)?;
        if !compiled.target.is_host() || !code.start.is_multiple_of(page_size()) {
            return Self::from_image(engine, compiled, &bytes[code]);
        }
        let loaded = LoadedModule::from_mapping(compiled, mmap, code.start, engine.types())
            .map_err(code_memory_error)?;
        Ok(Self::with_artifact(
            engine,
            Artifact::Loaded(Arc::new(loaded)),
        ))
    }

    /// Whether `bytes` look like a precompiled module (they start with its magic number),
    /// rather than a `.wasm` binary or text: how a command line tells which loader to use.
    pub fn is_precompiled(bytes: &[u8]) -> bool {
        artifact::is_precompiled(bytes)
    }

    /// The engine that compiled the module.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub(crate) fn compiled(&self) -> &CompiledModule {
        match &self.inner.artifact {
            Artifact::Loaded(loaded) => loaded.compiled(),
            Artifact::Foreign(compiled) => compiled,
        }
    }

    pub(crate) fn info(&self) -> &ModuleInfo {
        &self.compiled().info
    }

    /// The executable form, or an error if the module was compiled for another target.
    pub(crate) fn loaded(&self) -> Result<&Arc<LoadedModule>> {
        match &self.inner.artifact {
            Artifact::Loaded(loaded) => Ok(loaded),
            Artifact::Foreign(compiled) => Err(Error::Link(format!(
                "module was compiled for {}, which is not this machine",
                compiled.target
            ))),
        }
    }

    /// Total bytes of machine code (functions and trampolines, with the padding that
    /// aligns them).
    pub fn code_size(&self) -> usize {
        self.compiled().code.len as usize
    }

    /// The machine code of function `index` (a function the module defines), as linked:
    /// calls between the module's functions are resolved, and for a module loaded on this
    /// machine the calls to the runtime's routines are too.
    pub fn function_code(&self, index: u32) -> Option<&[u8]> {
        let c = self.compiled();
        let defined = index.checked_sub(c.info.num_imported_funcs)?;
        let (start, len) = *c.code.functions.get(defined as usize)?;
        let image = match &self.inner.artifact {
            Artifact::Loaded(loaded) => loaded.code().image(),
            Artifact::Foreign(compiled) => &compiled.image,
        };
        image.get(start as usize..(start + len) as usize)
    }

    /// Cranelift's listing of the machine instructions of function `index`, if the engine
    /// was configured with [`crate::Config::emit_disassembly`].
    pub fn function_disassembly(&self, index: u32) -> Option<&str> {
        let c = self.compiled();
        let defined = index.checked_sub(c.info.num_imported_funcs)?;
        c.disassembly.get(defined as usize)?.as_deref()
    }

    /// The engine-wide ids of the module's types, by module type index (registered now for
    /// a module compiled for another target, which was never loaded).
    fn type_ids(&self) -> Cow<'_, [u32]> {
        match &self.inner.artifact {
            Artifact::Loaded(loaded) => Cow::Borrowed(loaded.type_ids()),
            Artifact::Foreign(compiled) => Cow::Owned(
                self.inner
                    .engine
                    .types()
                    .register_module(&compiled.info.types, &compiled.info.rec_groups)
                    .into(),
            ),
        }
    }

    /// The imports, in order.
    pub fn imports(&self) -> Vec<ImportType> {
        let info = self.info();
        let ids = self.type_ids();
        let space = TypeSpace::module(self.inner.engine.types(), &ids);
        info.imports
            .iter()
            .map(|i| ImportType {
                module: i.module.clone(),
                name: i.name.clone(),
                ty: ExternType::from_codegen(&space, &i.ty),
            })
            .collect()
    }

    /// The exports, in order.
    pub fn exports(&self) -> Vec<ExportType> {
        let info = self.info();
        let ids = self.type_ids();
        let space = TypeSpace::module(self.inner.engine.types(), &ids);
        info.exports
            .iter()
            .map(|e| ExportType {
                name: e.name.clone(),
                ty: match e.index {
                    EntityIndex::Function(f) => {
                        ExternType::Func(space.func_type(info.functions[f as usize]))
                    }
                    EntityIndex::Table(t) => {
                        ExternType::Table(TableType::from_codegen(&info.tables[t as usize], &space))
                    }
                    EntityIndex::Memory(m) => {
                        ExternType::Memory(MemoryType::from_codegen(&info.memories[m as usize]))
                    }
                    EntityIndex::Global(g) => ExternType::Global(GlobalType::from_codegen(
                        &info.globals[g as usize],
                        &space,
                    )),
                    EntityIndex::Tag(t) => {
                        ExternType::Tag(TagType::new(space.func_type(info.tags[t as usize])))
                    }
                },
            })
            .collect()
    }
}
