//! The refresher as a Lambda artifact: built for the stage's architecture, checked to start on
//! provided.al2023, zipped reproducibly and named by its SHA-256.

pub mod build;
pub mod elf;
pub mod zip;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::stage::Architecture;

/// A packaged refresher, ready to upload.
#[derive(Debug, Clone, Serialize)]
pub struct Artifact {
    /// S3 key: `refresher/<sha256>.zip`.
    pub key: String,
    pub sha256: String,
    pub architecture: Architecture,
    pub binary_bytes: u64,
    pub zip_bytes: u64,
    /// `GLIBC_x.y` the binary needs at most, if dynamically linked.
    pub max_glibc: Option<String>,
    #[serde(skip)]
    pub zip: Vec<u8>,
    pub binary_path: PathBuf,
}

/// Checks a built binary and zips it.
pub fn from_binary(path: PathBuf, architecture: Architecture) -> Result<Artifact> {
    let binary = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let info = elf::inspect(&binary).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if info.architecture != Some(architecture) {
        bail!(
            "{} is built for {}, but the stage runs on {architecture}; rebuild for {architecture}",
            path.display(),
            info.architecture
                .map_or_else(|| "another machine".to_owned(), |a| a.to_string())
        );
    }
    if let Some(needed) = info.max_glibc.filter(|v| *v > elf::AL2023_GLIBC) {
        bail!(
            "{} needs GLIBC_{}.{}, but Lambda's provided.al2023 has glibc {}.{}: it would fail at start-up. \
             Build with cargo-zigbuild (`pip install ziglang && cargo install --locked cargo-zigbuild`), \
             which targets glibc 2.34",
            path.display(),
            needed.0,
            needed.1,
            elf::AL2023_GLIBC.0,
            elf::AL2023_GLIBC.1
        );
    }
    let zip = zip::bootstrap_zip(&binary).context("cannot zip the bootstrap binary")?;
    let sha256 = hex::encode(Sha256::digest(&zip));
    Ok(Artifact {
        key: format!("refresher/{sha256}.zip"),
        sha256,
        architecture,
        binary_bytes: binary.len() as u64,
        zip_bytes: zip.len() as u64,
        max_glibc: info.max_glibc.map(|(a, b)| format!("GLIBC_{a}.{b}")),
        zip,
        binary_path: path,
    })
}
