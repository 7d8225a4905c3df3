//! The C kernels in `benches/kernels/`: building them and describing one built kernel.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{bail, Context, Result};

/// The problem size a kernel runs at: the module's `full_n()` or `smoke_n()` export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// `full_n()`: a real benchmark run (0.2-0.5 s natively).
    Full,
    /// `smoke_n()`: a tiny size for CI.
    Smoke,
}

impl Size {
    /// The kernel export that returns `n` for this size.
    pub fn export(self) -> &'static str {
        match self {
            Size::Full => "full_n",
            Size::Smoke => "smoke_n",
        }
    }

    /// The argument `benches/node/driver.mjs` takes for this size.
    pub fn driver_arg(self) -> &'static str {
        match self {
            Size::Full => "full",
            Size::Smoke => "smoke",
        }
    }
}

/// One built kernel: its wasm module and native shared object.
#[derive(Clone, Debug)]
pub struct Kernel {
    /// The file stem, e.g. `matmul`.
    pub name: String,
    /// `OUT/<name>.wasm`.
    pub wasm_path: PathBuf,
    /// The bytes of the wasm module.
    pub wasm: Vec<u8>,
    /// `OUT/<name>.so`.
    pub native_path: PathBuf,
    /// The minimum of the module's `env.memory` import, in 64 KiB pages.
    pub memory_pages: u32,
    /// Whether the module is the wasm64 build, importing a 64-bit memory.
    pub memory64: bool,
}

/// Runs `benches/kernels/build.sh out_dir`, failing if it does. The native shared objects
/// are built for this binary's architecture (`NATIVE_ARCH`), which differs from the
/// machine's when the bench runs under an emulator.
pub fn build(repo_root: &Path, out_dir: &Path) -> Result<()> {
    let script = repo_root.join("benches/kernels/build.sh");
    let output = Command::new("bash")
        .arg(&script)
        .arg(out_dir)
        .env("NATIVE_ARCH", std::env::consts::ARCH)
        .current_dir(repo_root)
        .output()
        .context(format_args!("running {}", script.display()))?;
    if !output.status.success() {
        bail!(
            "{} failed ({}):\n{}{}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// The names of all kernels (`benches/kernels/*.c`), sorted.
pub fn all_names(repo_root: &Path) -> Result<Vec<String>> {
    let dir = repo_root.join("benches/kernels");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).context(format_args!("reading {}", dir.display()))? {
        let path = entry.context("reading the kernel directory")?.path();
        if path.extension().is_some_and(|e| e == "c") {
            if let Some(stem) = path.file_stem().and_then(|s| s.to_str()) {
                names.push(stem.to_owned());
            }
        }
    }
    names.sort();
    Ok(names)
}

/// Loads the built kernel `name` from `out_dir`.
pub fn load(out_dir: &Path, name: &str) -> Result<Kernel> {
    load_file(out_dir, name, "", false)
}

/// The two builds of kernel `name` that `build.sh` makes with the same compiler for the
/// memory64 measurement, wasm32 then wasm64, if it made them.
pub fn load_memory64_pair(out_dir: &Path, name: &str) -> Result<Option<[Kernel; 2]>> {
    if !out_dir.join(format!("{name}.wasm64.wasm")).exists() {
        return Ok(None);
    }
    Ok(Some([
        load_file(out_dir, name, ".wasm32-cc64", false)?,
        load_file(out_dir, name, ".wasm64", true)?,
    ]))
}

/// Loads `OUT/<name><suffix>.wasm`, a module importing a 64-bit memory if `memory64`.
fn load_file(out_dir: &Path, name: &str, suffix: &str, memory64: bool) -> Result<Kernel> {
    let wasm_path = out_dir.join(format!("{name}{suffix}.wasm"));
    let native_path = out_dir.join(format!("{name}.so"));
    let wasm =
        std::fs::read(&wasm_path).context(format_args!("reading {}", wasm_path.display()))?;
    let memory_pages =
        memory_import_minimum(&wasm).context(format_args!("parsing {}", wasm_path.display()))?;
    Ok(Kernel {
        name: name.to_owned(),
        wasm_path,
        wasm,
        native_path,
        memory_pages,
        memory64,
    })
}

/// The minimum size in pages of the module's `env.memory` import.
fn memory_import_minimum(wasm: &[u8]) -> Result<u32> {
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        if let wasmparser::Payload::ImportSection(reader) = payload.context("invalid module")? {
            for import in reader.into_imports() {
                let import = import.context("invalid import")?;
                if let (("env", "memory"), wasmparser::TypeRef::Memory(ty)) =
                    ((import.module, import.name), import.ty)
                {
                    return u32::try_from(ty.initial).context("memory minimum out of range");
                }
            }
        }
    }
    bail!("the module does not import env.memory")
}
