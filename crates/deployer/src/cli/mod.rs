//! The command line, as clap derives it. Global flags apply to every subcommand.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::output::Color;

mod tokens;

pub use tokens::*;

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
    /// AWS profile (else `AWS_PROFILE` and the standard credential chain).
    #[arg(long, global = true, env = "AWS_PROFILE", value_name = "NAME")]
    pub profile: Option<String>,
    /// AWS region (else the stage's `region`).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
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
    /// Build the refresher for the stage, zip it and upload it unless already uploaded.
    Package(PackageArgs),
    /// Show what a deploy would change (a change set, deleted afterwards); `--fail` exits 2 on changes.
    Plan(PlanArgs),
    /// Package, then create or update the stack through a change set, and print its outputs.
    Deploy(DeployArgs),
    /// Print the stack's outputs.
    Outputs(OutputsArgs),
    /// Run the refresher once: remotely, or `--local` from the deployed zip under a Runtime API emulator.
    Invoke(InvokeArgs),
    /// Serve the stage's deployed functions behind Lambda's Invoke API on 127.0.0.1, for apps on
    /// this machine (`AWS_ENDPOINT_URL_LAMBDA`), until interrupted.
    Serve(ServeArgs),
    /// Compare the live resources with the rendered template; `--fail` exits 2 on drift.
    Drift(DriftArgs),
    /// Delete the stack (the tables and their key are retained).
    Destroy(DestroyArgs),
    /// Token items: import, list, connect a user, check, migrate between formats (never values).
    Tokens(TokensArgs),
    /// Set or list the providers' client credentials (never their values).
    Secrets(SecretsArgs),
    /// List the stage's schedule rules (state, schedule, providers, target), or enable/disable one.
    Rules(RulesArgs),
    /// Show every CloudWatch alarm of the stage: state, reason, when it changed.
    ///
    /// Exit 0 even when an alarm is in ALARM (they are listed first and marked); with `--fail`,
    /// exit 2 when any is. A missing alarm is reported as missing, never as OK.
    Alarms(AlarmsArgs),
    /// Print a shell completion script: `deployer completions bash > ~/.local/share/bash-completion/completions/deployer`.
    Completions(CompletionsArgs),
    /// Per provider: refreshed / failed / needs-reauth counts over a window, the last successful
    /// refresh, tokens due in 24 h and expired, the most common failure reasons (never values).
    Status(StatusArgs),
    /// The post-deploy checklist: PASS / FAIL / WARN per check, with the fix of each FAIL; exit 1
    /// on any FAIL.
    Verify(VerifyArgs),
    /// The stage's dead-letter queue: list and show messages (never token values), redrive
    /// failed deliveries, write recovery records back to the tokens table, or purge.
    ///
    /// `redrive` invokes the function again (asynchronously) with each failed delivery's input:
    /// the rule's `{"providers":[...]}` or the failed invocation's payload; the queue has no SQS
    /// source queue to move messages back to. A message is deleted only once Lambda accepted it.
    Dlq(DlqArgs),
    /// Render the stage's operations runbook (Markdown) with its live names and commands.
    Runbook(RunbookArgs),
}

#[derive(Debug, Args)]
pub struct PackageArgs {
    #[command(flatten)]
    pub stage: StageArg,
    /// Cargo profile to build the refresher with.
    #[arg(long, default_value = "release", value_name = "PROFILE")]
    pub cargo_profile: String,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub stage: StageArg,
    /// Exit 2 when the plan has changes (for pull-request checks).
    #[arg(long)]
    pub fail: bool,
    /// Cargo profile to build the refresher with (its hash is part of the plan).
    #[arg(long, default_value = "release", value_name = "PROFILE")]
    pub cargo_profile: String,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub stage: StageArg,
    /// Execute the change set without asking (there is never a prompt without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Allow replacing or removing a stateful resource (tables, KMS key): their data is lost.
    #[arg(long)]
    pub allow_replace: bool,
    /// Cargo profile to build the refresher with.
    #[arg(long, default_value = "release", value_name = "PROFILE")]
    pub cargo_profile: String,
}

/// How `outputs` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// `{"Key": "value"}`.
    Json,
    /// `Key=value` lines, shell-quoted, for CI.
    Env,
    /// A Markdown table, for runbooks.
    Markdown,
    /// Aligned text.
    Table,
}

#[derive(Debug, Args)]
pub struct OutputsArgs {
    #[command(flatten)]
    pub stage: StageArg,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    #[command(flatten)]
    pub stage: StageArg,
    /// Exit 2 when a resource was modified or deleted out of band.
    #[arg(long)]
    pub fail: bool,
    /// Show every resource and note, not just the drifted ones (text output; JSON has all).
    #[arg(long, short = 'v')]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct InvokeArgs {
    #[command(flatten)]
    pub stage: StageArg,
    /// Providers to refresh, comma-separated (default: every provider of the stage).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "NAMES",
        conflicts_with = "user"
    )]
    pub providers: Vec<String>,
    /// Find and report due tokens without refreshing or writing anything.
    #[arg(long, conflicts_with = "user")]
    pub dry_run: bool,
    /// Ask the token API to refresh this user's token (with `--provider`) instead of running
    /// the schedule's function: it refreshes only a token valid for less than `--min-validity`,
    /// or any with `--force` (docs/token-api.md).
    #[arg(long, value_name = "USER_ID", requires = "provider")]
    pub user: Option<String>,
    /// The provider of the token `--user` names.
    #[arg(long, value_name = "NAME", requires = "user")]
    pub provider: Option<String>,
    /// With `--user`: refresh even if the stored token is valid (as after a provider's 401).
    #[arg(long, requires = "user")]
    pub force: bool,
    /// With `--user`: refresh when the token is valid for less than this many seconds
    /// (default 60).
    #[arg(long, value_name = "SECONDS", requires = "user")]
    pub min_validity: Option<u64>,
    /// Run the deployed zip on this machine instead of invoking the function in AWS.
    #[arg(long)]
    pub local: bool,
    /// Log lines shown with the result (default: 10, or 30 when the run failed; 0 shows none).
    #[arg(long, value_name = "N")]
    pub log_lines: Option<usize>,
    /// Keep the run's log in a new file in DIR (`<function>-<unix ms>-<pid>.log`), whatever
    /// `--log-lines` shows: the whole log with `--local`, Lambda's last 4 KB otherwise.
    #[arg(long, value_name = "DIR", env = "DEPLOYER_INVOKE_LOG_DIR")]
    pub log_dir: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub stage: StageArg,
    /// Port on 127.0.0.1 (0 takes a free one, printed when ready).
    #[arg(long, default_value_t = 9001)]
    pub port: u16,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub stage: StageArg,
    /// Delete without asking for the stack name.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Lift termination protection of a protected stage first.
    #[arg(long)]
    pub force: bool,
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

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(flatten)]
    pub stage: StageArg,
    #[command(subcommand)]
    pub command: RulesCommand,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// The stage's rules: name, schedule, state, providers in the target's input, target ok.
    List,
    /// Enable a rule of this stage (nothing to do when it is already enabled).
    Enable(RuleNameArg),
    /// Disable a rule of this stage, e.g. while a provider is down; `drift` reports it until
    /// it is enabled again.
    Disable(RuleNameArg),
}

#[derive(Debug, Args)]
pub struct RuleNameArg {
    /// The rule's name, as `deployer rules --stage S list` shows it (`RefreshOAuthRate15m-prod`).
    #[arg(value_name = "NAME")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct AlarmsArgs {
    #[command(flatten)]
    pub stage: StageArg,
    /// Exit 2 when any alarm is in ALARM (without it, exit 0 whatever the states).
    #[arg(long)]
    pub fail: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub stage: StageArg,
    /// The window of the outcome counts (`30m`, `24h`, `7d`).
    #[arg(long, value_name = "DURATION", default_value = "24h")]
    pub since: String,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub stage: StageArg,
}

#[derive(Debug, Args)]
pub struct DlqArgs {
    #[command(flatten)]
    pub stage: StageArg,
    #[command(subcommand)]
    pub command: DlqCommand,
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Every visible message: id, sent time, receive count, kind (recovery record, failed
    /// delivery, unknown) and a one-line summary. Messages stay in the queue.
    List,
    /// One message's details, token and envelope fields redacted.
    Show(DlqShowArgs),
    /// Deliver each failed delivery again: an asynchronous invoke of the stage's function with
    /// the rule's input or the failed invocation's payload (an SQS source queue, if the queue
    /// ever had one, gets its messages back through `StartMessageMoveTask` instead). A message is
    /// deleted only after Lambda accepted it; recovery records and unknown messages are kept.
    Redrive(YesArg),
    /// Delete every message of the queue (recovery records included: replay them first).
    Purge(YesArg),
    /// Write each recovery record back to the tokens table, only if its item is still at the
    /// version the record was based on; delete it only after the write. Records whose item
    /// moved on are kept and reported (exit 1).
    Replay(YesArg),
}

#[derive(Debug, Args)]
pub struct DlqShowArgs {
    /// The message id, as `deployer dlq --stage S list` shows it.
    #[arg(value_name = "ID")]
    pub id: String,
}

#[derive(Debug, Args)]
pub struct YesArg {
    /// Go ahead without asking (there is never a prompt without a terminal: pass --yes there).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct RunbookArgs {
    #[command(flatten)]
    pub stage: StageArg,
    /// Write the runbook to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
}
