//! `deployer alarms --stage S [--fail]`: every `CloudWatch` alarm the stage's template declares,
//! with its live state, reason and when it changed. The names come from the rendered template
//! (built from `template::context` names), so this list never drifts from what `deploy` creates.
//! An alarm `CloudWatch` does not have is reported as missing, never as OK. Exit 0 whatever the
//! states (they are printed, alarms first); `--fail` exits 2 when any alarm is in ALARM.

use anyhow::Result;

use super::Ctx;
use crate::aws::cloudwatch;
use crate::cli::AlarmsArgs;
use crate::health::alarms::{declared_alarms, report};
use crate::output::note;
use crate::{Status, template};

pub(super) async fn run(args: &AlarmsArgs, ctx: &Ctx) -> Result<Status> {
    let stage = ctx.load_stage(&args.stage.stage)?;
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
