//! One module per subcommand. Each `run` takes its arguments and the shared [`Ctx`], returns a
//! [`Status`], and writes its result only through the printer.

mod alarms;
mod completions;
mod deploy;
mod destroy;
mod dlq;
mod drift;
mod invoke;
mod outputs;
mod package;
mod plan;
mod render;
mod rules;
mod runbook;
mod schema;
mod secrets;
mod serve;
mod status;
mod tokens;
mod validate;
mod verify;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::Status;
use crate::aws::{Aws, AwsArgs};
use crate::cli::{Cli, Command};
use crate::output::Printer;

pub use validate::{ValidationReport, validate};

/// What every command gets: where the project is, how to print, how to reach AWS.
#[derive(Debug)]
pub struct Ctx {
    pub project_dir: PathBuf,
    pub printer: Printer,
    pub aws_args: AwsArgs,
}

impl Ctx {
    /// AWS clients' configuration for a stage.
    pub async fn aws(&self, stage: &crate::stage::Stage) -> Aws {
        Aws::connect(stage, &self.aws_args).await
    }

    /// The stage `stage` names (a name or a path, as [`Ctx::stage_file`] reads it), loaded and
    /// validated; a missing file's error lists the stages that exist.
    pub fn load_stage(&self, stage: &str) -> Result<crate::stage::Stage> {
        Ok(crate::stage::load(&self.stage_file(stage))?)
    }

    /// `prod` -> `<project>/stages/prod.yaml`; a value with a `/` or ending in `.yaml` is a path.
    pub fn stage_file(&self, stage: &str) -> PathBuf {
        let ext = Path::new(stage).extension().and_then(|e| e.to_str());
        if stage.contains('/')
            || ext.is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
        {
            PathBuf::from(stage)
        } else {
            self.project_dir
                .join("stages")
                .join(format!("{stage}.yaml"))
        }
    }
}

/// Runs the command the command line names.
pub fn run(cli: Cli) -> Result<Status> {
    cli.global.color.apply();
    // Completions need no project: they are generated (often installed) from anywhere.
    if let Command::Completions(args) = &cli.command {
        return completions::run(
            args,
            Printer {
                json: cli.global.json,
            },
        );
    }
    let ctx = Ctx {
        project_dir: project_dir(cli.global.project_dir)?,
        printer: Printer {
            json: cli.global.json,
        },
        aws_args: AwsArgs {
            profile: cli.global.profile,
            region: cli.global.region,
        },
    };
    match cli.command {
        Command::Render(args) => render::run(&args, &ctx),
        Command::Validate(args) => validate::run(&args, &ctx),
        Command::Schema(args) => schema::run(&args, &ctx),
        Command::Package(args) => block_on(package::run(&args, &ctx)),
        Command::Plan(args) => block_on(plan::run(&args, &ctx)),
        Command::Deploy(args) => block_on(deploy::run(&args, &ctx)),
        Command::Outputs(args) => block_on(outputs::run(&args, &ctx)),
        Command::Invoke(args) => block_on(invoke::run(&args, &ctx)),
        Command::Serve(args) => block_on(serve::run(&args, &ctx)),
        Command::Drift(args) => block_on(drift::run(&args, &ctx)),
        Command::Destroy(args) => block_on(destroy::run(&args, &ctx)),
        Command::Tokens(args) => block_on(tokens::run(&args, &ctx)),
        Command::Secrets(args) => block_on(secrets::run(&args, &ctx)),
        Command::Rules(args) => block_on(rules::run(&args, &ctx)),
        Command::Alarms(args) => block_on(alarms::run(&args, &ctx)),
        Command::Completions(args) => completions::run(&args, ctx.printer),
        Command::Status(args) => block_on(status::run(&args, &ctx)),
        Command::Verify(args) => block_on(verify::run(&args, &ctx)),
        Command::Dlq(args) => block_on(dlq::run(&args, &ctx)),
        Command::Runbook(args) => runbook::run(&args, &ctx),
    }
}

/// Runs an AWS command on a runtime of its own (the rendering commands need none).
fn block_on<F: std::future::Future<Output = Result<Status>>>(future: F) -> Result<Status> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(future)
}

fn project_dir(explicit: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(dir) = explicit {
        return Ok(dir);
    }
    let cwd = std::env::current_dir()?;
    match cwd.ancestors().find(|dir| dir.join("stages").is_dir()) {
        Some(dir) => Ok(dir.to_path_buf()),
        None => bail!(
            "no stages/ directory in {} or above it; run deployer inside the project or pass --project-dir",
            cwd.display()
        ),
    }
}

/// Writes `text` to `path`, naming the file in the error.
pub(crate) fn write_file(path: &Path, text: &str) -> Result<()> {
    use anyhow::Context;
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
