//! `deployer verify --stage S`: the post-deploy checklist. Each check is PASS, FAIL or WARN, and
//! each FAIL names its fix (a deployer command where one exists). Exit 1 on any FAIL, else 0.
//!
//! Checked, in order: the stack is in a healthy `*_COMPLETE` state; every schedule rule of the
//! stage is enabled and targets the function with `{"providers":[...]}` (as `deployer rules list`
//! reads them); with an HTTP trigger, its rule is enabled and targets its API destination, and
//! its header secret exists with the version the stack was deployed with (a rotation not yet
//! deployed is a FAIL); the function's resource policy lets every rule invoke it (WARN when the endpoint
//! cannot answer `GetPolicy`); the function has every environment variable the rendered template
//! sets; the credentials secret holds every provider's client credentials (as `deployer secrets
//! list` reads it); the DLQ is empty; no alarm is in ALARM or missing (WARN when `CloudWatch`
//! cannot be asked, as on the local stand-in); each provider had a successful refresh within two
//! schedule periods (from the analytics records, as `deployer status`); no token is `needs_reauth`
//! (WARN, with the `deployer tokens connect` command).
//!
//! This module fetches; `health::checks` decides, without a network. Fixes name the stage as it was
//! given on the command line, so they can be pasted as they are.

use std::fmt;

use anyhow::Result;
use refresher::secret::SecretString;
use serde::Serialize;

use super::Ctx;
use crate::aws::{Aws, cfn, cloudwatch, events, lambda, secrets, sqs};
use crate::cli::VerifyArgs;
use crate::health::checks::{self, Check, Verdict};
use crate::stage::Stage;
use crate::template::{self, context};
use crate::{Status, output};

mod data;

#[derive(Debug, Serialize)]
struct VerifyReport {
    stage: String,
    passed: usize,
    failed: usize,
    warned: usize,
    checks: Vec<Check>,
}

impl VerifyReport {
    fn new(stage: &str, checks: Vec<Check>) -> Self {
        let count = |v: Verdict| checks.iter().filter(|c| c.verdict == v).count();
        Self {
            stage: stage.to_owned(),
            passed: count(Verdict::Pass),
            failed: count(Verdict::Fail),
            warned: count(Verdict::Warn),
            checks,
        }
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        for c in &self.checks {
            writeln!(f, "{}  {:<width$}  {}", c.verdict, c.name, c.detail)?;
            if let Some(fix) = &c.fix {
                writeln!(f, "      fix: {fix}")?;
            }
        }
        writeln!(
            f,
            "stage {}: {} passed, {} failed, {} warning(s)",
            self.stage, self.passed, self.failed, self.warned
        )
    }
}

pub(super) async fn run(args: &VerifyArgs, ctx: &Ctx) -> Result<Status> {
    let stage = ctx.load_stage(&args.stage.stage)?;
    let given = args.stage.stage.as_str();
    let aws = ctx.aws(&stage).await;
    let live = cfn::describe(&aws.cloudformation(), &stage.stack_name).await?;
    let mut list = vec![checks::stack(given, &stage.stack_name, live.as_ref())];
    if let Some(live) = &live {
        list.extend(infrastructure(&aws, &stage, given, live).await?);
        list.extend(data::checks(&aws, &stage, given).await?);
    } else {
        output::note("no stack: nothing else to verify");
    }
    let report = VerifyReport::new(&stage.name, list);
    ctx.printer.emit(&report)?;
    Ok(if report.failed > 0 {
        Status::Failed
    } else {
        Status::Ok
    })
}

/// The schedule rules and the HTTP trigger (its rule, and its secret's deployed version).
async fn rules(aws: &Aws, stage: &Stage, given: &str, live: &cfn::Stack) -> Result<Vec<Check>> {
    let mut list = Vec::new();
    let bridge = aws.eventbridge();
    for group in &stage.rules {
        let rule = events::rule(&bridge, &group.name).await?;
        let row = crate::health::rules::row(stage, group, rule.as_ref());
        list.push(checks::rule(given, &row));
    }
    if let Some(trigger) = &stage.http_trigger {
        let rule = events::rule(&bridge, &trigger.rule_name).await?;
        list.push(checks::rule(
            given,
            &crate::health::rules::http_row(trigger, rule.as_ref()),
        ));
        let current = secrets::current_version(&aws.secretsmanager(), &trigger.secret)
            .await
            .map_err(|e| format!("{e:#}"));
        let deployed = live
            .parameters
            .get(context::HTTP_TRIGGER_SECRET_VERSION)
            .map(String::as_str);
        list.push(checks::http_trigger_secret(
            given,
            &trigger.secret,
            &current,
            deployed,
        ));
    }
    Ok(list)
}

/// Rules, invoke permissions, environment, credentials, DLQ, alarms.
async fn infrastructure(
    aws: &Aws,
    stage: &Stage,
    given: &str,
    live: &cfn::Stack,
) -> Result<Vec<Check>> {
    let mut list = rules(aws, stage, given, live).await?;
    let client = aws.lambda();
    let function = &stage.function.name;
    let policy = lambda::policy(&client, function)
        .await
        .map_err(|e| format!("{e:#}"));
    let rules: Vec<String> = stage.rules.iter().map(|g| g.name.clone()).collect();
    list.push(checks::permissions(given, &rules, &policy));

    let rendered = template::render(stage)?;
    list.push(environment(aws, given, &rendered.value, "RefresherFunction", function).await?);
    if let Some(api) = &stage.token_api {
        list.push(environment(aws, given, &rendered.value, "TokenApiFunction", &api.name).await?);
    }

    list.push(credentials(aws, stage, given).await?);
    list.push(dlq(aws, given, live).await?);
    list.push(alarms(aws, stage, given, &rendered.value).await);
    Ok(list)
}

/// Whether the credentials secret holds every provider's client credentials.
async fn credentials(aws: &Aws, stage: &Stage, given: &str) -> Result<Check> {
    let secret_name = stage.names().credentials_secret;
    let secret = secrets::get(&aws.secretsmanager(), &secret_name).await?;
    let states =
        crate::health::credentials::states(stage, secret.as_ref().map(SecretString::expose));
    Ok(checks::credentials(given, &secret_name, &states))
}

/// Whether the DLQ (the stack's `DlqUrl` output) is empty.
async fn dlq(aws: &Aws, given: &str, live: &cfn::Stack) -> Result<Check> {
    let url = live
        .outputs
        .iter()
        .find(|o| o.key == "DlqUrl")
        .map(|o| o.value.clone());
    let depth = match &url {
        Some(url) => sqs::approximate_messages(&aws.sqs(), url).await?,
        None => None,
    };
    Ok(checks::dlq(given, url.as_deref(), depth))
}

/// Whether any alarm the template declares is in ALARM or missing.
async fn alarms(aws: &Aws, stage: &Stage, given: &str, template: &serde_json::Value) -> Check {
    let declared = crate::health::alarms::declared_alarms(template);
    let names: Vec<String> = declared.iter().map(|(_, name)| name.clone()).collect();
    let alarms = cloudwatch::alarm_states(&aws.cloudwatch(), &names)
        .await
        .map(|states| crate::health::alarms::report(&stage.name, declared, &states))
        .map_err(|e| format!("{e:#}"));
    checks::alarms(given, &alarms)
}

/// A function's live environment against the rendered template's `logical_id`.
async fn environment(
    aws: &Aws,
    given: &str,
    template: &serde_json::Value,
    logical_id: &str,
    function: &str,
) -> Result<Check> {
    let expected = template["Resources"][logical_id]["Properties"]["Environment"]["Variables"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let config = lambda::function(&aws.lambda(), function).await?;
    let name = if logical_id == "TokenApiFunction" {
        "token API environment"
    } else {
        "function environment"
    };
    Ok(checks::environment(
        name,
        given,
        function,
        &expected,
        config.as_ref(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::cfn::Stack;
    use crate::health::checks::runs;
    use crate::health::rules::RuleRow;

    fn stack(status: &str) -> Stack {
        Stack {
            name: "S".to_owned(),
            id: "id".to_owned(),
            status: status.to_owned(),
            status_reason: None,
            termination_protection: false,
            outputs: Vec::new(),
            parameters: std::collections::BTreeMap::new(),
            tags: std::collections::BTreeMap::new(),
        }
    }

    fn row(state: &str) -> RuleRow {
        RuleRow {
            name: "R-dev".to_owned(),
            schedule: "rate(15 minutes)".to_owned(),
            state: state.to_owned(),
            providers: vec!["tiktok".to_owned()],
            target_ok: true,
            target_problem: None,
        }
    }

    #[test]
    fn the_report_counts_and_shows_fixes() {
        let report = VerifyReport::new(
            "dev",
            vec![
                checks::stack("dev", "S", Some(&stack("CREATE_COMPLETE"))),
                checks::rule("dev", &row("DISABLED")),
                runs::reauth("dev", &[]),
            ],
        );
        assert_eq!((report.passed, report.failed, report.warned), (2, 1, 0));
        let text = report.to_string();
        assert!(text.contains("FAIL  rule R-dev"), "{text}");
        assert!(
            text.contains("      fix: deployer rules --stage dev enable R-dev"),
            "{text}"
        );
        assert!(
            text.ends_with("stage dev: 2 passed, 1 failed, 0 warning(s)\n"),
            "{text}"
        );
    }
}
