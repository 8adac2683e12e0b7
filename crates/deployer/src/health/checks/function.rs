//! Checks of the functions: every rule may invoke them, their environment is the template's,
//! the credentials secret holds what each provider needs.

use serde_json::{Map, Value};

use super::{Check, Verdict, check, deploy};
use crate::health::credentials::ProviderState;

/// Every rule may invoke the function: a statement allowing `lambda:InvokeFunction` to
/// `events.amazonaws.com` with the rule as `AWS:SourceArn`. `Err` is why the policy could not be read.
pub(crate) fn permissions(
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
    let Some(statements) = statements(text) else {
        return check(
            name,
            Verdict::Warn,
            "not checkable here: the policy is not JSON",
        );
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

/// A policy document's statements (one, a list, or none); `None` when it is not JSON.
fn statements(policy: &str) -> Option<Vec<Value>> {
    let policy = serde_json::from_str::<Value>(policy).ok()?;
    Some(match &policy["Statement"] {
        Value::Array(list) => list.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    })
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
pub(crate) fn environment(
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
pub(crate) fn credentials(
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
    let (detail, fixes): (Vec<String>, Vec<String>) = bad
        .iter()
        .map(|p| {
            let fix = format!(
                "deployer secrets set --stage {stage} --provider {}",
                p.provider
            );
            (format!("{} {}", p.provider, p.state), fix)
        })
        .unzip();
    check(
        name,
        Verdict::Fail,
        format!("`{secret}`: {}", detail.join(", ")),
    )
    .fix(fixes.join("; "))
}
