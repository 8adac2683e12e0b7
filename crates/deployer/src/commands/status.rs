//! `deployer status --stage S [--since 24h]`: how the refresher is doing, per provider: refreshed,
//! failed and needs-reauth counts over the window, the last successful refresh, tokens due in the
//! next 24 h and tokens already expired, and the most common failure reasons. Never a token value:
//! the analytics records hold outcomes and reasons, the `byExpiry` index keys and expiries.
//!
//! **Reads.** The analytics table is keyed `pk = token.refresh#<platform>`, `sk = <RFC 3339
//! time>#<userId>#<run id>` (the refresher's `events::AnalyticsRow`), so the window of one provider
//! is a `Query` by key (`pk = :p AND sk >= :from`), never a `Scan`: the cost is the records of the
//! window, not of the table. Tokens come from the `byExpiry` index through the refresher's own
//! `DynamoStore::due`, bounded at `now + 24h`, as `deployer tokens list --due 24h` reads them.
//!
//! **Runs.** The refresher keeps no run record (a run's summary is only its response and its
//! log). The last successful run is therefore derived from the newest `refreshed` analytics
//! record, and the output says so. A run that found nothing due writes no record at all.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{Context, Result};
use refresher::clock::{Clock, rfc3339};
use refresher::store::{DueToken, TokenStore};
use serde::Serialize;

use refresher::events::AnalyticsRow;

use super::Ctx;
use crate::aws::Aws;
use crate::aws::dynamodb::{self, AnalyticsRecord};
use crate::cli::StatusArgs;
use crate::health::runs;
use crate::stage::{Stage, duration};
use crate::template::context::EXPIRY_INDEX;
use crate::{Status, output};

const DAY: u64 = 86_400;
const TOP_REASONS: usize = 5;

#[derive(Debug, Serialize)]
struct StatusReport {
    stage: String,
    now: u64,
    /// The window, as given (`24h`), and its start.
    since: String,
    from: String,
    providers: Vec<ProviderStatus>,
    last_successful_run: Option<Success>,
    last_run_source: &'static str,
    /// Reasons of `failed` and `needs_reauth` records in the window, most common first.
    top_failure_reasons: Vec<ReasonCount>,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
struct ProviderStatus {
    provider: String,
    refreshed: usize,
    failed: usize,
    needs_reauth: usize,
    last_success: Option<Success>,
    /// Tokens whose access token expires within the next 24 h (not yet expired).
    due_24h: usize,
    /// Tokens whose access token has expired.
    expired: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
struct Success {
    at: u64,
    time: String,
    run_id: String,
    provider: String,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
struct ReasonCount {
    reason: String,
    count: usize,
}

/// What was read for one provider.
struct Fetched {
    records: Vec<AnalyticsRecord>,
    last_success: Option<AnalyticsRecord>,
    tokens: Vec<DueToken>,
}

pub(super) async fn run(args: &StatusArgs, ctx: &Ctx) -> Result<Status> {
    let stage = ctx.load_stage(&args.stage.stage)?;
    let window =
        duration::parse_duration(&args.since).map_err(|e| anyhow::anyhow!("--since: {e}"))?;
    let now = Clock::system().now();
    let from = now.saturating_sub(window);
    let aws = ctx.aws(&stage).await;
    let mut providers = Vec::new();
    let mut reasons: Vec<AnalyticsRecord> = Vec::new();
    for name in stage.providers.keys() {
        let fetched = fetch(&aws, &stage, name, from, now).await?;
        reasons.extend(fetched.records.iter().cloned());
        providers.push(summarize(name, &fetched, now));
    }
    let last = providers
        .iter()
        .filter_map(|p| p.last_success.clone())
        .max_by_key(|s| s.at);
    if last.is_none() {
        output::note(&format!(
            "no refreshed token is recorded for stage {}: run `deployer invoke --stage {}` to refresh what is due",
            stage.name, args.stage.stage
        ));
    }
    ctx.printer.emit(&StatusReport {
        stage: stage.name.clone(),
        now,
        since: args.since.clone(),
        from: rfc3339(from),
        providers,
        last_successful_run: last,
        last_run_source: runs::RUN_SOURCE,
        top_failure_reasons: top_reasons(&reasons),
    })?;
    Ok(Status::Ok)
}

async fn fetch(aws: &Aws, stage: &Stage, provider: &str, from: u64, now: u64) -> Result<Fetched> {
    let client = aws.dynamodb();
    let table = &stage.tables.analytics.name;
    let pk = AnalyticsRow::partition(provider);
    let records = dynamodb::analytics_since(&client, table, &pk, &rfc3339(from)).await?;
    let last_success = match records
        .iter()
        .filter(|r| r.outcome == "refreshed")
        .max_by_key(|r| r.at)
    {
        Some(found) => Some(found.clone()),
        None => dynamodb::newest_analytics(&client, table, &pk, "refreshed").await?,
    };
    let store = aws.token_store(stage);
    let tokens = store.due(provider, now.saturating_add(DAY)).await.with_context(|| {
        format!(
            "cannot query the index {EXPIRY_INDEX} of {} for {provider}; is the stack deployed? (`deployer deploy --stage {}`)",
            stage.tables.tokens.name, stage.name
        )
    })?;
    Ok(Fetched {
        records,
        last_success,
        tokens,
    })
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
fn top_reasons(records: &[AnalyticsRecord]) -> Vec<ReasonCount> {
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

impl fmt::Display for StatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "stage {}: outcomes of the last {} (since {})",
            self.stage, self.since, self.from
        )?;
        let rows: Vec<[String; 7]> = self
            .providers
            .iter()
            .map(|p| {
                let last = p.last_success.as_ref().map_or_else(
                    || "never".to_owned(),
                    |s| format!("{} ({})", s.time, duration::relative(s.at, self.now)),
                );
                [
                    p.provider.clone(),
                    p.refreshed.to_string(),
                    p.failed.to_string(),
                    p.needs_reauth.to_string(),
                    last,
                    p.due_24h.to_string(),
                    p.expired.to_string(),
                ]
            })
            .collect();
        let header = [
            "PROVIDER",
            "REFRESHED",
            "FAILED",
            "NEEDS REAUTH",
            "LAST SUCCESS",
            "DUE 24H",
            "EXPIRED",
        ];
        output::write_table(f, header, &rows)?;
        match &self.last_successful_run {
            Some(s) => writeln!(
                f,
                "last successful run: {} ({}), run {} ({}; {})",
                s.time,
                duration::relative(s.at, self.now),
                s.run_id,
                s.provider,
                self.last_run_source
            )?,
            None => writeln!(
                f,
                "last successful run: none recorded ({})",
                self.last_run_source
            )?,
        }
        if self.top_failure_reasons.is_empty() {
            return writeln!(f, "no failures in the window");
        }
        writeln!(f, "most common failure reasons:")?;
        for r in &self.top_failure_reasons {
            writeln!(f, "  {:>5}  {}", r.count, r.reason)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use refresher::store::TokenStatus;

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
        let top = top_reasons(&records);
        let names: Vec<(&str, usize)> = top.iter().map(|r| (r.reason.as_str(), r.count)).collect();
        assert_eq!(names, [("b", 3), ("c", 2), ("a", 1), ("d", 1), ("e", 1)]);
    }

    #[test]
    fn the_report_says_where_the_run_comes_from() {
        let report = StatusReport {
            stage: "local".to_owned(),
            now: 200,
            since: "24h".to_owned(),
            from: rfc3339(0),
            providers: vec![ProviderStatus {
                provider: "tiktok".to_owned(),
                refreshed: 1,
                failed: 0,
                needs_reauth: 1,
                last_success: None,
                due_24h: 0,
                expired: 1,
            }],
            last_successful_run: None,
            last_run_source: runs::RUN_SOURCE,
            top_failure_reasons: vec![ReasonCount {
                reason: "invalid_grant".to_owned(),
                count: 1,
            }],
        };
        let text = report.to_string();
        assert!(
            text.contains("PROVIDER  REFRESHED  FAILED  NEEDS REAUTH"),
            "{text}"
        );
        assert!(
            text.contains("tiktok    1          0       1             never"),
            "{text}"
        );
        assert!(text.contains("the refresher keeps no run record"), "{text}");
        assert!(text.contains("      1  invalid_grant"), "{text}");
    }
}
