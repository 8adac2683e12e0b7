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
    /// For a failed delivery: what to deliver again, and to which function, or why there is none.
    pub redrive: Result<Redrive, String>,
}

/// A failed delivery's second chance: `payload` invoked asynchronously on `function` (the
/// scheduled function for a run's input, the token API for a `token.refresh-requested` event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redrive {
    pub function: String,
    pub payload: Value,
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
        return invocation_failure(record, stage);
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
    let (redrive, about) = rule_redrive(rule, body, stage);
    Classified {
        kind: Kind::FailedDelivery,
        summary: format!(
            "rule {rule} could not deliver{about}: {} {} (retries {})",
            attr("ERROR_CODE"),
            one_line(attr("ERROR_MESSAGE")),
            attr("RETRY_ATTEMPTS")
        ),
        recovery: None,
        redrive,
    }
}

/// What delivers a rule's dead letter again, and what it was about: a schedule group's input
/// to the function, a `token.refresh-requested` event to the token API (`about` names its user
/// and platform), or the input of a rule this stage no longer has.
fn rule_redrive(
    rule: &str,
    body: Option<&Value>,
    stage: &Stage,
) -> (Result<Redrive, String>, String) {
    let schedule = |payload| {
        Ok(Redrive {
            function: stage.function.name.clone(),
            payload,
        })
    };
    match (stage.rules.iter().find(|g| g.name == rule), requests(stage)) {
        (Some(group), _) => (
            schedule(serde_json::json!({ "providers": group.providers })),
            String::new(),
        ),
        (None, Some((rule_name, api))) if rule_name == rule => match body {
            Some(event) => (
                Ok(Redrive {
                    function: api.to_owned(),
                    payload: event.clone(),
                }),
                requested(&event["detail"]),
            ),
            None => (
                Err("the dead letter holds no event to deliver again".to_owned()),
                String::new(),
            ),
        },
        (None, _) => match body.filter(|b| b["providers"].is_array()) {
            Some(input) => (schedule(input.clone()), String::new()),
            None => (
                Err(format!("rule {rule} is not a rule of stage {}", stage.name)),
                String::new(),
            ),
        },
    }
}

/// The stage's `token.refresh-requested` rule and the token API it delivers to, if it has one.
fn requests(stage: &Stage) -> Option<(&str, &str)> {
    stage
        .token_api
        .as_ref()
        .map(|api| (api.rule_name.as_str(), api.name.as_str()))
}

/// ` a refresh of user U on P` from a `token.refresh-requested` detail (keys are not secret).
fn requested(detail: &Value) -> String {
    format!(
        " a refresh of user {} on {}",
        detail["userId"].as_str().unwrap_or("?"),
        detail["platform"].as_str().unwrap_or("?")
    )
}

/// A Lambda async invocation's on-failure record: `requestContext` (the function, condition,
/// attempts), `requestPayload` (the input), `responseContext` (the function error). The token
/// API's are `token.refresh-requested` events whose refresh did not happen.
fn invocation_failure(record: &Value, stage: &Stage) -> Classified {
    let context = &record["requestContext"];
    let input = &record["requestPayload"];
    let (function, what) = invoked(context, input, stage);
    let error = record["responseContext"]["functionError"]
        .as_str()
        .or_else(|| record["responsePayload"]["errorType"].as_str())
        .unwrap_or("-");
    Classified {
        kind: Kind::FailedDelivery,
        summary: format!(
            "async invocation failed: {} after {} attempt(s), {error}; {what}",
            context["condition"].as_str().unwrap_or("-"),
            context["approximateInvokeCount"].as_u64().unwrap_or(0),
        ),
        recovery: None,
        redrive: Ok(Redrive {
            function,
            payload: input.clone(),
        }),
    }
}

/// The function a failed invocation was for (the token API, else the scheduled function) and
/// what it was asked: a user's refresh, or providers.
fn invoked(context: &Value, input: &Value, stage: &Stage) -> (String, String) {
    let arn = context["functionArn"].as_str().unwrap_or_default();
    let arn_name = arn
        .split_once(":function:")
        .map(|(_, rest)| rest.split(':').next().unwrap_or(rest));
    let api = stage
        .token_api
        .as_ref()
        .filter(|api| arn_name == Some(api.name.as_str()));
    match api {
        Some(api) => (
            api.name.clone(),
            requested(&input["detail"]).trim_start().to_owned(),
        ),
        None => (
            stage.function.name.clone(),
            input["providers"].as_array().map_or_else(
                || "all providers".to_owned(),
                |list| {
                    let names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
                    format!("providers {}", names.join(","))
                },
            ),
        ),
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
