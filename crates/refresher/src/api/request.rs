//! The token API's requests (docs/token-api.md): parsed from the invocation's JSON, with errors
//! that name the field and the fix.

use serde::{Deserialize, Serialize};

/// Default of `minValiditySeconds`: a token valid for less than this is refreshed first.
pub const DEFAULT_MIN_VALIDITY_SECONDS: u64 = 60;
/// The largest `minValiditySeconds` accepted (a day): more would refresh on every call.
pub const MAX_MIN_VALIDITY_SECONDS: u64 = 86_400;
/// DynamoDB's limits on the table's keys: a partition key (`userId`) of at most 2048 bytes, a
/// sort key (`platform`) of at most 1024.
const MAX_USER_ID_BYTES: usize = 2048;
const MAX_PLATFORM_BYTES: usize = 1024;

/// The `detail-type` of the event that asks for a refresh on the stage's bus
/// (schemas/events/token.refresh-requested.schema.json); its rule delivers it to the token API.
pub const REFRESH_REQUESTED: &str = "token.refresh-requested";

/// `token.refresh-requested`'s detail, as apps send it (the readers' `requestRefresh`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshRequested {
    pub user_id: String,
    pub platform: String,
    #[serde(default)]
    pub force: bool,
}

/// How a request arrived: an app's synchronous invocation gets every outcome as its answer; an
/// event's asynchronous invocation fails on a retryable outcome, so that Lambda retries it and,
/// after the retries, records it in the DLQ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Invocation,
    Event,
}

/// One request to the token API.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase", deny_unknown_fields)]
pub enum ApiRequest {
    /// `{"action":"refresh","userId":..,"platform":..,"force":false,"minValiditySeconds":60}`
    Refresh(RefreshRequest),
    /// `{"action":"status","sinceSeconds":86400}`: the figures of `deployer status --json`.
    Status(StatusRequest),
}

/// The default and the largest window of a `status` request: a day, and the 90 days the
/// analytics records are kept.
pub const DEFAULT_STATUS_WINDOW_SECONDS: u64 = 86_400;
pub const MAX_STATUS_WINDOW_SECONDS: u64 = 90 * 86_400;

/// How the refresher is doing over the last `since_seconds` (`crate::status`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusRequest {
    #[serde(default = "default_status_window")]
    pub since_seconds: u64,
}

fn default_status_window() -> u64 {
    DEFAULT_STATUS_WINDOW_SECONDS
}

/// Refresh one user's token if it is valid for less than `min_validity_seconds`, or if `force`
/// is set (after the provider answered 401 to the stored token).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RefreshRequest {
    pub user_id: String,
    pub platform: String,
    #[serde(default)]
    pub force: bool,
    #[serde(default = "default_min_validity")]
    pub min_validity_seconds: u64,
    /// The `version` of the item the caller's token came from. With `force`, a later version
    /// written by a successful refresh satisfies the request (another caller refreshed first).
    #[serde(default)]
    pub seen_version: Option<u64>,
}

fn default_min_validity() -> u64 {
    DEFAULT_MIN_VALIDITY_SECONDS
}

impl ApiRequest {
    /// Parses and checks a request, or a `token.refresh-requested` event (an `EventBridge`
    /// envelope, told by its `detail-type`); the error says which field is wrong and what it
    /// should hold.
    pub fn parse(input: serde_json::Value) -> Result<(Self, Origin), String> {
        if input.get("detail-type").is_some() {
            return Self::from_event(input).map(|request| (request, Origin::Event));
        }
        let request: Self = serde_json::from_value(input).map_err(|err| {
            format!(
                "{err}; a request looks like {{\"action\": \"refresh\", \"userId\": \"u1\", \
                 \"platform\": \"tiktok\", \"force\": false, \"minValiditySeconds\": 60}} or \
                 {{\"action\": \"status\", \"sinceSeconds\": 86400}}"
            )
        })?;
        match &request {
            Self::Refresh(refresh) => check(refresh)?,
            Self::Status(status) => {
                if status.since_seconds == 0 || status.since_seconds > MAX_STATUS_WINDOW_SECONDS {
                    return Err(format!(
                        "`sinceSeconds` is {}: give 1 to {MAX_STATUS_WINDOW_SECONDS} (the 90 days analytics records are kept)",
                        status.since_seconds
                    ));
                }
            }
        }
        Ok((request, Origin::Invocation))
    }

    /// A `token.refresh-requested` event's detail as a refresh with the default validity.
    fn from_event(mut event: serde_json::Value) -> Result<Self, String> {
        let detail_type = event["detail-type"].as_str().unwrap_or_default();
        if detail_type != REFRESH_REQUESTED {
            return Err(format!(
                "an event of detail-type {detail_type:?}: the token API takes {REFRESH_REQUESTED:?} \
                 (check the rule that delivered it)"
            ));
        }
        let detail: RefreshRequested =
            serde_json::from_value(event["detail"].take()).map_err(|err| {
                format!(
                    "the {REFRESH_REQUESTED} event's detail: {err}; it looks like \
                     {{\"userId\": \"u1\", \"platform\": \"tiktok\", \"force\": false}}"
                )
            })?;
        let refresh = RefreshRequest {
            user_id: detail.user_id,
            platform: detail.platform,
            force: detail.force,
            min_validity_seconds: DEFAULT_MIN_VALIDITY_SECONDS,
            seen_version: None,
        };
        check(&refresh)?;
        Ok(Self::Refresh(refresh))
    }
}

/// The limits a request's fields must keep.
fn check(refresh: &RefreshRequest) -> Result<(), String> {
    if refresh.user_id.trim().is_empty() {
        return Err("`userId` is empty: give the app's id of the user".to_owned());
    }
    if refresh.user_id.len() > MAX_USER_ID_BYTES {
        return Err(format!(
            "`userId` is {} bytes: a key of the tokens table holds at most {MAX_USER_ID_BYTES}",
            refresh.user_id.len()
        ));
    }
    if refresh.platform.len() > MAX_PLATFORM_BYTES {
        return Err(format!(
            "`platform` is {} bytes: at most {MAX_PLATFORM_BYTES}; give a provider of the stage",
            refresh.platform.len()
        ));
    }
    if refresh.platform.trim().is_empty() {
        return Err("`platform` is empty: give a provider of the stage, e.g. tiktok".to_owned());
    }
    if refresh.min_validity_seconds > MAX_MIN_VALIDITY_SECONDS {
        return Err(format!(
            "`minValiditySeconds` is {}: at most {MAX_MIN_VALIDITY_SECONDS} (a day)",
            refresh.min_validity_seconds
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_refresh_request_takes_defaults() {
        let (request, origin) =
            ApiRequest::parse(json!({"action": "refresh", "userId": "u1", "platform": "tiktok"}))
                .unwrap();
        assert_eq!(origin, Origin::Invocation);
        assert_eq!(
            request,
            ApiRequest::Refresh(RefreshRequest {
                user_id: "u1".to_owned(),
                platform: "tiktok".to_owned(),
                force: false,
                min_validity_seconds: DEFAULT_MIN_VALIDITY_SECONDS,
                seen_version: None,
            })
        );
    }

    #[test]
    fn a_status_request_takes_a_window_of_a_day_by_default_and_at_most_90_days() {
        let (request, _) = ApiRequest::parse(json!({"action": "status"})).unwrap();
        assert_eq!(
            request,
            ApiRequest::Status(StatusRequest {
                since_seconds: DEFAULT_STATUS_WINDOW_SECONDS
            })
        );
        for bad in [0, MAX_STATUS_WINDOW_SECONDS + 1] {
            let err =
                ApiRequest::parse(json!({"action": "status", "sinceSeconds": bad})).unwrap_err();
            assert!(err.contains("`sinceSeconds`"), "{err}");
        }
        let err = ApiRequest::parse(json!({"action": "status", "userId": "u"})).unwrap_err();
        assert!(err.contains("unknown field `userId`"), "{err}");
    }

    #[test]
    fn bad_requests_name_the_field() {
        let cases = [
            (
                json!({"userId": "u", "platform": "p"}),
                "missing field `action`",
            ),
            (
                json!({"action": "delete", "userId": "u", "platform": "p"}),
                "unknown variant `delete`",
            ),
            (
                json!({"action": "refresh", "platform": "p"}),
                "missing field `userId`",
            ),
            (
                json!({"action": "refresh", "userId": "u", "platform": "p", "forceRefresh": true}),
                "unknown field `forceRefresh`",
            ),
            (
                json!({"action": "refresh", "userId": " ", "platform": "p"}),
                "`userId` is empty",
            ),
            (
                json!({"action": "refresh", "userId": "u", "platform": ""}),
                "`platform` is empty",
            ),
            (
                json!({"action": "refresh", "userId": "u", "platform": "p", "minValiditySeconds": -1}),
                "minValiditySeconds",
            ),
            (
                json!({"action": "refresh", "userId": "u", "platform": "p", "minValiditySeconds": 86_401}),
                "at most 86400",
            ),
            (json!("refresh"), "a request looks like"),
            (
                json!({"action": "refresh", "userId": "u".repeat(2049), "platform": "p"}),
                "`userId` is 2049 bytes",
            ),
            (
                json!({"action": "refresh", "userId": "u", "platform": "p".repeat(1025)}),
                "`platform` is 1025 bytes",
            ),
        ];
        for (input, expected) in cases {
            let err = ApiRequest::parse(input.clone()).unwrap_err();
            assert!(err.contains(expected), "{input}: {err}");
        }
    }

    /// An `EventBridge` envelope as the rule delivers it.
    fn event(detail_type: &str, detail: serde_json::Value) -> serde_json::Value {
        let mut event = json!({"version": "0", "id": "6a7e8feb", "detail-type": detail_type,
               "source": "oauth-refresher.reader", "account": "123456789012",
               "time": "2026-12-03T12:00:00Z", "region": "us-east-1", "resources": []});
        event["detail"] = detail;
        event
    }

    #[test]
    fn a_refresh_requested_event_is_a_refresh_with_the_default_validity() {
        let input = event(
            REFRESH_REQUESTED,
            json!({"userId": "u1", "platform": "tiktok", "force": true}),
        );
        let (request, origin) = ApiRequest::parse(input).unwrap();
        assert_eq!(origin, Origin::Event);
        assert_eq!(
            request,
            ApiRequest::Refresh(RefreshRequest {
                user_id: "u1".to_owned(),
                platform: "tiktok".to_owned(),
                force: true,
                min_validity_seconds: DEFAULT_MIN_VALIDITY_SECONDS,
                seen_version: None,
            })
        );
        let unforced = event(
            REFRESH_REQUESTED,
            json!({"userId": "u1", "platform": "tiktok"}),
        );
        let (ApiRequest::Refresh(request), _) = ApiRequest::parse(unforced).unwrap() else {
            panic!("not a refresh")
        };
        assert!(!request.force);
    }

    #[test]
    fn bad_events_name_what_is_wrong() {
        let cases = [
            (
                event("token.refreshed", json!({"userId": "u", "platform": "p"})),
                "detail-type \"token.refreshed\"",
            ),
            (
                event(REFRESH_REQUESTED, json!({"userId": "u"})),
                "missing field `platform`",
            ),
            (
                event(
                    REFRESH_REQUESTED,
                    json!({"userId": "u", "platform": "p", "seenVersion": 3}),
                ),
                "unknown field `seenVersion`",
            ),
            (
                event(REFRESH_REQUESTED, json!({"userId": "", "platform": "p"})),
                "`userId` is empty",
            ),
        ];
        for (input, expected) in cases {
            let err = ApiRequest::parse(input.clone()).unwrap_err();
            assert!(err.contains(expected), "{input}: {err}");
        }
    }
}
