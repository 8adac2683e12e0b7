//! The token API's answers (docs/token-api.md): the token's state, or an error with a code the
//! readers map to their own error types. Never a token value.

use serde::{Deserialize, Serialize};

use crate::store::TokenItem;

/// What a caller gets back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ApiAnswer {
    Token(TokenState),
    /// Boxed: the report is much larger than the other answers.
    Status(Box<StatusAnswer>),
    Error(ApiFailure),
}

/// The `status` action's answer: `{"ok": true, ...}` with the fields of `deployer status --json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusAnswer {
    pub ok: bool,
    #[serde(flatten)]
    pub report: crate::status::StatusReport,
}

/// The stored token after the request: the caller re-reads it through its reader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenState {
    pub ok: bool,
    pub user_id: String,
    pub platform: String,
    pub status: String,
    pub expires_at: Option<u64>,
    pub version: u64,
    /// This request refreshed the token at the provider.
    pub refreshed: bool,
    /// This request waited for another refresher's refresh and answers with its result.
    pub coalesced: bool,
}

/// An error answer: `{"ok": false, "error": {"code", "message", "retryable"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiFailure {
    pub ok: bool,
    #[serde(rename = "userId", skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    pub error: ErrorBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    /// Whether the same request may succeed later (after a back-off).
    pub retryable: bool,
    /// The refresher's reason code (`invalid_grant`, `server_error`, `store_write_recovered`…)
    /// when a refresh was attempted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Error codes, one per thing a caller does differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The request is malformed: fix the caller.
    BadRequest,
    /// The platform is not a provider of this stage.
    UnknownPlatform,
    /// No token for this user and platform: send the user through the connect flow.
    NotFound,
    /// The grant is dead: ask the user to reconnect.
    NeedsReauth,
    /// The token was disconnected.
    Inactive,
    /// The item cannot be read as a token (`deployer tokens check` names what is wrong).
    MalformedItem,
    /// Another refresher still held the token when the wait ended: retry shortly.
    Busy,
    /// The provider refused or failed the refresh (`reason` says how).
    RefreshFailed,
    /// The tokens table, KMS or the credentials were not available.
    Unavailable,
}

impl ErrorCode {
    /// The code as the answer spells it (`BAD_REQUEST`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "BAD_REQUEST",
            Self::UnknownPlatform => "UNKNOWN_PLATFORM",
            Self::NotFound => "NOT_FOUND",
            Self::NeedsReauth => "NEEDS_REAUTH",
            Self::Inactive => "INACTIVE",
            Self::MalformedItem => "MALFORMED_ITEM",
            Self::Busy => "BUSY",
            Self::RefreshFailed => "REFRESH_FAILED",
            Self::Unavailable => "UNAVAILABLE",
        }
    }
}

impl ApiAnswer {
    /// The item's state after the request.
    pub fn token(item: &TokenItem, refreshed: bool, coalesced: bool) -> Self {
        Self::Token(TokenState {
            ok: true,
            user_id: item.user_id.clone(),
            platform: item.platform.clone(),
            status: item.status.as_str().to_owned(),
            expires_at: item.expires_at,
            version: item.version,
            refreshed,
            coalesced,
        })
    }

    /// An error about `user_id`/`platform` (none for a request that could not be read).
    pub fn error(key: Option<(&str, &str)>, code: ErrorCode, message: impl Into<String>) -> Self {
        let retryable = matches!(
            code,
            ErrorCode::Busy | ErrorCode::Unavailable | ErrorCode::RefreshFailed
        );
        Self::Error(ApiFailure {
            ok: false,
            user_id: key.map(|(user, _)| user.to_owned()),
            platform: key.map(|(_, platform)| platform.to_owned()),
            error: ErrorBody {
                code,
                message: message.into(),
                retryable,
                reason: None,
            },
        })
    }

    /// Adds the refresher's reason code, and whether a retry may help, to an error.
    #[must_use]
    pub fn with_reason(mut self, reason: &str, retryable: bool) -> Self {
        if let Self::Error(failure) = &mut self {
            failure.error.reason = Some(reason.to_owned());
            failure.error.retryable = retryable;
        }
        self
    }

    /// The error code, if this is an error.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Token(_) | Self::Status(_) => None,
            Self::Error(failure) => Some(failure.error.code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_is_spelt_as_its_json() {
        for code in [
            ErrorCode::BadRequest,
            ErrorCode::UnknownPlatform,
            ErrorCode::NotFound,
            ErrorCode::NeedsReauth,
            ErrorCode::Inactive,
            ErrorCode::MalformedItem,
            ErrorCode::Busy,
            ErrorCode::RefreshFailed,
            ErrorCode::Unavailable,
        ] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
    }
    use serde_json::json;

    #[test]
    fn errors_serialise_with_their_code_and_retry_hint() {
        let answer = ApiAnswer::error(Some(("u1", "tiktok")), ErrorCode::NeedsReauth, "reconnect");
        assert_eq!(
            serde_json::to_value(&answer).unwrap(),
            json!({"ok": false, "userId": "u1", "platform": "tiktok",
                   "error": {"code": "NEEDS_REAUTH", "message": "reconnect", "retryable": false}})
        );
        let busy = ApiAnswer::error(None, ErrorCode::Busy, "wait");
        assert_eq!(
            serde_json::to_value(&busy).unwrap()["error"]["retryable"],
            true
        );
        let failed = ApiAnswer::error(None, ErrorCode::RefreshFailed, "refused")
            .with_reason("invalid_client", false);
        let value = serde_json::to_value(&failed).unwrap();
        assert_eq!(
            (
                value["error"]["reason"].as_str(),
                value["error"]["retryable"].as_bool()
            ),
            (Some("invalid_client"), Some(false))
        );
    }
}
