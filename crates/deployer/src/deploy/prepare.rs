//! What a deploy checks and puts in place before it touches the stack: the account, the
//! artifact in its bucket, the HTTP trigger's secret version, the stack's parameters.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};

use super::ArtifactReport;
use crate::aws::{Aws, s3, secrets};
use crate::output::note;
use crate::package::Artifact;
use crate::stage::Stage;
use crate::template;

/// Uploads the artifact unless its key is already in the bucket (creating the bucket on first use).
pub async fn upload_artifact(
    aws: &Aws,
    stage: &Stage,
    artifact: &Artifact,
) -> Result<ArtifactReport> {
    use base64::Engine as _;
    let s3c = aws.s3();
    let bucket = &stage.artifact_bucket;
    let exists = if let Some(exists) = s3::object_exists(&s3c, bucket, &artifact.key).await? {
        exists
    } else {
        note(&format!(
            "creating artifact bucket {bucket} (private, encrypted, versioned)"
        ));
        s3::create_bucket(&s3c, bucket, &stage.region).await?;
        false
    };
    if !exists {
        let sha = hex::decode(&artifact.sha256).context("the artifact's SHA-256 is not hex (a bug in package::from_binary); run `deployer package` again")?;
        let sha_b64 = base64::engine::general_purpose::STANDARD.encode(sha);
        s3::upload(&s3c, bucket, &artifact.key, artifact.zip.clone(), &sha_b64).await?;
    }
    Ok(ArtifactReport {
        bucket: bucket.clone(),
        key: artifact.key.clone(),
        sha256: artifact.sha256.clone(),
        zip_bytes: artifact.zip_bytes,
        uploaded: !exists,
    })
}

/// With an HTTP trigger, the current version of its header secret: a stack parameter that the
/// connection's dynamic reference names, so a rotated secret changes it and the next deploy
/// updates the connection. A missing secret is refused, naming the stage field; `deploy` and
/// `plan` ask before building anything.
pub async fn http_trigger_secret_version(aws: &Aws, stage: &Stage) -> Result<Option<String>> {
    let Some(trigger) = &stage.http_trigger else {
        return Ok(None);
    };
    let version = secrets::current_version(&aws.secretsmanager(), &trigger.secret)
        .await?
        .with_context(|| {
            format!(
                "http_trigger.secret `{}` does not exist in {} (account {}); {}",
                trigger.secret,
                stage.region,
                stage.account_id,
                create_secret_hint(&trigger.secret)
            )
        })?;
    Ok(Some(version))
}

/// How to create the header secret: by name; an ARN names a secret that must already exist.
#[must_use]
pub fn create_secret_hint(secret: &str) -> String {
    if secret.starts_with("arn:") {
        "check the ARN in the stage file, or create the secret and put its ARN there".to_owned()
    } else {
        format!(
            "create it with the header value before deploying (`aws secretsmanager create-secret \
             --name {secret} --secret-string file://value.txt`)"
        )
    }
}

/// The stack's parameters: the artifact's key, and the header secret's version when there is one.
#[must_use]
pub fn stack_parameters(
    artifact_key: &str,
    secret_version: Option<String>,
) -> BTreeMap<String, String> {
    let mut parameters = BTreeMap::from([("ArtifactKey".to_owned(), artifact_key.to_owned())]);
    if let Some(version) = secret_version {
        parameters.insert(
            template::context::HTTP_TRIGGER_SECRET_VERSION.to_owned(),
            version,
        );
    }
    parameters
}

/// Refuses to touch an account other than the stage's.
pub async fn check_account(aws: &Aws, stage: &Stage) -> Result<String> {
    let account = aws.account_id().await?;
    if account != stage.account_id {
        bail!(
            "the credentials are for account {account}, but stage {} belongs to account {}; \
             switch credentials (AWS_PROFILE / --profile) or fix account_id in the stage file",
            stage.name,
            stage.account_id
        );
    }
    Ok(account)
}
