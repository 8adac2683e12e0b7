//! Waits for a stack operation to end, showing its events as they come. Polls with backoff and
//! jitter (`DescribeStacks` throttles around 5 requests/s per account); a throttled poll is retried,
//! never fatal.

use std::time::{Duration, Instant};

use crate::aws::CloudFormation as Client;
use anyhow::{Result, bail};

use super::progress::Progress;
use super::state::outcome;
use crate::aws::cfn::{self, StackEvent};

/// How a waited-for operation ended.
#[derive(Debug, Clone)]
pub struct Finished {
    pub status: String,
    pub ok: bool,
    /// The first failed event of this operation: the root cause.
    pub first_failure: Option<StackEvent>,
    pub elapsed: Duration,
}

/// Polls until the stack leaves `*_IN_PROGRESS` (or is gone, for a delete).
pub async fn until_done(
    cfn: &Client,
    stack: &str,
    since: Option<String>,
    progress: &Progress,
) -> Result<Finished> {
    let started = Instant::now();
    let mut seen = since;
    let mut delay = Duration::from_millis(250);
    let mut first_failure = None;
    loop {
        if let Some(events) = cfn::events_since(cfn, stack, seen.as_deref()).await? {
            for event in events {
                if first_failure.is_none() && event.status.ends_with("_FAILED") {
                    first_failure = Some(event.clone());
                }
                progress.event(&event, started.elapsed());
                seen = Some(event.id);
            }
        }
        let status = current_status(cfn, stack).await?;
        if let Some(ok) = outcome(&status) {
            return Ok(Finished {
                status,
                ok,
                first_failure,
                elapsed: started.elapsed(),
            });
        }
        if started.elapsed() > Duration::from_hours(3) {
            bail!("{stack} is still {status} after 3 hours; see its events in the console");
        }
        progress.tick(&status, started.elapsed());
        tokio::time::sleep(jittered(delay)).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// The stack's status; a deleted stack is `DELETE_COMPLETE`, a throttled answer
/// `THROTTLED_IN_PROGRESS` (still waiting).
async fn current_status(cfn: &Client, stack: &str) -> Result<String> {
    match cfn::describe(cfn, stack).await {
        Ok(Some(s)) => Ok(s.status),
        Ok(None) => Ok("DELETE_COMPLETE".to_owned()),
        Err(err)
            if err.to_string().contains("Throttl") || err.to_string().contains("Rate exceeded") =>
        {
            Ok("THROTTLED_IN_PROGRESS".to_owned())
        }
        Err(err) => Err(err),
    }
}

/// Between 50 % and 100 % of `delay`, so that several deployers do not poll in step.
fn jittered(delay: Duration) -> Duration {
    let nanos = u64::try_from(delay.as_nanos()).unwrap_or(u64::MAX);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    Duration::from_nanos(nanos / 2 + seed % (nanos / 2).max(1))
}
