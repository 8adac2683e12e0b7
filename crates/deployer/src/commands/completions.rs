//! `deployer completions SHELL`: the completion script clap derives from the command line, for
//! bash, zsh, fish, elvish or PowerShell. Needs no project, no stage and no AWS.

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::Status;
use crate::cli::{Cli, CompletionsArgs};
use crate::output::Printer;

pub(super) fn run(args: &CompletionsArgs, printer: Printer) -> Result<Status> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "deployer", &mut script);
    let script = String::from_utf8(script)
        .with_context(|| format!("the {} completion script is not UTF-8", args.shell))?;
    // A script is text for a shell, never data: `--json` does not apply.
    printer.raw(&script)?;
    Ok(Status::Ok)
}
