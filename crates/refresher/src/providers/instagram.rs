//! Instagram (API with Instagram Login): the long-lived access token refreshes itself.
//!
//! `GET /refresh_access_token?grant_type=ig_refresh_token&access_token=…`: no refresh token and no
//! client credentials. A token can be refreshed only once it is at least 24 h old and not yet
//! expired, which [`Provider::readiness`] checks before any call. Errors use the Graph API shape
//! `{"error": {"message", "type", "code"}}`; the message is never kept, only type and code.

use serde_json::{Map, Value};

use super::response::{self, RefreshRule, Response, Rules};
use super::{
    HttpRequest, Method, Param, Provider, ProviderError, Readiness, TokenSecrets, TokenSet,
    TokenTimes, headers,
};
use crate::config::{ClientCredentials, ProviderKind};

/// Instagram's refresh endpoint.
pub const REFRESH_URL: &str = "https://graph.instagram.com/refresh_access_token";
/// A token younger than this cannot be refreshed.
pub const MIN_AGE_SECONDS: u64 = 24 * 3600;
/// Lifetime of a long-lived token, used to estimate its age when the item lacks `lastRefreshAt`.
pub const LONG_LIVED_SECONDS: u64 = 60 * 24 * 3600;

const RULES: Rules = Rules {
    expires_in_required: true,
    refresh: RefreshRule::Never,
    error_shape,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instagram {
    url: String,
    user_agent: Option<String>,
}

impl Instagram {
    /// `url` overrides the real endpoint (local fakes).
    pub fn new(url: Option<String>, user_agent: Option<String>) -> Self {
        Self {
            url: url.unwrap_or_else(|| REFRESH_URL.to_owned()),
            user_agent,
        }
    }
}

impl Provider for Instagram {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Instagram
    }

    fn request(
        &self,
        current: &TokenSecrets,
        _creds: &ClientCredentials,
    ) -> Result<HttpRequest, ProviderError> {
        let mut request = HttpRequest::new(Method::Get, &self.url);
        request.push_user_agent(self.user_agent.as_deref());
        request.query = vec![
            ("grant_type".to_owned(), Param::plain("ig_refresh_token")),
            (
                "access_token".to_owned(),
                Param::Secret(current.access_token.clone()),
            ),
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
        let retry_after = headers::retry_after(headers, now);
        response::parse_with_hint(status, body, now, retry_after, &RULES)
    }

    /// Expired tokens need the user; tokens under 24 h old wait. The age comes from `issued_at`
    /// (`lastRefreshAt`) or, failing that, from the expiry minus the 60-day lifetime.
    fn readiness(&self, times: &TokenTimes, now: u64) -> Readiness {
        if times.expires_at.is_some_and(|at| at <= now) {
            return Readiness::Expired;
        }
        let issued = times.issued_at.or_else(|| {
            times
                .expires_at
                .map(|at| at.saturating_sub(LONG_LIVED_SECONDS))
        });
        match issued {
            Some(issued) if now < issued.saturating_add(MIN_AGE_SECONDS) => Readiness::NotYet {
                ready_at: issued.saturating_add(MIN_AGE_SECONDS),
            },
            _ => Readiness::Ready,
        }
    }
}

/// Graph API errors; an OAuth-style string `error` is read too, in case a proxy answers.
fn error_shape(object: &Map<String, Value>, response: &Response<'_>) -> Option<ProviderError> {
    let Some(Value::Object(error)) = object.get("error") else {
        return response::oauth_error(object, response);
    };
    let code = error.get("code").and_then(Value::as_u64);
    let retry_after = response.retry_after;
    Some(match code {
        // 190: the access token is invalid, expired or revoked.
        Some(190) => ProviderError::InvalidGrant,
        // Application, user, page and custom rate limits.
        Some(4 | 17 | 32 | 613) => ProviderError::RateLimited { retry_after },
        // Unknown error / service temporarily unavailable.
        Some(1 | 2) => ProviderError::Transient {
            status: Some(response.status),
            retry_after,
        },
        _ => {
            let kind = error
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("GraphError");
            let code = code.map_or_else(|| "?".to_owned(), |c| c.to_string());
            ProviderError::Rejected {
                status: response.status,
                // The numeric code is printed from a JSON number, never copied from the body.
                code: Some(format!("{}:{code}", response::sanitize_code(kind))),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::tests::{creds, current, no_headers};

    const NOW: u64 = 1_700_000_000;

    fn parse(status: u16, body: &str) -> Result<TokenSet, ProviderError> {
        Instagram::new(None, None).parse(status, &no_headers(), body.as_bytes(), NOW)
    }

    fn graph(code: u64) -> String {
        format!(
            r#"{{"error":{{"message":"Error validating access token: IGQV-secret","type":"OAuthException","code":{code},"fbtrace_id":"A"}}}}"#
        )
    }

    #[test]
    fn request_shape() {
        let ig = Instagram::new(None, None);
        let request = ig
            .request(&current(), &crate::config::ClientCredentials::default())
            .unwrap();
        assert_eq!(
            (request.method, request.url.as_str()),
            (Method::Get, REFRESH_URL)
        );
        assert_eq!(
            request.query_value("grant_type").unwrap().expose(),
            "ig_refresh_token"
        );
        assert!(
            matches!(request.query_value("access_token"), Some(Param::Secret(t)) if t.expose() == "old-access")
        );
        assert!(request.form.is_empty() && request.header("Authorization").is_none());
        // Credentials, if any, are not sent.
        let with_creds = ig.request(&current(), &creds()).unwrap();
        assert!(!format!("{with_creds:?}").contains("app-id"));
    }

    #[test]
    fn success_has_no_refresh_token() {
        let set = parse(200, r#"{"access_token":"IGQV-new","token_type":"bearer","expires_in":5183944,"refresh_token":"x"}"#)
            .unwrap();
        assert_eq!(set.access_token.expose(), "IGQV-new");
        assert_eq!(set.refresh_token, None);
        assert_eq!(set.expires_at, Some(NOW + 5_183_944));
    }

    #[test]
    fn graph_errors_are_classified_without_the_message() {
        assert_eq!(parse(400, &graph(190)), Err(ProviderError::InvalidGrant));
        assert_eq!(parse(200, &graph(190)), Err(ProviderError::InvalidGrant));
        assert_eq!(
            parse(403, &graph(4)),
            Err(ProviderError::RateLimited { retry_after: None })
        );
        assert_eq!(
            parse(400, &graph(2)),
            Err(ProviderError::Transient {
                status: Some(400),
                retry_after: None
            })
        );
        let other = parse(400, &graph(100)).unwrap_err();
        assert_eq!(
            other,
            ProviderError::Rejected {
                status: 400,
                code: Some("OAuthException:100".to_owned())
            }
        );
        assert!(!other.to_string().contains("IGQV"));
        let odd = parse(400, r#"{"error":{"type":"weird type!","code":"x"}}"#).unwrap_err();
        assert_eq!(
            odd,
            ProviderError::Rejected {
                status: 400,
                code: Some("unrecognised:?".to_owned())
            }
        );
    }

    #[test]
    fn malformed_bodies() {
        assert_eq!(
            parse(200, r#"{"access_token":"IGQV-new","expires_in":51"#)
                .unwrap_err()
                .kind(),
            "malformed"
        );
        assert!(
            parse(200, r#"{"access_token":"IGQV-new"}"#)
                .unwrap_err()
                .to_string()
                .contains("`expires_in` is missing")
        );
        assert!(
            parse(200, r#"{"expires_in":5}"#)
                .unwrap_err()
                .to_string()
                .contains("`access_token` is missing")
        );
        assert_eq!(
            parse(200, r#"{"access_token":true,"expires_in":5}"#)
                .unwrap_err()
                .kind(),
            "malformed"
        );
    }

    #[test]
    fn readiness_follows_the_24_hour_rule() {
        let ig = Instagram::new(None, None);
        let young = TokenTimes {
            issued_at: Some(NOW - 3600),
            expires_at: Some(NOW + 50 * 86_400),
            ..TokenTimes::default()
        };
        assert_eq!(
            ig.readiness(&young, NOW),
            Readiness::NotYet {
                ready_at: NOW - 3600 + MIN_AGE_SECONDS
            }
        );
        let old_enough = TokenTimes {
            issued_at: Some(NOW - MIN_AGE_SECONDS),
            ..young
        };
        assert_eq!(ig.readiness(&old_enough, NOW), Readiness::Ready);
        let expired = TokenTimes {
            expires_at: Some(NOW),
            ..old_enough
        };
        assert_eq!(ig.readiness(&expired, NOW), Readiness::Expired);
        // No lastRefreshAt: age estimated from the 60-day lifetime.
        let fresh = TokenTimes {
            expires_at: Some(NOW + LONG_LIVED_SECONDS - 60),
            ..TokenTimes::default()
        };
        assert!(matches!(
            ig.readiness(&fresh, NOW),
            Readiness::NotYet { .. }
        ));
        let week_old = TokenTimes {
            expires_at: Some(NOW + 53 * 86_400),
            ..TokenTimes::default()
        };
        assert_eq!(ig.readiness(&week_old, NOW), Readiness::Ready);
        assert_eq!(ig.readiness(&TokenTimes::default(), NOW), Readiness::Ready);
    }
}
