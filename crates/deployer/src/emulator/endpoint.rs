//! Lambda's `Invoke` API on loopback (`POST /2015-03-31/functions/{name}/invocations`), in front
//! of each function's pool: what the AWS SDKs call when `AWS_ENDPOINT_URL_LAMBDA` points here,
//! so an app's own Lambda client reaches the stage's functions on this machine unchanged. The
//! answers are Lambda's: the payload, `X-Amz-Function-Error` for a failed invocation, `429
//! TooManyRequestsException` beyond the function's concurrency, `404 ResourceNotFoundException`
//! for a function the stage does not have. Requests are not authenticated: it listens on
//! 127.0.0.1 only.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use serde_json::json;

use super::Outcome;
use super::instance::Ended;
use super::pool::{Pool, Served};
use super::process::millis;

/// Lambda's limit on a synchronous invocation's payload.
const PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;
/// Lambda's limit on the log tail (`X-Amz-Log-Result`).
const LOG_TAIL_BYTES: usize = 4 * 1024;
/// How often an asynchronous invocation that found every instance busy tries again.
const EVENT_RETRY: Duration = Duration::from_millis(200);

/// The functions served, by name.
pub type Functions = Arc<BTreeMap<String, Arc<Pool>>>;

pub fn router(functions: Functions) -> Router {
    Router::new()
        .route("/2015-03-31/functions/{function}/invocations", post(invoke))
        // Larger payloads get Lambda's own 413 below, not the framework's.
        .layer(DefaultBodyLimit::max(PAYLOAD_LIMIT + 1))
        .with_state(functions)
}

/// `RefreshOAuthApi-local`, its ARN or partial ARN, with or without a qualifier: the name.
fn function_name(given: &str) -> &str {
    match given.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None if given.starts_with("arn:") => given,
        // `123456789012:function:name` is caught above; a bare `name:qualifier` keeps its name.
        None => given.split(':').next().unwrap_or(given),
    }
}

async fn invoke(
    State(functions): State<Functions>,
    Path(function): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let pool = match accepted(&functions, &function, &body) {
        Ok(pool) => pool,
        Err(refused) => return *refused,
    };
    match header(&headers, "x-amz-invocation-type").unwrap_or("RequestResponse") {
        "RequestResponse" => {
            let tail = header(&headers, "x-amz-log-type") == Some("Tail");
            request_response(&pool, body.to_vec(), tail).await
        }
        "Event" => {
            tokio::spawn(event(pool, body.to_vec()));
            with_version(StatusCode::ACCEPTED.into_response())
        }
        "DryRun" => with_version(StatusCode::NO_CONTENT.into_response()),
        other => aws_error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValueException",
            &format!("InvocationType {other:?} is not one of RequestResponse, Event, DryRun"),
            None,
        ),
    }
}

/// The pool serving `function`, or Lambda's answer to an unknown function or an oversized
/// payload.
fn accepted(
    functions: &Functions,
    function: &str,
    body: &Bytes,
) -> Result<Arc<Pool>, Box<Response>> {
    let name = function_name(function);
    let Some(pool) = functions.get(name).cloned() else {
        let known: Vec<&str> = functions.keys().map(String::as_str).collect();
        return Err(Box::new(aws_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!(
                "Function not found: {name}. This endpoint serves {}.",
                known.join(", ")
            ),
            None,
        )));
    };
    if body.len() > PAYLOAD_LIMIT {
        return Err(Box::new(aws_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestTooLargeException",
            &format!(
                "Request must be smaller than {PAYLOAD_LIMIT} bytes for the InvokeFunction operation"
            ),
            None,
        )));
    }
    Ok(pool)
}

async fn request_response(pool: &Pool, event: Vec<u8>, tail: bool) -> Response {
    let ended = match pool.invoke(event).await {
        Ok(Served::Ended(ended)) => ended,
        Ok(Served::Throttled) => {
            return aws_error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequestsException",
                "Rate Exceeded.",
                Some("ReservedFunctionConcurrentInvocationLimitExceeded"),
            );
        }
        Err(err) => {
            return aws_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceException",
                &format!("{err:#}"),
                None,
            );
        }
    };
    let response = answer(&ended, pool.spec().timeout, tail);
    tracing_line(pool, &ended.outcome, millis(ended.duration));
    with_version(response)
}

/// A finished invocation as Lambda answers it: the payload, the function error's kind, the
/// request id and (with `tail`) the last 4 KB of the log.
fn answer(ended: &Ended, timeout: Duration, tail: bool) -> Response {
    let (body, function_error) = payload(&ended.outcome, timeout);
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if let Some(kind) = function_error {
        headers.insert("x-amz-function-error", HeaderValue::from_static(kind));
    }
    if let Ok(id) = HeaderValue::from_str(&ended.request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    if tail && let Ok(logs) = HeaderValue::from_str(&log_result(&ended.logs)) {
        headers.insert("x-amz-log-result", logs);
    }
    response
}

/// An asynchronous invocation: queued until an instance is free, as Lambda's own queue does.
async fn event(pool: Arc<Pool>, event: Vec<u8>) {
    loop {
        match pool.invoke(event.clone()).await {
            Ok(Served::Ended(ended)) => {
                tracing_line(&pool, &ended.outcome, millis(ended.duration));
                return;
            }
            Ok(Served::Throttled) => tokio::time::sleep(EVENT_RETRY).await,
            Err(err) => {
                crate::output::note(&format!(
                    "[{}] asynchronous invocation not run: {err:#}",
                    pool.spec().function_name
                ));
                return;
            }
        }
    }
}

/// One line per invocation on stderr, beside the function's own log lines.
fn tracing_line(pool: &Pool, outcome: &Outcome, duration_ms: u64) {
    let status = match outcome {
        Outcome::Ok { .. } => "ok",
        Outcome::Error { .. } => "function error",
        Outcome::InitError { .. } => "init error",
        Outcome::TimedOut { .. } => "timed out",
        Outcome::Crashed { .. } => "crashed",
    };
    crate::output::note(&format!(
        "[{}] invocation {status} in {duration_ms} ms",
        pool.spec().function_name
    ));
}

/// The response body Lambda gives for an outcome, and its `X-Amz-Function-Error`.
fn payload(outcome: &Outcome, timeout: Duration) -> (Vec<u8>, Option<&'static str>) {
    let error = |error_type: &str, message: &str| {
        json!({"errorType": error_type, "errorMessage": message})
            .to_string()
            .into_bytes()
    };
    match outcome {
        Outcome::Ok { payload } => (payload.to_string().into_bytes(), None),
        Outcome::Error {
            error_type,
            error_message,
        }
        | Outcome::InitError {
            error_type,
            error_message,
        } => (error(error_type, error_message), Some("Unhandled")),
        Outcome::TimedOut { .. } => (
            error(
                "Sandbox.Timedout",
                &format!("Task timed out after {:.2} seconds", timeout.as_secs_f64()),
            ),
            Some("Unhandled"),
        ),
        Outcome::Crashed { exit } => (
            error("Runtime.ExitError", &format!("Runtime exited: {exit}")),
            Some("Unhandled"),
        ),
    }
}

/// The last 4 KB of the invocation's log, base64, as `X-Amz-Log-Result` carries it.
fn log_result(lines: &[String]) -> String {
    let mut text = lines.join("\n");
    if text.len() > LOG_TAIL_BYTES {
        let mut cut = text.len() - LOG_TAIL_BYTES;
        while !text.is_char_boundary(cut) {
            cut += 1;
        }
        text = text.split_off(cut);
    }
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn with_version(mut response: Response) -> Response {
    response.headers_mut().insert(
        "x-amz-executed-version",
        HeaderValue::from_static("$LATEST"),
    );
    response
}

/// An error as Lambda's REST API sends it: the type in `x-amzn-ErrorType` (where the SDKs read
/// it) and a JSON body with `Type`, `message` and, for throttles, `Reason`.
fn aws_error(
    status: StatusCode,
    error_type: &str,
    message: &str,
    reason: Option<&str>,
) -> Response {
    let mut body = json!({"Type": "User", "message": message});
    if let Some(reason) = reason {
        body["Reason"] = json!(reason);
    }
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(value) = HeaderValue::from_str(error_type) {
        headers.insert("x-amzn-errortype", value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_is_found_by_name_arn_or_partial_arn() {
        for given in [
            "RefreshOAuthApi-local",
            "RefreshOAuthApi-local:$LATEST",
            "arn:aws:lambda:us-east-1:123456789012:function:RefreshOAuthApi-local",
            "arn:aws:lambda:us-east-1:123456789012:function:RefreshOAuthApi-local:live",
            "123456789012:function:RefreshOAuthApi-local",
        ] {
            assert_eq!(function_name(given), "RefreshOAuthApi-local", "{given}");
        }
    }

    #[test]
    fn failed_invocations_answer_as_lambda_does() {
        let timeout = Duration::from_secs(30);
        let (body, kind) = payload(&Outcome::TimedOut { after_ms: 30_000 }, timeout);
        assert_eq!(kind, Some("Unhandled"));
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["errorType"], "Sandbox.Timedout");
        assert_eq!(body["errorMessage"], "Task timed out after 30.00 seconds");
        let (body, kind) = payload(
            &Outcome::Ok {
                payload: json!({"ok": true}),
            },
            timeout,
        );
        assert_eq!((body, kind), (br#"{"ok":true}"#.to_vec(), None));
    }

    #[test]
    fn the_log_tail_is_the_last_4_kb() {
        let lines: Vec<String> = (0..1000).map(|i| format!("line {i:04}")).collect();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(log_result(&lines))
            .unwrap();
        assert_eq!(decoded.len(), LOG_TAIL_BYTES);
        assert!(String::from_utf8(decoded).unwrap().ends_with("line 0999"));
    }
}
