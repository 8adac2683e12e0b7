//! The structural rules ARCHITECTURE.md states, checked on the sources (issue 16): a rule that a
//! program can check is a test, so the map cannot drift from the code again.
//!
//! - ARCHITECTURE.md names every folder of the repository that holds tracked files (snapshot
//!   folders aside: they are data of the test beside them).
//! - In the deployer, no SDK path (`aws_sdk_*`, `aws_smithy_*`) outside `src/aws/`, test code aside
//!   (a test may build an SDK mock to drive a domain function).
//! - No command module imports another command module: shared logic lives in a domain module.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every tracked file, relative to the repository root.
fn tracked_files() -> Vec<String> {
    let out = Command::new("git")
        .args(["ls-files", "--cached", "--others", "--exclude-standard"])
        .current_dir(repo())
        .output()
        .expect("git runs (the suite runs in a clone of the repository)");
    assert!(
        out.status.success(),
        "git ls-files failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("paths are UTF-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn architecture_md_names_every_folder() {
    let map = std::fs::read_to_string(repo().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let folders: BTreeSet<String> = tracked_files()
        .iter()
        .filter_map(|file| Path::new(file).parent())
        .filter(|dir| !dir.as_os_str().is_empty())
        .filter(|dir| !dir.components().any(|c| c.as_os_str() == "snapshots"))
        .map(|dir| format!("{}/", dir.display()))
        .collect();
    assert!(folders.len() > 40, "the repository's folders: {folders:?}");
    let unnamed: Vec<&String> = folders
        .iter()
        .filter(|dir| !map.contains(dir.as_str()))
        .collect();
    assert!(
        unnamed.is_empty(),
        "ARCHITECTURE.md does not name these folders (write each as `path/` with what it holds): {unnamed:#?}"
    );
}

/// The non-test text of a Rust source: files that are tests are empty, and a file's text stops at
/// its `#[cfg(test)]` module.
fn non_test_source(path: &Path) -> String {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if name == "tests.rs" || name.ends_with("_tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).expect("a readable source file");
    match text.find("#[cfg(test)]") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

fn rust_files(under: &str) -> Vec<PathBuf> {
    tracked_files()
        .into_iter()
        .filter(|f| f.starts_with(under) && Path::new(f).extension().is_some_and(|e| e == "rs"))
        .map(|f| repo().join(f))
        .collect()
}

#[test]
fn only_the_aws_module_names_the_sdk_in_the_deployer() {
    let files = rust_files("crates/deployer/src/");
    assert!(files.len() > 50, "the deployer's sources");
    let mut offenders = Vec::new();
    for path in files {
        if path.components().any(|c| c.as_os_str() == "aws") {
            continue;
        }
        let text = non_test_source(&path);
        for (n, line) in text.lines().enumerate() {
            if line.contains("aws_sdk_") || line.contains("aws_smithy_") {
                offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "SDK types outside crates/deployer/src/aws/ (give aws/ a function that returns the \
         project's own types instead): {offenders:#?}"
    );
}

#[test]
fn no_command_imports_another() {
    let commands_dir = repo().join("crates/deployer/src/commands");
    let commands: Vec<String> = std::fs::read_dir(&commands_dir)
        .expect("commands/")
        .flatten()
        .map(|entry| entry.path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "rs"))
        .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_owned))
        .filter(|name| name != "mod" && !name.ends_with("_tests"))
        .collect();
    assert!(commands.len() > 15, "the command modules: {commands:?}");
    let mut offenders = Vec::new();
    for path in rust_files("crates/deployer/src/commands/") {
        let relative = path.strip_prefix(&commands_dir).expect("under commands/");
        let own = relative
            .components()
            .next()
            .and_then(|c| Path::new(c.as_os_str()).file_stem())
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        if own == "mod" {
            continue; // commands/mod.rs dispatches to every command: that is its job.
        }
        // `super` names commands/ from commands/x.rs and commands/x/mod.rs; from
        // commands/x/y.rs it names commands/x/, and `super::super` names commands/.
        let depth = relative.components().count();
        let up = if depth == 1 || relative.ends_with("mod.rs") {
            "super::"
        } else {
            "super::super::"
        };
        let text = non_test_source(&path);
        for other in commands.iter().filter(|c| **c != own) {
            for prefix in ["crate::commands::", up] {
                let path_form = format!("{prefix}{other}");
                if mentions(&text, &path_form) {
                    offenders.push(format!("{} uses {path_form}", path.display()));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "a command imports another command (move what they share into a domain module): {offenders:#?}"
    );
}

/// `text` holds `path` as a whole path segment (`super::status::x`, `use super::status;`), not as
/// the start of a longer name (`super::status_line`).
fn mentions(text: &str, path: &str) -> bool {
    text.match_indices(path).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + path.len()..].chars().next();
        before.is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == ':'))
            && after.is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
    })
}

/// Files short enough to hold one subject (issue 16): nine in ten of the deployer's source files
/// under 300 lines of non-test code, none over 450. Functions are held to 60 lines by clippy's
/// `too_many_lines` (clippy.toml).
#[test]
fn the_deployers_files_stay_short() {
    let mut sizes: Vec<(usize, PathBuf)> = rust_files("crates/deployer/src/")
        .into_iter()
        .map(|path| (non_test_source(&path).lines().count(), path))
        .filter(|(lines, _)| *lines > 0)
        .collect();
    sizes.sort();
    let p90 = sizes[sizes.len() * 9 / 10].0;
    let longest = sizes.last().expect("the deployer has sources");
    assert!(
        p90 < 300,
        "nine in ten deployer files should be under 300 lines (p90 is {p90}); split the longest \
         by subject: {:#?}",
        &sizes[sizes.len() * 9 / 10..]
    );
    assert!(
        longest.0 <= 450,
        "{} has {} lines of non-test code; split it by subject",
        longest.1.display(),
        longest.0
    );
}
