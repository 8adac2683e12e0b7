//! `deployer alarms --stage S [--fail]`: every `CloudWatch` alarm the stage's template declares,
//! with its live state, reason and when it changed. The names come from the rendered template
//! (built from `template::context` names), so this list never drifts from what `deploy` creates.
//! An alarm `CloudWatch` does not have is reported as missing, never as OK. Exit 0 whatever the
//! states (they are printed, alarms first); `--fail` exits 2 when any alarm is in ALARM.

use std::fmt;

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

use super::Ctx;
use crate::aws::cloudwatch;
use crate::cli::AlarmsArgs;
use crate::output::note;
use crate::{Status, stage, template};

const ALARM: &str = "ALARM";
const MISSING: &str = "MISSING";

#[derive(Debug, Serialize)]
pub(super) struct AlarmReport {
    pub stage: String,
    /// How many alarms are in ALARM.
    pub in_alarm: usize,
    pub missing: usize,
    /// In ALARM first, then missing, then the rest; by name within each.
    pub alarms: Vec<AlarmRow>,
}

#[derive(Debug, Serialize)]
pub(super) struct AlarmRow {
    pub name: String,
    pub logical_id: String,
    /// `OK`, `ALARM`, `INSUFFICIENT_DATA`, or `MISSING`.
    pub state: String,
    pub reason: Option<String>,
    pub updated: Option<String>,
}

impl fmt::Display for AlarmReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name_w = self.alarms.iter().map(|a| a.name.len()).max().unwrap_or(0);
        let state_w = self.alarms.iter().map(|a| a.state.len()).max().unwrap_or(0);
        for a in &self.alarms {
            let marker = if a.state == ALARM { "!" } else { " " };
            let updated = a.updated.as_deref().unwrap_or("-");
            let reason = match (a.state.as_str(), &a.reason) {
                (MISSING, _) => "not in CloudWatch (stack not deployed?)",
                (_, Some(reason)) => reason,
                (_, None) => "",
            };
            writeln!(
                f,
                "{marker} {:<name_w$}  {:<state_w$}  {updated:<20}  {reason}",
                a.name, a.state
            )?;
        }
        writeln!(
            f,
            "{} alarm(s): {} in ALARM, {} missing",
            self.alarms.len(),
            self.in_alarm,
            self.missing
        )
    }
}

pub(super) async fn run(args: &AlarmsArgs, ctx: &Ctx) -> Result<Status> {
    let stage = stage::load(&ctx.stage_file(&args.stage.stage))?;
    let rendered = template::render(&stage)?;
    let declared = declared_alarms(&rendered.value);
    let names: Vec<String> = declared.iter().map(|(_, name)| name.clone()).collect();
    let aws = ctx.aws(&stage).await;
    let live = cloudwatch::alarm_states(&aws.cloudwatch(), &names).await?;
    let report = report(&stage.name, declared, &live);
    if report.missing > 0 {
        note(&format!(
            "{} alarm(s) missing: is the stack deployed? `deployer deploy --stage {}` creates them",
            report.missing, stage.name
        ));
    }
    ctx.printer.emit(&report)?;
    Ok(if args.fail && report.in_alarm > 0 {
        Status::Found
    } else {
        Status::Ok
    })
}

/// `(logical id, AlarmName)` of every `AWS::CloudWatch::Alarm` of the template.
pub(super) fn declared_alarms(template: &Value) -> Vec<(String, String)> {
    let Some(resources) = template["Resources"].as_object() else {
        return Vec::new();
    };
    resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
        .filter_map(|(id, r)| {
            let name = r["Properties"]["AlarmName"].as_str()?;
            Some((id.clone(), name.to_owned()))
        })
        .collect()
}

pub(super) fn report(
    stage: &str,
    declared: Vec<(String, String)>,
    live: &[cloudwatch::AlarmState],
) -> AlarmReport {
    let mut alarms: Vec<AlarmRow> = declared
        .into_iter()
        .map(
            |(logical_id, name)| match live.iter().find(|l| l.name == name) {
                Some(l) => AlarmRow {
                    name,
                    logical_id,
                    state: l.state.clone(),
                    reason: l.reason.clone(),
                    updated: l.updated.clone(),
                },
                None => AlarmRow {
                    name,
                    logical_id,
                    state: MISSING.to_owned(),
                    reason: None,
                    updated: None,
                },
            },
        )
        .collect();
    let rank = |state: &str| match state {
        ALARM => 0,
        MISSING => 1,
        _ => 2,
    };
    alarms.sort_by(|a, b| (rank(&a.state), &a.name).cmp(&(rank(&b.state), &b.name)));
    AlarmReport {
        stage: stage.to_owned(),
        in_alarm: alarms.iter().filter(|a| a.state == ALARM).count(),
        missing: alarms.iter().filter(|a| a.state == MISSING).count(),
        alarms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alarms_first_then_missing_then_the_rest() {
        let declared = ["b-ok", "a-missing", "c-alarm"]
            .map(|n| (format!("Id{n}"), n.to_owned()))
            .to_vec();
        let state = |name: &str, state: &str| cloudwatch::AlarmState {
            name: name.to_owned(),
            state: state.to_owned(),
            reason: Some("why".to_owned()),
            updated: None,
        };
        let report = report(
            "s",
            declared,
            &[state("b-ok", "OK"), state("c-alarm", ALARM)],
        );
        let order: Vec<&str> = report.alarms.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(order, ["c-alarm", "a-missing", "b-ok"]);
        assert_eq!((report.in_alarm, report.missing), (1, 1));
        let text = report.to_string();
        assert!(text.contains("! c-alarm"), "{text}");
        assert!(
            text.contains("not in CloudWatch (stack not deployed?)"),
            "{text}"
        );
    }
}
