//! `deployer plan --stage S [--fail]`: what a deploy would change. A new stack's plan is every
//! resource of the template as an addition; an existing stack's is its change set (created,
//! read, deleted). Builds and hashes the refresher (its key is a parameter) but uploads nothing.

use anyhow::Result;

use super::Ctx;
use crate::aws::CloudFormation;
use crate::aws::cfn::{self, StackRequest};
use crate::cli::PlanArgs;
use crate::deploy::{self, state};
use crate::plan::{Change, Plan};
use crate::stage::Stage;
use crate::template::Rendered;
use crate::{Status, template};

pub(super) async fn run(args: &PlanArgs, ctx: &Ctx) -> Result<Status> {
    let stage = ctx.load_stage(&args.stage.stage)?;
    let rendered = template::render(&stage)?;
    let aws = ctx.aws(&stage).await;
    deploy::check_account(&aws, &stage).await?;
    let secret_version = deploy::http_trigger_secret_version(&aws, &stage).await?;
    let artifact = crate::package::build_for(&ctx.project_dir, &stage, &args.cargo_profile)?;
    let request = StackRequest {
        stack_name: stage.stack_name.clone(),
        template_body: rendered.text.clone(),
        parameters: deploy::stack_parameters(&artifact.key, secret_version),
        tags: stage.tags.clone(),
    };
    let plan = plan(&aws.cloudformation(), &stage, &rendered, &request).await?;
    ctx.printer.emit(&plan)?;
    Ok(if args.fail && !plan.is_noop() {
        Status::Found
    } else {
        Status::Ok
    })
}

/// What deploying `request` would change, from the state of the live stack.
async fn plan(
    client: &CloudFormation,
    stage: &Stage,
    rendered: &Rendered,
    request: &StackRequest,
) -> Result<Plan> {
    let existing = cfn::describe(client, &stage.stack_name).await?;
    let plan = match (
        state::classify(
            &stage.stack_name,
            existing.as_ref().map(|s| s.status.as_str()),
        ),
        existing,
    ) {
        (state::StackState::Ready, Some(current)) => {
            update_plan(client, stage, &current, request).await?
        }
        (state::StackState::Busy(status) | state::StackState::Stuck(status), _) => {
            anyhow::bail!(
                "{} is not ready to plan against: {status}",
                stage.stack_name
            )
        }
        // No stack, or a dead one deploy would clear: everything is added.
        _ => Plan::new(&stage.stack_name, "create", additions(&rendered.value)),
    };
    Ok(plan)
}

/// What updating a ready stack would change: its change set, created then deleted unexecuted;
/// no change when the stack already has this template, these parameters and these tags.
async fn update_plan(
    client: &CloudFormation,
    stage: &Stage,
    current: &cfn::Stack,
    request: &StackRequest,
) -> Result<Plan> {
    if deploy::is_unchanged(client, current, request).await? {
        return Ok(Plan::new(&stage.stack_name, "update", Vec::new()));
    }
    match deploy::change_set(client, stage, request).await? {
        Some(pending) => {
            cfn::delete_change_set(client, &stage.stack_name, &pending.change_set).await?;
            Ok(pending.plan)
        }
        None => Ok(Plan::new(&stage.stack_name, "update", Vec::new())),
    }
}

/// Every resource of a template, as the additions of a create.
fn additions(template: &serde_json::Value) -> Vec<Change> {
    template
        .get("Resources")
        .and_then(|r| r.as_object())
        .map(|resources| {
            resources
                .iter()
                .map(|(id, r)| Change {
                    action: "Add".to_owned(),
                    logical_id: id.clone(),
                    resource_type: r
                        .get("Type")
                        .and_then(|t| t.as_str())
                        .unwrap_or_default()
                        .to_owned(),
                    replacement: None,
                    details: Vec::new(),
                })
                .collect()
        })
        .unwrap_or_default()
}
