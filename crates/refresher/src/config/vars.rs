//! The names of the function's environment variables: the deployer's template context sets them
//! (`deployer::template::context`), [`super::Config::from_env`] reads them. One list for both, so a
//! renamed variable cannot leave one side behind.

pub const STAGE: &str = "STAGE";
pub const TOKENS_TABLE: &str = "TOKENS_TABLE";
pub const TOKENS_FORMAT: &str = "TOKENS_FORMAT";
pub const TOKENS_EXPIRY_INDEX: &str = "TOKENS_EXPIRY_INDEX";
pub const ANALYTICS_TABLE: &str = "ANALYTICS_TABLE";
pub const KMS_KEY_ID: &str = "KMS_KEY_ID";
pub const CREDENTIALS_SECRET_ID: &str = "CREDENTIALS_SECRET_ID";
pub const EVENT_BUS_NAME: &str = "EVENT_BUS_NAME";
pub const DLQ_URL: &str = "DLQ_URL";
pub const JITTER_SECONDS: &str = "JITTER_SECONDS";
pub const LOG_LEVEL: &str = "LOG_LEVEL";
pub const METRICS_NAMESPACE: &str = "METRICS_NAMESPACE";
pub const PROVIDERS: &str = "PROVIDERS";
pub const REFRESHER_MODE: &str = "REFRESHER_MODE";
