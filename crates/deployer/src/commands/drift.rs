//! `deployer drift --stage S [--fail]`: the deployed resources against the stage's rendered
//! template, through each service's API, plus `CloudFormation`'s drift detection where offered.
//! Exit 0 in sync (or drift without `--fail`), 2 drift with `--fail`, 1 when a resource could
//! not be read (its state is unknown, so no verdict is given).

use anyhow::{Context, Result};

use super::Ctx;
use crate::aws::cfn;
use crate::cli::DriftArgs;
use crate::output::note;
use crate::{Status, drift, stage, template};

pub(super) async fn run(args: &DriftArgs, ctx: &Ctx) -> Result<Status> {
    let stage = stage::load(&ctx.stage_file(&args.stage.stage))?;
    let rendered = template::render(&stage)?;
    let aws = ctx.aws(&stage).await;
    let stack = cfn::describe(&aws.cloudformation(), &stage.stack_name)
        .await?
        .with_context(|| {
            format!(
                "stack {} does not exist; deploy it with `deployer deploy --stage {}`",
                stage.stack_name, stage.name
            )
        })?;
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
