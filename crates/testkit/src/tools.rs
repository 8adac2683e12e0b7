//! Where the project and the tools the suite needs are. A missing tool is a failure that names
//! the command installing it, never a skip.

use std::path::{Path, PathBuf};

/// The workspace root (holds `stages/`, `templates/`, `.venv/`).
pub fn project_root() -> PathBuf {
    // crates/testkit -> the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Every stage file of the project, sorted: `(name, path)`.
pub fn stage_files() -> Vec<(String, PathBuf)> {
    let dir = project_root().join("stages");
    let mut stages: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .filter_map(|path| Some((path.file_stem()?.to_str()?.to_owned(), path)))
        .collect();
    stages.sort();
    stages
}

/// A program from the project's Python venv (`.venv`, or `SUITE_VENV`), e.g. `moto_server`.
pub fn venv_bin(name: &str) -> PathBuf {
    venv_tool("SUITE_VENV", ".venv", name, "tools/requirements.txt")
}

/// checkov, from its own venv (`.venv-checkov`, or `SUITE_CHECKOV_VENV`): its pins clash with moto's.
pub fn checkov() -> PathBuf {
    venv_tool(
        "SUITE_CHECKOV_VENV",
        ".venv-checkov",
        "checkov",
        "tools/requirements-checkov.txt",
    )
}

fn venv_tool(env: &str, default_dir: &str, name: &str, requirements: &str) -> PathBuf {
    let venv =
        std::env::var_os(env).map_or_else(|| project_root().join(default_dir), PathBuf::from);
    let path = venv.join("bin").join(name);
    assert!(
        path.is_file(),
        "{} is missing; run `scripts/test` from the project root (it creates {} from {requirements}), \
         or point {env} at a venv that has it",
        path.display(),
        venv.display()
    );
    path
}
