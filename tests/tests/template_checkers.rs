//! The independent checkers judge every stage's rendered template: cfn-lint (no error or warning)
//! and checkov (no failed check; suppressions sit in the template with their reason).

// Helpers of a test fail it by panicking, as the test functions do.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use serde_json::Value;
use suite::tools::{checkov, stage_files, venv_bin};

fn render_all(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    stage_files()
        .into_iter()
        .map(|(name, path)| {
            let stage = deployer::stage::load(&path).unwrap();
            let rendered = deployer::template::render(&stage).unwrap();
            let out = dir.join(format!("{name}.yaml"));
            std::fs::write(&out, rendered.text).unwrap();
            out
        })
        .collect()
}

#[test]
fn cfn_lint_finds_nothing_in_any_stage() {
    let dir = tempfile::tempdir().unwrap();
    let files = render_all(dir.path());
    let cfn_lint = venv_bin("cfn-lint");
    for file in &files {
        let findings = deployer::lint::run(&cfn_lint, file).unwrap();
        assert!(findings.is_empty(), "{}: {findings:#?}", file.display());
    }
    println!("cfn-lint: {} templates, 0 findings", files.len());
}

#[test]
fn checkov_fails_no_check_in_any_stage() {
    let dir = tempfile::tempdir().unwrap();
    let files = render_all(dir.path());
    let out = Command::new(checkov())
        .args([
            "--framework",
            "cloudformation",
            "--skip-download",
            "--quiet",
            "--output",
            "json",
            "-d",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "checkov printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let summary = &report["summary"];
    let failed: Vec<String> = report["results"]["failed_checks"]
        .as_array()
        .map(|checks| {
            checks
                .iter()
                .map(|c| format!("{} {} {}", c["check_id"], c["resource"], c["file_path"]))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(summary["failed"], 0, "{failed:#?}");
    let passed = summary["passed"].as_u64().unwrap();
    assert!(
        passed >= 25 * files.len() as u64,
        "only {passed} checks ran over {} templates",
        files.len()
    );
    println!(
        "checkov: {} templates, {passed} passed, 0 failed, {} skipped in-template",
        files.len(),
        summary["skipped"]
    );
}

#[test]
fn validate_runs_cfn_lint_and_accepts_every_stage() {
    let cfn_lint = venv_bin("cfn-lint");
    for (name, path) in stage_files() {
        let report = deployer::commands::validate(path, Some(&cfn_lint)).unwrap();
        assert!(report.valid, "{name}: {report}");
        assert!(
            report
                .lint
                .as_ref()
                .is_some_and(|l| l.version.contains("1.58")),
            "{name}: {report}"
        );
    }
}
