//! One instance of a function, as Lambda keeps one: `bootstrap` started with the environment
//! Lambda gives a `provided.al2023` function, its own Runtime API on a loopback port, serving
//! invocations one after the other. An instance that timed out, crashed or failed its init is
//! spent: it is killed, as Lambda does, and a new one takes its place.

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::api::{self, Job, Runtime};
use super::{FunctionSpec, Outcome};

/// Lambda's limit for the init phase of a function without provisioned concurrency.
const INIT_LIMIT: Duration = Duration::from_secs(10);

/// Where an instance's output lines go.
#[derive(Debug, Clone)]
pub enum LogSink {
    /// Kept, all of them (one invocation's whole log).
    Keep,
    /// Written to this process's stderr as they come, each prefixed (`deployer serve`); the
    /// last lines are kept for an invocation's `Tail` log.
    Echo { prefix: String },
}

/// The last lines an echoing instance keeps (for Lambda's 4 KB `LogResult`).
const ECHO_KEPT: usize = 200;

/// How one invocation ended, with the lines printed while it ran.
pub struct Ended {
    pub request_id: String,
    pub outcome: Outcome,
    pub duration: Duration,
    pub logs: Vec<String>,
}

pub(super) struct Instance {
    child: Child,
    jobs: mpsc::Sender<Job>,
    runtime: Arc<Runtime>,
    server: JoinHandle<()>,
    logs: Arc<Mutex<Logs>>,
    /// False once an invocation timed out, crashed or failed its init.
    usable: bool,
    /// Keeps every line: the end of an invocation waits for the last ones to be read.
    keep_all: bool,
}

/// Lines printed so far; `seen` counts every line, also those no longer kept.
#[derive(Default)]
struct Logs {
    lines: VecDeque<String>,
    seen: usize,
    cap: Option<usize>,
}

impl Instance {
    /// Starts `bootstrap` and its Runtime API; its init runs while the first invocation waits.
    pub(super) async fn start(spec: &FunctionSpec, sink: LogSink) -> Result<Self> {
        let (jobs, queue) = mpsc::channel(1);
        let runtime = Arc::new(Runtime::new(function_arn(spec), queue));
        let (port, server) = serve_runtime_api(Arc::clone(&runtime)).await?;
        let mut child = match command(spec, port).spawn() {
            Ok(child) => child,
            Err(e) => {
                server.abort();
                return Err(e).with_context(|| {
                    format!(
                        "cannot start {}; is it the zip's Linux executable?",
                        spec.binary.display()
                    )
                });
            }
        };
        let logs = Arc::new(Mutex::new(Logs {
            cap: matches!(sink, LogSink::Echo { .. }).then_some(ECHO_KEPT),
            ..Logs::default()
        }));
        collect(child.stdout.take(), &logs, &sink);
        collect(child.stderr.take(), &logs, &sink);
        Ok(Self {
            child,
            jobs,
            runtime,
            server,
            logs,
            usable: true,
            keep_all: matches!(sink, LogSink::Keep),
        })
    }

    /// Whether it can take another invocation.
    pub(super) fn usable(&self) -> bool {
        self.usable
    }

    /// Serves one invocation of `event`, with `timeout` from when the process takes it.
    pub(super) async fn invoke(&mut self, event: Vec<u8>, timeout: Duration) -> Ended {
        let request_id = request_id();
        let first_line = lock(&self.logs).seen;
        let started = Instant::now();
        let (done, rx) = oneshot::channel();
        let job = Job {
            request_id: request_id.clone(),
            event,
            timeout,
            done,
        };
        let outcome = if self.jobs.send(job).await.is_err() {
            Outcome::Crashed {
                exit: "the instance's Runtime API stopped".into(),
            }
        } else {
            self.wait(rx, &request_id, timeout).await
        };
        if !matches!(outcome, Outcome::Ok { .. } | Outcome::Error { .. }) {
            self.usable = false;
        }
        let duration = started.elapsed();
        if !self.usable {
            self.stop().await;
        }
        if self.keep_all {
            // Let the readers take in what the process printed before it answered or stopped.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ended {
            request_id,
            outcome,
            duration,
            logs: lock(&self.logs).since(first_line),
        }
    }

    async fn wait(
        &mut self,
        mut rx: oneshot::Receiver<Outcome>,
        request_id: &str,
        timeout: Duration,
    ) -> Outcome {
        let started = Instant::now();
        loop {
            tokio::select! {
                reported = &mut rx => {
                    return reported.unwrap_or_else(|_| Outcome::Crashed { exit: "the Runtime API stopped".into() });
                }
                status = self.child.wait() => {
                    // It may have reported just before exiting.
                    if let Ok(outcome) = rx.try_recv() {
                        return outcome;
                    }
                    if let Some(outcome) = self.runtime.init_error() {
                        return outcome;
                    }
                    return Outcome::Crashed { exit: status.map_or_else(|e| e.to_string(), |s| s.to_string()) };
                }
                () = tokio::time::sleep(Duration::from_millis(20)) => {
                    if let Some(outcome) = self.late(request_id, timeout, started) {
                        return outcome;
                    }
                }
            }
        }
    }

    /// The outcome when the invocation is past its deadline or its init failed, else `None`.
    fn late(&self, request_id: &str, timeout: Duration, started: Instant) -> Option<Outcome> {
        if let Some(outcome) = self.runtime.init_error() {
            return Some(outcome);
        }
        let (late, limit) = match self.runtime.deadline(request_id) {
            Some(deadline) => (SystemTime::now() > deadline, timeout),
            // Not taken yet: a fresh instance is still in its init phase.
            None => (started.elapsed() > INIT_LIMIT, INIT_LIMIT),
        };
        late.then(|| Outcome::TimedOut {
            after_ms: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// Kills the process and closes its Runtime API.
    pub(super) async fn stop(&mut self) {
        let _ = self.child.kill().await;
        self.server.abort();
        self.usable = false;
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        // The child is killed on drop (`kill_on_drop`); the listener goes with its task.
        self.server.abort();
    }
}

impl Logs {
    fn push(&mut self, line: String) {
        self.lines.push_back(line);
        self.seen += 1;
        if let Some(cap) = self.cap {
            while self.lines.len() > cap {
                self.lines.pop_front();
            }
        }
    }

    /// The kept lines printed after the first `first` lines.
    fn since(&self, first: usize) -> Vec<String> {
        let dropped = self.seen - self.lines.len();
        let skip = first.saturating_sub(dropped);
        self.lines.iter().skip(skip).cloned().collect()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn function_arn(spec: &FunctionSpec) -> String {
    format!(
        "arn:aws:lambda:{}:000000000000:function:{}",
        spec.region, spec.function_name
    )
}

/// Serves `runtime`'s Runtime API on a new loopback port: the port, and the server's task (only
/// ever stopped by aborting it).
async fn serve_runtime_api(runtime: Arc<Runtime>) -> Result<(u16, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .context("cannot open a loopback port for the Runtime API")?;
    let port = listener
        .local_addr()
        .context("cannot read the Runtime API listener's address; is a loopback interface up?")?
        .port();
    let app = api::router(runtime);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((port, server))
}

/// The environment Lambda sets for a custom runtime, then the function's own.
fn command(spec: &FunctionSpec, port: u16) -> Command {
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
            crate::stage::log_group(&spec.function_name),
        )
        .env(
            "AWS_LAMBDA_LOG_STREAM_NAME",
            format!("local/{}", request_id()),
        )
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
    logs: &Arc<Mutex<Logs>>,
    sink: &LogSink,
) {
    let Some(stream) = stream else { return };
    let logs = Arc::clone(logs);
    let prefix = match sink {
        LogSink::Keep => None,
        LogSink::Echo { prefix } => Some(prefix.clone()),
    };
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(prefix) = &prefix {
                crate::output::note(&format!("{prefix} {line}"));
            }
            lock(&logs).push(line);
        }
    });
}

/// A request id shaped like Lambda's (a UUID v4), from the clock, the process id and a counter.
pub(super) fn request_id() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let count = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mixed = nanos ^ (u128::from(std::process::id()) << 64) ^ (u128::from(count) << 96);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capped_log_gives_the_lines_since_a_mark_it_still_keeps() {
        let mut logs = Logs {
            cap: Some(3),
            ..Logs::default()
        };
        for i in 0..5 {
            logs.push(format!("line {i}"));
        }
        // Lines 0 and 1 were dropped; from mark 3, lines 3 and 4.
        assert_eq!(logs.since(3), vec!["line 3", "line 4"]);
        // A mark before what is kept gives what is kept.
        assert_eq!(logs.since(0), vec!["line 2", "line 3", "line 4"]);
        let mut all = Logs::default();
        all.push("a".into());
        all.push("b".into());
        assert_eq!(all.since(1), vec!["b"]);
    }

    #[test]
    fn request_ids_are_unique_and_shaped_like_lambdas() {
        let a = request_id();
        let b = request_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }
}
