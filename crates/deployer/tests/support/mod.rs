//! What the deployer's integration tests share: running the `deployer` binary against the local
//! stand-in as an operator would, and editable copies of the `local` stage.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use testkit::moto::Moto;

/// Builds the refresher with the dev profile: the tests exercise the path, not the optimiser.
pub(crate) const DEV_BUILD: [&str; 2] = ["--cargo-profile", "dev"];

pub(crate) fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `deployer` against the stand-in with dummy credentials, as the README's local set-up does.
pub(crate) fn deployer(moto: &Moto, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deployer"))
        .arg("--project-dir")
        .arg(project())
        .args(args)
        .env("AWS_ENDPOINT_URL", moto.endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// The JSON a successful command printed.
pub(crate) fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A copy of the `local` stage in `dir`, edited by `edit`; returns its path.
pub(crate) fn local_stage(dir: &Path, edit: impl Fn(String) -> String) -> String {
    let text = std::fs::read_to_string(project().join("stages/local.yaml")).unwrap();
    let path = dir.join("local.yaml");
    std::fs::write(&path, edit(text)).unwrap();
    path.to_str().unwrap().to_owned()
}

/// `deployer --json deploy --stage <stage>` with the dev build, which must succeed.
pub(crate) fn deploy(moto: &Moto, stage: &str) -> Value {
    json(&deployer(
        moto,
        &[
            &["--json", "deploy", "--yes", "--stage", stage],
            &DEV_BUILD[..],
        ]
        .concat(),
    ))
}
