//! Stage files: `stages/<stage>.yaml` read, checked and turned into a [`Stage`].
//!
//! The way is straight, and no step touches AWS:
//! text --YAML--> value --serde, per section--> [`raw::RawStage`] --`validate`--> [`Stage`].
//! Every problem of a file is collected and reported at once ([`StageErrors`]), each naming the
//! file, the line where it can be found, the field, what is wrong and what would fix it.

mod calendar;
mod cron;
pub mod duration;
mod http_trigger;
mod locate;
mod model;
mod names;
pub mod raw;
mod schedule;
mod schema_hints;
mod sections;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use model::{
    Alarms, Architecture, ClientAuth, Function, HttpMethod, HttpTrigger, Kms, Provider,
    ProviderKind, RuleGroup, Stage, Table, Tables,
};
pub use names::Names;
pub(crate) use names::{http_trigger_names, log_group, pascal};
pub use schedule::Schedule;

/// One problem in a stage file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Dotted path of the field, e.g. `providers.reddit.user_agent`; empty for the whole file.
    pub field: String,
    /// 1-based line in the file, where it could be found.
    pub line: Option<usize>,
    /// What is wrong and what would fix it.
    pub message: String,
}

impl Problem {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            line: None,
            message: message.into(),
        }
    }
}

/// Every problem found in one stage file.
#[derive(Debug, Clone, Serialize, thiserror::Error)]
pub struct StageErrors {
    pub file: PathBuf,
    pub problems: Vec<Problem>,
}

impl fmt::Display for StageErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        writeln!(
            f,
            "{} has {n} problem{}:",
            self.file.display(),
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            let at = match p.line {
                Some(line) => format!("{}:{line}", self.file.display()),
                None => self.file.display().to_string(),
            };
            if p.field.is_empty() {
                writeln!(f, "  {at}: {}", p.message)?;
            } else {
                writeln!(f, "  {at}: {}: {}", p.field, p.message)?;
            }
        }
        Ok(())
    }
}

/// Why a stage could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read stage file {}: {reason}; {hint}", path.display())]
    Read {
        path: PathBuf,
        /// The OS error, once (it is not kept as a source, which would print it twice).
        reason: String,
        /// What to do: the stages that exist beside it, or how to name a stage.
        hint: String,
    },
    #[error(transparent)]
    Invalid(#[from] StageErrors),
}

/// Reads and validates a stage file.
pub fn load(path: &Path) -> Result<Stage, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|err| LoadError::Read {
        path: path.to_owned(),
        reason: err.to_string(),
        hint: stages_hint(path),
    })?;
    Ok(parse(&text, path)?)
}

/// The stages beside `path` (`*.yaml` stems), as a fix for a stage name that names none.
fn stages_hint(path: &Path) -> String {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut stages: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_owned))
        .collect();
    stages.sort();
    if stages.is_empty() {
        format!(
            "{} holds no stage files: name a stage (stages/<stage>.yaml) or pass a path",
            dir.display()
        )
    } else {
        format!(
            "the stages in {} are: {}; pass one of them with --stage (or a path)",
            dir.display(),
            stages.join(", ")
        )
    }
}

/// Parses and validates the text of a stage file; `path` names it in errors and its stem must
/// match the `stage:` field.
pub fn parse(text: &str, path: &Path) -> Result<Stage, StageErrors> {
    let mut problems = Vec::new();
    let stage = sections::read(text, &mut problems)
        .and_then(|raw| validate::validate(raw, file_stem(path), &mut problems));
    match stage {
        Some(stage) if problems.is_empty() => Ok(stage),
        _ => {
            for p in &mut problems {
                if p.line.is_none() && !p.field.is_empty() {
                    let path: Vec<&str> = p.field.split('.').collect();
                    p.line = locate::line_of(text, &path);
                }
            }
            problems.sort_by(|a, b| a.line.cmp(&b.line).then_with(|| a.field.cmp(&b.field)));
            problems.dedup();
            Err(StageErrors {
                file: path.to_owned(),
                problems,
            })
        }
    }
}

fn file_stem(path: &Path) -> Option<&str> {
    path.file_stem().and_then(|s| s.to_str())
}

/// The JSON Schema of stage files, as committed at `stages/schema.json`.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(raw::RawStage);
    schema.to_value()
}

/// The schema as committed at `stages/schema.json`: pretty JSON with a final newline.
pub fn json_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&crate::canonical::canonical(&json_schema()))
        .unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests;
