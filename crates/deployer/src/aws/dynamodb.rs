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
