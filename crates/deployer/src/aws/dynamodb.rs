//! `DynamoDB` reads for the drift check: a table's keys, indexes, TTL, point-in-time recovery and
//! encryption, shaped like the template's `AWS::DynamoDB::Table` properties.

use super::DynamoDb as Client;
use anyhow::{Result, bail};
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{BillingMode, KeySchemaElement, Projection, ProjectionType, SseType};
use serde_json::{Value, json};

use super::describe_error;

/// The table, or `None` when `DynamoDB` does not have it.
pub async fn table(client: &Client, name: &str) -> Result<Option<Value>> {
    let out = match client.0.describe_table().table_name(name).send().await {
        Ok(out) => out,
        Err(err) if err.code() == Some("ResourceNotFoundException") => return Ok(None),
        Err(err) => bail!("cannot describe table {name}: {}", describe_error(&err)),
    };
    let Some(table) = out.table() else {
        return Ok(None);
    };
    let indexes: Vec<Value> = table
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            json!({
                "IndexName": i.index_name(),
                "KeySchema": keys(i.key_schema()),
                "Projection": i.projection().map(projection),
            })
        })
        .collect();
    let sse = table.sse_description();
    Ok(Some(json!({
        "KeySchema": keys(table.key_schema()),
        "GlobalSecondaryIndexes": indexes,
        "BillingMode": table.billing_mode_summary().and_then(|b| b.billing_mode()).map(BillingMode::as_str),
        "SSESpecification": {
            "SSEEnabled": sse.and_then(|s| s.status()).is_some_and(|s| matches!(s.as_str(), "ENABLED" | "ENABLING")),
            "SSEType": sse.and_then(|s| s.sse_type()).map(SseType::as_str),
            "KMSMasterKeyId": sse.and_then(|s| s.kms_master_key_arn()),
        },
        "TimeToLiveSpecification": ttl(client, name).await?,
        "PointInTimeRecoverySpecification": pitr(client, name).await?,
    })))
}

fn keys(schema: &[KeySchemaElement]) -> Value {
    schema
        .iter()
        .map(|k| json!({"AttributeName": k.attribute_name(), "KeyType": k.key_type().as_str()}))
        .collect()
}

fn projection(p: &Projection) -> Value {
    let non_key = p.non_key_attributes();
    json!({
        "ProjectionType": p.projection_type().map(ProjectionType::as_str),
        "NonKeyAttributes": (!non_key.is_empty()).then_some(non_key),
    })
}

async fn ttl(client: &Client, name: &str) -> Result<Value> {
    let out = client
        .0
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot read the TTL of table {name}: {}",
                describe_error(&e)
            )
        })?;
    let ttl = out.time_to_live_description();
    Ok(json!({
        "AttributeName": ttl.and_then(|t| t.attribute_name()),
        "Enabled": ttl
            .and_then(|t| t.time_to_live_status())
            .is_some_and(|s| matches!(s.as_str(), "ENABLED" | "ENABLING")),
    }))
}

async fn pitr(client: &Client, name: &str) -> Result<Value> {
    let out = client
        .0
        .describe_continuous_backups()
        .table_name(name)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot read the backups of table {name}: {}",
                describe_error(&e)
            )
        })?;
    let status = out
        .continuous_backups_description()
        .and_then(|c| c.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status());
    Ok(json!({
        "PointInTimeRecoveryEnabled": status.is_some_and(|s| s.as_str() == "ENABLED"),
    }))
}

/// One `token.refresh` record of the analytics table, as the refresher's `AwsSignals::analytics`
/// writes it (`pk = token.refresh#<platform>`, `sk = <RFC 3339 time>#<userId>#<run id>`). The
/// user id is not read: the status view counts, it does not list users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyticsRecord {
    /// `refreshed`, `failed` or `needs_reauth` (skips are not recorded).
    pub outcome: String,
    pub reason: String,
    pub run_id: String,
    /// Epoch seconds.
    pub at: u64,
}

/// Attributes the status view reads, under placeholders (`at` is safer quoted).
const ANALYTICS_PROJECTION: &str = "#o, #r, #run, #at";

/// The `#name` placeholders of the analytics queries.
fn analytics_names() -> std::collections::HashMap<String, String> {
    [
        ("#o", "outcome"),
        ("#r", "reason"),
        ("#run", "runId"),
        ("#at", "at"),
        ("#pk", "pk"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn analytics_record(
    item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
) -> AnalyticsRecord {
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

/// Every record of partition `pk` whose sort key is at or after `from_sk` (all pages): a `Query`
/// by key, so only that provider's window is read.
pub async fn analytics_since(
    client: &Client,
    table: &str,
    pk: &str,
    from_sk: &str,
) -> Result<Vec<AnalyticsRecord>> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let mut records = Vec::new();
    let mut start = None;
    loop {
        let out = client
            .0
            .query()
            .table_name(table)
            .projection_expression(ANALYTICS_PROJECTION)
            .set_expression_attribute_names(Some(analytics_names()))
            .key_condition_expression("#pk = :pk AND sk >= :from")
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
            .expression_attribute_values(":from", AttributeValue::S(from_sk.to_owned()))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| analytics_query_failed(pk, table, &describe_error(&e)))?;
        records.extend(out.items().iter().map(analytics_record));
        start = out.last_evaluated_key().cloned();
        if start.is_none() {
            return Ok(records);
        }
    }
}

/// Why a Query of the analytics table failed, with what to check.
fn analytics_query_failed(pk: &str, table: &str, error: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "cannot query `{pk}` in the analytics table {table}: {error}; check that the stack is deployed and the credentials allow dynamodb:Query on it"
    )
}

/// The newest record of partition `pk` with this `outcome`, newest first page by page, stopping at
/// the first match (records expire after 90 days, which bounds the walk).
pub async fn newest_analytics(
    client: &Client,
    table: &str,
    pk: &str,
    outcome: &str,
) -> Result<Option<AnalyticsRecord>> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let mut start = None;
    loop {
        let out = client
            .0
            .query()
            .table_name(table)
            .projection_expression(ANALYTICS_PROJECTION)
            .set_expression_attribute_names(Some(analytics_names()))
            .key_condition_expression("#pk = :pk")
            .filter_expression("#o = :o")
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
            .expression_attribute_values(":o", AttributeValue::S(outcome.to_owned()))
            .scan_index_forward(false)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| analytics_query_failed(pk, table, &describe_error(&e)))?;
        if let Some(item) = out.items().first() {
            return Ok(Some(analytics_record(item)));
        }
        start = out.last_evaluated_key().cloned();
        if start.is_none() {
            return Ok(None);
        }
    }
}
