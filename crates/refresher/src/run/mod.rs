//! The run engine (DESIGN §5): lock each provider, find its due tokens, claim each one and refresh
//! it under the provider's rate limit and concurrency, write it back with a version check (which
//! clears the claim), signal outcomes.
//!
//! Each provider has its own lock, so runs of different schedules (and a CI fallback that names
//! every provider) never skip each other: a run refreshes the providers it could lock and reports
//! the others in `locked`. What keeps a refresh token from being spent twice is the per-token
//! claim, taken before the provider call, which on-demand refreshes take too.
//!
//! Everything outside the process goes through a seam held in [`Deps`]: [`TokenStore`],
//! [`KeySource`], [`Transport`], [`Signals`] and a [`LineSink`] for the metrics, so the engine is
//! tested with in-memory fakes under tokio's paused clock. Per-token work lives in `token`
//! (provider calls and retries) and `outcome` (writes, recovery, signals); `gate` holds each
//! provider's token bucket and concurrency slots.
//!
//! A token's failure never fails the run: it becomes a result. The run fails only when it cannot
//! start (unknown provider in the input, the lock unreadable).

pub(crate) mod claim;
#[cfg(test)]
pub(crate) mod fakes;
pub(crate) mod gate;
#[cfg(test)]
mod growth_bench;
pub(crate) mod outcome;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_faults;
#[cfg(test)]
mod throughput_bench;
pub(crate) mod token;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;

use crate::clock::Clock;
use crate::config::{Config, Credentials};
use crate::crypto::{KeyCache, KeySource};
use crate::events::Signals;
use crate::http::Transport;
use crate::metrics::{LineSink, ProviderStats, emf_line, emf_unusable_line};
use crate::retry::{Backoff, start_jitter};
use crate::store::{DueToken, StoreError, TokenStore};

use gate::ProviderRun;

/// Everything a run needs, built once per cold start.
pub struct Deps {
    pub config: Config,
    pub credentials: Credentials,
    pub store: Arc<dyn TokenStore>,
    pub keys: Arc<dyn KeySource>,
    pub transport: Arc<dyn Transport>,
    pub signals: Arc<dyn Signals>,
    pub metrics: Arc<dyn LineSink>,
    /// The analytics table read back, for the token API's `status` action.
    pub analytics: Arc<dyn crate::analytics::AnalyticsSource>,
}

/// The invocation's input: `{"providers": [...], "dryRun": false}`; empty means all configured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RunInput {
    pub providers: Vec<String>,
    pub dry_run: bool,
}

/// Knobs of one run that do not come from the environment.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    pub clock: Clock,
    /// Epoch milliseconds when the Lambda is stopped (its context's deadline).
    pub deadline_ms: Option<u64>,
    /// No new refresh starts when less than this is left before the deadline.
    pub safety_margin: Duration,
    pub backoff: Backoff,
    /// Lease of the provider locks and the token claims when there is no deadline.
    pub default_lease: Duration,
}

impl RunOptions {
    /// For one token API request: the schedule's options with a 3 s margin, as the function's
    /// timeout is short (an app waits for the answer).
    pub fn for_request(deadline_ms: Option<u64>) -> Self {
        Self {
            safety_margin: Duration::from_secs(3),
            ..Self::new(deadline_ms)
        }
    }

    /// System clock, the given deadline, 20 s margin, default backoff.
    pub fn new(deadline_ms: Option<u64>) -> Self {
        Self {
            clock: Clock::system(),
            deadline_ms,
            safety_margin: Duration::from_secs(20),
            backoff: Backoff::default(),
            default_lease: Duration::from_mins(15),
        }
    }
}

/// What happened to one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Refreshed,
    Failed,
    Skipped,
    NeedsReauth,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Refreshed => "refreshed",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::NeedsReauth => "needs_reauth",
        }
    }
}

/// One token's result (ids and a reason code; never a token value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenResult {
    pub user_id: String,
    pub platform: String,
    pub outcome: Outcome,
    pub reason: String,
}

/// A completed run's summary, the function's response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSummary {
    /// False when a provider's due tokens could not be listed, or when a token set was lost and
    /// the run stopped starting refreshes (`store_unavailable` results).
    pub ok: bool,
    pub run_id: String,
    pub dry_run: bool,
    pub refreshed: u64,
    pub failed: u64,
    pub skipped: u64,
    pub needs_reauth: u64,
    pub missing_expiration: u64,
    /// Providers of the input another run was refreshing (their locks were held): not refreshed
    /// by this run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locked: Vec<String>,
    /// Providers that could not run at all (no usable credentials), each with its problem and
    /// fix; the others ran. Makes the run not `ok`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unusable: Vec<UnusableProvider>,
    /// One result per token, those that did not refresh first, at most [`MAX_RESULTS`].
    pub results: Vec<TokenResult>,
    /// Results left out of `results` (all of them refreshed ones, unless more than
    /// [`MAX_RESULTS`] tokens failed or were skipped).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub results_omitted: u64,
}

/// A provider of the run that could not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnusableProvider {
    pub provider: String,
    /// What is wrong and the command that fixes it (never a value).
    pub problem: String,
}

/// Results kept in the response. Lambda refuses a response over 6 MB, and one result is about 80
/// bytes: 100,000 due tokens would not fit (`run::growth_bench`). The counts stay complete; the
/// analytics table and the events hold every token's outcome.
pub const MAX_RESULTS: usize = 1_000;

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The function's response: a summary, or `{"ok":true,"skipped":"locked"}` when every provider
/// of the input was locked by another run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RunResponse {
    Locked { ok: bool, skipped: String },
    Completed(RunSummary),
}

/// A run that could not start. Messages never hold secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error(
        "the input is not a run's input ({0}); it looks like {{\"providers\": [\"tiktok\"], \"dryRun\": false}}"
    )]
    BadInput(String),
    #[error("unknown provider `{name}` in the input: configured are {configured}")]
    UnknownProvider { name: String, configured: String },
    #[error("the lock of provider `{provider}` could not be taken: {error}")]
    Lock { provider: String, error: String },
    /// A `token.refresh-requested` event's refresh did not happen, for a reason a retry may
    /// overcome (`BUSY`, `UNAVAILABLE`, a transient provider failure).
    #[error("the requested refresh did not happen ({code}): {message}")]
    RequestNotDone { code: &'static str, message: String },
}

impl RunError {
    /// Worth a retry by Lambda's async invocation (a bad input is not).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Lock { .. } | Self::RequestNotDone { .. })
    }
}

/// One run's shared state.
pub(crate) struct Run {
    pub(crate) deps: Arc<Deps>,
    pub(crate) keys: KeyCache<Arc<dyn KeySource>>,
    pub(crate) options: RunOptions,
    /// Short random id: the owner of its locks and claims, in analytics sort keys and logs.
    pub(crate) id: String,
    pub(crate) dry: bool,
    /// Set when a token set could be neither written nor queued for recovery: no new provider
    /// call starts after that in this run, so an outage of the table and the queue loses at most
    /// the refreshes already in flight, not every due token.
    pub(crate) halted: AtomicBool,
}

impl Run {
    /// A run (or one token API request) over `deps`, with a fresh id and key cache.
    pub(crate) fn new(deps: Arc<Deps>, options: RunOptions, dry: bool) -> Self {
        Self {
            keys: KeyCache::new(Arc::clone(&deps.keys)),
            deps,
            options,
            id: format!("{:08x}", rand::random::<u32>()),
            dry,
            halted: AtomicBool::new(false),
        }
    }

    pub(crate) fn now(&self) -> u64 {
        self.options.clock.now()
    }

    /// Whether a new refresh may still start.
    pub(crate) fn has_time(&self) -> bool {
        self.has_time_for(Duration::ZERO)
    }

    /// Whether waiting `wait` still leaves the safety margin before the deadline.
    pub(crate) fn has_time_for(&self, wait: Duration) -> bool {
        let margin = self.options.safety_margin.saturating_add(wait);
        let margin = u64::try_from(margin.as_millis()).unwrap_or(u64::MAX);
        self.options
            .deadline_ms
            .is_none_or(|deadline| self.options.clock.now_ms().saturating_add(margin) < deadline)
    }

    /// When this run's locks and claims lapse: 30 s after the Lambda's deadline (nothing of this
    /// run can still be sending then), or the default lease from now without a deadline.
    pub(crate) fn lease_until(&self) -> u64 {
        match self.options.deadline_ms {
            Some(deadline) => deadline / 1000 + 30,
            None => self.now() + self.options.default_lease.as_secs(),
        }
    }

    /// Milliseconds left before the safety margin, if there is a deadline.
    fn budget_ms(&self) -> Option<u64> {
        let margin = u64::try_from(self.options.safety_margin.as_millis()).unwrap_or(u64::MAX);
        let deadline = self.options.deadline_ms?;
        Some(deadline.saturating_sub(self.options.clock.now_ms().saturating_add(margin)))
    }
}

/// Runs once: see the module docs.
pub async fn run(
    deps: Arc<Deps>,
    input: RunInput,
    options: RunOptions,
) -> Result<RunResponse, RunError> {
    let names = selected(&deps.config, &input)?;
    let run = Arc::new(Run::new(deps, options, input.dry_run));
    jitter(&run).await;
    let (names, locked) = if run.dry {
        (names, Vec::new())
    } else {
        take_locks(&run, names).await?
    };
    if names.is_empty() {
        tracing::info!(event = "run_skipped_locked", run_id = %run.id, providers = ?locked);
        return Ok(RunResponse::Locked {
            ok: true,
            skipped: "locked".to_owned(),
        });
    }
    let mut summary = refresh_all(&run, &names).await;
    summary.locked = locked;
    if !run.dry {
        release_locks(&run, &names).await;
    }
    Ok(RunResponse::Completed(summary))
}

fn selected(config: &Config, input: &RunInput) -> Result<Vec<String>, RunError> {
    if input.providers.is_empty() {
        return Ok(config.providers.keys().cloned().collect());
    }
    let mut names = Vec::new();
    for name in &input.providers {
        if config.provider(name).is_none() {
            let configured: Vec<&str> = config.providers.keys().map(String::as_str).collect();
            return Err(RunError::UnknownProvider {
                name: name.clone(),
                configured: configured.join(", "),
            });
        }
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    Ok(names)
}

/// Waits up to `JITTER_SECONDS` (at most a quarter of the time budget) so ticks do not align.
async fn jitter(run: &Run) {
    let mut max = Duration::from_secs(run.deps.config.jitter_seconds);
    if let Some(budget) = run.budget_ms() {
        max = max.min(Duration::from_millis(budget / 4));
    }
    let wait = start_jitter(max, &mut rand::rng());
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
}

/// Takes each provider's lock: the providers this run refreshes, and those another run holds.
/// A lock that cannot be read fails the run (after releasing the ones taken): Lambda retries it.
async fn take_locks(run: &Run, names: Vec<String>) -> Result<(Vec<String>, Vec<String>), RunError> {
    let (mut mine, mut held) = (Vec::new(), Vec::new());
    for name in names {
        match run
            .deps
            .store
            .lock(&name, &run.id, run.now(), run.lease_until())
            .await
        {
            Ok(true) => mine.push(name),
            Ok(false) => held.push(name),
            Err(err) => {
                release_locks(run, &mine).await;
                return Err(RunError::Lock {
                    provider: name,
                    error: err.to_string(),
                });
            }
        }
    }
    Ok((mine, held))
}

async fn release_locks(run: &Run, names: &[String]) {
    for name in names {
        if let Err(err) = run.deps.store.unlock(name, &run.id).await {
            tracing::warn!(event = "run_unlock_failed", run_id = %run.id, provider = %name, error = %err);
        }
    }
}

/// Attempts of a provider's due Query: a failure costs the provider its whole run.
const DUE_ATTEMPTS: u32 = 3;

/// The provider's due tokens; a Query that failed (throttled, a dropped connection) is tried
/// again, a malformed row is not.
async fn due(run: &Run, name: &str, before: u64) -> Result<Vec<DueToken>, StoreError> {
    let mut tries = 0;
    loop {
        tries += 1;
        match run.deps.store.due(name, before).await {
            Err(StoreError::Failed(err)) if tries < DUE_ATTEMPTS => {
                tracing::warn!(event = "due_query_retry", provider = %name, attempt = tries, error = %err);
                tokio::time::sleep(Duration::from_millis(200 * u64::from(tries))).await;
            }
            other => return other,
        }
    }
}

/// Queries every provider, refreshes what is due, emits the metrics and builds the summary.
async fn refresh_all(run: &Arc<Run>, names: &[String]) -> RunSummary {
    let started_ms = run.options.clock.now_ms();
    let mut ok = true;
    let mut tasks = JoinSet::new();
    let mut stats: BTreeMap<String, ProviderStats> = BTreeMap::new();
    let mut results = Vec::new();
    let mut unusable = Vec::new();
    for name in names {
        if let Some(problem) = run.deps.credentials.unusable().get(name) {
            unusable.push(report_unusable(run, name, problem));
            continue;
        }
        stats.insert(name.clone(), ProviderStats::default());
        let Some(provider) = ProviderRun::new(run, name) else {
            continue;
        };
        let before = run.now() + provider.window_seconds;
        let rows = match due(run, name, before).await {
            Ok(rows) => rows,
            Err(err) => {
                // No `RunCompleted` for this provider: its no-successful-run alarm must see it.
                tracing::error!(event = "due_query_failed", provider = %name, error = %err);
                stats.remove(name);
                ok = false;
                continue;
            }
        };
        tracing::info!(event = "due_tokens", provider = %name, count = rows.len());
        let provider = Arc::new(provider);
        for due in rows {
            let (run, provider) = (Arc::clone(run), Arc::clone(&provider));
            tasks.spawn(async move { token::process(&run, &provider, due).await });
        }
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(done) => {
                let entry = stats.entry(done.result.platform.clone()).or_default();
                done.count(entry, run.options.clock.now_ms().saturating_sub(started_ms));
                results.push(done.result);
            }
            Err(err) => {
                tracing::error!(event = "token_task_panicked", error = %err);
                ok = false;
            }
        }
    }
    let mut summary = summarize(run, ok && unusable.is_empty(), &stats, results);
    summary.unusable = unusable;
    summary
}

/// Logs and counts a provider that cannot run (`provider_unusable`, its own metric and alarm).
fn report_unusable(run: &Run, name: &str, problem: &str) -> UnusableProvider {
    tracing::error!(event = "provider_unusable", provider = %name, problem = %problem);
    if !run.dry {
        let config = &run.deps.config;
        let now_ms = run.options.clock.now_ms();
        let line = emf_unusable_line(&config.metrics_namespace, &config.stage, name, now_ms);
        run.deps.metrics.write_line(&line);
    }
    UnusableProvider {
        provider: name.to_owned(),
        problem: problem.to_owned(),
    }
}

fn summarize(
    run: &Run,
    ok: bool,
    stats: &BTreeMap<String, ProviderStats>,
    mut results: Vec<TokenResult>,
) -> RunSummary {
    let config = &run.deps.config;
    let now_ms = run.options.clock.now_ms();
    let mut total = ProviderStats::default();
    for (provider, s) in stats {
        if !run.dry {
            let line = emf_line(
                &config.metrics_namespace,
                &config.stage,
                provider,
                s,
                now_ms,
            );
            run.deps.metrics.write_line(&line);
        }
        total.refreshed += s.refreshed;
        total.failed += s.failed;
        total.skipped += s.skipped;
        total.needs_reauth += s.needs_reauth;
        total.missing_expiration += s.missing_expiration;
    }
    // What needs a look first (failures, re-auth, skips), then by provider and user.
    results.sort_by(|a, b| {
        let refreshed = |r: &TokenResult| r.outcome == Outcome::Refreshed;
        (refreshed(a), &a.platform, &a.user_id).cmp(&(refreshed(b), &b.platform, &b.user_id))
    });
    let results_omitted = results.len().saturating_sub(MAX_RESULTS) as u64;
    results.truncate(MAX_RESULTS);
    tracing::info!(
        event = "run_completed", run_id = %run.id, refreshed = total.refreshed,
        failed = total.failed, skipped = total.skipped, needs_reauth = total.needs_reauth,
    );
    RunSummary {
        ok: ok && !run.halted.load(Ordering::SeqCst),
        run_id: run.id.clone(),
        dry_run: run.dry,
        refreshed: total.refreshed,
        failed: total.failed,
        skipped: total.skipped,
        needs_reauth: total.needs_reauth,
        missing_expiration: total.missing_expiration,
        locked: Vec::new(),
        unusable: Vec::new(),
        results,
        results_omitted,
    }
}

/// A token's result and what it adds to the provider's counters.
pub(crate) struct Done {
    pub(crate) result: TokenResult,
    pub(crate) missing_expiration: bool,
    /// Provider requests sent for this token.
    pub(crate) attempts: u32,
}

impl Done {
    pub(crate) fn count(&self, stats: &mut ProviderStats, elapsed_ms: u64) {
        match self.result.outcome {
            Outcome::Refreshed => stats.refreshed += 1,
            Outcome::Failed => stats.failed += 1,
            Outcome::Skipped => stats.skipped += 1,
            Outcome::NeedsReauth => stats.needs_reauth += 1,
        }
        stats.missing_expiration += u64::from(self.missing_expiration);
        stats.token_sets_lost += u64::from(self.result.reason == outcome::TOKEN_SET_LOST);
        stats.duration_ms = stats.duration_ms.max(elapsed_ms);
    }
}
