//! Proof scenario 5 (the table's side) of RELIABILITY.md: malformed token items among good ones
//! through a whole run. Each bad item is reported with a named reason, the good ones are
//! refreshed, and no item other than the bad one itself is written. Prints `FIGURE bad-items ...`.

#![allow(
    clippy::too_many_lines,
    reason = "end-to-end scenarios read top to bottom; the 60-line limit is for the product's code"
)]
#![allow(clippy::unwrap_used)]

mod refresher_support;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use refresher::run::{self, RunInput, RunOptions, RunResponse};
use refresher_support::{Harness, Item};

const GOOD: usize = 10;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A due item of `user` with `fields` replacing the good item's fields (`None` removes one).
fn variant(good: &Item, user: &str, fields: &[(&str, Option<AttributeValue>)]) -> Item {
    let mut item = good.clone();
    item.insert("userId".to_owned(), s(user));
    for (name, value) in fields {
        match value {
            Some(v) => drop(item.insert((*name).to_owned(), v.clone())),
            None => drop(item.remove(*name)),
        }
    }
    item
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_items_are_named_and_nothing_else_is_touched() {
    let h = Harness::start().await;
    for i in 0..GOOD {
        h.seed("tiktok", &format!("good-{i:02}"), h.now + 60).await;
    }
    let template = h.item("tiktok", "good-00").await;
    let envelope = |name: &str| template[name].clone();
    let mut broken_envelope = envelope("accessToken").as_m().unwrap().clone();
    broken_envelope.remove("ciphertext");
    let mut garbage = envelope("accessToken").as_m().unwrap().clone();
    garbage.insert(
        "ciphertext".to_owned(),
        s("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    );
    let bad: Vec<(&str, Item)> = vec![
        (
            "version-not-a-number",
            variant(&template, "bad-version", &[("version", Some(s("seven")))]),
        ),
        (
            "access-token-a-number",
            variant(&template, "bad-access-type", &[("accessToken", Some(n(5)))]),
        ),
        (
            "envelope-without-ciphertext",
            variant(
                &template,
                "bad-envelope",
                &[("accessToken", Some(AttributeValue::M(broken_envelope)))],
            ),
        ),
        (
            "undecryptable-envelope",
            variant(
                &template,
                "bad-ciphertext",
                &[("accessToken", Some(AttributeValue::M(garbage)))],
            ),
        ),
        // good-00's sealed tokens under another user: the associated data refuses the swap.
        (
            "envelope-of-another-item",
            variant(&template, "bad-swapped", &[]),
        ),
        (
            "no-access-token",
            variant(&template, "bad-no-access", &[("accessToken", None)]),
        ),
        (
            "status-a-number",
            variant(&template, "bad-status", &[("status", Some(n(1)))]),
        ),
        (
            "failures-negative",
            variant(
                &template,
                "bad-failures",
                &[("failures", Some(AttributeValue::N("-3".to_owned())))],
            ),
        ),
        (
            "no-expiry",
            variant(&template, "bad-no-expiry", &[("expiresAt", None)]),
        ),
    ];
    let dynamodb = h.dynamodb();
    let table = h.env["TOKENS_TABLE"].clone();
    for (_, item) in &bad {
        dynamodb
            .put_item()
            .table_name(&table)
            .set_item(Some(item.clone()))
            .send()
            .await
            .unwrap();
    }
    let snapshot = |items: Vec<HashMap<String, AttributeValue>>| -> BTreeMap<String, Item> {
        items
            .into_iter()
            .map(|i| (i["userId"].as_s().unwrap().clone(), i))
            .collect()
    };
    let before = snapshot(
        dynamodb
            .scan()
            .table_name(&table)
            .send()
            .await
            .unwrap()
            .items()
            .to_vec(),
    );

    let deps = h.deps().await;
    let input = RunInput {
        providers: vec!["tiktok".to_owned()],
        dry_run: false,
    };
    let RunResponse::Completed(summary) = run::run(Arc::new(deps), input, RunOptions::new(None))
        .await
        .unwrap()
    else {
        panic!("locked")
    };
    let after = snapshot(
        dynamodb
            .scan()
            .table_name(&table)
            .send()
            .await
            .unwrap()
            .items()
            .to_vec(),
    );

    let reasons: BTreeMap<&str, String> = bad
        .iter()
        .map(|(what, item)| {
            let user = item["userId"].as_s().unwrap();
            let result = summary.results.iter().find(|r| &r.user_id == user);
            let reason = result.map_or_else(
                || "not listed".to_owned(),
                |r| format!("{:?}: {}", r.outcome, r.reason),
            );
            (*what, reason)
        })
        .collect();
    let good_refreshed = (0..GOOD)
        .filter(|i| {
            let user = format!("good-{i:02}");
            after[&user]["version"] != before[&user]["version"]
        })
        .count();
    // Items written by the run other than the good ones (which it refreshed) and the bad one it
    // reported (failures counted on it): none.
    let touched: Vec<&String> = after
        .iter()
        .filter(|(user, item)| before.get(*user) != Some(*item))
        .map(|(user, _)| user)
        .filter(|user| !user.starts_with("good-") && user.as_str() != "cron")
        .collect();
    eprintln!(
        "FIGURE bad-items: {} malformed items among {GOOD} good ones: good refreshed {good_refreshed}; \
         run ok {}, missing expiration {}; each bad item: {reasons:#?}; bad items written: {touched:?}",
        bad.len(),
        summary.ok,
        summary.missing_expiration,
    );
    assert_eq!(good_refreshed, GOOD);
    assert!(
        summary.ok,
        "one bad item must not stop its provider's listing"
    );
    for (what, reason) in &reasons {
        // Without `expiresAt` an item is not in the `byExpiry` index: no run can see it.
        let expected_unlisted = *what == "no-expiry";
        assert_eq!(
            reason == "not listed",
            expected_unlisted,
            "{what}: {reason}"
        );
        assert!(!reason.contains("Refreshed"), "{what} was refreshed");
    }
    assert!(touched.is_empty(), "the run wrote {touched:?}");
}
