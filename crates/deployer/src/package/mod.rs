//! The refresher as a Lambda artifact: built for the stage's architecture, checked to start on
//! provided.al2023, zipped reproducibly and named by its SHA-256.

pub mod build;
pub mod elf;
pub mod fresh;
pub mod zip;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::stage::{Architecture, Stage};

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

/// Builds the refresher of the project in `project_dir` for the stage's architecture with the
/// cargo profile given, checks it and zips it (no AWS call).
pub fn build_for(project_dir: &Path, stage: &Stage, cargo_profile: &str) -> Result<Artifact> {
    let spec = build::BuildSpec {
        project_dir: project_dir.to_path_buf(),
        architecture: stage.function.architecture,
        profile: cargo_profile.to_owned(),
    };
    from_binary(build::build(&spec)?, stage.function.architecture)
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
    let (zip, sha256) = zip_cached(&binary, &path)?;
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

/// The zip of `binary` and its SHA-256, from a cache beside the binary when this very binary was
/// zipped before: zipping 14 MB at level 9 costs about half a second on every deploy, hashing it
/// 20 ms (BENCHMARKS.md). A cached zip is used only if its bytes still hash to the digest recorded
/// when it was written, so a damaged file is rebuilt rather than uploaded.
fn zip_cached(binary: &[u8], binary_path: &Path) -> Result<(Vec<u8>, String)> {
    let dir = binary_path.parent().map(|p| p.join("lambda-zips"));
    let name = hex::encode(Sha256::digest(binary));
    if let Some(dir) = &dir
        && let (Ok(zip), Ok(recorded)) = (
            std::fs::read(dir.join(format!("{name}.zip"))),
            std::fs::read_to_string(dir.join(format!("{name}.zip.sha256"))),
        )
    {
        let sha256 = hex::encode(Sha256::digest(&zip));
        if sha256 == recorded.trim() {
            return Ok((zip, sha256));
        }
    }
    let zip = zip::bootstrap_zip(binary).context("cannot zip the bootstrap binary")?;
    let sha256 = hex::encode(Sha256::digest(&zip));
    if let Some(dir) = &dir {
        // The cache only saves time: a directory that cannot be written costs a zip next time.
        let _ = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(dir.join(format!("{name}.zip")), &zip))
            .and_then(|()| std::fs::write(dir.join(format!("{name}.zip.sha256")), &sha256));
    }
    Ok((zip, sha256))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_binary_zipped_before_comes_from_the_cache_and_a_damaged_one_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bootstrap");
        let binary = b"not really an ELF, but bytes to zip".repeat(100);
        let (first, sha) = zip_cached(&binary, &path).unwrap();
        let name = hex::encode(Sha256::digest(&binary));
        let cached = dir.path().join("lambda-zips").join(format!("{name}.zip"));
        assert_eq!(std::fs::read(&cached).unwrap(), first);
        assert_eq!(
            zip_cached(&binary, &path).unwrap(),
            (first.clone(), sha.clone())
        );
        std::fs::write(&cached, b"damaged").unwrap();
        assert_eq!(zip_cached(&binary, &path).unwrap(), (first, sha));
    }
}
