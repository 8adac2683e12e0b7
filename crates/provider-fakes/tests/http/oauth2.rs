//! Generic RFC 6749: client auth by Basic or body, §5.2 errors, configurable rotation.

use provider_fakes::{FakeConfig, Provider, Rotation, SeedOptions};

use crate::common::{header, start, start_with, status_json};

const OAUTH2: Provider = Provider::Oauth2;
const ID: &str = "fake-oauth2-client";
const SECRET: &str = "fake-oauth2-secret";

#[tokio::test]
async fn basic_auth_refresh_rotates() {
    let h = start().await;
    let old = h.seed(OAUTH2, "alice").refresh_token.unwrap();
    let response = h.refresh(OAUTH2, &old).await;
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    let (status, body) = status_json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_ne!(body["refresh_token"].as_str().unwrap(), old);
    let (status, body) = status_json(h.refresh(OAUTH2, &old).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn client_credentials_in_the_body_are_accepted() {
    let h = start().await;
    let token = h.seed(OAUTH2, "alice").refresh_token.unwrap();
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", token.as_str()),
        ("client_id", ID),
        ("client_secret", SECRET),
    ];
    let response = h
        .http
        .post(h.fakes.token_url(OAUTH2))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn two_auth_methods_or_a_wrong_secret_are_refused() {
    let h = start().await;
    let token = h.seed(OAUTH2, "alice").refresh_token.unwrap();
    let both = [
        ("grant_type", "refresh_token"),
        ("refresh_token", token.as_str()),
        ("client_id", ID),
        ("client_secret", SECRET),
    ];
    let url = h.fakes.token_url(OAUTH2);
    let response = h
        .http
        .post(&url)
        .basic_auth(ID, Some(SECRET))
        .form(&both)
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(response).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );

    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", token.as_str()),
    ];
    let response = h
        .http
        .post(&url)
        .basic_auth(ID, Some("wrong"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert!(
        header(&response, "www-authenticate")
            .unwrap()
            .starts_with("Basic")
    );
    let (status, body) = status_json(response).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
}

#[tokio::test]
async fn unsupported_grant_type_and_revoked_grant() {
    let h = start().await;
    let url = h.fakes.token_url(OAUTH2);
    let form = [("grant_type", "password"), ("username", "alice")];
    let response = h
        .http
        .post(&url)
        .basic_auth(ID, Some(SECRET))
        .form(&form)
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(response).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );

    let options = SeedOptions {
        revoked: true,
        ..SeedOptions::default()
    };
    let token = h.fakes.seed(OAUTH2, "bob", options).refresh_token.unwrap();
    let (status, body) = status_json(h.refresh(OAUTH2, &token).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}

#[tokio::test]
async fn rotation_can_be_turned_off() {
    let mut config = FakeConfig::default();
    config.oauth2.rotation = Rotation::Never;
    let h = start_with(config).await;
    let token = h.seed(OAUTH2, "alice").refresh_token.unwrap();
    for _ in 0..2 {
        let (status, body) = status_json(h.refresh(OAUTH2, &token).await).await;
        assert_eq!(status, 200);
        assert!(body.get("refresh_token").is_none(), "{body}");
    }
    assert_eq!(h.fakes.stats().provider(OAUTH2).reuse_detected, 0);
}
