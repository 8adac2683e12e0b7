//! The live check of one stack: for each resource it lists, the `aws/` read that gives its live
//! properties, compared with the rendered template's (intrinsics resolved from the stack).

use std::collections::BTreeMap;

use anyhow::Result;
use serde_json::{Value, json};

use super::compare::{compare, verdict};
use super::resolve::Resolver;
use super::{DriftReport, ResourceDrift, ResourceStatus, policy};
use crate::aws::cfn::Stack;
use crate::aws::cfn_drift::{self, StackResource};
use crate::aws::{Aws, cloudwatch, dynamodb, events, iam, lambda, sqs};

/// The properties compared, per resource type; other types are reported as not checked.
const CHECKED: &[(&str, &[&str])] = &[
    (
        "AWS::Events::Rule",
        &[
            "State",
            "ScheduleExpression",
            "EventPattern",
            "Description",
            "Targets",
        ],
    ),
    (
        "AWS::Lambda::Function",
        &[
            "MemorySize",
            "Timeout",
            "Runtime",
            "Handler",
            "Architectures",
            "Environment",
            "CodeSha256",
        ],
    ),
    (
        "AWS::CloudWatch::Alarm",
        &[
            "Namespace",
            "MetricName",
            "Dimensions",
            "Statistic",
            "Period",
            "EvaluationPeriods",
            "DatapointsToAlarm",
            "Threshold",
            "ComparisonOperator",
            "TreatMissingData",
            "AlarmActions",
            "OKActions",
        ],
    ),
    (
        "AWS::SQS::Queue",
        &[
            "MessageRetentionPeriod",
            "KmsMasterKeyId",
            "VisibilityTimeout",
            "DelaySeconds",
        ],
    ),
    (
        "AWS::Events::ApiDestination",
        &[
            "InvocationEndpoint",
            "HttpMethod",
            "InvocationRateLimitPerSecond",
            "ConnectionArn",
            "Description",
        ],
    ),
    // `ApiKeyValue` is never returned by EventBridge: see `without_key_value`.
    (
        "AWS::Events::Connection",
        &["AuthorizationType", "AuthParameters", "Description"],
    ),
    ("AWS::SQS::QueuePolicy", &["PolicyDocument"]),
    ("AWS::IAM::Role", &["Policies"]),
    (
        "AWS::DynamoDB::Table",
        &[
            "KeySchema",
            "GlobalSecondaryIndexes",
            "TimeToLiveSpecification",
            "PointInTimeRecoverySpecification",
            "SSESpecification",
        ],
    ),
];

/// What a live read found.
enum Fetched {
    Found(Value),
    /// The service does not have it.
    Missing,
    /// It exists but cannot be compared, and why.
    Unreadable(String),
}

/// Checks every resource of the deployed `stack` against the rendered `template`.
pub async fn run(aws: &Aws, stack: &Stack, template: &Value) -> Result<DriftReport> {
    let cfn = aws.cloudformation();
    let resources = cfn_drift::list_resources(&cfn, &stack.name).await?;
    let cloudformation = cfn_drift::detect(&cfn, &stack.name).await;
    let physical: BTreeMap<String, String> = resources
        .iter()
        .filter_map(|r| Some((r.logical_id.clone(), r.physical_id.clone()?)))
        .collect();
    let outputs: BTreeMap<String, String> = stack
        .outputs
        .iter()
        .map(|o| (o.key.clone(), o.value.clone()))
        .collect();
    let resolver = Resolver::new(&physical, &stack.parameters, &stack.id, template, &outputs);
    let declared = template.get("Resources").and_then(Value::as_object);
    // moto lists each resource it skipped with no logical id, physical id or type at all.
    let (named, anonymous): (Vec<_>, Vec<_>) =
        resources.iter().partition(|r| !r.logical_id.is_empty());
    let mut found = Vec::new();
    for resource in &named {
        let properties = declared.and_then(|d| d.get(&resource.logical_id));
        found.push(check(aws, &resolver, properties, resource).await);
    }
    let listed: Vec<&str> = named.iter().map(|r| r.logical_id.as_str()).collect();
    found.extend(unlisted(template, &listed, anonymous.len()));
    Ok(DriftReport::new(&stack.name, cloudformation, found))
}

async fn check(
    aws: &Aws,
    resolver: &Resolver,
    declared: Option<&Value>,
    res: &StackResource,
) -> ResourceDrift {
    let r = ResourceDrift::new(
        &res.logical_id,
        &res.resource_type,
        res.physical_id.as_deref(),
    );
    let Some(physical) = res.physical_id.as_deref() else {
        return r.with_status(
            ResourceStatus::NotCreatedByEndpoint,
            "the stack lists it without a physical id: this endpoint did not create it",
        );
    };
    let Some(declared) = declared else {
        return r.with_status(
            ResourceStatus::NotChecked,
            "not in the rendered template: the stage changed since the deploy (`deployer plan` shows how)",
        );
    };
    let Some(expected) = expected(resolver, &res.resource_type, declared) else {
        return r.with_status(
            ResourceStatus::NotChecked,
            format!(
                "the deployer does not check {} resources",
                res.resource_type
            ),
        );
    };
    let fetched = fetch(aws, &res.resource_type, physical, &expected.value).await;
    let mut r = judge(
        r,
        fetched,
        expected.properties,
        &expected.value,
        aws.custom_endpoint.is_some(),
    );
    r.notes.extend(expected.notes);
    r
}

/// What a live read of one resource is compared with.
#[derive(Debug)]
pub struct Expected {
    /// The properties compared (those the template sets).
    pub properties: &'static [&'static str],
    /// The template's properties, intrinsics resolved.
    pub value: Value,
    /// What is left out of the comparison, and why.
    pub notes: Vec<String>,
}

/// The expected properties of a declared resource (`{"Type": .., "Properties": ..}`), or `None`
/// for a type the deployer does not check.
pub fn expected(resolver: &Resolver, resource_type: &str, declared: &Value) -> Option<Expected> {
    let (_, properties) = CHECKED.iter().find(|(t, _)| *t == resource_type)?;
    let mut value = resolver.resolve(declared.get("Properties").unwrap_or(&Value::Null));
    let mut notes = Vec::new();
    if resource_type == "AWS::Lambda::Function" {
        add_code_sha256(&mut value);
    }
    if resource_type == "AWS::Events::Connection" && without_key_value(&mut value) {
        notes.push(
            "AuthParameters.ApiKeyAuthParameters.ApiKeyValue: not checked: EventBridge never \
             returns it (deploy again after rotating the secret)"
                .to_owned(),
        );
    }
    Some(Expected {
        properties,
        value,
        notes,
    })
}

/// Drops a connection's API key value from what is compared; true when there was one.
fn without_key_value(expected: &mut Value) -> bool {
    expected
        .pointer_mut("/AuthParameters/ApiKeyAuthParameters")
        .and_then(Value::as_object_mut)
        .and_then(|k| k.remove("ApiKeyValue"))
        .is_some()
}

/// The verdict on a resource from what its live read gave.
fn judge(
    r: ResourceDrift,
    fetched: Result<Fetched>,
    properties: &[&str],
    expected: &Value,
    custom_endpoint: bool,
) -> ResourceDrift {
    match fetched {
        Ok(Fetched::Found(actual)) => {
            let kind = r.resource_type.clone();
            verdict(
                r,
                compare(&kind, properties, expected, &actual, custom_endpoint),
            )
        }
        Ok(Fetched::Missing) => r.with_status(
            ResourceStatus::Deleted,
            "the stack lists it, but the service does not have it",
        ),
        Ok(Fetched::Unreadable(why)) => r.with_status(ResourceStatus::NotChecked, why),
        Err(err) => {
            let mut r = r.with_status(
                ResourceStatus::NotChecked,
                format!("cannot read it: {err:#}"),
            );
            r.read_error = true;
            r
        }
    }
}

async fn fetch(aws: &Aws, kind: &str, physical: &str, expected: &Value) -> Result<Fetched> {
    let found = match kind {
        "AWS::Events::Rule" => {
            events::rule(&aws.eventbridge(), &rule_id(physical, expected)).await?
        }
        "AWS::Events::ApiDestination" => {
            events::api_destination(&aws.eventbridge(), physical).await?
        }
        "AWS::Events::Connection" => events::connection(&aws.eventbridge(), physical).await?,
        "AWS::Lambda::Function" => lambda::function(&aws.lambda(), physical).await?,
        "AWS::CloudWatch::Alarm" => cloudwatch::alarm(&aws.cloudwatch(), physical).await?,
        "AWS::SQS::Queue" => sqs::queue(&aws.sqs(), physical).await?,
        "AWS::DynamoDB::Table" => dynamodb::table(&aws.dynamodb(), physical).await?,
        "AWS::SQS::QueuePolicy" => return queue_policy(aws, expected).await,
        "AWS::IAM::Role" => return role(aws, physical, expected).await,
        _ => return Ok(Fetched::Unreadable(format!("no reader for {kind}"))),
    };
    Ok(found.map_or(Fetched::Missing, Fetched::Found))
}

/// A rule's `bus|name`: CloudFormation's physical id of a rule on a custom bus is already that;
/// the local stand-in gives the bare name, and the bus is the template's `EventBusName`.
fn rule_id(physical: &str, expected: &Value) -> String {
    match expected["EventBusName"].as_str() {
        Some(bus) if !physical.contains('|') && bus != "default" => format!("{bus}|{physical}"),
        _ => physical.to_owned(),
    }
}

/// The policy of the (first) queue the template names.
async fn queue_policy(aws: &Aws, expected: &Value) -> Result<Fetched> {
    let Some(url) = expected.pointer("/Queues/0").and_then(Value::as_str) else {
        return Ok(Fetched::Unreadable(
            "its queue URL cannot be resolved".into(),
        ));
    };
    let Some(queue) = sqs::queue(&aws.sqs(), url).await? else {
        return Ok(Fetched::Missing);
    };
    let document = match queue
        .get("Policy")
        .and_then(Value::as_str)
        .map(policy::parse)
    {
        Some(Ok(doc)) => doc,
        Some(Err(why)) => return Ok(Fetched::Unreadable(why)),
        None => Value::Null,
    };
    Ok(Fetched::Found(json!({ "PolicyDocument": document })))
}

/// The role's inline policies that the template declares, parsed leniently (see [`policy`]).
async fn role(aws: &Aws, role: &str, expected: &Value) -> Result<Fetched> {
    let client = aws.iam();
    if !iam::role_exists(&client, role).await? {
        return Ok(Fetched::Missing);
    }
    let names = expected
        .get("Policies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    let mut policies = Vec::new();
    for name in names.filter_map(|p| p.get("PolicyName").and_then(Value::as_str)) {
        let Some(raw) = iam::role_policy(&client, role, name).await? else {
            continue;
        };
        match policy::parse(&raw) {
            Ok(doc) => policies.push(json!({"PolicyName": name, "PolicyDocument": doc})),
            Err(why) => {
                return Ok(Fetched::Unreadable(format!("inline policy {name}: {why}")));
            }
        }
    }
    Ok(Fetched::Found(json!({ "Policies": policies })))
}

/// The template's resources that no named entry of the stack matches. Where the stack lists at
/// least as many entries without any id (the endpoint's skipped types), these are those: not
/// created by the endpoint. Otherwise they are not deployed yet.
fn unlisted(template: &Value, listed: &[&str], anonymous: usize) -> Vec<ResourceDrift> {
    let declared = template.get("Resources").and_then(Value::as_object);
    let missing: Vec<(&String, &Value)> = declared
        .into_iter()
        .flatten()
        .filter(|(id, _)| !listed.contains(&id.as_str()))
        .collect();
    let skipped = anonymous >= missing.len();
    missing
        .into_iter()
        .map(|(id, r)| {
            let kind = r.get("Type").and_then(Value::as_str).unwrap_or_default();
            let r = ResourceDrift::new(id, kind, None);
            if skipped {
                r.with_status(
                    ResourceStatus::NotCreatedByEndpoint,
                    format!("the stack lists {anonymous} resources without a logical or physical id: this endpoint did not create them"),
                )
            } else {
                r.with_status(
                    ResourceStatus::NotChecked,
                    "in the rendered template but not in the stack: `deployer plan` shows it as an addition",
                )
            }
        })
        .collect()
}

/// The artifact key is content-addressed (`refresher/<sha256 hex>.zip`, see `package`), so the
/// template fixes the code too: Lambda's `CodeSha256` is the same digest in base64.
fn add_code_sha256(expected: &mut Value) {
    use base64::Engine;
    let key = expected.pointer("/Code/S3Key").and_then(Value::as_str);
    let digest = key
        .and_then(|k| k.strip_prefix("refresher/")?.strip_suffix(".zip"))
        .and_then(|h| hex::decode(h).ok())
        .filter(|d| d.len() == 32);
    if let (Some(digest), Some(map)) = (digest, expected.as_object_mut()) {
        let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
        map.insert("CodeSha256".to_owned(), Value::String(b64));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_rule_on_a_custom_bus_is_read_as_bus_and_name() {
        let on_bus = serde_json::json!({"EventBusName": "oauth-tokens-local"});
        assert_eq!(
            super::rule_id("RefreshOAuthRequested-local", &on_bus),
            "oauth-tokens-local|RefreshOAuthRequested-local"
        );
        // CloudFormation's own physical id already names the bus; the default bus needs none.
        assert_eq!(super::rule_id("bus|rule", &on_bus), "bus|rule");
        assert_eq!(super::rule_id("rule", &serde_json::json!({})), "rule");
        let default = serde_json::json!({"EventBusName": "default"});
        assert_eq!(super::rule_id("rule", &default), "rule");
    }

    use super::*;

    #[test]
    fn resources_missing_from_the_list_are_matched_to_anonymous_entries() {
        let template = json!({"Resources": {
            "Fn": {"Type": "AWS::Lambda::Function"},
            "Policy": {"Type": "AWS::SQS::QueuePolicy"},
            "Alarm": {"Type": "AWS::CloudWatch::Alarm"},
        }});
        let skipped = unlisted(&template, &["Fn"], 2);
        let mut got: Vec<(&str, ResourceStatus)> = skipped
            .iter()
            .map(|r| (r.logical_id.as_str(), r.status))
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                ("Alarm", ResourceStatus::NotCreatedByEndpoint),
                ("Policy", ResourceStatus::NotCreatedByEndpoint)
            ]
        );
        let not_deployed = unlisted(&template, &["Fn"], 0);
        assert!(
            not_deployed
                .iter()
                .all(|r| r.status == ResourceStatus::NotChecked)
        );
        assert!(unlisted(&template, &["Fn", "Policy", "Alarm"], 0).is_empty());
    }

    #[test]
    fn code_hash_comes_from_the_content_addressed_key() {
        let hex = "00".repeat(31) + "ff";
        let mut v = json!({"Code": {"S3Key": format!("refresher/{hex}.zip")}});
        add_code_sha256(&mut v);
        assert_eq!(
            v["CodeSha256"],
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAP8="
        );
        let mut other = json!({"Code": {"S3Key": "build/latest.zip"}});
        add_code_sha256(&mut other);
        assert!(other.get("CodeSha256").is_none());
    }
}
