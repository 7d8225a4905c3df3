//! The precompiled-module format (`.cwasm`): what [`crate::Module::serialize`] writes and
//! [`crate::Module::deserialize`] reads.
//!
//! ```text
//! offset  size  field
//! 0       8     magic, "\0wasmjit"
//! 8       4     format version (little-endian u32)
//! 12      8     length S of the settings (little-endian u64)
//! 20      8     length M of the module (little-endian u64)
//! 28      S     the code's settings (CodeSettings, postcard)
//! 28+S    M     the compiled module: metadata, code, relocations, trap tables (postcard)
//! 28+S+M  4     CRC-32 of every byte before it
//! ```
//!
//! Reading checks, in order: the magic, the format version, that the lengths add up to the
//! file's size (truncation), the checksum (any flipped bit, anywhere), then that the code's
//! settings are compatible with the engine (version, target, Cranelift flags, CPU features,
//! bounds checks, fuel, epochs, features). Only then is the module decoded. Each failure is an
//! [`Error::Artifact`] naming what is wrong.

use wasmjit_codegen::{CodeSettings, CompiledModule};

use crate::error::{Error, Result};

/// The first bytes of every precompiled module.
const MAGIC: [u8; 8] = *b"\0wasmjit";

/// The layout above and of the serialized module; bumped when either changes (2: value
/// types became reference types with heap types, tables gained initialisers).
const FORMAT_VERSION: u32 = 2;

/// Bytes before the settings: magic, version and the two lengths.
const HEADER_LEN: usize = 28;

/// Bytes of the trailing checksum.
const CHECKSUM_LEN: usize = 4;

/// Whether `bytes` start like a precompiled module (they may still be damaged).
pub(crate) fn is_precompiled(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

/// Encodes a compiled module and the settings its code was compiled with.
pub(crate) fn write(settings: &CodeSettings, module: &CompiledModule) -> Result<Vec<u8>> {
    let encode_error = |e: postcard::Error| Error::Artifact(format!("cannot encode: {e}"));
    let settings = postcard::to_stdvec(settings).map_err(encode_error)?;
    let module = postcard::to_stdvec(module).map_err(encode_error)?;
    let mut out = Vec::with_capacity(HEADER_LEN + settings.len() + module.len() + CHECKSUM_LEN);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(settings.len() as u64).to_le_bytes());
    out.extend_from_slice(&(module.len() as u64).to_le_bytes());
    out.extend_from_slice(&settings);
    out.extend_from_slice(&module);
    let checksum = crc32fast::hash(&out);
    out.extend_from_slice(&checksum.to_le_bytes());
    Ok(out)
}

/// Decodes a precompiled module after checking its framing, its checksum and that its code
/// was compiled with settings compatible with `engine`'s.
pub(crate) fn read(bytes: &[u8], engine: &CodeSettings) -> Result<CompiledModule> {
    let error = |what: String| Error::Artifact(what);
    if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
        return Err(error(
            "not a wasmjit precompiled module (it does not start with \"\\0wasmjit\")".into(),
        ));
    }
    if bytes.len() < HEADER_LEN + CHECKSUM_LEN {
        return Err(error(format!(
            "truncated: {} bytes, shorter than the {}-byte header",
            bytes.len(),
            HEADER_LEN + CHECKSUM_LEN
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
    let (settings_len, module_len) = (u64_at(12), u64_at(20));
    let expected = (HEADER_LEN as u64 + CHECKSUM_LEN as u64)
        .checked_add(settings_len)
        .and_then(|n| n.checked_add(module_len));
    if expected != Some(bytes.len() as u64) {
        return Err(error(format!(
            "truncated or damaged: the header announces {} bytes, and there are {}",
            expected.map_or("more than 2^64".to_string(), |n| n.to_string()),
            bytes.len()
        )));
    }
    let body = &bytes[..bytes.len() - CHECKSUM_LEN];
    if crc32fast::hash(body) != u32_at(bytes.len() - CHECKSUM_LEN) {
        return Err(error(
            "corrupted: the checksum does not match the contents".into(),
        ));
    }
    let settings_end = HEADER_LEN + settings_len as usize;
    let settings: CodeSettings = postcard::from_bytes(&body[HEADER_LEN..settings_end])
        .map_err(|e| error(format!("cannot decode the settings: {e}")))?;
    settings
        .check_compatible(engine)
        .map_err(|why| error(format!("incompatible with this engine: {why}")))?;
    postcard::from_bytes(&body[settings_end..])
        .map_err(|e| error(format!("cannot decode the module: {e}")))
}
