//! SQS reads for the drift check: a queue's attributes, shaped like the template's
//! `AWS::SQS::Queue` properties, and its policy as `AWS::SQS::QueuePolicy` sets it.

use std::collections::HashMap;

use super::Sqs as Client;
use anyhow::{Context, Result, bail};
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

/// The queue's attributes `names`, or `None` when SQS does not have the queue. `what` names what
/// is read, for the error.
async fn attributes(
    client: &Client,
    url: &str,
    names: &[QueueAttributeName],
    what: &str,
) -> Result<Option<HashMap<QueueAttributeName, String>>> {
    match client
        .0
        .get_queue_attributes()
        .queue_url(url)
        .set_attribute_names(Some(names.to_vec()))
        .send()
        .await
    {
        Ok(out) => Ok(Some(out.attributes().cloned().unwrap_or_default())),
        Err(err) if no_such_queue(err.code()) => Ok(None),
        Err(err) => bail!(
            "cannot read {what} of queue {url} (sqs:GetQueueAttributes): {}",
            describe_error(&err)
        ),
    }
}

/// The queue at `url` (its physical id), or `None` when SQS does not have it.
pub async fn queue(client: &Client, url: &str) -> Result<Option<Value>> {
    let all = [QueueAttributeName::All];
    let Some(live) = attributes(client, url, &all, "the attributes").await? else {
        return Ok(None);
    };
    let mut props = Map::new();
    for (attribute, property) in ATTRIBUTES {
        if let Some(value) = live.get(&QueueAttributeName::from(*attribute)) {
            props.insert((*property).to_owned(), Value::String(value.clone()));
        }
    }
    Ok(Some(Value::Object(props)))
}

/// The queue's `ApproximateNumberOfMessages` (visible messages), or `None` when SQS does not have
/// the queue.
pub async fn approximate_messages(client: &Client, url: &str) -> Result<Option<u64>> {
    let depth = QueueAttributeName::ApproximateNumberOfMessages;
    let live = attributes(client, url, std::slice::from_ref(&depth), "the depth").await?;
    Ok(live.map(|a| a.get(&depth).and_then(|v| v.parse().ok()).unwrap_or(0)))
}

// ---- Messages of a dead-letter queue, for `deployer dlq` ----

/// One message as received: its id, the receipt handle of this receive, its body, when it was
/// first sent, how often it was received, and its string message attributes.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub receipt_handle: String,
    pub body: String,
    /// `SentTimestamp`, epoch milliseconds.
    pub sent_at_ms: Option<u64>,
    /// `ApproximateReceiveCount`, this receive included.
    pub receive_count: u64,
    pub attributes: std::collections::BTreeMap<String, String>,
}

/// The URL of the queue named `name`, or `None` when SQS has no such queue.
pub async fn queue_url(client: &Client, name: &str) -> Result<Option<String>> {
    match client.0.get_queue_url().queue_name(name).send().await {
        Ok(out) => Ok(out.queue_url().map(str::to_owned)),
        Err(err) if no_such_queue(err.code()) => Ok(None),
        Err(err) => bail!(
            "cannot find queue {name} (sqs:GetQueueUrl): {}",
            describe_error(&err)
        ),
    }
}

/// The queue's ARN (`QueueArn` attribute).
pub async fn queue_arn(client: &Client, url: &str) -> Result<String> {
    let arn = QueueAttributeName::QueueArn;
    attributes(client, url, std::slice::from_ref(&arn), "the ARN")
        .await?
        .with_context(|| {
            format!(
                "queue {url} does not exist; the stack's DlqUrl output names it, so the stage's \
                 stack is missing or out of date: deploy it again"
            )
        })?
        .remove(&arn)
        .ok_or_else(|| anyhow::anyhow!("queue {url} reported no QueueArn"))
}

/// Receives up to 10 messages, hidden from other consumers for `visibility_s` seconds. Waits up
/// to a second when the queue looks empty: a long poll asks every SQS server, where a short poll
/// samples some and can answer "empty" while messages wait.
pub async fn receive(client: &Client, url: &str, visibility_s: i32) -> Result<Vec<Received>> {
    use aws_sdk_sqs::types::MessageSystemAttributeName as Sys;
    let out = client
        .0
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .visibility_timeout(visibility_s)
        .wait_time_seconds(1)
        .message_system_attribute_names(Sys::SentTimestamp)
        .message_system_attribute_names(Sys::ApproximateReceiveCount)
        .message_attribute_names("All")
        .send()
        .await
        .map_err(|err| {
            anyhow::anyhow!(
                "cannot receive from queue {url} (sqs:ReceiveMessage): {}",
                describe_error(&err)
            )
        })?;
    Ok(out.messages().iter().filter_map(received).collect())
}

/// A received message as the module's type; `None` for one without an id or receipt handle.
fn received(m: &aws_sdk_sqs::types::Message) -> Option<Received> {
    use aws_sdk_sqs::types::MessageSystemAttributeName as Sys;
    let number = |name: Sys| {
        m.attributes()
            .and_then(|a| a.get(&name))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let attributes = m
        .message_attributes()
        .map(|attrs| {
            attrs
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.string_value()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    Some(Received {
        id: m.message_id()?.to_owned(),
        receipt_handle: m.receipt_handle()?.to_owned(),
        body: m.body().unwrap_or_default().to_owned(),
        sent_at_ms: number(Sys::SentTimestamp),
        receive_count: number(Sys::ApproximateReceiveCount).unwrap_or(0),
        attributes,
    })
}

/// Every visible message of the queue (at most `limit`), received and made visible again at
/// once: SQS has no "peek", so each is received with a visibility timeout of `hide_s` (long
/// enough to page through the queue without seeing a message twice) and then set back to 0.
pub async fn peek_all(
    client: &Client,
    url: &str,
    limit: usize,
    hide_s: i32,
) -> Result<Vec<Received>> {
    let mut all: Vec<Received> = Vec::new();
    let mut listed = Ok(());
    while all.len() < limit {
        match receive(client, url, hide_s).await {
            Ok(batch) if batch.is_empty() => break,
            Ok(batch) => {
                for message in batch {
                    if !all.iter().any(|m| m.id == message.id) {
                        all.push(message);
                    }
                }
            }
            Err(err) => {
                listed = Err(err);
                break;
            }
        }
    }
    // Make them visible again even when a later receive failed.
    let handles: Vec<&str> = all.iter().map(|m| m.receipt_handle.as_str()).collect();
    release(client, url, &handles).await?;
    listed.map(|()| all)
}

/// Sets the visibility timeout of received messages back to 0: visible to the next receive.
pub async fn release(client: &Client, url: &str, receipt_handles: &[&str]) -> Result<()> {
    use aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry as Entry;
    for chunk in receipt_handles.chunks(10) {
        let mut request = client.0.change_message_visibility_batch().queue_url(url);
        for (i, handle) in chunk.iter().enumerate() {
            let entry = Entry::builder()
                .id(i.to_string())
                .receipt_handle(*handle)
                .visibility_timeout(0)
                .build()
                .map_err(|e| anyhow::anyhow!("cannot build a visibility change: {e}"))?;
            request = request.entries(entry);
        }
        let out = request.send().await.map_err(|err| {
            anyhow::anyhow!(
                "cannot make received messages visible again in {url} (sqs:ChangeMessageVisibilityBatch); \
                 they reappear when their visibility timeout ends: {}",
                describe_error(&err)
            )
        })?;
        if let Some(failed) = out.failed().first() {
            bail!(
                "{} message(s) of {url} could not be made visible again ({}); they reappear when \
                 their visibility timeout ends",
                out.failed().len(),
                failed.message().unwrap_or(failed.code())
            );
        }
    }
    Ok(())
}

/// Deletes a received message.
pub async fn delete(client: &Client, url: &str, receipt_handle: &str) -> Result<()> {
    client
        .0
        .delete_message()
        .queue_url(url)
        .receipt_handle(receipt_handle)
        .send()
        .await
        .map_err(|err| {
            anyhow::anyhow!(
                "cannot delete a message from {url} (sqs:DeleteMessage): {}",
                describe_error(&err)
            )
        })?;
    Ok(())
}

/// Sends `body` with string message attributes to the queue at `url`.
pub async fn send(
    client: &Client,
    url: &str,
    body: &str,
    attributes: &std::collections::BTreeMap<String, String>,
) -> Result<()> {
    use aws_sdk_sqs::types::MessageAttributeValue;
    let mut request = client.0.send_message().queue_url(url).message_body(body);
    for (name, value) in attributes {
        let value = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build message attribute {name}: {e}"))?;
        request = request.message_attributes(name, value);
    }
    request.send().await.map_err(|err| {
        anyhow::anyhow!(
            "cannot send a message to {url} (sqs:SendMessage): {}",
            describe_error(&err)
        )
    })?;
    Ok(())
}

/// Deletes every message of the queue (`PurgeQueue`; SQS allows one purge a minute).
pub async fn purge(client: &Client, url: &str) -> Result<()> {
    client
        .0
        .purge_queue()
        .queue_url(url)
        .send()
        .await
        .map_err(|err| {
            anyhow::anyhow!(
                "cannot purge queue {url} (sqs:PurgeQueue; one purge a minute): {}",
                describe_error(&err)
            )
        })?;
    Ok(())
}

/// URLs of the queues whose redrive policy names this queue as their dead-letter queue.
pub async fn dead_letter_sources(client: &Client, url: &str) -> Result<Vec<String>> {
    let out = client
        .0
        .list_dead_letter_source_queues()
        .queue_url(url)
        .send()
        .await
        .map_err(|err| {
            anyhow::anyhow!(
                "cannot list the source queues of {url} (sqs:ListDeadLetterSourceQueues): {}",
                describe_error(&err)
            )
        })?;
    Ok(out.queue_urls().to_vec())
}

/// Starts an SQS message move task from the dead-letter queue `dlq_arn` back to its source
/// queues. `Ok(None)` when the endpoint does not offer the call (the local stand-in answers
/// `UnsupportedOperation`/501), so the caller can move the messages itself.
pub async fn start_move_task(client: &Client, dlq_arn: &str) -> Result<Option<String>> {
    match client
        .0
        .start_message_move_task()
        .source_arn(dlq_arn)
        .send()
        .await
    {
        Ok(out) => Ok(Some(out.task_handle().unwrap_or_default().to_owned())),
        Err(err)
            if err
                .raw_response()
                .is_some_and(|r| matches!(r.status().as_u16(), 404 | 501))
                || matches!(
                    err.code(),
                    Some("UnsupportedOperation" | "InvalidAction" | "NotImplemented")
                ) =>
        {
            Ok(None)
        }
        Err(err) => bail!(
            "cannot start moving messages out of {dlq_arn} (sqs:StartMessageMoveTask): {}",
            describe_error(&err)
        ),
    }
}

/// Whether an error code says the queue does not exist (the query protocol's name, and the JSON
/// protocol's).
fn no_such_queue(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("AWS.SimpleQueueService.NonExistentQueue" | "QueueDoesNotExist")
    )
}
