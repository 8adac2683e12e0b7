//! `deployer drift` against the local AWS stand-in, through the binary as an operator runs it:
//! a fresh deploy is in sync; a rule disabled and a memory size changed out of band are drift
//! that `--fail` exits 2 on; the types moto skips are reported apart, never as in sync.

// Helpers of a test fail it by panicking, as the test functions do.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Value;
use support::{deploy, deployer, local_stage};
use testkit::moto::Moto;

/// The exit code, and stdout parsed as JSON; stderr shown when either is not as expected.
fn drift_json(moto: &Moto, stage: &str, want_code: i32) -> Value {
    let out = deployer(moto, &["--json", "drift", "--fail", "--stage", stage]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(want_code),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The resource's entry in a JSON report.
fn resource<'a>(report: &'a Value, logical_id: &str) -> &'a Value {
    report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["logical_id"] == logical_id)
        .unwrap_or_else(|| panic!("{logical_id} missing from {report:#}"))
}

fn status<'a>(report: &'a Value, logical_id: &str) -> &'a str {
    resource(report, logical_id)["status"].as_str().unwrap()
}

/// `property: expected -> actual` lines of a resource's differences.
fn differences(report: &Value, logical_id: &str) -> Vec<String> {
    resource(report, logical_id)["differences"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|d| {
                    format!(
                        "{}: {} -> {}",
                        d["property"].as_str().unwrap(),
                        d["expected"].as_str().unwrap(),
                        d["actual"].as_str().unwrap()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

const CHECKED: [&str; 6] = [
    "RefreshRuleRate5m",
    "RefreshRuleIG",
    "RefresherFunction",
    "RefresherDlq",
    "TokensTable",
    "AnalyticsTable",
];
/// Types moto 5.2.5 lists without a physical id (AWS-FACTS.md).
const SKIPPED: [&str; 5] = [
    "RefresherDlqPolicy",
    "RefresherInvokeConfig",
    "AlarmEmailSubscription",
    "FunctionErrorsAlarm",
    "NoSuccessfulRunTiktokAlarm",
];

#[tokio::test(flavor = "multi_thread")]
async fn out_of_band_changes_are_drift() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let stage = deploy_local(&moto, dir.path());
    assert_fresh_stack_in_sync(&moto, &stage);

    change_out_of_band(&moto).await;
    let drifted = drift_json(&moto, &stage, 2);
    assert_eq!(drifted["drifted"], true);
    assert_eq!(status(&drifted, "RefreshRuleRate5m"), "modified");
    assert_eq!(
        differences(&drifted, "RefreshRuleRate5m"),
        ["State: ENABLED -> DISABLED"]
    );
    assert_eq!(status(&drifted, "RefresherFunction"), "modified");
    assert_eq!(
        differences(&drifted, "RefresherFunction"),
        ["MemorySize: 256 -> 512"]
    );
    // Nothing else is blamed, and the skipped types stay apart from drift.
    for id in [
        "RefreshRuleIG",
        "RefresherDlq",
        "TokensTable",
        "AnalyticsTable",
    ] {
        assert_eq!(status(&drifted, id), "in_sync", "{id}");
    }
    for id in SKIPPED {
        assert_eq!(status(&drifted, id), "not_created_by_endpoint", "{id}");
    }

    // Without --fail, drift is still printed but the exit code is 0.
    let out = deployer(&moto, &["drift", "--stage", &stage]);
    assert_eq!(out.status.code(), Some(0));
    let human = String::from_utf8(out.stdout).unwrap();
    assert!(
        human.contains("      State: ENABLED -> DISABLED\n"),
        "{human}"
    );
    assert!(human.contains("      MemorySize: 256 -> 512\n"), "{human}");

    // A resource the stack lists but the service no longer has is deleted.
    delete_dlq(&moto).await;
    let gone = drift_json(&moto, &stage, 2);
    assert_eq!(status(&gone, "RefresherDlq"), "deleted", "{gone:#}");
}

/// Deploys a copy of the `local` stage and returns the stage file's path.
fn deploy_local(moto: &Moto, dir: &std::path::Path) -> String {
    let stage = local_stage(dir, |t| t);
    deploy(moto, &stage);
    stage
}

/// Freshly deployed: in sync and exit 0 with `--fail`, in JSON and in text.
fn assert_fresh_stack_in_sync(moto: &Moto, stage: &str) {
    let fresh = drift_json(moto, stage, 0);
    assert_eq!(fresh["drifted"], false, "{fresh:#}");
    assert_eq!(fresh["cloudformation"]["state"], "unavailable");
    for id in CHECKED {
        let entry = resource(&fresh, id);
        assert_eq!(status(&fresh, id), "in_sync", "{id}: {entry:#}");
    }
    for id in SKIPPED {
        assert_eq!(status(&fresh, id), "not_created_by_endpoint", "{id}");
    }
    let out = deployer(moto, &["drift", "--fail", "--stage", stage]);
    assert_eq!(out.status.code(), Some(0));
    let human = String::from_utf8(out.stdout).unwrap();
    assert!(
        human.contains("CloudFormation drift detection: not available at this endpoint"),
        "{human}"
    );
    assert!(human.contains("\nin sync ("), "{human}");
    assert!(
        human.contains("\nnot created by this endpoint ("),
        "{human}"
    );
    assert!(!human.contains("\nmodified ("), "{human}");
}

async fn delete_dlq(moto: &Moto) {
    let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config().await);
    let url = sqs
        .get_queue_url()
        .queue_name("RefreshOAuth-local-dlq")
        .send()
        .await
        .unwrap();
    sqs.delete_queue()
        .queue_url(url.queue_url().unwrap())
        .send()
        .await
        .unwrap();
}

/// Disables a rule and raises the function's memory through the services' own APIs.
async fn change_out_of_band(moto: &Moto) {
    let config = moto.sdk_config().await;
    aws_sdk_eventbridge::Client::new(&config)
        .disable_rule()
        .name("RefreshOAuthRate5m-local")
        .send()
        .await
        .unwrap();
    aws_sdk_lambda::Client::new(&config)
        .update_function_configuration()
        .function_name("RefreshOAuth-local")
        .memory_size(512)
        .send()
        .await
        .unwrap();
}
