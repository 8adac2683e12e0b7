//! What the emulator runs for a deployed stage: the very zip the stack deployed (its
//! `ArtifactKey` parameter), its `bootstrap` unpacked on this machine, and each function's own
//! settings (environment, memory, timeout) read from Lambda, with the caller's credentials in
//! place of the role's and the stand-in's endpoint when the stage uses one.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use super::FunctionSpec;
use crate::aws::{Aws, invoke, s3};
use crate::stage::Stage;

/// Downloads the stack's artifact and writes its `bootstrap` into `dir`; its path.
pub async fn bootstrap(aws: &Aws, stage: &Stage, dir: &Path) -> Result<PathBuf> {
    let stack = aws.require_stack(stage).await?;
    let key = stack.parameters.get("ArtifactKey").with_context(|| {
        format!(
            "stack {} has no ArtifactKey parameter; redeploy it with this deployer (`deployer deploy --stage {}`)",
            stage.stack_name, stage.name
        )
    })?;
    let zip = s3::download(&aws.s3(), &stage.artifact_bucket, key).await?;
    let binary = dir.join("bootstrap");
    std::fs::write(&binary, unzip_bootstrap(&zip)?)
        .with_context(|| format!("cannot write {}", binary.display()))?;
    std::fs::set_permissions(&binary, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", binary.display()))?;
    Ok(binary)
}

/// How to run the deployed function `function` from `binary`.
pub async fn function(
    aws: &Aws,
    stage: &Stage,
    binary: &Path,
    function: &str,
) -> Result<FunctionSpec> {
    let settings = invoke::settings(&aws.lambda(), function).await?;
    let mut environment = settings.environment;
    environment.extend(aws.credentials_env().await?);
    if let Some(endpoint) = &aws.custom_endpoint {
        environment.insert("AWS_ENDPOINT_URL".into(), endpoint.clone());
    }
    Ok(FunctionSpec {
        binary: binary.to_path_buf(),
        function_name: function.to_owned(),
        memory_mb: settings.memory_mb,
        timeout: Duration::from_secs(u64::from(settings.timeout_s)),
        region: stage.region.clone(),
        environment,
    })
}

fn unzip_bootstrap(zip: &[u8]) -> Result<Vec<u8>> {
    const REBUILD: &str = "rebuild and redeploy it (`deployer deploy`)";
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip))
        .with_context(|| format!("the stack's artifact is not a zip; {REBUILD}"))?;
    let mut entry = archive
        .by_name("bootstrap")
        .with_context(|| format!("the stack's artifact has no `bootstrap`; {REBUILD}"))?;
    let mut bytes = Vec::new();
    entry
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot unzip bootstrap from the stack's artifact; {REBUILD}"))?;
    Ok(bytes)
}
