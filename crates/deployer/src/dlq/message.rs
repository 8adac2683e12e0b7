//! What a DLQ message is, told from its body and attributes alone (pure): a recovery record of
//! the refresher, a failed delivery (an `EventBridge` target's dead letter, or a Lambda async
//! invocation's on-failure record), or unknown. Summaries and shown bodies never carry a token
//! value, a secret or an envelope's contents.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::aws::sqs::Received;
use crate::stage::Stage;

/// The `type` of a recovery record's body, and its `kind` message attribute.
pub const RECOVERY_TYPE: &str = "token-recovery";
/// What replaces a redacted value.
const REDACTED: &str = "[redacted]";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    RecoveryRecord,
    FailedDelivery,
    Unknown,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Self::RecoveryRecord => "recovery record",
            Self::FailedDelivery => "failed delivery",
            Self::Unknown => "unknown",
        }
    }
}

/// The refresher's recovery record, read with the refresher's own definition.
pub type Recovery = refresher::events::RecoveryRecord;

/// A message, classified.
pub struct Classified {
    pub kind: Kind,
    /// One line, no secret.
    pub summary: String,
    pub recovery: Option<Recovery>,
    /// For a failed delivery: the event to deliver again, or why there is none.
    pub redrive: Result<Value, String>,
}

pub fn classify(message: &Received, stage: &Stage) -> Classified {
    let body: Option<Value> = serde_json::from_str(&message.body).ok();
    let marked = message.attributes.get("kind").map(String::as_str) == Some(RECOVERY_TYPE);
    let typed = body.as_ref().and_then(|b| b["type"].as_str()) == Some(RECOVERY_TYPE);
    if marked || typed {
        return recovery(&message.body);
    }
    if let Some(rule_arn) = message.attributes.get("RULE_ARN") {
        return rule_failure(message, rule_arn, body.as_ref(), stage);
    }
    if let Some(record) = body
        .as_ref()
        .filter(|b| b.get("requestContext").is_some() && b.get("requestPayload").is_some())
    {
        return invocation_failure(record);
    }
    Classified {
        kind: Kind::Unknown,
        summary: format!(
            "{} bytes{}, neither a recovery record nor a failure record",
            message.body.len(),
            if body.is_some() { " of JSON" } else { "" }
        ),
        recovery: None,
        redrive: Err("not a failed delivery".to_owned()),
    }
}

fn recovery(body: &str) -> Classified {
    match serde_json::from_str::<Recovery>(body) {
        Ok(record) => Classified {
            kind: Kind::RecoveryRecord,
            summary: format!(
                "user {} on {}: token set based on version {}{}",
                record.user_id,
                record.platform,
                record.seen_version,
                if record.refresh_token.is_some() {
                    ", with its refresh token"
                } else {
                    ""
                }
            ),
            recovery: Some(record),
            redrive: Err("a recovery record: `replay` writes it back".to_owned()),
        },
        // serde's message can quote the offending value: report only where it is.
        Err(err) => Classified {
            kind: Kind::Unknown,
            summary: format!(
                "marked {RECOVERY_TYPE} but unreadable ({:?} error at line {} column {})",
                err.classify(),
                err.line(),
                err.column()
            ),
            recovery: None,
            redrive: Err("an unreadable recovery record".to_owned()),
        },
    }
}

/// An `EventBridge` target's dead letter: the rule and error are message attributes
/// (`RULE_ARN`, `ERROR_CODE`, `ERROR_MESSAGE`, `RETRY_ATTEMPTS`, ...), the body is the event.
fn rule_failure(
    message: &Received,
    rule_arn: &str,
    body: Option<&Value>,
    stage: &Stage,
) -> Classified {
    let rule = rule_arn.rsplit('/').next().unwrap_or(rule_arn);
    let attr = |name: &str| message.attributes.get(name).map_or("-", String::as_str);
    let redrive = match stage.rules.iter().find(|g| g.name == rule) {
        Some(group) => Ok(serde_json::json!({ "providers": group.providers })),
        None => match body.filter(|b| b["providers"].is_array()) {
            Some(input) => Ok(input.clone()),
            None => Err(format!("rule {rule} is not a rule of stage {}", stage.name)),
        },
    };
    Classified {
        kind: Kind::FailedDelivery,
        summary: format!(
            "rule {rule} could not deliver: {} {} (retries {})",
            attr("ERROR_CODE"),
            one_line(attr("ERROR_MESSAGE")),
            attr("RETRY_ATTEMPTS")
        ),
        recovery: None,
        redrive,
    }
}

/// A Lambda async invocation's on-failure record: `requestContext` (condition, attempts),
/// `requestPayload` (the input), `responseContext` (the function error).
fn invocation_failure(record: &Value) -> Classified {
    let context = &record["requestContext"];
    let input = &record["requestPayload"];
    let providers = input["providers"].as_array().map_or_else(
        || "all providers".to_owned(),
        |list| {
            let names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
            format!("providers {}", names.join(","))
        },
    );
    let error = record["responseContext"]["functionError"]
        .as_str()
        .or_else(|| record["responsePayload"]["errorType"].as_str())
        .unwrap_or("-");
    Classified {
        kind: Kind::FailedDelivery,
        summary: format!(
            "async invocation failed: {} after {} attempt(s), {error}; {providers}",
            context["condition"].as_str().unwrap_or("-"),
            context["approximateInvokeCount"].as_u64().unwrap_or(0),
        ),
        recovery: None,
        redrive: Ok(input.clone()),
    }
}

fn one_line(text: &str) -> String {
    let line: String = text
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(120)
        .collect();
    line
}

/// Whether a field of that name can hold a token, a secret, or an envelope's parts.
fn secret_field(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "ciphertext",
        "encryptedkey",
        "nonce",
        "authorization",
    ]
    .iter()
    .any(|word| name.contains(word))
        || name == "code"
}

/// `value` with every secret-looking field replaced by `[redacted]`, at any depth.
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, inner)| {
                    let shown = if secret_field(key) && !inner.is_null() {
                        Value::String(REDACTED.to_owned())
                    } else {
                        redact(inner)
                    };
                    (key.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// Message attributes as shown: secret-looking ones redacted.
pub fn shown_attributes(attributes: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    attributes
        .iter()
        .map(|(k, v)| {
            let shown = if secret_field(k) {
                REDACTED.to_owned()
            } else {
                v.clone()
            };
            (k.clone(), shown)
        })
        .collect()
}

/// The body as shown: redacted JSON, or at most 2,000 characters of text that is not JSON.
pub fn shown_body(body: &str) -> Value {
    match serde_json::from_str::<Value>(body) {
        Ok(value) => redact(&value),
        Err(_) => Value::String(body.chars().take(2000).collect()),
    }
}

#[cfg(test)]
#[path = "message_tests.rs"]
mod tests;
