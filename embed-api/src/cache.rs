//! The compile cache ([`crate::Config::cache_dir`]): compiled modules kept as precompiled
//! artifacts in a folder, each named by a SHA-256 of the module's binary and of the settings
//! its code depends on, so that compiling the same module again with the same settings maps
//! the stored code instead.
//!
//! Entries are written to a temporary file and renamed into place, so a reader never sees a
//! partial entry and a module mapped from an entry keeps its pages when the entry is
//! replaced. A damaged or stale entry is not an error: the module is compiled and the entry
//! written again. Failing to write an entry (a full disk, a read-only folder) is not an
//! error either: the cache only saves time.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use wasmjit_codegen::CodeSettings;

use crate::artifact;
use crate::engine::Engine;
use crate::error::Result;
use crate::module::Module;

/// A folder of compiled modules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// The cache in `dir` (created when the first entry is written).
    pub(crate) fn new(dir: PathBuf) -> Self {
        Cache { dir }
    }

    /// The module compiled from `binary` with `engine`'s settings: from the cache if an
    /// entry is there and loads, otherwise compiled by `compile` and stored.
    pub(crate) fn get_or_compile(
        &self,
        engine: &Engine,
        binary: &[u8],
        compile: impl FnOnce() -> Result<Module>,
    ) -> Result<Module> {
        let path = self.entry(binary, engine.code_settings()?);
        // SAFETY: the cache folder holds only entries written by `store` below, as the
        // contract of `Config::cache_dir` requires of whoever can write it; the entry's
        // name covers the binary and the settings, and loading checks both checksums and
        // the settings again.
        if let Ok(module) = unsafe { Module::deserialize_file(engine, &path) } {
            return Ok(module);
        }
        let module = compile()?;
        if let Ok(bytes) = module.serialize() {
            let _ = self.store(&path, &bytes);
        }
        Ok(module)
    }

    /// Where the entry of `binary` compiled with `settings` lives.
    fn entry(&self, binary: &[u8], settings: &CodeSettings) -> PathBuf {
        let mut hash = Sha256::new();
        hash.update(artifact::FORMAT_VERSION.to_le_bytes());
        hash.update(postcard::to_stdvec(settings).unwrap_or_default());
        hash.update((binary.len() as u64).to_le_bytes());
        hash.update(binary);
        let name: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.cwasm"))
    }

    /// Writes an entry atomically: a temporary file in the same folder, renamed into place.
    fn store(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        std::fs::create_dir_all(&self.dir)?;
        let temporary = path.with_extension(format!(
            "{}-{}.tmp",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&temporary, bytes)
            .and_then(|()| std::fs::rename(&temporary, path))
            .inspect_err(|_| {
                let _ = std::fs::remove_file(&temporary);
            })
    }
}
