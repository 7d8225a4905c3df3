//! Node.js (V8), through `benches/node/driver.mjs`.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Engine, Loaded};
use crate::error::{bail, Context, Result};
use crate::kernels::{Kernel, Size};

/// Runs each kernel in a `node benches/node/driver.mjs` child process.
pub struct Node {
    driver: PathBuf,
}

impl Node {
    /// Uses the driver script of the repository at `repo_root`.
    pub fn new(repo_root: &Path) -> Self {
        Node {
            driver: repo_root.join("benches/node/driver.mjs"),
        }
    }
}

impl Engine for Node {
    fn name(&self) -> &str {
        "node"
    }

    fn load(&self, kernel: &Kernel, size: Size, runs: usize) -> Result<Loaded<'_>> {
        let output = Command::new("node")
            .arg(&self.driver)
            .arg(&kernel.wasm_path)
            .arg(kernel.memory_pages.to_string())
            .arg(size.driver_arg())
            .arg(runs.to_string())
            .output()
            .context("running node (is Node.js >= 18 installed?)")?;
        if !output.status.success() {
            bail!(
                "node driver.mjs failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let json: serde_json::Value =
            serde_json::from_str(stdout.trim()).context("parsing driver.mjs output")?;
        let field = |name: &str| {
            json[name].as_u64().ok_or_else(|| {
                crate::error::Error(format!("driver.mjs output lacks {name}: {stdout}"))
            })
        };
        let run_ns = json["run_ns"]
            .as_array()
            .and_then(|a| a.iter().map(|v| v.as_u64()).collect::<Option<Vec<u64>>>())
            .ok_or_else(|| {
                crate::error::Error(format!("driver.mjs output lacks run_ns: {stdout}"))
            })?;
        let checksum = json["checksum"]
            .as_str()
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| {
                crate::error::Error(format!("driver.mjs output lacks checksum: {stdout}"))
            })?;
        // The driver made all the calls; `run` hands out their times one by one.
        let mut times = run_ns.into_iter();
        Ok(Loaded {
            compile_ns: field("compile_ns")?,
            instantiate_ns: field("instantiate_ns")?,
            n: u32::try_from(field("n")?).context("n out of range")?,
            run: Box::new(move || match times.next() {
                Some(ns) => Ok((ns, checksum)),
                None => bail!("driver.mjs made fewer runs than asked"),
            }),
        })
    }
}
