//! Reddit: `POST /api/v1/access_token` with HTTP Basic and a descriptive `User-Agent`.
//!
//! Quirks kept here: Reddit blocks generic user agents, so the configured one is always sent; it can
//! answer **HTTP 200 with `{"error": ...}`** (a string code, or a number such as 401), which is an
//! error, not a token; a new refresh token may or may not come back (kept when absent); rate limits
//! come as `X-Ratelimit-Used/Remaining/Reset` (seconds to the window's end), which also yield a
//! throttle hint on successful answers once the window's budget is spent.

use super::oauth2::OAuth2;
use super::response::{self, RefreshRule, Rules};
use super::{HttpRequest, Provider, ProviderError, TokenSecrets, TokenSet, headers, refresh_token};
use crate::config::{ClientAuth, ClientCredentials, ProviderKind};

/// Reddit's token endpoint.
pub const TOKEN_URL: &str = "https://www.reddit.com/api/v1/access_token";

const RULES: Rules = Rules {
    expires_in_required: true,
    refresh: RefreshRule::Optional,
    error_shape: response::oauth_error,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reddit {
    inner: OAuth2,
}

impl Reddit {
    /// `user_agent` is required by Reddit (`<platform>:<app id>:<version> (by /u/<user>)`).
    pub fn new(token_url: Option<String>, user_agent: String) -> Self {
        let url = token_url.unwrap_or_else(|| TOKEN_URL.to_owned());
        Self {
            inner: OAuth2::new(url, ClientAuth::Basic, Some(user_agent)),
        }
    }
}

impl Provider for Reddit {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Reddit
    }

    fn request(
        &self,
        current: &TokenSecrets,
        creds: &ClientCredentials,
    ) -> Result<HttpRequest, ProviderError> {
        Ok(self.inner.refresh_request(refresh_token(current)?, creds))
    }

    fn parse(
        &self,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
        now: u64,
    ) -> Result<TokenSet, ProviderError> {
        let retry_after = headers::retry_after(headers, now).or_else(|| reset(headers));
        response::parse_with_hint(status, body, now, retry_after, &RULES)
    }

    fn throttle_hint(&self, headers: &[(String, String)], _now: u64) -> Option<u64> {
        let remaining = headers::header(headers, "X-Ratelimit-Remaining")?;
        let whole = remaining
            .split_once('.')
            .map_or(remaining, |(whole, _)| whole);
        if whole.parse::<u64>().ok()? == 0 {
            reset(headers)
        } else {
            None
        }
    }
}

/// `X-Ratelimit-Reset`: seconds until the window ends (never an epoch time at Reddit).
fn reset(headers: &[(String, String)]) -> Option<u64> {
    headers::reset_seconds(headers::header(headers, "X-Ratelimit-Reset")?, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::Method;
    use crate::providers::tests::{creds, current, headers, no_headers};

    const UA: &str = "web:com.example.refresher:1.0 (by /u/ops)";

    fn reddit() -> Reddit {
        Reddit::new(None, UA.to_owned())
    }

    fn parse(status: u16, body: &str) -> Result<TokenSet, ProviderError> {
        reddit().parse(status, &no_headers(), body.as_bytes(), 1000)
    }

    #[test]
    fn request_shape() {
        let request = reddit().request(&current(), &creds()).unwrap();
        assert_eq!(
            (request.method, request.url.as_str()),
            (Method::Post, TOKEN_URL)
        );
        assert_eq!(request.header("User-Agent").unwrap().expose(), UA);
        assert_eq!(
            request.header("Authorization").unwrap().expose(),
            "Basic YXBwLWlkOmFwcC1zZWNyZXQ="
        );
        let form: Vec<(&str, &str)> = request
            .form
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose()))
            .collect();
        assert_eq!(
            form,
            [
                ("grant_type", "refresh_token"),
                ("refresh_token", "old-refresh")
            ]
        );
    }

    #[test]
    fn refresh_token_kept_or_replaced() {
        let kept = parse(
            200,
            r#"{"access_token":"a2","token_type":"bearer","expires_in":86400,"scope":"*"}"#,
        )
        .unwrap();
        assert_eq!(
            kept.refresh_token, None,
            "absent means keep the current one"
        );
        assert_eq!(kept.expires_at, Some(87_400));
        let rotated = parse(
            200,
            r#"{"access_token":"a2","refresh_token":"r2","expires_in":3600}"#,
        )
        .unwrap();
        assert_eq!(rotated.refresh_token.unwrap().expose(), "r2");
    }

    #[test]
    fn ok_status_with_error_body_is_an_error() {
        assert_eq!(
            parse(200, r#"{"error": "invalid_grant"}"#),
            Err(ProviderError::InvalidGrant)
        );
        let numeric = parse(200, r#"{"message": "Unauthorized", "error": 401}"#);
        assert_eq!(
            numeric,
            Err(ProviderError::Rejected {
                status: 200,
                code: Some("401".to_owned())
            })
        );
        let unsupported = parse(200, r#"{"error": "unsupported_grant_type"}"#);
        assert_eq!(unsupported.unwrap_err().kind(), "rejected");
    }

    #[test]
    fn invalid_grant_with_400() {
        assert_eq!(
            parse(400, r#"{"error": "invalid_grant"}"#),
            Err(ProviderError::InvalidGrant)
        );
    }

    #[test]
    fn bot_block_page_is_rejected_not_malformed() {
        let html = "<html><body>whoa there, pardner!</body></html>";
        assert_eq!(
            parse(403, html),
            Err(ProviderError::Rejected {
                status: 403,
                code: None
            })
        );
    }

    #[test]
    fn rate_limit_headers() {
        let spent = headers(&[
            ("X-Ratelimit-Used", "100"),
            ("X-Ratelimit-Remaining", "0.0"),
            ("X-Ratelimit-Reset", "42"),
        ]);
        let err = reddit().parse(429, &spent, b"{}", 1000).unwrap_err();
        assert_eq!(
            err,
            ProviderError::RateLimited {
                retry_after: Some(42)
            }
        );
        assert_eq!(reddit().throttle_hint(&spent, 1000), Some(42));
        let plenty = headers(&[
            ("X-Ratelimit-Remaining", "57.0"),
            ("X-Ratelimit-Reset", "42"),
        ]);
        assert_eq!(reddit().throttle_hint(&plenty, 1000), None);
        assert_eq!(reddit().throttle_hint(&no_headers(), 1000), None);
    }

    #[test]
    fn malformed_bodies() {
        assert_eq!(
            parse(200, r#"{"access_token": "a2", "expires_in": 36"#)
                .unwrap_err()
                .kind(),
            "malformed"
        );
        let missing = parse(200, r#"{"access_token": "a2"}"#).unwrap_err();
        assert!(
            missing
                .to_string()
                .ends_with("the field `expires_in` is missing"),
            "{missing}"
        );
        let wrong = parse(200, r#"{"access_token": {"v": 1}, "expires_in": 3600}"#).unwrap_err();
        assert!(
            wrong
                .to_string()
                .ends_with("the field `access_token` should be a string"),
            "{wrong}"
        );
    }
}
