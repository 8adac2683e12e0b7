#!/usr/bin/env bash
# What the AWS Encryption SDK would cost the refresher (docs/token-store.md, "Considered and not
# adopted"): bench/esdk-probe builds two Lambda binaries alike but for the envelope step, the
# project's (one KMS data key per run + AES-256-GCM) and the ESDK's (a KMS keyring, the table as
# encryption context), with the refresher's release profile. Prints, for each: cold release build
# time (its own empty target dir), binary and zip size, exec to first Runtime API poll (median of
# 5, bench/first_poll.rs), and the KMS calls to seal and open 100 tokens on the local stand-in.
#
#   bench/esdk.sh            (about 20 minutes on 2 cores: two cold release builds)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
source bench/lib.sh
ensure_rust
ensure_venv .venv tools/requirements.txt
work="$(mktemp -d)"
pids=()
trap 'for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"' EXIT
start_moto
key="$("$project_root/.venv/bin/python" -c 'import boto3; print(boto3.client("kms").create_key()["KeyMetadata"]["Arn"])')"
export KMS_KEY_ID="$key" AWS_LAMBDA_FUNCTION_NAME=probe AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256 AWS_LAMBDA_FUNCTION_VERSION='$LATEST'
rustc --edition 2024 -O bench/first_poll.rs -o "$work/first-poll"

zip_size() { "$project_root/.venv/bin/python" -c '
import io, sys, zipfile
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    z.write(sys.argv[1], "bootstrap")
print(len(buf.getvalue()))' "$1"; }

for bin in baseline esdk; do
  target="$work/target-$bin"
  started=$(date +%s.%N)
  features=()
  [[ $bin == esdk ]] && features=(--features esdk)
  cargo build --quiet --release --manifest-path bench/esdk-probe/Cargo.toml --bin "$bin" "${features[@]}" --target-dir "$target"
  build_s=$(echo "$(date +%s.%N) - $started" | bc)
  binary="$target/release/$bin"
  polls=()
  for _ in 1 2 3 4 5; do
    polls+=("$("$work/first-poll" "$binary" | sed -E 's/first_poll_ms=([0-9.]+) peak_rss_kb=([0-9]+)/\1 \2/')")
  done
  median_poll=$(printf '%s\n' "${polls[@]}" | sort -n | sed -n 3p)
  counted=$("$binary" count 100)
  printf 'FIGURE esdk-probe %s: cold release build %.0f s, binary %.1f MB, zip %.1f MB, first poll %s ms (peak RSS %s kB), %s\n' \
    "$bin" "$build_s" "$(echo "$(stat -c %s "$binary") / 1000000" | bc -l)" \
    "$(echo "$(zip_size "$binary") / 1000000" | bc -l)" "${median_poll% *}" "${median_poll#* }" "$counted"
done
