//! `GET /<provider>/authorize`: the consent step of the code flow, without a login page. The user
//! is named by a fake-only `user` parameter (default `fake-user`); the answer is a redirect to
//! `redirect_uri` with `code` and `state` (RFC 6749 §4.1.2), or with `error` (§4.1.2.1).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::App;
use crate::codes::CodeRequest;
use crate::config::Provider;

/// Issues a code for the requested user, or explains why not.
pub(crate) fn authorize(
    provider: Provider,
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let field = |name: &str| query.get(name).map(String::as_str);
    let id_field = if provider == Provider::Tiktok {
        "client_key"
    } else {
        "client_id"
    };
    // A bad client or redirect URI must not redirect (§4.1.2.1): the URI cannot be trusted.
    if field(id_field) != Some(app.provider(provider).client_id.as_str()) {
        return bad_request("invalid_client", "Unknown client.");
    }
    let Some(redirect_uri) = field("redirect_uri").filter(|uri| uri.starts_with("http")) else {
        return bad_request(
            "invalid_request",
            "redirect_uri is missing or not an http(s) URI.",
        );
    };
    let mut params = Vec::new();
    let challenge = field("code_challenge");
    if field("response_type") != Some("code") {
        params.push(("error", "unsupported_response_type".to_owned()));
    } else if challenge.is_some() && field("code_challenge_method") != Some("S256") {
        params.push(("error", "invalid_request".to_owned()));
    } else {
        let request = CodeRequest {
            user: field("user").unwrap_or("fake-user").to_owned(),
            client_id: app.provider(provider).client_id.clone(),
            redirect_uri: redirect_uri.to_owned(),
            challenge: challenge.map(str::to_owned),
        };
        let ttl = app.config().code_ttl;
        let code = app
            .lock()
            .codes
            .issue(provider, request, ttl, Instant::now());
        params.push(("code", code));
    }
    if let Some(state) = field("state") {
        params.push(("state", state.to_owned()));
    }
    let location = with_query(redirect_uri, &params);
    (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
}

fn bad_request(error: &str, description: &str) -> Response {
    let body = json!({"error": error, "error_description": description});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// `uri` with `params` appended to its query, percent-encoded.
fn with_query(uri: &str, params: &[(&str, String)]) -> String {
    let mut out = uri.to_owned();
    let mut separator = if uri.contains('?') { '&' } else { '?' };
    for (name, value) in params {
        out.push(separator);
        separator = '&';
        out.push_str(name);
        out.push('=');
        for byte in value.bytes() {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                out.push(char::from(byte));
            } else {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::with_query;

    #[test]
    fn query_is_appended_and_encoded() {
        let params = [("code", "c-1".to_owned()), ("state", "a b&c".to_owned())];
        assert_eq!(
            with_query("http://x/cb", &params),
            "http://x/cb?code=c-1&state=a%20b%26c"
        );
        assert_eq!(
            with_query("http://x/cb?k=v", &params[..1]),
            "http://x/cb?k=v&code=c-1"
        );
    }
}
