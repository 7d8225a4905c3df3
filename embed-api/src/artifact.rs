//! The precompiled-module format (`.cwasm`): what [`crate::Module::serialize`] writes and
//! [`crate::Module::deserialize`] reads.
//!
//! ```text
//! offset    size  field
//! 0         8     magic, "\0wasmjit"
//! 8         4     format version (little-endian u32)
//! 12        8     length S of the settings (little-endian u64)
//! 20        8     length M of the metadata (little-endian u64)
//! 28        8     offset C of the code image (little-endian u64)
//! 36        8     length L of the code image (little-endian u64)
//! 44        S     the code's settings (CodeSettings, postcard)
//! 44+S      M     the module's metadata: types, imports, exports, segments, vmctx layout,
//!                 code layout, trap sites, load-time relocations (CompiledModule, postcard)
//! 44+S+M    4     CRC-32 of every byte before it
//! ...             zeros up to C, a multiple of the target's code alignment
//! C         L     the code image, linked, its load-time relocation fields zeroed
//! C+L       4     CRC-32 of the code image
//! ```
//!
//! Reading checks, in order: the magic, the format version, that the lengths and offsets
//! add up to the file's size (truncation), the checksums and the zero padding (any flipped
//! bit, anywhere), then
//! that the code's settings are compatible with the engine (version, target, Cranelift flags,
//! CPU features, bounds checks, fuel, epochs, features). Only then is the metadata decoded.
//! Each failure is an [`Error::Artifact`] naming what is wrong.
//!
//! The code image is aligned in the file so that [`crate::Module::deserialize_file`] can map
//! it and run it in place: only the pages holding load-time relocations (calls to the
//! runtime's math routines) become private copies.

use std::ops::Range;

use wasmjit_codegen::{CodeSettings, CompiledModule};

use crate::error::{Error, Result};

/// The first bytes of every precompiled module.
const MAGIC: [u8; 8] = *b"\0wasmjit";

/// The layout above and of the serialized module; bumped when either changes (3: value
/// types became reference types with heap types, tables gained initialisers; 4: GC's
/// defined types, recursion groups and constant expressions; 5: stack maps; 6: the
/// wasm-to-host trampolines record the exit from wasm; 7: the store keeps its fuel
/// complemented; 8: array-to-wasm trampolines only for the types the host may call, and no
/// wasm-to-host ones; 9: with fuel metering, wasm functions return the fuel left as their
/// last result; 10: and take it as their last parameter; functions 32-byte aligned; 11:
/// with epoch interruption, loop headers read the store's epoch poll page).
pub(crate) const FORMAT_VERSION: u32 = 11;

/// Bytes before the settings: magic, version, two lengths, the code's offset and length.
const HEADER_LEN: usize = 44;

/// Bytes of each checksum.
const CHECKSUM_LEN: usize = 4;

/// Whether `bytes` start like a precompiled module (they may still be damaged).
pub(crate) fn is_precompiled(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

/// Encodes a compiled module, its code image (as compiled, or as loaded: the load-time
/// relocation fields are cleared again) and the settings its code was compiled with.
pub(crate) fn write(
    settings: &CodeSettings,
    module: &CompiledModule,
    image: &[u8],
) -> Result<Vec<u8>> {
    let encode_error = |e: postcard::Error| Error::Artifact(format!("cannot encode: {e}"));
    let settings = postcard::to_stdvec(settings).map_err(encode_error)?;
    let metadata = postcard::to_stdvec(module).map_err(encode_error)?;
    let metadata_end = HEADER_LEN + settings.len() + metadata.len() + CHECKSUM_LEN;
    let code_offset = metadata_end.next_multiple_of(module.target.code_alignment());
    let mut out = Vec::with_capacity(code_offset + image.len() + CHECKSUM_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    for n in [settings.len(), metadata.len(), code_offset, image.len()] {
        out.extend_from_slice(&(n as u64).to_le_bytes());
    }
    out.extend_from_slice(&settings);
    out.extend_from_slice(&metadata);
    let checksum = crc32fast::hash(&out);
    out.extend_from_slice(&checksum.to_le_bytes());
    out.resize(code_offset, 0);
    out.extend_from_slice(image);
    module.code.clear_load_relocs(&mut out[code_offset..]);
    let checksum = crc32fast::hash(&out[code_offset..]);
    out.extend_from_slice(&checksum.to_le_bytes());
    Ok(out)
}

/// Decodes a precompiled module's metadata after checking its framing, its checksums and
/// that its code was compiled with settings compatible with `engine`'s. Returns the
/// metadata and where the code image is in `bytes`.
pub(crate) fn read(bytes: &[u8], engine: &CodeSettings) -> Result<(CompiledModule, Range<usize>)> {
    let error = |what: String| Error::Artifact(what);
    if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
        return Err(error(
            "not a wasmjit precompiled module (it does not start with \"\\0wasmjit\")".into(),
        ));
    }
    if bytes.len() < HEADER_LEN + 2 * CHECKSUM_LEN {
        return Err(error(format!(
            "truncated: {} bytes, shorter than the {}-byte header",
            bytes.len(),
            HEADER_LEN + 2 * CHECKSUM_LEN
        )));
    }
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    let version = u32_at(8);
    if version != FORMAT_VERSION {
        return Err(error(format!(
            "format version {version}, and this wasmjit reads version {FORMAT_VERSION}"
        )));
    }
    let (settings_len, metadata_len, code_offset, code_len) =
        (u64_at(12), u64_at(20), u64_at(28), u64_at(36));
    let metadata_end = (HEADER_LEN as u64 + CHECKSUM_LEN as u64)
        .checked_add(settings_len)
        .and_then(|n| n.checked_add(metadata_len));
    let total = code_offset
        .checked_add(code_len)
        .and_then(|n| n.checked_add(CHECKSUM_LEN as u64));
    let fits = metadata_end.is_some_and(|end| end <= code_offset);
    if !fits || total != Some(bytes.len() as u64) {
        return Err(error(format!(
            "truncated or damaged: the header announces {} bytes, and there are {}",
            total.map_or("more than 2^64".to_string(), |n| n.to_string()),
            bytes.len()
        )));
    }
    let metadata_end = metadata_end.unwrap_or_default() as usize;
    let checked = metadata_end - CHECKSUM_LEN;
    let code = code_offset as usize..(code_offset + code_len) as usize;
    if crc32fast::hash(&bytes[..checked]) != u32_at(checked)
        || bytes[metadata_end..code.start].iter().any(|b| *b != 0)
        || crc32fast::hash(&bytes[code.clone()]) != u32_at(code.end)
    {
        return Err(error(
            "corrupted: the checksum does not match the contents".into(),
        ));
    }
    let settings_end = HEADER_LEN + settings_len as usize;
    let settings: CodeSettings = postcard::from_bytes(&bytes[HEADER_LEN..settings_end])
        .map_err(|e| error(format!("cannot decode the settings: {e}")))?;
    settings
        .check_compatible(engine)
        .map_err(|why| error(format!("incompatible with this engine: {why}")))?;
    let module: CompiledModule = postcard::from_bytes(&bytes[settings_end..checked])
        .map_err(|e| error(format!("cannot decode the module: {e}")))?;
    if module.code.len as usize != code.len() {
        return Err(error(format!(
            "damaged: the code layout announces {} bytes of code, and there are {}",
            module.code.len,
            code.len()
        )));
    }
    // The host calls a module's functions through the trampolines of their types
    // (`FuncData::for_instance_func`), which the compiler makes for exactly these types.
    let entries = &module.code.array_to_wasm;
    let missing = module
        .info
        .host_callable_types()
        .into_iter()
        .find(|t| entries.get(*t as usize).is_none_or(Option::is_none));
    if entries.len() != module.info.types.len() || missing.is_some() {
        return Err(error(format!(
            "damaged: the code layout has no host-to-wasm trampoline for type {}",
            missing.map_or("index".to_string(), |t| t.to_string())
        )));
    }
    Ok((module, code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmjit_codegen::{compile_module, CodegenConfig, Target};

    #[test]
    fn an_artifact_without_the_trampoline_of_an_exported_type_is_refused() {
        let config = CodegenConfig::default();
        let target = Target::host();
        let settings = CodeSettings::new(&target, &config).unwrap();
        let wasm = wat::parse_str(
            r#"(module (func (export "f") (param i32) (result i32) (local.get 0))
                       (func (param i64)))"#,
        )
        .unwrap();
        let mut module = compile_module(&wasm, &target, &config).unwrap();
        let image = module.image.clone();
        let bytes = write(&settings, &module, &image).unwrap();
        assert!(read(&bytes, &settings).is_ok());
        let exported = module.info.functions[0] as usize;
        assert!(module.code.array_to_wasm[exported].is_some());
        // The unexported function's type has none to lose.
        assert!(module.code.array_to_wasm[module.info.functions[1] as usize].is_none());
        module.code.array_to_wasm[exported] = None;
        let bytes = write(&settings, &module, &image).unwrap();
        let Err(e) = read(&bytes, &settings) else {
            panic!("an artifact without the exported type's trampoline was accepted");
        };
        assert!(e.to_string().contains("no host-to-wasm trampoline"), "{e}");
    }
}
