//! The `/_admin` JSON API, as a non-Rust client (the README demo, scripts) uses it.

use std::time::{Duration, Instant};

use provider_fakes::Provider;
use serde_json::{Value, json};

use crate::common::{Harness, now, start, status_json};

async fn post(h: &Harness, path: &str, body: &Value) -> (u16, Value) {
    let response = h.http.post(h.admin(path)).json(body).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn seed_then_read_the_current_pair() {
    let h = start().await;
    let issued_at = now() - 90_000;
    let body = json!({"provider": "tiktok", "user": "carol", "issued_at": issued_at});
    let (status, seeded) = post(&h, "grants", &body).await;
    assert_eq!(status, 200, "{seeded}");
    assert!(
        seeded["refresh_token"]
            .as_str()
            .unwrap()
            .starts_with("tiktok-rt-")
    );
    assert_eq!(seeded["issued_at"], issued_at);

    let response = h
        .http
        .get(h.admin("grants/tiktok/carol"))
        .send()
        .await
        .unwrap();
    let (status, current) = status_json(response).await;
    assert_eq!((status, &current), (200, &seeded));
    let missing = h
        .http
        .get(h.admin("grants/tiktok/nobody"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    let (status, _) = post(&h, "grants", &json!({"provider": "google", "user": "x"})).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn stats_count_per_provider_and_grant() {
    let h = start().await;
    let token = h.seed(Provider::Oauth2, "alice").refresh_token.unwrap();
    h.refresh(Provider::Oauth2, &token).await;
    h.refresh(Provider::Oauth2, &token).await;
    let (code, stats) = status_json(h.http.get(h.admin("stats")).send().await.unwrap()).await;
    assert_eq!(code, 200);
    assert_eq!(stats["providers"]["oauth2"]["refresh_calls"], 2);
    assert_eq!(stats["providers"]["oauth2"]["refreshed"], 1);
    assert_eq!(stats["providers"]["oauth2"]["reuse_detected"], 1);
    assert_eq!(stats["grants"]["oauth2/alice"], 2);
    assert_eq!(stats["total"]["refresh_calls"], 2);
}

#[tokio::test]
async fn faults_latency_and_rate_limit_over_http() {
    let h = start().await;
    let token = h.seed(Provider::Oauth2, "alice").refresh_token.unwrap();
    let fault = json!({"provider": "oauth2", "kind": "status", "code": 502, "count": 2});
    assert_eq!(
        post(&h, "faults", &fault).await,
        (200, json!({"queued": 2}))
    );
    assert_eq!(
        h.refresh(Provider::Oauth2, &token).await.status().as_u16(),
        502
    );
    assert_eq!(
        h.refresh(Provider::Oauth2, &token).await.status().as_u16(),
        502
    );

    let (status, _) = post(&h, "latency", &json!({"provider": "oauth2", "ms": 60})).await;
    assert_eq!(status, 204);
    let started = Instant::now();
    assert_eq!(
        h.refresh(Provider::Oauth2, &token).await.status().as_u16(),
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(60));

    let (status, _) = post(&h, "rate-limit", &json!({"provider": "oauth2", "limit": 0})).await;
    assert_eq!(status, 204);
    assert_eq!(
        h.refresh(Provider::Oauth2, "x").await.status().as_u16(),
        429
    );
    post(
        &h,
        "rate-limit",
        &json!({"provider": "oauth2", "limit": null}),
    )
    .await;
    assert_eq!(
        h.refresh(Provider::Oauth2, "x").await.status().as_u16(),
        400
    );
}
