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
//!
//! # Invariants
//! - Nothing here performs I/O except through a trait seam ([`crypto::KeySource`]); the HTTP and
//!   AWS wiring live outside these modules.
//! - No token, client secret or data key appears in any `Debug`, `Display` or error message.

pub mod config;
pub mod crypto;
pub mod limiter;
pub mod providers;
pub mod retry;
pub mod secret;
