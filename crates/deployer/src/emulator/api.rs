//! The Runtime API endpoints for one invocation: `next` hands out the event once (with its request
//! id, deadline and function ARN headers), `response`, `error` and `init/error` report the end.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{Notify, oneshot};

use super::Outcome;

/// How the invocation ended, and the deadline it had (if it was handed out).
pub(super) type Reported = (Outcome, Option<SystemTime>);

/// Shared state of one invocation.
pub(super) struct Invocation {
    pub request_id: String,
    pub function_arn: String,
    pub event: Vec<u8>,
    pub timeout: Duration,
    /// Taken by the first `next`; later polls wait forever (Lambda freezes the sandbox there).
    pub handed_out: Mutex<bool>,
    pub done: Mutex<Option<oneshot::Sender<Reported>>>,
    pub deadline: Mutex<Option<SystemTime>>,
    pub never: Notify,
}

pub(super) fn router(state: Arc<Invocation>) -> Router {
    Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(state)
}

async fn next(State(inv): State<Arc<Invocation>>) -> Response {
    let first = {
        let mut handed = inv
            .handed_out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        !std::mem::replace(&mut *handed, true)
    };
    if !first {
        // The one invocation is served; hold the poll until the process is stopped.
        inv.never.notified().await;
        return StatusCode::GONE.into_response();
    }
    let deadline = SystemTime::now() + inv.timeout;
    *inv.deadline
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(deadline);
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set("lambda-runtime-aws-request-id", inv.request_id.clone());
    set("lambda-runtime-deadline-ms", deadline_ms.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        inv.function_arn.clone(),
    );
    set(
        "lambda-runtime-trace-id",
        format!(
            "Root=1-00000000-{};Sampled=0",
            &inv.request_id[..24.min(inv.request_id.len())]
        ),
    );
    set("content-type", "application/json".to_owned());
    (StatusCode::OK, headers, inv.event.clone()).into_response()
}

fn finish(inv: &Invocation, outcome: Outcome) -> Response {
    let deadline = *inv
        .deadline
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(tx) = inv
        .done
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
    {
        let _ = tx.send((outcome, deadline));
        (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
    } else {
        // Lambda answers a second report for the same invocation with 400 InvalidStateTransition.
        (
            StatusCode::BAD_REQUEST,
            r#"{"errorType":"InvalidStateTransition"}"#,
        )
            .into_response()
    }
}

async fn response(
    State(inv): State<Arc<Invocation>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Some(rejected) = unknown_id(&inv, &id) {
        return rejected;
    }
    let payload = serde_json::from_slice(&body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into_owned()));
    finish(&inv, Outcome::Ok { payload })
}

/// Lambda's answer to a report for another invocation than the one handed out.
fn unknown_id(inv: &Invocation, id: &str) -> Option<Response> {
    (id != inv.request_id).then(|| {
        (
            StatusCode::BAD_REQUEST,
            r#"{"errorType":"InvalidRequestID"}"#,
        )
            .into_response()
    })
}

/// `errorType` from the body, else the `Lambda-Runtime-Function-Error-Type` header.
fn error_fields(headers: &HeaderMap, body: &[u8]) -> (String, String) {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let header = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("Unhandled");
    let error_type = json
        .get("errorType")
        .and_then(|v| v.as_str())
        .unwrap_or(header)
        .to_owned();
    let message = json
        .get("errorMessage")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_owned();
    (error_type, message)
}

async fn error(
    State(inv): State<Arc<Invocation>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(rejected) = unknown_id(&inv, &id) {
        return rejected;
    }
    let (error_type, error_message) = error_fields(&headers, &body);
    finish(
        &inv,
        Outcome::Error {
            error_type,
            error_message,
        },
    )
}

async fn init_error(
    State(inv): State<Arc<Invocation>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (error_type, error_message) = error_fields(&headers, &body);
    finish(
        &inv,
        Outcome::InitError {
            error_type,
            error_message,
        },
    )
}
