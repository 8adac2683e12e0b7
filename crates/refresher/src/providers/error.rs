//! [`ProviderError`]: why a refresh produced no token set, classified for the run (DESIGN §5.6).
//!
//! The class decides what the run does: `InvalidGrant`/`MissingRefreshToken` send the user to
//! reconnect and are never retried; `RateLimited`/`Transient` are retried with backoff, honouring
//! the hint; `Rejected`/`Malformed` count as failures. Messages carry status codes and sanitised
//! error codes only, never response text or token values.

use crate::secret::SecretString;

/// A refresh that did not produce a token set, classified for the run (DESIGN §5.6).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The grant is dead (revoked, expired, already rotated): re-read the item, then mark it
    /// `needs_reauth`. Never retried.
    #[error("the provider refused the grant (invalid_grant): the user must reconnect")]
    InvalidGrant,
    /// The item has no refresh token to send.
    #[error("the item has no refresh token: the user must reconnect")]
    MissingRefreshToken,
    #[error("rate limited by the provider{}", after(*retry_after))]
    RateLimited { retry_after: Option<u64> },
    /// 5xx, 408, a timeout or a connection failure (the HTTP wiring uses `status: None` for those).
    #[error("the provider failed transiently ({}){}", status_text(*status), after(*retry_after))]
    Transient {
        status: Option<u16>,
        retry_after: Option<u64>,
    },
    /// Any other refusal: a 4xx or an RFC 6749 §5.2 error other than `invalid_grant`.
    #[error("the provider rejected the refresh with HTTP {status}{}", code_text(code.as_deref()))]
    Rejected { status: u16, code: Option<String> },
    /// A body that does not parse or lacks a needed field. `salvaged_refresh_token` holds a new
    /// refresh token that the body did carry: store it, the old one may already be dead.
    #[error("the provider's response is malformed: {reason}")]
    Malformed {
        reason: String,
        salvaged_refresh_token: Option<SecretString>,
    },
}

fn after(retry_after: Option<u64>) -> String {
    retry_after
        .map(|s| format!(", retry after {s} s"))
        .unwrap_or_default()
}

fn status_text(status: Option<u16>) -> String {
    status.map_or_else(|| "no response".to_owned(), |s| format!("HTTP {s}"))
}

fn code_text(code: Option<&str>) -> String {
    code.map(|c| format!(" ({c})")).unwrap_or_default()
}

impl ProviderError {
    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        Self::Malformed {
            reason: reason.into(),
            salvaged_refresh_token: None,
        }
    }

    /// Worth another try in this run (after [`Self::retry_after`] or a backoff).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::RateLimited { .. } | Self::Transient { .. })
    }

    /// The user must reconnect the account.
    pub fn needs_reauth(&self) -> bool {
        matches!(self, Self::InvalidGrant | Self::MissingRefreshToken)
    }

    /// The server's wait hint, in seconds.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after } | Self::Transient { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A stable name for metrics and events.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::InvalidGrant => "invalid_grant",
            Self::MissingRefreshToken => "missing_refresh_token",
            Self::RateLimited { .. } => "rate_limited",
            Self::Transient { .. } => "transient",
            Self::Rejected { .. } => "rejected",
            Self::Malformed { .. } => "malformed",
        }
    }
}
