//! The operations commands against the local AWS stand-in, through the binary as an operator
//! runs them: `rules` lists the stage's schedule rules and switches them (idempotently, and only
//! the stage's own), `drift` then reports a disabled rule; `alarms` asks for every alarm of the
//! stage (the stand-in cannot answer it; see that test); `completions` works outside a project.

#![allow(
    clippy::too_many_lines,
    reason = "end-to-end scenarios read top to bottom; the 60-line limit is for the product's code"
)]
// Helpers of a test fail it by panicking, as the test functions do.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Output;

use serde_json::Value;
use support::{deploy, deployer, json, local_stage};
use testkit::moto::Moto;

const RULE: &str = "RefreshOAuthRate5m-local";

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Deploys a copy of the `local` stage and returns the stage file's path.
fn deploy_local(moto: &Moto, dir: &std::path::Path) -> String {
    let stage = local_stage(dir, |t| t);
    deploy(moto, &stage);
    stage
}

fn rule_row<'a>(list: &'a Value, name: &str) -> &'a Value {
    list["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("{name} missing from {list:#}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn rules_are_listed_switched_and_seen_by_drift() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let stage = deploy_local(&moto, dir.path());

    let list = json(&deployer(
        &moto,
        &["--json", "rules", "--stage", &stage, "list"],
    ));
    let names: Vec<&str> = list["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{list:#}");
    for row in list["rules"].as_array().unwrap() {
        assert_eq!(row["state"], "ENABLED", "{row:#}");
        assert_eq!(row["target_ok"], true, "{row:#}");
    }
    let pair = rule_row(&list, "RefreshOAuthRate15m-local");
    assert_eq!(pair["providers"], serde_json::json!(["reddit", "tiktok"]));
    assert_eq!(pair["schedule"], "rate(15 minutes)");
    let (human, _) = text(&deployer(&moto, &["rules", "--stage", &stage, "list"]));
    assert!(human.starts_with("RULE "), "{human}");
    assert!(human.contains("reddit,tiktok"), "{human}");

    // Disable: changed once, then nothing to do; drift sees it.
    let (out, err) = text(&deployer(
        &moto,
        &["rules", "--stage", &stage, "disable", RULE],
    ));
    assert_eq!(out, format!("{RULE}: ENABLED -> DISABLED\n"), "{err}");
    assert!(err.contains("deployer drift"), "{err}");
    let again = json(&deployer(
        &moto,
        &["--json", "rules", "--stage", &stage, "disable", RULE],
    ));
    assert_eq!(again["changed"], false, "{again:#}");
    assert_eq!(again["after"], "DISABLED");
    let (out, _) = text(&deployer(
        &moto,
        &["rules", "--stage", &stage, "disable", RULE],
    ));
    assert_eq!(
        out,
        format!("{RULE} is already DISABLED; nothing changed\n")
    );
    let list = json(&deployer(
        &moto,
        &["--json", "rules", "--stage", &stage, "list"],
    ));
    assert_eq!(rule_row(&list, RULE)["state"], "DISABLED");
    assert_drift(&moto, &stage, true);

    // Enable restores it, and drift is gone.
    let enabled = json(&deployer(
        &moto,
        &["--json", "rules", "--stage", &stage, "enable", RULE],
    ));
    assert_eq!(
        (&enabled["before"], &enabled["after"], &enabled["changed"]),
        (&"DISABLED".into(), &"ENABLED".into(), &true.into())
    );
    assert_drift(&moto, &stage, false);

    // Another stage's rule (or a typo) is refused, naming the stage's rules.
    let out = deployer(
        &moto,
        &[
            "rules",
            "--stage",
            &stage,
            "disable",
            "RefreshOAuthRate5m-prod",
        ],
    );
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("`RefreshOAuthRate5m-prod` is not a rule of stage local; its rules are: "),
        "{err}"
    );
    for name in [RULE, "RefreshOAuthRate15m-local", "RefreshOAuthIG-local"] {
        assert!(err.contains(name), "{name}: {err}");
    }
}

/// `drift --fail`: the rule's state is the drift, or there is none.
fn assert_drift(moto: &Moto, stage: &str, drifted: bool) {
    let out = deployer(moto, &["--json", "drift", "--fail", "--stage", stage]);
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(if drifted { 2 } else { 0 }),
        "{stdout}\n{stderr}"
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let rule = report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["logical_id"] == "RefreshRuleRate5m")
        .unwrap();
    assert_eq!(
        rule["status"],
        if drifted { "modified" } else { "in_sync" },
        "{rule:#}"
    );
}

/// The stand-in cannot answer `deployer alarms`: the SDK speaks CBOR to `CloudWatch` and moto
/// 5.2.5 answers HTTP 404 (states, missing alarms and `--fail` are tested on replays in
/// `aws/cloudwatch_tests.rs` and `commands/alarms.rs`). Through the binary, the command still
/// asks for every alarm the stage declares, and says what failed and what to check.
#[test]
fn alarms_ask_for_every_alarm_of_the_stage() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let stage = local_stage(dir.path(), |t| t);
    let out = deployer(&moto, &["--json", "alarms", "--stage", &stage]);
    let (stdout, err) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{err}");
    for name in [
        "RefreshOAuth-local-errors",
        "RefreshOAuth-local-throttles",
        "RefreshOAuthRate5m-local-failed-invocations",
        "RefreshOAuthRate15m-local-failed-invocations",
        "RefreshOAuthIG-local-failed-invocations",
        "RefreshOAuth-local-dlq-not-empty",
        "RefreshOAuth-local-refresh-failures",
        "RefreshOAuth-local-token-sets-lost",
        "RefreshOAuth-local-reauth-required",
        "RefreshOAuth-local-no-successful-run-tiktok",
        "RefreshOAuth-local-no-successful-run-schwab",
    ] {
        assert!(err.contains(name), "{name} not asked for: {err}");
    }
    assert!(err.contains("cloudwatch:DescribeAlarms"), "{err}");
}

#[test]
fn completions_need_no_project() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_deployer"))
        .args(["completions", "bash"])
        .current_dir(dir.path())
        .env_remove("DEPLOYER_PROJECT_DIR")
        .output()
        .unwrap();
    let (script, err) = text(&out);
    assert!(out.status.success(), "{err}");
    for word in ["deploy", "tokens", "rules", "alarms"] {
        assert!(script.contains(word), "bash completions lack `{word}`");
    }
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_deployer"))
            .args(["completions", shell])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success() && !out.stdout.is_empty(), "{shell}");
    }
}
