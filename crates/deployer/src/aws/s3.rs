//! The artifact bucket: created on first use (encrypted, public access blocked, versioned),
//! checked with `ListObjectsV2` (`HeadObject` can surface as Access Denied), uploaded to only when
//! the key is absent.

use super::S3 as Client;
use anyhow::{Context, Result, bail};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, VersioningConfiguration,
};

use super::describe_error;

/// Whether `key` is in `bucket`; `None` when the bucket does not exist.
pub async fn object_exists(s3: &Client, bucket: &str, key: &str) -> Result<Option<bool>> {
    match s3
        .0
        .list_objects_v2()
        .bucket(bucket)
        .prefix(key)
        .max_keys(1)
        .send()
        .await
    {
        Ok(out) => Ok(Some(out.contents().iter().any(|o| o.key() == Some(key)))),
        Err(err)
            if err.as_service_error().is_some_and(
                aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Error::is_no_such_bucket,
            ) =>
        {
            Ok(None)
        }
        Err(err) => bail!("cannot list s3://{bucket}/{key}: {}", describe_error(&err)),
    }
}

/// Creates the artifact bucket: private, encrypted at rest, versioned.
pub async fn create_bucket(s3: &Client, bucket: &str, region: &str) -> Result<()> {
    let mut create = s3.0.create_bucket().bucket(bucket);
    // us-east-1 is the one region that takes no location constraint.
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    create.send().await.map_err(|e| {
        anyhow::anyhow!(
            "cannot create artifact bucket {bucket}: {}",
            describe_error(&e)
        )
    })?;
    block_public_access(s3, bucket).await?;
    encrypt(s3, bucket).await?;
    s3.0.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot turn on versioning of {bucket}: {}",
                describe_error(&e)
            )
        })?;
    Ok(())
}

async fn block_public_access(s3: &Client, bucket: &str) -> Result<()> {
    s3.0.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot block public access to {bucket}: {}",
                describe_error(&e)
            )
        })?;
    Ok(())
}

/// SSE-S3 by default (the artifacts are code: they hold no secret).
async fn encrypt(s3: &Client, bucket: &str) -> Result<()> {
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(
            ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::Aes256)
                .build()
                .context("cannot build the bucket's default encryption rule (AES256)")?,
        )
        .build();
    s3.0.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(rule)
                .build()
                .context("cannot build the bucket's encryption configuration")?,
        )
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot turn on encryption of {bucket}: {}",
                describe_error(&e)
            )
        })?;
    Ok(())
}

/// Uploads bytes, with their SHA-256 checked by S3.
pub async fn upload(
    s3: &Client,
    bucket: &str,
    key: &str,
    bytes: Vec<u8>,
    sha256_base64: &str,
) -> Result<()> {
    s3.0.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(bytes))
        .checksum_sha256(sha256_base64)
        .content_type("application/zip")
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!("cannot upload s3://{bucket}/{key}: {}", describe_error(&e))
        })?;
    Ok(())
}

/// Downloads an object (the artifact `deployer invoke --local` runs).
pub async fn download(s3: &Client, bucket: &str, key: &str) -> Result<Vec<u8>> {
    let out =
        s3.0.get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot download s3://{bucket}/{key}: {}",
                    describe_error(&e)
                )
            })?;
    let bytes = out
        .body
        .collect()
        .await
        .with_context(|| format!("cannot read s3://{bucket}/{key}"))?;
    Ok(bytes.into_bytes().to_vec())
}
