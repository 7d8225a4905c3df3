//! What machine code depends on besides the module: the code generator's version, the target,
//! Cranelift's flags and the settings of [`CodegenConfig`] that change code.
//!
//! A precompiled module records its [`CodeSettings`]; loading it checks them against the
//! engine's own, so that code is never run by an engine that would have compiled it
//! differently (another bounds-check mode, fuel, a CPU feature this machine lacks).

use serde::{Deserialize, Serialize};

use crate::abi::WASM_CALL_CONV;
use crate::config::CodegenConfig;
use crate::error::CompileError;
use crate::target::Target;

/// The settings code was compiled with, each as a name and a printed value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeSettings {
    /// The code generator's version (wasmjit's version): code is only loaded by the version
    /// that compiled it.
    pub version: String,
    /// The target triple.
    pub target: String,
    /// Cranelift's shared and target-specific flags (`opt_level`, `has_avx2`, ...), the calling
    /// convention of wasm functions, then the code-changing fields of [`CodegenConfig`]
    /// (`bounds_checks`, `consume_fuel`, ...).
    pub settings: Vec<(String, String)>,
}

impl CodeSettings {
    /// The settings code compiled for `target` with `config` depends on.
    pub fn new(target: &Target, config: &CodegenConfig) -> Result<Self, CompileError> {
        let isa = target.isa(config)?;
        let mut settings: Vec<(String, String)> = isa
            .flags()
            .iter()
            .chain(isa.isa_flags())
            .map(|v| (v.name.to_string(), v.value_string()))
            .collect();
        let ours = [
            ("wasm_call_conv", WASM_CALL_CONV.to_string()),
            ("wasm_features", format!("{:#x}", config.features.bits())),
            ("bounds_checks", format!("{:?}", config.bounds_checks)),
            ("guard_size", config.guard_size.to_string()),
            ("epoch_interruption", config.epoch_interruption.to_string()),
            ("consume_fuel", config.consume_fuel.to_string()),
            ("spectre_guard", config.spectre_guard.to_string()),
            ("inlining", config.inlining.to_string()),
        ];
        settings.extend(ours.into_iter().map(|(n, v)| (n.to_string(), v)));
        Ok(CodeSettings {
            version: env!("CARGO_PKG_VERSION").to_string(),
            target: target.to_string(),
            settings,
        })
    }

    /// Checks that code compiled with these settings can run in an engine whose own settings
    /// are `engine`; the error names the first setting that differs and both values.
    ///
    /// Every setting must be equal, except CPU features (`has_*` flags): code that does not
    /// use a feature runs on a machine that has it.
    pub fn check_compatible(&self, engine: &CodeSettings) -> Result<(), String> {
        if self.version != engine.version {
            return Err(format!(
                "it was compiled by wasmjit {}, and this is wasmjit {}",
                self.version, engine.version
            ));
        }
        if self.target != engine.target {
            return Err(format!(
                "it was compiled for {}, and this engine compiles for {}",
                self.target, engine.target
            ));
        }
        for (name, value) in &self.settings {
            let ours = engine
                .settings
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str());
            if ours == Some(value.as_str()) || (name.starts_with("has_") && value == "false") {
                continue;
            }
            return Err(match ours {
                Some(ours) if name.starts_with("has_") => format!(
                    "it uses the CPU feature `{}`, which this machine lacks ({name} = {ours})",
                    &name["has_".len()..]
                ),
                Some(ours) => format!(
                    "it was compiled with {name} = {value}, and this engine has {name} = {ours}"
                ),
                None => {
                    format!("it was compiled with a setting this engine lacks: {name} = {value}")
                }
            });
        }
        Ok(())
    }
}
