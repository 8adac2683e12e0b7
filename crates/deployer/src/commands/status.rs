//! `deployer status --stage S [--since 24h]`: how the refresher is doing, per provider: refreshed,
//! failed and needs-reauth counts over the window, the last successful refresh, tokens due in the
//! next 24 h and tokens already expired, and the most common failure reasons. The figures are
//! `refresher::status`'s, the same the token API's `status` action answers; this module reads
//! them with the caller's credentials and prints them.
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

use std::fmt;

use anyhow::{Context, Result};
use refresher::clock::Clock;
use refresher::status::{self, ProviderStatus, StatusReport, Window};
use serde::Serialize;

use super::Ctx;
use crate::aws::Aws;
use crate::aws::cloudwatch::{self, FunctionFigures};
use crate::cli::StatusArgs;
use crate::stage::{Stage, duration};
use crate::template::context::EXPIRY_INDEX;
use crate::{Status, output};

/// The shared report, printed: `--json` as it is (plus the token API's metrics), else as a table.
#[derive(Debug, Serialize)]
struct Shown {
    #[serde(flatten)]
    report: StatusReport,
    /// The token API's Lambda metrics over the window, when the stage has the token API. Only
    /// here: the token API's own `status` answer does not read `CloudWatch`.
    #[serde(skip_serializing_if = "Option::is_none")]
    token_api: Option<TokenApiFigures>,
}

/// The token API's invocations, errors, throttles and latency, or why they could not be read.
#[derive(Debug, Serialize)]
struct TokenApiFigures {
    function: String,
    #[serde(flatten)]
    figures: Option<FunctionFigures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unavailable: Option<String>,
}

pub(super) async fn run(args: &StatusArgs, ctx: &Ctx) -> Result<Status> {
    let stage = ctx.load_stage(&args.stage.stage)?;
    let window = window(&args.since)?;
    let aws = ctx.aws(&stage).await;
    let providers: Vec<String> = stage.providers.keys().cloned().collect();
    let report = status::report(
        &aws.analytics(&stage),
        &aws.token_store(&stage),
        &stage.name,
        &providers,
        &window,
    )
    .await
    .with_context(|| {
        format!(
            "cannot read the status of stage {} (the analytics table and the index {EXPIRY_INDEX}); is the stack deployed? (`deployer deploy --stage {}`)",
            stage.name, args.stage.stage
        )
    })?;
    if report.last_successful_run.is_none() {
        output::note(&format!(
            "no refreshed token is recorded for stage {}: run `deployer invoke --stage {}` to refresh what is due",
            stage.name, args.stage.stage
        ));
    }
    let token_api = token_api_figures(&aws, &stage, &window).await;
    ctx.printer.emit(&Shown { report, token_api })?;
    Ok(Status::Ok)
}

/// The token API's Lambda metrics over the window; a failed read (an endpoint without
/// `CloudWatch`, a role without `cloudwatch:GetMetricData`) is shown, not fatal.
async fn token_api_figures(aws: &Aws, stage: &Stage, window: &Window) -> Option<TokenApiFigures> {
    let api = stage.token_api.as_ref()?;
    let span = window.now.saturating_sub(window.from);
    let read = cloudwatch::function_figures(&aws.cloudwatch(), &api.name, window.now, span).await;
    Some(TokenApiFigures {
        function: api.name.clone(),
        unavailable: read.as_ref().err().map(|e| format!("{e:#}")),
        figures: read.ok(),
    })
}

/// The window `--since` names, ending now.
fn window(since: &str) -> Result<Window> {
    let span = duration::parse_duration(since).map_err(|e| anyhow::anyhow!("--since: {e}"))?;
    let now = Clock::system().now();
    Ok(Window {
        label: since.to_owned(),
        from: now.saturating_sub(span),
        now,
    })
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let report = &self.report;
        writeln!(
            f,
            "stage {}: outcomes of the last {} (since {})",
            report.stage, report.since, report.from
        )?;
        self.fmt_providers(f)?;
        self.fmt_last_run(f)?;
        self.fmt_failure_reasons(f)?;
        match &self.token_api {
            Some(api) => writeln!(f, "{api}"),
            None => Ok(()),
        }
    }
}

impl fmt::Display for TokenApiFigures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let function = &self.function;
        let Some(n) = &self.figures else {
            let why = self.unavailable.as_deref().unwrap_or("no answer");
            return write!(
                f,
                "token API {function}: Lambda metrics not available ({why})"
            );
        };
        let ms = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.0} ms"));
        write!(
            f,
            "token API {function}: {} invocation(s), {} error(s), {} throttle(s), duration p50 {}, p99 {}",
            n.invocations,
            n.errors,
            n.throttles,
            ms(n.duration_p50_ms),
            ms(n.duration_p99_ms)
        )
    }
}

impl Shown {
    /// One table row per provider: its counts and its last success.
    fn fmt_providers(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let report = &self.report;
        let rows: Vec<[String; 7]> = report
            .providers
            .iter()
            .map(|p| provider_row(p, report.now))
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
        output::write_table(f, header, &rows)
    }

    /// The last successful run, or that none is recorded, and where that comes from.
    fn fmt_last_run(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let report = &self.report;
        match &report.last_successful_run {
            Some(s) => writeln!(
                f,
                "last successful run: {} ({}), run {} ({}; {})",
                s.time,
                duration::relative(s.at, report.now),
                s.run_id,
                s.provider,
                report.last_run_source
            ),
            None => writeln!(
                f,
                "last successful run: none recorded ({})",
                report.last_run_source
            ),
        }
    }

    /// The most common failure reasons, or that there were none.
    fn fmt_failure_reasons(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reasons = &self.report.top_failure_reasons;
        if reasons.is_empty() {
            return writeln!(f, "no failures in the window");
        }
        writeln!(f, "most common failure reasons:")?;
        for r in reasons {
            writeln!(f, "  {:>5}  {}", r.count, r.reason)?;
        }
        Ok(())
    }
}

/// One provider's row: its counts, and its last success with how long ago it was.
fn provider_row(p: &ProviderStatus, now: u64) -> [String; 7] {
    let last = p.last_success.as_ref().map_or_else(
        || "never".to_owned(),
        |s| format!("{} ({})", s.time, duration::relative(s.at, now)),
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
}

#[cfg(test)]
mod tests {
    use refresher::clock::rfc3339;
    use refresher::status::{ProviderStatus, RUN_SOURCE, ReasonCount};

    use super::*;

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
            last_run_source: RUN_SOURCE,
            top_failure_reasons: vec![ReasonCount {
                reason: "invalid_grant".to_owned(),
                count: 1,
            }],
        };
        let report = Shown {
            report,
            token_api: Some(api(Some(figures()), None)),
        };
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["token_api"]["invocations"], 42, "{json}");
        assert_eq!(json["providers"][0]["provider"], "tiktok", "{json}");
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
        assert!(
            text.ends_with(
                "token API Api-local: 42 invocation(s), 1 error(s), 0 throttle(s), duration p50 35 ms, p99 -\n"
            ),
            "{text}"
        );
    }

    fn api(figures: Option<FunctionFigures>, unavailable: Option<&str>) -> TokenApiFigures {
        TokenApiFigures {
            function: "Api-local".to_owned(),
            figures,
            unavailable: unavailable.map(str::to_owned),
        }
    }

    fn figures() -> FunctionFigures {
        FunctionFigures {
            invocations: 42,
            errors: 1,
            throttles: 0,
            duration_p50_ms: Some(35.4),
            duration_p99_ms: None,
        }
    }

    #[test]
    fn token_api_figures_that_could_not_be_read_say_why() {
        let unread = api(
            None,
            Some("HTTP 404 (the endpoint may not implement this call)"),
        );
        assert_eq!(
            unread.to_string(),
            "token API Api-local: Lambda metrics not available (HTTP 404 (the endpoint may not \
             implement this call))"
        );
        let json = serde_json::to_value(&unread).unwrap();
        assert_eq!(
            json["unavailable"],
            "HTTP 404 (the endpoint may not implement this call)"
        );
        assert!(json.get("invocations").is_none(), "{json}");
    }
}
