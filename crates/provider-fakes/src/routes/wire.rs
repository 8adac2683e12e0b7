//! How each provider words its answers: token bodies, errors, rate-limit headers and fault bodies.
//!
//! TikTok: `{"error","error_description","log_id"}`, 400 (401 for `invalid_client`). Reddit: HTTP 200
//! with `{"error": code}`, 401 `{"message":"Unauthorized","error":401}` for a bad client. Instagram:
//! Graph `{"error":{"message","type","code","fbtrace_id"}}`. Generic: RFC 6749 §5.2.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::config::Provider;
use crate::limits::Verdict;
use crate::store::Issued;
use crate::tokens::trace_id;

/// Why a token request is refused, in RFC 6749 §5.2 terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Denial {
    InvalidRequest(&'static str),
    InvalidClient,
    InvalidGrant(&'static str),
    UnsupportedGrantType,
}

impl Denial {
    fn code(self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Self::InvalidRequest(why) | Self::InvalidGrant(why) => why,
            Self::InvalidClient => "Client authentication failed.",
            Self::UnsupportedGrantType => "The grant type is not supported.",
        }
    }
}

fn scope(provider: Provider) -> &'static str {
    match provider {
        Provider::Tiktok => "user.info.basic,video.list",
        Provider::Reddit => "identity read",
        Provider::Instagram => "instagram_business_basic",
        Provider::Oauth2 => "read write",
    }
}

/// The success body of a refresh or code exchange.
pub(crate) fn tokens(provider: Provider, issued: &Issued) -> Response {
    let mut body = match provider {
        Provider::Tiktok => json!({
            "access_token": issued.access_token,
            "expires_in": issued.expires_in,
            "open_id": issued.open_id,
            "refresh_expires_in": issued.refresh_expires_in,
            "scope": scope(provider),
            "token_type": "Bearer",
        }),
        Provider::Reddit => json!({
            "access_token": issued.access_token,
            "token_type": "bearer",
            "expires_in": issued.expires_in,
            "scope": scope(provider),
        }),
        Provider::Instagram => json!({
            "access_token": issued.access_token,
            "token_type": "bearer",
            "expires_in": issued.expires_in,
        }),
        Provider::Oauth2 => json!({
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "scope": scope(provider),
        }),
    };
    if let (Some(refresh), Value::Object(map)) = (&issued.refresh_token, &mut body) {
        map.insert("refresh_token".into(), json!(refresh));
    }
    no_store((StatusCode::OK, Json(body)).into_response())
}

/// The provider's refusal of a token request.
pub(crate) fn denial(provider: Provider, denial: Denial) -> Response {
    let invalid_client = denial == Denial::InvalidClient;
    let response = match provider {
        Provider::Tiktok => {
            let status = if invalid_client {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::BAD_REQUEST
            };
            let body = json!({"error": denial.code(), "error_description": denial.description(), "log_id": trace_id()});
            (status, Json(body)).into_response()
        }
        Provider::Reddit if invalid_client => (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "Unauthorized", "error": 401})),
        )
            .into_response(),
        // Reddit's quirk: a refused grant is still HTTP 200.
        Provider::Reddit => (StatusCode::OK, Json(json!({"error": denial.code()}))).into_response(),
        Provider::Instagram => {
            let code = match denial {
                Denial::InvalidGrant(_) => 190,
                Denial::InvalidClient => 101,
                _ => 100,
            };
            graph_error(StatusCode::BAD_REQUEST, denial.description(), code)
        }
        Provider::Oauth2 => {
            let status = if invalid_client {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::BAD_REQUEST
            };
            let body = json!({"error": denial.code(), "error_description": denial.description()});
            let mut response = (status, Json(body)).into_response();
            if invalid_client {
                let challenge = HeaderValue::from_static("Basic realm=\"fake-oauth2\"");
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, challenge);
            }
            response
        }
    };
    no_store(response)
}

/// A Graph API error object.
pub(crate) fn graph_error(status: StatusCode, message: &str, code: u16) -> Response {
    let body = json!({"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": trace_id()}});
    (status, Json(body)).into_response()
}

/// 429 with `Retry-After` and the provider's own rate-limit headers.
pub(crate) fn rate_limited(provider: Provider, retry_after: u64) -> Response {
    let status = StatusCode::TOO_MANY_REQUESTS;
    let mut response = match provider {
        Provider::Tiktok => {
            let body = json!({"error": "rate_limit_exceeded", "error_description": "Too many requests.", "log_id": trace_id()});
            (status, Json(body)).into_response()
        }
        Provider::Reddit => (
            status,
            Json(json!({"message": "Too Many Requests", "error": 429})),
        )
            .into_response(),
        Provider::Instagram => graph_error(status, "Application request limit reached", 4),
        Provider::Oauth2 => {
            (status, Json(json!({"error": "temporarily_unavailable"}))).into_response()
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    match provider {
        Provider::Tiktok => {
            headers.insert("x-ratelimit-reset", HeaderValue::from(retry_after));
        }
        Provider::Reddit => {
            headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0.0"));
            headers.insert("x-ratelimit-reset", HeaderValue::from(retry_after));
        }
        Provider::Instagram | Provider::Oauth2 => {}
    }
    response
}

/// Reddit's `X-Ratelimit-Used/Remaining/Reset`, sent on every answer of its token endpoint.
pub(crate) fn reddit_headers(mut response: Response, verdict: Option<Verdict>) -> Response {
    if let Some(verdict) = verdict {
        let headers = response.headers_mut();
        headers.insert("x-ratelimit-used", HeaderValue::from(verdict.used));
        let remaining = format!("{}.0", verdict.remaining);
        if let Ok(value) = HeaderValue::from_str(&remaining) {
            headers.insert("x-ratelimit-remaining", value);
        }
        headers.insert("x-ratelimit-reset", HeaderValue::from(verdict.reset_secs));
    }
    response
}

/// An HTML error page with the given status, as a load balancer in front of a provider sends.
pub(crate) fn status_page(code: u16) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = format!("<html><body><h1>{status}</h1><p>upstream unavailable</p></body></html>");
    (status, [(header::CONTENT_TYPE, "text/html")], body).into_response()
}

/// HTTP 200 whose JSON body stops in the middle of the access token.
pub(crate) fn malformed(provider: Provider) -> Response {
    let body = format!("{{\"access_token\": \"{provider}-at-truncat");
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// Token answers must not be cached (RFC 6749 §5.1).
fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}
