//! The validated stage: every value checked, every default filled in, ready to render.
//!
//! A [`Stage`] can only be built by `validate.rs`, so code that holds one may rely on it: names are
//! within AWS limits, schedules parse, windows cover their schedule.

use std::collections::BTreeMap;
use std::fmt;

use refresher::crypto::TokenFormat;
use serde::Serialize;

use super::schedule::Schedule;

/// A stage after validation.
#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    pub name: String,
    pub region: String,
    pub account_id: String,
    pub stack_name: String,
    pub endpoint_url: Option<String>,
    pub termination_protection: bool,
    pub artifact_bucket: String,
    pub function: Function,
    /// The token API function; `None` when the stage turns it off.
    pub token_api: Option<TokenApi>,
    pub tables: Tables,
    pub alarms: Alarms,
    pub kms: Kms,
    /// Providers by name, sorted.
    pub providers: BTreeMap<String, Provider>,
    /// Providers grouped by schedule: one EventBridge rule each, sorted by rule name.
    pub rules: Vec<RuleGroup>,
    /// The optional redundant HTTP trigger of the web app's refresh endpoint.
    pub http_trigger: Option<HttpTrigger>,
    pub tags: BTreeMap<String, String>,
}

impl Stage {
    /// The provider of that name, or an error that lists the stage's providers.
    pub fn provider_named(&self, name: &str) -> Result<&Provider, String> {
        self.providers.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.providers.keys().map(String::as_str).collect();
            format!(
                "`{name}` is not a provider of stage {}; its providers are {}",
                self.name,
                known.join(", ")
            )
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Architecture {
    #[serde(rename = "x86_64")]
    X86_64,
    #[serde(rename = "arm64")]
    Arm64,
}

impl Architecture {
    /// The value Lambda's `Architectures` property takes.
    pub fn as_lambda(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Arm64 => "arm64",
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_lambda())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Function {
    pub name: String,
    pub architecture: Architecture,
    pub memory_mb: u32,
    pub timeout_s: u32,
    pub reserved_concurrency: Option<u32>,
    pub log_retention_days: u32,
    pub jitter_seconds: u32,
    pub log_level: String,
}

/// The token API function (`crate::api` of the refresher, `REFRESHER_MODE=token-api`).
#[derive(Debug, Clone, Serialize)]
pub struct TokenApi {
    pub name: String,
    /// The rule on the stage's bus that delivers `token.refresh-requested` events to it.
    pub rule_name: String,
    pub memory_mb: u32,
    pub timeout_s: u32,
    pub reserved_concurrency: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tables {
    pub tokens: TokensTable,
    pub analytics: Table,
}

/// The tokens table and the format every write to it uses.
#[derive(Debug, Clone, Serialize)]
pub struct TokensTable {
    pub name: String,
    pub create: bool,
    pub format: TokenFormat,
}

#[derive(Debug, Clone, Serialize)]
pub struct Table {
    pub name: String,
    pub create: bool,
}

/// The stage's KMS key.
#[derive(Debug, Clone, Serialize)]
pub struct Kms {
    /// Days between automatic rotations of the key material (`RotationPeriodInDays`).
    pub rotation_days: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Alarms {
    pub email: Option<String>,
    pub errors_threshold: u32,
    pub period_s: u32,
}

/// Which adapter of the refresher talks to a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Tiktok,
    Reddit,
    Instagram,
    Oauth2,
}

impl ProviderKind {
    pub const BUILT_IN: [(&'static str, Self); 3] = [
        ("tiktok", Self::Tiktok),
        ("reddit", Self::Reddit),
        ("instagram", Self::Instagram),
    ];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "tiktok" => Some(Self::Tiktok),
            "reddit" => Some(Self::Reddit),
            "instagram" => Some(Self::Instagram),
            "oauth2" => Some(Self::Oauth2),
            _ => None,
        }
    }

    /// Requests per minute when the stage file sets none: the provider's documented app limit
    /// (PROVIDERS.md), or a conservative figure for an unknown OAuth2 server.
    pub fn default_rate_limit(self) -> u32 {
        match self {
            Self::Tiktok => 600,
            Self::Reddit => 100,
            Self::Instagram => 200,
            Self::Oauth2 => 60,
        }
    }
}

/// Client authentication at an OAuth2 token endpoint (RFC 6749 section 2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    Basic,
    Body,
}

#[derive(Debug, Clone, Serialize)]
pub struct Provider {
    pub name: String,
    pub kind: ProviderKind,
    /// Refresh window in seconds.
    pub window_s: u64,
    pub schedule: Schedule,
    pub rate_limit_per_minute: u32,
    pub concurrency: u32,
    pub user_agent: Option<String>,
    pub token_url: Option<String>,
    pub auth: Option<ClientAuth>,
    /// Consent page for `tokens connect` (an override for the built-in providers).
    pub authorize_url: Option<String>,
    /// Scopes `tokens connect` asks for; empty: the provider's default.
    pub scopes: Vec<String>,
}

/// Providers that share one schedule, and so one EventBridge rule.
#[derive(Debug, Clone, Serialize)]
pub struct RuleGroup {
    /// Rule name, e.g. `RefreshOAuthRate15m-prod`.
    pub name: String,
    /// CloudFormation logical id, e.g. `RefreshRuleRate15m`.
    pub logical_id: String,
    pub schedule: Schedule,
    /// Provider names, sorted.
    pub providers: Vec<String>,
}

/// HTTP methods an API destination may use for the web app's refresh endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
    Put,
}

impl HttpMethod {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "GET" => Some(Self::Get),
            "POST" => Some(Self::Post),
            "PUT" => Some(Self::Put),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
        }
    }
}

/// The redundant HTTP trigger: an EventBridge rule calling the web app through an API destination.
#[derive(Debug, Clone, Serialize)]
pub struct HttpTrigger {
    /// Rule name, `RefreshOAuthHttp-<stage>` (beside the schedule groups' rules, so it is checked
    /// against them here).
    pub rule_name: String,
    pub url: String,
    pub schedule: Schedule,
    pub method: HttpMethod,
    /// Secrets Manager secret name or ARN holding the header value.
    pub secret: String,
    /// JSON key of the value in the secret, when the secret is a JSON object.
    pub secret_key: Option<String>,
    pub invocation_rate_per_second: u32,
    pub retry_attempts: u32,
    pub max_event_age_s: u64,
}
