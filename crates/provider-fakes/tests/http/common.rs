//! Shared set-up: a started fake, an HTTP client, and request shortcuts.

use std::time::Duration;

use provider_fakes::{FakeConfig, FakeProviders, Provider, SeedOptions, TokenPair};
use reqwest::{Client, Response};
use serde_json::Value;

pub(crate) const REDDIT_UA: &str = "linux:com.example.refresher:v0.1.0 (by /u/example_bot)";

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub(crate) struct Harness {
    pub(crate) fakes: FakeProviders,
    pub(crate) http: Client,
}

pub(crate) async fn start() -> Harness {
    start_with(FakeConfig::default()).await
}

pub(crate) async fn start_with(config: FakeConfig) -> Harness {
    let fakes = FakeProviders::start(config).await.unwrap();
    let http = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    Harness { fakes, http }
}

impl Harness {
    pub(crate) fn seed(&self, provider: Provider, user: &str) -> TokenPair {
        self.fakes.seed(provider, user, SeedOptions::default())
    }

    /// A refresh request with the configured client credentials, as each provider wants them.
    pub(crate) fn refresh_request(
        &self,
        provider: Provider,
        token: &str,
    ) -> reqwest::RequestBuilder {
        let config = self.fakes.config().provider(provider).clone();
        let url = self.fakes.token_url(provider);
        match provider {
            Provider::Tiktok => self.http.post(url).form(&[
                ("client_key", config.client_id.as_str()),
                ("client_secret", &config.client_secret),
                ("grant_type", "refresh_token"),
                ("refresh_token", token),
            ]),
            Provider::Reddit | Provider::Oauth2 => self
                .http
                .post(url)
                .basic_auth(config.client_id, Some(config.client_secret))
                .header(reqwest::header::USER_AGENT, REDDIT_UA)
                .form(&[("grant_type", "refresh_token"), ("refresh_token", token)]),
            Provider::Instagram => self
                .http
                .get(url)
                .query(&[("grant_type", "ig_refresh_token"), ("access_token", token)]),
        }
    }

    pub(crate) async fn refresh(&self, provider: Provider, token: &str) -> Response {
        self.refresh_request(provider, token).send().await.unwrap()
    }

    pub(crate) fn admin(&self, path: &str) -> String {
        format!("{}/_admin/{path}", self.fakes.base_url())
    }
}

/// Status and JSON body.
pub(crate) async fn status_json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

pub(crate) fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|v| v.to_str().unwrap())
}
