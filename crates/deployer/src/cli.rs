//! The command line, as clap derives it. Global flags apply to every subcommand.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::output::Color;

#[derive(Debug, Parser)]
#[command(
    name = "deployer",
    version,
    about = "Render, validate and apply the OAuth refresher's CloudFormation stack, one per stage",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Print results as JSON (data on stdout, messages on stderr).
    #[arg(long, global = true)]
    pub json: bool,
    /// When to use colour; `auto` honours NO_COLOR and FORCE_COLOR.
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// Project directory holding stages/ (default: the nearest one up from the current directory).
    #[arg(long, global = true, env = "DEPLOYER_PROJECT_DIR", value_name = "DIR")]
    pub project_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the stage's CloudFormation template.
    Render(RenderArgs),
    /// Check the stage file and its rendered template (and run cfn-lint when installed).
    Validate(ValidateArgs),
    /// Print the JSON Schema of stage files (committed as stages/schema.json).
    Schema(SchemaArgs),
}

#[derive(Debug, Args)]
pub struct StageArg {
    /// Stage name (stages/<stage>.yaml) or the path of a stage file.
    #[arg(long, short = 's', env = "DEPLOYER_STAGE")]
    pub stage: String,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub stage: StageArg,
    /// Write the template to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub stage: StageArg,
    /// Skip cfn-lint even when it is installed.
    #[arg(long)]
    pub no_lint: bool,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Write the schema to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
}
