//! `CloudWatch` reads: an alarm shaped like the template's `AWS::CloudWatch::Alarm` properties
//! (for the drift check), and the current state of alarms (for `deployer alarms`).

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

#[cfg(test)]
#[path = "cloudwatch_tests.rs"]
mod tests;
