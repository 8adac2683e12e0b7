//! TikTok Login Kit (v2): `POST /v2/oauth/token/` with the credentials in the form body.
//!
//! Quirks kept here: the client id is sent as `client_key`; the refresh token **rotates** (the old
//! one stops working once a new one is issued), so a success without a new `refresh_token` is
//! malformed; lifetimes are read from `expires_in` and `refresh_expires_in`, never assumed; errors
//! may come with HTTP 200; the rate-limit reset is `x-ratelimit-reset` (used when `Retry-After`
//! is absent, read as seconds or an epoch time).

use super::response::{self, RefreshRule, Rules};
use super::{
    HttpRequest, Method, Param, Provider, ProviderError, TokenSecrets, TokenSet, headers,
    refresh_token,
};
use crate::config::{ClientCredentials, ProviderKind};

/// TikTok's token endpoint.
pub const TOKEN_URL: &str = "https://open.tiktokapis.com/v2/oauth/token/";

const RULES: Rules = Rules {
    expires_in_required: true,
    refresh: RefreshRule::Required,
    error_shape: response::oauth_error,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TikTok {
    token_url: String,
    user_agent: Option<String>,
}

impl TikTok {
    /// `token_url` overrides the real endpoint (local fakes).
    pub fn new(token_url: Option<String>, user_agent: Option<String>) -> Self {
        Self {
            token_url: token_url.unwrap_or_else(|| TOKEN_URL.to_owned()),
            user_agent,
        }
    }
}

impl Provider for TikTok {
    fn kind(&self) -> ProviderKind {
        ProviderKind::TikTok
    }

    fn request(
        &self,
        current: &TokenSecrets,
        creds: &ClientCredentials,
    ) -> Result<HttpRequest, ProviderError> {
        let refresh = refresh_token(current)?;
        let mut request = HttpRequest::new(Method::Post, &self.token_url);
        request
            .headers
            .push(("Cache-Control".to_owned(), Param::plain("no-cache")));
        request.push_user_agent(self.user_agent.as_deref());
        request.form = vec![
            (
                "client_key".to_owned(),
                Param::plain(creds.client_id.as_str()),
            ),
            (
                "client_secret".to_owned(),
                Param::Secret(creds.client_secret.clone()),
            ),
            ("grant_type".to_owned(), Param::plain("refresh_token")),
            ("refresh_token".to_owned(), Param::Secret(refresh.clone())),
        ];
        Ok(request)
    }

    fn parse(
        &self,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
        now: u64,
    ) -> Result<TokenSet, ProviderError> {
        let retry_after = headers::retry_after(headers, now).or_else(|| reset(headers, now));
        response::parse_with_hint(status, body, now, retry_after, &RULES)
    }
}

fn reset(headers: &[(String, String)], now: u64) -> Option<u64> {
    headers::reset_seconds(headers::header(headers, "x-ratelimit-reset")?, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::tests::{creds, current, no_headers};

    const NOW: u64 = 1_700_000_000;

    fn parse(status: u16, body: &str) -> Result<TokenSet, ProviderError> {
        TikTok::new(None, None).parse(status, &no_headers(), body.as_bytes(), NOW)
    }

    #[test]
    fn request_shape() {
        let request = TikTok::new(None, None)
            .request(&current(), &creds())
            .unwrap();
        assert_eq!(
            (request.method, request.url.as_str()),
            (Method::Post, TOKEN_URL)
        );
        let form: Vec<(&str, &str)> = request
            .form
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose()))
            .collect();
        assert_eq!(
            form,
            [
                ("client_key", "app-id"),
                ("client_secret", "app-secret"),
                ("grant_type", "refresh_token"),
                ("refresh_token", "old-refresh"),
            ]
        );
        assert!(request.header("Authorization").is_none() && request.query.is_empty());
        assert!(matches!(
            request.form_value("refresh_token"),
            Some(Param::Secret(_))
        ));
    }

    #[test]
    fn url_override_for_fakes() {
        let fake = TikTok::new(
            Some("http://127.0.0.1:9000/v2/oauth/token/".to_owned()),
            Some("ua".to_owned()),
        );
        let request = fake.request(&current(), &creds()).unwrap();
        assert_eq!(request.url, "http://127.0.0.1:9000/v2/oauth/token/");
        assert_eq!(request.header("user-agent").unwrap().expose(), "ua");
    }

    #[test]
    fn rotation_reads_both_lifetimes() {
        let set = parse(
            200,
            r#"{"access_token":"act.new","expires_in":7200,"open_id":"o","refresh_expires_in":15552000,
                "refresh_token":"rft.new","scope":"user.info.basic,video.list","token_type":"Bearer"}"#,
        )
        .unwrap();
        assert_eq!(set.access_token.expose(), "act.new");
        assert_eq!(set.refresh_token.unwrap().expose(), "rft.new");
        assert_eq!(set.expires_at, Some(NOW + 7200));
        assert_eq!(set.refresh_expires_at, Some(NOW + 15_552_000));
        assert_eq!(set.scope.as_deref(), Some("user.info.basic,video.list"));
    }

    #[test]
    fn success_without_new_refresh_token_is_malformed() {
        let err = parse(200, r#"{"access_token":"act.new","expires_in":7200}"#).unwrap_err();
        assert_eq!(err.kind(), "malformed");
        assert!(err.to_string().contains("`refresh_token` is missing"));
    }

    #[test]
    fn missing_lifetime_salvages_the_rotated_token() {
        let err = parse(
            200,
            r#"{"access_token":"act.new","refresh_token":"rft.new"}"#,
        )
        .unwrap_err();
        let ProviderError::Malformed {
            reason,
            salvaged_refresh_token,
        } = err
        else {
            panic!("{err:?}")
        };
        assert_eq!(reason, "the field `expires_in` is missing");
        assert_eq!(salvaged_refresh_token.unwrap().expose(), "rft.new");
    }

    #[test]
    fn invalid_grant_with_200_or_400() {
        let body = r#"{"error":"invalid_grant","error_description":"Refresh token is invalid or expired.","log_id":"x"}"#;
        assert_eq!(parse(200, body), Err(ProviderError::InvalidGrant));
        assert_eq!(parse(400, body), Err(ProviderError::InvalidGrant));
    }

    #[test]
    fn rate_limit_uses_reset_header() {
        let tiktok = TikTok::new(None, None);
        let body = br#"{"error":"rate_limit_exceeded"}"#;
        let epoch = vec![("X-RateLimit-Reset".to_owned(), (NOW + 40).to_string())];
        assert_eq!(
            tiktok.parse(429, &epoch, body, NOW),
            Err(ProviderError::RateLimited {
                retry_after: Some(40)
            })
        );
        let relative = vec![("x-ratelimit-reset".to_owned(), "12".to_owned())];
        assert_eq!(
            tiktok.parse(429, &relative, body, NOW),
            Err(ProviderError::RateLimited {
                retry_after: Some(12)
            })
        );
        let both = vec![
            relative[0].clone(),
            ("Retry-After".to_owned(), "3".to_owned()),
        ];
        assert_eq!(
            tiktok.parse(429, &both, body, NOW),
            Err(ProviderError::RateLimited {
                retry_after: Some(3)
            })
        );
        assert_eq!(
            tiktok.parse(200, &relative, body, NOW),
            Err(ProviderError::RateLimited {
                retry_after: Some(12)
            })
        );
    }

    #[test]
    fn truncated_and_wrong_types() {
        assert_eq!(
            parse(200, r#"{"access_token":"act.new","expires_in":72"#)
                .unwrap_err()
                .kind(),
            "malformed"
        );
        let wrong = parse(
            200,
            r#"{"access_token":"a","refresh_token":"r","expires_in":"two hours"}"#,
        )
        .unwrap_err();
        assert!(
            wrong
                .to_string()
                .contains("`expires_in` should be a whole number"),
            "{wrong}"
        );
        assert!(!wrong.to_string().contains("two hours"));
        let server = parse(500, "upstream error");
        assert_eq!(
            server,
            Err(ProviderError::Transient {
                status: Some(500),
                retry_after: None
            })
        );
    }
}
