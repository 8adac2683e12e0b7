//! `EventBridge`: a rule and its targets, shaped like the template's `AWS::Events::Rule`
//! properties (for the drift check and `deployer rules`), and switching a rule on or off.

use super::EventBridge as Client;
use anyhow::{Result, bail};
use aws_sdk_eventbridge::error::ProvideErrorMetadata;
use aws_sdk_eventbridge::types::{
    ApiDestinationHttpMethod, ApiDestinationState, ConnectionAuthorizationType, ConnectionState,
    RuleState, Target,
};
use serde_json::{Value, json};

use super::describe_error;

/// The rule named by a physical id (`name`, or `bus|name` for a rule on a custom bus), or `None`
/// when `EventBridge` does not have it.
pub async fn rule(client: &Client, physical_id: &str) -> Result<Option<Value>> {
    let (bus, name) = match physical_id.split_once('|') {
        Some((bus, name)) => (Some(bus), name),
        None => (None, physical_id),
    };
    let rule = match client
        .0
        .describe_rule()
        .name(name)
        .set_event_bus_name(bus.map(str::to_owned))
        .send()
        .await
    {
        Ok(rule) => rule,
        Err(err) if err.code() == Some("ResourceNotFoundException") => return Ok(None),
        Err(err) => bail!("cannot describe rule {name}: {}", describe_error(&err)),
    };
    let targets = targets(client, name, bus).await?;
    Ok(Some(json!({
        "Name": rule.name(),
        "State": rule.state().map(RuleState::as_str),
        "ScheduleExpression": rule.schedule_expression(),
        // The template holds the pattern as an object; the API returns its JSON text.
        "EventPattern": rule.event_pattern().and_then(|p| serde_json::from_str::<Value>(p).ok()),
        "Description": rule.description(),
        "Targets": targets,
    })))
}

/// The rule's targets (all pages).
async fn targets(client: &Client, rule: &str, bus: Option<&str>) -> Result<Vec<Value>> {
    let mut targets = Vec::new();
    let mut token = None;
    loop {
        let out = client
            .0
            .list_targets_by_rule()
            .rule(rule)
            .set_event_bus_name(bus.map(str::to_owned))
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot list the targets of rule {rule}: {}",
                    describe_error(&e)
                )
            })?;
        targets.extend(out.targets().iter().map(target));
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(targets);
        }
    }
}

fn target(t: &Target) -> Value {
    json!({
        "Id": t.id(),
        "Arn": t.arn(),
        "Input": t.input(),
        "RoleArn": t.role_arn(),
        "RetryPolicy": t.retry_policy().map(|r| json!({
            "MaximumRetryAttempts": r.maximum_retry_attempts(),
            "MaximumEventAgeInSeconds": r.maximum_event_age_in_seconds(),
        })),
        "DeadLetterConfig": t.dead_letter_config().map(|d| json!({"Arn": d.arn()})),
    })
}

/// The API destination of that name, shaped like `AWS::Events::ApiDestination`'s properties, or
/// `None` when `EventBridge` does not have it.
pub async fn api_destination(client: &Client, name: &str) -> Result<Option<Value>> {
    let d = match client.0.describe_api_destination().name(name).send().await {
        Ok(d) => d,
        Err(err) if err.code() == Some("ResourceNotFoundException") => return Ok(None),
        Err(err) => bail!(
            "cannot describe API destination {name}: {}",
            describe_error(&err)
        ),
    };
    Ok(Some(json!({
        "Name": d.name(),
        "Description": d.description(),
        "ConnectionArn": d.connection_arn(),
        "InvocationEndpoint": d.invocation_endpoint(),
        "HttpMethod": d.http_method().map(ApiDestinationHttpMethod::as_str),
        "InvocationRateLimitPerSecond": d.invocation_rate_limit_per_second(),
        "State": d.api_destination_state().map(ApiDestinationState::as_str),
    })))
}

/// The connection of that name, shaped like `AWS::Events::Connection`'s properties (never with
/// a key value: `EventBridge` returns none), or `None` when it does not have it.
pub async fn connection(client: &Client, name: &str) -> Result<Option<Value>> {
    let c = match client.0.describe_connection().name(name).send().await {
        Ok(c) => c,
        Err(err) if err.code() == Some("ResourceNotFoundException") => return Ok(None),
        Err(err) => bail!(
            "cannot describe connection {name}: {}",
            describe_error(&err)
        ),
    };
    let api_key = c
        .auth_parameters()
        .and_then(|a| a.api_key_auth_parameters())
        .map(|k| json!({"ApiKeyName": k.api_key_name()}));
    Ok(Some(json!({
        "Name": c.name(),
        "Description": c.description(),
        "AuthorizationType": c.authorization_type().map(ConnectionAuthorizationType::as_str),
        "AuthParameters": api_key.map(|k| json!({"ApiKeyAuthParameters": k})),
        "State": c.connection_state().map(ConnectionState::as_str),
    })))
}

/// Enables (`true`) or disables (`false`) a rule on the default bus. Idempotent on AWS's side.
pub async fn set_rule_enabled(client: &Client, name: &str, enabled: bool) -> Result<()> {
    let failed = if enabled {
        client
            .0
            .enable_rule()
            .name(name)
            .send()
            .await
            .err()
            .map(|e| describe_error(&e))
    } else {
        client
            .0
            .disable_rule()
            .name(name)
            .send()
            .await
            .err()
            .map(|e| describe_error(&e))
    };
    match failed {
        None => Ok(()),
        Some(reason) => {
            let verb = if enabled { "Enable" } else { "Disable" };
            bail!(
                "cannot {} rule {name}: {reason}; check that the credentials allow events:{verb}Rule on it",
                verb.to_lowercase()
            )
        }
    }
}
