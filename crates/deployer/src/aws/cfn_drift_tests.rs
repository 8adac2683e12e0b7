//! `CloudFormation` drift detection as real AWS answers it (the local stand-in answers HTTP 500),
//! replayed with aws-smithy-mocks from the documented response shapes.

use aws_sdk_cloudformation::config::http::HttpResponse;
use aws_sdk_cloudformation::operation::describe_stack_drift_detection_status::DescribeStackDriftDetectionStatusOutput;
use aws_sdk_cloudformation::operation::describe_stack_resource_drifts::DescribeStackResourceDriftsOutput;
use aws_sdk_cloudformation::operation::detect_stack_drift::DetectStackDriftOutput;
use aws_sdk_cloudformation::primitives::DateTime;
use aws_sdk_cloudformation::types::{
    DifferenceType, PropertyDifference, StackDriftStatus, StackResourceDriftStatus,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::body::SdkBody;

use super::*;
use aws_sdk_cloudformation::Client as SdkClient;

const STACK: &str = "OAuthRefreshStack-prod";

fn status(detection: StackDriftDetectionStatus) -> DescribeStackDriftDetectionStatusOutput {
    DescribeStackDriftDetectionStatusOutput::builder()
        .stack_id("arn:aws:cloudformation:us-east-1:123456789012:stack/OAuthRefreshStack-prod/1")
        .stack_drift_detection_id("d-1")
        .stack_drift_status(StackDriftStatus::Drifted)
        .detection_status(detection)
        .timestamp(DateTime::from_secs(0))
        .build()
}

fn resource(logical: &str, drift: &StackResourceDriftStatus) -> StackResourceDrift {
    let mut b = StackResourceDrift::builder()
        .stack_id("s")
        .logical_resource_id(logical)
        .resource_type("AWS::Lambda::Function")
        .stack_resource_drift_status(drift.clone())
        .timestamp(DateTime::from_secs(0));
    if *drift == StackResourceDriftStatus::Modified {
        b = b.property_differences(
            PropertyDifference::builder()
                .property_path("/MemorySize")
                .expected_value("256")
                .actual_value("512")
                .difference_type(DifferenceType::NotEqual)
                .build(),
        );
    }
    b.build()
}

#[tokio::test(start_paused = true)]
async fn detection_polls_until_complete_and_keeps_only_drifted_resources() {
    let start = mock!(SdkClient::detect_stack_drift).then_output(|| {
        DetectStackDriftOutput::builder()
            .stack_drift_detection_id("d-1")
            .build()
    });
    let poll = mock!(SdkClient::describe_stack_drift_detection_status)
        .sequence()
        .output(|| status(StackDriftDetectionStatus::DetectionInProgress))
        .output(|| status(StackDriftDetectionStatus::DetectionComplete))
        .build();
    let drifts = mock!(SdkClient::describe_stack_resource_drifts).then_output(|| {
        DescribeStackResourceDriftsOutput::builder()
            .stack_resource_drifts(resource(
                "RefresherFunction",
                &StackResourceDriftStatus::Modified,
            ))
            .stack_resource_drifts(resource("TokensTable", &StackResourceDriftStatus::InSync))
            .build()
    });
    let cfn = crate::aws::CloudFormation::from_sdk(mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&start, &poll, &drifts]
    ));
    let CfnDrift::Detected {
        stack_status,
        resources,
    } = detect(&cfn, STACK).await
    else {
        panic!("detection should have run");
    };
    assert_eq!(stack_status, "DRIFTED");
    assert_eq!(poll.num_calls(), 2);
    assert_eq!(resources.len(), 1);
    assert_eq!(resources[0].logical_id, "RefresherFunction");
    assert_eq!(resources[0].status, "MODIFIED");
    let d = &resources[0].differences[0];
    assert_eq!(
        (d.property.as_str(), d.expected.as_str(), d.actual.as_str()),
        ("/MemorySize", "256", "512")
    );
}

#[tokio::test(start_paused = true)]
async fn an_endpoint_without_detection_is_reported_not_fatal() {
    // moto 5.2.5 answers DetectStackDrift with a bare HTTP 500.
    let start = mock!(SdkClient::detect_stack_drift)
        .then_http_response(|| HttpResponse::new(500.try_into().unwrap(), SdkBody::from("")));
    let cfn = crate::aws::CloudFormation::from_sdk(mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&start]
    ));
    let CfnDrift::Unavailable { reason } = detect(&cfn, STACK).await else {
        panic!("a 500 must not count as a detection");
    };
    assert!(reason.contains("HTTP 500"), "{reason}");
}

#[tokio::test(start_paused = true)]
async fn a_partly_failed_detection_keeps_the_results_it_has() {
    let start = mock!(SdkClient::detect_stack_drift).then_output(|| {
        DetectStackDriftOutput::builder()
            .stack_drift_detection_id("d-1")
            .build()
    });
    let poll = mock!(SdkClient::describe_stack_drift_detection_status).then_output(|| {
        let mut out = status(StackDriftDetectionStatus::DetectionFailed);
        out.detection_status_reason = Some("Failed to detect drift on resource [Alarm]".into());
        out
    });
    let drifts = mock!(SdkClient::describe_stack_resource_drifts).then_output(|| {
        DescribeStackResourceDriftsOutput::builder()
            .stack_resource_drifts(resource("Fn", &StackResourceDriftStatus::Deleted))
            .build()
    });
    let cfn = crate::aws::CloudFormation::from_sdk(mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&start, &poll, &drifts]
    ));
    let CfnDrift::Detected {
        stack_status,
        resources,
    } = detect(&cfn, STACK).await
    else {
        panic!("the resources that were checked still count");
    };
    assert_eq!(
        stack_status,
        "DRIFTED (detection failed for some resources: Failed to detect drift on resource [Alarm])"
    );
    assert_eq!(resources[0].status, "DELETED");
}
