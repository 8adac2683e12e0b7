//! Random token strings, the clock, and the PKCE S256 transform.
//!
//! Tokens carry the provider's name and their kind (`tiktok-at-…`, `tiktok-rt-…`) so a leak test can
//! search logs and events for them; the rest is 256 random bits, so they cannot be guessed.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng as _;
use sha2::{Digest as _, Sha256};

use crate::config::Provider;

/// What a token is for; part of its prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Access,
    Refresh,
    Code,
    ShortLived,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Self::Access => "at",
            Self::Refresh => "rt",
            Self::Code => "code",
            Self::ShortLived => "sl",
        }
    }
}

/// A fresh, unguessable token such as `reddit-rt-3q2…`.
pub(crate) fn new_token(provider: Provider, kind: Kind) -> String {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!(
        "{}-{}-{}",
        provider.as_str(),
        kind.tag(),
        URL_SAFE_NO_PAD.encode(bytes)
    );
    secret_ledger::record(&format!("fakes:{provider}:{}", kind.tag()), &token);
    token
}

/// A short random id for `log_id`/`fbtrace_id` fields.
pub(crate) fn trace_id() -> String {
    let mut bytes = [0_u8; 9];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Seconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// `BASE64URL(SHA256(verifier))` without padding (RFC 7636 §4.2).
pub(crate) fn pkce_s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_and_distinct() {
        let a = new_token(Provider::Tiktok, Kind::Refresh);
        let b = new_token(Provider::Tiktok, Kind::Refresh);
        assert!(a.starts_with("tiktok-rt-"), "{a}");
        assert_ne!(a, b);
        assert_eq!(a.len(), "tiktok-rt-".len() + 43);
        assert!(new_token(Provider::Reddit, Kind::Access).starts_with("reddit-at-"));
    }

    #[test]
    fn pkce_is_unpadded_base64url_of_sha256() {
        // Expected value from `openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '='`.
        assert_eq!(
            pkce_s256("dBjftJeZ4CVP-mJ0kFWFydrxf5gM3LgBbyoAl9hmvvo"),
            "5Xi7iytxNr-S7IjxVdSUifM_E-mBmupinMpzokkAtXI"
        );
    }
}
