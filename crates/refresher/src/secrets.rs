//! The providers' client credentials, fetched from Secrets Manager once per cold start.
//!
//! Only the secret's name appears in errors; the value is handed to
//! [`Credentials::parse`](crate::config::Credentials::parse), which never quotes it.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;

use crate::config::{Config, ConfigError, Credentials};
use crate::secret::SecretString;

/// Reads `CREDENTIALS_SECRET_ID` and parses it for the configured providers.
pub async fn load_credentials(
    client: &Client,
    config: &Config,
) -> Result<Credentials, ConfigError> {
    let id = &config.credentials_secret_id;
    let problem = |text: String| ConfigError {
        problems: vec![text],
    };
    let out = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|err| {
            problem(format!(
                "the credentials secret `{id}` could not be read ({}): create it with \
                 `deployer secrets set --stage {}`",
                DisplayErrorContext(&err),
                config.stage
            ))
        })?;
    let value = SecretString::new(out.secret_string().ok_or_else(|| {
        problem(format!(
            "the credentials secret `{id}` has no string value: it should hold a JSON object"
        ))
    })?);
    Credentials::parse(value.expose(), config)
}
