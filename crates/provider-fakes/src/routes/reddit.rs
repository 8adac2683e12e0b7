//! Reddit: `POST /reddit/api/v1/access_token` with HTTP Basic client auth and a descriptive
//! User-Agent; refused grants come back as HTTP 200 with `{"error": …}`; `X-Ratelimit-*` headers on
//! every answer.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Extension, Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::App;
use crate::config::Provider;
use crate::routes::basic_credentials;
use crate::routes::flow::{Outcome, token_request};
use crate::routes::wire::{self, Denial};
use crate::server::ConnKill;

/// The token endpoint: refresh (rotation as configured) and code exchange.
pub(crate) async fn token(
    State(app): State<Arc<App>>,
    Extension(kill): Extension<ConnKill>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let provider = Provider::Reddit;
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    if !agent.is_some_and(descriptive_user_agent) {
        return blocked();
    }
    let credentials = basic_credentials(&headers).map_err(|()| Denial::InvalidClient);
    match token_request(&app, &kill, provider, credentials, &form, "refresh_token").await {
        Outcome::Answered(response) => response,
        Outcome::Denied(denial, verdict) => {
            wire::reddit_headers(wire::denial(provider, denial), verdict)
        }
        Outcome::Issued(issued, verdict) => {
            wire::reddit_headers(wire::tokens(provider, &issued), verdict)
        }
    }
}

/// Reddit's block page for clients without a descriptive User-Agent, sent before any token logic.
fn blocked() -> Response {
    let body = "<html><body><h1>whoa there, pardner!</h1><p>Your request has been blocked due to a \
                network policy. Use a unique and descriptive User-Agent.</p></body></html>";
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/html")],
        body,
    )
        .into_response()
}

/// `<platform>:<app id>:<version> (by /u/<user>)`, each part non-empty and without spaces.
fn descriptive_user_agent(agent: &str) -> bool {
    let Some((app, rest)) = agent.split_once(" (by /u/") else {
        return false;
    };
    let Some(user) = rest.strip_suffix(')') else {
        return false;
    };
    let parts: Vec<&str> = app.splitn(3, ':').collect();
    let word = |s: &str| !s.is_empty() && !s.contains(char::is_whitespace);
    parts.len() == 3
        && parts.iter().all(|part| word(part))
        && word(user)
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::descriptive_user_agent;

    #[test]
    fn user_agent_rule() {
        assert!(descriptive_user_agent(
            "linux:com.example.refresher:v1.2.0 (by /u/example_bot)"
        ));
        assert!(!descriptive_user_agent("reqwest/0.13"));
        assert!(!descriptive_user_agent("linux:refresher (by /u/bot)"));
        assert!(!descriptive_user_agent("linux:app:v1 (by /u/)"));
        assert!(!descriptive_user_agent("linux:app:v1 (by /u/bad user)"));
        assert!(!descriptive_user_agent("linux::v1 (by /u/bot)"));
    }
}
