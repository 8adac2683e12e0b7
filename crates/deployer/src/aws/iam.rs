//! IAM reads for the drift check: whether a role exists, and its inline policies as stored.

use super::Iam as Client;
use anyhow::{Result, bail};
use aws_sdk_iam::error::ProvideErrorMetadata;

use super::describe_error;

/// Whether IAM has the role.
pub async fn role_exists(client: &Client, role: &str) -> Result<bool> {
    match client.0.get_role().role_name(role).send().await {
        Ok(_) => Ok(true),
        Err(err) if err.code() == Some("NoSuchEntity") => Ok(false),
        Err(err) => bail!("cannot read role {role}: {}", describe_error(&err)),
    }
}

/// The inline policy's document exactly as IAM returns it (URL-encoded JSON on AWS; see
/// `drift::policy` for the local stand-in's form), or `None` when the role has no such policy.
pub async fn role_policy(client: &Client, role: &str, policy: &str) -> Result<Option<String>> {
    match client
        .0
        .get_role_policy()
        .role_name(role)
        .policy_name(policy)
        .send()
        .await
    {
        Ok(out) => Ok(Some(out.policy_document().to_owned())),
        Err(err) if err.code() == Some("NoSuchEntity") => Ok(None),
        Err(err) => bail!(
            "cannot read policy {policy} of role {role}: {}",
            describe_error(&err)
        ),
    }
}
