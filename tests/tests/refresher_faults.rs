//! Faults around a refresh, over moto and the provider fakes: nothing is lost. Every rotated
//! refresh token ends up either stored in the item or, sealed, in the DLQ recovery record.
//!
//! - a sibling writes the item while the provider is answering: the conditional write fails in
//!   DynamoDB (moto's `ConditionalCheckFailedException`) and the new set goes to the DLQ;
//! - the tokens table refuses every write (a store that fails `UpdateItem`): retried, then the DLQ;
//! - provider 5xx, 429 + Retry-After, resets, timeouts and a malformed body: retried where safe,
//!   and no grant is ever replayed.

#![allow(clippy::unwrap_used)]

mod refresher_support;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use provider_fakes::{Fault, Provider};
use refresher::crypto::{Envelope, ItemKey};
use refresher::http::{ReqwestTransport, Timeouts};
use refresher::retry::Backoff;
use refresher::run::{self, RunInput, RunOptions, RunResponse, RunSummary};
use refresher::store::{DueToken, DynamoStore, StoreError, TokenItem, TokenStore, Update};
use refresher_support::{Harness, envelope, number};
use serde_json::Value;

fn tiktok() -> RunInput {
    RunInput {
        providers: vec!["tiktok".to_owned()],
        dry_run: false,
    }
}

async fn run_with(deps: refresher::run::Deps, options: RunOptions) -> RunSummary {
    match run::run(Arc::new(deps), tiktok(), options).await.unwrap() {
        RunResponse::Completed(summary) => summary,
        RunResponse::Locked { .. } => panic!("locked"),
    }
}

/// The single recovery record in the DLQ, checked against the fake's live tokens.
async fn assert_recovery(h: &Harness, user: &str, seen_version: u64) {
    let messages = h.drain(&h.env["DLQ_URL"]).await;
    let [message] = messages.as_slice() else {
        panic!("{} messages in the DLQ", messages.len())
    };
    let kind = message.message_attributes().unwrap()["kind"].string_value();
    assert_eq!(kind, Some("token-recovery"));
    let body: Value = serde_json::from_str(message.body().unwrap()).unwrap();
    assert_eq!(body["type"], "token-recovery");
    assert_eq!(
        (body["userId"].as_str(), body["platform"].as_str()),
        (Some(user), Some("tiktok"))
    );
    assert_eq!(body["seenVersion"], seen_version);
    assert!(body["expiresAt"].as_u64().unwrap() > h.now);
    let live = h.fakes.current(Provider::Tiktok, user).unwrap();
    let text = message.body().unwrap();
    assert!(!text.contains(&live.access_token), "plaintext in the DLQ");
    let sealed = |name: &str| serde_json::from_value::<Envelope>(body[name].clone()).unwrap();
    let access = h.open("tiktok", user, &sealed("accessToken")).await;
    let refresh = h.open("tiktok", user, &sealed("refreshToken")).await;
    assert_eq!(access, live.access_token);
    assert_eq!(
        Some(refresh),
        live.refresh_token,
        "the rotated token is recoverable"
    );
}

#[tokio::test]
async fn a_sibling_write_during_the_provider_call_sends_the_set_to_the_dlq() {
    let h = Harness::start().await;
    h.seed("tiktok", "w1", h.now + 60).await;
    h.fakes
        .set_latency(Provider::Tiktok, Duration::from_millis(1500));
    let deps = h.deps().await;
    let sibling = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        h.dynamodb()
            .update_item()
            .table_name(&h.env["TOKENS_TABLE"])
            .key("userId", AttributeValue::S("w1".to_owned()))
            .key("platform", AttributeValue::S("tiktok".to_owned()))
            .update_expression("SET #v = #v + :one")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
            .send()
            .await
            .unwrap();
    };
    let (summary, ()) = tokio::join!(run_with(deps, RunOptions::new(None)), sibling);
    assert_eq!(
        summary.results[0].reason, "store_write_recovered",
        "{summary:?}"
    );
    assert_eq!(
        number(&h.item("tiktok", "w1").await, "version"),
        2,
        "only the sibling wrote"
    );
    assert_recovery(&h, "w1", 1).await;
}

/// The tokens table with every `UpdateItem` failing (reads and the lock still work).
struct FailingWrites(DynamoStore);

#[async_trait]
impl TokenStore for FailingWrites {
    async fn due(&self, platform: &str, before: u64) -> Result<Vec<DueToken>, StoreError> {
        self.0.due(platform, before).await
    }
    async fn get(&self, user_id: &str, platform: &str) -> Result<Option<TokenItem>, StoreError> {
        self.0.get(user_id, platform).await
    }
    async fn write(&self, _: &str, _: &str, _: u64, _: &Update, _: u64) -> Result<(), StoreError> {
        Err(StoreError::Failed(
            "InternalServerError (injected)".to_owned(),
        ))
    }
    async fn claim(
        &self,
        key: ItemKey<'_>,
        seen: u64,
        owner: &str,
        now: u64,
        until: u64,
    ) -> Result<bool, StoreError> {
        self.0.claim(key, seen, owner, now, until).await
    }
    async fn release(&self, key: ItemKey<'_>, owner: &str) -> Result<(), StoreError> {
        self.0.release(key, owner).await
    }
    async fn lock(
        &self,
        provider: &str,
        owner: &str,
        now: u64,
        until: u64,
    ) -> Result<bool, StoreError> {
        self.0.lock(provider, owner, now, until).await
    }
    async fn unlock(&self, provider: &str, owner: &str) -> Result<(), StoreError> {
        self.0.unlock(provider, owner).await
    }
}

#[tokio::test]
async fn a_table_refusing_writes_after_a_provider_success_sends_the_set_to_the_dlq() {
    let h = Harness::start().await;
    h.seed("tiktok", "w2", h.now + 60).await;
    let mut deps = h.deps().await;
    let table = aws_sdk_dynamodb::Client::new(&h.sdk);
    let store = DynamoStore::new(table, &h.env["TOKENS_TABLE"], &h.env["TOKENS_EXPIRY_INDEX"]);
    deps.store = Arc::new(FailingWrites(store));
    let summary = run_with(deps, RunOptions::new(None)).await;
    assert_eq!(summary.results[0].reason, "store_write_recovered");
    assert_eq!(
        h.fakes.stats().total.refresh_calls,
        1,
        "the provider is called once"
    );
    assert_recovery(&h, "w2", 1).await;
}

/// Six faults for the next TikTok requests, in this order.
fn inject_faults(h: &Harness) {
    for (fault, count) in [
        (Fault::Status { code: 503 }, 2),
        (Fault::RateLimit { retry_after: 1 }, 1),
        (Fault::Reset, 1),
        (Fault::Timeout { ms: 3000 }, 1),
        (Fault::Malformed, 1),
    ] {
        h.fakes.inject(Provider::Tiktok, fault, count);
    }
}

/// A 1 s HTTP timeout and short backoff with enough attempts for one token to meet every fault.
async fn fast_retries(h: &Harness) -> (refresher::run::Deps, RunOptions) {
    let mut deps = h.deps().await;
    let timeouts = Timeouts {
        connect: Duration::from_secs(1),
        total: Duration::from_secs(1),
    };
    deps.transport = Arc::new(ReqwestTransport::new(timeouts).unwrap());
    let mut options = RunOptions::new(None);
    options.backoff = Backoff {
        base: Duration::from_millis(100),
        cap: Duration::from_secs(1),
        max_attempts: 8,
        max_wait: Duration::from_secs(30),
    };
    (deps, options)
}

#[tokio::test]
async fn provider_faults_are_retried_and_lose_nothing() {
    let h = Harness::start().await;
    let users = ["f1", "f2", "f3", "f4"];
    for user in users {
        h.seed("tiktok", user, h.now + 60).await;
    }
    inject_faults(&h);
    let (deps, options) = fast_retries(&h).await;
    let summary = run_with(deps, options).await;
    // Six faults over four tokens: the malformed body is the only non-retryable one.
    assert_eq!((summary.refreshed, summary.failed), (3, 1), "{summary:?}");
    let stats = h.fakes.stats();
    assert_eq!(
        (stats.total.faults_injected, stats.total.reuse_detected),
        (6, 0)
    );
    for user in users {
        let item = h.item("tiktok", user).await;
        let live = h.fakes.current(Provider::Tiktok, user).unwrap();
        assert!(!live.revoked, "{user}'s grant was replayed");
        let stored = h
            .open("tiktok", user, &envelope(&item, "refreshToken"))
            .await;
        assert_eq!(
            Some(stored),
            live.refresh_token,
            "{user} holds the live refresh token"
        );
    }
    assert!(h.drain(&h.env["DLQ_URL"]).await.is_empty());
}
