# The start-up benchmark (issue 8, item 4): exec to the first Runtime API poll and peak RSS, for
# the release `bootstrap` (as the scheduled refresher and as the token API) and for minimal Python
# and Node.js functions that are their own runtime
# interface clients (bench/runtime_client.{py,mjs}), all measured by bench/first_poll.rs.
#
# The refresher's figure includes its cold start proper: the SDK configuration and reading the
# credentials secret from the stand-in, as on Lambda. The Python and Node functions do no work.

# The refresher's configuration, as crates/refresher/tests/bootstrap.rs gives it.
refresher_env() {
  export AWS_LAMBDA_FUNCTION_NAME=refresher AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256
  export AWS_LAMBDA_FUNCTION_VERSION='$LATEST'
  export STAGE=bench TOKENS_TABLE=tokens TOKENS_EXPIRY_INDEX=byExpiry ANALYTICS_TABLE=analytics
  export KMS_KEY_ID=alias/bench CREDENTIALS_SECRET_ID=bench/credentials EVENT_BUS_NAME=bus
  export DLQ_URL="$AWS_ENDPOINT_URL/123456789012/dlq" JITTER_SECONDS=0 LOG_LEVEL=info
  export PROVIDERS='{"tiktok": {"kind": "tiktok", "windowSeconds": 3600, "rateLimitPerMinute": 600, "concurrency": 1, "tokenUrl": "http://127.0.0.1:9/token"}}'
}

# poll NAME CMD...: one cold start; appends the milliseconds to NAME.ms and the peak RSS (kB) to NAME.kb.
poll() {
  local name="$1" line
  shift
  line="$("$work/first-poll" "$@" 2>>"$work/$name.log")" || {
    echo "scripts/bench: first-poll $* failed; the end of $work/$name.log:" >&2
    tail -25 "$work/$name.log" >&2
    exit 1
  }
  # first_poll_ms=12.34 peak_rss_kb=12345
  [[ "$line" =~ first_poll_ms=([0-9.]+)\ peak_rss_kb=([0-9]+) ]] || die "first-poll printed '$line'"
  echo "${BASH_REMATCH[1]}" >>"$work/$name.ms"
  echo "${BASH_REMATCH[2]}" >>"$work/$name.kb"
}

record_startup() { # TOOL NAME NOTE
  local mb
  mb="$(awk -v kb="$(median "$2.kb")" 'BEGIN { printf "%.1f MB", kb / 1024 }')"
  record_value "start-up" "$1" "$(human_ms "$(median "$2.ms")")" - - "peak RSS $mb; $3"
}

bench_startup() {
  local i python node bootstrap
  bootstrap="$(bootstrap_bin)"
  [[ -x "$bootstrap" ]] || die "$bootstrap is missing; build_bootstrap should have built it"
  rustc --edition 2024 -O "$project_root/bench/first_poll.rs" -o "$work/first-poll"
  # The interpreters themselves: a pyenv or asdf shim would add its own start-up to the figure.
  python="$(python3 -c 'import sys; print(sys.executable)')"
  node="$(command -v node)" || die "node is not installed; the start-up benchmark compares with Node.js"
  probe secret bench/credentials '{"tiktok": {"client_id": "app", "client_secret": "app-secret"}}'
  say "start-up: exec to first Runtime API poll, $runs runs each"
  for ((i = 1; i <= runs; i++)); do
    (refresher_env && poll bootstrap "$bootstrap")
    (refresher_env && export REFRESHER_MODE=token-api && poll token-api "$bootstrap")
    poll python "$python" "$project_root/bench/runtime_client.py"
    poll node "$node" "$project_root/bench/runtime_client.mjs"
  done
  record_startup "refresher bootstrap (release)" bootstrap \
    "goal < 15 ms, < 25 MB; reads its secret from moto; binary $(awk -v b="$(stat -c %s "$bootstrap")" 'BEGIN { printf "%.1f MB", b / 1e6 }')"
  record_startup "token API (the same bootstrap, REFRESHER_MODE=token-api)" token-api \
    "goal < 10 ms, < 20 MB; reads its secret from moto"
  record_startup "Python $("$python" -c 'import platform; print(platform.python_version())') (urllib client)" python "no work, no SDK"
  record_startup "Node.js $("$node" --version) (http client)" node "no work, no SDK"
}
