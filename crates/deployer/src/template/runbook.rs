//! The stage's operations runbook (Markdown), rendered by the same tera engine as the stack
//! (`templates/runbook.md.tera`) over the same [`context`] the stack is rendered from, plus what
//! only the runbook needs: the alarms as the rendered template declares them, the dashboard URL
//! with the stage's region, and one row per provider. So every name in the runbook is the one
//! `deploy` creates, and no naming rule is repeated here or in the template. Pure.

use serde::Serialize;
use serde_json::Value;

use super::{RenderError, context, engine, tera_error};
use crate::stage::Stage;

/// The runbook's template, among the engine's.
pub(super) const RUNBOOK: &str = "runbook.md.tera";

/// An alarm of the stack, and the runbook section that handles it.
#[derive(Debug, Serialize)]
struct Alarm {
    name: String,
    description: String,
    /// Anchor of the triage section, e.g. `errors`.
    section: &'static str,
}

/// A provider's row: its schedule, the rule that runs it and its limits.
#[derive(Debug, Serialize)]
struct ProviderRow {
    name: String,
    window: String,
    schedule: String,
    rule: String,
    rate_limit_per_minute: u32,
    concurrency: u32,
}

/// The runbook of a validated stage.
pub fn render(stage: &Stage) -> Result<String, RenderError> {
    let rendered = super::render(stage)?;
    let base = context::build(stage);
    let dashboard_url = base
        .outputs
        .iter()
        .find(|o| o.name == "DashboardUrl")
        .and_then(|o| o.value["Fn::Sub"].as_str())
        .map(|text| substitute(text, stage))
        .ok_or_else(|| RenderError::Tera {
            name: RUNBOOK.to_owned(),
            detail: "the stack's outputs have no DashboardUrl (a bug in template::context)"
                .to_owned(),
        })?;
    let mut ctx = tera::Context::from_serialize(&base).map_err(|e| tera_error("context", &e))?;
    ctx.insert("dashboard_url", &dashboard_url);
    ctx.insert("alarms", &alarms(&rendered.value));
    ctx.insert("provider_rows", &provider_rows(stage));
    let all: Vec<&str> = stage.providers.keys().map(String::as_str).collect();
    ctx.insert("all_providers", &all.join(","));
    let text = engine()?
        .render(RUNBOOK, &ctx)
        .map_err(|e| tera_error(RUNBOOK, &e))?;
    Ok(tidy(&text))
}

/// `${AWS::Region}`, `${AWS::AccountId}` and `${AWS::Partition}` of a `Fn::Sub` string, as the
/// stage's stack resolves them.
fn substitute(text: &str, stage: &Stage) -> String {
    text.replace("${AWS::Region}", &stage.region)
        .replace("${AWS::AccountId}", &stage.account_id)
        .replace("${AWS::Partition}", "aws")
}

/// Every `AWS::CloudWatch::Alarm` of the rendered template, by name.
fn alarms(template: &Value) -> Vec<Alarm> {
    let Some(resources) = template["Resources"].as_object() else {
        return Vec::new();
    };
    let mut alarms: Vec<Alarm> = resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
        .filter_map(|(id, r)| {
            let props = &r["Properties"];
            Some(Alarm {
                name: props["AlarmName"].as_str()?.to_owned(),
                description: props["AlarmDescription"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                section: section(id),
            })
        })
        .collect();
    alarms.sort_by(|a, b| a.name.cmp(&b.name));
    alarms
}

/// The triage section of an alarm, by its logical id.
fn section(logical_id: &str) -> &'static str {
    match logical_id {
        "FunctionErrorsAlarm" | "ProviderUnusableAlarm" => "errors",
        "TokenApiErrorsAlarm" | "TokenApiThrottlesAlarm" | "TokenApiLatencyAlarm" => "token-api",
        "FunctionThrottlesAlarm" => "throttles",
        "DlqDepthAlarm" => "dead-letter-queue",
        "RefreshFailuresAlarm" => "refresh-failures-and-rate-limiting",
        "NeedsReauthAlarm" => "re-authorise-a-token",
        "TokenSetsLostAlarm" => "token-sets-lost",
        "EventsLostAlarm" => "failed-invocations",
        id if id.ends_with("FailedInvocationsAlarm") || id.ends_with("SentToDlqAlarm") => {
            "failed-invocations"
        }
        id if id.starts_with("NoSuccessfulRun") => "no-successful-run",
        _ => "alarms",
    }
}

fn provider_rows(stage: &Stage) -> Vec<ProviderRow> {
    stage
        .providers
        .values()
        .map(|p| ProviderRow {
            name: p.name.clone(),
            window: duration(p.window_s),
            schedule: p.schedule.expression().to_owned(),
            rule: stage
                .rules
                .iter()
                .find(|g| g.providers.contains(&p.name))
                .map(|g| g.name.clone())
                .unwrap_or_default(),
            rate_limit_per_minute: p.rate_limit_per_minute,
            concurrency: p.concurrency,
        })
        .collect()
}

/// `7d`, `1h`, `20m`, `90s`: the largest whole unit.
fn duration(seconds: u64) -> String {
    match seconds {
        s if s > 0 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s > 0 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s > 0 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// At most one blank line in a row, and one newline at the end: tera's tags leave more.
fn tidy(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = false;
    for line in text.lines().map(str::trim_end) {
        if line.is_empty() {
            if !blank && !out.is_empty() {
                out.push('\n');
            }
            blank = true;
        } else {
            out.push_str(line);
            out.push('\n');
            blank = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prod() -> Stage {
        crate::stage::parse(
            include_str!("../../../../stages/prod.yaml"),
            std::path::Path::new("prod.yaml"),
        )
        .expect("the prod stage is valid")
    }

    #[test]
    fn runbook_prod_snapshot() {
        let text = render(&prod()).expect("the prod runbook renders");
        insta::with_settings!({
            snapshot_path => "../../tests/snapshots",
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!("runbook-prod", text);
        });
    }

    #[test]
    fn the_staging_runbook_runs_its_http_trigger() {
        let stage = crate::stage::parse(
            include_str!("../../../../stages/staging.yaml"),
            std::path::Path::new("staging.yaml"),
        )
        .expect("the staging stage is valid");
        let text = render(&stage).expect("the staging runbook renders");
        for want in [
            "| HTTP trigger | `RefreshOAuthHttp-staging`: `rate(30 minutes)` (UTC), POST https://staging.app.example.com/api/cron/refresh-oauth with header `x-cron-secret` from secret `oauth-refresher-staging/cron-secret` |",
            "## HTTP trigger",
            "deployer rules --stage staging disable RefreshOAuthHttp-staging",
            "aws secretsmanager put-secret-value --secret-id oauth-refresher-staging/cron-secret",
            "`RefreshOAuthHttp-staging-failed-invocations`",
        ] {
            assert!(text.contains(want), "the runbook lacks `{want}`:\n{text}");
        }
        assert!(
            !render(&prod()).unwrap().contains("## HTTP trigger"),
            "prod has no HTTP trigger"
        );
    }

    /// Every stage file of the repository, parsed.
    fn every_stage() -> Vec<Stage> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../stages");
        let mut stages = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("stages/") {
            let path = entry.expect("a stage file").path();
            if path.extension().is_some_and(|e| e == "yaml") {
                let text = std::fs::read_to_string(&path).expect("a readable stage file");
                stages.push(crate::stage::parse(&text, &path).expect("a valid stage"));
            }
        }
        stages
    }

    #[test]
    fn every_alarm_leads_to_a_section_that_handles_it() {
        for stage in every_stage() {
            let text = render(&stage).expect("the runbook renders");
            let rendered = super::super::render(&stage).expect("the stack renders");
            // GitHub's anchor of a heading: lower case, spaces to `-`, other punctuation dropped.
            let anchors: Vec<String> = text
                .lines()
                .filter_map(|line| line.strip_prefix("## "))
                .map(|heading| {
                    heading
                        .to_lowercase()
                        .chars()
                        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-')
                        .map(|c| if c == ' ' { '-' } else { c })
                        .collect()
                })
                .collect();
            for alarm in alarms(&rendered.value) {
                assert_ne!(
                    alarm.section, "alarms",
                    "stage {}: alarm {} has no triage section (map it in runbook::section)",
                    stage.name, alarm.name
                );
                assert!(
                    anchors.iter().any(|a| a == alarm.section),
                    "stage {}: alarm {} points at #{}, which the runbook does not have",
                    stage.name,
                    alarm.name,
                    alarm.section
                );
            }
        }
    }

    #[test]
    fn the_token_api_has_its_section_where_the_stage_has_it() {
        for stage in every_stage() {
            let text = render(&stage).expect("the runbook renders");
            let Some(api) = &stage.token_api else {
                assert!(!text.contains("## Token API"), "stage {}", stage.name);
                continue;
            };
            for want in [
                "## Token API".to_owned(),
                format!("`{}`", api.name),
                format!(
                    "deployer invoke --stage {} --user <USER_ID> --provider",
                    stage.name
                ),
                format!("{}-token-api-errors", stage.function.name),
                "BUSY".to_owned(),
            ] {
                assert!(
                    text.contains(&want),
                    "stage {}: the runbook lacks `{want}`",
                    stage.name
                );
            }
        }
    }

    #[test]
    fn runbook_names_the_live_resources_and_commands() {
        let stage = prod();
        let text = render(&stage).expect("the prod runbook renders");
        let names = stage.names();
        let mut expected = vec![
            stage.stack_name.clone(),
            names.function.clone(),
            names.log_group.clone(),
            names.dlq.clone(),
            names.dashboard.clone(),
            names.credentials_secret.clone(),
            names.key_alias.clone(),
            names.event_bus.clone(),
            stage.tables.tokens.name.clone(),
            stage.tables.analytics.name.clone(),
            "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards:name=OAuthTokenHealth-prod".to_owned(),
            "deployer invoke --stage prod --providers reddit,tiktok".to_owned(),
            "deployer dlq --stage prod list".to_owned(),
            "deployer dlq --stage prod replay".to_owned(),
            "deployer dlq --stage prod redrive".to_owned(),
            "deployer drift --stage prod --fail".to_owned(),
            "deployer alarms --stage prod".to_owned(),
            "deployer status --stage prod".to_owned(),
            "deployer tokens connect --stage prod --provider reddit --user <USER_ID>".to_owned(),
            "| reddit | 20m | `rate(15 minutes)` | RefreshOAuthRate15m-prod | 100 |".to_owned(),
            "reserved concurrency of 1".to_owned(),
        ];
        for group in &stage.rules {
            expected.push(format!(
                "deployer rules --stage prod disable {}",
                group.name
            ));
            expected.push(format!("deployer rules --stage prod enable {}", group.name));
        }
        for alarm in alarms(&super::super::render(&stage).unwrap().value) {
            expected.push(format!("`{}`", alarm.name));
        }
        for want in &expected {
            assert!(
                text.contains(want.as_str()),
                "the runbook lacks `{want}`:\n{text}"
            );
        }
        // The only placeholder left to the reader is the user id.
        let placeholders: Vec<&str> = text
            .match_indices('<')
            .filter_map(|(i, _)| text[i..].split_once('>').map(|(p, _)| p))
            .filter(|p| {
                p.chars()
                    .skip(1)
                    .all(|c| c.is_ascii_uppercase() || c == '_')
            })
            .collect();
        assert!(
            placeholders.iter().all(|p| *p == "<USER_ID"),
            "{placeholders:?}"
        );
        assert!(!text.contains("{{") && !text.contains("{%"), "{text}");
    }

    #[test]
    fn durations_use_the_largest_whole_unit() {
        assert_eq!(duration(604_800), "7d");
        assert_eq!(duration(3600), "1h");
        assert_eq!(duration(1200), "20m");
        assert_eq!(duration(90), "90s");
    }
}
