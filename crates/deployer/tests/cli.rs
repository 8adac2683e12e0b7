//! The `deployer` binary as users and CI run it: output streams, JSON, and exit codes.

// Helpers of a test fail it by panicking, as the test functions do.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn deployer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deployer"))
        .arg("--project-dir")
        .arg(project())
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("DEPLOYER_STAGE")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const BROKEN: &str = "\
stage: broken
region: us-east-1
account_id: \"123456789012\"
function: { timeout_s: 2000 }
tables:
  tokens: { name: t }
  analytics: { name: analytics-broken }
providers:
  reddit: { window: 20m, schedule: rate(15 minute), user_agent: curl }
";

#[test]
fn render_prints_the_template_on_stdout_only() {
    let out = deployer(&["render", "--stage", "prod"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let template = text(&out.stdout);
    assert!(template.starts_with("# OAuth refresher stack for stage prod"));
    let parsed: serde_json::Value = serde_norway::from_str(&template).unwrap();
    assert!(parsed["Resources"]["RefresherFunction"].is_object());
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn render_writes_a_file_and_says_so_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.yaml");
    let out = deployer(&[
        "render",
        "--stage",
        "local",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("for stack OAuthRefreshStack-local"));
    assert!(
        std::fs::read_to_string(file)
            .unwrap()
            .contains("RefreshOAuth-local")
    );
}

#[test]
fn validate_of_a_broken_stage_lists_every_problem_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.yaml");
    std::fs::write(&file, BROKEN).unwrap();
    let out = deployer(&["validate", "--no-lint", "--stage", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out.stdout);
    for expected in [
        "has 4 problems:",
        "broken.yaml:4: function.timeout_s: 2000 s is outside what Lambda allows; use 1 to 900",
        "broken.yaml:6: tables.tokens.name: `t` is not a DynamoDB table name",
        "broken.yaml:9: providers.reddit.schedule: EventBridge wants the singular unit for 1 and the plural otherwise; write `rate(15 minutes)`",
        "broken.yaml:9: providers.reddit.user_agent: `curl` is not the User-Agent Reddit asks for",
    ] {
        assert!(
            report.contains(expected),
            "missing {expected:?} in:\n{report}"
        );
    }

    let out = deployer(&[
        "--json",
        "validate",
        "--no-lint",
        "--stage",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["valid"], false);
    assert_eq!(json["problems"].as_array().unwrap().len(), 4);
    assert_eq!(json["problems"][0]["field"], "function.timeout_s");
    assert_eq!(json["problems"][0]["line"], 4);
}

#[test]
fn validate_of_a_good_stage_exits_0_with_a_summary() {
    let out = deployer(&["--json", "validate", "--no-lint", "--stage", "prod"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["valid"], true);
    assert_eq!(json["stack_name"], "OAuthRefreshStack-prod");
    assert!(json["template"]["resources"].as_u64().unwrap() > 25);
    assert!(json["lint"].is_null());
}

#[test]
fn an_unknown_stage_names_the_file_and_exits_1() {
    let out = deployer(&["render", "--stage", "nosuchstage"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("cannot read stage file") && err.contains("stages/nosuchstage.yaml"),
        "{err}"
    );
    assert!(
        err.contains("the stages in") && err.contains("dev, local, prod, staging"),
        "the stages that exist are listed: {err}"
    );
    assert_eq!(
        err.matches("No such file or directory").count(),
        1,
        "the OS error once: {err}"
    );

    let out = deployer(&["--json", "render", "--stage", "nosuchstage"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "stdout holds only results");
    let json: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap_or_else(|e| {
        panic!(
            "--json errors are JSON on stderr ({e}): {}",
            text(&out.stderr)
        )
    });
    let error = json["error"].as_str().unwrap();
    assert!(error.contains("cannot read stage file"), "{json}");
    assert!(
        json["causes"].as_array().is_some_and(|c| !c.is_empty()),
        "{json}"
    );
}

#[test]
fn an_unreachable_endpoint_is_named_with_the_next_step() {
    // A port nothing listens on: the SDK's dispatch failure becomes one sentence.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_deployer"))
        .args([
            "--project-dir",
            project().to_str().unwrap(),
            "outputs",
            "--stage",
            "local",
        ])
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "cannot reach the AWS endpoint http://127.0.0.1:{port} (connection refused)"
        )) && err.contains("is the local stand-in running?"),
        "{err}"
    );
    assert!(
        !err.contains("DispatchFailure") && !err.contains("hyper"),
        "{err}"
    );
}

#[test]
fn the_committed_schema_is_current() {
    let committed = std::fs::read_to_string(project().join("stages/schema.json")).unwrap();
    let out = deployer(&["schema"]);
    assert!(out.status.success());
    assert!(
        text(&out.stdout) == committed,
        "stages/schema.json is stale; run `cargo deployer schema --out stages/schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_str(&committed).unwrap();
    assert_eq!(schema["additionalProperties"], false);
    assert!(schema["properties"]["providers"].is_object());
}
