//! How the refresher is doing, per provider, over a window: refreshed, failed and needs-reauth
//! counts, the last successful refresh, tokens due in the next 24 h and tokens already expired,
//! and the most common failure reasons. One implementation for `deployer status --json` and the
//! token API's `status` action (docs/token-api.md), so an app's status page shows the operators'
//! figures. Never a token value: the analytics records hold outcomes and reasons, the `byExpiry`
//! index keys and expiries.
//!
//! The refresher keeps no run record (a run's summary is only its response and its log): the last
//! successful run is derived from the newest `refreshed` analytics record, and the report says so.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::analytics::{AnalyticsError, AnalyticsRecord, AnalyticsSource};
use crate::clock::rfc3339;
use crate::store::{DueToken, StoreError, TokenStore};

const DAY: u64 = 86_400;
const TOP_REASONS: usize = 5;

/// Where the last run comes from, said in every output that shows it.
pub const RUN_SOURCE: &str =
    "derived from the newest `refreshed` analytics record; the refresher keeps no run record";

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StatusReport {
    pub stage: String,
    pub now: u64,
    /// The window, as given (`24h`), and its start.
    pub since: String,
    pub from: String,
    pub providers: Vec<ProviderStatus>,
    pub last_successful_run: Option<Success>,
    pub last_run_source: &'static str,
    /// Reasons of `failed` and `needs_reauth` records in the window, most common first.
    pub top_failure_reasons: Vec<ReasonCount>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ProviderStatus {
    pub provider: String,
    pub refreshed: usize,
    pub failed: usize,
    pub needs_reauth: usize,
    pub last_success: Option<Success>,
    /// Tokens whose access token expires within the next 24 h (not yet expired).
    pub due_24h: usize,
    /// Tokens whose access token has expired.
    pub expired: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Success {
    pub at: u64,
    pub time: String,
    pub run_id: String,
    pub provider: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReasonCount {
    pub reason: String,
    pub count: usize,
}

/// A read the report needs failed.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error(transparent)]
    Analytics(#[from] AnalyticsError),
    #[error("cannot query the due tokens of {provider}: {error}")]
    Tokens { provider: String, error: StoreError },
}

/// The window to report: its label (`24h`), its start and now, epoch seconds.
#[derive(Debug, Clone)]
pub struct Window {
    pub label: String,
    pub from: u64,
    pub now: u64,
}

/// What was read for one provider.
pub struct Fetched {
    pub records: Vec<AnalyticsRecord>,
    pub last_success: Option<AnalyticsRecord>,
    pub tokens: Vec<DueToken>,
}

/// Reads each provider's window and due tokens, and builds the report.
pub async fn report(
    analytics: &dyn AnalyticsSource,
    store: &dyn TokenStore,
    stage: &str,
    providers: &[String],
    window: &Window,
) -> Result<StatusReport, StatusError> {
    let mut fetched = Vec::new();
    for provider in providers {
        fetched.push((
            provider.as_str(),
            fetch(analytics, store, provider, window).await?,
        ));
    }
    Ok(build(stage, window, &fetched))
}

async fn fetch(
    analytics: &dyn AnalyticsSource,
    store: &dyn TokenStore,
    provider: &str,
    window: &Window,
) -> Result<Fetched, StatusError> {
    let records = analytics.since(provider, window.from).await?;
    let last_success = match records
        .iter()
        .filter(|r| r.outcome == "refreshed")
        .max_by_key(|r| r.at)
    {
        Some(found) => Some(found.clone()),
        None => analytics.newest(provider, "refreshed").await?,
    };
    let tokens = store
        .due(provider, window.now.saturating_add(DAY))
        .await
        .map_err(|error| StatusError::Tokens {
            provider: provider.to_owned(),
            error,
        })?;
    Ok(Fetched {
        records,
        last_success,
        tokens,
    })
}

/// The report of what was read (pure).
pub fn build(stage: &str, window: &Window, fetched: &[(&str, Fetched)]) -> StatusReport {
    let providers: Vec<ProviderStatus> = fetched
        .iter()
        .map(|(name, f)| summarize(name, f, window.now))
        .collect();
    let records: Vec<&AnalyticsRecord> = fetched.iter().flat_map(|(_, f)| &f.records).collect();
    StatusReport {
        stage: stage.to_owned(),
        now: window.now,
        since: window.label.clone(),
        from: rfc3339(window.from),
        last_successful_run: providers
            .iter()
            .filter_map(|p| p.last_success.clone())
            .max_by_key(|s| s.at),
        providers,
        last_run_source: RUN_SOURCE,
        top_failure_reasons: top_reasons(&records),
    }
}

fn summarize(provider: &str, fetched: &Fetched, now: u64) -> ProviderStatus {
    let count = |outcome: &str| {
        fetched
            .records
            .iter()
            .filter(|r| r.outcome == outcome)
            .count()
    };
    let expired = |t: &&DueToken| t.expires_at.is_some_and(|at| at <= now);
    ProviderStatus {
        provider: provider.to_owned(),
        refreshed: count("refreshed"),
        failed: count("failed"),
        needs_reauth: count("needs_reauth"),
        last_success: fetched.last_success.as_ref().map(|r| Success {
            at: r.at,
            time: rfc3339(r.at),
            run_id: r.run_id.clone(),
            provider: provider.to_owned(),
        }),
        expired: fetched.tokens.iter().filter(expired).count(),
        due_24h: fetched.tokens.iter().filter(|t| !expired(t)).count(),
    }
}

/// Reasons of the records that are not `refreshed`, most common first (then by name), at most 5.
fn top_reasons(records: &[&AnalyticsRecord]) -> Vec<ReasonCount> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for record in records.iter().filter(|r| r.outcome != "refreshed") {
        *counts.entry(record.reason.as_str()).or_default() += 1;
    }
    let mut reasons: Vec<ReasonCount> = counts
        .into_iter()
        .map(|(reason, count)| ReasonCount {
            reason: reason.to_owned(),
            count,
        })
        .collect();
    reasons.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
    reasons.truncate(TOP_REASONS);
    reasons
}

#[cfg(test)]
mod tests {
    use crate::store::TokenStatus;

    use super::*;

    fn record(outcome: &str, reason: &str, at: u64) -> AnalyticsRecord {
        AnalyticsRecord {
            outcome: outcome.to_owned(),
            reason: reason.to_owned(),
            run_id: format!("run{at}"),
            at,
        }
    }

    fn token(expires_at: Option<u64>) -> DueToken {
        DueToken {
            user_id: "u".to_owned(),
            platform: "tiktok".to_owned(),
            expires_at,
            version: 1,
            status: TokenStatus::Active,
        }
    }

    #[test]
    fn a_provider_is_counted_by_outcome_and_expiry() {
        let fetched = Fetched {
            records: vec![
                record("refreshed", "ok", 10),
                record("refreshed", "ok", 30),
                record("failed", "malformed", 20),
                record("needs_reauth", "invalid_grant", 25),
            ],
            last_success: Some(record("refreshed", "ok", 30)),
            tokens: vec![token(Some(90)), token(Some(100)), token(Some(150))],
        };
        let status = summarize("tiktok", &fetched, 100);
        assert_eq!(
            (status.refreshed, status.failed, status.needs_reauth),
            (2, 1, 1)
        );
        assert_eq!((status.expired, status.due_24h), (2, 1));
        assert_eq!(status.last_success.unwrap().run_id, "run30");
    }

    #[test]
    fn failure_reasons_are_ranked_and_capped() {
        let mut records = vec![record("refreshed", "ok", 1)];
        for (reason, n) in [("a", 1), ("b", 3), ("c", 2), ("d", 1), ("e", 1), ("f", 1)] {
            records.extend((0..n).map(|_| record("failed", reason, 1)));
        }
        let refs: Vec<&AnalyticsRecord> = records.iter().collect();
        let top = top_reasons(&refs);
        let names: Vec<(&str, usize)> = top.iter().map(|r| (r.reason.as_str(), r.count)).collect();
        assert_eq!(names, [("b", 3), ("c", 2), ("a", 1), ("d", 1), ("e", 1)]);
    }

    #[test]
    fn the_last_successful_run_is_the_newest_of_all_providers() {
        let window = Window {
            label: "24h".to_owned(),
            from: 0,
            now: 100,
        };
        let fetched = |at| Fetched {
            records: vec![record("refreshed", "ok", at)],
            last_success: Some(record("refreshed", "ok", at)),
            tokens: vec![],
        };
        let report = build(
            "local",
            &window,
            &[("reddit", fetched(40)), ("tiktok", fetched(60))],
        );
        let last = report.last_successful_run.unwrap();
        assert_eq!((last.provider.as_str(), last.at), ("tiktok", 60));
        assert_eq!(report.last_run_source, RUN_SOURCE);
        assert_eq!(report.from, rfc3339(0));
    }
}
