//! `deploy`: package -> upload if absent -> create, or change set -> guard -> execute -> wait ->
//! outputs. The decisions (what a stack status means, what is dangerous) are pure and live in
//! `state.rs` and `crate::plan`; this module sequences the AWS calls.

mod change_set;
mod prepare;
pub mod progress;
mod report;
pub mod state;
pub mod wait;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::aws::CloudFormation;
use crate::aws::cfn::{self, Stack, StackRequest};
use crate::output::{self, note};
use crate::plan::Plan;
use crate::stage::Stage;
use crate::template::Rendered;
pub use change_set::{PendingChangeSet, change_set, is_unchanged};
pub use prepare::{
    check_account, create_secret_hint, http_trigger_secret_version, stack_parameters,
    upload_artifact,
};
use progress::Progress;
pub use report::{ArtifactReport, DeployReport};
use state::StackState;

#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Execute without asking, even on a terminal.
    pub yes: bool,
    /// Allow a change set that replaces or removes a stateful resource.
    pub allow_replace: bool,
    /// Plain event lines instead of a spinner.
    pub plain: bool,
}

/// Applies the rendered template with the uploaded artifact.
pub async fn apply(
    cfn_client: &CloudFormation,
    stage: &Stage,
    rendered: &Rendered,
    artifact: ArtifactReport,
    parameters: BTreeMap<String, String>,
    account: String,
    opts: &DeployOptions,
) -> Result<DeployReport> {
    let started = Instant::now();
    let request = StackRequest {
        stack_name: stage.stack_name.clone(),
        template_body: rendered.text.clone(),
        parameters,
        tags: stage.tags.clone(),
    };
    let progress = Progress::new(opts.plain);
    let (action, plan) = create_or_update(cfn_client, stage, &request, opts, &progress).await?;
    progress.finish();
    let stack = cfn::describe(cfn_client, &stage.stack_name)
        .await?
        .context("the stack vanished after deploying")?;
    let warnings = sync_termination_protection(cfn_client, stage, &stack).await;
    Ok(DeployReport {
        stage: stage.name.clone(),
        stack: stage.stack_name.clone(),
        region: stage.region.clone(),
        account,
        artifact,
        action,
        plan,
        seconds: started.elapsed().as_secs_f64(),
        outputs: stack.outputs,
        warnings,
    })
}

/// Creates the stack, or updates it through a change set, as its current state allows (a dead
/// first create is deleted first; a busy or stuck stack is refused with its remedy).
async fn create_or_update(
    cfn_client: &CloudFormation,
    stage: &Stage,
    request: &StackRequest,
    opts: &DeployOptions,
    progress: &Progress,
) -> Result<(String, Option<Plan>)> {
    let existing = cfn::describe(cfn_client, &stage.stack_name).await?;
    let situation = state::classify(
        &stage.stack_name,
        existing.as_ref().map(|s| s.status.as_str()),
    );
    match situation {
        StackState::Dead(status) => {
            clear_dead(cfn_client, stage, &status, progress).await?;
            create(cfn_client, stage, request, progress).await
        }
        StackState::Absent => create(cfn_client, stage, request, progress).await,
        StackState::Ready => {
            let current = existing
                .as_ref()
                .context("a ready stack has a description")?;
            update(cfn_client, stage, request, current, opts, progress).await
        }
        StackState::Busy(status) => bail!(
            "{} is {status}: another operation is running on it; wait for it to finish and deploy again",
            stage.stack_name
        ),
        StackState::Stuck(remedy) => bail!(remedy),
    }
}

/// Deletes a stack left by a first create that never completed, so that it can be created anew.
async fn clear_dead(
    cfn_client: &CloudFormation,
    stage: &Stage,
    status: &str,
    progress: &Progress,
) -> Result<()> {
    note(&format!(
        "{} is {status} (a first create that never completed); deleting it before creating it again",
        stage.stack_name
    ));
    cfn::delete_stack(cfn_client, &stage.stack_name).await?;
    let done = wait::until_done(cfn_client, &stage.stack_name, None, progress).await?;
    if !done.ok {
        bail!(
            "could not clear {} ({}); see its events",
            stage.stack_name,
            done.status
        );
    }
    Ok(())
}

/// Sets the stack's termination protection to the stage's; a failure is a warning, not fatal:
/// the stack is deployed either way (and the local stand-in does not implement the call).
async fn sync_termination_protection(
    cfn_client: &CloudFormation,
    stage: &Stage,
    stack: &Stack,
) -> Vec<String> {
    let wanted = stage.termination_protection;
    if stack.termination_protection == wanted {
        return Vec::new();
    }
    match cfn::set_termination_protection(cfn_client, &stage.stack_name, wanted).await {
        Ok(()) => Vec::new(),
        Err(err) => {
            let warning = format!(
                "termination protection is not {}: {err:#}",
                if wanted { "on" } else { "off" }
            );
            note(&format!("warning: {warning}"));
            vec![warning]
        }
    }
}

async fn create(
    cfn_client: &CloudFormation,
    stage: &Stage,
    request: &StackRequest,
    progress: &Progress,
) -> Result<(String, Option<Plan>)> {
    note(&format!("creating stack {}", stage.stack_name));
    cfn::create_stack(cfn_client, request, stage.termination_protection).await?;
    let done = wait::until_done(cfn_client, &stage.stack_name, None, progress).await?;
    if !done.ok {
        progress.finish();
        bail!(failure_message(&stage.stack_name, &done));
    }
    Ok(("created".to_owned(), None))
}

async fn update(
    cfn_client: &CloudFormation,
    stage: &Stage,
    request: &StackRequest,
    current: &cfn::Stack,
    opts: &DeployOptions,
    progress: &Progress,
) -> Result<(String, Option<Plan>)> {
    // Same template, parameters and tags as deployed: nothing to plan, nothing to execute.
    let no_op = || {
        let plan = Plan::new(&stage.stack_name, "update", Vec::new());
        Ok(("no-op".to_owned(), Some(plan)))
    };
    if is_unchanged(cfn_client, current, request).await? {
        return no_op();
    }
    let Some(plan) = change_set(cfn_client, stage, request).await? else {
        return no_op();
    };
    let name = &plan.change_set;
    if !plan.plan.dangerous.is_empty() && !opts.allow_replace {
        cfn::delete_change_set(cfn_client, &stage.stack_name, name).await?;
        bail!(
            "{}refusing to deploy: this would replace or remove {} and lose the data in them; \
             if that is really meant, deploy again with --allow-replace",
            plan.plan,
            plan.plan.dangerous.join(", ")
        );
    }
    note(&plan.plan.to_string());
    if !opts.yes && std::io::stdin().is_terminal() && !output::ask_yes("Execute this change set?")?
    {
        cfn::delete_change_set(cfn_client, &stage.stack_name, name).await?;
        return Ok(("declined".to_owned(), Some(plan.plan)));
    }
    execute(cfn_client, &stage.stack_name, name, progress).await?;
    Ok(("updated".to_owned(), Some(plan.plan)))
}

/// Executes a planned change set and waits for the stack to settle; a failure names the first
/// resource that failed.
async fn execute(
    cfn_client: &CloudFormation,
    stack: &str,
    change_set: &str,
    progress: &Progress,
) -> Result<()> {
    let since = cfn::events_since(cfn_client, stack, None)
        .await?
        .and_then(|events| events.last().map(|e| e.id.clone()));
    cfn::execute_change_set(cfn_client, stack, change_set).await?;
    let done = wait::until_done(cfn_client, stack, since, progress).await?;
    if !done.ok {
        progress.finish();
        bail!(failure_message(stack, &done));
    }
    Ok(())
}

fn failure_message(stack: &str, done: &wait::Finished) -> String {
    match &done.first_failure {
        Some(e) => format!(
            "{stack} ended {}; root cause: {} ({}) {}: {}",
            done.status,
            e.logical_id,
            e.resource_type,
            e.status,
            e.reason.as_deref().unwrap_or("no reason given")
        ),
        None => format!(
            "{stack} ended {}; its events name no failed resource",
            done.status
        ),
    }
}

#[cfg(test)]
mod tests;
