//! `deployer destroy --stage S`: deletes the stack after confirmation; a protected stage needs
//! `--force`. Resources the template retains (the tables and their KMS key) stay, and the
//! report names them.

use std::fmt;
use std::io::IsTerminal;

use anyhow::{Result, bail};
use serde::Serialize;

use super::Ctx;
use crate::aws::{CloudFormation, cfn};
use crate::cli::DestroyArgs;
use crate::deploy::{progress::Progress, wait};
use crate::output::{self, note};
use crate::stage::Stage;
use crate::{Status, template};

#[derive(Debug, Serialize)]
pub(super) struct DestroyReport {
    pub stack: String,
    pub deleted: bool,
    /// Resources kept by their `DeletionPolicy`: `TokensTable (huntaze-oauth-tokens)`.
    pub retained: Vec<String>,
}

impl fmt::Display for DestroyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.deleted {
            return writeln!(f, "{}: no such stack, nothing to delete", self.stack);
        }
        writeln!(f, "{} deleted", self.stack)?;
        if !self.retained.is_empty() {
            writeln!(
                f,
                "kept (DeletionPolicy: Retain), delete by hand only if the data is no longer needed:"
            )?;
            for r in &self.retained {
                writeln!(f, "  {r}")?;
            }
        }
        Ok(())
    }
}

pub(super) async fn run(args: &DestroyArgs, ctx: &Ctx) -> Result<Status> {
    let stage = ctx.load_stage(&args.stage.stage)?;
    let rendered = template::render(&stage)?;
    let aws = ctx.aws(&stage).await;
    let client = aws.cloudformation();
    let Some(stack) = cfn::describe(&client, &stage.stack_name).await? else {
        ctx.printer.emit(&DestroyReport {
            stack: stage.stack_name,
            deleted: false,
            retained: Vec::new(),
        })?;
        return Ok(Status::Ok);
    };
    refuse_if_protected(&stage, &stack, args.force)?;
    crate::deploy::check_account(&aws, &stage).await?;
    if !args.yes {
        confirm_by_name(&stage.stack_name)?;
    }
    if stack.termination_protection {
        lift_protection(&client, &stage.stack_name).await;
    }
    delete_and_wait(&client, &stage.stack_name, ctx.printer.json).await?;
    ctx.printer.emit(&DestroyReport {
        stack: stage.stack_name,
        deleted: true,
        retained: retained(&rendered.value),
    })?;
    Ok(Status::Ok)
}

/// Refuses to delete a protected stage or stack unless `--force` lifts the protection.
fn refuse_if_protected(stage: &Stage, stack: &cfn::Stack, force: bool) -> Result<()> {
    if (stage.termination_protection || stack.termination_protection) && !force {
        bail!(
            "stage {} is protected against deletion (termination_protection); pass --force to lift the \
             protection and delete {}",
            stage.name,
            stage.stack_name
        );
    }
    Ok(())
}

/// Lifts the stack's termination protection; a failure is only a warning.
async fn lift_protection(client: &CloudFormation, stack: &str) {
    // If lifting fails, the delete below fails with CloudFormation's own reason; an endpoint
    // without the call (the local stand-in) does not enforce the protection either.
    if let Err(err) = cfn::set_termination_protection(client, stack, false).await {
        note(&format!(
            "warning: could not lift termination protection: {err:#}"
        ));
    }
}

/// Deletes the stack and waits, with progress, until it is gone; fails if it is not.
async fn delete_and_wait(client: &CloudFormation, stack: &str, plain: bool) -> Result<()> {
    note(&format!("deleting stack {stack}"));
    cfn::delete_stack(client, stack).await?;
    let progress = Progress::new(plain);
    let done = wait::until_done(client, stack, None, &progress).await?;
    progress.finish();
    if !done.ok {
        bail!(
            "{stack} ended {}; see its events for the resource that could not be deleted",
            done.status
        );
    }
    Ok(())
}

/// Asks for the stack name on a terminal; without one, `--yes` is required.
fn confirm_by_name(stack: &str) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to confirm deleting {stack}; pass --yes");
    }
    if output::ask(&format!("Type the stack name ({stack}) to delete it:"))? != stack {
        bail!("the name did not match; nothing was deleted");
    }
    Ok(())
}

/// Resources with `DeletionPolicy: Retain`, with their physical name where the template sets one.
fn retained(template: &serde_json::Value) -> Vec<String> {
    let Some(resources) = template.get("Resources").and_then(|r| r.as_object()) else {
        return Vec::new();
    };
    resources
        .iter()
        .filter(|(_, r)| r.get("DeletionPolicy").and_then(|p| p.as_str()) == Some("Retain"))
        .map(
            |(id, r)| match r.pointer("/Properties/TableName").and_then(|n| n.as_str()) {
                Some(name) => format!("{id} ({name})"),
                None => id.clone(),
            },
        )
        .collect()
}
