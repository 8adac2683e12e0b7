//! `CloudWatch` reads for the drift check: an alarm, shaped like the template's
//! `AWS::CloudWatch::Alarm` properties.

use anyhow::Result;
use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
use serde_json::{Value, json};

use super::describe_error;

/// The metric alarm of that name, or `None` when `CloudWatch` has none.
pub async fn alarm(client: &Client, name: &str) -> Result<Option<Value>> {
    let out = client
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
