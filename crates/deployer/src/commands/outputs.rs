//! `deployer outputs --stage S [--format json|env|markdown|table]`: the stack's outputs, the
//! names every runbook step uses.

use std::fmt;

use anyhow::Result;
use serde::Serialize;

use super::Ctx;
use crate::Status;
use crate::aws::cfn::StackOutput;
use crate::cli::{OutputFormat, OutputsArgs};

/// The outputs in one of the formats.
#[derive(Debug, Serialize)]
#[serde(transparent)]
pub(super) struct Outputs {
    #[serde(skip)]
    pub format: OutputFormat,
    pub values: std::collections::BTreeMap<String, String>,
    #[serde(skip)]
    pub list: Vec<StackOutput>,
}

impl fmt::Display for Outputs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.format {
            OutputFormat::Json => {
                let json = serde_json::to_string_pretty(&self.values).map_err(|_| fmt::Error)?;
                writeln!(f, "{json}")
            }
            OutputFormat::Env => {
                for o in &self.list {
                    writeln!(f, "{}={}", o.key, shell_quote(&o.value))?;
                }
                Ok(())
            }
            OutputFormat::Markdown => {
                writeln!(f, "| Output | Value | Description |")?;
                writeln!(f, "|---|---|---|")?;
                for o in &self.list {
                    let description = o.description.as_deref().unwrap_or("").replace('|', "\\|");
                    writeln!(f, "| {} | `{}` | {description} |", o.key, o.value)?;
                }
                Ok(())
            }
            OutputFormat::Table => {
                let width = self.list.iter().map(|o| o.key.len()).max().unwrap_or(0);
                for o in &self.list {
                    writeln!(f, "{:<width$}  {}", o.key, o.value)?;
                }
                Ok(())
            }
        }
    }
}

/// Quotes a value for `KEY=value` lines that a shell can `source`.
fn shell_quote(value: &str) -> String {
    if !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c))
    {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

pub(super) async fn run(args: &OutputsArgs, ctx: &Ctx) -> Result<Status> {
    let stage = ctx.load_stage(&args.stage.stage)?;
    let aws = ctx.aws(&stage).await;
    let stack = aws.require_stack(&stage).await?;
    let mut list = stack.outputs;
    list.sort_by(|a, b| a.key.cmp(&b.key));
    let format = if ctx.printer.json {
        OutputFormat::Json
    } else {
        args.format
    };
    let outputs = Outputs {
        format,
        values: list
            .iter()
            .map(|o| (o.key.clone(), o.value.clone()))
            .collect(),
        list,
    };
    // `--format json` and `--json` both print the map; the printer's JSON path does exactly that.
    ctx.printer.emit(&outputs)?;
    Ok(Status::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_are_shell_safe() {
        assert_eq!(shell_quote("RefreshOAuth-prod"), "RefreshOAuth-prod");
        assert_eq!(shell_quote("https://x/y?a=1#b"), "'https://x/y?a=1#b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
