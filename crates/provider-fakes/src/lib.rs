//! Local HTTP fakes of the OAuth providers the refresher talks to: TikTok, Reddit, Instagram and a
//! generic RFC 6749 server, on one server on 127.0.0.1, following `PROVIDERS.md`. They rotate
//! refresh tokens, detect reuse (RFC 9700 §4.14.2: a rotated-out token revokes its whole grant),
//! keep each provider's quirks (Reddit's HTTP 200 errors and User-Agent rule, Instagram's 24 h rule),
//! enforce rate limits, and misbehave on request (queued faults).
//!
//! Modules:
//! - `config`: [`Provider`], [`FakeConfig`], per-provider credentials, lifetimes, limits.
//! - `store`: grants and the refresh rules; `codes`: authorization codes with PKCE.
//! - `faults`, `limits`, `stats`: injected faults, rate windows, counters.
//! - `app`: the shared state; `server`: the accept loop (it can drop a connection unanswered).
//! - `routes`: one module per provider, `/authorize`, the `/_admin` JSON API.
//! - [`demo`]: the README demo's sample grants.
//!
//! Tests use [`FakeProviders`] in-process; the `provider-fakes` binary serves the same routes.
//!
//! Routes (below [`FakeProviders::base_url`]):
//! - `POST /tiktok/v2/oauth/token/`, `POST /reddit/api/v1/access_token`, `POST /oauth2/token`:
//!   `grant_type=refresh_token` or `authorization_code` (PKCE S256 when a challenge was given).
//! - `GET /instagram/refresh_access_token?grant_type=ig_refresh_token&access_token=…`;
//!   `POST /instagram/oauth/access_token` (code → short-lived) and
//!   `GET /instagram/access_token?grant_type=ig_exchange_token` (short-lived → long-lived).
//! - `GET /{tiktok,reddit,instagram,oauth2}/authorize`: redirects with `code` and `state`.
//! - `/_admin`: `POST grants`, `GET grants/{provider}/{user}`, `GET stats`, `POST faults`,
//!   `POST latency` `{provider, ms}`, `POST rate-limit` `{provider, limit}`.
//!
//! Two concurrent refreshes with one rotating refresh token get one success and one reuse
//! detection, which revokes the grant: exactly what a refresher must never cause.

mod app;
mod codes;
mod config;
pub mod demo;
mod faults;
mod limits;
mod routes;
mod server;
mod stats;
mod store;
mod tokens;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use config::{FakeConfig, Provider, ProviderConfig, Rotation, UnknownProvider};
pub use faults::Fault;
pub use stats::{ProviderStats, Stats};
pub use store::{SeedOptions, TokenPair};

use app::App;

/// Why the fakes could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The port is taken or not allowed.
    #[error("cannot listen on 127.0.0.1:{port}: {source}; pick another --port or 0 for a free one")]
    Bind {
        /// The port asked for.
        port: u16,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The running fakes; dropping this stops the server and closes its connections.
#[derive(Debug)]
pub struct FakeProviders {
    app: Arc<App>,
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl FakeProviders {
    /// Binds 127.0.0.1 on `config.port` (0: a free port) and serves on the current tokio runtime.
    pub async fn start(config: FakeConfig) -> Result<Self, StartError> {
        let port = config.port;
        let bind = |source| StartError::Bind { port, source };
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .map_err(bind)?;
        let addr = listener.local_addr().map_err(bind)?;
        for provider in Provider::ALL {
            let secret = &config.provider(provider).client_secret;
            secret_ledger::record(&format!("fakes:{provider}:client_secret"), secret);
        }
        let app = Arc::new(App::new(config));
        let task = tokio::spawn(server::serve(listener, routes::router(Arc::clone(&app))));
        Ok(Self { app, addr, task })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL of `provider`'s refresh endpoint (Instagram's is a GET).
    pub fn token_url(&self, provider: Provider) -> String {
        format!("{}{}", self.base_url(), provider.token_path())
    }

    /// The URL of `provider`'s authorization endpoint.
    pub fn authorize_url(&self, provider: Provider) -> String {
        format!("{}/{provider}/authorize", self.base_url())
    }

    /// Creates (or replaces) `user`'s grant and returns its tokens.
    pub fn seed(&self, provider: Provider, user: &str, options: SeedOptions) -> TokenPair {
        self.app.seed(provider, user, options)
    }

    /// The current tokens of `user`'s grant, revoked or not.
    pub fn current(&self, provider: Provider, user: &str) -> Option<TokenPair> {
        self.app.current(provider, user)
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.app.stats()
    }

    /// Queues `count` copies of `fault` for the next token requests to `provider`.
    pub fn inject(&self, provider: Provider, fault: Fault, count: u32) {
        self.app.inject(provider, fault, count);
    }

    /// Delay added before every token-endpoint answer of `provider`.
    pub fn set_latency(&self, provider: Provider, latency: Duration) {
        self.app.set_latency(provider, latency);
    }

    /// Requests per rate window (`FakeConfig::rate_window`) and client; `None` lifts the limit.
    pub fn set_rate_limit(&self, provider: Provider, limit: Option<u32>) {
        self.app.set_rate_limit(provider, limit);
    }

    /// The configuration the fakes were started with.
    pub fn config(&self) -> &FakeConfig {
        self.app.config()
    }
}

impl Drop for FakeProviders {
    fn drop(&mut self) {
        self.task.abort();
    }
}
