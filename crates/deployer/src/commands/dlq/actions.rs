//! `dlq redrive` and `dlq replay`: the two commands that take messages out of the queue, each
//! deleting a message only after its effect happened (at-least-once), and keeping (visible
//! again) every message they did not act on. See the parent module for what each means.

use anyhow::{Result, bail};

use super::{LIMIT, Queue, confirm, message_list, peek};
use crate::Status;
use crate::aws::{invoke, sqs};
use crate::commands::Ctx;
use crate::dlq::message::{Kind, classify};
use crate::dlq::outcome::{Kept, RedriveReport, ReplayReport, Restored, kept};
use crate::dlq::redrive_targets;
use crate::dlq::replay::{Restore, Writer};
use crate::output::note;

/// Visibility timeout while messages are processed: they stay hidden from a second command
/// until this one deleted or released them (or it died, and they come back on their own).
const WORK_HIDE_S: i32 = 300;

/// Receives every visible message (at most [`LIMIT`]) for processing, hidden meanwhile.
async fn take(queue: &Queue) -> Result<Vec<sqs::Received>> {
    let mut taken: Vec<sqs::Received> = Vec::new();
    while taken.len() < LIMIT {
        let batch = sqs::receive(&queue.client, &queue.url, WORK_HIDE_S).await?;
        let fresh: Vec<_> = batch
            .into_iter()
            .filter(|m| !taken.iter().any(|t| t.id == m.id))
            .collect();
        if fresh.is_empty() {
            break;
        }
        taken.extend(fresh);
    }
    Ok(taken)
}

/// Makes every taken message that was not deleted (`done`) visible again.
async fn release(queue: &Queue, messages: &[sqs::Received], done: &[&str]) -> Result<()> {
    let handles: Vec<&str> = messages
        .iter()
        .filter(|m| !done.contains(&m.id.as_str()))
        .map(|m| m.receipt_handle.as_str())
        .collect();
    sqs::release(&queue.client, &queue.url, &handles).await
}

pub(super) async fn redrive(queue: &Queue, yes: bool, ctx: &Ctx) -> Result<Status> {
    let sources = sqs::dead_letter_sources(&queue.client, &queue.url).await?;
    if !sources.is_empty() {
        return move_back(queue, &sources, yes, ctx).await;
    }
    let functions = redrive_targets(&queue.stage);
    let listed = message_list(queue, &peek(queue).await?);
    let question = format!(
        "Invoke {functions} again for each of the {} failed deliver(ies) in {} (and delete each once Lambda accepted it)?",
        listed.failed_deliveries, queue.name
    );
    if !confirm(yes, &question)? {
        bail!("not confirmed; nothing was redriven");
    }
    let messages = take(queue).await?;
    let mut report = RedriveReport::new(&queue.stage.name, &queue.name, "invoke", functions);
    let done = redrive_messages(queue, &messages, &mut report).await;
    release(queue, &messages, &done).await?;
    let failed = report.kept.iter().any(|k| k.kind == Kind::FailedDelivery);
    ctx.printer.emit(&report)?;
    Ok(if failed { Status::Failed } else { Status::Ok })
}

/// Redrives each message into `report`, naming the functions that got one; the ids deleted.
async fn redrive_messages<'m>(
    queue: &Queue,
    messages: &'m [sqs::Received],
    report: &mut RedriveReport,
) -> Vec<&'m str> {
    let lambda = queue.aws.lambda();
    let mut done: Vec<&'m str> = Vec::new();
    let mut invoked: Vec<String> = Vec::new();
    for message in messages {
        match redrive_one(queue, &lambda, message).await {
            Ok(function) => {
                done.push(&message.id);
                report.redriven += 1;
                if !invoked.contains(&function) {
                    invoked.push(function);
                }
            }
            Err(why) => report.kept.push(why),
        }
    }
    // The functions that got messages; the candidates when none did.
    if !invoked.is_empty() {
        report.target = invoked.join(", ");
    }
    done
}

/// Delivers one failed delivery again and deletes it, naming the function invoked; what was
/// kept, and why, otherwise.
async fn redrive_one(
    queue: &Queue,
    lambda: &crate::aws::Lambda,
    message: &sqs::Received,
) -> Result<String, Kept> {
    let classified = classify(message, &queue.stage);
    let redrive = classified
        .redrive
        .map_err(|why| kept(message, classified.kind, why))?;
    invoke::invoke_async(lambda, &redrive.function, &redrive.payload)
        .await
        .map_err(|err| kept(message, Kind::FailedDelivery, format!("{err:#}")))?;
    // Lambda has the event: only now may the dead letter go.
    sqs::delete(&queue.client, &queue.url, &message.receipt_handle)
        .await
        .map_err(|err| {
            kept(
                message,
                Kind::FailedDelivery,
                format!("redriven, but still queued (a later redrive runs it again): {err:#}"),
            )
        })?;
    Ok(redrive.function)
}

/// The queue is an SQS dead-letter queue: `StartMessageMoveTask` back to the source, or, where
/// the endpoint lacks it and there is one source, send then delete each message.
async fn move_back(queue: &Queue, sources: &[String], yes: bool, ctx: &Ctx) -> Result<Status> {
    refuse_recovery_records(queue).await?;
    let question = format!(
        "Move every message of {} back to {}?",
        queue.name,
        sources.join(", ")
    );
    if !confirm(yes, &question)? {
        bail!("not confirmed; nothing was moved");
    }
    let arn = sqs::queue_arn(&queue.client, &queue.url).await?;
    let mut report = RedriveReport::new(
        &queue.stage.name,
        &queue.name,
        "move-task",
        sources.join(", "),
    );
    if let Some(handle) = sqs::start_move_task(&queue.client, &arn).await? {
        note(&format!("SQS move task started: {handle}"));
        ctx.printer.emit(&report)?;
        return Ok(Status::Ok);
    }
    move_each(queue, sources, &mut report).await?;
    let failed = !report.kept.is_empty();
    ctx.printer.emit(&report)?;
    Ok(if failed { Status::Failed } else { Status::Ok })
}

/// Without a move task: sends then deletes each message itself, which takes one source queue.
async fn move_each(queue: &Queue, sources: &[String], report: &mut RedriveReport) -> Result<()> {
    let [source] = sources else {
        bail!(
            "{} is the dead-letter queue of {} queues and this endpoint has no StartMessageMoveTask; move the messages from the SQS console",
            queue.name,
            sources.len()
        );
    };
    report.method = "move";
    let messages = take(queue).await?;
    let done = move_messages(queue, source, &messages, report).await;
    release(queue, &messages, &done).await
}

/// Refuses a move while the queue holds recovery records.
async fn refuse_recovery_records(queue: &Queue) -> Result<()> {
    // A recovery record never came from a source queue: a move must not carry token sets there.
    let listed = message_list(queue, &peek(queue).await?);
    if listed.recovery_records > 0 {
        bail!(
            "{} holds {} recovery record(s); write them back with `deployer dlq --stage {} replay` before moving the rest",
            queue.name,
            listed.recovery_records,
            queue.stage.name
        );
    }
    Ok(())
}

/// Sends each message to `source`, then deletes it; the ids deleted.
async fn move_messages<'m>(
    queue: &Queue,
    source: &str,
    messages: &'m [sqs::Received],
    report: &mut RedriveReport,
) -> Vec<&'m str> {
    let mut done: Vec<&'m str> = Vec::new();
    for message in messages {
        let kind = classify(message, &queue.stage).kind;
        if kind == Kind::RecoveryRecord {
            report
                .kept
                .push(kept(message, kind, "a recovery record: use `replay`"));
            continue;
        }
        // Sent first, deleted after: a failure between the two duplicates, never loses.
        let moved = match sqs::send(&queue.client, source, &message.body, &message.attributes).await
        {
            Ok(()) => sqs::delete(&queue.client, &queue.url, &message.receipt_handle).await,
            Err(err) => Err(err),
        };
        match moved {
            Ok(()) => {
                done.push(&message.id);
                report.redriven += 1;
            }
            Err(err) => report.kept.push(kept(message, kind, format!("{err:#}"))),
        }
    }
    done
}

pub(super) async fn replay(queue: &Queue, yes: bool, ctx: &Ctx) -> Result<Status> {
    let table = queue.stage.tables.tokens.name.clone();
    let listed = message_list(queue, &peek(queue).await?);
    let question = format!(
        "Write the {} recovery record(s) of {} back to {table}, each only if its item is still at the version it was based on?",
        listed.recovery_records, queue.name
    );
    if !confirm(yes, &question)? {
        bail!("not confirmed; nothing was replayed");
    }
    let store = queue.aws.token_store(&queue.stage);
    let writer = Writer::new(
        store,
        queue.aws.token_keys(&queue.stage),
        queue.stage.tables.tokens.format,
    );
    let messages = take(queue).await?;
    let mut report = ReplayReport::new(&queue.stage.name, &queue.name, table);
    let done = replay_messages(queue, &writer, &messages, &mut report).await;
    release(queue, &messages, &done).await?;
    let failed = !report.kept.is_empty();
    if failed {
        note(&format!(
            "kept records stay in {}; check the items with `deployer tokens list --stage {}`",
            queue.name, queue.stage.name
        ));
    }
    ctx.printer.emit(&report)?;
    Ok(if failed { Status::Failed } else { Status::Ok })
}

/// Replays every recovery record among `messages` into `report`; the ids deleted.
async fn replay_messages<'m>(
    queue: &Queue,
    writer: &Writer,
    messages: &'m [sqs::Received],
    report: &mut ReplayReport,
) -> Vec<&'m str> {
    let mut done: Vec<&'m str> = Vec::new();
    for message in messages {
        let Some(record) = classify(message, &queue.stage).recovery else {
            report.other_messages += 1;
            continue;
        };
        let already_stored = match writer.restore(&record).await {
            Ok(restored) => restored == Restore::AlreadyStored,
            Err(reason) => {
                report
                    .kept
                    .push(kept(message, Kind::RecoveryRecord, reason));
                continue;
            }
        };
        // The table has the token set: only now may the record go.
        if delete_replayed(queue, message).await {
            done.push(&message.id);
        }
        report
            .restored
            .push(Restored::new(&message.id, record, already_stored));
    }
    done
}

/// Deletes a record that was written back; whether it went (if not, it is said, and it stays).
async fn delete_replayed(queue: &Queue, message: &sqs::Received) -> bool {
    match sqs::delete(&queue.client, &queue.url, &message.receipt_handle).await {
        Ok(()) => true,
        Err(err) => {
            note(&format!(
                "{} was written back but is still queued ({err:#}); a later replay reports it as moved on",
                message.id
            ));
            false
        }
    }
}
