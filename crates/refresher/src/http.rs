//! Sending a provider's [`HttpRequest`]: the [`Transport`] seam and its reqwest (rustls)
//! implementation.
//!
//! Timeouts bound every call; bodies are read up to [`MAX_BODY_BYTES`] + 1 bytes and no further (the
//! adapter's `parse` refuses anything larger). A transport failure (connect, timeout, reset) is
//! [`ProviderError::Transient`] with no status; reqwest's error text is dropped after
//! `without_url()`, because a URL can carry a token (Instagram's refresh is a GET with the token in
//! the query string).

use std::time::Duration;

use async_trait::async_trait;

use crate::providers::{HttpRequest, MAX_BODY_BYTES, Method, ProviderError};

/// A provider's answer, as an adapter's `parse` takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// At most [`MAX_BODY_BYTES`] + 1 bytes.
    pub body: Vec<u8>,
}

/// Sends refresh requests.
#[async_trait]
pub trait Transport: Send + Sync {
    /// Any HTTP status is `Ok`; only a failure to get a response is an error.
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, ProviderError>;
}

/// The production transport.
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

/// Per-request timeouts.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            total: Duration::from_secs(15),
        }
    }
}

impl ReqwestTransport {
    /// A client with rustls, the given timeouts and no redirects (a token endpoint that redirects
    /// is misconfigured; following it would resend the credentials elsewhere).
    pub fn new(timeouts: Timeouts) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.total)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(reqwest::Error::without_url)?;
        Ok(Self { client })
    }
}

fn transient(err: &reqwest::Error) -> ProviderError {
    // The error's text is not kept: status only (and reqwest's URL never reaches a log).
    ProviderError::Transient {
        status: err.status().map(|s| s.as_u16()),
        retry_after: None,
    }
}

fn pairs(params: &[(String, crate::providers::Param)]) -> Vec<(&str, &str)> {
    params
        .iter()
        .map(|(k, v)| (k.as_str(), v.expose()))
        .collect()
}

#[async_trait]
impl Transport for ReqwestTransport {
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, ProviderError> {
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        };
        let mut builder = self.client.request(method, &request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.expose());
        }
        if !request.query.is_empty() {
            builder = builder.query(&pairs(&request.query));
        }
        if !request.form.is_empty() {
            builder = builder.form(&pairs(&request.form));
        }
        let mut response = builder
            .send()
            .await
            .map_err(|err| transient(&err.without_url()))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let mut body = Vec::new();
        while body.len() <= MAX_BODY_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(err) => return Err(transient(&err.without_url())),
            }
        }
        body.truncate(MAX_BODY_BYTES + 1);
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}
