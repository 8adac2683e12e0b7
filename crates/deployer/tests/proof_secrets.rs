//! Proof scenario 7 of RELIABILITY.md: a capture of everything the whole loop produces — every
//! deployer command's stdout and stderr (deploy, secrets, import, list, invoke with the function's
//! complete log at debug level, status, verify, dlq, drift, outputs, runbook), every event the
//! refresher put on the bus, every analytics record, every DLQ message — holds none of the token
//! or secret values the loop used, and the test knows them all (the fakes hand them out). Failure
//! paths are included: a revoked grant (`token.reauth-required`), provider faults (retries and a
//! failure) and a malformed answer. Prints `FIGURE secrets ...`.

#![allow(
    clippy::too_many_lines,
    reason = "end-to-end scenarios read top to bottom; the 60-line limit is for the product's code"
)]
// Helpers of a test fail it by panicking, as the test functions do.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Output;
use std::time::{SystemTime, UNIX_EPOCH};

use provider_fakes::demo::SAMPLES;
use provider_fakes::{FakeConfig, FakeProviders, Fault, Provider};
use serde_json::{Value, json};
use support::{deploy, deployer, deployer_stdin, local_stage};
use testkit::moto::Moto;

/// Everything captured, and how many pieces.
#[derive(Default)]
struct Capture {
    text: String,
    pieces: usize,
}

impl Capture {
    fn add(&mut self, text: &str) {
        self.text.push_str(text);
        self.text.push('\n');
        self.pieces += 1;
    }

    fn command(&mut self, out: &Output) -> Value {
        self.add(&String::from_utf8_lossy(&out.stdout));
        self.add(&String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }
}

/// Every message of the capture queue, into the capture.
async fn drain(sdk: &aws_config::SdkConfig, url: &str, capture: &mut Capture) -> usize {
    let messages = testkit::bus_capture::drain(sdk, url).await;
    for message in &messages {
        capture.add(message.body().unwrap_or_default());
    }
    messages.len()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_token_or_secret_value_appears_anywhere() {
    let moto = Moto::start();
    let fakes = FakeProviders::start(FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = fakes.base_url();
    let stage = local_stage(dir.path(), |t| t.replace("http://127.0.0.1:5055", &base));
    let mut capture = Capture::default();
    let run = |capture: &mut Capture, args: &[&str]| capture.command(&deployer(&moto, args));

    deploy(&moto, &stage);
    let mut secrets = Vec::new();
    for (platform, fake) in [
        ("tiktok", "tiktok"),
        ("reddit", "reddit"),
        ("instagram", "instagram"),
        ("schwab", "oauth2"),
    ] {
        let secret = format!("fake-{fake}-secret");
        let input = format!("fake-{fake}-client\n{secret}\n");
        let args = ["secrets", "set", "--stage", &stage, "--provider", platform];
        capture.command(&deployer_stdin(&moto, &args, &input));
        secrets.push(secret);
    }
    run(&mut capture, &["secrets", "list", "--stage", &stage]);
    let sdk = moto.sdk_config().await;
    let events =
        testkit::bus_capture::bus_to_queue(&sdk, "oauth-tokens-local", "captured-events").await;

    // The demo's tokens, plus one more whose grant the provider revokes before the run.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut rows = provider_fakes::demo::seed(&fakes, now);
    let revoked = fakes.seed(
        Provider::Reddit,
        "ruth",
        provider_fakes::SeedOptions {
            issued_at: None,
            revoked: true,
        },
    );
    rows.push_str(
        &json!({"userId": "ruth", "platform": "reddit", "accessToken": revoked.access_token,
        "refreshToken": revoked.refresh_token.clone().unwrap(), "expiresAt": now + 60})
        .to_string(),
    );
    rows.push('\n');
    let mut values: Vec<String> = rows
        .lines()
        .flat_map(|line| {
            let row: Value = serde_json::from_str(line).unwrap();
            // Instagram's rows have no refresh token.
            ["accessToken", "refreshToken"]
                .into_iter()
                .filter_map(move |field| row[field].as_str().map(str::to_owned))
        })
        .collect();
    let file = dir.path().join("tokens.jsonl");
    std::fs::write(&file, &rows).unwrap();
    run(
        &mut capture,
        &[
            "tokens",
            "import",
            "--stage",
            &stage,
            file.to_str().unwrap(),
        ],
    );
    run(
        &mut capture,
        &["--json", "tokens", "list", "--stage", &stage],
    );

    // Failure paths: retries then a failure at Schwab, a malformed answer at TikTok.
    fakes.inject(Provider::Oauth2, Fault::Status { code: 503 }, 6);
    fakes.inject(Provider::Tiktok, Fault::Malformed, 1);
    let all_logs = ["--log-lines", "1000000"];
    let first = run(
        &mut capture,
        &[
            &["--json", "invoke", "--local", "--stage", &stage][..],
            &all_logs,
        ]
        .concat(),
    );
    let second = run(
        &mut capture,
        &[
            &["--json", "invoke", "--local", "--stage", &stage][..],
            &all_logs,
        ]
        .concat(),
    );
    for out in [&first, &second] {
        assert!(
            out["log_tail"].as_array().is_some_and(|l| !l.is_empty()),
            "{out:#}"
        );
    }
    assert!(
        first["payload"]["needsReauth"].as_u64().unwrap() >= 1,
        "{first:#}"
    );

    for args in [
        &["status", "--stage", &stage][..],
        &["--json", "status", "--stage", &stage],
        &["verify", "--stage", &stage],
        &["dlq", "--stage", &stage, "list"],
        &["drift", "--stage", &stage, "--verbose"],
        &["outputs", "--stage", &stage, "--format", "env"],
        &["runbook", "--stage", &stage],
        &["tokens", "list", "--stage", &stage],
    ] {
        run(&mut capture, args);
    }
    let event_count = drain(&sdk, &events, &mut capture).await;
    let analytics = aws_sdk_dynamodb::Client::new(&sdk)
        .scan()
        .table_name("oauth-analytics-local")
        .send()
        .await
        .unwrap();
    for item in analytics.items() {
        capture.add(&format!("{item:?}"));
    }

    // Every token the providers issued during the loop, and the apps' client secrets.
    for s in SAMPLES {
        let live = fakes.current(s.provider, s.user).unwrap();
        values.push(live.access_token);
        values.extend(live.refresh_token);
    }
    values.extend(secrets);
    values.sort();
    values.dedup();
    let leaked: Vec<&String> = values
        .iter()
        .filter(|v| capture.text.contains(v.as_str()))
        .collect();
    eprintln!(
        "FIGURE secrets: {} captured pieces ({} bytes: CLI output of 20 commands, the function's whole debug log of 2 runs, \
         {event_count} bus events, {} analytics records) checked for {} token and secret values: {} found",
        capture.pieces,
        capture.text.len(),
        analytics.items().len(),
        values.len(),
        leaked.len()
    );
    assert!(event_count > 0 && !analytics.items().is_empty());
    // The capture holds what it claims: the revoked grant's event and log lines, the EMF metrics.
    for expected in [
        "token.reauth-required",
        "ruth",
        "run_completed",
        "CloudWatchMetrics",
    ] {
        assert!(
            capture.text.contains(expected),
            "the capture lacks `{expected}`"
        );
    }
    assert!(leaked.is_empty(), "{} values leaked", leaked.len());
}
