//! Proof scenario 2 of RELIABILITY.md: the store misbehaving under a run. The deployed zip runs
//! under the Runtime API emulator (`invoke --local`) with its AWS endpoint pointed at a
//! fault-injecting proxy in front of the stand-in (`testkit::fault_proxy`): DynamoDB throttling,
//! internal errors and dropped connections on a share of `UpdateItem` and `Query` calls, and KMS
//! throttling. Every token set a provider issued must end stored: in its item, or as a recovery
//! record in the DLQ that `deployer dlq replay` writes back. Prints `FIGURE store-faults ...`.

// Helpers of a test fail it by panicking, as the test functions do.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use provider_fakes::{FakeConfig, FakeProviders, Provider, SeedOptions};
use refresher::crypto::{ItemKey, KeyCache};
use refresher::kms::KmsKeySource;
use refresher::store::{DynamoStore, TokenStatus, TokenStore};
use serde_json::{Value, json};
use support::{
    deploy, deployer, deployer_at, fakes_stage, import_rows, json, set_all_fake_credentials,
};
use testkit::fault_proxy::{Fault, FaultProxy, Rule};
use testkit::moto::Moto;

const TOKENS: usize = 200;

/// Token writes fail often enough that some exhaust the SDK's 3 attempts and the refresher's 3
/// (the recovery path); the run lock's writes are spared so the run itself goes ahead.
fn rules() -> Vec<Rule> {
    let rule = |target, fault, per_mille| Rule {
        target,
        fault,
        per_mille,
        unless_body: Some("refresh-oauth"),
    };
    vec![
        rule("DynamoDB_20120810.UpdateItem", Fault::Throttle, 450),
        rule("DynamoDB_20120810.UpdateItem", Fault::ServerError, 350),
        rule("DynamoDB_20120810.UpdateItem", Fault::Drop, 300),
        rule("DynamoDB_20120810.Query", Fault::Throttle, 300),
        rule("DynamoDB_20120810.Query", Fault::Drop, 100),
        rule("TrentService.GenerateDataKey", Fault::Throttle, 500),
        rule("TrentService.Decrypt", Fault::Throttle, 500),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn store_faults_lose_no_token_set() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(moto.endpoint()).await;
    let fakes = FakeProviders::start(FakeConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = fakes.base_url();
    let stage = fakes_stage(dir.path(), &base, |t| {
        t.replace(
            "    window: 1h\n",
            "    window: 1h\n    rate_limit_per_minute: 6000\n    concurrency: 8\n",
        )
    });
    deploy(&moto, &stage);
    set_all_fake_credentials(&moto, &stage);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let users: Vec<String> = (0..TOKENS).map(|i| format!("s{i:03}")).collect();
    let mut rows = String::new();
    for user in &users {
        let pair = fakes.seed(Provider::Tiktok, user, SeedOptions::default());
        let row = json!({"userId": user, "platform": "tiktok", "accessToken": pair.access_token,
            "refreshToken": pair.refresh_token.unwrap(), "expiresAt": now + 600});
        rows.push_str(&row.to_string());
        rows.push('\n');
    }
    import_rows(&moto, &stage, dir.path(), &rows);

    // One run through the misbehaving proxy.
    proxy.set_rules(rules());
    let out = deployer_at(
        &proxy.endpoint(),
        &[
            "--json",
            "invoke",
            "--local",
            "--providers",
            "tiktok",
            "--stage",
            &stage,
        ],
    );
    proxy.set_rules(Vec::new());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let payload = &report["payload"];
    let fired: u64 = proxy.fired().values().sum();
    let refreshed_at_provider = fakes.stats().provider(Provider::Tiktok).refreshed;

    // Recovery records in the DLQ go back with the version check.
    let listed = json(&deployer(
        &moto,
        &["--json", "dlq", "--stage", &stage, "list"],
    ));
    let replay = deployer(
        &moto,
        &["--json", "dlq", "--stage", &stage, "replay", "--yes"],
    );
    let replayed: Value = serde_json::from_slice(&replay.stdout).unwrap_or(Value::Null);

    let sdk = moto.sdk_config().await;
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        "oauth-tokens-local",
        "byExpiry",
    );
    let keys = KeyCache::new(KmsKeySource::new(
        aws_sdk_kms::Client::new(&sdk),
        "alias/oauth-refresher-local",
    ));
    let (mut current, mut lost) = (0, Vec::new());
    for user in &users {
        let live = fakes.current(Provider::Tiktok, user).unwrap();
        let item = store.get(user, "tiktok").await.unwrap().unwrap();
        let key = ItemKey {
            user_id: user,
            platform: "tiktok",
        };
        let stored = keys
            .read(item.refresh_token.as_ref().unwrap(), key)
            .await
            .unwrap();
        if item.status == TokenStatus::Active
            && !live.revoked
            && Some(stored.value.expose().to_owned()) == live.refresh_token
        {
            current += 1;
        } else {
            lost.push(format!(
                "{user}: status {:?}, revoked {}",
                item.status, live.revoked
            ));
        }
    }
    eprintln!(
        "FIGURE store-faults: {TOKENS} due tokens, {fired} faults injected ({:?}); run: ok {}, refreshed {}, failed {} \
         (still due), provider refreshes {refreshed_at_provider}; DLQ recovery records {}, replayed {}; \
         after replay: {current} items hold their grant's live tokens, {} lost",
        proxy.fired(),
        payload["ok"],
        payload["refreshed"],
        payload["failed"],
        listed["messages"].as_array().map_or(0, Vec::len),
        replayed["restored"].as_array().map_or(0, Vec::len),
        lost.len()
    );
    assert!(fired > 0, "no fault fired");
    // The recovery path was taken, and every record went back.
    let records = listed["messages"].as_array().map_or(0, Vec::len);
    assert!(
        records > 0,
        "no token write exhausted its attempts; raise the fault rates"
    );
    assert_eq!(
        replayed["restored"].as_array().map_or(0, Vec::len),
        records,
        "{replayed:#}"
    );
    assert!(lost.is_empty(), "{lost:#?}");
    assert_eq!(current, TOKENS);
}
