//! The token API end to end: the deployed zip's second function (`RefreshOAuthApi-<stage>`),
//! driven by `deployer invoke --local --user U --provider P`, against the stand-in and the
//! provider fakes (rotating TikTok grants).

#![allow(
    clippy::too_many_lines,
    reason = "end-to-end scenarios read top to bottom; the 60-line limit is for the product's code"
)]
// Helpers of a test fail it by panicking, as the test functions do.
#![allow(clippy::unwrap_used)]

mod support;

use provider_fakes::{FakeConfig, FakeProviders, Provider, SeedOptions};
use serde_json::{Value, json};
use support::{
    LocalTokens, deploy, deployer, fakes_stage, import_rows, now, set_all_fake_credentials,
};
use testkit::moto::Moto;

fn ask(moto: &Moto, stage: &str, extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec![
        "--json",
        "invoke",
        "--local",
        "--stage",
        stage,
        "--provider",
        "tiktok",
    ];
    args.extend_from_slice(extra);
    let out = deployer(moto, &args);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("invoke: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code(), report)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_api_refreshes_on_demand_and_answers_each_case() {
    let moto = Moto::start();
    let fakes = FakeProviders::start(FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stage = fakes_stage(dir.path(), &fakes.base_url(), |t| t);
    deploy(&moto, &stage);
    set_all_fake_credentials(&moto, &stage);
    let pair = fakes.seed(Provider::Tiktok, "alice", SeedOptions::default());
    let row = json!({"userId": "alice", "platform": "tiktok", "accessToken": pair.access_token,
        "refreshToken": pair.refresh_token.clone().unwrap(), "expiresAt": now() + 3600});
    // A grant the provider never issued (or revoked): its refresh answers invalid_grant.
    let dead = json!({"userId": "bob", "platform": "tiktok", "accessToken": "act.bob-dead",
        "refreshToken": "rft.bob-dead", "expiresAt": now() + 30});
    import_rows(&moto, &stage, dir.path(), &format!("{row}\n{dead}\n"));

    // Valid for an hour: answered from the table, no provider call.
    let (code, report) = ask(&moto, &stage, &["--user", "alice", "--min-validity", "600"]);
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["function"], "RefreshOAuthApi-local");
    let answer = &report["payload"];
    assert_eq!(
        (answer["ok"].as_bool(), answer["refreshed"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(fakes.stats().provider(Provider::Tiktok).refresh_calls, 0);

    // Forced (the provider answered 401): refreshed now, rotated token stored.
    let (code, report) = ask(&moto, &stage, &["--user", "alice", "--force"]);
    assert_eq!(code, Some(0), "{report:#}");
    let answer = &report["payload"];
    assert_eq!(answer["refreshed"], true, "{report:#}");
    let version = answer["version"].as_u64().unwrap();
    assert_eq!(fakes.stats().provider(Provider::Tiktok).refresh_calls, 1);
    let stored = LocalTokens::open(&moto).await.read("alice", "tiktok").await;
    let live = fakes.current(Provider::Tiktok, "alice").unwrap();
    assert_eq!(
        stored.refresh, live.refresh_token,
        "the rotated token is stored"
    );
    assert_eq!(stored.item.version, version);
    assert!(stored.item.claim.is_none(), "the write ends the claim");
    let text = report.to_string();
    assert!(
        !text.contains(&live.access_token),
        "no token value in the answer or log"
    );

    // Each error has its code, and the command fails with it.
    let (code, report) = ask(&moto, &stage, &["--user", "nobody"]);
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(
        report["payload"]["error"]["code"], "NOT_FOUND",
        "{report:#}"
    );
    // Valid for 30 s, less than the default 60: refreshed, and the provider refuses the grant.
    let (code, report) = ask(&moto, &stage, &["--user", "bob"]);
    assert_eq!(code, Some(1), "{report:#}");
    assert_eq!(
        report["payload"]["error"]["code"], "NEEDS_REAUTH",
        "{report:#}"
    );
    assert_eq!(report["payload"]["error"]["reason"], "invalid_grant");

    // Human output says what happened in one line.
    let out = deployer(
        &moto,
        &[
            "invoke",
            "--local",
            "--stage",
            &stage,
            "--provider",
            "tiktok",
            "--user",
            "bob",
            "--log-lines",
            "0",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("NEEDS_REAUTH: the grant is dead"), "{text}");
}

/// The measured failure: a stage with a provider whose credentials were not set yet refreshed
/// nothing for any provider (`cold_start_failed`). Now `deploy` warns, and the run refreshes the
/// providers that can run and names the one that cannot, with its fix.
#[tokio::test(flavor = "multi_thread")]
async fn a_provider_without_credentials_fails_alone() {
    let moto = Moto::start();
    let fakes = FakeProviders::start(FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let stage = fakes_stage(dir.path(), &fakes.base_url(), |t| t);
    let mut args = vec!["--json", "deploy", "--yes", "--stage", &stage];
    args.extend_from_slice(&support::DEV_BUILD);
    let deployed = deployer(&moto, &args);
    assert!(
        deployed.status.success(),
        "{}",
        String::from_utf8_lossy(&deployed.stderr)
    );
    let said = String::from_utf8_lossy(&deployed.stderr);
    assert!(
        said.contains("providers reddit, schwab, tiktok have no usable credentials"),
        "{said}"
    );
    support::set_fake_credentials(&moto, &stage, "tiktok", "tiktok");
    let pair = fakes.seed(Provider::Tiktok, "carol", SeedOptions::default());
    let row = json!({"userId": "carol", "platform": "tiktok", "accessToken": pair.access_token,
        "refreshToken": pair.refresh_token.unwrap(), "expiresAt": now() + 600});
    import_rows(&moto, &stage, dir.path(), &format!("{row}\n"));

    let out = deployer(&moto, &["--json", "invoke", "--local", "--stage", &stage]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "not ok: {report:#}");
    let payload = &report["payload"];
    assert_eq!(
        payload["refreshed"], 1,
        "tiktok still refreshes: {report:#}"
    );
    let unusable: Vec<&str> = payload["unusable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["provider"].as_str().unwrap())
        .collect();
    assert_eq!(unusable, ["reddit", "schwab"], "{report:#}");
    assert!(
        payload["unusable"][1]["problem"]
            .as_str()
            .unwrap()
            .contains("deployer secrets set --stage local --provider schwab")
    );
}
