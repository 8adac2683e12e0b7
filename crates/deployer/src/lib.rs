//! The deployer: renders, validates and applies the OAuth refresher's stack, one per stage.
//!
//! Map of the crate:
//! - [`stage`]: `stages/<stage>.yaml` parsed and validated into a [`stage::Stage`] (pure).
//! - [`template`]: the stage rendered with tera from `templates/` into one CloudFormation
//!   template, and its structural checks (pure).
//! - [`package`]: the refresher built for the stage, checked for provided.al2023, zipped
//!   reproducibly and named by its SHA-256.
//! - [`lint`]: cfn-lint over a rendered template, when it is installed.
//! - [`aws`]: the only module that calls AWS: thin wrappers over the SDK clients.
//! - [`plan`]: a change set as data, with dangerous replacements singled out (pure).
//! - [`deploy`]: the deploy sequence: upload, create or change set, guard, execute, wait.
//! - [`drift`]: the live resources against the rendered template, and `CloudFormation`'s own
//!   drift detection where the endpoint offers it.
//! - [`dlq`]: the dead-letter queue's messages classified and recovery records written back.
//! - [`emulator`]: a Lambda emulator that runs a packaged `bootstrap` locally: one invocation
//!   (`invoke --local`), or the stage's functions behind Lambda's Invoke API (`serve`).
//! - [`health`]: facts about a deployed stage (alarms, rules, credentials, runs) shared by the
//!   commands that report them (pure).
//! - [`tokens`]: token import files parsed and written through the refresher's own crypto and
//!   store code.
//! - [`commands`]: one module per subcommand; each returns a value the printer shows as text or JSON.
//! - [`cli`]: the clap definition; `main.rs` only parses, runs and maps the result to an exit code.
//! - [`failure`]: how a failed command is reported (a line, or JSON with `--json`).

mod answer;
pub mod aws;
pub mod canonical;
pub mod cli;
pub mod commands;
pub mod connect;
pub mod deploy;
pub mod dlq;
pub mod drift;
pub mod emulator;
pub mod failure;
pub mod health;
pub mod lint;
pub mod output;
pub mod package;
pub mod plan;
pub mod stage;
pub mod status;
pub mod template;
pub mod tokens;

pub use status::Status;
