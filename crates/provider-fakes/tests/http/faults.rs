//! Injected faults: each kind, their order and count, and that they leave the grant untouched.

use std::time::{Duration, Instant};

use provider_fakes::{Fault, Provider};

use crate::common::{Harness, header, start, status_json};

const OAUTH2: Provider = Provider::Oauth2;

/// Seeds alice and returns her refresh token.
fn seeded(h: &Harness) -> String {
    h.seed(OAUTH2, "alice").refresh_token.unwrap()
}

fn unchanged(h: &Harness, token: &str) -> bool {
    h.fakes
        .current(OAUTH2, "alice")
        .unwrap()
        .refresh_token
        .as_deref()
        == Some(token)
}

#[tokio::test]
async fn status_faults_are_consumed_in_order_then_service_resumes() {
    let h = start().await;
    let token = seeded(&h);
    h.fakes.inject(OAUTH2, Fault::Status { code: 503 }, 2);
    h.fakes.inject(OAUTH2, Fault::Status { code: 500 }, 1);
    for expected in [503, 503, 500] {
        assert_eq!(h.refresh(OAUTH2, &token).await.status().as_u16(), expected);
        assert!(unchanged(&h, &token));
    }
    assert_eq!(h.refresh(OAUTH2, &token).await.status().as_u16(), 200);
    let stats = h.fakes.stats().provider(OAUTH2);
    assert_eq!(
        (stats.faults_injected, stats.refresh_calls, stats.refreshed),
        (3, 4, 1)
    );
}

#[tokio::test]
async fn faults_only_hit_their_provider() {
    let h = start().await;
    let token = h.seed(Provider::Tiktok, "alice").refresh_token.unwrap();
    h.fakes.inject(OAUTH2, Fault::Status { code: 503 }, 1);
    assert_eq!(
        h.refresh(Provider::Tiktok, &token).await.status().as_u16(),
        200
    );
}

#[tokio::test]
async fn rate_limit_fault_sends_retry_after() {
    let h = start().await;
    let token = seeded(&h);
    h.fakes
        .inject(OAUTH2, Fault::RateLimit { retry_after: 7 }, 1);
    let response = h.refresh(OAUTH2, &token).await;
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(header(&response, "retry-after"), Some("7"));
    assert!(unchanged(&h, &token));
    let stats = h.fakes.stats().provider(OAUTH2);
    assert_eq!((stats.rate_limited, stats.faults_injected), (1, 1));
}

#[tokio::test]
async fn timeout_holds_past_the_client_deadline_without_rotating() {
    let h = start().await;
    let token = seeded(&h);
    h.fakes.inject(OAUTH2, Fault::Timeout { ms: 600 }, 1);
    let request = h
        .refresh_request(OAUTH2, &token)
        .timeout(Duration::from_millis(150));
    let error = request.send().await.unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(unchanged(&h, &token));
    assert_eq!(h.refresh(OAUTH2, &token).await.status().as_u16(), 200);
}

#[tokio::test]
async fn timeout_ends_without_an_answer_when_the_client_waits() {
    let h = start().await;
    let token = seeded(&h);
    h.fakes.inject(OAUTH2, Fault::Timeout { ms: 100 }, 1);
    let started = Instant::now();
    let error = h.refresh_request(OAUTH2, &token).send().await.unwrap_err();
    assert!(
        !error.is_timeout() && started.elapsed() >= Duration::from_millis(100),
        "{error:?}"
    );
}

#[tokio::test]
async fn reset_closes_the_connection_at_once() {
    let h = start().await;
    let token = seeded(&h);
    h.fakes.inject(OAUTH2, Fault::Reset, 1);
    let started = Instant::now();
    let error = h.refresh_request(OAUTH2, &token).send().await.unwrap_err();
    assert!(!error.is_timeout(), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(unchanged(&h, &token));
    assert_eq!(h.fakes.stats().provider(OAUTH2).faults_injected, 1);
}

#[tokio::test]
async fn slow_answers_late_but_answers() {
    let h = start().await;
    let token = seeded(&h);
    h.fakes.inject(OAUTH2, Fault::Slow { ms: 200 }, 1);
    let started = Instant::now();
    let (status, body) = status_json(h.refresh(OAUTH2, &token).await).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(status, 200);
    assert!(!unchanged(&h, &token), "{body}");
}

#[tokio::test]
async fn malformed_is_truncated_json() {
    let h = start().await;
    let token = seeded(&h);
    h.fakes.inject(OAUTH2, Fault::Malformed, 1);
    let response = h.refresh(OAUTH2, &token).await;
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap();
    assert!(text.starts_with('{'));
    assert!(
        serde_json::from_str::<serde_json::Value>(&text).is_err(),
        "{text}"
    );
    assert!(unchanged(&h, &token));
}

#[tokio::test]
async fn latency_delays_every_answer() {
    let h = start().await;
    let token = seeded(&h);
    h.fakes.set_latency(OAUTH2, Duration::from_millis(80));
    let started = Instant::now();
    assert_eq!(h.refresh(OAUTH2, &token).await.status().as_u16(), 200);
    assert!(started.elapsed() >= Duration::from_millis(80));
}
