//! What `dlq redrive` and `dlq replay` did with the messages they took: redriven or written back,
//! or kept in the queue and why (pure). `commands/dlq/` fills and prints them.

use std::fmt;

use serde::Serialize;

use super::message::{Kind, Recovery};
use crate::aws::sqs;

/// A message left in the queue, and why.
#[derive(Debug, Serialize)]
pub struct Kept {
    pub id: String,
    pub kind: Kind,
    pub reason: String,
}

/// `dlq redrive`.
#[derive(Debug, Serialize)]
pub struct RedriveReport {
    pub stage: String,
    pub queue: String,
    /// `invoke` (the function, asynchronously), `move-task` (SQS moves them) or `move` (sent
    /// to the source queue, then deleted).
    pub method: &'static str,
    pub target: String,
    /// Messages delivered again and deleted (for `move-task`: the task's handle is in `target`).
    pub redriven: usize,
    pub kept: Vec<Kept>,
}

/// `dlq replay`.
#[derive(Debug, Serialize)]
pub struct ReplayReport {
    pub stage: String,
    pub queue: String,
    pub table: String,
    pub restored: Vec<Restored>,
    /// Records whose item moved on since the refresh, or whose write failed: still queued.
    pub kept: Vec<Kept>,
    /// Messages that are not recovery records (left for `redrive`).
    pub other_messages: usize,
}

/// A recovery record written back.
#[derive(Debug, Serialize)]
pub struct Restored {
    pub id: String,
    pub user_id: String,
    pub platform: String,
    /// The version the record was based on; the item is now at this + 1.
    pub based_on_version: u64,
    /// The item already held the record's token set (the refresher's write was applied but its
    /// answer was lost): nothing written, the record deleted.
    pub already_stored: bool,
}

impl RedriveReport {
    /// Nothing redriven or kept yet, by `method` to `target`.
    pub fn new(stage: &str, queue: &str, method: &'static str, target: String) -> Self {
        Self {
            stage: stage.to_owned(),
            queue: queue.to_owned(),
            method,
            target,
            redriven: 0,
            kept: Vec::new(),
        }
    }
}

impl ReplayReport {
    /// Nothing written back, kept or passed over yet.
    pub fn new(stage: &str, queue: &str, table: String) -> Self {
        Self {
            stage: stage.to_owned(),
            queue: queue.to_owned(),
            table,
            restored: Vec::new(),
            kept: Vec::new(),
            other_messages: 0,
        }
    }
}

impl Restored {
    /// Message `id`'s record, written back (or found `already_stored`).
    pub fn new(id: &str, record: Recovery, already_stored: bool) -> Self {
        Self {
            id: id.to_owned(),
            user_id: record.user_id,
            platform: record.platform,
            based_on_version: record.seen_version,
            already_stored,
        }
    }
}

impl fmt::Display for RedriveReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} message(s) redriven ({} to {}), {} kept",
            self.queue,
            self.redriven,
            self.method,
            self.target,
            self.kept.len()
        )?;
        write_kept(f, &self.kept)
    }
}

impl fmt::Display for ReplayReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} recovery record(s) written back to {}, {} kept, {} other message(s) left",
            self.queue,
            self.restored.len(),
            self.table,
            self.kept.len(),
            self.other_messages
        )?;
        for r in &self.restored {
            let how = if r.already_stored {
                "already stored at version"
            } else {
                "version"
            };
            writeln!(
                f,
                "  restored {}: user {} on {} ({how} {} -> {})",
                r.id,
                r.user_id,
                r.platform,
                r.based_on_version,
                r.based_on_version + 1
            )?;
        }
        write_kept(f, &self.kept)
    }
}

/// One line per kept message: its id, its kind and why it was kept.
fn write_kept(f: &mut fmt::Formatter<'_>, kept: &[Kept]) -> fmt::Result {
    for k in kept {
        writeln!(f, "  kept {} ({}): {}", k.id, k.kind.label(), k.reason)?;
    }
    Ok(())
}

/// The report of a message left in the queue.
pub fn kept(message: &sqs::Received, kind: Kind, reason: impl Into<String>) -> Kept {
    Kept {
        id: message.id.clone(),
        kind,
        reason: reason.into(),
    }
}
