//! The stage's schedule rules as they are live, checked against what the stage renders: state,
//! schedule, the providers a target's input names, and whether the target is the stage's function
//! (or, for the HTTP trigger, its API destination). Shared by `rules` and `verify`; pure.

use serde::Serialize;
use serde_json::Value;

use crate::stage::http_trigger_names;
use crate::stage::{HttpTrigger, RuleGroup, Schedule, Stage};

pub const MISSING: &str = "MISSING";
pub const ENABLED: &str = "ENABLED";
pub const DISABLED: &str = "DISABLED";

#[derive(Debug, Serialize)]
pub struct RuleRow {
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

impl RuleRow {
    /// A rule of the stage that `EventBridge` does not have.
    fn missing(name: &str, schedule: &Schedule) -> Self {
        Self {
            name: name.to_owned(),
            schedule: schedule.expression().to_owned(),
            state: MISSING.to_owned(),
            providers: Vec::new(),
            target_ok: false,
            target_problem: Some("the rule does not exist".to_owned()),
        }
    }

    /// A live rule, with what its targets were found to be.
    fn live(
        name: &str,
        live: &Value,
        providers: Vec<String>,
        target_problem: Option<String>,
    ) -> Self {
        Self {
            name: name.to_owned(),
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
}

/// A rule's row: what `EventBridge` has, checked against what the stage renders.
pub fn row(stage: &Stage, group: &RuleGroup, live: Option<&Value>) -> RuleRow {
    let Some(live) = live else {
        return RuleRow::missing(&group.name, &group.schedule);
    };
    let targets = live["Targets"].as_array().map_or(&[][..], Vec::as_slice);
    let (providers, target_problem) = check_targets(targets, &stage.function.name, group);
    RuleRow::live(&group.name, live, providers, target_problem)
}

/// The HTTP trigger's row: what `EventBridge` has, checked against the stage's API destination.
pub fn http_row(trigger: &HttpTrigger, live: Option<&Value>) -> RuleRow {
    let Some(live) = live else {
        return RuleRow::missing(&trigger.rule_name, &trigger.schedule);
    };
    let targets = live["Targets"].as_array().map_or(&[][..], Vec::as_slice);
    let (_, destination) = http_trigger_names(trigger);
    let target_problem = check_http_target(targets, &destination);
    RuleRow::live(&trigger.rule_name, live, Vec::new(), target_problem)
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
    use crate::stage;

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
}
