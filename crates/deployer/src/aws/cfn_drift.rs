//! `CloudFormation` calls of the drift check: the stack's resources with their physical ids, and
//! `CloudFormation`'s own drift detection where the endpoint offers it.

use std::time::Duration;

use super::CloudFormation as Client;
use anyhow::Result;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{StackDriftDetectionStatus, StackResourceDrift};

use super::describe_error;
use crate::drift::{CfnDrift, CfnResourceDrift, Difference};

/// Longest a drift detection is waited for; a stack of this size takes well under a minute.
const DETECTION_TIMEOUT: Duration = Duration::from_mins(5);

/// One resource as `ListStackResources` lists it.
#[derive(Debug, Clone)]
pub struct StackResource {
    pub logical_id: String,
    /// `None` when the stack lists it without one (the local stand-in's skipped types).
    pub physical_id: Option<String>,
    pub resource_type: String,
    pub status: String,
}

/// Every resource of the stack (all pages).
pub async fn list_resources(cfn: &Client, stack: &str) -> Result<Vec<StackResource>> {
    let summaries = cfn
        .0
        .list_stack_resources()
        .stack_name(stack)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot list the resources of {stack} (cloudformation:ListStackResources): {}",
                describe_error(&e)
            )
        })?;
    Ok(summaries
        .iter()
        .map(|r| StackResource {
            logical_id: r.logical_resource_id().unwrap_or_default().to_owned(),
            physical_id: r
                .physical_resource_id()
                .filter(|p| !p.is_empty())
                .map(str::to_owned),
            resource_type: r.resource_type().unwrap_or_default().to_owned(),
            status: r
                .resource_status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
        })
        .collect())
}

/// Runs `CloudFormation` drift detection and collects what it found. Never an error: an endpoint
/// without it (moto answers HTTP 500), a refusal or a timeout become [`CfnDrift::Unavailable`],
/// because the deployer's own live check still stands.
pub async fn detect(cfn: &Client, stack: &str) -> CfnDrift {
    match try_detect(cfn, stack).await {
        Ok(found) => found,
        Err(reason) => CfnDrift::Unavailable { reason },
    }
}

async fn try_detect(cfn: &Client, stack: &str) -> Result<CfnDrift, String> {
    let started = cfn
        .0
        .detect_stack_drift()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| describe_error(&e))?;
    let id = started
        .stack_drift_detection_id()
        .unwrap_or_default()
        .to_owned();
    let stack_status = wait(cfn, &id).await?;
    let pages = cfn
        .0
        .describe_stack_resource_drifts()
        .stack_name(stack)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| describe_error(&e))?;
    let resources = pages
        .iter()
        .flat_map(aws_sdk_cloudformation::operation::describe_stack_resource_drifts::DescribeStackResourceDriftsOutput::stack_resource_drifts)
        .filter_map(resource_drift)
        .collect();
    Ok(CfnDrift::Detected {
        stack_status,
        resources,
    })
}

/// A resource `CloudFormation` found not in sync; `None` for one in sync.
fn resource_drift(r: &StackResourceDrift) -> Option<CfnResourceDrift> {
    let status = r.stack_resource_drift_status()?.as_str().to_owned();
    if status == "IN_SYNC" {
        return None;
    }
    Some(CfnResourceDrift {
        logical_id: r.logical_resource_id().unwrap_or_default().to_owned(),
        resource_type: r.resource_type().unwrap_or_default().to_owned(),
        status,
        differences: r
            .property_differences()
            .iter()
            .map(|d| Difference {
                property: d.property_path().unwrap_or_default().to_owned(),
                expected: d.expected_value().unwrap_or("(absent)").to_owned(),
                actual: d.actual_value().unwrap_or("(absent)").to_owned(),
            })
            .collect(),
    })
}

/// Polls the detection with backoff (1 s doubling to 10 s); throttling only slows it down.
async fn wait(cfn: &Client, id: &str) -> Result<String, String> {
    let deadline = tokio::time::Instant::now() + DETECTION_TIMEOUT;
    let mut delay = Duration::from_secs(1);
    loop {
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
        let out = match cfn
            .0
            .describe_stack_drift_detection_status()
            .stack_drift_detection_id(id)
            .send()
            .await
        {
            Ok(out) => out,
            Err(err) if super::cfn::is_throttling(err.code()) => continue,
            Err(err) => return Err(describe_error(&err)),
        };
        if out.detection_status() != Some(&StackDriftDetectionStatus::DetectionInProgress) {
            return Ok(finished_status(&out));
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "detection {id} still running after {}s",
                DETECTION_TIMEOUT.as_secs()
            ));
        }
    }
}

/// The stack's drift status once detection ended; when it failed for some resources, with
/// why (the results of the others still stand).
fn finished_status(
    out: &aws_sdk_cloudformation::operation::describe_stack_drift_detection_status::DescribeStackDriftDetectionStatusOutput,
) -> String {
    let status = out.stack_drift_status().map_or("", |s| s.as_str());
    if out.detection_status() == Some(&StackDriftDetectionStatus::DetectionFailed) {
        let status = if status.is_empty() { "UNKNOWN" } else { status };
        return format!(
            "{status} (detection failed for some resources: {})",
            out.detection_status_reason().unwrap_or("no reason given")
        );
    }
    status.to_owned()
}

#[cfg(test)]
#[path = "cfn_drift_tests.rs"]
mod tests;
