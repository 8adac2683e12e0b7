//! `deployer schema [--out FILE]`: the JSON Schema of stage files.

use anyhow::Result;

use super::{Ctx, write_file};
use crate::cli::SchemaArgs;
use crate::{Status, stage};

pub(super) fn run(args: &SchemaArgs, ctx: &Ctx) -> Result<Status> {
    let text = stage::json_schema_text();
    match &args.out {
        Some(path) => write_file(path, &text)?,
        None => ctx.printer.raw(&text)?,
    }
    Ok(Status::Ok)
}
