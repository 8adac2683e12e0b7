# The packaging benchmark (issue 8, item 3): `deployer package --stage local` with an unchanged
# refresher (the inputs fingerprint that spares cargo, the cached zip, SHA-256, and one ListObjectsV2 to find the key
# already uploaded), and the zip's size. Optionally cargo-lambda's build of the same binary.

bench_package() {
  local i
  say "package: unchanged refresher, $runs runs"
  # One untimed run first: it may upload (a fresh stand-in) and tells the sizes.
  "$deployer" --json package --stage local >"$work/package.json" 2>>"$work/package.log"
  for ((i = 1; i <= runs; i++)); do
    counted package OAuthRefreshStack-local "$deployer" package --stage local
  done
  local sizes
  sizes="$(python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))
print("zip %.1f MB (bootstrap %.1f MB)" % (r["zip_bytes"] / 1e6, r["binary_bytes"] / 1e6))' "$work/package.json")"
  record "package, unchanged" deployer package "$sizes"
  ((with_cargo_lambda)) && bench_cargo_lambda
  return 0
}

# cargo-lambda: 12 minutes to install (BUILD-FACTS.md), so only with --with-cargo-lambda. Its
# output goes to $work (target/lambda would collide with a cargo profile named `lambda`).
bench_cargo_lambda() {
  local i out="$work/cargo-lambda"
  if ! cargo lambda --version >/dev/null 2>&1; then
    say "installing cargo-lambda (once per machine, about 12 minutes)"
    cargo install --locked cargo-lambda --version 1.9.2
  fi
  # cargo-lambda cross-links with zig: the one the set-up installed in .venv (pip's ziglang).
  local zig_dir
  zig_dir="$("$project_root/.venv/bin/python" -c 'import os, ziglang; print(os.path.dirname(ziglang.__file__))')"
  export PATH="$zig_dir:$PATH"
  say "package: cargo lambda build, unchanged refresher, $runs runs (the first, untimed, may build)"
  local build=(cargo lambda build --release --x86-64 --output-format zip --lambda-dir "$out"
    --package refresher --bin bootstrap)
  "${build[@]}" >>"$work/cargo-lambda.log" 2>&1 || { tail -25 "$work/cargo-lambda.log" >&2; exit 1; }
  local zip first
  zip="$(find "$out" -name '*.zip' -print -quit)"
  [[ -n "$zip" ]] || die "cargo lambda build made no zip under $out"
  first="$(sha256sum "$zip" | cut -d' ' -f1)"
  sleep 1 # a zip that stamps the time would differ from here on
  for ((i = 1; i <= runs; i++)); do
    timed cargo-lambda "${build[@]}"
  done
  local same=no
  [[ "$(sha256sum "$zip" | cut -d' ' -f1)" == "$first" ]] && same=yes
  record "package, unchanged" "$(cargo lambda --version | head -1)" cargo-lambda \
    "zip $(awk -v b="$(stat -c %s "$zip")" 'BEGIN { printf "%.1f MB", b / 1e6 }'); same bytes on rebuild: $same"
}
