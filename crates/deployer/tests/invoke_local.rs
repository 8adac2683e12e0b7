//! `deployer invoke --local`: the zip the stack deployed, run on this machine under the Runtime
//! API emulator with the deployed function's environment, against the local stand-in.

#![allow(
    clippy::too_many_lines,
    reason = "end-to-end scenarios read top to bottom; the 60-line limit is for the product's code"
)]
// Helpers of a test fail it by panicking, as the test functions do.
#![allow(clippy::unwrap_used)]

mod support;

use support::{deploy, deployer, json, local_stage};
use testkit::moto::Moto;

/// Client credentials for every provider of the `local` stage, as `deployer secrets set` stores them.
const CREDENTIALS: &str = r#"{
  "tiktok": {"client_id": "fake-tiktok-client", "client_secret": "fake-tiktok-secret"},
  "reddit": {"client_id": "fake-reddit-client", "client_secret": "fake-reddit-secret"},
  "instagram": {"client_id": "fake-instagram-client", "client_secret": "fake-instagram-secret"},
  "schwab": {"client_id": "fake-oauth2-client", "client_secret": "fake-oauth2-secret"}
}"#;

#[tokio::test(flavor = "multi_thread")]
async fn the_deployed_zip_runs_locally_and_reports_its_result() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let stage = local_stage(dir.path(), |t| t);
    deploy(&moto, &stage);

    // No credentials secret yet: the cold start fails, and says which secret to create.
    let out = deployer(
        &moto,
        &[
            "--json",
            "invoke",
            "--local",
            "--dry-run",
            "--stage",
            &stage,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let failed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(failed["ok"], false);
    assert_ne!(failed["status"], "ok", "{failed:#}");
    let logs = failed["log_tail"].to_string();
    assert!(
        logs.contains("provider-credentials"),
        "the failure should name the secret: {failed:#}"
    );

    let secrets = aws_sdk_secretsmanager::Client::new(&moto.sdk_config().await);
    secrets
        .create_secret()
        .name("OAuthRefreshStack-local/provider-credentials")
        .secret_string(CREDENTIALS)
        .send()
        .await
        .unwrap();

    let ran = json(&deployer(
        &moto,
        &[
            "--json",
            "invoke",
            "--local",
            "--dry-run",
            "--providers",
            "tiktok,reddit",
            "--log-lines",
            "0",
            "--log-dir",
            dir.path().join("logs").to_str().unwrap(),
            "--stage",
            &stage,
        ],
    ));
    assert_eq!(ran["ok"], true, "{ran:#}");
    // None shown, all kept.
    assert_eq!(ran["log_tail"], serde_json::json!([]), "{ran:#}");
    let kept: Vec<_> = std::fs::read_dir(dir.path().join("logs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let name = kept[0].file_name().unwrap().to_string_lossy().into_owned();
    let function = ran["function"].as_str().unwrap();
    assert!(
        name.starts_with(&format!("{function}-"))
            && kept[0].extension().is_some_and(|e| e == "log"),
        "{name}"
    );
    let log = std::fs::read_to_string(&kept[0]).unwrap();
    assert!(
        log.contains("\"run_completed\"") && log.contains("\"due_tokens\""),
        "{log}"
    );
    assert_eq!(ran["status"], "ok");
    assert_eq!(ran["mode"], "local");
    assert_eq!(ran["payload"]["ok"], true, "{ran:#}");
    assert_eq!(ran["payload"]["refreshed"], 0);

    let out = deployer(
        &moto,
        &[
            "invoke",
            "--local",
            "--providers",
            "nosuch",
            "--stage",
            &stage,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`nosuch` is not a provider of stage local")
    );
}
