//! CloudFormation calls the deployer makes, each a thin wrapper that returns plain data.

use std::collections::BTreeMap;

use super::CloudFormation as Client;
use anyhow::{Result, bail};
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Parameter, Tag};
use serde::Serialize;

use super::describe_error;

/// What a create or an update of the stack sends.
#[derive(Debug, Clone)]
pub struct StackRequest {
    pub stack_name: String,
    pub template_body: String,
    pub parameters: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

impl StackRequest {
    fn parameters(&self) -> Vec<Parameter> {
        self.parameters
            .iter()
            .map(|(k, v)| {
                Parameter::builder()
                    .parameter_key(k)
                    .parameter_value(v)
                    .build()
            })
            .collect()
    }

    fn tags(&self) -> Vec<Tag> {
        self.tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect()
    }
}

/// A stack as `DescribeStacks` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Stack {
    pub name: String,
    pub id: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub termination_protection: bool,
    pub outputs: Vec<StackOutput>,
    pub parameters: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackOutput {
    pub key: String,
    pub value: String,
    pub description: Option<String>,
    pub export: Option<String>,
}

/// One stack event, oldest-first once collected.
#[derive(Debug, Clone, Serialize)]
pub struct StackEvent {
    pub id: String,
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
    pub timestamp: Option<String>,
}

/// The stack, or `None` if there is none of that name.
pub async fn describe(cfn: &Client, name: &str) -> Result<Option<Stack>> {
    let out = match cfn.0.describe_stacks().stack_name(name).send().await {
        Ok(out) => out,
        Err(err) if err.message().is_some_and(|m| m.contains("does not exist")) => return Ok(None),
        Err(err) => bail!("cannot describe stack {name}: {}", describe_error(&err)),
    };
    let Some(stack) = out.stacks().first() else {
        return Ok(None);
    };
    Ok(Some(stack_of(stack, name)))
}

/// The SDK's stack description as the module's [`Stack`].
fn stack_of(stack: &aws_sdk_cloudformation::types::Stack, name: &str) -> Stack {
    let output = |o: &aws_sdk_cloudformation::types::Output| {
        Some(StackOutput {
            key: o.output_key()?.to_owned(),
            value: o.output_value()?.to_owned(),
            description: o.description().map(str::to_owned),
            export: o.export_name().map(str::to_owned),
        })
    };
    let parameter = |p: &aws_sdk_cloudformation::types::Parameter| {
        Some((
            p.parameter_key()?.to_owned(),
            p.parameter_value()?.to_owned(),
        ))
    };
    Stack {
        name: stack.stack_name().unwrap_or(name).to_owned(),
        id: stack.stack_id().unwrap_or_default().to_owned(),
        status: stack
            .stack_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        status_reason: stack.stack_status_reason().map(str::to_owned),
        termination_protection: stack.enable_termination_protection().unwrap_or(false),
        outputs: stack.outputs().iter().filter_map(output).collect(),
        parameters: stack.parameters().iter().filter_map(parameter).collect(),
        tags: stack
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect(),
    }
}

/// The template the stack was last deployed with, as sent.
pub async fn get_template(cfn: &Client, name: &str) -> Result<String> {
    let out = cfn
        .0
        .get_template()
        .stack_name(name)
        .template_stage(aws_sdk_cloudformation::types::TemplateStage::Original)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!("cannot read the template of {name}: {}", describe_error(&e))
        })?;
    Ok(out.template_body().unwrap_or_default().to_owned())
}

/// Creates a stack directly (a new stack's plan is all additions; see AWS-FACTS.md on why not
/// through a change set) and returns its id.
pub async fn create_stack(cfn: &Client, req: &StackRequest, protect: bool) -> Result<String> {
    let out = cfn
        .0
        .create_stack()
        .stack_name(&req.stack_name)
        .template_body(&req.template_body)
        .set_parameters(Some(req.parameters()))
        .set_tags(Some(req.tags()))
        .capabilities(Capability::CapabilityIam)
        .enable_termination_protection(protect)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot create stack {}: {}",
                req.stack_name,
                describe_error(&e)
            )
        })?;
    Ok(out.stack_id().unwrap_or_default().to_owned())
}

/// Creates an UPDATE change set (the type always explicit) and returns its id.
pub async fn create_change_set(
    cfn: &Client,
    req: &StackRequest,
    change_set: &str,
) -> Result<String> {
    let out = cfn
        .0
        .create_change_set()
        .stack_name(&req.stack_name)
        .change_set_name(change_set)
        .change_set_type(ChangeSetType::Update)
        .template_body(&req.template_body)
        .set_parameters(Some(req.parameters()))
        .set_tags(Some(req.tags()))
        .capabilities(Capability::CapabilityIam)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot create a change set for {}: {}",
                req.stack_name,
                describe_error(&e)
            )
        })?;
    Ok(out.id().unwrap_or(change_set).to_owned())
}

/// A change set as `DescribeChangeSet` shows it (all pages).
#[derive(Debug, Clone)]
pub struct ChangeSet {
    pub status: String,
    pub status_reason: Option<String>,
    pub changes: Vec<super::super::plan::Change>,
}

pub async fn describe_change_set(cfn: &Client, stack: &str, change_set: &str) -> Result<ChangeSet> {
    let mut changes = Vec::new();
    let mut token = None;
    loop {
        let out = cfn
            .0
            .describe_change_set()
            .stack_name(stack)
            .change_set_name(change_set)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot describe change set {change_set}: {}",
                    describe_error(&e)
                )
            })?;
        for change in out.changes() {
            if let Some(rc) = change.resource_change() {
                changes.push(resource_change(rc));
            }
        }
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(ChangeSet {
                status: out
                    .status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                status_reason: out.status_reason().map(str::to_owned),
                changes,
            });
        }
    }
}

pub async fn execute_change_set(cfn: &Client, stack: &str, change_set: &str) -> Result<()> {
    cfn.0
        .execute_change_set()
        .stack_name(stack)
        .change_set_name(change_set)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot execute change set {change_set}: {}",
                describe_error(&e)
            )
        })?;
    Ok(())
}

/// Deletes a change set; a change set already gone is fine.
pub async fn delete_change_set(cfn: &Client, stack: &str, change_set: &str) -> Result<()> {
    match cfn
        .0
        .delete_change_set()
        .stack_name(stack)
        .change_set_name(change_set)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(err) if err.code() == Some("ChangeSetNotFound") => Ok(()),
        Err(err) => bail!(
            "cannot delete change set {change_set}: {}",
            describe_error(&err)
        ),
    }
}

pub async fn delete_stack(cfn: &Client, stack: &str) -> Result<()> {
    cfn.0
        .delete_stack()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("cannot delete stack {stack}: {}", describe_error(&e)))?;
    Ok(())
}

pub async fn set_termination_protection(cfn: &Client, stack: &str, on: bool) -> Result<()> {
    cfn.0
        .update_termination_protection()
        .stack_name(stack)
        .enable_termination_protection(on)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot set termination protection of {stack}: {}",
                describe_error(&e)
            )
        })?;
    Ok(())
}

/// Events newer than `seen` (an event id), oldest first. `Ok(None)` when the call was throttled:
/// a progress display must never fail a deploy.
pub async fn events_since(
    cfn: &Client,
    stack: &str,
    seen: Option<&str>,
) -> Result<Option<Vec<StackEvent>>> {
    let out = match cfn.0.describe_stack_events().stack_name(stack).send().await {
        Ok(out) => out,
        Err(err) if is_throttling(err.code()) => return Ok(None),
        // Deleted while we watched: no more events, and `describe` says it is gone.
        Err(err) if err.message().is_some_and(|m| m.contains("does not exist")) => {
            return Ok(Some(Vec::new()));
        }
        Err(err) => bail!(
            "cannot read the events of {stack}: {}",
            describe_error(&err)
        ),
    };
    let mut events = Vec::new();
    // The API lists newest first; stop at the last one already shown.
    for e in out.stack_events() {
        let id = e.event_id().unwrap_or_default();
        if Some(id) == seen {
            break;
        }
        events.push(StackEvent {
            id: id.to_owned(),
            logical_id: e.logical_resource_id().unwrap_or_default().to_owned(),
            resource_type: e.resource_type().unwrap_or_default().to_owned(),
            status: e
                .resource_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            reason: e.resource_status_reason().map(str::to_owned),
            timestamp: e.timestamp().map(ToString::to_string),
        });
    }
    events.reverse();
    Ok(Some(events))
}

/// CloudFormation's throttling error codes.
pub fn is_throttling(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "Throttling"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "TooManyRequestsException"
        )
    )
}

/// A change set's resource change, as the project's own [`Change`].
fn resource_change(rc: &aws_sdk_cloudformation::types::ResourceChange) -> crate::plan::Change {
    let mut details: Vec<String> = rc
        .details()
        .iter()
        .filter_map(|d| {
            let target = d.target()?;
            let attribute = target.attribute().map_or("", |a| a.as_str());
            Some(match target.name() {
                Some(name) => format!("{attribute}.{name}"),
                None => attribute.to_owned(),
            })
        })
        .collect();
    details.sort();
    details.dedup();
    crate::plan::Change {
        action: rc
            .action()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default(),
        logical_id: rc.logical_resource_id().unwrap_or_default().to_owned(),
        resource_type: rc.resource_type().unwrap_or_default().to_owned(),
        replacement: rc.replacement().map(|r| r.as_str().to_owned()),
        details,
    }
}
