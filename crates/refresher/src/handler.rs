//! The Lambda entry point: cold-start wiring ([`cold_start`], [`build_deps`]) and the per-invocation
//! [`handle`], which serves the function's mode (`REFRESHER_MODE`): a scheduled run, or one
//! request of the token API.
//!
//! Clients are built once from the shared `aws_config` (which honours `AWS_ENDPOINT_URL` and the
//! per-service variants), the configuration and the credentials secret are read once per cold
//! start; a problem with either fails the cold start with one message naming every fault, except a
//! provider's missing or broken credentials entry, which stops that provider alone
//! ([`crate::config::Credentials::unusable`]). Errors
//! of an invocation map to a [`Diagnostic`] whose `error_type` says whether Lambda's retry helps.

use std::sync::Arc;

use aws_config::{BehaviorVersion, SdkConfig};
use lambda_runtime::{Diagnostic, LambdaEvent};

use crate::config::{Config, ConfigError, Mode};
use crate::events::AwsSignals;
use crate::http::{ReqwestTransport, Timeouts};
use crate::kms::KmsKeySource;
use crate::metrics::{LineSink, Stdout};
use crate::run::{self, Deps, RunError, RunInput, RunOptions};
use crate::store::DynamoStore;

/// Loads the configuration from the process environment and the AWS default chain, then builds
/// the dependencies (EMF lines to stdout).
pub async fn cold_start() -> Result<Arc<Deps>, ConfigError> {
    let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let deps = build_deps(&sdk, std::env::vars(), Arc::new(Stdout)).await?;
    Ok(Arc::new(deps))
}

/// Parses `env`, reads the credentials secret and builds every client from `sdk`.
pub async fn build_deps<I, K, V>(
    sdk: &SdkConfig,
    env: I,
    metrics: Arc<dyn LineSink>,
) -> Result<Deps, ConfigError>
where
    I: IntoIterator<Item = (K, V)>,
    K: Into<String>,
    V: Into<String>,
{
    let config = Config::from_env(env)?;
    let secrets = aws_sdk_secretsmanager::Client::new(sdk);
    let credentials = crate::secrets::load_credentials(&secrets, &config).await?;
    let transport = ReqwestTransport::new(Timeouts::default()).map_err(|err| ConfigError {
        problems: vec![format!("the HTTP client could not be built: {err}")],
    })?;
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let store = DynamoStore::new(
        dynamodb.clone(),
        &config.tokens_table,
        &config.tokens_expiry_index,
    );
    let keys = KmsKeySource::new(
        aws_sdk_kms::Client::new(sdk),
        &config.kms_key_id,
        &config.tokens_table,
    );
    let signals = AwsSignals {
        events: aws_sdk_eventbridge::Client::new(sdk),
        event_bus: config.event_bus_name.clone(),
        dynamodb: dynamodb.clone(),
        analytics_table: config.analytics_table.clone(),
        sqs: aws_sdk_sqs::Client::new(sdk),
        dlq_url: config.dlq_url.clone(),
    };
    let analytics = crate::analytics::DynamoAnalytics::new(dynamodb, &config.analytics_table);
    Ok(Deps {
        config,
        credentials,
        store: Arc::new(store),
        keys: Arc::new(keys),
        transport: Arc::new(transport),
        signals: Arc::new(signals),
        metrics,
        analytics: Arc::new(analytics),
    })
}

/// A failed invocation, as Lambda records it.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct HandlerError(#[from] RunError);

impl From<HandlerError> for Diagnostic {
    fn from(err: HandlerError) -> Self {
        let error_type = if err.0.is_retryable() {
            "Retryable"
        } else {
            "NonRetryable"
        };
        Self {
            error_type: error_type.to_owned(),
            error_message: err.to_string(),
        }
    }
}

/// One invocation and the context's deadline. A scheduled run takes `{"providers": [...],
/// "dryRun": bool}` and answers its summary; the token API takes a request (`crate::api`) and
/// answers the token's state or an error answer.
pub async fn handle(
    deps: Arc<Deps>,
    event: LambdaEvent<serde_json::Value>,
) -> Result<serde_json::Value, HandlerError> {
    // A default context (tests, local emulators) has no deadline.
    let deadline = Some(event.context.deadline).filter(|d| *d > 0);
    let answer = match deps.config.mode {
        Mode::Schedule => {
            let input: RunInput = serde_json::from_value(event.payload)
                .map_err(|err| RunError::BadInput(err.to_string()))?;
            serde_json::to_value(run::run(deps, input, RunOptions::new(deadline)).await?)
        }
        Mode::TokenApi => {
            let options = RunOptions::for_request(deadline);
            serde_json::to_value(crate::api::handle(deps, event.payload, options).await?)
        }
    };
    // Both answers are plain structs of strings and numbers: serialising them cannot fail.
    Ok(answer.unwrap_or_default())
}

/// JSON logs through `tracing` at `LOG_LEVEL` (read directly: the subscriber must exist before the
/// configuration is parsed, so that a configuration error is itself logged).
pub fn init_tracing() {
    let level = std::env::var("LOG_LEVEL").unwrap_or_else(|_| "info".to_owned());
    let filter = tracing_subscriber::EnvFilter::try_new(log_filter(
        &level,
        std::env::var("RUST_LOG").ok().as_deref(),
    ))
    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Another subscriber (a test harness) may already be installed: keep it.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_target(false)
        .with_current_span(false)
        .try_init();
}

/// `LOG_LEVEL` applies to the refresher's own events; libraries (the AWS SDK, hyper, the Lambda
/// runtime) log warnings only, or `debug` turns every SDK request into a dozen lines. `RUST_LOG`,
/// when set, is taken as it is (to debug the SDK itself).
fn log_filter(level: &str, rust_log: Option<&str>) -> String {
    if let Some(directives) = rust_log.filter(|v| !v.trim().is_empty()) {
        return directives.to_owned();
    }
    let level = level.to_ascii_lowercase();
    format!("warn,refresher={level},bootstrap={level}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_level_is_for_the_refresher_and_rust_log_for_everything() {
        assert_eq!(
            log_filter("DEBUG", None),
            "warn,refresher=debug,bootstrap=debug"
        );
        assert_eq!(
            log_filter("info", Some("aws_smithy_runtime=trace")),
            "aws_smithy_runtime=trace"
        );
        assert_eq!(
            log_filter("info", Some(" ")),
            "warn,refresher=info,bootstrap=info"
        );
    }

    #[test]
    fn diagnostics_say_whether_a_retry_helps() {
        let bad = Diagnostic::from(HandlerError(RunError::UnknownProvider {
            name: "myspace".to_owned(),
            configured: "reddit, tiktok".to_owned(),
        }));
        assert_eq!(bad.error_type, "NonRetryable");
        assert_eq!(
            bad.error_message,
            "unknown provider `myspace` in the input: configured are reddit, tiktok"
        );
        let lock = Diagnostic::from(HandlerError(RunError::Lock {
            provider: "tiktok".to_owned(),
            error: "throttled".to_owned(),
        }));
        assert_eq!(lock.error_type, "Retryable");
    }

    #[test]
    fn input_defaults_to_all_providers() {
        let input: RunInput = serde_json::from_str("{}").unwrap();
        assert_eq!(input, RunInput::default());
        let input: RunInput =
            serde_json::from_str(r#"{"providers":["tiktok"],"dryRun":true,"extra":1}"#).unwrap();
        assert!(input.dry_run);
        assert_eq!(input.providers, ["tiktok"]);
    }
}
