//! `deployer drift --stage S [--fail]`: the deployed resources against the stage's rendered
//! template, through each service's API, plus `CloudFormation`'s drift detection where offered.
//! Exit 0 in sync (or drift without `--fail`), 2 drift with `--fail`, 1 when a resource could
//! not be read (its state is unknown, so no verdict is given).

use anyhow::Result;

use super::Ctx;
use crate::cli::DriftArgs;
use crate::output::note;
use crate::{Status, drift, template};

pub(super) async fn run(args: &DriftArgs, ctx: &Ctx) -> Result<Status> {
    let stage = ctx.load_stage(&args.stage.stage)?;
    let rendered = template::render(&stage)?;
    let aws = ctx.aws(&stage).await;
    let stack = aws.require_stack(&stage).await?;
    let mut report = drift::check::run(&aws, &stack, &rendered.value).await?;
    report.verbose = args.verbose;
    ctx.printer.emit(&report)?;
    let unreadable = report.read_errors();
    if unreadable > 0 {
        note(&format!(
            "{unreadable} resource(s) could not be read (see their reason); check the credentials' read permissions and run `deployer drift` again"
        ));
        return Ok(Status::Failed);
    }
    Ok(if args.fail && report.drifted {
        Status::Found
    } else {
        Status::Ok
    })
}
