//! cfn-lint over a rendered template, when it is installed: its findings join `validate`'s.
//!
//! Found as `$CFN_LINT`, then `cfn-lint` on PATH, then the project's `.venv/bin/cfn-lint`
//! (which the README's set-up installs).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LintFinding {
    /// cfn-lint's rule id, e.g. `E3012`.
    pub rule: String,
    /// `error`, `warning` or `informational`.
    pub level: String,
    pub line: Option<u64>,
    pub message: String,
}

/// Where cfn-lint is, if anywhere.
pub fn find(project_dir: &Path) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CFN_LINT").map(PathBuf::from) {
        return Some(path);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("cfn-lint"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| Some(project_dir.join(".venv/bin/cfn-lint")).filter(|p| p.is_file()))
}

/// The cfn-lint version string, e.g. `cfn-lint 1.58.0`.
pub fn version(cfn_lint: &Path) -> Result<String> {
    let out = Command::new(cfn_lint)
        .arg("--version")
        .output()
        .with_context(|| format!("cannot run {}", cfn_lint.display()))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Runs cfn-lint on a template file and returns its findings.
pub fn run(cfn_lint: &Path, template: &Path) -> Result<Vec<LintFinding>> {
    let out = Command::new(cfn_lint)
        .args(["--format", "json", "--"])
        .arg(template)
        .output()
        .with_context(|| format!("cannot run {}", cfn_lint.display()))?;
    // cfn-lint's exit code is a bit mask of the levels found (2 error, 4 warning, 8 info);
    // 1 means it could not run at all.
    if out.status.code() == Some(1) || out.status.code().is_none() {
        bail!(
            "{} failed on {}: {}",
            cfn_lint.display(),
            template.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    parse(&String::from_utf8_lossy(&out.stdout))
}

/// Parses cfn-lint's `--format json` output.
pub fn parse(json: &str) -> Result<Vec<LintFinding>> {
    let matches: Vec<Value> =
        serde_json::from_str(json.trim()).context("cfn-lint printed no JSON list")?;
    Ok(matches
        .iter()
        .map(|m| LintFinding {
            rule: m
                .pointer("/Rule/Id")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned(),
            level: m
                .get("Level")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_ascii_lowercase(),
            line: m
                .pointer("/Location/Start/LineNumber")
                .and_then(Value::as_u64),
            message: m
                .get("Message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cfn_lint_json() {
        let json = r#"[{"Filename": "t.yaml", "Level": "Error", "Message": "bad rate",
            "Location": {"Start": {"LineNumber": 12, "ColumnNumber": 7}, "End": {}, "Path": []},
            "Rule": {"Id": "E3031", "Description": "", "ShortDescription": "", "Source": ""}}]"#;
        let findings = parse(json).unwrap();
        assert_eq!(
            findings,
            vec![LintFinding {
                rule: "E3031".into(),
                level: "error".into(),
                line: Some(12),
                message: "bad rate".into()
            }]
        );
        assert!(parse("[]").unwrap().is_empty());
        assert!(parse("not json").is_err());
    }
}
