//! The checks of `verify` on the stage's data: each provider's recent successful run (from the
//! analytics records) and the tokens waiting for re-authorisation. Fetched here, decided by
//! `health::checks::runs`.

use anyhow::{Context, Result};
use refresher::analytics::AnalyticsSource;
use refresher::clock::Clock;
use refresher::store::{TokenStatus, TokenStore};

use crate::aws::Aws;
use crate::health::checks::Check;
use crate::health::checks::runs::{self, RunFacts};
use crate::stage::{Provider, Stage};
use crate::template::context;

/// Recent successful runs per provider and tokens waiting for re-authorisation.
///
/// The re-auth count reads each provider's whole `byExpiry` index (keys, status and expiry only:
/// what the index projects), as `deployer tokens list` without `--due` does.
pub(super) async fn checks(aws: &Aws, stage: &Stage, given: &str) -> Result<Vec<Check>> {
    let now = Clock::system().now();
    let analytics = aws.analytics(stage);
    let mut list = Vec::new();
    for provider in stage.providers.values() {
        let facts = run_facts(&analytics, stage, provider, now).await?;
        list.push(runs::recent_run(given, &facts, now));
    }
    let store = aws.token_store(stage);
    let mut reauth = Vec::new();
    for provider in stage.providers.keys() {
        let rows = store.due(provider, u64::MAX).await.with_context(|| {
            format!(
                "cannot query the index {} of {}",
                context::EXPIRY_INDEX,
                stage.tables.tokens.name
            )
        })?;
        reauth.extend(
            rows.into_iter()
                .filter(|r| r.status == TokenStatus::NeedsReauth)
                .map(|r| (r.platform, r.user_id)),
        );
    }
    list.push(runs::reauth(given, &reauth));
    Ok(list)
}

/// The provider's records within two schedule periods (plus start jitter), and its newest
/// `refreshed` record (looked further back only when the window has none).
async fn run_facts(
    analytics: &dyn AnalyticsSource,
    stage: &Stage,
    provider: &Provider,
    now: u64,
) -> Result<RunFacts> {
    let allowed_s = 2 * provider.schedule.max_gap_s() + u64::from(stage.function.jitter_seconds);
    let records = analytics
        .since(&provider.name, now.saturating_sub(allowed_s))
        .await?;
    let in_window = records
        .iter()
        .filter(|r| r.outcome == "refreshed")
        .map(|r| r.at)
        .max();
    let last_success = match in_window {
        Some(at) => Some(at),
        None => analytics
            .newest(&provider.name, "refreshed")
            .await?
            .map(|r| r.at),
    };
    Ok(RunFacts {
        provider: provider.name.clone(),
        allowed_s,
        last_success,
        failures: records.iter().filter(|r| r.outcome != "refreshed").count(),
    })
}
