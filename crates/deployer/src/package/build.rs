//! Builds the refresher's `bootstrap` for a stage's architecture so that it runs on
//! provided.al2023: with `cargo zigbuild` against glibc 2.34 when it is installed (a guarantee),
//! else with plain `cargo build` for this machine's own architecture (checked afterwards: the
//! ELF check refuses a binary that needs a newer glibc).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use super::fresh;
use crate::stage::Architecture;

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildSpec {
    pub project_dir: PathBuf,
    pub architecture: Architecture,
    /// Cargo profile: `release` for real stages; `dev` builds faster for tests.
    pub profile: String,
}

fn triple(arch: Architecture) -> &'static str {
    match arch {
        Architecture::X86_64 => "x86_64-unknown-linux-gnu",
        Architecture::Arm64 => "aarch64-unknown-linux-gnu",
    }
}

fn host_architecture() -> Option<Architecture> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => Some(Architecture::X86_64),
        ("linux", "aarch64") => Some(Architecture::Arm64),
        _ => None,
    }
}

/// PATH with the project's tool venv first: `pip install ziglang` there gives cargo-zigbuild its
/// zig (it runs `python3 -m ziglang` when no `zig` is on PATH).
fn tool_path(project_dir: &Path) -> Option<std::ffi::OsString> {
    let venv = project_dir.join(".venv/bin");
    let current = std::env::var_os("PATH").unwrap_or_default();
    if !venv.is_dir() {
        return Some(current);
    }
    std::env::join_paths(std::iter::once(venv).chain(std::env::split_paths(&current))).ok()
}

/// cargo-zigbuild, and a zig for it: `zig` on PATH or the `ziglang` Python package.
fn has_zigbuild(project_dir: &Path) -> bool {
    let path = tool_path(project_dir);
    let runs = |program: &str, args: &[&str]| {
        let mut cmd = Command::new(program);
        if let Some(path) = &path {
            cmd.env("PATH", path);
        }
        cmd.args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    runs("cargo-zigbuild", &["--version"])
        && (runs("zig", &["version"]) || runs("python3", &["-m", "ziglang", "version"]))
}

/// Builds `bootstrap` and returns its path. Cargo's own output goes to stderr.
pub fn build(spec: &BuildSpec) -> Result<PathBuf> {
    let triple = triple(spec.architecture);
    let path = target_dir(&spec.project_dir)
        .join(triple)
        .join(profile_dir(&spec.profile))
        .join("bootstrap");
    let inputs = fresh::fingerprint(&spec.project_dir, triple, &spec.profile);
    if fresh::is_fresh(&path, &inputs) {
        crate::output::note("refresher unchanged since its last build; not asking cargo again");
        return Ok(path);
    }
    let mut cmd = cargo_command(spec, triple)?;
    let status = cmd
        .status()
        .context("cannot run cargo to build the refresher")?;
    if !status.success() {
        bail!("building the refresher failed (cargo exited with {status}); the errors are above");
    }
    if !path.is_file() {
        bail!(
            "cargo reported success but {} is missing; is CARGO_TARGET_DIR (or the build's \
             target directory) being cleaned meanwhile? Build again",
            path.display()
        );
    }
    fresh::record(&path, &inputs);
    Ok(path)
}

/// The cargo command that builds `bootstrap` for `triple`: `cargo zigbuild` against glibc 2.34
/// when cargo-zigbuild is installed, else a plain `cargo build` (only for this machine's
/// architecture).
fn cargo_command(spec: &BuildSpec, triple: &str) -> Result<Command> {
    let zig = has_zigbuild(&spec.project_dir);
    let native = host_architecture() == Some(spec.architecture);
    if !zig && !native {
        bail!(
            "building the {} refresher on this machine needs cargo-zigbuild: run \
             `pip install ziglang && cargo install --locked cargo-zigbuild` (or set \
             function.architecture to this machine's for a local stage)",
            spec.architecture
        );
    }
    let mut cmd = Command::new("cargo");
    if let Some(path) = tool_path(&spec.project_dir) {
        cmd.env("PATH", path);
    }
    if zig {
        // `<triple>.2.34` links against glibc 2.34's symbols, provided.al2023's.
        cmd.args(["zigbuild", "--target", &format!("{triple}.2.34")]);
    } else {
        cmd.args(["build", "--target", triple]);
    }
    cmd.args(["--locked", "--package", "refresher", "--bin", "bootstrap"])
        .args(["--profile", &spec.profile])
        .current_dir(&spec.project_dir)
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit());
    Ok(cmd)
}

fn target_dir(project_dir: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| project_dir.join("target"), PathBuf::from)
}

/// Cargo writes the `dev` profile to `debug/`, every other profile to its own name.
fn profile_dir(profile: &str) -> &str {
    if profile == "dev" { "debug" } else { profile }
}
