//! Checks of the stack and what hangs on it: its state, the rules, the HTTP trigger's secret,
//! the dead-letter queue, the alarms.

use super::{Check, UNANSWERED, Verdict, check, deploy};
use crate::aws::cfn::Stack;
use crate::health::alarms::AlarmReport;
use crate::health::rules::RuleRow;

/// The stack exists and its last operation completed well.
pub(crate) fn stack(stage: &str, stack_name: &str, stack: Option<&Stack>) -> Check {
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
pub(crate) fn rule(stage: &str, row: &RuleRow) -> Check {
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
pub(crate) fn http_trigger_secret(
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

/// The dead-letter queue is empty. `depth`: `None` when there is no queue to read (`url` none:
/// no stack output).
pub(crate) fn dlq(stage: &str, url: Option<&str>, depth: Option<u64>) -> Check {
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

/// No alarm in ALARM, none missing.
pub(crate) fn alarms(stage: &str, report: &Result<AlarmReport, String>) -> Check {
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
