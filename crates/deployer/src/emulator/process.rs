//! One invocation on an instance of its own, started for it and stopped after it: how
//! `deployer invoke --local` runs the deployed zip.

use std::time::Duration;

use anyhow::Result;
use serde::Serialize;

use super::instance::{Instance, LogSink};
use super::{FunctionSpec, Outcome};

/// One finished invocation.
#[derive(Debug, Clone, Serialize)]
pub struct Invocation {
    pub request_id: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    pub duration_ms: u64,
    /// What the process printed (stdout and stderr, interleaved as read), newest last.
    pub logs: Vec<String>,
}

/// Runs one invocation of `spec.binary` with `event` as its payload.
pub async fn run(spec: &FunctionSpec, event: &serde_json::Value) -> Result<Invocation> {
    let event = serde_json::to_vec(event).map_err(|e| {
        anyhow::anyhow!(
            "cannot encode the invocation event as JSON (a bug: events are built from JSON values): {e}"
        )
    })?;
    let mut instance = Instance::start(spec, LogSink::Keep).await?;
    let ended = instance.invoke(event, spec.timeout).await;
    instance.stop().await;
    Ok(Invocation {
        request_id: ended.request_id,
        outcome: ended.outcome,
        duration_ms: millis(ended.duration),
        logs: ended.logs,
    })
}

pub(super) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
