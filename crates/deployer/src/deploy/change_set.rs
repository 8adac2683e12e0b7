//! An update's change set: whether one is needed at all, creating it and waiting until it is
//! planned.

use std::time::Duration;

use anyhow::{Result, bail};

use super::state;
use crate::aws::CloudFormation;
use crate::aws::cfn::{self, StackRequest};
use crate::plan::{Change, Plan};
use crate::stage::Stage;

/// Whether the live stack already has exactly this template, these parameters and these tags.
/// Cheaper than a change set (one `GetTemplate`), and exact: CloudFormation would find no change.
pub async fn is_unchanged(
    cfn_client: &CloudFormation,
    stack: &cfn::Stack,
    request: &StackRequest,
) -> Result<bool> {
    if stack.parameters != request.parameters || stack.tags != request.tags {
        return Ok(false);
    }
    Ok(cfn::get_template(cfn_client, &request.stack_name).await? == request.template_body)
}

/// A change set that is ready to execute, with its plan.
pub struct PendingChangeSet {
    pub change_set: String,
    pub plan: Plan,
}

/// Creates an update change set and waits for it; `None` (and the change set deleted) when there
/// is nothing to change.
pub async fn change_set(
    cfn_client: &CloudFormation,
    stage: &Stage,
    request: &StackRequest,
) -> Result<Option<PendingChangeSet>> {
    let name = format!(
        "deployer-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    );
    cfn::create_change_set(cfn_client, request, &name).await?;
    let described = until_planned(cfn_client, &stage.stack_name, &name).await?;
    let reason = described.status_reason.clone().unwrap_or_default();
    let no_changes = (described.status == "FAILED" && state::is_no_change(&reason))
        || (described.status == "CREATE_COMPLETE" && described.changes.is_empty());
    if no_changes {
        cfn::delete_change_set(cfn_client, &stage.stack_name, &name).await?;
        return Ok(None);
    }
    if described.status != "CREATE_COMPLETE" {
        cfn::delete_change_set(cfn_client, &stage.stack_name, &name).await?;
        bail!(
            "CloudFormation could not plan the update of {}: {reason}",
            stage.stack_name
        );
    }
    let changes: Vec<Change> = described.changes;
    Ok(Some(PendingChangeSet {
        change_set: name,
        plan: Plan::new(&stage.stack_name, "update", changes),
    }))
}

/// Polls the change set (200 ms, doubling up to 3 s) until CloudFormation has planned it.
async fn until_planned(
    cfn_client: &CloudFormation,
    stack: &str,
    name: &str,
) -> Result<cfn::ChangeSet> {
    let mut delay = Duration::from_millis(200);
    loop {
        let cs = cfn::describe_change_set(cfn_client, stack, name).await?;
        if !cs.status.ends_with("_PENDING") && !cs.status.ends_with("_IN_PROGRESS") {
            return Ok(cs);
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(3));
    }
}
