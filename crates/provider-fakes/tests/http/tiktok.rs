//! TikTok: always rotates, reuse revokes the family, TikTok-shaped errors and 429.

use provider_fakes::Provider;

use crate::common::{header, start, status_json};

const TIKTOK: Provider = Provider::Tiktok;

#[tokio::test]
async fn refresh_rotates_and_returns_tiktok_fields() {
    let h = start().await;
    let seeded = h.seed(TIKTOK, "alice");
    let old = seeded.refresh_token.unwrap();
    let (status, body) = status_json(h.refresh(TIKTOK, &old).await).await;
    assert_eq!(status, 200, "{body}");
    let new = body["refresh_token"].as_str().unwrap();
    assert!(new.starts_with("tiktok-rt-") && new != old);
    assert!(
        body["access_token"]
            .as_str()
            .unwrap()
            .starts_with("tiktok-at-")
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 7200);
    assert!(body["refresh_expires_in"].as_u64().unwrap() > 0);
    assert!(body["open_id"].is_string() && body["scope"].is_string());
    let current = h.fakes.current(TIKTOK, "alice").unwrap();
    assert_eq!(current.refresh_token.as_deref(), Some(new));
    assert_eq!(current.access_token, body["access_token"].as_str().unwrap());
}

#[tokio::test]
async fn reusing_the_old_token_revokes_the_family() {
    let h = start().await;
    let old = h.seed(TIKTOK, "alice").refresh_token.unwrap();
    let (_, body) = status_json(h.refresh(TIKTOK, &old).await).await;
    let new = body["refresh_token"].as_str().unwrap().to_owned();

    let (status, body) = status_json(h.refresh(TIKTOK, &old).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(body["log_id"].is_string() && body["error_description"].is_string());
    assert!(h.fakes.current(TIKTOK, "alice").unwrap().revoked);
    let (status, body) = status_json(h.refresh(TIKTOK, &new).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let counts = h.fakes.stats().provider(TIKTOK);
    assert_eq!(
        (
            counts.refresh_calls,
            counts.refreshed,
            counts.reuse_detected
        ),
        (3, 1, 1)
    );
    assert_eq!(h.fakes.stats().grant_calls(TIKTOK, "alice"), 3);
}

#[tokio::test]
async fn unknown_client_is_invalid_client() {
    let h = start().await;
    let token = h.seed(TIKTOK, "alice").refresh_token.unwrap();
    let form = [
        ("client_key", "someone-else"),
        ("client_secret", "fake-tiktok-secret"),
        ("grant_type", "refresh_token"),
        ("refresh_token", token.as_str()),
    ];
    let response = h
        .http
        .post(h.fakes.token_url(TIKTOK))
        .form(&form)
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(response).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert!(!h.fakes.current(TIKTOK, "alice").unwrap().revoked);
}

#[tokio::test]
async fn rate_limit_answers_429_with_reset_header() {
    let h = start().await;
    h.fakes.set_rate_limit(TIKTOK, Some(1));
    let token = h.seed(TIKTOK, "alice").refresh_token.unwrap();
    let first = h.refresh(TIKTOK, &token).await;
    assert_eq!(first.status().as_u16(), 200);
    let second = h.refresh(TIKTOK, "tiktok-rt-whatever").await;
    assert_eq!(second.status().as_u16(), 429);
    let reset: u64 = header(&second, "x-ratelimit-reset")
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&reset), "{reset}");
    assert_eq!(
        header(&second, "retry-after"),
        Some(reset.to_string().as_str())
    );
    assert_eq!(h.fakes.stats().provider(TIKTOK).rate_limited, 1);
}

#[tokio::test]
async fn two_concurrent_refreshes_of_one_token_revoke_the_grant() {
    let h = start().await;
    let token = h.seed(TIKTOK, "alice").refresh_token.unwrap();
    let (a, b) = tokio::join!(h.refresh(TIKTOK, &token), h.refresh(TIKTOK, &token));
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 400]);
    assert!(h.fakes.current(TIKTOK, "alice").unwrap().revoked);
    assert_eq!(h.fakes.stats().provider(TIKTOK).reuse_detected, 1);
}
