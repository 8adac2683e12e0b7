//! `deployer package --stage S`: builds the refresher for the stage, zips it reproducibly and
//! uploads it under its SHA-256 unless that key is already in the artifact bucket.

use std::fmt;

use anyhow::Result;
use serde::Serialize;

use super::Ctx;
use crate::Status;
use crate::cli::PackageArgs;
use crate::deploy::{self, ArtifactReport};
use crate::package;

#[derive(Debug, Serialize)]
pub(super) struct PackageReport {
    pub stage: String,
    pub architecture: String,
    pub binary_bytes: u64,
    pub max_glibc: Option<String>,
    #[serde(flatten)]
    pub artifact: ArtifactReport,
}

impl fmt::Display for PackageReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.artifact.uploaded {
            "uploaded"
        } else {
            "already uploaded"
        };
        writeln!(
            f,
            "s3://{}/{} ({state})",
            self.artifact.bucket, self.artifact.key
        )?;
        writeln!(
            f,
            "  {} bootstrap {} bytes, zip {} bytes, needs {}",
            self.architecture,
            self.binary_bytes,
            self.artifact.zip_bytes,
            self.max_glibc.as_deref().unwrap_or("no glibc (static)")
        )
    }
}

pub(super) async fn run(args: &PackageArgs, ctx: &Ctx) -> Result<Status> {
    let stage = ctx.load_stage(&args.stage.stage)?;
    let artifact = package::build_for(&ctx.project_dir, &stage, &args.cargo_profile)?;
    let aws = ctx.aws(&stage).await;
    deploy::check_account(&aws, &stage).await?;
    let uploaded = deploy::upload_artifact(&aws, &stage, &artifact).await?;
    ctx.printer.emit(&PackageReport {
        stage: stage.name,
        architecture: artifact.architecture.to_string(),
        binary_bytes: artifact.binary_bytes,
        max_glibc: artifact.max_glibc,
        artifact: uploaded,
    })?;
    Ok(Status::Ok)
}
