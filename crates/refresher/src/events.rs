//! Outward signals of a run: the [`Signals`] seam and its AWS implementation.
//!
//! - events on the stack's bus (`PutEvents`, source `oauth-refresher`): `token.refreshed`,
//!   `token.refresh.failed`, `token.reauth-required`, detail `{userId, platform, reason, attempt,
//!   stage}`;
//! - one analytics row per outcome (`PutItem`): `pk = token.refresh#<platform>`,
//!   `sk = <RFC 3339 time>#<userId>#<run id>`, with a 90-day `ttl`;
//! - the recovery record (`SendMessage` to the DLQ, attribute `kind = token-recovery`): a token set
//!   the store refused after the provider issued it, as envelopes only.
//!
//! None of these carries a token value: events and rows hold ids and reasons, the recovery record
//! holds ciphertext that only the stack's KMS key opens.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_sqs::types::MessageAttributeValue;
use serde::{Deserialize, Serialize};

use crate::clock::rfc3339;
use crate::crypto::Envelope;

/// The `source` of every event.
pub const EVENT_SOURCE: &str = "oauth-refresher";
/// Analytics rows expire this long after they are written.
pub const ANALYTICS_TTL_SECONDS: u64 = 90 * 24 * 3600;

/// One event for the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEvent {
    /// `token.refreshed`, `token.refresh.failed` or `token.reauth-required`.
    pub detail_type: &'static str,
    pub detail: EventDetail,
}

/// An event's `detail`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventDetail {
    pub user_id: String,
    pub platform: String,
    pub reason: String,
    /// Provider calls made for this token in this run.
    pub attempt: u32,
    pub stage: String,
}

/// One `token.refresh` row of the analytics table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyticsRow {
    pub platform: String,
    pub user_id: String,
    pub outcome: String,
    pub reason: String,
    pub run_id: String,
    /// Epoch seconds.
    pub at: u64,
}

impl AnalyticsRow {
    /// The partition of a provider's `token.refresh` records: the analytics table's one key
    /// format, which `deployer status` and `verify` query too.
    pub fn partition(platform: &str) -> String {
        format!("token.refresh#{platform}")
    }

    pub fn pk(&self) -> String {
        Self::partition(&self.platform)
    }

    pub fn sk(&self) -> String {
        format!("{}#{}#{}", rfc3339(self.at), self.user_id, self.run_id)
    }
}

/// A token set that could not be stored, for `deployer dlq replay` to write back (DESIGN §5.5):
/// the one definition of the recovery record's wire format (`schemas/recovery-record.schema.json`),
/// which the refresher writes and the deployer reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type", rename = "token-recovery")]
pub struct RecoveryRecord {
    pub user_id: String,
    pub platform: String,
    pub seen_version: u64,
    pub expires_at: Option<u64>,
    pub refresh_expires_at: Option<u64>,
    pub access_token: Envelope,
    /// The refresh token to keep: the rotated one, or the current one when none was issued.
    pub refresh_token: Option<Envelope>,
}

/// A failed signal call (the SDK's message; never a token value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SignalError(pub String);

/// Where a run's outcomes go.
#[async_trait]
pub trait Signals: Send + Sync {
    async fn event(&self, event: &TokenEvent) -> Result<(), SignalError>;
    async fn analytics(&self, row: &AnalyticsRow) -> Result<(), SignalError>;
    async fn recovery(&self, record: &RecoveryRecord) -> Result<(), SignalError>;
}

/// EventBridge, DynamoDB and SQS.
#[derive(Debug, Clone)]
pub struct AwsSignals {
    pub events: aws_sdk_eventbridge::Client,
    pub event_bus: String,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub analytics_table: String,
    pub sqs: aws_sdk_sqs::Client,
    pub dlq_url: String,
}

fn json(value: &impl Serialize) -> Result<String, SignalError> {
    serde_json::to_string(value).map_err(|e| SignalError(format!("cannot encode: {e}")))
}

#[async_trait]
impl Signals for AwsSignals {
    async fn event(&self, event: &TokenEvent) -> Result<(), SignalError> {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.event_bus)
            .source(EVENT_SOURCE)
            .detail_type(event.detail_type)
            .detail(json(&event.detail)?)
            .build();
        let out = self
            .events
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| {
                SignalError(format!(
                    "PutEvents: {}",
                    aws_sdk_eventbridge::error::DisplayErrorContext(&e)
                ))
            })?;
        match out.failed_entry_count() {
            0 => Ok(()),
            n => Err(SignalError(format!("PutEvents rejected {n} entry"))),
        }
    }

    async fn analytics(&self, row: &AnalyticsRow) -> Result<(), SignalError> {
        let s = |v: &str| AttributeValue::S(v.to_owned());
        let n = |v: u64| AttributeValue::N(v.to_string());
        self.dynamodb
            .put_item()
            .table_name(&self.analytics_table)
            .item("pk", s(&row.pk()))
            .item("sk", s(&row.sk()))
            .item("outcome", s(&row.outcome))
            .item("reason", s(&row.reason))
            .item("runId", s(&row.run_id))
            .item("userId", s(&row.user_id))
            .item("platform", s(&row.platform))
            .item("at", n(row.at))
            .item("ttl", n(row.at + ANALYTICS_TTL_SECONDS))
            .send()
            .await
            .map_err(|e| {
                SignalError(format!(
                    "PutItem (analytics): {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                ))
            })?;
        Ok(())
    }

    async fn recovery(&self, record: &RecoveryRecord) -> Result<(), SignalError> {
        let kind = MessageAttributeValue::builder()
            .data_type("String")
            .string_value("token-recovery")
            .build()
            .map_err(|e| SignalError(e.to_string()))?;
        self.sqs
            .send_message()
            .queue_url(&self.dlq_url)
            .message_body(json(record)?)
            .message_attributes("kind", kind)
            .send()
            .await
            .map_err(|e| {
                SignalError(format!(
                    "SendMessage (DLQ): {}",
                    aws_sdk_sqs::error::DisplayErrorContext(&e)
                ))
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analytics_keys_follow_the_contract() {
        let row = AnalyticsRow {
            platform: "tiktok".to_owned(),
            user_id: "u1".to_owned(),
            outcome: "refreshed".to_owned(),
            reason: "ok".to_owned(),
            run_id: "ab12cd34".to_owned(),
            at: 0,
        };
        assert_eq!(row.pk(), "token.refresh#tiktok");
        assert_eq!(row.sk(), "1970-01-01T00:00:00Z#u1#ab12cd34");
    }

    #[test]
    fn recovery_record_shape() {
        let envelope = Envelope {
            version: 1,
            key_id: "k".to_owned(),
            encrypted_key: "e".to_owned(),
            nonce: "n".to_owned(),
            ciphertext: "c".to_owned(),
        };
        let record = RecoveryRecord {
            user_id: "u".to_owned(),
            platform: "reddit".to_owned(),
            seen_version: 4,
            expires_at: Some(10),
            refresh_expires_at: None,
            access_token: envelope.clone(),
            refresh_token: Some(envelope),
        };
        let value = serde_json::to_value(&record).unwrap();
        assert_eq!(value["type"], "token-recovery");
        assert_eq!(value["seenVersion"], 4);
        assert_eq!(value["refreshExpiresAt"], serde_json::Value::Null);
        assert_eq!(value["accessToken"]["keyId"], "k");
        let detail = serde_json::to_value(EventDetail {
            user_id: "u".to_owned(),
            platform: "p".to_owned(),
            reason: "r".to_owned(),
            attempt: 1,
            stage: "prod".to_owned(),
        })
        .unwrap();
        assert_eq!(
            detail,
            serde_json::json!({"userId":"u","platform":"p","reason":"r","attempt":1,"stage":"prod"})
        );
    }
}
