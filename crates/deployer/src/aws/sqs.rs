//! SQS reads for the drift check: a queue's attributes, shaped like the template's
//! `AWS::SQS::Queue` properties, and its policy as `AWS::SQS::QueuePolicy` sets it.

use anyhow::{Result, bail};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Map, Value};

use super::describe_error;

/// Attributes the template can set, by their `CloudFormation` property names. The policy is
/// returned raw, under `Policy`, for the caller to parse.
const ATTRIBUTES: &[(&str, &str)] = &[
    ("MessageRetentionPeriod", "MessageRetentionPeriod"),
    ("KmsMasterKeyId", "KmsMasterKeyId"),
    (
        "KmsDataKeyReusePeriodSeconds",
        "KmsDataKeyReusePeriodSeconds",
    ),
    ("VisibilityTimeout", "VisibilityTimeout"),
    ("DelaySeconds", "DelaySeconds"),
    ("MaximumMessageSize", "MaximumMessageSize"),
    (
        "ReceiveMessageWaitTimeSeconds",
        "ReceiveMessageWaitTimeSeconds",
    ),
    ("SqsManagedSseEnabled", "SqsManagedSseEnabled"),
    ("Policy", "Policy"),
];

/// The queue at `url` (its physical id), or `None` when SQS does not have it.
pub async fn queue(client: &Client, url: &str) -> Result<Option<Value>> {
    let out = match client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
    {
        Ok(out) => out,
        Err(err)
            if matches!(
                err.code(),
                Some("AWS.SimpleQueueService.NonExistentQueue" | "QueueDoesNotExist")
            ) =>
        {
            return Ok(None);
        }
        Err(err) => bail!("cannot read queue {url}: {}", describe_error(&err)),
    };
    let live = out.attributes();
    let mut props = Map::new();
    for (attribute, property) in ATTRIBUTES {
        let value = live.and_then(|a| a.get(&QueueAttributeName::from(*attribute)));
        if let Some(value) = value {
            props.insert((*property).to_owned(), Value::String(value.clone()));
        }
    }
    Ok(Some(Value::Object(props)))
}
