//! The apps' readers refreshing on demand, end to end: `deployer serve` puts the deployed zip's
//! functions behind Lambda's Invoke API, and the TypeScript and Python readers reach the token
//! API through their own AWS SDKs (`AWS_ENDPOINT_URL_LAMBDA`), as apps do in AWS. The provider
//! fake rotates refresh tokens and revokes a grant whose rotated-out token is presented again.

#![allow(
    clippy::too_many_lines,
    reason = "end-to-end scenarios read top to bottom; the 60-line limit is for the product's code"
)]
// Helpers of a test fail it by panicking, as the test functions do.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use provider_fakes::{FakeConfig, FakeProviders, Provider, SeedOptions};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::serve::Served;
use support::{
    LocalTokens, deploy, deployer, deployer_env, fakes_stage, import_rows, json, now, project,
    set_all_fake_credentials,
};
use testkit::moto::Moto;

/// Readers per language: 25 TypeScript and 25 Python, 50 token API calls at once.
const PER_READER: usize = 25;

/// A reader's `refresh-many` helper, started and ready: every reader has read the token once.
struct Burst {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Burst {
    fn start(mut command: Command, env: &[(String, String)]) -> Self {
        let mut child = command
            .current_dir(project())
            .env_remove("AWS_PROFILE")
            .envs(env.iter().cloned())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("{command:?} did not get ready: {line:?}"));
        assert_eq!(ready["ready"], PER_READER);
        Self {
            child,
            stdin: Some(stdin),
            stdout,
        }
    }

    /// Sends the line that starts the burst, and closes stdin.
    fn go(&mut self) {
        let mut stdin = self.stdin.take().unwrap();
        stdin.write_all(b"go\n").unwrap();
        stdin.flush().unwrap();
    }

    /// One line per reader, then the token API calls they made.
    fn results(mut self) -> (Vec<Value>, u64) {
        let mut text = String::new();
        self.stdout.read_to_string(&mut text).unwrap();
        assert!(self.child.wait().unwrap().success(), "{text}");
        let mut lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let calls = lines.pop().unwrap()["tokenApiCalls"].as_u64().unwrap();
        (lines, calls)
    }
}

fn typescript() -> Command {
    assert!(
        project().join("clients/typescript/dist/index.js").is_file(),
        "clients/typescript is not built; run scripts/test (or `npm test` in clients/typescript)"
    );
    let mut command = Command::new("node");
    command.arg("clients/typescript/scripts/refresh-many.mjs");
    command
}

fn python() -> Command {
    let python = project().join(".venv-clients/bin/python");
    assert!(
        python.is_file(),
        "{} is missing; run scripts/test (it creates .venv-clients)",
        python.display()
    );
    let mut command = Command::new(python);
    command.arg("clients/python/tests/refresh_many.py");
    command
}

/// The readers' environment: the stack's outputs they read and the standard AWS variables, with
/// Lambda at `deployer serve`.
fn reader_env(moto: &Moto, stage: &str, lambda: &str) -> Vec<(String, String)> {
    let outputs = json(&deployer(moto, &["--json", "outputs", "--stage", stage]));
    let mut env: Vec<(String, String)> = [
        "TokensTableName",
        "KmsKeyArn",
        "TokenApiFnArn",
        "EventBusName",
    ]
    .iter()
    .map(|name| {
        (
            (*name).to_owned(),
            outputs[name].as_str().unwrap().to_owned(),
        )
    })
    .collect();
    env.extend([
        ("AWS_ENDPOINT_URL".to_owned(), moto.endpoint().to_owned()),
        ("AWS_ENDPOINT_URL_LAMBDA".to_owned(), lambda.to_owned()),
        ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID".to_owned(), "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), "testing".to_owned()),
        // The pinned SDK supports node 20; its notice about later releases is noise here.
        (
            "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED".to_owned(),
            "true".to_owned(),
        ),
    ]);
    env
}

/// `stage` deployed with the fakes' credentials, and alice's rotating TikTok grant imported,
/// its access token expiring `expires_in` seconds from now; the stage file's path.
fn with_alice(
    moto: &Moto,
    fakes: &FakeProviders,
    dir: &std::path::Path,
    extra: &str,
    expires_in: u64,
) -> String {
    let stage = fakes_stage(dir, &fakes.base_url(), |t| format!("{t}{extra}"));
    deploy(moto, &stage);
    set_all_fake_credentials(moto, &stage);
    let pair = fakes.seed(Provider::Tiktok, "alice", SeedOptions::default());
    let row = json!({"userId": "alice", "platform": "tiktok", "accessToken": pair.access_token,
        "refreshToken": pair.refresh_token.unwrap(), "expiresAt": now() + expires_in});
    import_rows(moto, &stage, dir, &format!("{row}\n"));
    stage
}

fn sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_readers_force_one_refresh_beside_the_schedule_and_end_with_one_token() {
    let moto = Moto::start();
    let fakes = FakeProviders::start(FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Room for every caller at once: throttling is the endpoint's own test (lambda_endpoint.rs).
    // Due for the schedule (TikTok's window is an hour) and valid for the readers' first read.
    let stage = with_alice(
        &moto,
        &fakes,
        dir.path(),
        "token_api:\n  reserved_concurrency: 60\n",
        600,
    );
    let before = LocalTokens::open(&moto).await.read("alice", "tiktok").await;

    let served = Served::start_at(moto.endpoint(), &stage);
    let outputs = json(&deployer(&moto, &["--json", "outputs", "--stage", &stage]));
    let mut env: Vec<(String, String)> = ["TokensTableName", "KmsKeyArn", "TokenApiFnArn"]
        .iter()
        .map(|name| {
            (
                (*name).to_owned(),
                outputs[name].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    env.extend([
        ("AWS_ENDPOINT_URL".to_owned(), moto.endpoint().to_owned()),
        (
            "AWS_ENDPOINT_URL_LAMBDA".to_owned(),
            served.endpoint.clone(),
        ),
        ("AWS_REGION".to_owned(), "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID".to_owned(), "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), "testing".to_owned()),
    ]);
    let args = [
        "alice".to_owned(),
        "tiktok".to_owned(),
        PER_READER.to_string(),
    ];
    let mut bursts = [typescript(), python()].map(|mut command| {
        command.args(&args);
        Burst::start(command, &env)
    });

    // A slow provider: every caller has read version N before any refresh can write N+1.
    fakes.set_latency(Provider::Tiktok, Duration::from_millis(1500));
    for burst in &mut bursts {
        burst.go();
    }
    // The schedule's run of the same provider, through the same endpoint, at the same moment.
    let scheduled = deployer_env(
        &moto,
        &[
            "--json",
            "invoke",
            "--stage",
            &stage,
            "--providers",
            "tiktok",
        ],
        &[("AWS_ENDPOINT_URL_LAMBDA", &served.endpoint)],
    );
    let [from_typescript, from_python] = bursts;
    let (ts_results, ts_calls) = from_typescript.results();
    let (py_results, py_calls) = from_python.results();
    served.stop();

    let run: Value = serde_json::from_slice(&scheduled.stdout).unwrap();
    assert_eq!(run["mode"], "remote", "{run:#}");
    assert_eq!(run["payload"]["ok"], true, "{run:#}");
    // Every reader asked the token API itself: 50 invocations, none shared in a process.
    assert_eq!((ts_calls, py_calls), (PER_READER as u64, PER_READER as u64));
    let stats = fakes.stats().provider(Provider::Tiktok);
    assert_eq!(stats.reuse_detected, 0, "{stats:?}");
    assert_eq!(
        stats.refresh_calls, 1,
        "one provider call for 50 forced requests and the schedule: {stats:?}"
    );
    let live = fakes.current(Provider::Tiktok, "alice").unwrap();
    let stored = LocalTokens::open(&moto).await.read("alice", "tiktok").await;
    assert_eq!(
        stored.refresh, live.refresh_token,
        "the rotated grant is stored"
    );
    assert_eq!(stored.item.version, before.item.version + 1);
    assert!(stored.item.claim.is_none());
    for result in ts_results.iter().chain(&py_results) {
        assert_eq!(result["ok"], true, "{result}");
        assert_eq!(
            result["accessTokenSha256"],
            sha256(&live.access_token),
            "{result}"
        );
        assert_eq!(result["version"], stored.item.version, "{result}");
    }
    assert_eq!(ts_results.len() + py_results.len(), 2 * PER_READER);
}

/// `requestRefresh` / `request_refresh` put a `token.refresh-requested` event on the stage's bus;
/// the stack's rule matches it (the stand-in delivers to a queue put in place of the rule's
/// target, as it cannot run Lambda targets), and the token API takes the delivered event as it is.
#[tokio::test(flavor = "multi_thread")]
async fn requested_refreshes_match_the_rule_and_the_token_api_takes_them() {
    let moto = Moto::start();
    let fakes = FakeProviders::start(FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Valid for 30 s: an unforced request (60 s of validity by default) refreshes it.
    let stage = with_alice(&moto, &fakes, dir.path(), "", 30);
    let served = Served::start_at(moto.endpoint(), &stage);
    let env = reader_env(&moto, &stage, &served.endpoint);
    let bus = &env.iter().find(|(k, _)| k == "EventBusName").unwrap().1;

    let config = moto.sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let queue = sqs
        .create_queue()
        .queue_name("captured-requests")
        .send()
        .await
        .unwrap();
    let url = queue.queue_url().unwrap();
    let arn = "arn:aws:sqs:us-east-1:123456789012:captured-requests";
    let events = aws_sdk_eventbridge::Client::new(&config);
    // The stand-in cannot run a Lambda target (it would need Docker, and fails PutEvents
    // without it): the rule's target is swapped for a queue; the test delivers to the token API.
    events
        .remove_targets()
        .rule("RefreshOAuthRequested-local")
        .event_bus_name(bus)
        .ids("token-api")
        .send()
        .await
        .unwrap();
    events
        .put_targets()
        .rule("RefreshOAuthRequested-local")
        .event_bus_name(bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("capture")
                .arn(arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let mut typescript = Command::new("node");
    typescript.args([
        "clients/typescript/scripts/request-refresh.mjs",
        "alice",
        "tiktok",
    ]);
    let mut python = Command::new(project().join(".venv-clients/bin/python"));
    python.args([
        "clients/python/tests/request_refresh.py",
        "alice",
        "tiktok",
        "force",
    ]);
    for mut command in [typescript, python] {
        let out = command
            .current_dir(project())
            .env_remove("AWS_PROFILE")
            .envs(env.iter().cloned())
            .output()
            .unwrap();
        let said: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{command:?}: {}", String::from_utf8_lossy(&out.stderr)));
        assert!(out.status.success(), "{command:?}: {said}");
        assert!(said["eventId"].is_string(), "{said}");
    }

    // What the rule delivered: the readers' events, whole, as EventBridge hands them over.
    let mut delivered: Vec<Value> = Vec::new();
    for _ in 0..20 {
        let received = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        delivered.extend(
            received
                .messages()
                .iter()
                .map(|m| serde_json::from_str::<Value>(m.body().unwrap()).unwrap()),
        );
        if delivered.len() >= 2 {
            break;
        }
    }
    assert_eq!(delivered.len(), 2, "{delivered:#?}");
    for event in &delivered {
        assert_eq!(event["detail-type"], "token.refresh-requested");
        assert_eq!(event["source"], "oauth-refresher.reader");
        assert_eq!(event["detail"]["userId"], "alice");
    }
    let forces: Vec<bool> = delivered
        .iter()
        .map(|e| e["detail"]["force"].as_bool().unwrap())
        .collect();
    assert!(
        forces.contains(&true) && forces.contains(&false),
        "{forces:?}"
    );

    // Delivered to the token API as the rule would (asynchronously, the event as it is).
    let lambda = aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::config::Builder::from(&config)
            .endpoint_url(&served.endpoint)
            .build(),
    );
    let unforced = delivered
        .iter()
        .find(|e| e["detail"]["force"] == false)
        .unwrap();
    let out = lambda
        .invoke()
        .function_name("RefreshOAuthApi-local")
        .payload(aws_sdk_lambda::primitives::Blob::new(unforced.to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!(out.function_error(), None);
    let answer: Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(answer["refreshed"], true, "{answer}");

    // The app's status page asks the token API; the operator runs `deployer status`: one report.
    let out = lambda
        .invoke()
        .function_name("RefreshOAuthApi-local")
        .payload(aws_sdk_lambda::primitives::Blob::new(
            json!({"action": "status", "sinceSeconds": 86_400}).to_string(),
        ))
        .send()
        .await
        .unwrap();
    let from_api: Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
    assert_eq!(from_api["ok"], true, "{from_api}");
    let from_cli = json(&deployer(
        &moto,
        &["--json", "status", "--stage", &stage, "--since", "24h"],
    ));
    assert_eq!(from_api["providers"], from_cli["providers"], "{from_api:#}");
    assert_eq!(
        from_api["last_successful_run"],
        from_cli["last_successful_run"]
    );
    let tiktok = from_cli["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == "tiktok")
        .unwrap();
    assert_eq!(tiktok["refreshed"], 1, "{tiktok}");
    served.stop();
    let stats = fakes.stats().provider(Provider::Tiktok);
    assert_eq!((stats.refresh_calls, stats.reuse_detected), (1, 0));
    let stored = LocalTokens::open(&moto).await.read("alice", "tiktok").await;
    assert_eq!(
        stored.refresh,
        fakes
            .current(Provider::Tiktok, "alice")
            .unwrap()
            .refresh_token
    );
}

/// A token API instance killed in the middle of a refresh (the provider call under way): its
/// claim holds the token until it lapses (the deadline + 30 s), a request meanwhile answers
/// `BUSY` without calling the provider, and the first request after the lapse refreshes. The
/// grant is not lost: the call the dead claimer made never completed at the provider (its
/// connection closed with the process), which is the crash proof's bound (only answers in
/// flight can be lost).
#[tokio::test(flavor = "multi_thread")]
async fn a_claimer_killed_mid_refresh_holds_its_token_only_until_the_claim_lapses() {
    let moto = Moto::start();
    let fakes = FakeProviders::start(FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A short timeout keeps the lapse short: deadline (5 s) + 30 s.
    let stage = with_alice(
        &moto,
        &fakes,
        dir.path(),
        "token_api:\n  timeout_s: 5\n",
        3600,
    );
    let served = Served::start_at(moto.endpoint(), &stage);
    let config = moto.sdk_config().await;
    let lambda = aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::config::Builder::from(&config)
            .endpoint_url(&served.endpoint)
            .build(),
    );
    let force = || {
        let lambda = lambda.clone();
        async move {
            let out = lambda
                .invoke()
                .function_name("RefreshOAuthApi-local")
                .payload(aws_sdk_lambda::primitives::Blob::new(
                    json!({"action": "refresh", "userId": "alice", "platform": "tiktok", "force": true})
                        .to_string(),
                ))
                .send()
                .await
                .unwrap();
            let answer: Value = serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
            (out.function_error().map(str::to_owned), answer)
        }
    };

    // The provider takes 4 s: the instance is killed while it waits for the answer.
    fakes.set_latency(Provider::Tiktok, Duration::from_secs(4));
    let doomed = tokio::spawn(force());
    let tokens = LocalTokens::open(&moto).await;
    let mut claimed = None;
    for _ in 0..100 {
        claimed = tokens.read("alice", "tiktok").await.item.claim;
        if claimed.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let claim = claimed.expect("the request claimed the token");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let killed = Command::new("pkill")
        .args(["-KILL", "-P", &served.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success(), "no instance to kill");
    let (error, answer) = doomed.await.unwrap();
    assert_eq!(error.as_deref(), Some("Unhandled"), "{answer}");
    assert_eq!(answer["errorType"], "Runtime.ExitError", "{answer}");
    fakes.set_latency(Provider::Tiktok, Duration::ZERO);

    // The dead claimer's claim still holds: a request waits its budget out and answers BUSY.
    let (error, answer) = force().await;
    assert_eq!(error, None);
    assert_eq!(answer["error"]["code"], "BUSY", "{answer}");
    assert_eq!(answer["error"]["retryable"], true);
    assert_eq!(fakes.stats().provider(Provider::Tiktok).refreshed, 0);

    // After the lapse, the next request takes the claim over and refreshes.
    let lapse = claim.until.saturating_sub(now()) + 1;
    tokio::time::sleep(Duration::from_secs(lapse)).await;
    let (error, answer) = force().await;
    assert_eq!(error, None);
    assert_eq!(answer["refreshed"], true, "{answer}");
    served.stop();
    let stats = fakes.stats().provider(Provider::Tiktok);
    assert_eq!((stats.refreshed, stats.reuse_detected), (1, 0), "{stats:?}");
    let stored = tokens.read("alice", "tiktok").await;
    assert_eq!(
        stored.refresh,
        fakes
            .current(Provider::Tiktok, "alice")
            .unwrap()
            .refresh_token,
        "the grant is whole"
    );
    assert!(stored.item.claim.is_none());
}
