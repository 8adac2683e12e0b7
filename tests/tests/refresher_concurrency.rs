//! Two refresher instances started at once over the same 200 due tokens (two cold starts, as two
//! Lambda sandboxes would be): the run lock in DynamoDB lets one run, each token is refreshed once
//! at the provider and no rotated refresh token is ever presented twice. Also: a held lock skips a
//! run, a crashed run's expired lock is stolen.

#![allow(clippy::unwrap_used)]

mod refresher_support;

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use provider_fakes::Provider;
use refresher::run::{self, RunInput, RunOptions, RunResponse};
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
    let lock = h.item("refresh-oauth", "cron").await;
    assert_eq!(
        number(&lock, "expiresAt"),
        0,
        "the lock is released at the end"
    );
}

async fn put_lock(h: &Harness, owner: &str, until: u64) {
    let item = HashMap::from([
        ("userId".to_owned(), AttributeValue::S("cron".to_owned())),
        (
            "platform".to_owned(),
            AttributeValue::S("refresh-oauth".to_owned()),
        ),
        ("expiresAt".to_owned(), AttributeValue::N(until.to_string())),
        ("lockOwner".to_owned(), AttributeValue::S(owner.to_owned())),
    ]);
    h.put(item).await;
}

#[tokio::test]
async fn a_held_lock_skips_and_an_expired_one_is_stolen() {
    let h = Harness::start().await;
    h.seed("reddit", "r1", h.now + 60).await;
    let deps = Arc::new(h.deps().await);
    put_lock(&h, "other-run", h.now + 300).await;
    let response = run::run(
        Arc::clone(&deps),
        RunInput::default(),
        RunOptions::new(None),
    )
    .await
    .unwrap();
    assert_eq!(
        serde_json::to_value(response).unwrap(),
        json!({"ok": true, "skipped": "locked"})
    );
    assert_eq!(h.fakes.stats().total.refresh_calls, 0);

    put_lock(&h, "crashed-run", h.now - 1).await;
    let response = run::run(deps, RunInput::default(), RunOptions::new(None))
        .await
        .unwrap();
    let RunResponse::Completed(summary) = response else {
        panic!("an expired lock must be taken over")
    };
    assert_eq!(summary.refreshed, 1);
    let lock = h.item("refresh-oauth", "cron").await;
    assert!(!lock.contains_key("lockOwner"), "released: {lock:?}");
}
