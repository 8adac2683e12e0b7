//! Structural checks of a rendered template that need no AWS call: every reference resolves,
//! names fit AWS's limits, the template and the function's environment fit their size limits.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

/// CloudFormation's limit for a template passed inline (`TemplateBody`).
pub const INLINE_TEMPLATE_LIMIT: usize = 51_200;
/// CloudFormation's limit for a template read from S3 (`TemplateURL`).
pub const S3_TEMPLATE_LIMIT: usize = 1_000_000;
/// Lambda's limit on the total size of a function's environment variables.
const LAMBDA_ENV_LIMIT: usize = 4096;
/// What an intrinsic in an environment variable may expand to, at most (an ARN or URL).
const INTRINSIC_ALLOWANCE: usize = 256;

const PSEUDO_PARAMETERS: [&str; 8] = [
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
];

/// Name properties and their length limits, per resource type.
const NAME_LIMITS: [(&str, &str, usize); 12] = [
    ("AWS::Lambda::Function", "FunctionName", 64),
    ("AWS::Events::Rule", "Name", 64),
    ("AWS::Events::EventBus", "Name", 256),
    ("AWS::Events::Connection", "Name", 64),
    ("AWS::Events::ApiDestination", "Name", 64),
    ("AWS::SQS::Queue", "QueueName", 80),
    ("AWS::SNS::Topic", "TopicName", 256),
    ("AWS::CloudWatch::Alarm", "AlarmName", 255),
    ("AWS::CloudWatch::Dashboard", "DashboardName", 255),
    ("AWS::DynamoDB::Table", "TableName", 255),
    ("AWS::Logs::LogGroup", "LogGroupName", 512),
    ("AWS::KMS::Alias", "AliasName", 256),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Note,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    /// Where: `Resources.RefresherFunction.Properties.FunctionName`, or `template`.
    pub location: String,
    pub message: String,
}

/// Checks a rendered template; `stack_name` resolves `${AWS::StackName}` in export names.
pub fn check(text: &str, template: &Value, stack_name: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut error = |location: String, message: String| {
        findings.push(Finding {
            severity: Severity::Error,
            location,
            message,
        });
    };
    let resources = section(template, "Resources");
    let parameters = section(template, "Parameters");
    let outputs = section(template, "Outputs");
    counts(&resources, &parameters, &outputs, &mut error);
    let mut targets: BTreeSet<&str> = resources.iter().map(|(k, _)| k.as_str()).collect();
    let resource_ids = targets.clone();
    targets.extend(parameters.iter().map(|(k, _)| k.as_str()));
    targets.extend(PSEUDO_PARAMETERS);
    for (id, resource) in &resources {
        if id.is_empty() || id.len() > 255 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
            error(
                format!("Resources.{id}"),
                "logical id must be 1-255 letters and digits".into(),
            );
        }
        let location = format!("Resources.{id}");
        references(resource, &location, &targets, &resource_ids, &mut error);
        depends_on(id, resource, &resource_ids, &mut error);
        name_limits(id, resource, &mut error);
        lambda_environment(id, resource, &mut error);
    }
    for (id, output) in &outputs {
        let location = format!("Outputs.{id}");
        references(output, &location, &targets, &resource_ids, &mut error);
        export_name(id, output, stack_name, &mut error);
    }
    size(text, &mut findings);
    findings
}

/// The template's sections within CloudFormation's entry limits.
fn counts(
    resources: &[(&String, &Value)],
    parameters: &[(&String, &Value)],
    outputs: &[(&String, &Value)],
    error: &mut impl FnMut(String, String),
) {
    for (name, count, limit) in [
        ("Resources", resources.len(), 500),
        ("Parameters", parameters.len(), 200),
        ("Outputs", outputs.len(), 200),
    ] {
        if count > limit {
            error(
                name.to_owned(),
                format!("{count} entries; CloudFormation allows {limit}"),
            );
        }
    }
}

/// Every `DependsOn` names a resource of the template.
fn depends_on(
    id: &str,
    resource: &Value,
    resource_ids: &BTreeSet<&str>,
    error: &mut impl FnMut(String, String),
) {
    let Some(deps) = resource.get("DependsOn") else {
        return;
    };
    for dep in deps
        .as_array()
        .map_or_else(|| vec![deps], |a| a.iter().collect())
    {
        if !dep.as_str().is_some_and(|d| resource_ids.contains(d)) {
            error(
                format!("Resources.{id}.DependsOn"),
                format!("{dep} is not a resource of this template"),
            );
        }
    }
}

/// An output's export name, with the stack's name in it, fits CloudFormation's 255 characters.
fn export_name(id: &str, output: &Value, stack_name: &str, error: &mut impl FnMut(String, String)) {
    let export = output
        .pointer("/Export/Name/Fn::Sub")
        .and_then(Value::as_str);
    if let Some(name) = export
        .map(|e| e.replace("${AWS::StackName}", stack_name))
        .filter(|name| name.len() > 255)
    {
        error(
            format!("Outputs.{id}.Export"),
            format!("export name `{name}` is longer than 255 characters; use a shorter stack name"),
        );
    }
}

fn section<'a>(template: &'a Value, name: &str) -> Vec<(&'a String, &'a Value)> {
    template
        .get(name)
        .and_then(Value::as_object)
        .map(|m| m.iter().collect())
        .unwrap_or_default()
}

/// The variables of a `Fn::Sub` (string, or `[string, {locals}]`) that name nothing in the
/// template: neither a target, a resource (`Res.Attr`) nor one of its own locals.
fn sub_problems(sub: &Value, targets: &BTreeSet<&str>, resources: &BTreeSet<&str>) -> Vec<String> {
    let text = sub
        .as_str()
        .or_else(|| sub.get(0).and_then(Value::as_str))
        .unwrap_or("");
    let local: BTreeSet<&str> = sub
        .get(1)
        .and_then(Value::as_object)
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    sub_variables(text)
        .into_iter()
        .filter(|var| {
            let head = var.split('.').next().unwrap_or(var);
            !targets.contains(var) && !resources.contains(head) && !local.contains(var)
        })
        .map(|var| format!("Fn::Sub uses ${{{var}}}, which names nothing in this template"))
        .collect()
}

/// Walks a value for `Ref`, `Fn::GetAtt`, `Fn::Sub` and checks that each names something that exists.
fn references(
    value: &Value,
    location: &str,
    targets: &BTreeSet<&str>,
    resources: &BTreeSet<&str>,
    error: &mut impl FnMut(String, String),
) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let here = format!("{location}.{key}");
                match (key.as_str(), inner) {
                    ("Ref", Value::String(target)) if !targets.contains(target.as_str()) => {
                        error(here, format!("Ref to `{target}`, which is neither a resource, a parameter nor a pseudo parameter"));
                    }
                    ("Fn::GetAtt", Value::Array(parts)) => match parts.first().and_then(Value::as_str) {
                        Some(target) if resources.contains(target) && parts.len() == 2 => {}
                        _ => error(here, format!("Fn::GetAtt {inner} must be [<resource of this template>, <attribute>]")),
                    },
                    ("Fn::GetAtt", _) => error(here, "Fn::GetAtt must be a two-item list (the local stand-in misreads the dotted string form)".into()),
                    ("Fn::Sub", sub) => {
                        for problem in sub_problems(sub, targets, resources) {
                            error(here.clone(), problem);
                        }
                        references(sub, &here, targets, resources, error);
                    }
                    _ => references(inner, &here, targets, resources, error),
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                references(item, &format!("{location}[{i}]"), targets, resources, error);
            }
        }
        _ => {}
    }
}

/// `${Name}` and `${Res.Attr}` in a `Fn::Sub` string; `${!Literal}` is not a variable.
fn sub_variables(text: &str) -> Vec<&str> {
    let mut vars = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let var = &after[..end];
        if !var.starts_with('!') {
            vars.push(var);
        }
        rest = &after[end + 1..];
    }
    vars
}

fn name_limits(id: &str, resource: &Value, error: &mut impl FnMut(String, String)) {
    let kind = resource.get("Type").and_then(Value::as_str).unwrap_or("");
    for (_, property, limit) in NAME_LIMITS.iter().filter(|(t, _, _)| *t == kind) {
        let name = resource
            .pointer(&format!("/Properties/{property}"))
            .and_then(Value::as_str);
        if let Some(name) = name.filter(|n| n.len() > *limit) {
            error(
                format!("Resources.{id}.Properties.{property}"),
                format!(
                    "`{name}` is {} characters; {kind} allows {limit}; use a shorter stage or stack name",
                    name.len()
                ),
            );
        }
    }
}

fn lambda_environment(id: &str, resource: &Value, error: &mut impl FnMut(String, String)) {
    let Some(vars) = resource
        .pointer("/Properties/Environment/Variables")
        .and_then(Value::as_object)
    else {
        return;
    };
    let size: usize = vars
        .iter()
        .map(|(k, v)| k.len() + v.as_str().map_or(INTRINSIC_ALLOWANCE, str::len))
        .sum();
    if size > LAMBDA_ENV_LIMIT {
        error(
            format!("Resources.{id}.Properties.Environment"),
            format!(
                "the environment takes up to {size} bytes; Lambda allows {LAMBDA_ENV_LIMIT}; configure fewer providers or shorter user agents/URLs"
            ),
        );
    }
}

fn size(text: &str, findings: &mut Vec<Finding>) {
    let bytes = text.len();
    let (severity, message) = if bytes > S3_TEMPLATE_LIMIT {
        (
            Severity::Error,
            format!("{bytes} bytes is over CloudFormation's 1 MB limit even through S3"),
        )
    } else if bytes > INLINE_TEMPLATE_LIMIT {
        (
            Severity::Note,
            format!(
                "{bytes} bytes is over the {INLINE_TEMPLATE_LIMIT}-byte inline limit; deploy uploads it to the artifact bucket and passes its URL"
            ),
        )
    } else {
        return;
    };
    findings.push(Finding {
        severity,
        location: "template".to_owned(),
        message,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(template: &Value) -> Vec<String> {
        check("", template, "Stack")
            .into_iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| format!("{}: {}", f.location, f.message))
            .collect()
    }

    #[test]
    fn dangling_references_are_found() {
        let t = json!({
            "Parameters": {"P": {"Type": "String"}},
            "Resources": {
                "A": {"Type": "AWS::SQS::Queue", "Properties": {
                    "X": {"Ref": "P"}, "Y": {"Ref": "AWS::Region"}, "Z": {"Ref": "Missing"},
                    "G": {"Fn::GetAtt": ["Gone", "Arn"]}, "D": {"Fn::GetAtt": "A.Arn"},
                    "S": {"Fn::Sub": "${A.Arn}/${Nope}/${!Literal}/${AWS::AccountId}"}
                }, "DependsOn": ["Ghost"]}
            },
            "Outputs": {"O": {"Value": {"Ref": "Elsewhere"}}}
        });
        let errs = errors(&t);
        assert_eq!(errs.len(), 6, "{errs:#?}");
        for needle in [
            "`Missing`",
            "Gone",
            "two-item list",
            "${Nope}",
            "Ghost",
            "`Elsewhere`",
        ] {
            assert!(
                errs.iter().any(|e| e.contains(needle)),
                "{needle} not in {errs:#?}"
            );
        }
    }

    #[test]
    fn names_and_sizes_are_limited() {
        let long = "x".repeat(65);
        let t = json!({"Resources": {
            "F": {"Type": "AWS::Lambda::Function", "Properties": {
                "FunctionName": long,
                "Environment": {"Variables": {"BIG": "y".repeat(5000)}}
            }}
        }});
        let errs = errors(&t);
        assert!(errs.iter().any(|e| e.contains("allows 64")), "{errs:#?}");
        assert!(
            errs.iter().any(|e| e.contains("Lambda allows 4096")),
            "{errs:#?}"
        );
        let big = "z".repeat(INLINE_TEMPLATE_LIMIT + 1);
        let notes = check(&big, &json!({}), "S");
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].severity, Severity::Note);
    }
}
