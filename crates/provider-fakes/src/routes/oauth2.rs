//! The generic RFC 6749 server: `POST /oauth2/token`, client auth by Basic or in the body (not both,
//! §2.3.1), errors per §5.2.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Extension, Form, State};
use axum::http::HeaderMap;
use axum::response::Response;

use crate::app::App;
use crate::config::Provider;
use crate::routes::flow::{Outcome, token_request};
use crate::routes::wire::{self, Denial};
use crate::routes::{basic_credentials, body_credentials};
use crate::server::ConnKill;

/// The token endpoint: refresh (rotation as configured) and code exchange.
pub(crate) async fn token(
    State(app): State<Arc<App>>,
    Extension(kill): Extension<ConnKill>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let provider = Provider::Oauth2;
    let in_body = body_credentials(&form, "client_id");
    let credentials = match (basic_credentials(&headers), in_body) {
        (Err(()), _) => Err(Denial::InvalidClient),
        (Ok(Some(_)), Some(_)) => Err(Denial::InvalidRequest(
            "Use one client authentication method.",
        )),
        (Ok(basic), body) => Ok(basic.or(body)),
    };
    match token_request(&app, &kill, provider, credentials, &form, "refresh_token").await {
        Outcome::Answered(response) => response,
        Outcome::Denied(denial, _) => wire::denial(provider, denial),
        Outcome::Issued(issued, _) => wire::tokens(provider, &issued),
    }
}
