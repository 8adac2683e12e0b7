//! The function's configuration: its environment parsed once per cold start into a [`Config`].
//!
//! The deployer's template sets exactly the variables read here; nothing else is consulted. Parsing
//! is pure (the environment comes in as an iterator of pairs) and collects every problem before
//! failing, so one failed cold start names everything that is wrong, each with what it should hold.
//! The provider table (`PROVIDERS`) lives in [`providers`], the client credentials secret in
//! [`credentials`]; neither ever holds a secret in `Debug` output or an error message.

pub mod credentials;
pub mod providers;
pub mod vars;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

pub use credentials::{
    ClientCredentials, Credentials, CredentialsSecret, Entry as CredentialsEntry,
};

use crate::crypto::TokenFormat;
pub use providers::{ClientAuth, ProviderConfig, ProviderKind};

/// Default for `JITTER_SECONDS`.
pub const DEFAULT_JITTER_SECONDS: u64 = 120;
/// Default for `METRICS_NAMESPACE`.
pub const DEFAULT_METRICS_NAMESPACE: &str = "OAuthRefresher";

/// Everything the refresher reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `STAGE`: the deployer stage (`prod`, `dev`…), used in messages and the fix commands they name.
    pub stage: String,
    /// `TOKENS_TABLE`: the DynamoDB table holding token items (DESIGN §4).
    pub tokens_table: String,
    /// `TOKENS_FORMAT`: `envelope` (default) or `plaintext`, the format of every token write.
    pub tokens_format: TokenFormat,
    /// `TOKENS_EXPIRY_INDEX`: the `byExpiry` GSI of the tokens table.
    pub tokens_expiry_index: String,
    /// `ANALYTICS_TABLE`: where `token.refresh` events are written.
    pub analytics_table: String,
    /// `KMS_KEY_ID`: the key (usually an alias such as `alias/oauth-refresher-prod`) for data keys.
    pub kms_key_id: String,
    /// `CREDENTIALS_SECRET_ID`: name of the secret holding the providers' client credentials.
    pub credentials_secret_id: String,
    /// `EVENT_BUS_NAME`: the bus that receives `token.*` events.
    pub event_bus_name: String,
    /// `DLQ_URL`: the queue that receives token sets whose write failed (recovery path).
    pub dlq_url: String,
    /// `JITTER_SECONDS`: a run waits a random time up to this before starting (no thundering herd).
    pub jitter_seconds: u64,
    /// `LOG_LEVEL`.
    pub log_level: LogLevel,
    /// `METRICS_NAMESPACE`: CloudWatch namespace of the embedded metrics.
    pub metrics_namespace: String,
    /// `PROVIDERS`: provider name (the item's `platform`) to its settings.
    pub providers: BTreeMap<String, ProviderConfig>,
    /// `REFRESHER_MODE`: which function of the stack this process serves.
    pub mode: Mode,
}

/// `REFRESHER_MODE` values: the stack runs the same `bootstrap` as two functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// `schedule` (default): runs over every due token of the input's providers.
    #[default]
    Schedule,
    /// `token-api`: refreshes one token on request (`crate::api`).
    TokenApi,
}

impl Mode {
    /// The value as written in the environment.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::TokenApi => "token-api",
        }
    }
}

/// `LOG_LEVEL` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    /// The lowercase name, as written in the environment.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warn => "warn",
            Self::Info => "info",
            Self::Debug => "debug",
            Self::Trace => "trace",
        }
    }
}

impl FromStr for LogLevel {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "error" => Ok(Self::Error),
            "warn" => Ok(Self::Warn),
            "info" => Ok(Self::Info),
            "debug" => Ok(Self::Debug),
            "trace" => Ok(Self::Trace),
            _ => Err(()),
        }
    }
}

/// Every problem found in the configuration, one line each (never a secret value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// One entry per problem, each naming the variable (or secret) and what it should hold.
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        let noun = if count == 1 { "problem" } else { "problems" };
        write!(f, "the refresher's configuration has {count} {noun}")?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl Config {
    /// Parses the environment, e.g. `Config::from_env(std::env::vars())`.
    pub fn from_env<I, K, V>(vars: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut env = Env::new(vars);
        let config = Self {
            stage: env.required(vars::STAGE, "the deployer stage name, e.g. prod"),
            tokens_table: env.required(vars::TOKENS_TABLE, "the tokens table name"),
            tokens_format: env.token_format(),
            tokens_expiry_index: env
                .required(vars::TOKENS_EXPIRY_INDEX, "the GSI name, e.g. byExpiry"),
            analytics_table: env.required(vars::ANALYTICS_TABLE, "the analytics table name"),
            kms_key_id: env.kms_key_id(),
            credentials_secret_id: env.required(vars::CREDENTIALS_SECRET_ID, "the secret's name"),
            event_bus_name: env.required(vars::EVENT_BUS_NAME, "the event bus name"),
            dlq_url: env.required(vars::DLQ_URL, "the dead-letter queue URL (https://sqs…)"),
            jitter_seconds: env.number(vars::JITTER_SECONDS, DEFAULT_JITTER_SECONDS),
            log_level: env.log_level(),
            metrics_namespace: env
                .optional(vars::METRICS_NAMESPACE)
                .unwrap_or(DEFAULT_METRICS_NAMESPACE)
                .to_owned(),
            providers: env.providers(),
            mode: env.mode(),
        };
        if env.problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError {
                problems: env.problems,
            })
        }
    }

    /// The settings of one provider, if it is configured.
    pub fn provider(&self, name: &str) -> Option<&ProviderConfig> {
        self.providers.get(name)
    }
}

/// The environment being read, and the problems found so far.
struct Env {
    vars: HashMap<String, String>,
    problems: Vec<String>,
}

impl Env {
    fn new<I, K, V>(vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Self {
            vars,
            problems: Vec::new(),
        }
    }

    /// A set, non-blank value (blank counts as unset: templates render missing values as "").
    fn optional(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn required(&mut self, name: &str, what: &str) -> String {
        if let Some(value) = self.optional(name) {
            return value.to_owned();
        }
        self.problems
            .push(format!("{name} is not set: it should hold {what}"));
        String::new()
    }

    fn number(&mut self, name: &str, default: u64) -> u64 {
        let Some(raw) = self.optional(name) else {
            return default;
        };
        if let Ok(value) = raw.parse() {
            return value;
        }
        let problem = format!("{name} is `{raw}`: it should be a whole number of seconds");
        self.problems.push(problem);
        default
    }

    fn token_format(&mut self) -> TokenFormat {
        let Some(raw) = self.optional(vars::TOKENS_FORMAT) else {
            return TokenFormat::default();
        };
        if let Some(format) = TokenFormat::parse(raw) {
            return format;
        }
        let problem = format!("TOKENS_FORMAT is `{raw}`: it should be `envelope` or `plaintext`");
        self.problems.push(problem);
        TokenFormat::default()
    }

    fn mode(&mut self) -> Mode {
        match self.optional(vars::REFRESHER_MODE) {
            None | Some("schedule") => Mode::Schedule,
            Some("token-api") => Mode::TokenApi,
            Some(other) => {
                let problem = format!(
                    "REFRESHER_MODE is `{other}`: it should be `schedule` (the default) or `token-api`"
                );
                self.problems.push(problem);
                Mode::Schedule
            }
        }
    }

    fn log_level(&mut self) -> LogLevel {
        let Some(raw) = self.optional(vars::LOG_LEVEL) else {
            return LogLevel::Info;
        };
        if let Ok(level) = raw.parse() {
            return level;
        }
        let problem =
            format!("LOG_LEVEL is `{raw}`: it should be one of error, warn, info, debug, trace");
        self.problems.push(problem);
        LogLevel::Info
    }

    /// KMS accepts an alias (`alias/NAME`), an alias or key ARN, or a bare key id.
    fn kms_key_id(&mut self) -> String {
        let what = "a KMS key alias such as alias/oauth-refresher-prod, or a key ARN or id";
        let value = self.required(vars::KMS_KEY_ID, what);
        let looks_right = value.starts_with("alias/")
            || value.starts_with("arn:")
            || (value.len() >= 32 && value.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
        if !value.is_empty() && !looks_right {
            self.problems
                .push(format!("KMS_KEY_ID is `{value}`: it should be {what}"));
        }
        value
    }

    fn providers(&mut self) -> BTreeMap<String, ProviderConfig> {
        let what = r#"a JSON object of provider name -> {"kind", "windowSeconds", "rateLimitPerMinute", "concurrency"}"#;
        let raw = self.required(vars::PROVIDERS, what);
        if raw.is_empty() {
            return BTreeMap::new();
        }
        let (providers, problems) = providers::parse(&raw);
        self.problems.extend(problems);
        providers
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const PROVIDERS: &str = r#"{
        "tiktok": {"kind": "tiktok", "windowSeconds": 43200, "rateLimitPerMinute": 600, "concurrency": 4},
        "reddit": {"kind": "reddit", "windowSeconds": 1200, "rateLimitPerMinute": 100, "concurrency": 2,
                   "userAgent": "web:com.example.refresher:1.0 (by /u/ops)"},
        "instagram": {"kind": "instagram", "windowSeconds": 604800, "rateLimitPerMinute": 60, "concurrency": 1},
        "schwab": {"kind": "oauth2", "windowSeconds": 600, "rateLimitPerMinute": 60, "concurrency": 1,
                   "tokenUrl": "https://api.schwabapi.com/v1/oauth/token", "auth": "basic"}
    }"#;

    pub(crate) fn env() -> Vec<(&'static str, &'static str)> {
        vec![
            ("STAGE", "prod"),
            ("TOKENS_TABLE", "huntaze-oauth-tokens"),
            ("TOKENS_EXPIRY_INDEX", "byExpiry"),
            ("ANALYTICS_TABLE", "huntaze-analytics-events"),
            ("KMS_KEY_ID", "alias/oauth-refresher-prod"),
            (
                "CREDENTIALS_SECRET_ID",
                "OAuthRefreshStack-prod/provider-credentials",
            ),
            ("EVENT_BUS_NAME", "oauth-refresher-prod"),
            (
                "DLQ_URL",
                "https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
            ),
            ("PROVIDERS", PROVIDERS),
            ("PATH", "/usr/bin"),
        ]
    }

    pub(crate) fn config() -> Config {
        Config::from_env(env()).unwrap()
    }

    fn with(overrides: &[(&'static str, &'static str)]) -> Result<Config, ConfigError> {
        let mut vars = env();
        vars.retain(|(k, _)| overrides.iter().all(|(o, _)| o != k));
        vars.extend(overrides.iter().filter(|(_, v)| *v != "<unset>"));
        Config::from_env(vars)
    }

    #[test]
    fn the_mode_is_the_schedule_or_the_token_api() {
        let api = with(&[("REFRESHER_MODE", "token-api")]).unwrap();
        assert_eq!(api.mode.as_str(), "token-api");
        let err = with(&[("REFRESHER_MODE", "api")]).unwrap_err().to_string();
        assert!(
            err.contains("REFRESHER_MODE is `api`: it should be `schedule`"),
            "{err}"
        );
    }

    #[test]
    fn full_environment_parses_with_defaults() {
        let config = config();
        assert_eq!(config.stage, "prod");
        assert_eq!(config.tokens_expiry_index, "byExpiry");
        assert_eq!(config.jitter_seconds, 120);
        assert_eq!(config.log_level, LogLevel::Info);
        assert_eq!(config.metrics_namespace, "OAuthRefresher");
        assert_eq!(config.mode, Mode::Schedule);
        assert_eq!(config.providers.len(), 4);
        assert_eq!(
            config.provider("reddit").unwrap().kind,
            ProviderKind::Reddit
        );
    }

    #[test]
    fn optional_values_override_defaults() {
        assert_eq!(with(&[]).unwrap().tokens_format, TokenFormat::Envelope);
        let config = with(&[
            ("JITTER_SECONDS", "0"),
            ("LOG_LEVEL", "DEBUG"),
            ("METRICS_NAMESPACE", "Custom"),
            ("TOKENS_FORMAT", "plaintext"),
        ])
        .unwrap();
        assert_eq!(config.tokens_format, TokenFormat::Plaintext);
        assert!(
            with(&[("TOKENS_FORMAT", "base64")])
                .unwrap_err()
                .to_string()
                .contains("TOKENS_FORMAT is `base64`: it should be `envelope` or `plaintext`")
        );
        assert_eq!(config.jitter_seconds, 0);
        assert_eq!(config.log_level, LogLevel::Debug);
        assert_eq!(config.metrics_namespace, "Custom");
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let err = with(&[
            ("STAGE", "<unset>"),
            ("DLQ_URL", "  "),
            ("JITTER_SECONDS", "2m"),
            ("LOG_LEVEL", "loud"),
            ("KMS_KEY_ID", "my key"),
        ])
        .unwrap_err();
        assert_eq!(err.problems.len(), 5, "{err}");
        let text = err.to_string();
        assert!(text.starts_with("the refresher's configuration has 5 problems"));
        assert!(text.contains("STAGE is not set: it should hold the deployer stage name"));
        assert!(text.contains("DLQ_URL is not set"));
        assert!(text.contains("JITTER_SECONDS is `2m`: it should be a whole number of seconds"));
        assert!(text.contains("LOG_LEVEL is `loud`: it should be one of error, warn"));
        assert!(text.contains("KMS_KEY_ID is `my key`"));
    }

    #[test]
    fn kms_key_forms_are_accepted() {
        for key in [
            "alias/oauth-refresher-prod",
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
        ] {
            let mut vars = env();
            vars.retain(|(k, _)| *k != "KMS_KEY_ID");
            vars.push(("KMS_KEY_ID", key));
            assert_eq!(Config::from_env(vars).unwrap().kms_key_id, key);
        }
    }

    #[test]
    fn missing_providers_is_reported() {
        let err = with(&[("PROVIDERS", "<unset>")]).unwrap_err();
        assert_eq!(err.problems.len(), 1);
        assert!(err.problems[0].starts_with("PROVIDERS is not set: it should hold a JSON object"));
    }

    #[test]
    fn provider_problems_join_env_problems() {
        let err = with(&[("STAGE", "<unset>"), ("PROVIDERS", "[]")]).unwrap_err();
        assert_eq!(err.problems.len(), 2, "{err}");
    }
}
