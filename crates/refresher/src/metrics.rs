//! CloudWatch metrics as Embedded Metric Format log lines, one per provider per completed run.
//!
//! The function has no `cloudwatch:PutMetricData` permission: CloudWatch extracts metrics from
//! these lines in the function's log group. Namespace from `METRICS_NAMESPACE`, dimension sets
//! `[["Stage"], ["Stage", "Provider"]]`; `RunCompleted` is 1 per provider per completed run and
//! feeds the no-successful-run alarms. Lines go to a [`LineSink`] (stdout in Lambda).

use std::io::Write;
use std::sync::{Mutex, PoisonError};

use serde_json::{Value, json};

/// Counters of one provider in one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProviderStats {
    pub refreshed: u64,
    pub failed: u64,
    pub needs_reauth: u64,
    pub skipped: u64,
    pub missing_expiration: u64,
    /// Token sets a provider issued that could be neither stored nor queued for recovery.
    pub token_sets_lost: u64,
    /// Wall time spent on this provider's tokens, milliseconds.
    pub duration_ms: u64,
}

const METRICS: [(&str, &str); 7] = [
    ("Refreshed", "Count"),
    ("Failed", "Count"),
    ("NeedsReauth", "Count"),
    ("MissingExpiration", "Count"),
    ("TokenSetsLost", "Count"),
    ("Duration", "Milliseconds"),
    ("RunCompleted", "Count"),
];

/// The EMF line for one provider's share of a completed run.
pub fn emf_line(
    namespace: &str,
    stage: &str,
    provider: &str,
    stats: &ProviderStats,
    timestamp_ms: u64,
) -> String {
    line(namespace, stage, provider, stats, timestamp_ms, 1)
}

/// The EMF line for one token API request: its outcome counts like a run's (the failure,
/// re-auth and lost-set alarms see it), but it is not a run (`RunCompleted` 0).
pub fn emf_request_line(
    namespace: &str,
    stage: &str,
    provider: &str,
    stats: &ProviderStats,
    timestamp_ms: u64,
) -> String {
    line(namespace, stage, provider, stats, timestamp_ms, 0)
}

fn line(
    namespace: &str,
    stage: &str,
    provider: &str,
    stats: &ProviderStats,
    timestamp_ms: u64,
    run_completed: u64,
) -> String {
    let metrics: Vec<Value> = METRICS
        .iter()
        .map(|(name, unit)| json!({"Name": name, "Unit": unit}))
        .collect();
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["Stage"], ["Stage", "Provider"]],
                "Metrics": metrics,
            }],
        },
        "Stage": stage,
        "Provider": provider,
        "Refreshed": stats.refreshed,
        "Failed": stats.failed,
        "NeedsReauth": stats.needs_reauth,
        "MissingExpiration": stats.missing_expiration,
        "TokenSetsLost": stats.token_sets_lost,
        "Duration": stats.duration_ms,
        "RunCompleted": run_completed,
    })
    .to_string()
}

/// The EMF line of a provider that could not run at all (no usable credentials): its own metric,
/// `ProviderUnusable`, and no `RunCompleted`, so its no-successful-run alarm fires as well.
pub fn emf_unusable_line(
    namespace: &str,
    stage: &str,
    provider: &str,
    timestamp_ms: u64,
) -> String {
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["Stage"], ["Stage", "Provider"]],
                "Metrics": [{"Name": "ProviderUnusable", "Unit": "Count"}],
            }],
        },
        "Stage": stage,
        "Provider": provider,
        "ProviderUnusable": 1,
    })
    .to_string()
}

/// Where EMF lines are written.
pub trait LineSink: Send + Sync {
    fn write_line(&self, line: &str);
}

/// Standard output: Lambda sends it to the function's log group, where EMF is extracted.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stdout;

impl LineSink for Stdout {
    fn write_line(&self, line: &str) {
        // A failed write to stdout has nowhere better to be reported.
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }
}

/// Keeps lines in memory (tests and local runs).
#[derive(Debug, Default)]
pub struct Captured(Mutex<Vec<String>>);

impl Captured {
    /// The lines written so far.
    pub fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl LineSink for Captured {
    fn write_line(&self, line: &str) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_follows_the_emf_contract() {
        let stats = ProviderStats {
            refreshed: 3,
            failed: 1,
            duration_ms: 420,
            ..ProviderStats::default()
        };
        let line = emf_line(
            "OAuthRefresher",
            "prod",
            "tiktok",
            &stats,
            1_700_000_000_000,
        );
        let value: Value = serde_json::from_str(&line).unwrap();
        let directive = &value["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "OAuthRefresher");
        assert_eq!(
            directive["Dimensions"],
            json!([["Stage"], ["Stage", "Provider"]])
        );
        let units = [
            "Count",
            "Count",
            "Count",
            "Count",
            "Count",
            "Milliseconds",
            "Count",
        ];
        let expected: Vec<Value> = ["Refreshed", "Failed", "NeedsReauth", "MissingExpiration"]
            .iter()
            .chain(&["TokenSetsLost", "Duration", "RunCompleted"])
            .zip(units)
            .map(|(name, unit)| json!({"Name": name, "Unit": unit}))
            .collect();
        assert_eq!(directive["Metrics"], json!(expected));
        assert_eq!(value["_aws"]["Timestamp"], 1_700_000_000_000_u64);
        let keys = [
            "Refreshed",
            "Failed",
            "TokenSetsLost",
            "RunCompleted",
            "Stage",
            "Provider",
        ];
        let expected = [
            json!(3),
            json!(1),
            json!(0),
            json!(1),
            json!("prod"),
            json!("tiktok"),
        ];
        assert_eq!(keys.map(|k| value[k].clone()), expected);
    }
}
