//! The deployer: renders, validates and applies the OAuth refresher's stack, one per stage.
//!
//! Map of the crate:
//! - [`stage`]: `stages/<stage>.yaml` parsed and validated into a [`stage::Stage`] (pure).
//! - [`template`]: the stage rendered with tera from `templates/` into one CloudFormation
//!   template, and its structural checks (pure).
//! - [`lint`]: cfn-lint over a rendered template, when it is installed.
//! - [`commands`]: one module per subcommand; each returns a value the printer shows as text or JSON.
//! - [`cli`]: the clap definition; `main.rs` only parses, runs and maps the result to an exit code.

pub mod cli;
pub mod commands;
pub mod lint;
pub mod output;
pub mod stage;
pub mod status;
pub mod template;

pub use status::Status;
