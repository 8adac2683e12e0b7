//! `deployer validate --stage S`: the stage file's checks, the rendered template's structural
//! checks, and cfn-lint's findings when it is installed. Exit 0 valid, 1 invalid.

use std::fmt;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::Serialize;

use super::Ctx;
use crate::cli::ValidateArgs;
use crate::lint::{self, LintFinding};
use crate::stage::{self, LoadError, Problem};
use crate::template::{self, Rendered, check::Finding, check::Severity};
use crate::{Status, output::note};

/// Everything `validate` found, for people or as JSON.
#[derive(Debug, Serialize)]
pub struct ValidationReport {
    pub file: PathBuf,
    pub valid: bool,
    pub stage: Option<String>,
    pub stack_name: Option<String>,
    /// Problems in the stage file; when there are any, nothing was rendered.
    pub problems: Vec<Problem>,
    pub template: Option<TemplateSummary>,
    pub template_findings: Vec<Finding>,
    /// `None`: cfn-lint was not run (not installed, or `--no-lint`).
    pub lint: Option<LintReport>,
}

#[derive(Debug, Serialize)]
pub struct TemplateSummary {
    pub bytes: usize,
    pub resources: usize,
    pub outputs: usize,
}

#[derive(Debug, Serialize)]
pub struct LintReport {
    pub version: String,
    pub findings: Vec<LintFinding>,
}

pub(super) fn run(args: &ValidateArgs, ctx: &Ctx) -> Result<Status> {
    let file = ctx.stage_file(&args.stage.stage);
    let cfn_lint = if args.no_lint {
        None
    } else {
        lint::find(&ctx.project_dir)
    };
    if cfn_lint.is_none() && !args.no_lint {
        note(
            "cfn-lint not found (set CFN_LINT, put it on PATH, or run the README's set-up); skipping its checks",
        );
    }
    let report = validate(file, cfn_lint.as_deref())?;
    ctx.printer.emit(&report)?;
    Ok(if report.valid {
        Status::Ok
    } else {
        Status::Failed
    })
}

/// Validates one stage file; `cfn_lint` is the linter to run, if any.
pub fn validate(file: PathBuf, cfn_lint: Option<&std::path::Path>) -> Result<ValidationReport> {
    let mut report = ValidationReport {
        file,
        valid: false,
        stage: None,
        stack_name: None,
        problems: Vec::new(),
        template: None,
        template_findings: Vec::new(),
        lint: None,
    };
    let stage = match stage::load(&report.file) {
        Ok(stage) => stage,
        Err(LoadError::Invalid(errors)) => {
            report.problems = errors.problems;
            return Ok(report);
        }
        Err(err @ LoadError::Read { .. }) => return Err(err.into()),
    };
    let rendered = template::render(&stage)?;
    report.template_findings =
        template::check::check(&rendered.text, &rendered.value, &stage.stack_name);
    report.template = Some(TemplateSummary::of(&rendered));
    if let Some(cfn_lint) = cfn_lint {
        report.lint = Some(LintReport::of(cfn_lint, &stage.name, &rendered.text)?);
    }
    report.valid = report.passes();
    report.stage = Some(stage.name);
    report.stack_name = Some(stage.stack_name);
    Ok(report)
}

impl TemplateSummary {
    /// The rendered template's size and its counts of resources and outputs.
    fn of(rendered: &Rendered) -> Self {
        let count = |section: &str| {
            rendered
                .value
                .get(section)
                .and_then(|v| v.as_object())
                .map_or(0, serde_json::Map::len)
        };
        Self {
            bytes: rendered.text.len(),
            resources: count("Resources"),
            outputs: count("Outputs"),
        }
    }
}

impl LintReport {
    /// Runs `cfn_lint` on the rendered template, written to a temporary `<stage>.yaml`.
    fn of(cfn_lint: &std::path::Path, stage: &str, text: &str) -> Result<Self> {
        let dir =
            tempfile::tempdir().context("cannot create a temporary directory for cfn-lint")?;
        let path = dir.path().join(format!("{stage}.yaml"));
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Self {
            version: lint::version(cfn_lint)?,
            findings: lint::run(cfn_lint, &path)?,
        })
    }
}

impl ValidationReport {
    /// Valid: no template error and no cfn-lint finding above informational.
    fn passes(&self) -> bool {
        self.template_findings
            .iter()
            .all(|f| f.severity != Severity::Error)
            && self
                .lint
                .as_ref()
                .is_none_or(|l| l.findings.iter().all(|f| f.level == "informational"))
    }

    /// The verdict line: the file, valid or not, and the template's counts when it was rendered.
    fn fmt_verdict(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display();
        let verdict = if self.valid { "valid" } else { "invalid" };
        write!(f, "{file}: {verdict}")?;
        if let (Some(stack), Some(t)) = (&self.stack_name, &self.template) {
            write!(
                f,
                " (stack {stack}: {} resources, {} outputs, {} bytes)",
                t.resources, t.outputs, t.bytes
            )?;
        }
        writeln!(f)
    }

    /// One line per structural finding on the rendered template.
    fn fmt_template_findings(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for finding in &self.template_findings {
            let level = match finding.severity {
                Severity::Error => "error",
                Severity::Note => "note",
            };
            writeln!(f, "  {level}: {}: {}", finding.location, finding.message)?;
        }
        Ok(())
    }

    /// Whether cfn-lint ran, and its findings.
    fn fmt_lint(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.lint {
            None => writeln!(f, "  cfn-lint: not run")?,
            Some(lint) if lint.findings.is_empty() => {
                writeln!(f, "  {}: no findings", lint.version)?;
            }
            Some(lint) => {
                writeln!(f, "  {}: {} findings", lint.version, lint.findings.len())?;
                for finding in &lint.findings {
                    let at = finding
                        .line
                        .map_or(String::new(), |l| format!("line {l}: "));
                    writeln!(
                        f,
                        "    {} {} {at}{}",
                        finding.level, finding.rule, finding.message
                    )?;
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.problems.is_empty() {
            let errors = stage::StageErrors {
                file: self.file.clone(),
                problems: self.problems.clone(),
            };
            return write!(f, "{errors}");
        }
        self.fmt_verdict(f)?;
        self.fmt_template_findings(f)?;
        self.fmt_lint(f)
    }
}
