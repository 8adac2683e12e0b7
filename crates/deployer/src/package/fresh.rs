//! Whether the refresher must be built again: a fingerprint of everything cargo would look at for
//! it (the files of every crate of the workspace, since the refresher builds on its siblings (the
//! token store); the workspace manifest and lock, cargo's configuration, the build-affecting
//! environment), compared with the one saved beside the binary after its last
//! successful build. Asking cargo costs about half a second even when nothing changed
//! (BENCHMARKS.md); reading a few hundred files' metadata costs milliseconds.
//!
//! Conservative by construction: any change of a file's size or modification time, a new or
//! removed file, a changed variable, or a binary that is not the one recorded, and cargo runs.

use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};

/// Environment variables that change what cargo builds.
fn affects_build(name: &str) -> bool {
    matches!(
        name,
        "RUSTFLAGS"
            | "CARGO_ENCODED_RUSTFLAGS"
            | "RUSTC"
            | "RUSTC_WRAPPER"
            | "CARGO_TARGET_DIR"
            | "PATH"
    ) || name.starts_with("CARGO_PROFILE_")
        || name.starts_with("CARGO_BUILD_")
        || name.starts_with("CARGO_TARGET_")
}

/// `path size mtime` lines of the files below `dir` (sorted), skipping what cargo ignores.
fn walk(dir: &Path, lines: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        lines.push(format!("missing {}", dir.display()));
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path
                .file_name()
                .is_some_and(|n| n != "target" && n != "tests" && n != "benches")
            {
                walk(&path, lines);
            }
        } else {
            lines.push(stamp(&path));
        }
    }
}

fn stamp(path: &Path) -> String {
    match std::fs::metadata(path) {
        Ok(meta) => {
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{} {} {mtime}", path.display(), meta.len())
        }
        Err(_) => format!("missing {}", path.display()),
    }
}

/// The fingerprint of a build of the refresher for `target_triple`/`profile`.
pub fn fingerprint(project_dir: &Path, target_triple: &str, profile: &str) -> String {
    let mut lines = vec![format!("target {target_triple} profile {profile}")];
    // Every crate, not only `crates/refresher`: a change to a path dependency (the token store's
    // claim, once) must rebuild the zip. A change to a crate the refresher does not use costs one
    // cargo call that finds nothing to do.
    walk(&project_dir.join("crates"), &mut lines);
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        ".cargo/config.toml",
        "rust-toolchain.toml",
        "rust-toolchain",
    ] {
        lines.push(stamp(&project_dir.join(file)));
    }
    let mut vars: Vec<String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v)))
        .filter(|(k, _)| affects_build(k))
        .map(|(k, v)| format!("env {k}={}", v.to_string_lossy()))
        .collect();
    vars.sort();
    lines.sort();
    lines.extend(vars);
    hex::encode(Sha256::digest(lines.join("\n").as_bytes()))
}

/// Where the fingerprint of `binary`'s last build is kept.
fn record_path(binary: &Path) -> PathBuf {
    binary.with_extension("inputs")
}

/// Whether `binary` was built from exactly these inputs and is still the file that build wrote.
pub fn is_fresh(binary: &Path, fingerprint: &str) -> bool {
    std::fs::read_to_string(record_path(binary))
        .is_ok_and(|saved| saved == format!("{fingerprint}\n{}", stamp(binary)))
}

/// Records that `binary` was just built from `fingerprint`'s inputs. Best effort: without the
/// record, the next package only asks cargo again.
pub fn record(binary: &Path, fingerprint: &str) {
    let _ = std::fs::write(
        record_path(binary),
        format!("{fingerprint}\n{}", stamp(binary)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_source_change_or_a_replaced_binary_means_a_build() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("crates/refresher/src");
        std::fs::create_dir_all(&src).unwrap();
        std::fs::write(src.join("main.rs"), "fn main() {}").unwrap();
        std::fs::write(dir.path().join("Cargo.lock"), "lock").unwrap();
        let binary = dir.path().join("bootstrap");
        std::fs::write(&binary, "elf").unwrap();

        let print = fingerprint(dir.path(), "x86_64-unknown-linux-gnu", "release");
        assert!(!is_fresh(&binary, &print), "never built");
        record(&binary, &print);
        assert!(is_fresh(&binary, &print));
        assert_eq!(
            print,
            fingerprint(dir.path(), "x86_64-unknown-linux-gnu", "release")
        );
        assert_ne!(
            print,
            fingerprint(dir.path(), "x86_64-unknown-linux-gnu", "dev")
        );

        std::fs::write(src.join("main.rs"), "fn main() { }").unwrap();
        assert_ne!(
            print,
            fingerprint(dir.path(), "x86_64-unknown-linux-gnu", "release")
        );
        std::fs::write(src.join("new.rs"), "").unwrap();
        let changed = fingerprint(dir.path(), "x86_64-unknown-linux-gnu", "release");
        assert!(!is_fresh(&binary, &changed));

        std::fs::write(&binary, "another elf").unwrap();
        assert!(!is_fresh(&binary, &print), "the binary was replaced");
    }

    #[test]
    fn a_change_to_a_sibling_crate_means_a_build() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("crates/token-store/src");
        std::fs::create_dir_all(&store).unwrap();
        std::fs::create_dir_all(dir.path().join("crates/refresher/src")).unwrap();
        std::fs::write(store.join("lib.rs"), "pub fn claim() {}").unwrap();
        let print = fingerprint(dir.path(), "x86_64-unknown-linux-gnu", "release");
        std::fs::write(store.join("lib.rs"), "pub fn claim() { }").unwrap();
        assert_ne!(
            print,
            fingerprint(dir.path(), "x86_64-unknown-linux-gnu", "release"),
            "the token store is part of the refresher's build"
        );
    }
}
