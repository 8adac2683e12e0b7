//! The Runtime API emulator with a runtime that behaves (or misbehaves) like a `bootstrap`:
//! response, invocation error with its type, init error, deadline, crash.

// Helpers of a test fail it by panicking, as the test functions do.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

mod support;

use deployer::emulator::{FunctionSpec, Outcome, run};
use serde_json::json;

/// The fixture runtime as `RefreshOAuth-local`, in `mode`, with a setting from "the stack".
fn spec(dir: &Path, mode: &str, timeout: Duration) -> FunctionSpec {
    support::fake_runtime(
        dir,
        "RefreshOAuth-local",
        timeout,
        &[("FAKE_MODE", mode), ("CUSTOM_SETTING", "from-the-stack")],
    )
}

#[tokio::test]
async fn a_response_comes_back_with_the_function_environment() {
    let dir = tempfile::tempdir().unwrap();
    let result = run(
        &spec(dir.path(), "echo", Duration::from_secs(30)),
        &json!({"providers": ["tiktok"]}),
    )
    .await
    .unwrap();
    let Outcome::Ok { payload } = result.outcome else {
        panic!("{result:?}")
    };
    assert_eq!(payload["event"], json!({"providers": ["tiktok"]}));
    assert_eq!(payload["functionName"], "RefreshOAuth-local");
    assert_eq!(payload["memory"], "256");
    assert_eq!(payload["custom"], "from-the-stack");
    assert!(
        payload["arn"]
            .as_str()
            .unwrap()
            .ends_with(":function:RefreshOAuth-local")
    );
    let remaining = payload["remainingMs"].as_i64().unwrap();
    assert!(
        (20_000..=30_000).contains(&remaining),
        "deadline header: {remaining} ms left"
    );
    assert!(
        result
            .logs
            .iter()
            .any(|l| l == &format!("handling {}", result.request_id)),
        "{:?}",
        result.logs
    );
}

#[tokio::test]
async fn an_invocation_error_keeps_its_type() {
    let dir = tempfile::tempdir().unwrap();
    let result = run(
        &spec(dir.path(), "error", Duration::from_secs(30)),
        &json!({}),
    )
    .await
    .unwrap();
    assert_eq!(
        result.outcome,
        Outcome::Error {
            error_type: "Refresh.ProviderDown".into(),
            error_message: "provider unreachable".into()
        }
    );
}

#[tokio::test]
async fn an_init_error_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let result = run(
        &spec(dir.path(), "init-error", Duration::from_secs(30)),
        &json!({}),
    )
    .await
    .unwrap();
    assert_eq!(
        result.outcome,
        Outcome::InitError {
            error_type: "Runtime.ConfigError".into(),
            error_message: "TOKENS_TABLE is not set".into()
        }
    );
}

#[tokio::test]
async fn a_handler_that_outlives_its_deadline_is_timed_out() {
    let dir = tempfile::tempdir().unwrap();
    let result = run(
        &spec(dir.path(), "sleep", Duration::from_secs(1)),
        &json!({}),
    )
    .await
    .unwrap();
    assert_eq!(result.outcome, Outcome::TimedOut { after_ms: 1000 });
    assert!(
        result.duration_ms < 5_000,
        "killed at the deadline, not after the 30 s sleep: {}",
        result.duration_ms
    );
}

#[tokio::test]
async fn a_crash_is_reported_with_its_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let result = run(
        &spec(dir.path(), "crash", Duration::from_secs(30)),
        &json!({}),
    )
    .await
    .unwrap();
    let Outcome::Crashed { exit } = &result.outcome else {
        panic!("{result:?}")
    };
    assert!(exit.contains('3'), "{exit}");
    assert!(
        result.logs.contains(&"about to crash".to_owned()),
        "{:?}",
        result.logs
    );
}
