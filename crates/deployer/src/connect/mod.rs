//! `deployer tokens connect`: the authorization-code flow (RFC 6749 §4.1) run from an operator's
//! machine, ending in a token item written as the refresher writes it. This is how a user whose
//! token is `needs_reauth` (a revoked grant, Schwab's 7-day refresh limit) is connected again.
//!
//! - [`endpoints`]: each provider's consent page and code exchange, and how to ask (pure).
//! - [`pkce`]: the `state` value and PKCE (RFC 7636, S256) pairs.
//! - [`exchange`]: the code-exchange requests and reading their answers (pure).
//! - [`callback`]: reading the redirect, and the loopback listener the browser is sent to.

pub mod callback;
pub mod endpoints;
pub mod exchange;
pub mod pkce;
