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

#[tokio::test]
async fn a_functions_figures_come_from_one_get_metric_data_call() {
    use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
    use aws_sdk_cloudwatch::types::MetricDataResult;
    let result = |id: &str, values: &[f64]| {
        MetricDataResult::builder()
            .id(id)
            .set_values(Some(values.to_vec()))
            .build()
    };
    let data = mock!(SdkClient::get_metric_data)
        .match_requests(|r| {
            let queries = r.metric_data_queries();
            let stat = |i: usize| queries[i].metric_stat().unwrap();
            queries.len() == 5
                && stat(0).period() == Some(86_400)
                && stat(4).stat() == Some("p99")
                && stat(0).metric().unwrap().dimensions()[0].value() == Some("Api-dev")
                && r.start_time()
                    .map(aws_sdk_cloudwatch::primitives::DateTime::secs)
                    == Some(1_700_000_000 - 86_400)
        })
        .then_output(move || {
            GetMetricDataOutput::builder()
                // The window straddles two periods: counts add up, percentiles take the higher.
                .metric_data_results(result("invocations", &[40.0, 2.0]))
                .metric_data_results(result("errors", &[1.0]))
                .metric_data_results(result("throttles", &[]))
                .metric_data_results(result("p50", &[35.5, 30.0]))
                .metric_data_results(result("p99", &[120.0, 180.0]))
                .build()
        });
    let client = crate::aws::CloudWatch::from_sdk(mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::Sequential,
        [&data]
    ));
    let figures = function_figures(&client, "Api-dev", 1_700_000_000, 86_400)
        .await
        .unwrap();
    assert_eq!(data.num_calls(), 1);
    assert_eq!(
        figures,
        FunctionFigures {
            invocations: 42,
            errors: 1,
            throttles: 0,
            duration_p50_ms: Some(35.5),
            duration_p99_ms: Some(180.0),
        }
    );
}

#[tokio::test]
async fn no_invocations_have_no_duration() {
    use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataOutput;
    let data =
        mock!(SdkClient::get_metric_data).then_output(|| GetMetricDataOutput::builder().build());
    let client = crate::aws::CloudWatch::from_sdk(mock_client!(
        aws_sdk_cloudwatch,
        RuleMode::Sequential,
        [&data]
    ));
    let figures = function_figures(&client, "Api-dev", 1_700_000_000, 90)
        .await
        .unwrap();
    assert_eq!((figures.invocations, figures.duration_p99_ms), (0, None));
}
