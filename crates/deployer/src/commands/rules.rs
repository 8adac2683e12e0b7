//! `deployer rules --stage S list|enable NAME|disable NAME`: the stage's `EventBridge` schedule
//! rules as they are live (state, schedule, the providers their target's input names, whether the
//! target is the stage's function), and switching one rule of the stage on or off. Only rule names
//! the stage computes (`stage::RuleGroup`, and the HTTP trigger's rule when the stage has one) are
//! accepted, so another stage's rules are never touched.

use std::fmt;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use super::Ctx;
use crate::Status;
use crate::aws::events;
use crate::cli::{RulesArgs, RulesCommand};
use crate::health::rules::{DISABLED, ENABLED, MISSING, RuleRow, http_row, row};
use crate::output::{self, note};
use crate::stage::Stage;

/// `rules list`: one row per rule group of the stage.
#[derive(Debug, Serialize)]
pub(super) struct RuleList {
    pub stage: String,
    pub rules: Vec<RuleRow>,
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
    let stage = ctx.load_stage(&args.stage.stage)?;
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

/// Enables or disables one rule of the stage, unless it already is.
async fn set(
    client: &crate::aws::EventBridge,
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::health::rules::http_row;

    #[test]
    fn the_http_trigger_rule_is_a_rule_of_the_stage() {
        let stage = crate::stage::parse(
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
