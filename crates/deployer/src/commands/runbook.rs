//! `deployer runbook --stage S [--out FILE]`: the stage's operations runbook, in Markdown
//! ([`template::runbook`]). No AWS call.

use anyhow::Result;

use super::{Ctx, write_file};
use crate::cli::RunbookArgs;
use crate::output::note;
use crate::{Status, template};

pub(super) fn run(args: &RunbookArgs, ctx: &Ctx) -> Result<Status> {
    let stage = ctx.load_stage(&args.stage.stage)?;
    let text = template::runbook::render(&stage)?;
    match &args.out {
        Some(path) => {
            write_file(path, &text)?;
            note(&format!(
                "wrote the {} runbook to {}",
                stage.name,
                path.display()
            ));
        }
        None => ctx.printer.raw(&text)?,
    }
    Ok(Status::Ok)
}
