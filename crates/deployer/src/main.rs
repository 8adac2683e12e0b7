//! `deployer`: parses the command line, runs the command, maps the result to an exit code.

use std::process::ExitCode;

use clap::Parser;
use deployer::{Status, cli::Cli, commands};

fn main() -> ExitCode {
    match commands::run(Cli::parse()) {
        Ok(status) => status.into(),
        Err(err) => {
            // `{:#}` prints the whole context chain on one line: "cannot read X: No such file".
            deployer::output::note(&format!("error: {err:#}"));
            Status::Failed.into()
        }
    }
}
