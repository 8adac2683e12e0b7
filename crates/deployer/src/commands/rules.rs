//! `deployer rules --stage S list|enable NAME|disable NAME`: the stage's `EventBridge` schedule
//! rules as they are live (state, schedule, the providers their target's input names, whether the
//! target is the stage's function), and switching one rule of the stage on or off. Only rule names
//! the stage computes (`stage::RuleGroup`, and the HTTP trigger's rule when the stage has one) are
//! accepted, so another stage's rules are never touched.

use std::fmt;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::Value;

use super::Ctx;
use crate::aws::events;
use crate::cli::{RulesArgs, RulesCommand};
use crate::output::{self, note};
use crate::stage::{HttpTrigger, RuleGroup, Stage};
use crate::template::context::http_trigger_names;
use crate::{Status, stage};

/// `rules list`: one row per rule group of the stage.
#[derive(Debug, Serialize)]
pub(super) struct RuleList {
    pub stage: String,
    pub rules: Vec<RuleRow>,
}

#[derive(Debug, Serialize)]
pub(super) struct RuleRow {
    pub name: String,
    /// The live schedule (the stage's when the rule is missing).
    pub schedule: String,
    /// `ENABLED`, `DISABLED`, or `MISSING` when `EventBridge` has no such rule.
    pub state: String,
    /// Providers the target's input names (`{"providers":[...]}`); none for the HTTP trigger.
    pub providers: Vec<String>,
    pub target_ok: bool,
    /// Why the target is not ok: none, not the stage's function, or another input.
    pub target_problem: Option<String>,
}

/// `rules enable|disable`: what changed, if anything.
#[derive(Debug, Serialize)]
pub(super) struct RuleChange {
    pub stage: String,
    pub rule: String,
    pub before: String,
    pub after: String,
    pub changed: bool,
}

impl fmt::Display for RuleList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<[String; 5]> = self
            .rules
            .iter()
            .map(|r| {
                let target = match &r.target_problem {
                    None => "ok".to_owned(),
                    Some(problem) => format!("NOT OK: {problem}"),
                };
                [
                    r.name.clone(),
                    r.schedule.clone(),
                    r.state.clone(),
                    r.providers.join(","),
                    target,
                ]
            })
            .collect();
        let header = ["RULE", "SCHEDULE", "STATE", "PROVIDERS", "TARGET"];
        output::write_table(f, header, &rows)
    }
}

impl fmt::Display for RuleChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.changed {
            writeln!(f, "{}: {} -> {}", self.rule, self.before, self.after)
        } else {
            writeln!(
                f,
                "{} is already {}; nothing changed",
                self.rule, self.after
            )
        }
    }
}

pub(super) async fn run(args: &RulesArgs, ctx: &Ctx) -> Result<Status> {
    let stage = stage::load(&ctx.stage_file(&args.stage.stage))?;
    let client = ctx.aws(&stage).await.eventbridge();
    match &args.command {
        RulesCommand::List => {
            let mut rules = Vec::new();
            for group in &stage.rules {
                let live = events::rule(&client, &group.name).await?;
                rules.push(row(&stage, group, live.as_ref()));
            }
            if let Some(trigger) = &stage.http_trigger {
                let live = events::rule(&client, &trigger.rule_name).await?;
                rules.push(http_row(trigger, live.as_ref()));
            }
            if rules.iter().any(|r| r.state == MISSING) {
                note(&format!(
                    "a rule is missing: is the stack deployed? Run `deployer deploy --stage {}`",
                    stage.name
                ));
            }
            ctx.printer.emit(&RuleList {
                stage: stage.name.clone(),
                rules,
            })?;
        }
        RulesCommand::Enable(rule) => set(&client, &stage, &rule.name, true, ctx).await?,
        RulesCommand::Disable(rule) => set(&client, &stage, &rule.name, false, ctx).await?,
    }
    Ok(Status::Ok)
}

const MISSING: &str = "MISSING";
const ENABLED: &str = "ENABLED";
const DISABLED: &str = "DISABLED";

/// Enables or disables one rule of the stage, unless it already is.
async fn set(
    client: &aws_sdk_eventbridge::Client,
    stage: &Stage,
    name: &str,
    enable: bool,
    ctx: &Ctx,
) -> Result<()> {
    let rule = rule_name(stage, name)?;
    let live = events::rule(client, rule).await?.with_context(|| {
        format!(
            "rule {rule} does not exist in EventBridge; deploy the stack with `deployer deploy --stage {}`",
            stage.name
        )
    })?;
    let before = live["State"].as_str().unwrap_or(MISSING).to_owned();
    let after = if enable { ENABLED } else { DISABLED };
    let changed = before != after;
    if changed {
        events::set_rule_enabled(client, rule, enable).await?;
        if !enable {
            note(&format!(
                "`deployer drift --stage {0}` reports {1} as modified until `deployer rules --stage {0} enable {1}`",
                stage.name, rule
            ));
        }
    }
    ctx.printer.emit(&RuleChange {
        stage: stage.name.clone(),
        rule: rule.to_owned(),
        before,
        after: after.to_owned(),
        changed,
    })
}

/// The stage's rule of that name, or an error naming the valid ones.
fn rule_name<'a>(stage: &'a Stage, name: &str) -> Result<&'a str> {
    let names: Vec<&str> = stage
        .rules
        .iter()
        .map(|g| g.name.as_str())
        .chain(stage.http_trigger.as_ref().map(|t| t.rule_name.as_str()))
        .collect();
    if let Some(rule) = names.iter().find(|n| **n == name) {
        return Ok(rule);
    }
    bail!(
        "`{name}` is not a rule of stage {}; its rules are: {} (see `deployer rules --stage {} list`)",
        stage.name,
        names.join(", "),
        stage.name
    )
}

/// A rule's row: what `EventBridge` has, checked against what the stage renders.
pub(super) fn row(stage: &Stage, group: &RuleGroup, live: Option<&Value>) -> RuleRow {
    let Some(live) = live else {
        return RuleRow {
            name: group.name.clone(),
            schedule: group.schedule.expression().to_owned(),
            state: MISSING.to_owned(),
            providers: Vec::new(),
            target_ok: false,
            target_problem: Some("the rule does not exist".to_owned()),
        };
    };
    let targets = live["Targets"].as_array().map_or(&[][..], Vec::as_slice);
    let (providers, target_problem) = check_targets(targets, &stage.function.name, group);
    RuleRow {
        name: group.name.clone(),
        schedule: live["ScheduleExpression"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        state: live["State"].as_str().unwrap_or("UNKNOWN").to_owned(),
        providers,
        target_ok: target_problem.is_none(),
        target_problem,
    }
}

/// The HTTP trigger's row: what `EventBridge` has, checked against the stage's API destination.
pub(super) fn http_row(trigger: &HttpTrigger, live: Option<&Value>) -> RuleRow {
    let Some(live) = live else {
        return RuleRow {
            name: trigger.rule_name.clone(),
            schedule: trigger.schedule.expression().to_owned(),
            state: MISSING.to_owned(),
            providers: Vec::new(),
            target_ok: false,
            target_problem: Some("the rule does not exist".to_owned()),
        };
    };
    let targets = live["Targets"].as_array().map_or(&[][..], Vec::as_slice);
    let (_, destination) = http_trigger_names(trigger);
    let target_problem = check_http_target(targets, &destination);
    RuleRow {
        name: trigger.rule_name.clone(),
        schedule: live["ScheduleExpression"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        state: live["State"].as_str().unwrap_or("UNKNOWN").to_owned(),
        providers: Vec::new(),
        target_ok: target_problem.is_none(),
        target_problem,
    }
}

/// What is wrong with the HTTP trigger's targets, if anything: exactly one, the stage's API
/// destination (`...:api-destination/<name>/<id>`), called with a role.
fn check_http_target(targets: &[Value], destination: &str) -> Option<String> {
    let [target] = targets else {
        return Some(format!("{} targets, expected 1", targets.len()));
    };
    let arn = target["Arn"].as_str().unwrap_or_default();
    if !arn.contains(&format!(":api-destination/{destination}/")) {
        Some(format!("targets {arn}, not API destination {destination}"))
    } else if target["RoleArn"].as_str().is_none_or(str::is_empty) {
        Some("no role: EventBridge cannot call the API destination".to_owned())
    } else {
        None
    }
}

/// The providers the rule's target input names, and what is wrong with the targets, if anything:
/// exactly one target, the stage's function, with the stage's providers as input.
fn check_targets(
    targets: &[Value],
    function: &str,
    group: &RuleGroup,
) -> (Vec<String>, Option<String>) {
    let [target] = targets else {
        return (
            Vec::new(),
            Some(format!("{} targets, expected 1", targets.len())),
        );
    };
    let input: Option<Value> = target["Input"]
        .as_str()
        .and_then(|text| serde_json::from_str(text).ok());
    let providers: Vec<String> = input
        .as_ref()
        .and_then(|i| i["providers"].as_array())
        .map(|list| {
            list.iter()
                .filter_map(|p| p.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let arn = target["Arn"].as_str().unwrap_or_default();
    let problem = if !arn.ends_with(&format!(":function:{function}")) {
        Some(format!("targets {arn}, not function {function}"))
    } else if providers != group.providers {
        Some(format!(
            "input names [{}], the stage [{}]",
            providers.join(","),
            group.providers.join(",")
        ))
    } else {
        None
    };
    (providers, problem)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn group() -> RuleGroup {
        let stage = stage::parse(
            include_str!("../../../../stages/local.yaml"),
            std::path::Path::new("local.yaml"),
        )
        .expect("the local stage is valid");
        stage
            .rules
            .into_iter()
            .find(|g| g.providers.len() == 2)
            .expect("local has a two-provider rule")
    }

    #[test]
    fn a_target_of_the_function_with_the_providers_is_ok() {
        let group = group();
        let target = json!({
            "Arn": "arn:aws:lambda:us-east-1:123456789012:function:RefreshOAuth-local",
            "Input": r#"{"providers":["reddit","tiktok"]}"#,
        });
        let (providers, problem) = check_targets(&[target], "RefreshOAuth-local", &group);
        assert_eq!(providers, ["reddit", "tiktok"]);
        assert_eq!(problem, None);
    }

    #[test]
    fn another_function_or_input_is_named() {
        let group = group();
        let other = json!({"Arn": "arn:aws:lambda:us-east-1:1:function:Other", "Input": r#"{"providers":["reddit","tiktok"]}"#});
        let (_, problem) = check_targets(&[other], "RefreshOAuth-local", &group);
        assert!(problem.unwrap().contains("not function RefreshOAuth-local"));
        let input = json!({"Arn": "arn:aws:lambda:us-east-1:1:function:RefreshOAuth-local", "Input": r#"{"providers":["reddit"]}"#});
        let (_, problem) = check_targets(&[input], "RefreshOAuth-local", &group);
        assert_eq!(
            problem.unwrap(),
            "input names [reddit], the stage [reddit,tiktok]"
        );
        let (_, problem) = check_targets(&[], "RefreshOAuth-local", &group);
        assert_eq!(problem.unwrap(), "0 targets, expected 1");
    }

    #[test]
    fn the_http_trigger_targets_its_api_destination_with_a_role() {
        let dest = "RefreshOAuthHttp-staging";
        let arn = format!("arn:aws:events:us-east-1:1:api-destination/{dest}/0a1b2c");
        let role = "arn:aws:iam::1:role/OAuthRefreshStack-staging-HttpTriggerRole-X";
        let ok = json!({"Arn": arn, "RoleArn": role});
        assert_eq!(check_http_target(&[ok], dest), None);
        let no_role = json!({"Arn": arn, "RoleArn": null});
        assert!(
            check_http_target(&[no_role], dest)
                .unwrap()
                .contains("no role")
        );
        let other = json!({"Arn": "arn:aws:lambda:us-east-1:1:function:RefreshOAuth-staging", "RoleArn": role});
        assert!(
            check_http_target(&[other], dest)
                .unwrap()
                .contains("not API destination RefreshOAuthHttp-staging")
        );
    }

    #[test]
    fn the_http_trigger_rule_is_a_rule_of_the_stage() {
        let stage = stage::parse(
            include_str!("../../../../stages/staging.yaml"),
            std::path::Path::new("staging.yaml"),
        )
        .expect("the staging stage is valid");
        assert_eq!(
            rule_name(&stage, "RefreshOAuthHttp-staging").unwrap(),
            "RefreshOAuthHttp-staging"
        );
        let err = rule_name(&stage, "RefreshOAuthHttp-prod")
            .unwrap_err()
            .to_string();
        assert!(err.contains("RefreshOAuthHttp-staging"), "{err}");
        let live =
            json!({"State": "DISABLED", "ScheduleExpression": "rate(30 minutes)", "Targets": []});
        let row = http_row(stage.http_trigger.as_ref().unwrap(), Some(&live));
        assert_eq!((row.state.as_str(), row.target_ok), ("DISABLED", false));
    }
}
