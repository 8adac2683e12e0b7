//! A table adopted from an app (`create: false`) holds the app's own items: plaintext token strings,
//! no `version`, no `status`, and attributes of the app's own. Against TikTok's fake, which rotates
//! refresh tokens and revokes the grant when an old one is presented again, two runs must refresh
//! every item with one provider call each, queue nothing in the DLQ, lose no grant, and keep the
//! app's attributes. In `plaintext` format the app still reads its tokens as plain strings; in
//! `envelope` format the items are converted to envelopes on their first refresh.
//!
//! Before the version rule covered items without `version`, the first run called the provider 40
//! times and stored nothing (the write's condition `version = :seen` never held), sent 40 recovery
//! records to the DLQ, and the next run presented the spent refresh tokens: 40 grants revoked.

#![allow(clippy::unwrap_used)]

mod refresher_support;

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use provider_fakes::{Provider, SeedOptions};
use refresher::run::{self, RunInput, RunOptions, RunResponse, RunSummary};
use refresher_support::{Harness, Item, envelope, number};

const TOKENS: usize = 40;

fn users() -> Vec<String> {
    (0..TOKENS).map(|i| format!("app-user-{i:02}")).collect()
}

/// Seeds each grant at the fake and writes its item as the seeds' app does.
async fn write_app_items(h: &Harness) {
    for user in users() {
        let options = SeedOptions {
            issued_at: Some(h.now - 3600),
            revoked: false,
        };
        let pair = h.fakes.seed(Provider::Tiktok, &user, options);
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let item: Item = HashMap::from([
            ("userId".to_owned(), s(&user)),
            ("platform".to_owned(), s("tiktok")),
            ("accessToken".to_owned(), s(&pair.access_token)),
            (
                "refreshToken".to_owned(),
                s(pair.refresh_token.as_deref().unwrap()),
            ),
            (
                "expiresAt".to_owned(),
                AttributeValue::N((h.now + 300).to_string()),
            ),
            ("appPlan".to_owned(), s("pro")),
        ]);
        h.put(item).await;
    }
}

async fn refresh_all(h: &Harness) -> RunSummary {
    let input = RunInput {
        providers: vec!["tiktok".to_owned()],
        dry_run: false,
    };
    let deps = Arc::new(h.deps().await);
    match run::run(deps, input, RunOptions::new(None)).await.unwrap() {
        RunResponse::Completed(summary) => summary,
        RunResponse::Locked { .. } => panic!("the run lock was held"),
    }
}

/// Makes every item due again, as time passing would (only `expiresAt` changes).
async fn make_due(h: &Harness) {
    for user in users() {
        h.dynamodb()
            .update_item()
            .table_name(&h.env["TOKENS_TABLE"])
            .key("userId", AttributeValue::S(user))
            .key("platform", AttributeValue::S("tiktok".to_owned()))
            .update_expression("SET expiresAt = :t")
            .expression_attribute_values(":t", AttributeValue::N((h.now + 300).to_string()))
            .send()
            .await
            .unwrap();
    }
}

async fn dlq_depth(h: &Harness) -> usize {
    let out = aws_sdk_sqs::Client::new(&h.sdk)
        .receive_message()
        .queue_url(&h.env["DLQ_URL"])
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    out.messages().len()
}

/// Two runs over the app's items: each refreshes all of them, once each at the provider.
async fn two_runs(h: &Harness) {
    write_app_items(h).await;
    for (run, version) in [(1, 1), (2, 2)] {
        let summary = refresh_all(h).await;
        assert_eq!(
            (summary.refreshed, summary.failed),
            (TOKENS as u64, 0),
            "run {run}: {:?}",
            summary.results
        );
        for user in users() {
            let item = h.item("tiktok", &user).await;
            assert_eq!(number(&item, "version"), version, "{user} after run {run}");
            assert_eq!(item["status"].as_s().unwrap(), "active");
            assert_eq!(
                item["appPlan"].as_s().unwrap(),
                "pro",
                "the app's attribute"
            );
        }
        make_due(h).await;
    }
    let stats = h.fakes.stats();
    assert_eq!(
        stats.provider(Provider::Tiktok).refresh_calls,
        2 * TOKENS as u64
    );
    assert_eq!(
        stats.total.reuse_detected, 0,
        "no spent refresh token sent again"
    );
    for user in users() {
        assert_eq!(stats.grant_calls(Provider::Tiktok, &user), 2, "{user}");
        assert!(!h.fakes.current(Provider::Tiktok, &user).unwrap().revoked);
    }
    assert_eq!(dlq_depth(h).await, 0, "no recovery record");
}

#[tokio::test]
async fn an_apps_plaintext_items_stay_plaintext_through_refreshes() {
    let mut h = Harness::start().await;
    h.env
        .insert("TOKENS_FORMAT".to_owned(), "plaintext".to_owned());
    two_runs(&h).await;
    // The app's own plain read still returns the grant's live tokens.
    for user in users() {
        let item = h.item("tiktok", &user).await;
        let current = h.fakes.current(Provider::Tiktok, &user).unwrap();
        assert!(
            item["accessToken"].as_s().unwrap() == &current.access_token,
            "{user}: the stored access token is the live one"
        );
        assert!(
            Some(item["refreshToken"].as_s().unwrap()) == current.refresh_token.as_ref(),
            "{user}: the stored refresh token is the live one"
        );
    }
}

#[tokio::test]
async fn an_apps_plaintext_items_become_envelopes_in_an_envelope_stage() {
    let h = Harness::start().await;
    assert_eq!(
        h.env["TOKENS_FORMAT"], "envelope",
        "the local stage's format"
    );
    two_runs(&h).await;
    for user in users() {
        let item = h.item("tiktok", &user).await;
        let current = h.fakes.current(Provider::Tiktok, &user).unwrap();
        let access = h
            .open("tiktok", &user, &envelope(&item, "accessToken"))
            .await;
        let refresh = h
            .open("tiktok", &user, &envelope(&item, "refreshToken"))
            .await;
        assert!(access == current.access_token, "{user}: access token");
        assert!(
            Some(&refresh) == current.refresh_token.as_ref(),
            "{user}: refresh token"
        );
    }
}
