//! The deploy paths real CloudFormation has and the local stand-in lacks (failed resources,
//! `ROLLBACK_COMPLETE`, `UPDATE_ROLLBACK_FAILED`, a replacement of the tokens table, throttled event
//! polls), each replayed from documented CloudFormation responses with aws-smithy-mocks.

use aws_sdk_cloudformation::Client as SdkClient;
use aws_sdk_cloudformation::error::ErrorMetadata;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::create_stack::CreateStackOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::{
    DescribeStackEventsError, DescribeStackEventsOutput,
};
use aws_sdk_cloudformation::operation::describe_stacks::{
    DescribeStacksError, DescribeStacksOutput,
};
use aws_sdk_cloudformation::operation::get_template::GetTemplateOutput;
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, Replacement, ResourceChange, ResourceStatus, Stack,
    StackEvent, StackStatus,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};

use super::{ArtifactReport, DeployOptions, apply};
use crate::stage::{self, Stage};
use crate::template::{self, Rendered};

fn local() -> (Stage, Rendered) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../stages/local.yaml");
    let stage = stage::load(&path).unwrap();
    let rendered = template::render(&stage).unwrap();
    (stage, rendered)
}

/// Applies the `local` stage through a (mocked) CloudFormation client.
async fn apply_local(cfn: &crate::aws::CloudFormation) -> anyhow::Result<super::DeployReport> {
    let (stage, rendered) = local();
    apply(
        cfn,
        &stage,
        &rendered,
        artifact(),
        [("ArtifactKey".to_owned(), artifact().key)].into(),
        "123456789012".into(),
        &DeployOptions {
            yes: true,
            allow_replace: false,
            plain: true,
        },
    )
    .await
}

fn artifact() -> ArtifactReport {
    ArtifactReport {
        bucket: "b".into(),
        key: "refresher/abc.zip".into(),
        sha256: "abc".into(),
        zip_bytes: 1,
        uploaded: false,
    }
}

fn stack(status: StackStatus) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(
            Stack::builder()
                .stack_name("OAuthRefreshStack-local")
                .stack_id(
                    "arn:aws:cloudformation:us-east-1:123456789012:stack/OAuthRefreshStack-local/1",
                )
                .stack_status(status)
                .creation_time(aws_sdk_cloudformation::primitives::DateTime::from_secs(0))
                .build(),
        )
        .build()
}

fn absent() -> DescribeStacksError {
    DescribeStacksError::generic(
        ErrorMetadata::builder()
            .code("ValidationError")
            .message("Stack with id OAuthRefreshStack-local does not exist")
            .build(),
    )
}

fn event(
    id: &str,
    logical: &str,
    kind: &str,
    status: ResourceStatus,
    reason: Option<&str>,
) -> StackEvent {
    StackEvent::builder()
        .event_id(id)
        .stack_id("s")
        .stack_name("OAuthRefreshStack-local")
        .logical_resource_id(logical)
        .resource_type(kind)
        .resource_status(status)
        .set_resource_status_reason(reason.map(Into::into))
        .timestamp(aws_sdk_cloudformation::primitives::DateTime::from_secs(0))
        .build()
}

#[tokio::test(start_paused = true)]
async fn a_failed_create_names_the_first_failed_resource_as_root_cause() {
    let describe = mock!(SdkClient::describe_stacks)
        .sequence()
        .error(absent)
        .output(|| stack(StackStatus::RollbackComplete))
        .build();
    let create = mock!(SdkClient::create_stack)
        .then_output(|| CreateStackOutput::builder().stack_id("s").build());
    // Newest first, as the API lists them: the table failed first, the rollback followed.
    let events = mock!(SdkClient::describe_stack_events).then_output(|| {
        DescribeStackEventsOutput::builder()
            .stack_events(event(
                "3",
                "OAuthRefreshStack-local",
                "AWS::CloudFormation::Stack",
                ResourceStatus::RollbackComplete,
                None,
            ))
            .stack_events(event(
                "2",
                "RefresherFunction",
                "AWS::Lambda::Function",
                ResourceStatus::CreateFailed,
                Some("Resource creation cancelled"),
            ))
            .stack_events(event(
                "1",
                "TokensTable",
                "AWS::DynamoDB::Table",
                ResourceStatus::CreateFailed,
                Some("huntaze-oauth-tokens already exists in stack arn:..."),
            ))
            .build()
    });
    let cfn = crate::aws::CloudFormation::from_sdk(mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &create, &events]
    ));
    let err = apply_local(&cfn).await.unwrap_err().to_string();
    assert!(
        err.contains("ended ROLLBACK_COMPLETE; root cause: TokensTable (AWS::DynamoDB::Table) CREATE_FAILED: huntaze-oauth-tokens already exists"),
        "{err}"
    );
    assert_eq!(create.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_dead_first_create_is_cleared_before_creating_again() {
    let describe = mock!(SdkClient::describe_stacks)
        .sequence()
        .output(|| stack(StackStatus::RollbackComplete)) // found dead
        .error(absent) // gone after the delete
        .output(|| stack(StackStatus::CreateComplete)) // the new create finished
        .output(|| stack(StackStatus::CreateComplete)) // read back for the outputs
        .build();
    let delete =
        mock!(SdkClient::delete_stack).then_output(|| DeleteStackOutput::builder().build());
    let create = mock!(SdkClient::create_stack)
        .then_output(|| CreateStackOutput::builder().stack_id("s").build());
    let events = mock!(SdkClient::describe_stack_events)
        .then_output(|| DescribeStackEventsOutput::builder().build());
    let cfn = crate::aws::CloudFormation::from_sdk(mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe, &delete, &create, &events]
    ));
    let report = apply_local(&cfn).await.unwrap();
    assert_eq!(report.action, "created");
    assert_eq!((delete.num_calls(), create.num_calls()), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn update_rollback_failed_gets_the_exact_remedy() {
    let describe =
        mock!(SdkClient::describe_stacks).then_output(|| stack(StackStatus::UpdateRollbackFailed));
    let cfn = crate::aws::CloudFormation::from_sdk(mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&describe]
    ));
    let err = apply_local(&cfn).await.unwrap_err().to_string();
    assert!(
        err.contains(
            "aws cloudformation continue-update-rollback --stack-name OAuthRefreshStack-local"
        ),
        "{err}"
    );
}

fn replacing_the_tokens_table() -> DescribeChangeSetOutput {
    let change = |id: &str, kind: &str, replacement: Replacement| {
        Change::builder()
            .resource_change(
                ResourceChange::builder()
                    .action(ChangeAction::Modify)
                    .logical_resource_id(id)
                    .resource_type(kind)
                    .replacement(replacement)
                    .build(),
            )
            .build()
    };
    DescribeChangeSetOutput::builder()
        .status(ChangeSetStatus::CreateComplete)
        .changes(change(
            "TokensTable",
            "AWS::DynamoDB::Table",
            Replacement::True,
        ))
        .changes(change(
            "RefresherFunction",
            "AWS::Lambda::Function",
            Replacement::False,
        ))
        .build()
}

#[tokio::test(start_paused = true)]
async fn replacing_the_tokens_table_is_refused_and_the_change_set_deleted() {
    let describe =
        mock!(SdkClient::describe_stacks).then_output(|| stack(StackStatus::UpdateComplete));
    let template = mock!(SdkClient::get_template)
        .then_output(|| GetTemplateOutput::builder().template_body("old").build());
    let create_cs = mock!(SdkClient::create_change_set)
        .then_output(|| CreateChangeSetOutput::builder().id("cs").build());
    let describe_cs = mock!(SdkClient::describe_change_set).then_output(replacing_the_tokens_table);
    let delete_cs = mock!(SdkClient::delete_change_set)
        .then_output(|| DeleteChangeSetOutput::builder().build());
    let execute = mock!(SdkClient::execute_change_set).then_output(|| {
        aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput::builder()
            .build()
    });
    let cfn = crate::aws::CloudFormation::from_sdk(mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [
            &describe,
            &template,
            &create_cs,
            &describe_cs,
            &delete_cs,
            &execute
        ]
    ));
    let err = apply_local(&cfn).await.unwrap_err().to_string();
    assert!(
        err.contains("refusing to deploy: this would replace or remove TokensTable"),
        "{err}"
    );
    assert!(err.contains("--allow-replace"), "{err}");
    assert_eq!((delete_cs.num_calls(), execute.num_calls()), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn throttled_event_polls_never_fail_a_deploy() {
    let describe = mock!(SdkClient::describe_stacks)
        .sequence()
        .output(|| stack(StackStatus::UpdateComplete)) // before
        .output(|| stack(StackStatus::UpdateInProgress)) // first poll
        .output(|| stack(StackStatus::UpdateInProgress)) // second poll
        .output(|| stack(StackStatus::UpdateComplete)) // done
        .output(|| stack(StackStatus::UpdateComplete)) // read back
        .build();
    let template = mock!(SdkClient::get_template)
        .then_output(|| GetTemplateOutput::builder().template_body("old").build());
    let create_cs = mock!(SdkClient::create_change_set)
        .then_output(|| CreateChangeSetOutput::builder().id("cs").build());
    let describe_cs = mock!(SdkClient::describe_change_set).then_output(|| {
        let mut out = replacing_the_tokens_table();
        out.changes.as_mut().unwrap().remove(0);
        out
    });
    let execute = mock!(SdkClient::execute_change_set).then_output(|| {
        aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput::builder()
            .build()
    });
    let throttled = || {
        DescribeStackEventsError::generic(
            ErrorMetadata::builder()
                .code("Throttling")
                .message("Rate exceeded")
                .build(),
        )
    };
    let events = mock!(SdkClient::describe_stack_events)
        .sequence()
        .output(|| DescribeStackEventsOutput::builder().build())
        .error(throttled)
        .times(12)
        .output(|| DescribeStackEventsOutput::builder().build())
        .repeatedly()
        .build();
    let cfn = crate::aws::CloudFormation::from_sdk(mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [
            &describe,
            &template,
            &create_cs,
            &describe_cs,
            &execute,
            &events
        ]
    ));
    let report = apply_local(&cfn).await.unwrap();
    assert_eq!(report.action, "updated");
    assert!(events.num_calls() >= 2, "{}", events.num_calls());
}
