//! The apps' readers in other languages, driven through their interop scripts
//! (`clients/typescript/scripts/interop-read.mjs`, `clients/python/tests/interop_read.py`): keys in
//! as JSON lines, one line per key out (metadata and the token's SHA-256, never the token), then
//! the reader's KMS `Decrypt` count.

// Helpers fail their test by panicking with the reason, as the test functions do.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::tools::project_root;

/// The TypeScript reader's script (its `dist/` must be built: `scripts/test` does).
pub fn typescript() -> Command {
    let root = project_root();
    assert!(
        root.join("clients/typescript/dist/index.js").is_file(),
        "clients/typescript is not built; run scripts/test (or `npm test` in clients/typescript)"
    );
    let mut command = Command::new("node");
    command.arg(root.join("clients/typescript/scripts/interop-read.mjs"));
    command
}

/// The Python reader's script, in `.venv-clients`.
pub fn python() -> Command {
    let root = project_root();
    let python = root.join(".venv-clients/bin/python");
    assert!(
        python.is_file(),
        "{} is missing; run scripts/test (it creates .venv-clients)",
        python.display()
    );
    let mut command = Command::new(python);
    command.arg(root.join("clients/python/tests/interop_read.py"));
    command
}

/// Both scripts, by name.
pub fn scripts() -> [(&'static str, Command); 2] {
    [("typescript", typescript()), ("python", python())]
}

/// Runs a script over `keys` with `env` (and nothing of the test's own AWS environment); its
/// lines, and the KMS `Decrypt` count it reports.
pub fn read(mut command: Command, env: &[(String, String)], keys: &[Value]) -> (Vec<Value>, u64) {
    command
        .current_dir(project_root())
        .env_remove("AWS_PROFILE")
        .envs(env.iter().cloned());
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start {command:?}: {e}; run scripts/test (it installs the readers)")
        });
    let input: String = keys.iter().map(|key| key.to_string() + "\n").collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{command:?} failed: {:?}", out.status);
    let mut lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let calls = lines.pop().unwrap()["kmsDecryptCalls"].as_u64().unwrap();
    (lines, calls)
}

/// The readers' environment: the stack's outputs and the standard AWS variables.
pub fn env(
    table: &str,
    key_arn: &str,
    endpoint: &str,
    key_id: &str,
    secret: &str,
) -> Vec<(String, String)> {
    [
        ("TokensTableName", table),
        ("KmsKeyArn", key_arn),
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", key_id),
        ("AWS_SECRET_ACCESS_KEY", secret),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}
