//! Reading the analytics table's `token.refresh` records (written by [`crate::events`], key
//! format [`AnalyticsRow`]): a provider's window as a `Query` by key (`pk = :p AND sk >= :from`),
//! never a `Scan`, and its newest record of one outcome. The seam is [`AnalyticsSource`]; the
//! status report ([`crate::status`]) is built on it by `deployer status` and the token API alike.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::clock::rfc3339;
use crate::events::AnalyticsRow;

/// What the status view reads of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyticsRecord {
    /// `refreshed`, `failed` or `needs_reauth` (skips are not recorded).
    pub outcome: String,
    pub reason: String,
    pub run_id: String,
    /// Epoch seconds.
    pub at: u64,
}

/// A failed read: the table, the partition and the SDK's message (never a value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot query `{partition}` in the analytics table {table}: {message}; check that the stack is deployed and the caller may dynamodb:Query it"
)]
pub struct AnalyticsError {
    pub table: String,
    pub partition: String,
    pub message: String,
}

#[async_trait]
pub trait AnalyticsSource: Send + Sync {
    /// Every record of `platform` at or after `from` (epoch seconds).
    async fn since(
        &self,
        platform: &str,
        from: u64,
    ) -> Result<Vec<AnalyticsRecord>, AnalyticsError>;
    /// The newest record of `platform` with this outcome.
    async fn newest(
        &self,
        platform: &str,
        outcome: &str,
    ) -> Result<Option<AnalyticsRecord>, AnalyticsError>;
}

/// The stage's analytics table.
#[derive(Debug, Clone)]
pub struct DynamoAnalytics {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

/// Attributes the status view reads, under placeholders (`at` is safer quoted).
const PROJECTION: &str = "#o, #r, #run, #at";

impl DynamoAnalytics {
    pub fn new(client: aws_sdk_dynamodb::Client, table: &str) -> Self {
        Self {
            client,
            table: table.to_owned(),
        }
    }

    fn query(
        &self,
        partition: &str,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let names: HashMap<String, String> = [
            ("#o", "outcome"),
            ("#r", "reason"),
            ("#run", "runId"),
            ("#at", "at"),
            ("#pk", "pk"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        self.client
            .query()
            .table_name(&self.table)
            .projection_expression(PROJECTION)
            .set_expression_attribute_names(Some(names))
            .expression_attribute_values(":pk", AttributeValue::S(partition.to_owned()))
    }

    fn failed<E>(
        &self,
        partition: &str,
        err: &aws_sdk_dynamodb::error::SdkError<E>,
    ) -> AnalyticsError
    where
        E: std::error::Error + 'static,
    {
        AnalyticsError {
            table: self.table.clone(),
            partition: partition.to_owned(),
            message: aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string(),
        }
    }
}

#[async_trait]
impl AnalyticsSource for DynamoAnalytics {
    async fn since(
        &self,
        platform: &str,
        from: u64,
    ) -> Result<Vec<AnalyticsRecord>, AnalyticsError> {
        let partition = AnalyticsRow::partition(platform);
        let mut records = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .query(&partition)
                .key_condition_expression("#pk = :pk AND sk >= :from")
                .expression_attribute_values(":from", AttributeValue::S(rfc3339(from)))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| self.failed(&partition, &e))?;
            records.extend(out.items().iter().map(record));
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(records);
            }
        }
    }

    /// Newest first, page by page, stopping at the first match (records expire after 90 days,
    /// which bounds the walk).
    async fn newest(
        &self,
        platform: &str,
        outcome: &str,
    ) -> Result<Option<AnalyticsRecord>, AnalyticsError> {
        let partition = AnalyticsRow::partition(platform);
        let mut start = None;
        loop {
            let out = self
                .query(&partition)
                .key_condition_expression("#pk = :pk")
                .filter_expression("#o = :o")
                .expression_attribute_values(":o", AttributeValue::S(outcome.to_owned()))
                .scan_index_forward(false)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| self.failed(&partition, &e))?;
            if let Some(item) = out.items().first() {
                return Ok(Some(record(item)));
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(None);
            }
        }
    }
}

fn record(item: &HashMap<String, AttributeValue>) -> AnalyticsRecord {
    let s = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    AnalyticsRecord {
        outcome: s("outcome"),
        reason: s("reason"),
        run_id: s("runId"),
        at: item
            .get("at")
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
    }
}
