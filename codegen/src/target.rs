//! The machine code is generated for: the host, or another supported architecture.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use cranelift_codegen::isa::{self, TargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use serde::{Deserialize, Serialize};
use target_lexicon::{Architecture, Triple};

use crate::config::{CodegenConfig, OptLevel};
use crate::error::CompileError;

/// A compilation target: an architecture and operating system, as a target triple.
///
/// Code for any supported target can be compiled on any host; only code for the host can run.
///
/// Precompiled modules record it as its triple's text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Target {
    triple: Triple,
}

impl Target {
    /// The machine this process runs on, with the CPU features it has.
    pub fn host() -> Self {
        Target {
            triple: Triple::host(),
        }
    }

    /// A target named by its triple, such as `aarch64-unknown-linux-gnu`.
    ///
    /// Only x86-64 and aarch64 are supported.
    pub fn from_triple(name: &str) -> Result<Self, CompileError> {
        let triple = Triple::from_str(name)
            .map_err(|e| CompileError::Unsupported(format!("target `{name}`: {e}")))?;
        match triple.architecture {
            Architecture::X86_64 | Architecture::Aarch64(_) => Ok(Target { triple }),
            other => Err(CompileError::Unsupported(format!(
                "target architecture `{other}` (wasmjit supports x86_64 and aarch64)"
            ))),
        }
    }

    /// Whether code for this target can run in this process.
    pub fn is_host(&self) -> bool {
        self.triple == Triple::host()
    }

    /// The alignment of a code image in a precompiled module's file, so that it can be
    /// mapped in place on any kernel of the architecture: 4 KiB on x86-64, 64 KiB on
    /// aarch64 (whose kernels use 4, 16 or 64 KiB pages).
    pub fn code_alignment(&self) -> usize {
        match self.triple.architecture {
            Architecture::Aarch64(_) => 64 << 10,
            _ => 4 << 10,
        }
    }

    /// The target triple.
    pub fn triple(&self) -> &Triple {
        &self.triple
    }

    /// Builds the Cranelift backend for this target with `config`'s settings.
    pub(crate) fn isa(&self, config: &CodegenConfig) -> Result<Arc<dyn TargetIsa>, CompileError> {
        let mut flags = settings::builder();
        let set = |flags: &mut settings::Builder, name: &str, value: &str| {
            flags
                .set(name, value)
                .map_err(|e| CompileError::Codegen(format!("setting {name}={value}: {e}")))
        };
        let opt = match config.opt_level {
            OptLevel::None => "none",
            OptLevel::Speed => "speed",
            OptLevel::SpeedAndSize => "speed_and_size",
        };
        set(&mut flags, "opt_level", opt)?;
        set(&mut flags, "is_pic", "false")?;
        set(
            &mut flags,
            "enable_verifier",
            if cfg!(debug_assertions) {
                "true"
            } else {
                "false"
            },
        )?;
        // Functions with more results than registers return them through a hidden pointer.
        set(&mut flags, "enable_multi_ret_implicit_sret", "true")?;
        // The prologue's stack-limit check covers the whole frame, so no probes are needed.
        set(&mut flags, "enable_probestack", "false")?;
        set(&mut flags, "preserve_frame_pointers", "true")?;
        let flags = settings::Flags::new(flags);

        let builder = if self.is_host() {
            cranelift_native::builder().map_err(|e| CompileError::Unsupported(e.to_string()))?
        } else {
            let mut builder = isa::lookup(self.triple.clone())
                .map_err(|e| CompileError::Unsupported(format!("target {}: {e}", self.triple)))?;
            if self.triple.architecture == Architecture::X86_64 {
                // Baseline for cross compilation: the x86-64-v2 level every current server has.
                for feature in [
                    "has_sse3",
                    "has_ssse3",
                    "has_sse41",
                    "has_sse42",
                    "has_popcnt",
                ] {
                    builder
                        .enable(feature)
                        .map_err(|e| CompileError::Codegen(format!("{feature}: {e}")))?;
                }
            }
            builder
        };
        builder
            .finish(flags)
            .map_err(|e| CompileError::Codegen(e.to_string()))
    }
}

impl TryFrom<String> for Target {
    type Error = CompileError;

    fn try_from(name: String) -> Result<Self, CompileError> {
        Target::from_triple(&name)
    }
}

impl From<Target> for String {
    fn from(target: Target) -> String {
        target.to_string()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.triple.fmt(f)
    }
}
