//! `deployer status` and `deployer verify` against the local stand-in and the provider fakes, as
//! the README demo sets them up: the `local` stage deployed, every provider's credentials set, the
//! demo's tokens imported, and `invoke --local` (the deployed zip under the Runtime API emulator)
//! run twice with mixed outcomes: Reddit's token endpoint answers one malformed body (a failure,
//! refreshed by the second run), and the revoked grant is imported as `active` so its refresh gets
//! `invalid_grant` and the item becomes `needs_reauth`.
//!
//! `verify` then passes (with WARNs: the stand-in cannot answer `CloudWatch`; a token needs
//! re-auth), fails on a rule disabled out of band, a provider's entry deleted from the secret and
//! a message on the DLQ, and passes again once each has been fixed.

#![allow(
    clippy::too_many_lines,
    reason = "end-to-end scenarios read top to bottom; the 60-line limit is for the product's code"
)]
// Helpers of a test fail it by panicking, as the test functions do.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use provider_fakes::{FakeConfig, FakeProviders, Fault, Provider};
use serde_json::Value;
use support::{
    deploy, deployer, fakes_stage, json, set_all_fake_credentials, set_fake_credentials,
};
use testkit::moto::Moto;

const RULE: &str = "RefreshOAuthRate15m-local";
const SECRET: &str = "OAuthRefreshStack-local/provider-credentials";

fn invoke(moto: &Moto, stage: &str) -> Value {
    let ran = json(&deployer(
        moto,
        &["--json", "invoke", "--local", "--stage", stage],
    ));
    assert_eq!(ran["ok"], true, "{ran:#}");
    ran["payload"].clone()
}

/// `(refreshed, failed, needs_reauth, due_24h, expired)` of each provider in `status --json`.
fn counts(status: &Value, provider: &str) -> [u64; 5] {
    let row = status["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == provider)
        .unwrap_or_else(|| panic!("{provider} missing from {status:#}"));
    ["refreshed", "failed", "needs_reauth", "due_24h", "expired"]
        .map(|k| row[k].as_u64().unwrap_or_else(|| panic!("{k}: {row:#}")))
}

/// `verify --json`: its exit code and `name -> (verdict, fix)`.
fn verify(moto: &Moto, stage: &str) -> (Option<i32>, Vec<(String, String, String)>) {
    let out = deployer(moto, &["--json", "verify", "--stage", stage]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    let checks = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["verdict"].as_str().unwrap().to_owned(),
                c["fix"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    (out.status.code(), checks)
}

fn failing(checks: &[(String, String, String)]) -> Vec<&str> {
    checks
        .iter()
        .filter(|c| c.1 == "FAIL")
        .map(|c| c.0.as_str())
        .collect()
}

fn verdict<'a>(checks: &'a [(String, String, String)], name: &str) -> &'a (String, String, String) {
    checks
        .iter()
        .find(|c| c.0 == name)
        .unwrap_or_else(|| panic!("no check {name} in {checks:?}"))
}

/// Deploys the local stage against `fakes`, sets every provider's credentials, imports the demo
/// tokens with the revoked grant marked `active`; returns the stage file's path.
fn set_up(moto: &Moto, fakes: &FakeProviders, dir: &std::path::Path) -> String {
    let base = fakes.base_url();
    let stage = fakes_stage(dir, &base, |t| t);
    deploy(moto, &stage);
    set_all_fake_credentials(moto, &stage);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let seed = provider_fakes::demo::seed(fakes, now);
    assert_eq!(seed.matches(r#""status":"needs_reauth""#).count(), 1);
    let file = dir.join("tokens.jsonl");
    std::fs::write(
        &file,
        seed.replace(r#""status":"needs_reauth""#, r#""status":"active""#),
    )
    .unwrap();
    let args = [
        "tokens",
        "import",
        "--stage",
        &stage,
        file.to_str().unwrap(),
    ];
    assert!(deployer(moto, &args).status.success());
    stage
}

#[tokio::test(flavor = "multi_thread")]
async fn status_counts_outcomes_and_verify_finds_each_broken_condition() {
    let moto = Moto::start();
    let fakes = FakeProviders::start(FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stage = set_up(&moto, &fakes, dir.path());

    // Before any run: nothing recorded, the due and expired tokens counted from the index.
    let before = json(&deployer(&moto, &["--json", "status", "--stage", &stage]));
    assert_eq!(before["last_successful_run"], Value::Null, "{before:#}");
    // tiktok: alice due in 30 m, grace expired 3 d ago, bob in 2 d (not within 24 h).
    assert_eq!(counts(&before, "tiktok"), [0, 0, 0, 1, 1]);

    // Run 1: Reddit answers one malformed body; grace's revoked grant gets invalid_grant.
    fakes.inject(Provider::Reddit, Fault::Malformed, 1);
    let first = invoke(&moto, &stage);
    assert_eq!(
        (&first["refreshed"], &first["failed"], &first["needsReauth"]),
        (&3.into(), &1.into(), &1.into()),
        "{first:#}"
    );
    let status = json(&deployer(&moto, &["--json", "status", "--stage", &stage]));
    // alice refreshed, grace needs reauth, carol failed, erin and frank refreshed.
    assert_eq!(counts(&status, "tiktok")[..3], [1, 0, 1], "{status:#}");
    assert_eq!(counts(&status, "reddit")[..3], [0, 1, 0], "{status:#}");
    assert_eq!(counts(&status, "instagram")[..3], [1, 0, 0], "{status:#}");
    assert_eq!(counts(&status, "schwab")[..3], [1, 0, 0], "{status:#}");
    let reasons = status["top_failure_reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 2, "{status:#}");
    assert!(reasons.iter().all(|r| r["count"] == 1), "{status:#}");
    assert_eq!(status["providers"][1]["last_success"], Value::Null);
    let run_id = first["runId"].as_str().unwrap();
    assert_eq!(
        status["last_successful_run"]["run_id"], run_id,
        "{status:#}"
    );
    assert!(
        status["last_run_source"]
            .as_str()
            .unwrap()
            .contains("no run record")
    );
    let human = deployer(&moto, &["status", "--stage", &stage, "--since", "1h"]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("PROVIDER   REFRESHED  FAILED  NEEDS REAUTH"),
        "{text}"
    );
    assert!(text.contains("most common failure reasons:"), "{text}");
    assert!(
        !text.contains("fake-") && !text.contains("\"accessToken\""),
        "{text}"
    );

    // Run 2: carol's failed refresh succeeds; grace is skipped now.
    let second = invoke(&moto, &stage);
    assert_eq!(second["refreshed"], 1, "{second:#}");
    let status = json(&deployer(&moto, &["--json", "status", "--stage", &stage]));
    assert_eq!(counts(&status, "reddit")[..3], [1, 1, 0], "{status:#}");
    assert_eq!(counts(&status, "tiktok")[..3], [1, 0, 1], "{status:#}");

    // verify: healthy, with warnings only.
    let (code, checks) = verify(&moto, &stage);
    assert_eq!(failing(&checks), Vec::<&str>::new(), "{checks:#?}");
    assert_eq!(code, Some(0));
    assert_eq!(verdict(&checks, "alarms").1, "WARN");
    let reauth = verdict(&checks, "tokens needing re-authorisation");
    assert_eq!(reauth.1, "WARN");
    assert!(
        reauth.2.contains("deployer tokens connect") && reauth.2.contains("--user grace"),
        "{reauth:?}"
    );
    for name in [
        "stack",
        "invoke permissions",
        "function environment",
        "token API environment",
        "provider credentials",
        "dead-letter queue",
    ] {
        assert_eq!(verdict(&checks, name).1, "PASS", "{name}: {checks:#?}");
    }

    // Break three things out of band: verify fails on each, naming the fix.
    let sdk = moto.sdk_config().await;
    aws_sdk_eventbridge::Client::new(&sdk)
        .disable_rule()
        .name(RULE)
        .send()
        .await
        .unwrap();
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    let value = secrets
        .get_secret_value()
        .secret_id(SECRET)
        .send()
        .await
        .unwrap();
    let mut creds: serde_json::Map<String, Value> =
        serde_json::from_str(value.secret_string().unwrap()).unwrap();
    creds.remove("reddit").unwrap();
    secrets
        .put_secret_value()
        .secret_id(SECRET)
        .secret_string(Value::Object(creds).to_string())
        .send()
        .await
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let url = sqs
        .get_queue_url()
        .queue_name("RefreshOAuth-local-dlq")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    sqs.send_message()
        .queue_url(&url)
        .message_body("{}")
        .send()
        .await
        .unwrap();

    let (code, checks) = verify(&moto, &stage);
    assert_eq!(code, Some(1));
    let rule = format!("rule {RULE}");
    assert_eq!(
        failing(&checks),
        [rule.as_str(), "provider credentials", "dead-letter queue"],
        "{checks:#?}"
    );
    let fix = &verdict(&checks, &rule).2;
    assert_eq!(
        fix,
        &format!("deployer rules --stage {stage} enable {RULE}")
    );
    assert!(
        verdict(&checks, "provider credentials")
            .2
            .contains("--provider reddit")
    );
    let human = deployer(&moto, &["verify", "--stage", &stage]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains(&format!("FAIL  {rule}")), "{text}");
    assert!(text.contains("      fix: deployer rules --stage"), "{text}");
    assert!(text.contains("3 failed"), "{text}");

    // Fix each with the command verify names (the DLQ by hand): one FAIL fewer each time.
    assert!(
        deployer(&moto, &["rules", "--stage", &stage, "enable", RULE])
            .status
            .success()
    );
    assert_eq!(failing(&verify(&moto, &stage).1).len(), 2);
    set_fake_credentials(&moto, &stage, "reddit", "reddit");
    assert_eq!(failing(&verify(&moto, &stage).1), ["dead-letter queue"]);
    sqs.purge_queue().queue_url(&url).send().await.unwrap();
    let (code, checks) = verify(&moto, &stage);
    assert_eq!((code, failing(&checks)), (Some(0), Vec::new()));
}
