//! Instagram API with Instagram Login: the long-lived token refreshes itself with
//! `GET /instagram/refresh_access_token?grant_type=ig_refresh_token&access_token=…` once it is 24 h
//! old; a code becomes a short-lived token (`POST /instagram/oauth/access_token`), which
//! `GET /instagram/access_token?grant_type=ig_exchange_token` trades for a long-lived one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{Extension, Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::app::App;
use crate::config::Provider;
use crate::routes::body_credentials;
use crate::routes::flow::{self, Outcome, token_request};
use crate::routes::wire::{self, Denial};
use crate::server::ConnKill;
use crate::tokens::now_epoch;

const PROVIDER: Provider = Provider::Instagram;

/// Refreshes a long-lived access token.
pub(crate) async fn refresh(
    State(app): State<Arc<App>>,
    Extension(kill): Extension<ConnKill>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let token = query.get("access_token");
    flow::count_refresh(&app, PROVIDER, token.map(String::as_str));
    let drop_answer = match flow::before(&app, PROVIDER, &kill).await {
        flow::Gate::Answer(answer) => return answer,
        flow::Gate::Proceed { drop_answer } => drop_answer,
    };
    if let Some(limited) = app.rate_check(PROVIDER, "anonymous").filter(|v| !v.allowed) {
        return wire::rate_limited(PROVIDER, limited.reset_secs);
    }
    if query.get("grant_type").map(String::as_str) != Some("ig_refresh_token") {
        return wire::denial(
            PROVIDER,
            Denial::InvalidRequest("Unsupported grant_type; use ig_refresh_token."),
        );
    }
    let result = flow::refresh(&app, PROVIDER, token);
    if drop_answer {
        return kill.drop_connection().await;
    }
    match result {
        Ok(issued) => wire::tokens(PROVIDER, &issued),
        Err(denial) => wire::denial(PROVIDER, denial),
    }
}

/// Redeems an authorization code for a short-lived token.
pub(crate) async fn exchange_code(
    State(app): State<Arc<App>>,
    Extension(kill): Extension<ConnKill>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let credentials = Ok(body_credentials(&form, "client_id"));
    match token_request(&app, &kill, PROVIDER, credentials, &form, "access_token").await {
        Outcome::Answered(response) => response,
        Outcome::Denied(denial, _) => wire::denial(PROVIDER, denial),
        Outcome::Issued(issued, _) => {
            let user_id = issued.open_id;
            let data = json!({"access_token": issued.access_token, "user_id": user_id, "permissions": "instagram_business_basic"});
            (StatusCode::OK, Json(json!({ "data": [data] }))).into_response()
        }
    }
}

/// Trades a short-lived token for a long-lived one (a new grant, issued now).
pub(crate) async fn long_lived(
    State(app): State<Arc<App>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let config = app.provider(PROVIDER);
    if query.get("client_secret") != Some(&config.client_secret) {
        return wire::denial(PROVIDER, Denial::InvalidClient);
    }
    if query.get("grant_type").map(String::as_str) != Some("ig_exchange_token") {
        return wire::denial(
            PROVIDER,
            Denial::InvalidRequest("Unsupported grant_type; use ig_exchange_token."),
        );
    }
    let mut inner = app.lock();
    let user = query
        .get("access_token")
        .and_then(|token| inner.codes.take_short_lived(token, Instant::now()));
    let Some(user) = user else {
        return wire::denial(
            PROVIDER,
            Denial::InvalidGrant("Invalid or expired short-lived token."),
        );
    };
    let issued = inner.store.create(PROVIDER, &user, config, now_epoch());
    drop(inner);
    wire::tokens(PROVIDER, &issued)
}
