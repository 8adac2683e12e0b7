//! `deployer`: parses the command line, runs the command, maps the result to an exit code.

use std::process::ExitCode;

use clap::Parser;
use deployer::failure::Failure;
use deployer::{Status, cli::Cli, commands};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.global.json;
    match commands::run(cli) {
        Ok(status) => status.into(),
        Err(err) => {
            // One line with every context ("cannot read X: No such file"), or JSON with --json.
            Failure::of(&err).report(json);
            Status::Failed.into()
        }
    }
}
