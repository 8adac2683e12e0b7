//! `deployer render --stage S [--out FILE]`: the stage's CloudFormation template.

use anyhow::Result;

use super::{Ctx, write_file};
use crate::cli::RenderArgs;
use crate::output::note;
use crate::{Status, template};

pub(super) fn run(args: &RenderArgs, ctx: &Ctx) -> Result<Status> {
    let stage = ctx.load_stage(&args.stage.stage)?;
    let rendered = template::render(&stage)?;
    match &args.out {
        Some(path) => {
            write_file(path, &rendered.text)?;
            note(&format!(
                "wrote {} ({} bytes) for stack {}",
                path.display(),
                rendered.text.len(),
                stage.stack_name
            ));
        }
        None => ctx.printer.raw(&rendered.text)?,
    }
    Ok(Status::Ok)
}
