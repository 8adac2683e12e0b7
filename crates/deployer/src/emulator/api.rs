//! The Runtime API endpoints of one instance (one `bootstrap` process): `next` hands out the
//! instance's invocations one at a time, with their request id, deadline and function ARN
//! headers; `response`, `error` and `init/error` report how they ended.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{mpsc, oneshot};

use super::Outcome;

/// One invocation waiting for the process's next poll.
pub(super) struct Job {
    pub request_id: String,
    pub event: Vec<u8>,
    pub timeout: Duration,
    pub done: oneshot::Sender<Outcome>,
}

/// The invocation the process holds: what `response` or `error` must name, and its deadline.
struct Current {
    request_id: String,
    deadline: SystemTime,
    done: Option<oneshot::Sender<Outcome>>,
}

/// Shared state of one instance's Runtime API.
pub(super) struct Runtime {
    function_arn: String,
    jobs: tokio::sync::Mutex<mpsc::Receiver<Job>>,
    current: Mutex<Option<Current>>,
    init_error: Mutex<Option<Outcome>>,
}

impl Runtime {
    pub(super) fn new(function_arn: String, jobs: mpsc::Receiver<Job>) -> Self {
        Self {
            function_arn,
            jobs: tokio::sync::Mutex::new(jobs),
            current: Mutex::new(None),
            init_error: Mutex::new(None),
        }
    }

    /// The deadline of the invocation the process holds, if it took one.
    pub(super) fn deadline(&self, request_id: &str) -> Option<SystemTime> {
        lock(&self.current)
            .as_ref()
            .filter(|c| c.request_id == request_id)
            .map(|c| c.deadline)
    }

    /// What the runtime reported through `init/error`, if it did.
    pub(super) fn init_error(&self) -> Option<Outcome> {
        lock(&self.init_error).clone()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(super) fn router(state: Arc<Runtime>) -> Router {
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

/// Waits for the instance's next invocation (Lambda freezes the sandbox here between them).
async fn next(State(runtime): State<Arc<Runtime>>) -> Response {
    let Some(job) = runtime.jobs.lock().await.recv().await else {
        // The instance is being stopped.
        return StatusCode::GONE.into_response();
    };
    let deadline = SystemTime::now() + job.timeout;
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    };
    set("lambda-runtime-aws-request-id", job.request_id.clone());
    set("lambda-runtime-deadline-ms", deadline_ms.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        runtime.function_arn.clone(),
    );
    set(
        "lambda-runtime-trace-id",
        format!(
            "Root=1-00000000-{};Sampled=0",
            &job.request_id[..24.min(job.request_id.len())]
        ),
    );
    set("content-type", "application/json".to_owned());
    *lock(&runtime.current) = Some(Current {
        request_id: job.request_id,
        deadline,
        done: Some(job.done),
    });
    (StatusCode::OK, headers, job.event).into_response()
}

/// Ends the current invocation with `outcome`, if `id` names it and it has not ended yet.
fn finish(runtime: &Runtime, id: &str, outcome: Outcome) -> Response {
    let mut current = lock(&runtime.current);
    let Some(held) = current.as_mut().filter(|c| c.request_id == id) else {
        // Lambda's answer to a report for another invocation than the one handed out.
        return (
            StatusCode::BAD_REQUEST,
            r#"{"errorType":"InvalidRequestID"}"#,
        )
            .into_response();
    };
    match held.done.take() {
        Some(tx) => {
            let _ = tx.send(outcome);
            (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
        }
        // Lambda answers a second report for the same invocation with InvalidStateTransition.
        None => (
            StatusCode::BAD_REQUEST,
            r#"{"errorType":"InvalidStateTransition"}"#,
        )
            .into_response(),
    }
}

async fn response(
    State(runtime): State<Arc<Runtime>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let payload = serde_json::from_slice(&body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into_owned()));
    finish(&runtime, &id, Outcome::Ok { payload })
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
    State(runtime): State<Arc<Runtime>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (error_type, error_message) = error_fields(&headers, &body);
    finish(
        &runtime,
        &id,
        Outcome::Error {
            error_type,
            error_message,
        },
    )
}

async fn init_error(
    State(runtime): State<Arc<Runtime>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (error_type, error_message) = error_fields(&headers, &body);
    *lock(&runtime.init_error) = Some(Outcome::InitError {
        error_type,
        error_message,
    });
    (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
}
