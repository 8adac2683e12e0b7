//! The suite's secret ledger (RELIABILITY.md, scenario 7).
//!
//! When `SUITE_CAPTURE_DIR` is set (the README's test command sets it), every place that makes or
//! hands out a token or secret value in the tests records it here: the provider fakes for every
//! token, code and client secret they issue, the test helpers for the values they write. Each
//! process appends `label<TAB>value` lines to its own file under `<dir>/ledger/`. After the suite,
//! `secret-scan` searches everything the suite printed (every test's output, every CLI run, every
//! function log, the stand-in's log) for every recorded value; one hit fails the suite.
//!
//! Unset, recording does nothing: the fakes also serve the demo.

pub mod scan;

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock, PoisonError};

/// The variable naming the capture directory.
pub const CAPTURE_ENV: &str = "SUITE_CAPTURE_DIR";
/// The ledger's directory under the capture directory.
pub const LEDGER_DIR: &str = "ledger";
/// Where captured logs go under the capture directory (function logs, the stand-in's log).
pub const LOGS_DIR: &str = "logs";

/// The capture directory, when the suite is being captured.
#[must_use]
pub fn capture_dir() -> Option<PathBuf> {
    std::env::var_os(CAPTURE_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// A directory under the capture directory (created), when the suite is being captured.
#[must_use]
pub fn capture_subdir(name: &str) -> Option<PathBuf> {
    let dir = capture_dir()?.join(name);
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

fn ledger() -> Option<&'static Mutex<File>> {
    static LEDGER: OnceLock<Option<Mutex<File>>> = OnceLock::new();
    LEDGER
        .get_or_init(|| {
            let dir = capture_subdir(LEDGER_DIR)?;
            let path = dir.join(format!("{}.tsv", std::process::id()));
            let file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()?;
            Some(Mutex::new(file))
        })
        .as_ref()
}

/// Records `value` (a token or secret the suite uses) under `label` (where it came from, e.g.
/// `fakes:tiktok:refresh`), if the suite is being captured. A value with a tab or a line break
/// cannot be a line of the ledger and is recorded as its lines' longest part.
pub fn record(label: &str, value: &str) {
    let Some(ledger) = ledger() else {
        return;
    };
    let value = value
        .split(['\t', '\n', '\r'])
        .max_by_key(|part| part.len())
        .unwrap_or("");
    if value.is_empty() {
        return;
    }
    let label = label.replace(['\t', '\n', '\r'], " ");
    let mut file = ledger.lock().unwrap_or_else(PoisonError::into_inner);
    // One write per line, on a file opened for appending: lines of concurrent writers never mix.
    let _ = file.write_all(format!("{label}\t{value}\n").as_bytes());
}
