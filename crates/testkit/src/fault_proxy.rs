//! A fault-injecting reverse proxy in front of the local AWS stand-in, for the store-fault proof
//! (RELIABILITY.md, scenario 2). Clients point `AWS_ENDPOINT_URL` at [`FaultProxy::endpoint`];
//! each request is forwarded to the stand-in unless a [`Rule`] for its operation (the JSON
//! protocol's `X-Amz-Target`, e.g. `DynamoDB_20120810.UpdateItem`, `TrentService.Decrypt`) fires,
//! and then it is answered as AWS answers under load: a throttling error, an internal error, a
//! connection closed without an answer, or one closed after the stand-in applied the request.
//!
//! Written here rather than taken from a crate: what it must do is AWS-specific (which operation
//! a request is, which error body the SDK classifies as throttling), and it is 150 lines over
//! hyper.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::resource_policy::{self, Policy, Resolver};

/// What a firing rule does to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// HTTP 400 with the service's `ThrottlingException` (DynamoDB: as `ProvisionedThroughputExceededException`
    /// is answered too, the SDK retries both).
    Throttle,
    /// HTTP 500 with the service's internal error.
    ServerError,
    /// The connection is closed without an answer (the request never reaches the stand-in).
    Drop,
    /// The request is forwarded and applied by the stand-in, then the connection is closed
    /// before its answer: the client cannot tell this from [`Fault::Drop`].
    LoseAnswer,
}

/// Fires `fault` on `per_mille` of the requests whose `X-Amz-Target` ends with `target` (and
/// whose body contains none of `unless_body`, to spare e.g. the provider locks' items).
#[derive(Debug, Clone)]
pub struct Rule {
    pub target: &'static str,
    pub fault: Fault,
    pub per_mille: u32,
    pub unless_body: &'static [&'static str],
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    /// `(target, fault)` -> how many times it fired; `(target, None)` -> forwarded.
    fired: BTreeMap<(String, Option<Fault>), u64>,
    /// The identity policy every request is checked against, resources included.
    policy: Option<(Policy, Resolver)>,
    checks: PolicyChecks,
}

/// What the resource check of [`FaultProxy::set_policy`] judged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyChecks {
    /// Calls judged on their action and every resource they name.
    pub on_resources: u64,
    /// Calls that name no resource (KMS `Decrypt`), judged on their action.
    pub on_action_only: u64,
    /// Calls of a service the check does not read, left to the stand-in.
    pub not_read: u64,
    /// `action resource...` of every refused call.
    pub denied: Vec<String>,
}

/// The running proxy; dropping it stops it.
pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

/// Closes the connection: returned as the service's error, hyper ends it without an answer.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for DropConnection {}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream` (`http://127.0.0.1:PORT`).
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("cannot listen on a loopback port for the fault proxy");
        let addr = listener
            .local_addr()
            .expect("the fault proxy's listener has no address");
        let state = Arc::new(Mutex::new(State::default()));
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        let upstream = upstream.trim_end_matches('/').to_owned();
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (state, client, upstream) =
                    (Arc::clone(&shared), client.clone(), upstream.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        handle(
                            request,
                            Arc::clone(&state),
                            client.clone(),
                            upstream.clone(),
                        )
                    });
                    // A dropped connection ends here with the service's error; nothing to report.
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, state, task }
    }

    /// The URL to give the clients.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the rules (an empty list forwards everything).
    pub fn set_rules(&self, rules: Vec<Rule>) {
        self.lock().rules = rules;
    }

    /// Checks every later request against `policy` (see [`crate::resource_policy`]) and refuses
    /// what it does not allow as AWS does (`AccessDeniedException`); `None` stops checking.
    pub fn set_policy(&self, policy: Option<(Policy, Resolver)>) {
        let mut state = self.lock();
        state.policy = policy;
        state.checks = PolicyChecks::default();
    }

    /// What the resource check judged since [`FaultProxy::set_policy`].
    pub fn policy_checks(&self) -> PolicyChecks {
        self.lock().checks.clone()
    }

    /// How often each fault fired, per operation target.
    pub fn fired(&self) -> BTreeMap<(String, Fault), u64> {
        self.lock()
            .fired
            .iter()
            .filter_map(|((target, fault), n)| fault.map(|f| ((target.clone(), f), *n)))
            .collect()
    }

    /// Requests forwarded to the stand-in, per operation target.
    pub fn forwarded(&self) -> BTreeMap<String, u64> {
        self.lock()
            .fired
            .iter()
            .filter(|((_, fault), _)| fault.is_none())
            .map(|((target, _), n)| (target.clone(), *n))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    request: Request<Incoming>,
    state: Arc<Mutex<State>>,
    client: Client<HttpConnector, Full<Bytes>>,
    upstream: String,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let target = request
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(|_| DropConnection)?.to_bytes();
    let text = String::from_utf8_lossy(&body);
    let region = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(resource_policy::region_of)
        .unwrap_or("us-east-1")
        .to_owned();
    let fault = {
        let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(refusal) = judge(&mut state, &target, &text, &region) {
            return Ok(refusal);
        }
        let fault = state
            .rules
            .iter()
            .filter(|r| !target.is_empty() && target.ends_with(r.target))
            .filter(|r| !r.unless_body.iter().any(|spared| text.contains(spared)))
            .find(|r| rand::random::<u32>() % 1000 < r.per_mille)
            .map(|r| r.fault);
        *state.fired.entry((target.clone(), fault)).or_insert(0) += 1;
        fault
    };
    match fault {
        Some(Fault::Drop) => return Err(DropConnection),
        Some(fault @ (Fault::Throttle | Fault::ServerError)) => {
            return Ok(error_answer(&target, fault));
        }
        Some(Fault::LoseAnswer) | None => {}
    }
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut forward = Request::builder()
        .method(parts.method)
        .uri(format!("{upstream}{path}"));
    for (name, value) in &parts.headers {
        forward = forward.header(name, value);
    }
    let forward = forward.body(Full::new(body)).map_err(|_| DropConnection)?;
    let answer = client.request(forward).await.map_err(|_| DropConnection)?;
    let (parts, body) = answer.into_parts();
    let body = body.collect().await.map_err(|_| DropConnection)?.to_bytes();
    if fault == Some(Fault::LoseAnswer) {
        return Err(DropConnection);
    }
    Ok(Response::from_parts(parts, Full::new(body)))
}

/// The policy check of one request: the refusal to answer, if it is not allowed.
fn judge(
    state: &mut State,
    target: &str,
    body: &str,
    region: &str,
) -> Option<Response<Full<Bytes>>> {
    let (policy, resolver) = state.policy.as_ref()?;
    let body: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let Some(call) = resolver.call(target, &body, region) else {
        state.checks.not_read += 1;
        return None;
    };
    let allowed = policy.allows(&call);
    if call.resources.is_empty() {
        state.checks.on_action_only += 1;
    } else {
        state.checks.on_resources += 1;
    }
    if allowed {
        return None;
    }
    let what = format!("{} {}", call.action, call.resources.join(" "));
    state.checks.denied.push(what.trim_end().to_owned());
    let kind = if target.starts_with("DynamoDB_") {
        "com.amazonaws.dynamodb.v20120810#AccessDeniedException"
    } else {
        "AccessDeniedException"
    };
    let message = format!(
        "User is not authorized to perform: {} on resource: {} (the fault proxy's resource check)",
        call.action,
        call.resources.join(", ")
    );
    let body = serde_json::json!({"__type": kind, "message": message}).to_string();
    Some(
        Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .header("content-type", content_type(target))
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()))),
    )
}

/// DynamoDB and SQS speak JSON 1.0, the others 1.1.
fn content_type(target: &str) -> &'static str {
    if target.starts_with("DynamoDB_") || target.starts_with("AmazonSQS") {
        "application/x-amz-json-1.0"
    } else {
        "application/x-amz-json-1.1"
    }
}

/// The error AWS's JSON protocol answers, as the SDK reads it (`__type` names the error).
fn error_answer(target: &str, fault: Fault) -> Response<Full<Bytes>> {
    let dynamodb = target.starts_with("DynamoDB_");
    let (status, kind) = match (fault, dynamodb) {
        (Fault::Throttle, true) => (
            StatusCode::BAD_REQUEST,
            "com.amazonaws.dynamodb.v20120810#ThrottlingException",
        ),
        (Fault::Throttle, false) => (StatusCode::BAD_REQUEST, "ThrottlingException"),
        (_, true) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "com.amazonaws.dynamodb.v20120810#InternalServerError",
        ),
        (_, false) => (StatusCode::INTERNAL_SERVER_ERROR, "KMSInternalException"),
    };
    let content_type = content_type(target);
    let body = format!(r#"{{"__type":"{kind}","message":"injected by the fault proxy"}}"#);
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}
