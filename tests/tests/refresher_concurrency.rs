//! Two refresher instances started at once over the same 200 due tokens (two cold starts, as two
//! Lambda sandboxes would be): the provider's lock in DynamoDB lets one run, each token is
//! refreshed once at the provider and no rotated refresh token is ever presented twice. Also: a
//! held lock skips its provider alone, a crashed run's expired lock is stolen, runs of two
//! schedules fired in the same second both refresh, and per-token claims keep a run off a token
//! someone else is refreshing.

#![allow(clippy::unwrap_used)]

mod refresher_support;

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use provider_fakes::Provider;
use refresher::crypto::ItemKey;
use refresher::run::{self, RunInput, RunOptions, RunResponse};
use refresher::store::{DynamoStore, StoreError, TokenStore, Update};
use refresher_support::{Harness, number};
use serde_json::json;

const TOKENS: usize = 200;

fn users() -> Vec<String> {
    (0..TOKENS).map(|i| format!("user-{i:03}")).collect()
}

#[tokio::test]
async fn two_runs_at_once_refresh_each_token_once() {
    let mut h = Harness::start().await;
    // The bulk is about races, not the provider's budget: lift the local stage's rate limit.
    h.tune("tiktok", "rateLimitPerMinute", json!(60_000));
    h.tune("tiktok", "concurrency", json!(16));
    for user in users() {
        h.seed("tiktok", &user, h.now + 600).await;
    }
    let (first, second) = (Arc::new(h.deps().await), Arc::new(h.deps().await));
    let input = || RunInput {
        providers: vec!["tiktok".to_owned()],
        dry_run: false,
    };
    let (a, b) = tokio::join!(
        run::run(first, input(), RunOptions::new(None)),
        run::run(second, input(), RunOptions::new(None)),
    );
    let mut summaries = Vec::new();
    let mut locked = 0;
    for response in [a.unwrap(), b.unwrap()] {
        match response {
            RunResponse::Completed(summary) => summaries.push(summary),
            RunResponse::Locked { skipped, .. } => {
                assert_eq!(skipped, "locked");
                locked += 1;
            }
        }
    }
    assert_eq!((summaries.len(), locked), (1, 1));
    assert_eq!(
        summaries[0].refreshed, TOKENS as u64,
        "{:?}",
        summaries[0].results
    );

    assert_each_refreshed_once(&h).await;
}

/// Every grant called once, never replayed; every item written once; the lock released.
async fn assert_each_refreshed_once(h: &Harness) {
    let stats = h.fakes.stats();
    assert_eq!(
        stats.provider(Provider::Tiktok).refresh_calls,
        TOKENS as u64
    );
    assert_eq!(stats.total.reuse_detected, 0);
    for user in users() {
        assert_eq!(stats.grant_calls(Provider::Tiktok, &user), 1, "{user}");
        assert_eq!(number(&h.item("tiktok", &user).await, "version"), 2);
        assert!(!h.fakes.current(Provider::Tiktok, &user).unwrap().revoked);
    }
    let lock = h.item("refresh-oauth#tiktok", "cron").await;
    assert_eq!(
        number(&lock, "expiresAt"),
        0,
        "the lock is released at the end"
    );
}

async fn put_lock(h: &Harness, provider: &str, owner: &str, until: u64) {
    let item = HashMap::from([
        ("userId".to_owned(), AttributeValue::S("cron".to_owned())),
        (
            "platform".to_owned(),
            AttributeValue::S(format!("refresh-oauth#{provider}")),
        ),
        ("expiresAt".to_owned(), AttributeValue::N(until.to_string())),
        ("lockOwner".to_owned(), AttributeValue::S(owner.to_owned())),
    ]);
    h.put(item).await;
}

#[tokio::test]
async fn a_held_lock_skips_its_provider_and_an_expired_one_is_stolen() {
    let h = Harness::start().await;
    h.seed("reddit", "r1", h.now + 60).await;
    h.seed("tiktok", "t1", h.now + 60).await;
    let deps = Arc::new(h.deps().await);
    put_lock(&h, "reddit", "other-run", h.now + 300).await;
    let reddit_only = || RunInput {
        providers: vec!["reddit".to_owned()],
        dry_run: false,
    };
    let response = run::run(Arc::clone(&deps), reddit_only(), RunOptions::new(None))
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(response).unwrap(),
        json!({"ok": true, "skipped": "locked"})
    );
    let response = run::run(
        Arc::clone(&deps),
        RunInput::default(),
        RunOptions::new(None),
    )
    .await
    .unwrap();
    let RunResponse::Completed(summary) = response else {
        panic!("only reddit is locked")
    };
    assert_eq!(
        (summary.refreshed, summary.locked.as_slice()),
        (1, ["reddit".to_owned()].as_slice())
    );
    assert_eq!(h.fakes.stats().provider(Provider::Reddit).refresh_calls, 0);

    put_lock(&h, "reddit", "crashed-run", h.now - 1).await;
    let response = run::run(deps, reddit_only(), RunOptions::new(None))
        .await
        .unwrap();
    let RunResponse::Completed(summary) = response else {
        panic!("an expired lock must be taken over")
    };
    assert_eq!(summary.refreshed, 1);
    let lock = h.item("refresh-oauth#reddit", "cron").await;
    assert!(!lock.contains_key("lockOwner"), "released: {lock:?}");
}

/// The measured failure of one lock for every schedule: the 5-minute and the 15-minute rules
/// fire in the same second, and one run used to answer `skipped: locked` and refresh nothing.
#[tokio::test]
async fn two_schedules_fired_together_both_refresh() {
    let mut h = Harness::start().await;
    h.tune("tiktok", "rateLimitPerMinute", json!(60_000));
    h.tune("reddit", "rateLimitPerMinute", json!(60_000));
    for i in 0..10 {
        h.seed("tiktok", &format!("t{i}"), h.now + 60).await;
        h.seed("reddit", &format!("r{i}"), h.now + 60).await;
    }
    let (first, second) = (Arc::new(h.deps().await), Arc::new(h.deps().await));
    let only = |name: &str| RunInput {
        providers: vec![name.to_owned()],
        dry_run: false,
    };
    let (a, b) = tokio::join!(
        run::run(first, only("tiktok"), RunOptions::new(None)),
        run::run(second, only("reddit"), RunOptions::new(None)),
    );
    for (response, name) in [(a.unwrap(), "tiktok"), (b.unwrap(), "reddit")] {
        let RunResponse::Completed(summary) = response else {
            panic!("the {name} run was skipped")
        };
        assert_eq!(summary.refreshed, 10, "{name}: {:?}", summary.results);
    }
}

/// A live claim on an item (another refresher is spending its refresh token) keeps the run off
/// it; a lapsed one (its holder died) is taken over, and the write removes it.
#[tokio::test]
async fn claims_keep_a_run_off_a_token_in_flight() {
    let h = Harness::start().await;
    h.seed("tiktok", "busy", h.now + 60).await;
    h.seed("tiktok", "dead-claimer", h.now + 60).await;
    claim(&h, "busy", "token-api-1", h.now + 60).await;
    claim(&h, "dead-claimer", "killed", h.now - 1).await;
    let deps = Arc::new(h.deps().await);
    let response = run::run(deps, RunInput::default(), RunOptions::new(None))
        .await
        .unwrap();
    let RunResponse::Completed(summary) = response else {
        panic!("locked")
    };
    let reason = |user: &str| {
        summary
            .results
            .iter()
            .find(|r| r.user_id == user)
            .map(|r| r.reason.clone())
    };
    assert_eq!(reason("busy").as_deref(), Some("claimed"));
    assert_eq!(reason("dead-claimer").as_deref(), Some("ok"));
    assert_eq!(h.fakes.stats().grant_calls(Provider::Tiktok, "busy"), 0);
    let busy = h.item("tiktok", "busy").await;
    assert_eq!(number(&busy, "version"), 1, "untouched");
    assert_eq!(busy["claimOwner"].as_s().unwrap(), "token-api-1");
    let taken = h.item("tiktok", "dead-claimer").await;
    assert_eq!(number(&taken, "version"), 2);
    assert!(!taken.contains_key("claimOwner") && !taken.contains_key("claimUntil"));
}

async fn claim(h: &Harness, user: &str, owner: &str, until: u64) {
    h.dynamodb()
        .update_item()
        .table_name(&h.env["TOKENS_TABLE"])
        .key("userId", AttributeValue::S(user.to_owned()))
        .key("platform", AttributeValue::S("tiktok".to_owned()))
        .update_expression("SET claimOwner = :o, claimUntil = :u")
        .expression_attribute_values(":o", AttributeValue::S(owner.to_owned()))
        .expression_attribute_values(":u", AttributeValue::N(until.to_string()))
        .send()
        .await
        .unwrap();
}

/// The claim's conditions on DynamoDB itself: the version read, no one else's live claim; one's
/// own claim renews; `release` only drops one's own; a conversion waits for the claim to lapse.
#[tokio::test]
async fn a_claim_follows_the_version_and_the_lease() {
    let h = Harness::start().await;
    h.seed("tiktok", "c1", h.now + 60).await;
    let store = DynamoStore::new(
        h.dynamodb(),
        &h.env["TOKENS_TABLE"],
        &h.env["TOKENS_EXPIRY_INDEX"],
    );
    let key = ItemKey {
        user_id: "c1",
        platform: "tiktok",
    };
    let now = h.now;
    assert!(
        !store.claim(key, 7, "a", now, now + 60).await.unwrap(),
        "wrong version"
    );
    assert!(store.claim(key, 1, "a", now, now + 60).await.unwrap());
    assert!(
        store.claim(key, 1, "a", now, now + 90).await.unwrap(),
        "renewed"
    );
    assert!(
        !store.claim(key, 1, "b", now, now + 60).await.unwrap(),
        "held by a"
    );
    store.release(key, "b").await.unwrap();
    let item = store.get("c1", "tiktok").await.unwrap().unwrap();
    let claim = item.claim.clone().unwrap();
    assert_eq!(
        (claim.owner.as_str(), claim.until),
        ("a", now + 90),
        "b cannot release a's claim"
    );
    let converted = Update::Converted {
        access_token: item.access_token.clone(),
        refresh_token: None,
    };
    assert_eq!(
        store.write("c1", "tiktok", 1, &converted, now).await,
        Err(StoreError::Conflict),
        "no conversion under a live claim"
    );
    assert!(
        store.claim(key, 1, "b", now + 91, now + 150).await.unwrap(),
        "lapsed: taken over"
    );
    store.release(key, "b").await.unwrap();
    let item = store.get("c1", "tiktok").await.unwrap().unwrap();
    assert_eq!(
        (item.claim, item.version),
        (None, 1),
        "a claim never moves the version"
    );
}
