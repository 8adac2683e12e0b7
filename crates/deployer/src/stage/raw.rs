//! The stage file as written: serde structs that mirror `stages/<stage>.yaml` one to one.
//!
//! Nothing here is validated beyond its YAML type; `validate.rs` turns a [`RawStage`] into a
//! [`crate::stage::Stage`]. The JSON Schema published at `stages/schema.json` is derived from
//! these structs, so every field carries its documentation here.
//!
//! Unknown keys are rejected: the structs are not `deny_unknown_fields` for serde (the loader
//! collects every unknown key with `serde_ignored`, so all of them are reported at once), but the
//! schema says `additionalProperties: false` so editors flag them too.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

/// One stage of the OAuth refresher: where its stack lives and how it refreshes tokens.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields, title = "OAuth refresher stage")]
pub struct RawStage {
    /// Name of the stage; must match the file name (`stages/<stage>.yaml`).
    pub stage: String,
    /// AWS region of the stack, e.g. `us-east-1`.
    pub region: String,
    /// The AWS account the stage belongs to (12 digits, quoted). The deployer refuses to deploy
    /// into any other account.
    pub account_id: String,
    /// CloudFormation stack name; default `OAuthRefreshStack-<stage>`.
    #[serde(default)]
    pub stack_name: Option<String>,
    /// Endpoint of a local AWS stand-in (moto). `AWS_ENDPOINT_URL` in the environment wins over it.
    /// Leave empty for real AWS.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Protect the stack (and the tokens table) against deletion.
    #[serde(default)]
    pub termination_protection: bool,
    /// S3 bucket for the refresher's zip artifacts; default `oauth-refresher-artifacts-<account>-<region>`.
    #[serde(default)]
    pub artifact_bucket: Option<String>,
    /// The refresher Lambda function.
    #[serde(default)]
    pub function: RawFunction,
    /// The token API: a second function, from the same zip, that refreshes one user's token on
    /// request (the readers' `forceRefresh`, `deployer invoke --user`). On by default.
    #[serde(default)]
    pub token_api: RawTokenApi,
    /// The DynamoDB tables the refresher reads and writes.
    pub tables: RawTables,
    /// Where alarms go and when they fire.
    #[serde(default)]
    pub alarms: RawAlarms,
    /// The stage's KMS key (token envelopes, tables, queue, topic, logs).
    #[serde(default)]
    pub kms: RawKms,
    /// Providers to refresh, by name. `tiktok`, `reddit` and `instagram` are built in; any other
    /// name needs `kind: oauth2` and a `token_url`.
    pub providers: BTreeMap<String, RawProvider>,
    /// Optional second trigger for teams whose refresh endpoint lives in their web app: an
    /// EventBridge API destination called on its own schedule, independent of the refresher
    /// function, with the header `x-cron-secret` read from a Secrets Manager secret.
    #[serde(default)]
    pub http_trigger: Option<RawHttpTrigger>,
    /// Tags applied to the stack and, through it, to every resource that supports tags.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// Settings of the refresher function.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawFunction {
    /// CPU architecture of the function: `arm64` (cheaper per GB-second) or `x86_64`.
    #[serde(default)]
    pub architecture: Option<String>,
    /// Memory in MB, 128 to 10240.
    #[serde(default)]
    pub memory_mb: Option<u32>,
    /// Timeout in seconds, 1 to 900.
    #[serde(default)]
    pub timeout_s: Option<u32>,
    /// Reserved concurrency; 1 keeps runs from overlapping. Set to `null` for unreserved.
    #[serde(default = "default_reserved_concurrency")]
    pub reserved_concurrency: Option<u32>,
    /// Days CloudWatch keeps the function's logs (a value CloudWatch Logs accepts).
    #[serde(default)]
    pub log_retention_days: Option<u32>,
    /// The run starts after a random delay of up to this many seconds (spreads load at providers).
    #[serde(default)]
    pub jitter_seconds: Option<u32>,
    /// Log level: `error`, `warn`, `info`, `debug` or `trace`.
    #[serde(default)]
    pub log_level: Option<String>,
}

/// Settings of the token API function (architecture, log retention and log level are the
/// refresher function's).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawTokenApi {
    /// `false` leaves the function (and the readers' invoke permission) out of the stack.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Memory in MB, 128 to 10240; default 256.
    #[serde(default)]
    pub memory_mb: Option<u32>,
    /// Timeout in seconds, 5 to 60; default 30. An app waits for the answer, and a request that
    /// finds its token being refreshed waits for that refresh within this time.
    #[serde(default)]
    pub timeout_s: Option<u32>,
    /// Reserved concurrency (default 10): concurrent on-demand refreshes, kept apart from the
    /// scheduled runs'. Set to `null` for unreserved.
    #[serde(default = "default_api_concurrency")]
    pub reserved_concurrency: Option<u32>,
}

impl Default for RawTokenApi {
    fn default() -> Self {
        Self {
            enabled: true,
            memory_mb: None,
            timeout_s: None,
            reserved_concurrency: default_api_concurrency(),
        }
    }
}

// serde's `default` on an Option field needs a function; `Some(10)` is the documented default.
#[allow(clippy::unnecessary_wraps)]
fn default_api_concurrency() -> Option<u32> {
    Some(10)
}

// serde's `default` on an Option field needs a function; `Some(1)` is the documented default.
#[allow(clippy::unnecessary_wraps)]
fn default_reserved_concurrency() -> Option<u32> {
    Some(1)
}

/// The tokens table and the analytics table.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawTables {
    /// Table holding one item per (userId, platform) token set.
    pub tokens: RawTokensTable,
    /// Table receiving a `token.refresh` record per outcome.
    pub analytics: RawTable,
}

/// A DynamoDB table the stack creates, or adopts by name.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawTable {
    /// Table name.
    pub name: String,
    /// `true`: the stack creates the table. `false`: adopt an existing table of that name.
    #[serde(default = "default_true")]
    pub create: bool,
}

/// The tokens table: a [`RawTable`] plus the format token values are written in.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawTokensTable {
    /// Table name.
    pub name: String,
    /// `true`: the stack creates the table. `false`: adopt an existing table of that name (then
    /// `format` is required).
    #[serde(default = "default_true")]
    pub create: bool,
    /// How token values are written (docs/token-store.md): `envelope` (AES-256-GCM under KMS data
    /// keys; apps read them with the readers under clients/) or `plaintext` (the strings as
    /// issued, protected by the table's encryption at rest; for apps that read the table
    /// directly). Default `envelope` for a table the stack creates; required when adopting one.
    #[serde(default)]
    pub format: Option<RawTokenFormat>,
}

/// `tables.tokens.format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RawTokenFormat {
    Envelope,
    Plaintext,
}

fn default_true() -> bool {
    true
}

/// The stage's KMS key.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawKms {
    /// Days between automatic rotations of the key material, 90 to 2560; default 90. Old
    /// material stays usable, so envelopes sealed before a rotation still open.
    #[serde(default)]
    pub rotation_days: Option<u32>,
}

/// Alarm settings.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawAlarms {
    /// Email address subscribed to the alarm topic (confirm the subscription once).
    #[serde(default)]
    pub email: Option<String>,
    /// Lambda errors in one period that raise the errors alarm.
    #[serde(default)]
    pub errors_threshold: Option<u32>,
    /// Alarm period in seconds: 10, 30 or a multiple of 60.
    #[serde(default)]
    pub period_s: Option<u32>,
}

/// One provider's refresh settings.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawProvider {
    /// Adapter: `tiktok`, `reddit`, `instagram` or `oauth2` (any RFC 6749 server). Defaults to the
    /// provider's name for the built-in ones.
    #[serde(default)]
    pub kind: Option<String>,
    /// Refresh tokens expiring within this window, e.g. `20m`, `12h`, `7d`. Must cover the
    /// schedule period plus the function's jitter, or tokens expire between runs.
    pub window: String,
    /// EventBridge schedule: `rate(15 minutes)` or `cron(0 9 */3 * ? *)` (UTC).
    pub schedule: String,
    /// Refresh requests per minute at this provider (the app's rate limit).
    #[serde(default)]
    pub rate_limit_per_minute: Option<u32>,
    /// Refreshes in flight at once for this provider.
    #[serde(default)]
    pub concurrency: Option<u32>,
    /// User-Agent sent to the provider; Reddit requires `<platform>:<app id>:<version> (by /u/<user>)`.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// Token endpoint (https) of an `oauth2` provider; for the built-in ones it overrides their
    /// endpoint (plain http only on localhost, for local provider fakes).
    #[serde(default)]
    pub token_url: Option<String>,
    /// Client authentication of an `oauth2` provider: `basic` (HTTP Basic) or `body` (form fields).
    #[serde(default)]
    pub auth: Option<String>,
    /// Authorization endpoint for `deployer tokens connect` (https): required there for an
    /// `oauth2` provider; for the built-in ones it overrides their consent page (plain http only on
    /// localhost, for local provider fakes).
    #[serde(default)]
    pub authorize_url: Option<String>,
    /// Scopes `deployer tokens connect` asks for (default: the built-in provider's basic scope,
    /// none for `oauth2`).
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

/// The redundant HTTP trigger: an EventBridge rule on its own schedule that calls the web app's
/// refresh endpoint through an API destination, with retries and the stack's DLQ.
///
/// The request carries the header `x-cron-secret: <value>`, where the value is read from the
/// Secrets Manager secret `secret` by CloudFormation (a `{{resolve:secretsmanager:...}}`
/// dynamic reference), so it never appears in the stage file or the template. EventBridge keeps
/// its own copy in the connection's managed secret: after rotating the value, deploy again.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawHttpTrigger {
    /// The web app's refresh endpoint: a public https URL (EventBridge cannot reach private or
    /// local addresses), e.g. `https://app.example.com/api/cron/refresh-oauth`.
    pub url: String,
    /// EventBridge schedule of the call, independent of the providers' schedules:
    /// `rate(15 minutes)` or `cron(0/15 * * * ? *)` (UTC).
    pub schedule: String,
    /// HTTP method of the call: `POST` (default), `GET` or `PUT`.
    #[serde(default)]
    pub method: Option<String>,
    /// Secrets Manager secret (name or full ARN) holding the value of the `x-cron-secret`
    /// header: its `SecretString` is the value itself (1-512 printable characters), or a JSON
    /// object whose `secret_key` entry is. Create it before deploying; the deployer never creates
    /// or reads it (CloudFormation does; the CI role of `policies/deployer-ci.json` allows that for
    /// names starting with `oauth-refresher`).
    pub secret: String,
    /// Key of the header value when the secret's `SecretString` is a JSON object; leave it out
    /// when the `SecretString` is the value itself.
    #[serde(default)]
    pub secret_key: Option<String>,
    /// Calls per second EventBridge may make to the endpoint (the API destination's
    /// `InvocationRateLimitPerSecond`), 1 to 300; default 1.
    #[serde(default)]
    pub invocation_rate_per_second: Option<u32>,
    /// Retries of a failed call before the event goes to the DLQ, 0 to 185; default 4.
    #[serde(default)]
    pub retry_attempts: Option<u32>,
    /// How long EventBridge keeps retrying a call, from 1m to 24h, e.g. `15m`; default one
    /// schedule period (at least 1m, at most 24h): the next tick supersedes an older call.
    #[serde(default)]
    pub max_event_age: Option<String>,
}
