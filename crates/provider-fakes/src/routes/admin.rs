//! The admin API (JSON) under `/_admin`: seed grants, read their current tokens, read the stats,
//! queue faults, and set per-provider latency and rate limits.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::app::App;
use crate::config::Provider;
use crate::faults::Fault;
use crate::store::{SeedOptions, TokenPair};

#[derive(Deserialize)]
struct SeedRequest {
    provider: Provider,
    user: String,
    #[serde(flatten)]
    options: SeedOptions,
}

#[derive(Deserialize)]
struct FaultRequest {
    provider: Provider,
    #[serde(default = "one")]
    count: u32,
    #[serde(flatten)]
    fault: Fault,
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
struct LatencyRequest {
    provider: Provider,
    ms: u64,
}

#[derive(Deserialize)]
struct RateLimitRequest {
    provider: Provider,
    /// Requests per rate window; `null` lifts the limit.
    limit: Option<u32>,
}

/// The `/_admin` routes.
pub(super) fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/_admin/grants", post(seed))
        .route("/_admin/grants/{provider}/{user}", get(current))
        .route(
            "/_admin/stats",
            get(|State(app): State<Arc<App>>| async move { Json(app.stats()) }),
        )
        .route("/_admin/faults", post(inject))
        .route("/_admin/latency", post(latency))
        .route("/_admin/rate-limit", post(rate_limit))
}

async fn seed(State(app): State<Arc<App>>, Json(request): Json<SeedRequest>) -> Json<TokenPair> {
    Json(app.seed(request.provider, &request.user, request.options))
}

async fn current(
    State(app): State<Arc<App>>,
    Path((provider, user)): Path<(String, String)>,
) -> Response {
    let pair = provider
        .parse::<Provider>()
        .ok()
        .and_then(|provider| app.current(provider, &user));
    match pair {
        Some(pair) => Json(pair).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such grant"})),
        )
            .into_response(),
    }
}

async fn inject(
    State(app): State<Arc<App>>,
    Json(request): Json<FaultRequest>,
) -> Json<serde_json::Value> {
    app.inject(request.provider, request.fault, request.count);
    Json(json!({"queued": request.count}))
}

async fn latency(State(app): State<Arc<App>>, Json(request): Json<LatencyRequest>) -> StatusCode {
    app.set_latency(request.provider, Duration::from_millis(request.ms));
    StatusCode::NO_CONTENT
}

async fn rate_limit(
    State(app): State<Arc<App>>,
    Json(request): Json<RateLimitRequest>,
) -> StatusCode {
    app.set_rate_limit(request.provider, request.limit);
    StatusCode::NO_CONTENT
}
