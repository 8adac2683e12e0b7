//! Reddit: User-Agent rule, Basic auth, HTTP 200 errors, optional rotation, 100 requests per window.

use std::time::Duration;

use provider_fakes::{FakeConfig, Provider, Rotation};

use crate::common::{REDDIT_UA, header, start, start_with, status_json};

const REDDIT: Provider = Provider::Reddit;

#[tokio::test]
async fn without_a_descriptive_user_agent_the_request_is_blocked() {
    let h = start().await;
    let token = h.seed(REDDIT, "alice").refresh_token.unwrap();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", token.as_str()),
    ];
    for agent in [
        None,
        Some("python-requests/2.32"),
        Some("linux:refresher (by /u/bot)"),
    ] {
        let mut request = h.http.post(h.fakes.token_url(REDDIT)).form(&form);
        request = request.basic_auth("fake-reddit-client", Some("fake-reddit-secret"));
        if let Some(agent) = agent {
            request = request.header(reqwest::header::USER_AGENT, agent);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 403, "{agent:?}");
        assert!(response.text().await.unwrap().contains("whoa there"));
    }
    assert_eq!(h.fakes.stats().provider(REDDIT).refresh_calls, 0);
    assert_eq!(h.refresh(REDDIT, &token).await.status().as_u16(), 200);
}

#[tokio::test]
async fn invalid_grant_is_http_200_with_an_error_body() {
    let h = start().await;
    let response = h.refresh(REDDIT, "reddit-rt-unknown").await;
    assert!(header(&response, "x-ratelimit-used").is_some());
    let (status, body) = status_json(response).await;
    assert_eq!(
        (status, body),
        (200, serde_json::json!({"error": "invalid_grant"}))
    );
}

#[tokio::test]
async fn by_default_the_refresh_token_is_kept() {
    let h = start().await;
    let token = h.seed(REDDIT, "alice").refresh_token.unwrap();
    for _ in 0..2 {
        let (status, body) = status_json(h.refresh(REDDIT, &token).await).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["expires_in"], 3600);
        assert_eq!(body["token_type"], "bearer");
        assert!(body["scope"].is_string());
        assert!(body.get("refresh_token").is_none(), "{body}");
    }
    assert_eq!(
        h.fakes.current(REDDIT, "alice").unwrap().refresh_token,
        Some(token)
    );
}

#[tokio::test]
async fn when_rotating_reuse_is_detected() {
    let mut config = FakeConfig::default();
    config.reddit.rotation = Rotation::Always;
    let h = start_with(config).await;
    let old = h.seed(REDDIT, "alice").refresh_token.unwrap();
    let (_, body) = status_json(h.refresh(REDDIT, &old).await).await;
    assert!(
        body["refresh_token"]
            .as_str()
            .unwrap()
            .starts_with("reddit-rt-")
    );
    let (status, body) = status_json(h.refresh(REDDIT, &old).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (200, Some("invalid_grant"))
    );
    assert!(h.fakes.current(REDDIT, "alice").unwrap().revoked);
    assert_eq!(h.fakes.stats().provider(REDDIT).reuse_detected, 1);
}

#[tokio::test]
async fn client_must_authenticate_with_basic() {
    let h = start().await;
    let token = h.seed(REDDIT, "alice").refresh_token.unwrap();
    let form = [
        ("client_id", "fake-reddit-client"),
        ("client_secret", "fake-reddit-secret"),
        ("grant_type", "refresh_token"),
        ("refresh_token", token.as_str()),
    ];
    let response = h
        .http
        .post(h.fakes.token_url(REDDIT))
        .header(reqwest::header::USER_AGENT, REDDIT_UA)
        .form(&form)
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(response).await;
    assert_eq!((status, body["error"].as_u64()), (401, Some(401)));
}

#[tokio::test]
async fn a_hundred_requests_per_window_then_429() {
    let h = start().await;
    let token = h.seed(REDDIT, "alice").refresh_token.unwrap();
    for used in 1..=100 {
        let response = h.refresh(REDDIT, &token).await;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            header(&response, "x-ratelimit-used"),
            Some(used.to_string().as_str())
        );
        let remaining = format!("{}.0", 100 - used);
        assert_eq!(
            header(&response, "x-ratelimit-remaining"),
            Some(remaining.as_str())
        );
    }
    let response = h.refresh(REDDIT, &token).await;
    assert_eq!(response.status().as_u16(), 429);
    assert!(header(&response, "retry-after").is_some());
    assert_eq!(header(&response, "x-ratelimit-remaining"), Some("0.0"));
    assert_eq!(h.fakes.stats().provider(REDDIT).rate_limited, 1);
}

#[tokio::test]
async fn the_window_resets() {
    let mut config = FakeConfig {
        rate_window: Duration::from_millis(300),
        ..FakeConfig::default()
    };
    config.reddit.rate_limit = Some(1);
    let h = start_with(config).await;
    let token = h.seed(REDDIT, "alice").refresh_token.unwrap();
    assert_eq!(h.refresh(REDDIT, &token).await.status().as_u16(), 200);
    assert_eq!(h.refresh(REDDIT, &token).await.status().as_u16(), 429);
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(h.refresh(REDDIT, &token).await.status().as_u16(), 200);
}
