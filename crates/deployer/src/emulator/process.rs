//! Starts `bootstrap` with the environment Lambda gives a `provided.al2023` function, serves it
//! one invocation, and stops it: killed at the deadline like Lambda does, or once it answered.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::{Notify, oneshot};

use super::api::{self, Invocation as State};
use super::{FunctionSpec, Outcome};

/// Lambda's limit for the init phase of a function without provisioned concurrency.
const INIT_LIMIT: Duration = Duration::from_secs(10);

/// One finished invocation.
#[derive(Debug, Clone, Serialize)]
pub struct Invocation {
    pub request_id: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    pub duration_ms: u64,
    /// What the process printed (stdout and stderr, interleaved as read), newest last.
    pub logs: Vec<String>,
}

/// Runs one invocation of `spec.binary` with `event` as its payload.
pub async fn run(spec: &FunctionSpec, event: &serde_json::Value) -> Result<Invocation> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .context("cannot open the Runtime API port")?;
    let port = listener
        .local_addr()
        .context(
            "cannot read the local Runtime API listener's address; is a loopback interface up?",
        )?
        .port();
    let request_id = request_id();
    let (tx, rx) = oneshot::channel();
    let state = Arc::new(State {
        request_id: request_id.clone(),
        function_arn: format!(
            "arn:aws:lambda:{}:000000000000:function:{}",
            spec.region, spec.function_name
        ),
        event: serde_json::to_vec(event).context(
            "cannot encode the invocation event as JSON (a bug: events are built from JSON values)",
        )?,
        timeout: spec.timeout,
        handed_out: Mutex::new(false),
        done: Mutex::new(Some(tx)),
        deadline: Mutex::new(None),
        never: Notify::new(),
    });
    let server = tokio::spawn(axum::serve(listener, api::router(Arc::clone(&state))).into_future());
    let mut child = command(spec, port, &request_id)
        .spawn()
        .with_context(|| format!("cannot start {}", spec.binary.display()))?;
    let logs = Arc::new(Mutex::new(Vec::new()));
    collect(child.stdout.take(), &logs);
    collect(child.stderr.take(), &logs);
    let started = Instant::now();
    let outcome = wait(&mut child, rx, &state, started).await;
    let _ = child.kill().await;
    state.never.notify_waiters();
    server.abort();
    // Let the readers drain what the process printed before it was stopped.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let logs = logs.lock().map(|l| l.clone()).unwrap_or_default();
    Ok(Invocation {
        request_id,
        outcome,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        logs,
    })
}

async fn wait(
    child: &mut tokio::process::Child,
    mut rx: oneshot::Receiver<super::api::Reported>,
    state: &State,
    started: Instant,
) -> Outcome {
    loop {
        tokio::select! {
            reported = &mut rx => {
                return reported.map_or(Outcome::Crashed { exit: "the Runtime API stopped".into() }, |(o, _)| o);
            }
            status = child.wait() => {
                // It may have reported just before exiting.
                if let Ok((outcome, _)) = rx.try_recv() {
                    return outcome;
                }
                return Outcome::Crashed { exit: status.map_or_else(|e| e.to_string(), |s| s.to_string()) };
            }
            () = tokio::time::sleep(Duration::from_millis(20)) => {
                let deadline = *state.deadline.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let late = match deadline {
                    Some(deadline) => SystemTime::now() > deadline,
                    None => started.elapsed() > INIT_LIMIT,
                };
                if late {
                    let limit = if deadline.is_some() { state.timeout } else { INIT_LIMIT };
                    return Outcome::TimedOut { after_ms: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX) };
                }
            }
        }
    }
}

/// The environment Lambda sets for a custom runtime, then the function's own.
fn command(spec: &FunctionSpec, port: u16, request_id: &str) -> Command {
    let mut cmd = Command::new(&spec.binary);
    let task_root = spec
        .binary
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    cmd.env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("LANG", "en_US.UTF-8")
        .env("TZ", ":UTC")
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", &spec.function_name)
        .env(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            spec.memory_mb.to_string(),
        )
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", spec.function_name),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", format!("local/{request_id}"))
        .env("AWS_REGION", &spec.region)
        .env("AWS_DEFAULT_REGION", &spec.region)
        .env("_HANDLER", "bootstrap")
        .env("LAMBDA_TASK_ROOT", &task_root)
        .envs(&spec.environment)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

fn collect<R: tokio::io::AsyncRead + Unpin + Send + 'static>(
    stream: Option<R>,
    logs: &Arc<Mutex<Vec<String>>>,
) {
    let Some(stream) = stream else { return };
    let logs = Arc::clone(logs);
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Ok(mut l) = logs.lock() {
                l.push(line);
            }
        }
    });
}

/// A request id shaped like Lambda's (a UUID v4), from the clock and the process id.
fn request_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mixed = nanos ^ (u128::from(std::process::id()) << 64);
    let hex = format!("{mixed:032x}");
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}
