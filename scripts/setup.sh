# Sourced by scripts/test (and the demo): installs what the suite needs on a fresh machine and
# sets the environment the build uses. Idempotent: a second run only checks.
#
# - Python venvs from the pinned requirements: .venv (moto server, cfn-lint) and .venv-checkov
#   (checkov's pins clash with moto's). Rebuilt when a requirements file changes.
# - Rust components the checks need (rustfmt, clippy), added through rustup when missing.
# - The cross-build tools of the Lambda artifact: both Linux targets and cargo-zigbuild.
# - cargo-deny for the supply-chain check; cargo-nextest for the tests and their JUnit report.
# - The readers under clients/: the TypeScript one's npm packages (`npm ci`, from its lock file)
#   and .venv-clients with the Python one installed editable, with its dev tools.
# - A cargo target directory outside the clone that persists between runs on one machine
#   (BUILD-FACTS.md: a fresh clone then rebuilds in seconds, not minutes).

project_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { printf '==> %s\n' "$*" >&2; }

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3.10 python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys, venv; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  # moto 5.2.5 (the stand-in), mypy and the Python reader's dev tools need 3.10 (the reader itself
  # runs on 3.9).
  echo "no Python 3.10+ with the venv module found; install python3 (3.10 or newer) and python3-venv" >&2
  return 1
}

# venv DIR REQUIREMENTS: creates or refreshes DIR from REQUIREMENTS.
ensure_venv() {
  local dir="$project_root/$1" requirements="$project_root/$2" stamp want python
  stamp="$dir/.requirements.sha256"
  want="$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  python="$(find_python)"
  say "installing $2 into $1 (once per requirements change)"
  rm -rf "$dir"
  "$python" -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  echo "$want" > "$stamp"
}

ensure_rust() {
  command -v cargo >/dev/null 2>&1 || { echo "cargo not found; install Rust with rustup" >&2; return 1; }
  local missing=()
  cargo fmt --version >/dev/null 2>&1 || missing+=(rustfmt)
  cargo clippy --version >/dev/null 2>&1 || missing+=(clippy)
  if ((${#missing[@]})); then
    say "adding rustup components: ${missing[*]}"
    rustup component add "${missing[@]}"
  fi
}

# Cross-building the Lambda artifact: both Linux targets and cargo-zigbuild (zig itself comes from
# the ziglang package in .venv; the deployer puts .venv/bin first on cargo's PATH).
CARGO_ZIGBUILD_VERSION=0.24.1
ensure_cross() {
  if command -v rustup >/dev/null 2>&1; then
    local targets
    targets="$(rustup target list --installed)"
    for target in x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu; do
      grep -qx "$target" <<<"$targets" || { say "adding rust target $target"; rustup target add "$target"; }
    done
  fi
  if [[ "$(cargo-zigbuild --version 2>/dev/null)" != "cargo-zigbuild $CARGO_ZIGBUILD_VERSION" ]]; then
    say "installing cargo-zigbuild $CARGO_ZIGBUILD_VERSION (once per machine, about a minute)"
    cargo install --locked --quiet cargo-zigbuild --version "$CARGO_ZIGBUILD_VERSION"
  fi
}

# The supply-chain check (scripts/deny): cargo-deny, pinned; about two minutes to build once.
CARGO_DENY_VERSION=0.20.2
ensure_deny() {
  if [[ "$(cargo-deny --version 2>/dev/null)" != "cargo-deny $CARGO_DENY_VERSION" ]]; then
    say "installing cargo-deny $CARGO_DENY_VERSION (once per machine, about two minutes)"
    cargo install --locked --quiet cargo-deny --version "$CARGO_DENY_VERSION"
  fi
}

# The test runner: its JUnit report keeps every test's output for the secret scan. Any installed
# nextest will do (this machine image ships one); a machine without it builds the pinned one.
CARGO_NEXTEST_VERSION=0.9.143
ensure_nextest() {
  if ! cargo nextest --version >/dev/null 2>&1; then
    say "installing cargo-nextest $CARGO_NEXTEST_VERSION (once per machine, a few minutes)"
    cargo install --locked --quiet cargo-nextest --version "$CARGO_NEXTEST_VERSION"
  fi
}

# stamp DIR NAME FILE...: true when DIR/NAME holds the hash of FILEs (nothing to do); else
# records it after the caller's install by `stamp_write`.
stamp_matches() {
  local stamp="$1" want
  shift
  want="$(cat "$@" | sha256sum | cut -d' ' -f1)"
  [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]
}
stamp_write() {
  local stamp="$1"
  shift
  cat "$@" | sha256sum | cut -d' ' -f1 > "$stamp"
}

# The readers' own test suites (clients/): npm packages exactly as locked, and a venv with the
# Python reader installed editable plus its pinned dev tools (pytest, mypy, ruff, moto).
ensure_clients() {
  local ts="$project_root/clients/typescript" py="$project_root/clients/python"
  command -v npm >/dev/null 2>&1 || { echo "npm not found; install Node.js 20+ (the TypeScript reader's tests need it)" >&2; return 1; }
  if ! stamp_matches "$ts/node_modules/.lock.sha256" "$ts/package-lock.json"; then
    say "installing the TypeScript reader's packages (npm ci)"
    (cd "$ts" && npm ci --no-audit --no-fund --loglevel=error)
    stamp_write "$ts/node_modules/.lock.sha256" "$ts/package-lock.json"
  fi
  local venv="$project_root/.venv-clients"
  if ! stamp_matches "$venv/.pyproject.sha256" "$py/pyproject.toml"; then
    say "installing the Python reader and its dev tools into .venv-clients"
    rm -rf "$venv"
    "$(find_python)" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -e "$py[dev]"
    stamp_write "$venv/.pyproject.sha256" "$py/pyproject.toml"
  fi
}

setup_environment() {
  ensure_rust
  ensure_venv .venv tools/requirements.txt
  ensure_venv .venv-checkov tools/requirements-checkov.txt
  ensure_clients
  ensure_cross
  ensure_deny
  ensure_nextest
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/oauth-refresher/target}"
  # Incremental artifacts only slow a from-scratch build and double the target dir.
  export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
  export CFN_LINT="$project_root/.venv/bin/cfn-lint"
}
