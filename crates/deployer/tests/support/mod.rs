//! What the deployer's integration tests share: running the `deployer` binary against the local
//! stand-in as an operator would, and editable copies of the `local` stage.

// Each test binary uses a different part of this module.
#![allow(dead_code)]

pub(crate) mod serve;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use refresher::crypto::{ItemKey, KeyCache};
use refresher::kms::KmsKeySource;
use refresher::store::{DynamoStore, TokenItem, TokenStore};
use serde_json::Value;
use testkit::moto::Moto;

/// Builds the refresher with the dev profile: the tests exercise the path, not the optimiser.
pub(crate) const DEV_BUILD: [&str; 2] = ["--cargo-profile", "dev"];

pub(crate) fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Every command output a test saw, kept to check for leaked values at the end.
#[derive(Default)]
pub(crate) struct Seen(pub(crate) String);

impl Seen {
    pub(crate) fn keep(&mut self, out: Output) -> Output {
        self.0.push_str(&String::from_utf8_lossy(&out.stdout));
        self.0.push_str(&String::from_utf8_lossy(&out.stderr));
        out
    }
}

/// `deployer` against the stand-in with dummy credentials, as the README's local set-up runs it.
fn command(moto: &Moto, args: &[&str]) -> Command {
    command_at(moto.endpoint(), args)
}

/// `deployer` against any endpoint (a proxy in front of the stand-in, say).
fn command_at(endpoint: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deployer"));
    cmd.arg("--project-dir")
        .arg(project())
        .args(args)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env("NO_COLOR", "1");
    cmd
}

/// Runs `deployer` with no input against `endpoint` instead of the stand-in itself.
pub(crate) fn deployer_at(endpoint: &str, args: &[&str]) -> Output {
    shown(
        args,
        command_at(endpoint, args)
            .stdin(Stdio::null())
            .output()
            .unwrap(),
    )
}

/// Copies a command's output to the test's own stderr: the test runner keeps it (shown when the
/// test fails), and the suite's secret scan reads it (RELIABILITY.md, scenario 7).
#[allow(clippy::print_stderr)] // the test's stderr is where the runner keeps it
fn shown(args: &[&str], out: Output) -> Output {
    eprintln!(
        "$ deployer {} -> exit {:?}\n{}{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `deployer` with no input.
pub(crate) fn deployer(moto: &Moto, args: &[&str]) -> Output {
    shown(
        args,
        command(moto, args).stdin(Stdio::null()).output().unwrap(),
    )
}

/// Starts `deployer` against `endpoint` with its output piped.
pub(crate) fn spawn_at(endpoint: &str, args: &[&str]) -> std::process::Child {
    command_at(endpoint, args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs `deployer` with no input and these extra environment variables.
pub(crate) fn deployer_env(moto: &Moto, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = command(moto, args);
    cmd.envs(env.iter().copied());
    shown(args, cmd.stdin(Stdio::null()).output().unwrap())
}

/// Starts `deployer` with its output piped, for a test that talks to it while it runs.
pub(crate) fn spawn(moto: &Moto, args: &[&str]) -> std::process::Child {
    command(moto, args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs `deployer` with `input` on stdin (secrets are never passed on the command line).
pub(crate) fn deployer_stdin(moto: &Moto, args: &[&str], input: &str) -> Output {
    record_input_secrets(input);
    let mut child = command(moto, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    shown(args, child.wait_with_output().unwrap())
}

/// The secrets of a `secrets set` input: the lines after the client id, or the JSON form's
/// `client_secret`. Recorded for the suite's secret scan.
fn record_input_secrets(input: &str) {
    if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(input) {
        for (key, value) in &fields {
            if key.contains("secret")
                && let Some(value) = value.as_str()
            {
                secret_ledger::record("deployer-tests:stdin", value);
            }
        }
        return;
    }
    for line in input.lines().skip(1) {
        secret_ledger::record("deployer-tests:stdin", line.trim());
    }
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

/// The `local` stage's providers and the fakes that stand for them.
pub(crate) const FAKE_PROVIDERS: [(&str, &str); 4] = [
    ("tiktok", "tiktok"),
    ("reddit", "reddit"),
    ("instagram", "instagram"),
    ("schwab", "oauth2"),
];

/// A copy of the `local` stage pointing at the fakes on `base_url`, edited further by `edit`.
pub(crate) fn fakes_stage(dir: &Path, base_url: &str, edit: impl Fn(String) -> String) -> String {
    local_stage(dir, |t| edit(t.replace("http://127.0.0.1:5055", base_url)))
}

/// `deployer secrets set` of `platform` with the credentials its fake (`fake`) accepts.
pub(crate) fn set_fake_credentials(moto: &Moto, stage: &str, platform: &str, fake: &str) {
    let input = format!("fake-{fake}-client\nfake-{fake}-secret\n");
    let args = ["secrets", "set", "--stage", stage, "--provider", platform];
    let out = deployer_stdin(moto, &args, &input);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every provider's credentials, as the fakes accept them.
pub(crate) fn set_all_fake_credentials(moto: &Moto, stage: &str) {
    for (platform, fake) in FAKE_PROVIDERS {
        set_fake_credentials(moto, stage, platform, fake);
    }
}

/// `deployer --json tokens import` of `rows` (JSON lines), which must succeed; its report.
pub(crate) fn import_rows(moto: &Moto, stage: &str, dir: &Path, rows: &str) -> Value {
    for row in rows.lines() {
        let row: Value = serde_json::from_str(row).unwrap_or(Value::Null);
        for field in ["accessToken", "refreshToken"] {
            if let Some(token) = row[field].as_str() {
                secret_ledger::record("deployer-tests:import", token);
            }
        }
    }
    let file = dir.join("tokens.jsonl");
    std::fs::write(&file, rows).unwrap();
    let args = [
        "--json",
        "tokens",
        "import",
        "--stage",
        stage,
        file.to_str().unwrap(),
    ];
    json(&deployer(moto, &args))
}

/// The `local` stage's tokens table and key, read with the refresher's own code.
pub(crate) struct LocalTokens {
    pub(crate) store: DynamoStore,
    pub(crate) keys: KeyCache<KmsKeySource>,
}

/// An item and its tokens, decrypted.
pub(crate) struct StoredTokens {
    pub(crate) item: TokenItem,
    pub(crate) access: Option<String>,
    pub(crate) refresh: Option<String>,
}

impl LocalTokens {
    pub(crate) async fn open(moto: &Moto) -> Self {
        let sdk = moto.sdk_config().await;
        Self {
            store: DynamoStore::new(
                aws_sdk_dynamodb::Client::new(&sdk),
                "oauth-tokens-local",
                "byExpiry",
            ),
            keys: KeyCache::new(KmsKeySource::new(
                aws_sdk_kms::Client::new(&sdk),
                "alias/oauth-refresher-local",
                "oauth-tokens-local",
            )),
        }
    }

    /// `user`'s item on `platform` (which must exist), its tokens opened.
    pub(crate) async fn read(&self, user: &str, platform: &str) -> StoredTokens {
        let item = self
            .store
            .get(user, platform)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no item {user}/{platform}"));
        let key = ItemKey {
            user_id: user,
            platform,
        };
        let mut open = Vec::new();
        for stored in [&item.access_token, &item.refresh_token] {
            open.push(match stored {
                Some(stored) => Some(
                    self.keys
                        .read(stored, key)
                        .await
                        .unwrap()
                        .value
                        .expose()
                        .to_owned(),
                ),
                None => None,
            });
        }
        let refresh = open.pop().flatten();
        let access = open.pop().flatten();
        StoredTokens {
            item,
            access,
            refresh,
        }
    }
}

/// A `bootstrap` that runs the fixture runtime (`tests/fixtures/fake_runtime.py`, which talks to
/// the Runtime API as a real one does and misbehaves on request) in the project's Python, written
/// into `dir`, as function `name` with `environment` (`FAKE_MODE` picks the behaviour).
pub(crate) fn fake_runtime(
    dir: &Path,
    name: &str,
    timeout: std::time::Duration,
    environment: &[(&str, &str)],
) -> deployer::emulator::FunctionSpec {
    let python = testkit::tools::venv_bin("python3");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fake_runtime.py");
    let bootstrap = dir.join("bootstrap");
    std::fs::write(
        &bootstrap,
        format!(
            "#!/bin/sh\nexec {} {}\n",
            python.display(),
            script.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &bootstrap,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    deployer::emulator::FunctionSpec {
        binary: bootstrap,
        function_name: name.to_owned(),
        memory_mb: 256,
        timeout,
        region: "us-east-1".into(),
        environment: environment
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}
