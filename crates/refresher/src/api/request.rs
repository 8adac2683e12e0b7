//! The token API's requests (docs/token-api.md): parsed from the invocation's JSON, with errors
//! that name the field and the fix.

use serde::Deserialize;

/// Default of `minValiditySeconds`: a token valid for less than this is refreshed first.
pub const DEFAULT_MIN_VALIDITY_SECONDS: u64 = 60;
/// The largest `minValiditySeconds` accepted (a day): more would refresh on every call.
pub const MAX_MIN_VALIDITY_SECONDS: u64 = 86_400;
/// DynamoDB's limits on the table's keys: a partition key (`userId`) of at most 2048 bytes, a
/// sort key (`platform`) of at most 1024.
const MAX_USER_ID_BYTES: usize = 2048;
const MAX_PLATFORM_BYTES: usize = 1024;

/// One request to the token API.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "action", rename_all = "camelCase", deny_unknown_fields)]
pub enum ApiRequest {
    /// `{"action":"refresh","userId":..,"platform":..,"force":false,"minValiditySeconds":60}`
    Refresh(RefreshRequest),
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
    /// Parses and checks a request; the error says which field is wrong and what it should hold.
    pub fn parse(input: serde_json::Value) -> Result<Self, String> {
        let request: Self = serde_json::from_value(input).map_err(|err| {
            format!(
                "{err}; a request looks like {{\"action\": \"refresh\", \"userId\": \"u1\", \
                 \"platform\": \"tiktok\", \"force\": false, \"minValiditySeconds\": 60}}"
            )
        })?;
        let Self::Refresh(refresh) = &request;
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
            return Err(
                "`platform` is empty: give a provider of the stage, e.g. tiktok".to_owned(),
            );
        }
        if refresh.min_validity_seconds > MAX_MIN_VALIDITY_SECONDS {
            return Err(format!(
                "`minValiditySeconds` is {}: at most {MAX_MIN_VALIDITY_SECONDS} (a day)",
                refresh.min_validity_seconds
            ));
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_refresh_request_takes_defaults() {
        let request =
            ApiRequest::parse(json!({"action": "refresh", "userId": "u1", "platform": "tiktok"}))
                .unwrap();
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
}
