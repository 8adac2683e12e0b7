//! The whole loop of the README demo, asserted step by step: the `local` stage deployed to the
//! stand-in, sample grants at the provider fakes imported as token items, the deployed zip run
//! under the Runtime API emulator (`invoke --local`) refreshing exactly the due tokens and storing
//! the rotated refresh tokens, a second run refreshing nothing, drift clean, then a rule disabled
//! out of band and found by `drift`.

#![allow(
    clippy::too_many_lines,
    reason = "end-to-end scenarios read top to bottom; the 60-line limit is for the product's code"
)]
// Helpers of a test fail it by panicking, as the test functions do.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;

use provider_fakes::demo::{SAMPLES, Sample};
use provider_fakes::{FakeConfig, FakeProviders};
use serde_json::Value;
use support::{
    LocalTokens, deploy, deployer, fakes_stage, import_rows, json, now, set_all_fake_credentials,
};
use testkit::moto::Moto;

/// `(user, platform)` -> `(version, expires_at)`, from `tokens list --json`.
type Listing = BTreeMap<(String, String), (u64, u64)>;

fn listing(moto: &Moto, stage: &str) -> Listing {
    let list = json(&deployer(
        moto,
        &["--json", "tokens", "list", "--stage", stage],
    ));
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let key = (
                i["user_id"].as_str().unwrap().to_owned(),
                i["platform"].as_str().unwrap().to_owned(),
            );
            (
                key,
                (
                    i["version"].as_u64().unwrap(),
                    i["expires_at"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

fn key(s: &Sample) -> (String, String) {
    (s.user.to_owned(), s.platform.to_owned())
}

fn invoke(moto: &Moto, stage: &str) -> Value {
    let ran = json(&deployer(
        moto,
        &["--json", "invoke", "--local", "--stage", stage],
    ));
    assert_eq!(ran["ok"], true, "{ran:#}");
    ran["payload"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_loop_refreshes_exactly_the_due_tokens() {
    let moto = Moto::start();
    let fakes = FakeProviders::start(FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = fakes.base_url();
    let stage = fakes_stage(dir.path(), &base, |t| t);
    deploy(&moto, &stage);
    set_all_fake_credentials(&moto, &stage);

    let now = now();
    let imported = import_rows(
        &moto,
        &stage,
        dir.path(),
        &provider_fakes::demo::seed(&fakes, now),
    );
    assert_eq!(imported["written"], SAMPLES.len(), "{imported:#}");
    let before = listing(&moto, &stage);
    assert_eq!(before.len(), SAMPLES.len());

    // The first run refreshes the due tokens, skips the dead one, leaves the rest.
    let first = invoke(&moto, &stage);
    let due = SAMPLES.iter().filter(|s| s.due && !s.dead).count();
    assert_eq!(first["refreshed"], due, "{first:#}");
    assert_eq!(first["failed"], 0, "{first:#}");
    assert_eq!(first["needsReauth"], 0, "{first:#}");
    let after = listing(&moto, &stage);
    for s in &SAMPLES {
        let (v0, e0) = before[&key(s)];
        let (v1, e1) = after[&key(s)];
        if s.due && !s.dead {
            assert_eq!(v1, v0 + 1, "{} {}", s.user, s.platform);
            assert!(e1 > e0, "{} {}: expiry did not move", s.user, s.platform);
        } else {
            assert_eq!(
                (v1, e1),
                (v0, e0),
                "{} {} should be untouched",
                s.user,
                s.platform
            );
        }
    }

    // What is stored is the grant's newest pair: rotated refresh tokens were kept.
    let tokens = LocalTokens::open(&moto).await;
    let stats = fakes.stats();
    for s in SAMPLES.iter().filter(|s| !s.dead) {
        let current = fakes.current(s.provider, s.user).unwrap();
        assert!(!current.revoked, "{}'s grant was revoked", s.user);
        let stored = tokens.read(s.user, s.platform).await;
        assert_eq!(
            stored.access.as_deref(),
            Some(current.access_token.as_str()),
            "{} {}",
            s.user,
            s.platform
        );
        // Instagram has no refresh token: its long-lived access token refreshes itself.
        if let Some(newest) = current.refresh_token {
            assert_eq!(stored.refresh, Some(newest), "{} {}", s.user, s.platform);
        }
        let calls = stats.grant_calls(s.provider, s.user);
        assert_eq!(
            calls,
            u64::from(s.due),
            "{} {}: provider calls",
            s.user,
            s.platform
        );
    }
    assert_eq!(stats.total.reuse_detected, 0);

    // A second run finds nothing due any more.
    let second = invoke(&moto, &stage);
    assert_eq!(second["refreshed"], 0, "{second:#}");
    assert_eq!(listing(&moto, &stage), after);

    // The runbook's view, and drift: clean, then a rule disabled out of band is found.
    let outputs = deployer(
        &moto,
        &["outputs", "--stage", &stage, "--format", "markdown"],
    );
    assert!(String::from_utf8_lossy(&outputs.stdout).contains("RefreshOAuth-local"));
    assert_eq!(
        deployer(&moto, &["drift", "--fail", "--stage", &stage])
            .status
            .code(),
        Some(0)
    );
    aws_sdk_eventbridge::Client::new(&moto.sdk_config().await)
        .disable_rule()
        .name("RefreshOAuthRate15m-local")
        .send()
        .await
        .unwrap();
    let drift = deployer(&moto, &["--json", "drift", "--fail", "--stage", &stage]);
    assert_eq!(drift.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&drift.stdout).unwrap();
    let text = report.to_string();
    assert!(
        text.contains("ENABLED") && text.contains("DISABLED"),
        "{report:#}"
    );
}
