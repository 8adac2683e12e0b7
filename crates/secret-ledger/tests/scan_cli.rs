//! `secret-scan` as `scripts/test` runs it: a leak fails it without printing the value, a clean
//! capture passes with its figure, and an empty ledger or capture is refused rather than passed.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

const LEAKED: &str = "tiktok-rt-Zm9vYmFyYmF6cXV4cXV1eA";

/// `dir/capture/` with a ledger and a function log, and `dir/junit.xml` beside it (as nextest
/// writes it under `target/`).
fn capture(dir: &Path, ledger: &str, log: &str, junit_err: &str) -> std::path::PathBuf {
    let junit = dir.join("junit.xml");
    let dir = &dir.join("capture");
    std::fs::create_dir_all(dir.join("ledger")).unwrap();
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    std::fs::write(dir.join("ledger/1.tsv"), ledger).unwrap();
    std::fs::write(dir.join("logs/function.log"), log).unwrap();
    std::fs::write(
        &junit,
        format!(
            r#"<testsuites><testsuite name="deployer"><testcase name="a_test" classname="deployer::loop_e2e"><system-err>{junit_err}</system-err></testcase></testsuite></testsuites>"#
        ),
    )
    .unwrap();
    junit
}

fn scan(dir: &Path, junit: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_secret-scan"))
        .arg(dir.join("capture"))
        .arg(junit)
        .output()
        .unwrap()
}

#[test]
fn a_leak_fails_the_scan_and_is_named_without_its_value() {
    let dir = tempfile::tempdir().unwrap();
    let ledger =
        format!("fakes:tiktok:refresh\t{LEAKED}\ntests:client-secret\tfake-tiktok-secret\n");
    let junit = capture(
        dir.path(),
        &ledger,
        "{\"event\":\"token_refreshed\"}\n",
        &format!("refresh_token=&quot;{LEAKED}&quot;"),
    );
    let out = scan(dir.path(), &junit);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("1 found"), "{stdout}");
    assert!(
        stdout.contains("junit.xml:1 (test deployer::loop_e2e a_test): a 32-character value recorded by fakes:tiktok:refresh"),
        "{stdout}"
    );
    assert!(!stdout.contains(LEAKED), "the scan printed the value");
}

#[test]
fn a_clean_capture_passes_with_its_figure() {
    let dir = tempfile::tempdir().unwrap();
    let junit = capture(
        dir.path(),
        &format!("fakes:tiktok:refresh\t{LEAKED}\n"),
        "{\"event\":\"token_refreshed\",\"user_id\":\"u1\"}\n",
        "FIGURE something",
    );
    let out = scan(dir.path(), &junit);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("1 token and secret values recorded") && stdout.contains(": 0 found"),
        "{stdout}"
    );
}

#[test]
fn an_empty_ledger_or_capture_proves_nothing_and_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let junit = capture(dir.path(), "", "log", "out");
    let out = scan(dir.path(), &junit);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no value"));

    let other = tempfile::tempdir().unwrap();
    capture(other.path(), &format!("x\t{LEAKED}\n"), "", "");
    let out = Command::new(env!("CARGO_BIN_EXE_secret-scan"))
        .arg(other.path().join("capture"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "no JUnit report given");
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to check"));
}

#[test]
fn a_hit_is_blamed_on_its_own_test_even_after_escaped_markup() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    std::fs::create_dir_all(dir.path().join("capture/ledger")).unwrap();
    std::fs::write(
        dir.path().join("capture/ledger/1.tsv"),
        format!("fakes:tiktok:refresh\t{LEAKED}\n"),
    )
    .unwrap();
    std::fs::write(
        &junit,
        format!(
            "<testsuites><testcase name=\"first\" classname=\"a\"><system-err>prints \
             &lt;testcase name=&quot;decoy&quot;&gt;\n{LEAKED}</system-err></testcase>\n\
             <testcase name=\"second\" classname=\"b\"><system-out>fine</system-out></testcase></testsuites>"
        ),
    )
    .unwrap();
    let out = scan(dir.path(), &junit);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("junit.xml:2 (test a first)"), "{stdout}");
    assert!(stdout.contains("2 test cases"), "{stdout}");
}
