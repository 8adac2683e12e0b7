//! `deployer serve`'s Lambda endpoint, called through the AWS SDK's own Lambda client as an app
//! calls it: warm instances, concurrency and throttling, function errors, a crashed instance
//! replaced, unknown functions, asynchronous invocations. The function is the fixture runtime
//! (`tests/fixtures/fake_runtime.py`), which talks to the Runtime API as a `bootstrap` does.

// Helpers of a test fail it by panicking, as the test functions do.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use deployer::emulator::endpoint;
use deployer::emulator::pool::Pool;
use deployer::emulator::{FunctionSpec, LogSink};

mod support;
use serde_json::{Value, json};

const FUNCTION: &str = "RefreshOAuthApi-local";

fn spec(dir: &Path, timeout: Duration) -> FunctionSpec {
    support::fake_runtime(dir, FUNCTION, timeout, &[("FAKE_MODE", "echo")])
}

/// The endpoint serving the fixture with `limit` instances, and an SDK client pointed at it.
async fn serve(dir: &Path, limit: usize, timeout: Duration) -> (aws_sdk_lambda::Client, Arc<Pool>) {
    let pool = Arc::new(Pool::new(
        spec(dir, timeout),
        limit,
        LogSink::Echo {
            prefix: format!("[{FUNCTION}]"),
        },
    ));
    let functions = Arc::new(BTreeMap::from([(FUNCTION.to_owned(), Arc::clone(&pool))]));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, endpoint::router(functions))
            .await
            .unwrap();
    });
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
        .region(aws_sdk_lambda::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_lambda::config::Credentials::for_tests())
        .endpoint_url(format!("http://{address}"))
        // Throttles are what these tests look at: no retry hides them.
        .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled())
        .build();
    (aws_sdk_lambda::Client::from_conf(config), pool)
}

async fn invoke(
    client: &aws_sdk_lambda::Client,
    function: &str,
    event: &Value,
) -> (Option<String>, Value) {
    let out = client
        .invoke()
        .function_name(function)
        .payload(Blob::new(event.to_string()))
        .send()
        .await
        .unwrap();
    let payload = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    (out.function_error().map(str::to_owned), payload)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_instance_stays_warm_between_invocations() {
    let dir = tempfile::tempdir().unwrap();
    let (client, pool) = serve(dir.path(), 2, Duration::from_secs(30)).await;
    let (error, first) = invoke(&client, FUNCTION, &json!({"n": 1})).await;
    assert_eq!(error, None, "{first}");
    assert_eq!(first["event"], json!({"n": 1}));
    assert_eq!(first["functionName"], FUNCTION);
    // By ARN, as an app given the output TokenApiFnArn calls it.
    let arn = format!("arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}");
    let (_, second) = invoke(&client, &arn, &json!({"n": 2})).await;
    assert_eq!(second["pid"], first["pid"], "the same warm process");
    assert_eq!(
        (first["served"].as_u64(), second["served"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(pool.idle_instances(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn beyond_its_concurrency_an_invocation_is_throttled_as_lambda_does() {
    let dir = tempfile::tempdir().unwrap();
    let (client, _pool) = serve(dir.path(), 2, Duration::from_secs(30)).await;
    let slow = json!({"sleepMs": 1500});
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let client = client.clone();
            let event = slow.to_string();
            tokio::spawn(async move {
                client
                    .invoke()
                    .function_name(FUNCTION)
                    .payload(Blob::new(event))
                    .send()
                    .await
            })
        })
        .collect();
    let mut served = 0;
    let mut throttled = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(out) => {
                assert_eq!(out.function_error(), None);
                served += 1;
            }
            Err(err) => {
                let service = err.into_service_error();
                assert!(service.is_too_many_requests_exception(), "{service:?}");
                throttled += 1;
            }
        }
    }
    assert_eq!((served, throttled), (2, 1));
    // The instances are free again: the next call is served.
    let (error, _) = invoke(&client, FUNCTION, &json!({})).await;
    assert_eq!(error, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_invocations_answer_with_a_function_error_and_a_crashed_instance_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let (client, _pool) = serve(dir.path(), 1, Duration::from_secs(2)).await;
    let (_, first) = invoke(&client, FUNCTION, &json!({})).await;

    let (error, answer) = invoke(&client, FUNCTION, &json!({"mode": "error"})).await;
    assert_eq!(error.as_deref(), Some("Unhandled"));
    assert_eq!(answer["errorType"], "Refresh.ProviderDown");
    // An invocation error leaves the instance warm.
    let (_, after_error) = invoke(&client, FUNCTION, &json!({})).await;
    assert_eq!(after_error["pid"], first["pid"]);

    let (error, answer) = invoke(&client, FUNCTION, &json!({"mode": "crash"})).await;
    assert_eq!(error.as_deref(), Some("Unhandled"));
    assert_eq!(answer["errorType"], "Runtime.ExitError");
    let (error, answer) = invoke(&client, FUNCTION, &json!({"mode": "sleep"})).await;
    assert_eq!(error.as_deref(), Some("Unhandled"));
    assert_eq!(answer["errorType"], "Sandbox.Timedout");

    let (error, replaced) = invoke(&client, FUNCTION, &json!({})).await;
    assert_eq!(error, None, "{replaced}");
    assert_ne!(replaced["pid"], first["pid"], "a new instance");
    assert_eq!(replaced["served"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_functions_and_asynchronous_invocations() {
    let dir = tempfile::tempdir().unwrap();
    let (client, pool) = serve(dir.path(), 1, Duration::from_secs(30)).await;
    let err = client
        .invoke()
        .function_name("RefreshOAuthApi-prod")
        .payload(Blob::new("{}"))
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_resource_not_found_exception(), "{err:?}");
    assert!(
        err.to_string().contains(FUNCTION),
        "names what it serves: {err}"
    );

    let out = client
        .invoke()
        .function_name(FUNCTION)
        .invocation_type(InvocationType::Event)
        .payload(Blob::new("{}"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), 202);
    // The event runs after the answer: its instance becomes idle once it is served.
    for _ in 0..100 {
        if pool.idle_instances() == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the asynchronous invocation never ran");
}
