//! `CloudWatch` reads: an alarm shaped like the template's `AWS::CloudWatch::Alarm` properties
//! (for the drift check), the current state of alarms (for `deployer alarms`), and a function's
//! Lambda metrics over a window (for `deployer status`).

use super::CloudWatch as Client;
use anyhow::Result;
use aws_sdk_cloudwatch::primitives::DateTimeFormat;
use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue, Statistic};
use serde::Serialize;
use serde_json::{Value, json};

use super::describe_error;

/// The metric alarm of that name, or `None` when `CloudWatch` has none.
pub async fn alarm(client: &Client, name: &str) -> Result<Option<Value>> {
    let out = client
        .0
        .describe_alarms()
        .alarm_names(name)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("cannot describe alarm {name}: {}", describe_error(&e)))?;
    let Some(alarm) = out.metric_alarms().first() else {
        return Ok(None);
    };
    let dimensions: Vec<Value> = alarm
        .dimensions()
        .iter()
        .map(|d| json!({"Name": d.name(), "Value": d.value()}))
        .collect();
    Ok(Some(json!({
        "AlarmName": alarm.alarm_name(),
        "Namespace": alarm.namespace(),
        "MetricName": alarm.metric_name(),
        "Dimensions": dimensions,
        "Statistic": alarm.statistic().map(Statistic::as_str),
        "Period": alarm.period(),
        "EvaluationPeriods": alarm.evaluation_periods(),
        "DatapointsToAlarm": alarm.datapoints_to_alarm(),
        "Threshold": alarm.threshold(),
        "ComparisonOperator": alarm.comparison_operator().map(ComparisonOperator::as_str),
        "TreatMissingData": alarm.treat_missing_data(),
        "AlarmActions": alarm.alarm_actions(),
        "OKActions": alarm.ok_actions(),
    })))
}

/// Where an alarm stands now.
#[derive(Debug, Clone, Serialize)]
pub struct AlarmState {
    pub name: String,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    pub reason: Option<String>,
    /// When the state last changed (RFC 3339).
    pub updated: Option<String>,
}

/// `DescribeAlarms` takes at most 100 names a call.
const NAMES_PER_CALL: usize = 100;

/// The states of the metric alarms of these names that exist; names `CloudWatch` does not know
/// are left out (the caller reports them as missing).
pub async fn alarm_states(client: &Client, names: &[String]) -> Result<Vec<AlarmState>> {
    let mut states = Vec::new();
    for chunk in names.chunks(NAMES_PER_CALL) {
        let mut token = None;
        loop {
            let out = client.0
                .describe_alarms()
                .set_alarm_names(Some(chunk.to_vec()))
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "cannot describe the alarms {}: {}; check that the credentials allow cloudwatch:DescribeAlarms",
                        chunk.join(", "),
                        describe_error(&e)
                    )
                })?;
            states.extend(out.metric_alarms().iter().map(|a| {
                AlarmState {
                    name: a.alarm_name().unwrap_or_default().to_owned(),
                    state: a
                        .state_value()
                        .map_or("UNKNOWN", StateValue::as_str)
                        .to_owned(),
                    reason: a.state_reason().map(str::to_owned),
                    updated: a
                        .state_updated_timestamp()
                        .and_then(|t| t.fmt(DateTimeFormat::DateTime).ok()),
                }
            }));
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
    }
    Ok(states)
}

/// A function's Lambda metrics over a window (`AWS/Lambda`, dimension `FunctionName`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionFigures {
    pub invocations: u64,
    /// Invocations that crashed or timed out (an error answer of the token API is not one).
    pub errors: u64,
    /// Requests Lambda refused for want of concurrency.
    pub throttles: u64,
    /// Median and 99th percentile of the duration, in ms; `None` without invocations.
    pub duration_p50_ms: Option<f64>,
    pub duration_p99_ms: Option<f64>,
}

/// The queries of [`function_figures`]: id, metric, statistic.
const FIGURES: [(&str, &str, &str); 5] = [
    ("invocations", "Invocations", "Sum"),
    ("errors", "Errors", "Sum"),
    ("throttles", "Throttles", "Sum"),
    ("p50", "Duration", "p50"),
    ("p99", "Duration", "p99"),
];

/// `function`'s invocations, errors, throttles and duration percentiles over the `span_s`
/// seconds before `now_s`, in one `GetMetricData` call with one period as long as the window.
/// Should the window straddle two periods, the counts are summed and each percentile is the
/// higher of the two.
pub async fn function_figures(
    client: &Client,
    function: &str,
    now_s: u64,
    span_s: u64,
) -> Result<FunctionFigures> {
    use aws_sdk_cloudwatch::primitives::DateTime;
    let period = span_s.div_ceil(60).max(1) * 60;
    let seconds = |s: u64| DateTime::from_secs(i64::try_from(s).unwrap_or(i64::MAX));
    let out = client
        .0
        .get_metric_data()
        .set_metric_data_queries(Some(figure_queries(function, period)))
        .start_time(seconds(now_s.saturating_sub(period)))
        .end_time(seconds(now_s))
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot read the Lambda metrics of {function} (cloudwatch:GetMetricData): {}",
                describe_error(&e)
            )
        })?;
    let values = |id: &str| -> Vec<f64> {
        out.metric_data_results()
            .iter()
            .filter(|r| r.id() == Some(id))
            .flat_map(|r| r.values().iter().copied())
            .collect()
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // counts, never negative
    let count = |id: &str| values(id).iter().sum::<f64>().round() as u64;
    let highest = |id: &str| values(id).into_iter().reduce(f64::max);
    Ok(FunctionFigures {
        invocations: count("invocations"),
        errors: count("errors"),
        throttles: count("throttles"),
        duration_p50_ms: highest("p50"),
        duration_p99_ms: highest("p99"),
    })
}

fn figure_queries(function: &str, period: u64) -> Vec<aws_sdk_cloudwatch::types::MetricDataQuery> {
    use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat};
    let period = i32::try_from(period).unwrap_or(i32::MAX);
    FIGURES
        .iter()
        .map(|(id, metric, stat)| {
            let metric = Metric::builder()
                .namespace("AWS/Lambda")
                .metric_name(*metric)
                .dimensions(
                    Dimension::builder()
                        .name("FunctionName")
                        .value(function)
                        .build(),
                )
                .build();
            MetricDataQuery::builder()
                .id(*id)
                .metric_stat(
                    MetricStat::builder()
                        .metric(metric)
                        .period(period)
                        .stat(*stat)
                        .build(),
                )
                .return_data(true)
                .build()
        })
        .collect()
}

#[cfg(test)]
#[path = "cloudwatch_tests.rs"]
mod tests;
