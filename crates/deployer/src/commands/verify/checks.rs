//! The checks of `deployer verify` on the stack's resources (`runs.rs` has those on the
//! refresher's records), each a pure function from facts already fetched to a
//! [`Check`]: tested without a network (`tests.rs`). A check that cannot be made is a WARN that
//! says why, never a PASS.

use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::aws::cfn::Stack;
use crate::health::alarms::AlarmReport;
use crate::health::credentials::ProviderState;
use crate::health::rules::RuleRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub(super) enum Verdict {
    Pass,
    Warn,
    Fail,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pass => "PASS",
            Self::Warn => "WARN",
            Self::Fail => "FAIL",
        })
    }
}

/// One line of the checklist; `fix` is set for every FAIL (and for WARNs that have one).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(super) struct Check {
    pub name: String,
    pub verdict: Verdict,
    pub detail: String,
    pub fix: Option<String>,
}

pub(super) fn check(name: impl Into<String>, verdict: Verdict, detail: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        verdict,
        detail: detail.into(),
        fix: None,
    }
}

impl Check {
    pub(super) fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

fn deploy(stage: &str) -> String {
    format!("deployer deploy --stage {stage}")
}

/// The stack exists and its last operation completed well.
pub(super) fn stack(stage: &str, stack_name: &str, stack: Option<&Stack>) -> Check {
    let name = "stack";
    let Some(stack) = stack else {
        return check(name, Verdict::Fail, format!("{stack_name} does not exist"))
            .fix(deploy(stage));
    };
    let status = stack.status.as_str();
    match status {
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE" => {
            check(name, Verdict::Pass, format!("{stack_name} is {status}"))
        }
        "UPDATE_ROLLBACK_COMPLETE" => check(
            name,
            Verdict::Warn,
            format!(
                "{stack_name} is {status}: the last update was rolled back, the previous one runs"
            ),
        )
        .fix(deploy(stage)),
        _ => {
            let reason = stack
                .status_reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            check(
                name,
                Verdict::Fail,
                format!("{stack_name} is {status}{reason}"),
            )
            .fix(deploy(stage))
        }
    }
}

/// A schedule rule is enabled and targets the function with the stage's providers as input.
pub(super) fn rule(stage: &str, row: &RuleRow) -> Check {
    let name = format!("rule {}", row.name);
    if row.state == "MISSING" {
        return check(name, Verdict::Fail, "the rule does not exist").fix(deploy(stage));
    }
    if let Some(problem) = &row.target_problem {
        return check(name, Verdict::Fail, format!("target: {problem}")).fix(deploy(stage));
    }
    if row.state != "ENABLED" {
        return check(name, Verdict::Fail, format!("the rule is {}", row.state)).fix(format!(
            "deployer rules --stage {stage} enable {}",
            row.name
        ));
    }
    // The HTTP trigger's rule names no provider: it calls the web app through its destination.
    let input = if row.providers.is_empty() {
        "calls the web app's endpoint through its API destination".to_owned()
    } else {
        format!(
            "input {}",
            serde_json::json!({ "providers": row.providers })
        )
    };
    check(
        name,
        Verdict::Pass,
        format!("ENABLED, {}, {input}", row.schedule),
    )
}

/// The HTTP trigger's header secret exists, and the stack was deployed with its current version
/// (after a rotation the connection keeps sending the old value until the next deploy).
/// `current`: the secret's current version id, `None` when it does not exist; `Err` why it could
/// not be read. `deployed`: the stack's `HttpTriggerSecretVersion` parameter.
pub(super) fn http_trigger_secret(
    stage: &str,
    secret: &str,
    current: &Result<Option<String>, String>,
    deployed: Option<&str>,
) -> Check {
    let name = "http trigger header secret";
    match (current, deployed) {
        (Err(problem), _) => check(
            name,
            Verdict::Warn,
            format!("`{secret}` could not be read: {problem}"),
        ),
        (Ok(None), _) => check(name, Verdict::Fail, format!("`{secret}` does not exist")).fix(
            format!(
                "{}; then {}",
                crate::deploy::create_secret_hint(secret),
                deploy(stage)
            ),
        ),
        (Ok(Some(version)), Some(deployed)) if deployed == version => check(
            name,
            Verdict::Pass,
            format!("`{secret}`: the connection sends its current version"),
        ),
        (Ok(Some(_)), Some(_)) => check(
            name,
            Verdict::Fail,
            format!(
                "`{secret}` was rotated after the last deploy: the connection still sends the previous value"
            ),
        )
        .fix(deploy(stage)),
        (Ok(Some(_)), None) => check(
            name,
            Verdict::Fail,
            format!(
                "the stack has no HttpTriggerSecretVersion parameter: it was deployed before the connection followed `{secret}`'s versions"
            ),
        )
        .fix(deploy(stage)),
    }
}

/// Every rule may invoke the function: a statement allowing `lambda:InvokeFunction` to
/// `events.amazonaws.com` with the rule as `AWS:SourceArn`. `Err` is why the policy could not be read.
pub(super) fn permissions(
    stage: &str,
    rules: &[String],
    policy: &Result<Option<String>, String>,
) -> Check {
    let name = "invoke permissions";
    let text = match policy {
        Err(reason) => {
            return check(name, Verdict::Warn, format!("not checkable here: {reason}"));
        }
        Ok(None) => {
            return check(
                name,
                Verdict::Fail,
                "the function has no resource policy: no rule may invoke it",
            )
            .fix(deploy(stage));
        }
        Ok(Some(text)) => text,
    };
    let Ok(policy) = serde_json::from_str::<Value>(text) else {
        return check(
            name,
            Verdict::Warn,
            "not checkable here: the policy is not JSON",
        );
    };
    let statements = match &policy["Statement"] {
        Value::Array(list) => list.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    };
    let missing: Vec<&str> = rules
        .iter()
        .filter(|rule| !statements.iter().any(|s| allows_rule(s, rule)))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        check(
            name,
            Verdict::Pass,
            format!("{} rule(s) may invoke the function", rules.len()),
        )
    } else {
        check(
            name,
            Verdict::Fail,
            format!("no invoke permission for {}", missing.join(", ")),
        )
        .fix(deploy(stage))
    }
}

fn allows_rule(statement: &Value, rule: &str) -> bool {
    let has = |v: &Value, want: &str| match v {
        Value::String(s) => s == want,
        Value::Array(list) => list.iter().any(|x| x == want),
        _ => false,
    };
    let service = &statement["Principal"];
    let principal =
        has(service, "events.amazonaws.com") || has(&service["Service"], "events.amazonaws.com");
    let source = statement["Condition"].as_object().is_some_and(|ops| {
        ops.values()
            .filter_map(Value::as_object)
            .flat_map(|keys| keys.iter())
            .any(|(key, arn)| {
                key.eq_ignore_ascii_case("AWS:SourceArn")
                    && arn
                        .as_str()
                        .is_some_and(|a| a.ends_with(&format!(":rule/{rule}")))
            })
    });
    statement["Effect"] == "Allow"
        && (has(&statement["Action"], "lambda:InvokeFunction")
            || has(&statement["Action"], "lambda:*"))
        && principal
        && source
}

/// The function has every variable the template sets, and the template's literal values.
/// `expected`: the template's `Environment.Variables` (a string, or an intrinsic object whose
/// value only the stack knows, checked for presence only).
/// The refresher function's environment against the template's (`name` says which function:
/// `function environment`, `token API environment`).
pub(super) fn environment(
    name: &'static str,
    stage: &str,
    function: &str,
    expected: &Map<String, Value>,
    live: Option<&Value>,
) -> Check {
    let Some(live) = live else {
        return check(
            name,
            Verdict::Fail,
            format!("function {function} does not exist"),
        )
        .fix(deploy(stage));
    };
    let vars = &live["Environment"]["Variables"];
    let mut missing = Vec::new();
    let mut differ = Vec::new();
    for (key, want) in expected {
        match (&vars[key], want) {
            (Value::Null, _) => missing.push(key.as_str()),
            (Value::String(have), Value::String(want)) if have != want => differ.push(key.as_str()),
            _ => {}
        }
    }
    if missing.is_empty() && differ.is_empty() {
        return check(
            name,
            Verdict::Pass,
            format!("all {} variables of the template are set", expected.len()),
        );
    }
    let mut detail = Vec::new();
    if !missing.is_empty() {
        detail.push(format!("missing {}", missing.join(", ")));
    }
    if !differ.is_empty() {
        detail.push(format!("not the template's value: {}", differ.join(", ")));
    }
    check(name, Verdict::Fail, detail.join("; ")).fix(deploy(stage))
}

/// Every configured provider that needs client credentials has both strings in the secret.
/// `Err` is why the secret could not be read as JSON.
pub(super) fn credentials(
    stage: &str,
    secret: &str,
    states: &Result<Vec<ProviderState>, String>,
) -> Check {
    let name = "provider credentials";
    let states = match states {
        Ok(states) => states,
        Err(problem) => {
            return check(name, Verdict::Fail, format!("`{secret}`: {problem}")).fix(format!(
                "fix the secret's JSON or delete it, then `deployer secrets set --stage {stage} --provider NAME` for each provider"
            ));
        }
    };
    let bad: Vec<&ProviderState> = states
        .iter()
        .filter(|p| matches!(p.state, "missing" | "invalid"))
        .collect();
    if bad.is_empty() {
        return check(
            name,
            Verdict::Pass,
            format!("`{secret}` holds every provider's credentials"),
        );
    }
    let detail: Vec<String> = bad
        .iter()
        .map(|p| format!("{} {}", p.provider, p.state))
        .collect();
    let fixes: Vec<String> = bad
        .iter()
        .map(|p| {
            format!(
                "deployer secrets set --stage {stage} --provider {}",
                p.provider
            )
        })
        .collect();
    check(
        name,
        Verdict::Fail,
        format!("`{secret}`: {}", detail.join(", ")),
    )
    .fix(fixes.join("; "))
}

/// The dead-letter queue is empty. `depth`: `None` when there is no queue to read (`url` none:
/// no stack output).
pub(super) fn dlq(stage: &str, url: Option<&str>, depth: Option<u64>) -> Check {
    let name = "dead-letter queue";
    match (url, depth) {
        (None, _) => check(name, Verdict::Fail, "the stack has no DlqUrl output").fix(deploy(stage)),
        (Some(url), None) => check(name, Verdict::Fail, format!("{url} does not exist")).fix(deploy(stage)),
        (Some(_), Some(0)) => check(name, Verdict::Pass, "empty"),
        (Some(url), Some(n)) => check(
            name,
            Verdict::Fail,
            format!("{n} message(s) in {url}: failed deliveries, failed runs or token-recovery records"),
        )
        .fix(format!(
            "`deployer dlq --stage {stage} list` shows them; `deployer dlq --stage {stage} redrive` re-delivers failed runs, `deployer dlq --stage {stage} replay` restores token-recovery records"
        )),
    }
}

/// What `CloudWatch` answered. A local stand-in that cannot speak the SDK's protocol answers an
/// HTTP error without an AWS error body, which `aws::describe_error` words as below.
pub(super) const UNANSWERED: &str = "the endpoint may not implement this call";

/// No alarm in ALARM, none missing.
pub(super) fn alarms(stage: &str, report: &Result<AlarmReport, String>) -> Check {
    let name = "alarms";
    let report = match report {
        Err(reason) if reason.contains(UNANSWERED) => {
            return check(
                name,
                Verdict::Warn,
                "not checkable at this endpoint (CloudWatch did not answer)",
            );
        }
        Err(reason) => return check(name, Verdict::Warn, format!("not checkable: {reason}")),
        Ok(report) => report,
    };
    let named = |state: &str| -> Vec<&str> {
        report
            .alarms
            .iter()
            .filter(|a| a.state == state)
            .map(|a| a.name.as_str())
            .collect()
    };
    if report.in_alarm > 0 {
        return check(name, Verdict::Fail, format!("in ALARM: {}", named("ALARM").join(", ")))
            .fix(format!("`deployer alarms --stage {stage}` shows each reason; fix the cause and the alarm returns to OK"));
    }
    if report.missing > 0 {
        return check(
            name,
            Verdict::Fail,
            format!("missing: {}", named("MISSING").join(", ")),
        )
        .fix(deploy(stage));
    }
    check(
        name,
        Verdict::Pass,
        format!("{} alarm(s), none in ALARM", report.alarms.len()),
    )
}
