//! Secrets Manager, as `deployer secrets` needs it: read, create (under the stack's KMS key) and
//! put a new version of the credentials secret; and, for `deploy`/`plan`, the current version of
//! the HTTP trigger's header secret. Errors name the secret, never its value.

use super::SecretsManager as Client;
use anyhow::{Context, Result};
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use refresher::secret::SecretString;

/// The secret's string value, `None` when the secret does not exist.
pub async fn get(client: &Client, id: &str) -> Result<Option<SecretString>> {
    let result = client.0.get_secret_value().secret_id(id).send().await;
    let Some(out) = found(result, id, "secretsmanager:GetSecretValue", "read")? else {
        return Ok(None);
    };
    let value = out.secret_string().with_context(|| {
        format!(
            "the secret `{id}` has no string value (it was stored as binary): store it again \
                 as a string (`deployer secrets set` does)"
        )
    })?;
    Ok(Some(SecretString::new(value)))
}

/// The id of the secret's current version (staged `AWSCURRENT`), `None` when the secret does not
/// exist. Reads metadata only, never the value.
pub async fn current_version(client: &Client, id: &str) -> Result<Option<String>> {
    let result = client.0.describe_secret().secret_id(id).send().await;
    let Some(out) = found(result, id, "secretsmanager:DescribeSecret", "describe")? else {
        return Ok(None);
    };
    let current = out
        .version_ids_to_stages()
        .into_iter()
        .flatten()
        .find(|(_, stages)| stages.iter().any(|s| s == "AWSCURRENT"))
        .map(|(version, _)| version.clone());
    current.map(Some).with_context(|| {
        format!("the secret `{id}` has no current (AWSCURRENT) version; put a value in it")
    })
}

/// A call's answer; `None` when the secret does not exist; an error naming the call otherwise.
fn found<T, E>(
    result: Result<T, SdkError<E, aws_sdk_secretsmanager::config::http::HttpResponse>>,
    id: &str,
    action: &str,
    verb: &str,
) -> Result<Option<T>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(out) => Ok(Some(out)),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.code() == Some("ResourceNotFoundException")) =>
        {
            Ok(None)
        }
        Err(err) => Err(anyhow::anyhow!(
            "cannot {verb} the secret `{id}` ({action}): {}",
            super::describe_error(&err)
        )),
    }
}

/// Creates the secret, encrypted with `kms_key_id` (an alias works).
pub async fn create(
    client: &Client,
    name: &str,
    kms_key_id: &str,
    value: &SecretString,
) -> Result<()> {
    client
        .0
        .create_secret()
        .name(name)
        .kms_key_id(kms_key_id)
        .description("OAuth client credentials per provider, written by `deployer secrets set`")
        .secret_string(value.expose())
        .send()
        .await
        .map_err(|err| {
            anyhow::anyhow!(
                "cannot create the secret `{name}` (secretsmanager:CreateSecret): {}",
                super::describe_error(&err)
            )
        })?;
    Ok(())
}

/// Stores a new current version of an existing secret.
pub async fn put(client: &Client, id: &str, value: &SecretString) -> Result<()> {
    client
        .0
        .put_secret_value()
        .secret_id(id)
        .secret_string(value.expose())
        .send()
        .await
        .map_err(|err| {
            anyhow::anyhow!(
                "cannot update the secret `{id}` (secretsmanager:PutSecretValue): {}",
                super::describe_error(&err)
            )
        })?;
    Ok(())
}
