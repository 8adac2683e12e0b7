//! Shared response parsing: status classification, RFC 6749 §5.1 success bodies and §5.2 errors.
//!
//! The order matters. 429, 408 and 5xx are classified from the status alone (their bodies are
//! often HTML from a proxy). Any other body must be a JSON object of at most [`MAX_BODY_BYTES`];
//! an error shape in it wins even with HTTP 200 (Reddit, and TikTok at times, answer 200 with an
//! `error`). Error text from the body is never kept: only an RFC 6749 error code, and only when it
//! is a short identifier.

use serde_json::{Map, Value};

use super::{ProviderError, TokenSet};
use crate::secret::SecretString;

/// Largest body accepted (token responses are well under 4 KiB); larger is `Malformed`.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A response as handed to an adapter's `parse`.
pub(crate) struct Response<'a> {
    pub(crate) status: u16,
    pub(crate) body: &'a [u8],
    pub(crate) now: u64,
    /// The wait hint the adapter read from the headers.
    pub(crate) retry_after: Option<u64>,
}

/// Whether the provider issues refresh tokens, and whether it must.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefreshRule {
    /// Rotation: a success without a new refresh token is malformed.
    Required,
    /// May rotate; keep the current one when absent.
    Optional,
    /// Never issued (Instagram); any `refresh_token` field is ignored.
    Never,
}

/// A provider's response rules.
pub(crate) struct Rules {
    pub(crate) expires_in_required: bool,
    pub(crate) refresh: RefreshRule,
    /// Reads a provider-specific error shape out of a body; `None` when the body holds no error.
    pub(crate) error_shape: fn(&Map<String, Value>, &Response<'_>) -> Option<ProviderError>,
}

/// Classifies a response and, on success, reads the token set.
pub(crate) fn parse(response: &Response<'_>, rules: &Rules) -> Result<TokenSet, ProviderError> {
    let status = response.status;
    match status {
        429 => {
            return Err(ProviderError::RateLimited {
                retry_after: response.retry_after,
            });
        }
        408 | 500..=599 => {
            return Err(ProviderError::Transient {
                status: Some(status),
                retry_after: response.retry_after,
            });
        }
        _ => {}
    }
    let success = (200..300).contains(&status);
    let object = match json_object(response.body) {
        Ok(object) => object,
        Err(err) if success || response.body.len() > MAX_BODY_BYTES => return Err(err),
        Err(_) => return Err(ProviderError::Rejected { status, code: None }),
    };
    if let Some(err) = (rules.error_shape)(&object, response) {
        return Err(err);
    }
    if !success {
        return Err(ProviderError::Rejected { status, code: None });
    }
    token_set(&object, response.now, rules)
}

/// An adapter's `parse`: `retry_after` is the wait hint it read from the headers.
pub(crate) fn parse_with_hint(
    status: u16,
    body: &[u8],
    now: u64,
    retry_after: Option<u64>,
    rules: &Rules,
) -> Result<TokenSet, ProviderError> {
    parse(
        &Response {
            status,
            body,
            now,
            retry_after,
        },
        rules,
    )
}

/// The body as a JSON object, within the size bound.
pub(crate) fn json_object(body: &[u8]) -> Result<Map<String, Value>, ProviderError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ProviderError::malformed("the body is larger than 64 KiB"));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(ProviderError::malformed(
            "the body is JSON but not an object",
        )),
        Err(_) => Err(ProviderError::malformed("the body is not valid JSON")),
    }
}

/// RFC 6749 §5.2: `{"error": "code"}`; also Reddit's `{"error": 401, "message": ...}`.
pub(crate) fn oauth_error(
    object: &Map<String, Value>,
    response: &Response<'_>,
) -> Option<ProviderError> {
    match object.get("error")? {
        Value::String(code) => Some(classify_code(code, response)),
        Value::Number(number) => Some(ProviderError::Rejected {
            status: response.status,
            code: Some(number.to_string()),
        }),
        _ => None,
    }
}

/// Maps an error code to the run's classes.
pub(crate) fn classify_code(code: &str, response: &Response<'_>) -> ProviderError {
    let retry_after = response.retry_after;
    match code {
        "invalid_grant" => ProviderError::InvalidGrant,
        "temporarily_unavailable" | "server_error" => ProviderError::Transient {
            status: Some(response.status),
            retry_after,
        },
        "slow_down" | "rate_limit_exceeded" | "too_many_requests" => {
            ProviderError::RateLimited { retry_after }
        }
        other => ProviderError::Rejected {
            status: response.status,
            code: Some(sanitize_code(other)),
        },
    }
}

/// Error codes are words: ASCII letters joined by underscores (`invalid_grant`,
/// `OAuthException`), at most 40 characters. Anything else may be free text or a value echoed
/// back (a token, an id) and is not kept: digits, hyphens and dots, which random tokens almost
/// always contain, are refused with it.
pub(crate) fn sanitize_code(code: &str) -> String {
    let word = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_alphabetic());
    if code.len() <= 40 && code.split('_').all(word) {
        code.to_owned()
    } else {
        "unrecognised".to_owned()
    }
}

/// Reads RFC 6749 §5.1 fields. A failure after a new refresh token was read carries that token.
fn token_set(
    object: &Map<String, Value>,
    now: u64,
    rules: &Rules,
) -> Result<TokenSet, ProviderError> {
    let refresh_token = match rules.refresh {
        RefreshRule::Never => None,
        RefreshRule::Required | RefreshRule::Optional => secret(object, "refresh_token")?,
    };
    let salvage = |reason: String| ProviderError::Malformed {
        reason,
        salvaged_refresh_token: refresh_token.clone(),
    };
    let access_token = secret(object, "access_token")
        .map_err(|err| salvage(reason_of(err)))?
        .ok_or_else(|| salvage("the field `access_token` is missing".to_owned()))?;
    if rules.refresh == RefreshRule::Required && refresh_token.is_none() {
        return Err(salvage(
            "the field `refresh_token` is missing (this provider rotates it)".to_owned(),
        ));
    }
    let expires_in = seconds(object, "expires_in").map_err(|err| salvage(reason_of(err)))?;
    if rules.expires_in_required && expires_in.is_none() {
        return Err(salvage("the field `expires_in` is missing".to_owned()));
    }
    let refresh_expires_in =
        seconds(object, "refresh_expires_in").map_err(|err| salvage(reason_of(err)))?;
    Ok(TokenSet {
        access_token,
        refresh_token,
        expires_at: expires_in.map(|s| now.saturating_add(s)),
        refresh_expires_at: refresh_expires_in.map(|s| now.saturating_add(s)),
        // Informational only: a scope of an odd type must not cost the user a rotated token.
        scope: object
            .get("scope")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

fn reason_of(err: ProviderError) -> String {
    match err {
        ProviderError::Malformed { reason, .. } => reason,
        other => other.to_string(),
    }
}

/// A non-empty string field holding a secret; absent, null or empty is `None`.
fn secret(object: &Map<String, Value>, name: &str) -> Result<Option<SecretString>, ProviderError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) if value.is_empty() => Ok(None),
        Some(Value::String(value)) => Ok(Some(SecretString::new(value.as_str()))),
        Some(_) => Err(ProviderError::malformed(format!(
            "the field `{name}` should be a string"
        ))),
    }
}

/// A lifetime in seconds: a non-negative integer, or a string of digits (some servers send those).
fn seconds(object: &Map<String, Value>, name: &str) -> Result<Option<u64>, ProviderError> {
    let wrong = || {
        ProviderError::malformed(format!(
            "the field `{name}` should be a whole number of seconds"
        ))
    };
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => number.as_u64().map(Some).ok_or_else(wrong),
        Some(Value::String(text)) => text.parse().map(Some).map_err(|_| wrong()),
        Some(_) => Err(wrong()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: Rules = Rules {
        expires_in_required: true,
        refresh: RefreshRule::Required,
        error_shape: oauth_error,
    };

    fn run(status: u16, body: &str) -> Result<TokenSet, ProviderError> {
        parse(
            &Response {
                status,
                body: body.as_bytes(),
                now: 1000,
                retry_after: Some(9),
            },
            &RULES,
        )
    }

    fn malformed(result: Result<TokenSet, ProviderError>) -> (String, Option<String>) {
        match result {
            Err(ProviderError::Malformed {
                reason,
                salvaged_refresh_token,
            }) => (
                reason,
                salvaged_refresh_token.map(|t| t.expose().to_owned()),
            ),
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn success_reads_lifetimes_as_times() {
        let set = run(200, r#"{"access_token":"a","refresh_token":"r","expires_in":"60","refresh_expires_in":600,"scope":7}"#)
            .unwrap();
        assert_eq!(
            (set.expires_at, set.refresh_expires_at, set.scope),
            (Some(1060), Some(1600), None)
        );
    }

    #[test]
    fn status_classes() {
        assert_eq!(
            run(429, "<html>"),
            Err(ProviderError::RateLimited {
                retry_after: Some(9)
            })
        );
        assert_eq!(
            run(503, ""),
            Err(ProviderError::Transient {
                status: Some(503),
                retry_after: Some(9)
            })
        );
        assert_eq!(
            run(403, "<html>blocked</html>"),
            Err(ProviderError::Rejected {
                status: 403,
                code: None
            })
        );
        assert_eq!(
            run(400, r#"{"error":"server_error"}"#),
            Err(ProviderError::Transient {
                status: Some(400),
                retry_after: Some(9)
            })
        );
        assert_eq!(
            run(400, r#"{"error":"slow_down"}"#),
            Err(ProviderError::RateLimited {
                retry_after: Some(9)
            })
        );
        assert_eq!(
            run(302, "{}"),
            Err(ProviderError::Rejected {
                status: 302,
                code: None
            })
        );
    }

    #[test]
    fn error_codes_are_sanitised() {
        let leaked = r#"{"error":"token act.abc123 is bad"}"#;
        assert_eq!(
            run(400, leaked),
            Err(ProviderError::Rejected {
                status: 400,
                code: Some("unrecognised".to_owned())
            })
        );
        assert_eq!(sanitize_code("invalid_scope"), "invalid_scope");
        assert_eq!(sanitize_code("OAuthException"), "OAuthException");
        assert_eq!(sanitize_code(&"x".repeat(41)), "unrecognised");
        // Found by tests/tests/proof_fuzz.rs: a short value with digits or hyphens was echoed.
        for echoed in [
            "SECRET-MARKER-7f3a",
            "act.abc123",
            "tok3n",
            "_x",
            "a__b",
            "",
        ] {
            assert_eq!(sanitize_code(echoed), "unrecognised", "{echoed}");
        }
    }

    #[test]
    fn malformed_bodies() {
        assert_eq!(
            malformed(run(200, r#"{"access_token":"a","refr"#)).0,
            "the body is not valid JSON"
        );
        assert_eq!(
            malformed(run(200, "[]")).0,
            "the body is JSON but not an object"
        );
        let big = format!(r#"{{"access_token":"{}"}}"#, "a".repeat(MAX_BODY_BYTES));
        assert_eq!(
            malformed(run(200, &big)).0,
            "the body is larger than 64 KiB"
        );
        assert_eq!(
            malformed(run(400, &big)).0,
            "the body is larger than 64 KiB"
        );
        let wrong = malformed(run(
            200,
            r#"{"access_token":5,"refresh_token":"r","expires_in":1}"#,
        ));
        assert_eq!(
            wrong,
            (
                "the field `access_token` should be a string".to_owned(),
                Some("r".to_owned())
            )
        );
        let negative = malformed(run(
            200,
            r#"{"access_token":"a","refresh_token":"r","expires_in":-1}"#,
        ));
        assert_eq!(
            negative.0,
            "the field `expires_in` should be a whole number of seconds"
        );
        let bad_refresh = malformed(run(
            200,
            r#"{"access_token":"a","refresh_token":["r"],"expires_in":1}"#,
        ));
        assert_eq!(
            bad_refresh,
            (
                "the field `refresh_token` should be a string".to_owned(),
                None
            )
        );
    }
}
