//! Alarm states as real AWS answers them, replayed with aws-smithy-mocks: the SDK speaks CBOR to
//! `CloudWatch`, which the local stand-in (moto 5.2.5) answers with HTTP 404.

use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::MetricAlarm;
use aws_smithy_mocks::{RuleMode, mock, mock_client};

use super::*;
use aws_sdk_cloudwatch::Client as SdkClient;

fn alarm(name: &str, state: StateValue, reason: &str) -> MetricAlarm {
    MetricAlarm::builder()
        .alarm_name(name)
        .state_value(state)
        .state_reason(reason)
        .state_updated_timestamp(DateTime::from_secs(1_700_000_000))
        .build()
}

#[tokio::test]
async fn states_of_every_page_with_reason_and_time() {
    let pages = mock!(SdkClient::describe_alarms)
        .sequence()
        .output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(alarm("a-errors", StateValue::Alarm, "Threshold Crossed"))
                .next_token("page-2")
                .build()
        })
        .output(|| {
            DescribeAlarmsOutput::builder()
                .metric_alarms(alarm("a-throttles", StateValue::Ok, "fine"))
                .build()
        })
        .build();
    let client = crate::aws::CloudWatch::from_sdk(mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::Sequential,
        [&pages]
    ));
    let names = ["a-errors", "a-throttles", "a-missing"].map(str::to_owned);
    let states = alarm_states(&client, &names).await.unwrap();
    assert_eq!(pages.num_calls(), 2);
    let got: Vec<(&str, &str, Option<&str>, Option<&str>)> = states
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.state.as_str(),
                s.reason.as_deref(),
                s.updated.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "a-errors",
                "ALARM",
                Some("Threshold Crossed"),
                Some("2023-11-14T22:13:20Z")
            ),
            (
                "a-throttles",
                "OK",
                Some("fine"),
                Some("2023-11-14T22:13:20Z")
            ),
        ]
    );
}

#[tokio::test]
async fn more_than_a_hundred_names_take_more_than_one_call() {
    let empty = mock!(SdkClient::describe_alarms)
        .match_requests(|r| r.alarm_names().len() <= NAMES_PER_CALL)
        .then_output(|| DescribeAlarmsOutput::builder().build());
    let client = crate::aws::CloudWatch::from_sdk(mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::MatchAny,
        [&empty]
    ));
    let names: Vec<String> = (0..150).map(|i| format!("alarm-{i}")).collect();
    assert!(alarm_states(&client, &names).await.unwrap().is_empty());
    assert_eq!(empty.num_calls(), 2);
}
