//! The refresher: finds OAuth tokens about to expire, refreshes them and writes them back safely
//! (DESIGN §5). This crate holds the logic; the `bootstrap` binary only wires AWS clients to it.
//!
//! # Crate map
//! - [`config`]: the function's environment and the client credentials secret, parsed and checked
//!   once per cold start.
//! - [`secret`]: [`secret::SecretString`], the wrapper every token and client secret lives in
//!   (`***` in `Debug`, zeroed on drop).
//! - [`crypto`]: envelope encryption of token values (AES-256-GCM, KMS data keys bound to
//!   `userId|platform`), the [`crypto::KeySource`] seam to KMS and the per-run [`crypto::KeyCache`].
//! - [`providers`]: one adapter per provider behind [`providers::Provider`]: pure request building
//!   and response parsing with errors classified for the run.
//! - [`limiter`]: a token bucket per provider, with time passed in.
//! - [`retry`]: exponential backoff with full jitter, honouring server hints.
//! - [`clock`]: the run's epoch clock (follows tokio time) and RFC 3339 formatting.
//! - [`store`]: the [`store::TokenStore`] seam and its DynamoDB implementation (due query,
//!   conditional writes, the run lock).
//! - [`kms`], [`secrets`]: KMS as the [`crypto::KeySource`]; the credentials secret.
//! - [`http`]: the [`http::Transport`] seam and its reqwest (rustls) implementation.
//! - [`events`], [`metrics`]: outcome signals (bus events, analytics rows, DLQ recovery
//!   records) and Embedded Metric Format lines; [`analytics`]: the analytics rows read back.
//! - [`status`]: the per-provider status report of `deployer status` and the token API's
//!   `status` action (one implementation).
//! - [`api`]: the token API (`REFRESHER_MODE=token-api`): refresh on demand, status.
//! - [`run`]: the engine; [`handler`]: the Lambda entry point and cold-start wiring.
//!
//! # Invariants
//! - [`run`] performs I/O only through its seams ([`run::Deps`]); only [`store::dynamo`], [`kms`],
//!   [`secrets`], [`http`], [`events`], [`analytics`] and [`handler`] touch the network.
//! - No token, client secret or data key appears in any `Debug`, `Display`, log line, event,
//!   metric or error message; a recovery record holds envelopes only.

// The tokens table's contract lives in its own crate (shared with the deployer and apps' Rust
// services); its modules keep their paths here.
pub use token_store::{crypto, kms, secret, store};

pub mod analytics;
pub mod api;
pub mod clock;
pub mod config;
pub mod events;
pub mod handler;
pub mod http;
pub mod limiter;
pub mod metrics;
pub mod providers;
pub mod retry;
pub mod run;
pub mod secrets;
pub mod status;
