//! The code flow: `/authorize` redirects with code and state, the token endpoint redeems the code
//! once, with the PKCE S256 check when a challenge was given; Instagram's short-lived exchange.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use provider_fakes::Provider;
use reqwest::Response;
use sha2::{Digest as _, Sha256};

use crate::common::{Harness, header, start, status_json};

const VERIFIER: &str = "a-very-long-random-code-verifier-of-at-least-43-characters";
const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn challenge() -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(VERIFIER))
}

/// Runs `/authorize` for bob and returns the code from the redirect.
async fn code(h: &Harness, provider: Provider, id_field: &str, pkce: bool) -> String {
    let config = h.fakes.config().provider(provider);
    let challenge = challenge();
    let mut query = vec![
        (id_field, config.client_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
        ("state", "xyz 1"),
        ("user", "bob"),
    ];
    if pkce {
        query.extend([
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ]);
    }
    let response = h
        .http
        .get(h.fakes.authorize_url(provider))
        .query(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 302);
    let location = header(&response, "location").unwrap();
    assert!(
        location.starts_with(&format!("{REDIRECT}?code=")),
        "{location}"
    );
    assert!(location.ends_with("&state=xyz%201"), "{location}");
    let code = location
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    code.to_owned()
}

async fn redeem(h: &Harness, code: &str, verifier: Option<&str>) -> Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    form.extend(verifier.map(|v| ("code_verifier", v)));
    let url = h.fakes.token_url(Provider::Oauth2);
    let request = h
        .http
        .post(url)
        .basic_auth("fake-oauth2-client", Some("fake-oauth2-secret"));
    request.form(&form).send().await.unwrap()
}

#[tokio::test]
async fn code_with_pkce_becomes_a_grant_once() {
    let h = start().await;
    let code = code(&h, Provider::Oauth2, "client_id", true).await;
    let (status, body) = status_json(redeem(&h, &code, Some(VERIFIER)).await).await;
    assert_eq!(status, 200, "{body}");
    let current = h.fakes.current(Provider::Oauth2, "bob").unwrap();
    assert_eq!(
        body["refresh_token"].as_str(),
        current.refresh_token.as_deref()
    );

    let (status, body) = status_json(redeem(&h, &code, Some(VERIFIER)).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(h.fakes.current(Provider::Oauth2, "bob").unwrap().revoked);
}

#[tokio::test]
async fn a_wrong_or_missing_verifier_is_invalid_grant() {
    let h = start().await;
    let code = code(&h, Provider::Oauth2, "client_id", true).await;
    for verifier in [Some("not-the-verifier"), None] {
        let (status, body) = status_json(redeem(&h, &code, verifier).await).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
    }
    assert!(h.fakes.current(Provider::Oauth2, "bob").is_none());
}

#[tokio::test]
async fn tiktok_code_without_pkce() {
    let h = start().await;
    let code = code(&h, Provider::Tiktok, "client_key", false).await;
    let form = [
        ("client_key", "fake-tiktok-client"),
        ("client_secret", "fake-tiktok-secret"),
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let response = h
        .http
        .post(h.fakes.token_url(Provider::Tiktok))
        .form(&form)
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(response).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["open_id"], "tiktok-open-id-bob");
}

#[tokio::test]
async fn instagram_code_short_lived_then_long_lived() {
    let h = start().await;
    let code = code(&h, Provider::Instagram, "client_id", true).await;
    let form = [
        ("client_id", "fake-instagram-client"),
        ("client_secret", "fake-instagram-secret"),
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let url = format!("{}/instagram/oauth/access_token", h.fakes.base_url());
    let (status, body) = status_json(h.http.post(url).form(&form).send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let short = body["data"][0]["access_token"].as_str().unwrap();
    let url = format!("{}/instagram/access_token", h.fakes.base_url());
    let query = [
        ("grant_type", "ig_exchange_token"),
        ("client_secret", "fake-instagram-secret"),
        ("access_token", short),
    ];
    let (status, body) = status_json(h.http.get(url).query(&query).send().await.unwrap()).await;
    assert_eq!(
        (status, body["expires_in"].as_u64()),
        (200, Some(5_184_000)),
        "{body}"
    );
    let current = h.fakes.current(Provider::Instagram, "bob").unwrap();
    assert_eq!(
        body["access_token"].as_str(),
        Some(current.access_token.as_str())
    );
    assert_eq!(
        h.refresh(Provider::Instagram, &current.access_token)
            .await
            .status()
            .as_u16(),
        400
    );
}

#[tokio::test]
async fn bad_requests_to_authorize() {
    let h = start().await;
    let url = h.fakes.authorize_url(Provider::Oauth2);
    let query = [
        ("client_id", "stranger"),
        ("redirect_uri", REDIRECT),
        ("response_type", "code"),
    ];
    let response = h.http.get(&url).query(&query).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let query = [
        ("client_id", "fake-oauth2-client"),
        ("redirect_uri", REDIRECT),
        ("response_type", "token"),
    ];
    let response = h.http.get(&url).query(&query).send().await.unwrap();
    let location = header(&response, "location").unwrap();
    assert!(
        location.ends_with("?error=unsupported_response_type"),
        "{location}"
    );
}
