//! The stage's alarms: which ones its template declares, and their live states ranked for people
//! (in ALARM first, then missing, then the rest). Shared by `alarms` and `verify`; pure.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::aws::cloudwatch;

const ALARM: &str = "ALARM";
const MISSING: &str = "MISSING";

#[derive(Debug, Serialize)]
pub struct AlarmReport {
    pub stage: String,
    /// How many alarms are in ALARM.
    pub in_alarm: usize,
    pub missing: usize,
    /// In ALARM first, then missing, then the rest; by name within each.
    pub alarms: Vec<AlarmRow>,
}

#[derive(Debug, Serialize)]
pub struct AlarmRow {
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

/// `(logical id, AlarmName)` of every `AWS::CloudWatch::Alarm` of the template.
pub fn declared_alarms(template: &Value) -> Vec<(String, String)> {
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

pub fn report(
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
