//! The deploy path end to end against the local AWS stand-in, through the `deployer` binary as an
//! operator runs it: fresh deploy, unchanged re-deploy (no upload, no execution), a schedule and
//! memory change, outputs in every format, destroy (tables retained).

#![allow(
    clippy::too_many_lines,
    reason = "end-to-end scenarios read top to bottom; the 60-line limit is for the product's code"
)]
// Helpers of a test fail it by panicking, as the test functions do.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use serde_json::Value;
use support::{DEV_BUILD, deployer, json, local_stage};
use testkit::moto::Moto;

/// `plan --fail --json`, which must exit 2 (changes found); its JSON.
fn plan_with_changes(moto: &Moto, stage: &str) -> Value {
    let out = deployer(
        moto,
        &[
            &["--json", "plan", "--fail", "--stage", stage],
            &DEV_BUILD[..],
        ]
        .concat(),
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn deploy_redeploy_change_outputs_destroy() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let stage = local_stage(dir.path(), |t| t);

    // Before the first deploy, the plan is the whole template as additions; --fail exits 2.
    let plan = plan_with_changes(&moto, &stage);
    assert_eq!(plan["operation"], "create");
    assert!(plan["changes"].as_array().unwrap().len() > 25);

    let first = json(&deployer(
        &moto,
        &[&["--json", "deploy", "--stage", &stage], &DEV_BUILD[..]].concat(),
    ));
    assert_eq!(first["action"], "created");
    assert_eq!(first["artifact"]["uploaded"], true);
    let key = first["artifact"]["key"].as_str().unwrap().to_owned();
    assert!(
        key.starts_with("refresher/") && Path::new(&key).extension().is_some_and(|e| e == "zip"),
        "{key}"
    );
    assert!(
        first["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["key"] == "RefreshOAuthFnName")
    );

    // Unchanged: the same artifact key (reproducible zip), nothing uploaded, nothing executed.
    let again = json(&deployer(
        &moto,
        &[&["--json", "deploy", "--stage", &stage], &DEV_BUILD[..]].concat(),
    ));
    assert_eq!(again["action"], "no-op", "{again:#}");
    assert_eq!(again["artifact"]["uploaded"], false);
    assert_eq!(again["artifact"]["key"], key.as_str());

    // Nothing to change: the plan says so and --fail exits 0.
    let out = deployer(
        &moto,
        &[&["plan", "--fail", "--stage", &stage], &DEV_BUILD[..]].concat(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).ends_with(": no changes\n"));

    // A schedule and the memory size change: both show in the plan and in the live resources.
    let changed = local_stage(dir.path(), |t| {
        t.replace("memory_mb: 256", "memory_mb: 512")
            .replace("schedule: rate(5 minutes)", "schedule: rate(6 minutes)")
    });
    let plan = plan_with_changes(&moto, &changed);
    assert_eq!(plan["operation"], "update");
    assert!(
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["logical_id"] == "RefresherFunction"),
        "{plan:#}"
    );
    let update = json(&deployer(
        &moto,
        &[
            &["--json", "deploy", "--yes", "--stage", &changed],
            &DEV_BUILD[..],
        ]
        .concat(),
    ));
    assert_eq!(update["action"], "updated", "{update:#}");
    let planned: Vec<String> = update["plan"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["action"].as_str().unwrap(),
                c["logical_id"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        planned.contains(&"Modify RefresherFunction".to_owned()),
        "{planned:?}"
    );
    assert!(
        planned.iter().any(|c| c.ends_with("RefreshRuleRate6m")),
        "{planned:?}"
    );
    let config = moto.sdk_config().await;
    let function = aws_sdk_lambda::Client::new(&config)
        .get_function_configuration()
        .function_name("RefreshOAuth-local")
        .send()
        .await
        .unwrap();
    assert_eq!(function.memory_size(), Some(512));
    let rule = aws_sdk_eventbridge::Client::new(&config)
        .describe_rule()
        .name("RefreshOAuthRate6m-local")
        .send()
        .await
        .unwrap();
    assert_eq!(rule.schedule_expression(), Some("rate(6 minutes)"));

    assert_outputs(&moto, &changed);

    let destroyed = json(&deployer(
        &moto,
        &["--json", "destroy", "--yes", "--stage", &changed],
    ));
    assert_eq!(destroyed["deleted"], true);
    let retained: Vec<&str> = destroyed["retained"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        retained.contains(&"TokensTable (oauth-tokens-local)"),
        "{retained:?}"
    );
    // The retained table is still there, with its tokens.
    aws_sdk_dynamodb::Client::new(&config)
        .describe_table()
        .table_name("oauth-tokens-local")
        .send()
        .await
        .unwrap();
}

fn assert_outputs(moto: &Moto, stage: &str) {
    let out = deployer(moto, &["outputs", "--stage", stage, "--format", "json"]);
    let map = json(&out);
    assert_eq!(map["RefreshOAuthFnName"], "RefreshOAuth-local");
    assert_eq!(map["TokensTableName"], "oauth-tokens-local");

    let out = deployer(moto, &["outputs", "--stage", stage, "--format", "env"]);
    let env = String::from_utf8(out.stdout).unwrap();
    assert!(
        env.lines()
            .any(|l| l == "RefreshOAuthFnName=RefreshOAuth-local"),
        "{env}"
    );
    assert!(
        env.lines().any(|l| l.starts_with("DashboardUrl='https://")),
        "{env}"
    );

    let out = deployer(moto, &["outputs", "--stage", stage, "--format", "markdown"]);
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(
        md.starts_with("| Output | Value | Description |\n|---|---|---|\n"),
        "{md}"
    );
    assert!(
        md.contains(
            "| RefreshOAuthFnName | `RefreshOAuth-local` | Name of the refresher function |"
        ),
        "{md}"
    );

    let out = deployer(moto, &["outputs", "--stage", stage]);
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("RefreshOAuthFnName") && l.ends_with("RefreshOAuth-local")),
        "{table}"
    );
}

#[test]
fn another_accounts_credentials_are_refused() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let stage = local_stage(dir.path(), |t| {
        t.replace("\"123456789012\"", "\"999999999999\"")
    });
    let out = deployer(
        &moto,
        &[&["deploy", "--stage", &stage], &DEV_BUILD[..]].concat(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the credentials are for account 123456789012, but stage local belongs to account 999999999999"), "{err}");
}

#[test]
fn a_protected_stage_is_not_destroyed_without_force() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let stage = local_stage(dir.path(), |t| {
        t.replace("account_id:", "termination_protection: true\naccount_id:")
    });
    json(&deployer(
        &moto,
        &[&["--json", "deploy", "--stage", &stage], &DEV_BUILD[..]].concat(),
    ));
    let out = deployer(&moto, &["destroy", "--yes", "--stage", &stage]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --force"));
    let out = deployer(&moto, &["destroy", "--stage", &stage, "--force"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "no terminal and no --yes must not delete"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --yes"));
    let done = json(&deployer(
        &moto,
        &["--json", "destroy", "--yes", "--force", "--stage", &stage],
    ));
    assert_eq!(done["deleted"], true);
}
