//! TikTok Login Kit v2: `POST /tiktok/v2/oauth/token/` with `client_key`/`client_secret` in the form.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Extension, Form, State};
use axum::response::Response;

use crate::app::App;
use crate::config::Provider;
use crate::routes::body_credentials;
use crate::routes::flow::{Outcome, token_request};
use crate::routes::wire;
use crate::server::ConnKill;

/// The token endpoint: refresh (always rotating) and code exchange.
pub(crate) async fn token(
    State(app): State<Arc<App>>,
    Extension(kill): Extension<ConnKill>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let provider = Provider::Tiktok;
    let credentials = Ok(body_credentials(&form, "client_key"));
    match token_request(&app, &kill, provider, credentials, &form, "refresh_token").await {
        Outcome::Answered(response) => response,
        Outcome::Denied(denial, _) => wire::denial(provider, denial),
        Outcome::Issued(issued, _) => wire::tokens(provider, &issued),
    }
}
