//! A refresher run through its Lambda entry point over the `local` stack in moto and the provider
//! fakes: exactly the due tokens are refreshed and re-encrypted, versions bumped, events delivered
//! to an SQS target of the bus, analytics rows written, EMF lines printed, and no token value in
//! any log line or event.

#![allow(clippy::unwrap_used)]

mod refresher_support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::{Context, LambdaEvent};
use refresher_support::{Harness, envelope, fake, number};
use serde_json::Value;

#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const DUE: [(&str, &str); 4] = [
    ("tiktok", "t-due"),
    ("reddit", "r-due"),
    ("instagram", "i-due"),
    ("schwab", "s-due"),
];
const LATER: [(&str, &str); 3] = [
    ("tiktok", "t-later"),
    ("reddit", "r-later"),
    ("schwab", "s-later"),
];

async fn seed(h: &Harness) -> Vec<String> {
    let now = h.now;
    let mut secrets = Vec::new();
    // Windows of the local stage: tiktok 12 h, reddit 20 min, instagram 7 d, schwab 10 min.
    let expiry = [now + 600, now + 300, now + 3 * 86_400, now + 60];
    for ((platform, user), at) in DUE.iter().zip(expiry) {
        let pair = h.seed(platform, user, at).await;
        secrets.extend([pair.access_token].into_iter().chain(pair.refresh_token));
    }
    for ((platform, user), at) in LATER.iter().zip([now + 13 * 3600, now + 3600, now + 3600]) {
        h.seed(platform, user, at).await;
    }
    secrets
}

async fn invoke(h: &Harness) -> Value {
    let deps = Arc::new(h.deps().await);
    let event = LambdaEvent::new(serde_json::json!({}), Context::default());
    refresher::handler::handle(deps, event).await.unwrap()
}

async fn assert_items(h: &Harness) {
    for (platform, user) in DUE {
        let item = h.item(platform, user).await;
        assert_eq!(number(&item, "version"), 2, "{platform}/{user}");
        assert!(
            number(&item, "expiresAt") > h.now + 1800,
            "{platform}/{user}"
        );
        let current = h.fakes.current(fake(platform), user).unwrap();
        let access = h
            .open(platform, user, &envelope(&item, "accessToken"))
            .await;
        assert_eq!(access, current.access_token, "{platform}/{user}");
        if let Some(refresh) = current.refresh_token {
            let stored = h
                .open(platform, user, &envelope(&item, "refreshToken"))
                .await;
            assert_eq!(
                stored, refresh,
                "{platform}/{user} keeps the newest refresh token"
            );
        }
    }
    for (platform, user) in LATER {
        assert_eq!(number(&h.item(platform, user).await, "version"), 1);
        assert_eq!(h.fakes.stats().grant_calls(fake(platform), user), 0);
    }
    let stats = h.fakes.stats();
    assert_eq!(
        (stats.total.refresh_calls, stats.total.reuse_detected),
        (4, 0)
    );
}

async fn assert_analytics(h: &Harness, run_id: &str) {
    for (platform, user) in DUE {
        let rows = h
            .dynamodb()
            .query()
            .table_name(&h.env["ANALYTICS_TABLE"])
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(
                ":pk",
                AttributeValue::S(format!("token.refresh#{platform}")),
            )
            .send()
            .await
            .unwrap();
        let [row] = rows.items() else {
            panic!("{platform}: {} rows", rows.items().len())
        };
        let sk = row["sk"].as_s().unwrap();
        assert!(sk.ends_with(&format!("#{user}#{run_id}")), "{sk}");
        assert_eq!(row["outcome"].as_s().unwrap(), "refreshed");
        assert_eq!(number(row, "ttl"), number(row, "at") + 90 * 86_400);
    }
}

fn assert_emf(h: &Harness) {
    let lines = h.emf.lines();
    assert_eq!(lines.len(), 4, "one EMF line per provider: {lines:?}");
    for line in lines {
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["Stage"], "local");
        assert_eq!(value["Refreshed"], 1, "{line}");
        assert_eq!(value["RunCompleted"], 1);
        let namespace = &value["_aws"]["CloudWatchMetrics"][0]["Namespace"];
        let expected = h
            .env
            .get("METRICS_NAMESPACE")
            .map_or("OAuthRefresher", String::as_str);
        assert_eq!(namespace, expected);
    }
}

/// One `token.refreshed` event per due token, through the bus's SQS target; returns the bodies.
async fn assert_events(h: &Harness, queue: &str) -> Vec<String> {
    let messages = h.drain(queue).await;
    assert_eq!(messages.len(), 4);
    let mut users = Vec::new();
    for message in &messages {
        let body: Value = serde_json::from_str(message.body().unwrap()).unwrap();
        assert_eq!(
            (&body["source"], &body["detail-type"]),
            (&"oauth-refresher".into(), &"token.refreshed".into())
        );
        assert_eq!(body["detail"]["stage"], "local");
        users.push(body["detail"]["userId"].as_str().unwrap().to_owned());
    }
    users.sort();
    assert_eq!(users, ["i-due", "r-due", "s-due", "t-due"]);

    messages
        .iter()
        .map(|m| m.body().unwrap().to_owned())
        .collect()
}

/// A JSON subscriber for this test's thread, writing into `logs`.
fn capture(logs: &Logs) -> tracing::subscriber::DefaultGuard {
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_default(subscriber)
}

#[tokio::test]
async fn a_run_refreshes_exactly_the_due_tokens() {
    let logs = Logs::default();
    let _guard = capture(&logs);
    let h = Harness::start().await;
    let queue = h.event_queue().await;
    let secrets = seed(&h).await;

    let response = invoke(&h).await;
    assert_eq!(response["ok"], true, "{response:#}");
    assert_eq!(
        (
            &response["refreshed"],
            &response["failed"],
            &response["needsReauth"]
        ),
        (&4.into(), &0.into(), &0.into()),
        "{response:#}"
    );
    assert_items(&h).await;
    assert_analytics(&h, response["runId"].as_str().unwrap()).await;
    assert_emf(&h);

    let messages = assert_events(&h, &queue).await;
    let mut current: Vec<String> = Vec::new();
    for (platform, user) in DUE {
        let pair = h.fakes.current(fake(platform), user).unwrap();
        current.extend([pair.access_token].into_iter().chain(pair.refresh_token));
    }
    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("token_refresh_successful"));
    for secret in secrets.iter().chain(&current) {
        assert!(
            !logged.contains(secret.as_str()),
            "a token value was logged"
        );
        assert!(
            messages.iter().all(|b| !b.contains(secret.as_str())),
            "a token in an event"
        );
    }
}
