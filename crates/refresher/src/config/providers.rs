//! The `PROVIDERS` variable: which providers this stage refreshes, and how.
//!
//! The deployer renders it from the stage file's `providers:` map as one JSON object keyed by
//! provider name (the token item's `platform`). Each entry is checked on its own so that every bad
//! entry is reported together; unknown keys are errors because a misspelt optional key would
//! otherwise be silently ignored.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

/// Which adapter refreshes a provider's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    TikTok,
    Reddit,
    Instagram,
    OAuth2,
}

impl ProviderKind {
    /// The name used in `PROVIDERS`' `kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TikTok => "tiktok",
            Self::Reddit => "reddit",
            Self::Instagram => "instagram",
            Self::OAuth2 => "oauth2",
        }
    }

    /// Whether refreshing needs the app's client credentials. Instagram's `refresh_access_token`
    /// takes only the long-lived token itself.
    pub fn needs_credentials(self) -> bool {
        !matches!(self, Self::Instagram)
    }
}

/// Where a generic OAuth2 client puts its credentials (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// HTTP Basic `Authorization` header (every server must support it).
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the form body.
    Body,
}

/// One provider's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    /// Refresh tokens expiring within this many seconds from now.
    pub window_seconds: u64,
    /// The provider's request budget for this app.
    pub rate_limit_per_minute: u32,
    /// How many refreshes of this provider may be in flight at once.
    pub concurrency: u32,
    /// Sent as `User-Agent` (required by Reddit).
    pub user_agent: Option<String>,
    /// The token endpoint: required for `oauth2`, an override (e.g. a local fake) for the others.
    pub token_url: Option<String>,
    /// Client authentication for `oauth2`; `basic` unless the stage says `body`.
    pub auth: ClientAuth,
}

/// The JSON shape of one entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawProvider {
    kind: ProviderKind,
    window_seconds: u64,
    rate_limit_per_minute: u32,
    concurrency: u32,
    user_agent: Option<String>,
    token_url: Option<String>,
    auth: Option<ClientAuth>,
}

/// Parses the `PROVIDERS` value; returns the valid entries and one problem per fault.
pub(crate) fn parse(raw: &str) -> (BTreeMap<String, ProviderConfig>, Vec<String>) {
    let mut providers = BTreeMap::new();
    let mut problems = Vec::new();
    let object: Map<String, Value> = match serde_json::from_str(raw) {
        Ok(object) => object,
        Err(err) => {
            problems.push(format!(
                "PROVIDERS is not a JSON object of provider name -> settings ({err})"
            ));
            return (providers, problems);
        }
    };
    if object.is_empty() {
        problems.push("PROVIDERS is empty: it should name at least one provider".to_owned());
    }
    for (name, value) in object {
        match entry(&name, value) {
            Ok(config) => {
                providers.insert(name, config);
            }
            Err(mut found) => problems.append(&mut found),
        }
    }
    (providers, problems)
}

fn entry(name: &str, value: Value) -> Result<ProviderConfig, Vec<String>> {
    let raw: RawProvider = serde_json::from_value(value).map_err(|err| {
        vec![format!(
            "PROVIDERS: provider `{name}` is invalid ({err}); it needs kind (tiktok|reddit|instagram|oauth2), \
             windowSeconds, rateLimitPerMinute, concurrency and optionally userAgent, tokenUrl, auth (basic|body)"
        )]
    })?;
    let problems = check(name, &raw);
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(ProviderConfig {
        kind: raw.kind,
        window_seconds: raw.window_seconds,
        rate_limit_per_minute: raw.rate_limit_per_minute,
        concurrency: raw.concurrency,
        user_agent: raw.user_agent,
        token_url: raw.token_url,
        auth: raw.auth.unwrap_or_default(),
    })
}

fn check(name: &str, raw: &RawProvider) -> Vec<String> {
    let mut problems = Vec::new();
    let mut problem = |text: String| problems.push(format!("PROVIDERS: provider `{name}`: {text}"));
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        problem("the name should be 1-64 characters of a-z, 0-9, _ and -".to_owned());
    }
    for (field, value) in [
        ("windowSeconds", raw.window_seconds),
        ("rateLimitPerMinute", u64::from(raw.rate_limit_per_minute)),
        ("concurrency", u64::from(raw.concurrency)),
    ] {
        if value == 0 {
            problem(format!("{field} is 0: it should be at least 1"));
        }
    }
    if raw.kind == ProviderKind::Reddit && raw.user_agent.as_deref().is_none_or(str::is_empty) {
        problem(
            "userAgent is required for reddit: `<platform>:<app id>:<version> (by /u/<user>)`"
                .to_owned(),
        );
    }
    match raw.token_url.as_deref() {
        None if raw.kind == ProviderKind::OAuth2 => {
            problem(
                "tokenUrl is required for kind oauth2: the provider's token endpoint".to_owned(),
            );
        }
        Some(url) if !acceptable_url(url) => problem(format!(
            "tokenUrl `{url}` should be an https:// URL (plain http only for localhost)"
        )),
        _ => {}
    }
    if raw.auth.is_some() && raw.kind != ProviderKind::OAuth2 {
        problem(format!(
            "auth applies only to kind oauth2, not {}",
            raw.kind.as_str()
        ));
    }
    problems
}

/// Tokens travel only over TLS; plain http is allowed for the local provider fakes alone.
fn acceptable_url(url: &str) -> bool {
    let https = url
        .strip_prefix("https://")
        .is_some_and(|rest| !rest.is_empty());
    let local = ["http://localhost", "http://127.0.0.1", "http://[::1]"]
        .iter()
        .any(|prefix| {
            url.strip_prefix(prefix).is_some_and(|rest| {
                rest.is_empty() || rest.starts_with(':') || rest.starts_with('/')
            })
        });
    https || local
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(raw: &str) -> Vec<String> {
        parse(raw).1
    }

    #[test]
    fn sample_parses() {
        let (providers, problems) = parse(crate::config::tests::PROVIDERS);
        assert!(problems.is_empty(), "{problems:?}");
        let schwab = &providers["schwab"];
        assert_eq!(schwab.kind, ProviderKind::OAuth2);
        assert_eq!(schwab.auth, ClientAuth::Basic);
        assert_eq!(
            schwab.token_url.as_deref(),
            Some("https://api.schwabapi.com/v1/oauth/token")
        );
        assert_eq!(providers["tiktok"].rate_limit_per_minute, 600);
        assert_eq!(providers["tiktok"].token_url, None);
    }

    #[test]
    fn not_an_object() {
        let found = problems("[1]");
        assert_eq!(found.len(), 1);
        assert!(found[0].starts_with("PROVIDERS is not a JSON object"));
        assert_eq!(
            problems("{}"),
            ["PROVIDERS is empty: it should name at least one provider"]
        );
    }

    #[test]
    fn unknown_kind_and_unknown_key_name_the_provider() {
        let found = problems(
            r#"{"a": {"kind": "myspace", "windowSeconds": 1, "rateLimitPerMinute": 1, "concurrency": 1},
                "b": {"kind": "tiktok", "windowSecs": 1, "rateLimitPerMinute": 1, "concurrency": 1}}"#,
        );
        assert_eq!(found.len(), 2);
        assert!(
            found[0].contains("provider `a` is invalid (unknown variant `myspace`"),
            "{found:?}"
        );
        assert!(
            found[1].contains("provider `b` is invalid (unknown field `windowSecs`"),
            "{found:?}"
        );
    }

    #[test]
    fn semantic_problems_are_all_listed() {
        let found = problems(
            r#"{"Bad Name": {"kind": "reddit", "windowSeconds": 0, "rateLimitPerMinute": 0, "concurrency": 0,
                             "tokenUrl": "http://example.com/token", "auth": "body"}}"#,
        );
        assert_eq!(found.len(), 7, "{found:#?}");
        assert!(
            found
                .iter()
                .all(|p| p.starts_with("PROVIDERS: provider `Bad Name`: "))
        );
        assert!(
            found
                .iter()
                .any(|p| p.contains("userAgent is required for reddit"))
        );
        assert!(
            found
                .iter()
                .any(|p| p.contains("should be an https:// URL"))
        );
        assert!(
            found
                .iter()
                .any(|p| p.contains("auth applies only to kind oauth2"))
        );
    }

    #[test]
    fn oauth2_needs_token_url() {
        let found = problems(
            r#"{"g": {"kind": "oauth2", "windowSeconds": 1, "rateLimitPerMinute": 1, "concurrency": 1}}"#,
        );
        assert_eq!(
            found,
            [
                "PROVIDERS: provider `g`: tokenUrl is required for kind oauth2: the provider's token endpoint"
            ]
        );
    }

    #[test]
    fn local_urls_are_allowed_for_fakes() {
        assert!(acceptable_url("http://127.0.0.1:8080/token"));
        assert!(acceptable_url("http://localhost/token"));
        assert!(acceptable_url(
            "https://open.tiktokapis.com/v2/oauth/token/"
        ));
        assert!(!acceptable_url("http://localhost.evil.com/token"));
        assert!(!acceptable_url("https://"));
        assert!(!acceptable_url("ftp://x"));
    }
}
