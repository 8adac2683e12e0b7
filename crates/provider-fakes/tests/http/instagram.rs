//! Instagram: the 24 h rule judged from the seeded issued-at, expiry, Graph errors, reuse.

use provider_fakes::{Provider, SeedOptions};

use crate::common::{now, start, status_json};

const INSTAGRAM: Provider = Provider::Instagram;
const HOUR: u64 = 3_600;

fn issued(hours_ago: u64) -> SeedOptions {
    SeedOptions {
        issued_at: Some(now() - hours_ago * HOUR),
        revoked: false,
    }
}

fn assert_graph_190(status: u16, body: &serde_json::Value) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["type"], "OAuthException");
    assert_eq!(body["error"]["code"], 190);
    assert!(body["error"]["message"].is_string());
}

#[tokio::test]
async fn a_token_younger_than_24_hours_is_refused() {
    let h = start().await;
    let seeded = h.fakes.seed(INSTAGRAM, "alice", issued(23));
    assert_eq!(seeded.refresh_token, None);
    let (status, body) = status_json(h.refresh(INSTAGRAM, &seeded.access_token).await).await;
    assert_graph_190(status, &body);
    assert!(!h.fakes.current(INSTAGRAM, "alice").unwrap().revoked);
}

#[tokio::test]
async fn a_day_old_token_refreshes_and_the_new_one_is_young() {
    let h = start().await;
    let seeded = h.fakes.seed(INSTAGRAM, "alice", issued(25));
    let (status, body) = status_json(h.refresh(INSTAGRAM, &seeded.access_token).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 5_184_000);
    let new = body["access_token"].as_str().unwrap();
    assert!(new.starts_with("instagram-at-") && new != seeded.access_token);
    let current = h.fakes.current(INSTAGRAM, "alice").unwrap();
    assert_eq!(current.access_token, new);
    assert!(current.issued_at >= now() - 5);
    let (status, body) = status_json(h.refresh(INSTAGRAM, new).await).await;
    assert_graph_190(status, &body);
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let h = start().await;
    let seeded = h.fakes.seed(INSTAGRAM, "alice", issued(61 * 24));
    let (status, body) = status_json(h.refresh(INSTAGRAM, &seeded.access_token).await).await;
    assert_graph_190(status, &body);
}

#[tokio::test]
async fn the_replaced_token_is_reuse() {
    let h = start().await;
    let seeded = h.fakes.seed(INSTAGRAM, "alice", issued(48));
    assert_eq!(
        h.refresh(INSTAGRAM, &seeded.access_token)
            .await
            .status()
            .as_u16(),
        200
    );
    let (status, body) = status_json(h.refresh(INSTAGRAM, &seeded.access_token).await).await;
    assert_graph_190(status, &body);
    assert!(h.fakes.current(INSTAGRAM, "alice").unwrap().revoked);
    assert_eq!(h.fakes.stats().provider(INSTAGRAM).reuse_detected, 1);
}

#[tokio::test]
async fn a_revoked_grant_and_a_wrong_grant_type_are_refused() {
    let h = start().await;
    let options = SeedOptions {
        revoked: true,
        ..issued(48)
    };
    let seeded = h.fakes.seed(INSTAGRAM, "alice", options);
    let (status, body) = status_json(h.refresh(INSTAGRAM, &seeded.access_token).await).await;
    assert_graph_190(status, &body);
    let response = h
        .http
        .get(h.fakes.token_url(INSTAGRAM))
        .query(&[
            ("grant_type", "refresh_token"),
            ("access_token", seeded.access_token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(response).await;
    assert_eq!((status, body["error"]["code"].as_u64()), (400, Some(100)));
}
