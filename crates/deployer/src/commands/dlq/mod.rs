//! `deployer dlq --stage S list|show ID|redrive|purge|replay`: the stage's dead-letter queue
//! (`<function>-dlq`, named by `template::context`).
//!
//! The queue holds three kinds of message ([`message`] tells them apart):
//! - **failed deliveries**: an `EventBridge` rule's dead letter (the event, with `RULE_ARN`,
//!   `ERROR_CODE`... attributes) or a Lambda async invocation's on-failure record (the request
//!   payload and the function error);
//! - **recovery records** of the refresher (`type`/`kind` `token-recovery`): a rotated token
//!   set, as KMS envelopes, that the tokens table refused after the provider issued it;
//! - anything else, **unknown**: listed and shown, never touched by `redrive` or `replay`.
//!
//! **Reading without consuming.** SQS has no peek. `list` and `show` receive every visible
//! message with a 60-second visibility timeout (long enough to page through the queue without
//! meeting a message twice) and set it back to 0 straight away, so the messages stay. Each look
//! adds one to a message's receive count; the queue has no redrive policy of its own, so the
//! count moves nothing.
//!
//! **Redrive.** The stack's DLQ is the dead-letter target of rules and of the function's
//! on-failure destination, not of an SQS queue, so there is no source queue to move messages
//! back to, which is what `StartMessageMoveTask` does. Here, redriving a failed delivery means
//! delivering its event again as the rule would: an asynchronous invoke of the stage's function
//! with the rule's target input (`{"providers":[...]}`, from the stage's rule named by
//! `RULE_ARN`) or the failed invocation's `requestPayload`. The run lock makes a duplicate run
//! harmless (AWS-FACTS: deliveries can be duplicated anyway). A message is deleted only after
//! Lambda accepted the event (HTTP 202); a failed invoke keeps it. Should the queue ever be the
//! dead-letter queue of SQS queues (`ListDeadLetterSourceQueues`), `redrive` starts a
//! `StartMessageMoveTask` back to them instead, or, where the endpoint lacks that call and there
//! is one source, moves each message itself (send, then delete). Recovery records are never
//! redriven (a token set is not an event): `replay` writes them back.
//!
//! **Replay.** Each recovery record is written to the tokens table with the refresher's own
//! conditional write (`DynamoStore::write`, `version = :seen`, version + 1): only if the item is
//! still at the version the refresh was based on. The message is deleted only after the write.
//! A record whose item moved on (or is gone) is kept in the queue and reported with the item's
//! current version: never dropped; the operator decides (usually the newer item wins and the
//! record can go with `purge`, after checking `deployer tokens list`).
//!
//! Kept messages are made visible again at the end of each command.

mod actions;

use std::fmt;

use anyhow::{Context, Result, bail};
use refresher::clock::rfc3339;
use serde::Serialize;

use super::Ctx;
use crate::Status;
use crate::aws::sqs::{self, Received};
use crate::cli::{DlqArgs, DlqCommand};
use crate::dlq::message::{self, Kind, classify};
use crate::output::note;
use crate::stage::Stage;

/// At most this many messages are looked at or processed by one command.
const LIMIT: usize = 1000;
/// Visibility timeout of a look (`list`, `show`): long enough to page through the queue.
const PEEK_HIDE_S: i32 = 60;

/// The stage, its DLQ and an SQS client: what every subcommand starts from.
pub(super) struct Queue {
    stage: Stage,
    name: String,
    url: String,
    client: crate::aws::Sqs,
    aws: crate::aws::Aws,
}

pub(super) async fn run(args: &DlqArgs, ctx: &Ctx) -> Result<Status> {
    // Refuse before any AWS call when a confirmation is needed and cannot be asked.
    let action = match &args.command {
        DlqCommand::Redrive(yes) => Some(("redrive", yes.yes)),
        DlqCommand::Purge(yes) => Some(("purge", yes.yes)),
        DlqCommand::Replay(yes) => Some(("replay", yes.yes)),
        DlqCommand::List | DlqCommand::Show(_) => None,
    };
    if let Some((action, yes)) = action {
        confirmable(yes, action)?;
    }
    let stage = ctx.load_stage(&args.stage.stage)?;
    let aws = ctx.aws(&stage).await;
    let client = aws.sqs();
    let name = stage.names().dlq;
    let url = sqs::queue_url(&client, &name).await?.with_context(|| {
        format!(
            "queue {name} does not exist; deploy the stack with `deployer deploy --stage {}`",
            stage.name
        )
    })?;
    let queue = Queue {
        stage,
        name,
        url,
        client,
        aws,
    };
    match &args.command {
        DlqCommand::List => list(&queue, ctx).await,
        DlqCommand::Show(show_args) => show(&queue, &show_args.id, ctx).await,
        DlqCommand::Redrive(yes) => actions::redrive(&queue, yes.yes, ctx).await,
        DlqCommand::Purge(yes) => purge(&queue, yes.yes, ctx).await,
        DlqCommand::Replay(yes) => actions::replay(&queue, yes.yes, ctx).await,
    }
}

/// `dlq list`: one row per visible message.
#[derive(Debug, Serialize)]
struct MessageList {
    stage: String,
    queue: String,
    recovery_records: usize,
    failed_deliveries: usize,
    unknown: usize,
    messages: Vec<MessageRow>,
}

#[derive(Debug, Serialize)]
struct MessageRow {
    id: String,
    /// RFC 3339, UTC.
    sent: Option<String>,
    receive_count: u64,
    kind: Kind,
    summary: String,
}

/// `dlq show ID`: one message, its token and envelope fields redacted.
#[derive(Debug, Serialize)]
struct MessageDetail {
    #[serde(flatten)]
    row: MessageRow,
    attributes: std::collections::BTreeMap<String, String>,
    body: serde_json::Value,
}

/// `dlq purge`.
#[derive(Debug, Serialize)]
struct PurgeReport {
    stage: String,
    queue: String,
    purged: usize,
    recovery_records_purged: usize,
}

impl fmt::Display for MessageList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.messages.is_empty() {
            return writeln!(f, "{} is empty", self.queue);
        }
        let id_w = self.messages.iter().map(|m| m.id.len()).max().unwrap_or(0);
        writeln!(
            f,
            "{:<id_w$}  {:<20}  {:>8}  {:<15}  SUMMARY",
            "ID", "SENT", "RECEIVES", "KIND"
        )?;
        for m in &self.messages {
            writeln!(
                f,
                "{:<id_w$}  {:<20}  {:>8}  {:<15}  {}",
                m.id,
                m.sent.as_deref().unwrap_or("-"),
                m.receive_count,
                m.kind.label(),
                m.summary
            )?;
        }
        writeln!(
            f,
            "{}: {} message(s): {} recovery record(s), {} failed deliver(ies), {} unknown",
            self.queue,
            self.messages.len(),
            self.recovery_records,
            self.failed_deliveries,
            self.unknown
        )
    }
}

impl fmt::Display for MessageDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.row;
        writeln!(f, "id:        {}", r.id)?;
        writeln!(f, "sent:      {}", r.sent.as_deref().unwrap_or("-"))?;
        writeln!(f, "receives:  {}", r.receive_count)?;
        writeln!(f, "kind:      {}", r.kind.label())?;
        writeln!(f, "summary:   {}", r.summary)?;
        for (name, value) in &self.attributes {
            writeln!(f, "attribute: {name} = {value}")?;
        }
        let body = serde_json::to_string_pretty(&self.body).map_err(|_| fmt::Error)?;
        writeln!(f, "body (token and envelope fields redacted):\n{body}")
    }
}

impl fmt::Display for PurgeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: purged {} message(s), {} of them recovery record(s)",
            self.queue, self.purged, self.recovery_records_purged
        )
    }
}

fn row(message: &Received, stage: &Stage) -> MessageRow {
    let classified = classify(message, stage);
    MessageRow {
        id: message.id.clone(),
        sent: message.sent_at_ms.map(|ms| rfc3339(ms / 1000)),
        receive_count: message.receive_count,
        kind: classified.kind,
        summary: classified.summary,
    }
}

async fn peek(queue: &Queue) -> Result<Vec<Received>> {
    sqs::peek_all(&queue.client, &queue.url, LIMIT, PEEK_HIDE_S).await
}

fn message_list(queue: &Queue, messages: &[Received]) -> MessageList {
    let rows: Vec<MessageRow> = messages.iter().map(|m| row(m, &queue.stage)).collect();
    let count = |kind: Kind| rows.iter().filter(|r| r.kind == kind).count();
    MessageList {
        stage: queue.stage.name.clone(),
        queue: queue.name.clone(),
        recovery_records: count(Kind::RecoveryRecord),
        failed_deliveries: count(Kind::FailedDelivery),
        unknown: count(Kind::Unknown),
        messages: rows,
    }
}

async fn list(queue: &Queue, ctx: &Ctx) -> Result<Status> {
    let messages = peek(queue).await?;
    if messages.len() >= LIMIT {
        note(&format!(
            "only the first {LIMIT} messages are listed; the queue holds more"
        ));
    }
    let list = message_list(queue, &messages);
    if list.recovery_records > 0 {
        note(&format!(
            "recovery records hold rotated tokens the table is missing: `deployer dlq --stage {} replay` writes them back",
            queue.stage.name
        ));
    }
    ctx.printer.emit(&list)?;
    Ok(Status::Ok)
}

async fn show(queue: &Queue, id: &str, ctx: &Ctx) -> Result<Status> {
    let messages = peek(queue).await?;
    let Some(message) = messages.iter().find(|m| m.id == id) else {
        bail!(
            "no message {id} among the {} visible message(s) of {} (a message being processed by another command is hidden for a while); `deployer dlq --stage {} list` shows their ids",
            messages.len(),
            queue.name,
            queue.stage.name
        );
    };
    ctx.printer.emit(&MessageDetail {
        row: row(message, &queue.stage),
        attributes: message::shown_attributes(&message.attributes),
        body: message::shown_body(&message.body),
    })?;
    Ok(Status::Ok)
}

async fn purge(queue: &Queue, yes: bool, ctx: &Ctx) -> Result<Status> {
    let messages = peek(queue).await?;
    let list = message_list(queue, &messages);
    let warning = if list.recovery_records > 0 {
        format!(
            ", {} of them recovery record(s) whose rotated tokens are then lost (`deployer dlq --stage {} replay` first)",
            list.recovery_records, queue.stage.name
        )
    } else {
        String::new()
    };
    let question = format!(
        "Delete all {} message(s) of {}{warning}?",
        messages.len(),
        queue.name
    );
    if !confirm(yes, &question)? {
        bail!("not confirmed; nothing was purged");
    }
    sqs::purge(&queue.client, &queue.url).await?;
    ctx.printer.emit(&PurgeReport {
        stage: queue.stage.name.clone(),
        queue: queue.name.clone(),
        purged: messages.len(),
        recovery_records_purged: list.recovery_records,
    })?;
    Ok(Status::Ok)
}

/// A confirmation can be had: `--yes`, or a terminal to ask on.
fn confirmable(yes: bool, action: &str) -> Result<()> {
    use std::io::IsTerminal;
    if !yes && !std::io::stdin().is_terminal() {
        bail!("no terminal to confirm `dlq {action}` on; pass --yes to run it without asking");
    }
    Ok(())
}

/// `--yes`, or the operator's answer on the terminal (never asked without one).
fn confirm(yes: bool, question: &str) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    confirmable(yes, "this")?;
    crate::output::ask_yes(question)
}
