//! The `bootstrap` binary as Lambda runs it: a process polling a Runtime API (a minimal emulator
//! here, on loopback), configured from its environment, reaching AWS (moto) through
//! `AWS_ENDPOINT_URL`. One dry-run invocation goes through the whole entry point; a bad
//! configuration fails the cold start with one message naming every problem.

#![allow(
    clippy::too_many_lines,
    reason = "end-to-end scenarios read top to bottom; the 60-line limit is for the product's code"
)]
// Test helpers fail the test by panicking, as the tests themselves do.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType,
};
use serde_json::{Value, json};
use testkit::moto::Moto;

type Posted = Arc<Mutex<Vec<(String, String)>>>;

/// A Runtime API that hands out one invocation, then holds further polls.
struct RuntimeApi {
    addr: SocketAddr,
    posted: Posted,
    first_poll: Arc<Mutex<Option<Instant>>>,
}

impl RuntimeApi {
    fn start(event: &Value, deadline_ms: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let posted = Posted::default();
        let served = Arc::new(AtomicBool::new(false));
        let first_poll = Arc::new(Mutex::new(None));
        let state = (posted.clone(), event.to_string(), first_poll.clone());
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                state.2.lock().unwrap().get_or_insert_with(Instant::now);
                let (posted, event, served) = (state.0.clone(), state.1.clone(), served.clone());
                thread::spawn(move || serve(stream, &event, deadline_ms, &served, &posted));
            }
        });
        Self {
            addr,
            posted,
            first_poll,
        }
    }

    /// The first response or error the function posted, waiting up to 60 s.
    fn wait_for_post(&self) -> (String, String) {
        let deadline = Instant::now() + Duration::from_mins(1);
        while Instant::now() < deadline {
            if let Some(first) = self.posted.lock().unwrap().first() {
                return first.clone();
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!("the function posted nothing to the Runtime API within 60 s");
    }
}

/// One keep-alive connection: requests in sequence.
fn serve(stream: TcpStream, event: &str, deadline_ms: u64, served: &AtomicBool, posted: &Posted) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut start = String::new();
        if reader.read_line(&mut start).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = start.split_whitespace();
        let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let (method, path) = (method.to_owned(), path.to_owned());
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        if method == "GET" && path.ends_with("/invocation/next") {
            if served.swap(true, Ordering::SeqCst) {
                // One invocation per test: hold the next poll until the process is stopped.
                thread::sleep(Duration::from_hours(1));
                return;
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Lambda-Runtime-Aws-Request-Id: req-1\r\nLambda-Runtime-Deadline-Ms: {deadline_ms}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:refresher\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793\r\n\r\n{event}",
                event.len()
            );
            writer.write_all(head.as_bytes()).unwrap();
        } else {
            posted
                .lock()
                .unwrap()
                .push((path, String::from_utf8_lossy(&body).into_owned()));
            let accepted = "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
            writer.write_all(accepted.as_bytes()).unwrap();
        }
    }
}

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// The tokens table with its `byExpiry` index, one due TikTok item, and the credentials secret.
async fn prepare(moto: &Moto) {
    let sdk = moto.sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let attr = |name: &str, kind| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(kind)
            .build()
            .unwrap()
    };
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    let projection = Projection::builder()
        .projection_type(ProjectionType::Include)
        .non_key_attributes("version")
        .non_key_attributes("status")
        .build();
    let index = GlobalSecondaryIndex::builder()
        .index_name("byExpiry")
        .key_schema(key("platform", KeyType::Hash))
        .key_schema(key("expiresAt", KeyType::Range))
        .projection(projection)
        .build()
        .unwrap();
    ddb.create_table()
        .table_name("tokens")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr("userId", ScalarAttributeType::S))
        .attribute_definitions(attr("platform", ScalarAttributeType::S))
        .attribute_definitions(attr("expiresAt", ScalarAttributeType::N))
        .key_schema(key("userId", KeyType::Hash))
        .key_schema(key("platform", KeyType::Range))
        .global_secondary_indexes(index)
        .send()
        .await
        .unwrap();
    let due = (now_ms() / 1000 + 60).to_string();
    ddb.put_item()
        .table_name("tokens")
        .item("userId", AttributeValue::S("u1".to_owned()))
        .item("platform", AttributeValue::S("tiktok".to_owned()))
        .item("expiresAt", AttributeValue::N(due))
        .item("version", AttributeValue::N("1".to_owned()))
        .item(
            "refreshToken",
            AttributeValue::S("legacy-refresh".to_owned()),
        )
        .send()
        .await
        .unwrap();
    aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name("creds")
        .secret_string(r#"{"tiktok": {"client_id": "app", "client_secret": "app-secret"}}"#)
        .send()
        .await
        .unwrap();
}

fn bootstrap(env: &[(&str, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bootstrap"));
    command
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn lambda_env(api: &RuntimeApi, moto: &Moto) -> Vec<(&'static str, String)> {
    let providers = json!({"tiktok": {"kind": "tiktok", "windowSeconds": 3600,
        "rateLimitPerMinute": 600, "concurrency": 1, "tokenUrl": "http://127.0.0.1:9/token"}});
    [
        ("AWS_LAMBDA_RUNTIME_API", api.addr.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", "refresher".to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_ENDPOINT_URL", moto.endpoint().to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("STAGE", "test".to_owned()),
        ("TOKENS_TABLE", "tokens".to_owned()),
        ("TOKENS_EXPIRY_INDEX", "byExpiry".to_owned()),
        ("ANALYTICS_TABLE", "analytics".to_owned()),
        ("KMS_KEY_ID", "alias/test".to_owned()),
        ("CREDENTIALS_SECRET_ID", "creds".to_owned()),
        ("EVENT_BUS_NAME", "bus".to_owned()),
        ("DLQ_URL", format!("{}/123456789012/dlq", moto.endpoint())),
        ("JITTER_SECONDS", "0".to_owned()),
        ("PROVIDERS", providers.to_string()),
    ]
    .into()
}

#[tokio::test]
async fn bootstrap_answers_an_invocation_from_the_runtime_api() {
    let moto = Moto::start();
    prepare(&moto).await;
    let api = RuntimeApi::start(&json!({"dryRun": true}), now_ms() + 120_000);
    let spawned = Instant::now();
    let mut child = bootstrap(&lambda_env(&api, &moto)).spawn().unwrap();
    let (path, body) = api.wait_for_post();
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    child.kill().unwrap();
    // Figures for BENCHMARKS.md (`--nocapture`; meaningful for a release build of the binary).
    let first_poll = api.first_poll.lock().unwrap().unwrap() - spawned;
    let peak = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .unwrap_or("VmHWM: ?");
    eprintln!("bootstrap: exec to first Runtime API poll {first_poll:.1?}; peak RSS {peak}");
    let output = child.wait_with_output().unwrap();
    let logs = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        path, "/2018-06-01/runtime/invocation/req-1/response",
        "{body}\n{logs}"
    );
    let response: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (&response["ok"], &response["dryRun"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(response["skipped"], 1, "{response:#}");
    assert_eq!(response["results"][0]["reason"], "dry_run");
    assert!(logs.contains(r#""event":"due_tokens""#), "{logs}");
    assert!(!logs.contains("legacy-refresh") && !logs.contains("app-secret"));
}

#[test]
fn a_bad_configuration_fails_the_cold_start_with_one_message() {
    let env = [
        ("AWS_REGION", "us-east-1".to_owned()),
        ("TOKENS_TABLE", "tokens".to_owned()),
        ("JITTER_SECONDS", "soon".to_owned()),
    ];
    let output = bootstrap(&env).output().unwrap();
    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let [line] = lines.as_slice() else {
        panic!("expected one log line, got:\n{stdout}")
    };
    let log: Value = serde_json::from_str(line).unwrap();
    assert_eq!(log["fields"]["event"], "cold_start_failed");
    let error = log["fields"]["error"].as_str().unwrap();
    assert!(
        error.starts_with("the refresher's configuration has 9 problems"),
        "{error}"
    );
    assert!(error.contains("STAGE is not set") && error.contains("JITTER_SECONDS is `soon`"));
}
