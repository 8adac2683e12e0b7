//! Provider adapters: pure request building and response parsing, no HTTP client.
//!
//! Each adapter turns the current token secrets and the app's credentials into an [`HttpRequest`],
//! and a response (status, headers, body) into a [`TokenSet`] or a classified [`ProviderError`].
//! Sending the request is the HTTP wiring's job, so every provider quirk is unit-tested here
//! without a network. [`oauth2`] is RFC 6749's refresh grant; the named providers wrap it and keep
//! only their own quirks (PROVIDERS.md). Shared parsing lives in `response`, header reading in
//! `headers`.
//!
//! Secrets stay wrapped: request parameters that carry one are [`Param::Secret`], so a `Debug` of a
//! request shows `***`; errors never carry response text beyond a sanitised RFC 6749 error code.
//! The HTTP wiring must keep it that way: Instagram's token travels in the query string, so an
//! HTTP client error that quotes the URL (reqwest's does; use `without_url()`) must not be logged.

mod error;
mod headers;
pub mod instagram;
pub mod oauth2;
pub mod reddit;
mod response;
pub mod tiktok;

pub use error::ProviderError;
pub use headers::{header, parse_http_date, retry_after};
pub use instagram::Instagram;
pub use oauth2::OAuth2;
pub use reddit::Reddit;
pub use response::MAX_BODY_BYTES;
pub use tiktok::TikTok;

use crate::config::{ClientCredentials, ProviderConfig, ProviderKind};
use crate::secret::SecretString;

/// The request's HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// A header, query or form value; secrets print as `***`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    Plain(String),
    Secret(SecretString),
}

impl Param {
    /// The raw value, to put on the wire.
    pub fn expose(&self) -> &str {
        match self {
            Self::Plain(value) => value,
            Self::Secret(value) => value.expose(),
        }
    }

    pub(crate) fn plain(value: impl Into<String>) -> Self {
        Self::Plain(value.into())
    }
}

/// A request for the HTTP wiring to send: `query` goes in the URL, `form` is the
/// `application/x-www-form-urlencoded` body (the client sets that content type and encodes both).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, Param)>,
    pub query: Vec<(String, Param)>,
    pub form: Vec<(String, Param)>,
}

impl HttpRequest {
    pub(crate) fn new(method: Method, url: &str) -> Self {
        let headers = vec![("Accept".to_owned(), Param::plain("application/json"))];
        Self {
            method,
            url: url.to_owned(),
            headers,
            query: Vec::new(),
            form: Vec::new(),
        }
    }

    /// Adds the configured `User-Agent`, if any.
    pub(crate) fn push_user_agent(&mut self, agent: Option<&str>) {
        if let Some(agent) = agent {
            self.headers
                .push(("User-Agent".to_owned(), Param::plain(agent)));
        }
    }

    /// A header's value (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<&Param> {
        find(&self.headers, name, true)
    }

    /// A form field's value.
    pub fn form_value(&self, name: &str) -> Option<&Param> {
        find(&self.form, name, false)
    }

    /// A query parameter's value.
    pub fn query_value(&self, name: &str) -> Option<&Param> {
        find(&self.query, name, false)
    }
}

fn find<'a>(pairs: &'a [(String, Param)], name: &str, any_case: bool) -> Option<&'a Param> {
    pairs
        .iter()
        .find(|(key, _)| {
            if any_case {
                key.eq_ignore_ascii_case(name)
            } else {
                key == name
            }
        })
        .map(|(_, value)| value)
}

/// The secrets an item holds now (decrypted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSecrets {
    pub access_token: SecretString,
    pub refresh_token: Option<SecretString>,
}

/// What a successful refresh returned. Times are epoch seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSet {
    pub access_token: SecretString,
    /// `Some`: a refresh token was issued; store it, the old one may already be dead (rotation,
    /// RFC 6749 §6). `None`: none was returned; keep the current one.
    pub refresh_token: Option<SecretString>,
    /// When the access token expires, if the provider said.
    pub expires_at: Option<u64>,
    /// When the refresh token expires, if the provider said.
    pub refresh_expires_at: Option<u64>,
    pub scope: Option<String>,
}

/// What the item says about a token's age, for the pre-check before calling the provider.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenTimes {
    pub expires_at: Option<u64>,
    pub refresh_expires_at: Option<u64>,
    /// When the current access token was issued or last refreshed (`lastRefreshAt`).
    pub issued_at: Option<u64>,
}

/// Whether a token can be refreshed now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Too early (Instagram's 24 h rule): skip it; it stays due for a later run.
    NotYet {
        ready_at: u64,
    },
    /// Past the point of refreshing: the user must reconnect.
    Expired,
}

/// One provider's refresh protocol.
pub trait Provider: Send + Sync {
    fn kind(&self) -> ProviderKind;

    /// The refresh request. Fails only when the item lacks what the provider needs (no refresh
    /// token), which no request could fix.
    fn request(
        &self,
        current: &TokenSecrets,
        creds: &ClientCredentials,
    ) -> Result<HttpRequest, ProviderError>;

    /// Reads the provider's answer. `now` (epoch seconds) turns lifetimes into expiry times.
    fn parse(
        &self,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
        now: u64,
    ) -> Result<TokenSet, ProviderError>;

    /// Whether to call the provider at all. By default only a known, passed refresh-token expiry
    /// stops it (refresh tokens outlive their access tokens).
    fn readiness(&self, times: &TokenTimes, now: u64) -> Readiness {
        match times.refresh_expires_at {
            Some(at) if at <= now => Readiness::Expired,
            _ => Readiness::Ready,
        }
    }

    /// Seconds to hold off further requests, read from a response's rate-limit headers even when
    /// the refresh succeeded (for the limiter). `None`: no hint.
    fn throttle_hint(&self, _headers: &[(String, String)], _now: u64) -> Option<u64> {
        None
    }
}

/// The adapter for a configured provider.
pub fn for_config(config: &ProviderConfig) -> Box<dyn Provider> {
    let url = config.token_url.clone();
    let agent = config.user_agent.clone();
    match config.kind {
        ProviderKind::TikTok => Box::new(TikTok::new(url, agent)),
        ProviderKind::Reddit => Box::new(Reddit::new(url, agent.unwrap_or_default())),
        ProviderKind::Instagram => Box::new(Instagram::new(url, agent)),
        // config::providers refuses an oauth2 entry without tokenUrl, so the default never applies.
        ProviderKind::OAuth2 => Box::new(OAuth2::new(url.unwrap_or_default(), config.auth, agent)),
    }
}

/// The refresh token, or the error that sends the user to reconnect.
pub(crate) fn refresh_token(current: &TokenSecrets) -> Result<&SecretString, ProviderError> {
    current
        .refresh_token
        .as_ref()
        .filter(|t| !t.is_empty())
        .ok_or(ProviderError::MissingRefreshToken)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::ClientAuth;

    pub(crate) fn creds() -> ClientCredentials {
        ClientCredentials {
            client_id: "app-id".to_owned(),
            client_secret: SecretString::new("app-secret"),
        }
    }

    pub(crate) fn current() -> TokenSecrets {
        TokenSecrets {
            access_token: SecretString::new("old-access"),
            refresh_token: Some(SecretString::new("old-refresh")),
        }
    }

    pub(crate) fn no_headers() -> Vec<(String, String)> {
        Vec::new()
    }

    /// Response headers from `(name, value)` pairs.
    pub(crate) fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn request_debug_hides_secrets() {
        let request = OAuth2::new(
            "https://auth.example/token".to_owned(),
            ClientAuth::Body,
            None,
        )
        .request(&current(), &creds())
        .unwrap();
        let shown = format!("{request:?}");
        assert!(
            !shown.contains("old-refresh") && !shown.contains("app-secret"),
            "{shown}"
        );
        assert!(shown.contains("Secret(***)"));
    }

    #[test]
    fn error_helpers() {
        let limited = ProviderError::RateLimited {
            retry_after: Some(30),
        };
        assert!(limited.is_retryable() && !limited.needs_reauth());
        assert_eq!(limited.retry_after(), Some(30));
        assert_eq!(
            limited.to_string(),
            "rate limited by the provider, retry after 30 s"
        );
        let timeout = ProviderError::Transient {
            status: None,
            retry_after: None,
        };
        assert_eq!(
            timeout.to_string(),
            "the provider failed transiently (no response)"
        );
        assert!(
            ProviderError::InvalidGrant.needs_reauth()
                && !ProviderError::InvalidGrant.is_retryable()
        );
        let rejected = ProviderError::Rejected {
            status: 401,
            code: Some("invalid_client".to_owned()),
        };
        assert_eq!(
            rejected.to_string(),
            "the provider rejected the refresh with HTTP 401 (invalid_client)"
        );
        assert_eq!(rejected.kind(), "rejected");
    }

    #[test]
    fn default_readiness_only_stops_dead_refresh_tokens() {
        let provider = OAuth2::new("https://a/t".to_owned(), ClientAuth::Basic, None);
        let expired_access = TokenTimes {
            expires_at: Some(10),
            ..TokenTimes::default()
        };
        assert_eq!(provider.readiness(&expired_access, 100), Readiness::Ready);
        let dead = TokenTimes {
            refresh_expires_at: Some(100),
            ..TokenTimes::default()
        };
        assert_eq!(provider.readiness(&dead, 100), Readiness::Expired);
    }

    #[test]
    fn adapters_follow_the_configured_kind() {
        let (providers, _) = crate::config::providers::parse(crate::config::tests::PROVIDERS);
        for (name, config) in &providers {
            assert_eq!(for_config(config).kind(), config.kind, "{name}");
        }
    }

    #[test]
    fn missing_refresh_token_needs_reauth() {
        let mut secrets = current();
        secrets.refresh_token = Some(SecretString::default());
        assert_eq!(
            refresh_token(&secrets),
            Err(ProviderError::MissingRefreshToken)
        );
        secrets.refresh_token = None;
        assert_eq!(
            refresh_token(&secrets),
            Err(ProviderError::MissingRefreshToken)
        );
    }
}
