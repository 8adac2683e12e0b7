# Sourced by scripts/bench (after scripts/setup.sh): timing, medians, the stand-in, the table.
# Each benchmark lives in its own file below; all write to $work (a temporary directory).

source "$project_root/bench/deploy.sh"
source "$project_root/bench/package.sh"
source "$project_root/bench/startup.sh"

# What the stand-in holds (bench/moto.py, boto3 from .venv).
probe() { "$project_root/.venv/bin/python" "$project_root/bench/moto.py" "$@"; }

die() { echo "scripts/bench: $*" >&2; exit 1; }

# The refresher exactly as `deployer package --stage local` builds it (package/build.rs): the
# local stage's x86_64, linked against glibc 2.34 by cargo-zigbuild (its zig comes from .venv).
bootstrap_bin() { echo "$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/bootstrap"; }
build_bootstrap() {
  PATH="$project_root/.venv/bin:$PATH" cargo zigbuild --locked --release \
    --target x86_64-unknown-linux-gnu.2.34 --package refresher --bin bootstrap
}

# moto on a port the kernel picks; AWS_ENDPOINT_URL names it `localhost` because moto reads an S3
# TemplateURL (SAM uploads its template) as path-style only on that host (AWS-FACTS.md).
start_moto() {
  local port
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  "$project_root/.venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      export AWS_ENDPOINT_URL="http://localhost:$port"
      export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
      export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
      # No profile, config or credentials of this machine's user leaks into the figures.
      export AWS_CONFIG_FILE="$work/no-aws-config" AWS_SHARED_CREDENTIALS_FILE="$work/no-aws-credentials"
      export SAM_CLI_TELEMETRY=0 NO_COLOR=1
      unset AWS_PROFILE AWS_SESSION_TOKEN
      return 0
    fi
    sleep 0.1
  done
  die "moto did not start on port $port; its log: $work/moto.log"
}

# timed NAME CMD...: runs CMD, appends its wall time (ms) to $work/NAME.ms and its output to
# $work/NAME.log; a failure shows the end of that log and stops the bench.
timed() {
  local name="$1" start end
  shift
  start="$(date +%s%N)"
  if ! "$@" >>"$work/$name.log" 2>&1; then
    echo "scripts/bench: '$*' failed; the end of $work/$name.log:" >&2
    tail -25 "$work/$name.log" >&2
    exit 1
  fi
  end="$(date +%s%N)"
  awk -v ns="$((end - start))" 'BEGIN { printf "%.1f\n", ns / 1e6 }' >>"$work/$name.ms"
}

# counted NAME STACK CMD...: timed, plus what CMD did to the stand-in: the S3 object versions it
# added (uploads) and whether STACK changed (updates), one "UPLOADS UPDATES" line a run in NAME.did.
counted() {
  local name="$1" stack="$2"
  shift 2
  probe snapshot "$work/before.json"
  timed "$name" "$@"
  probe diff "$work/before.json" "$stack" >>"$work/$name.did"
}

median() { # NAME: the median of NAME.ms (or of NAME.kb), unformatted
  sort -n "$work/$1" | awk '{ v[NR] = $1 }
    END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

human_ms() { # MS: "42.0 ms" or "1.20 s"
  awk -v ms="$1" 'BEGIN { if (ms >= 1000) printf "%.2f s\n", ms / 1000; else printf "%.1f ms\n", ms }'
}

# record BENCH TOOL NAME [NOTE]: one table row: the median of NAME.ms and, if counted, the uploads
# and stack updates summed over the runs ("0/5": none in five runs).
record() {
  local uploads=- updates=- runs
  runs="$(wc -l <"$work/$3.ms")"
  if [[ -f "$work/$3.did" ]]; then
    uploads="$(awk '{ s += $1 } END { print s }' "$work/$3.did")/$runs"
    updates="$(awk '{ s += $2 } END { print s }' "$work/$3.did")/$runs"
  fi
  record_value "$1" "$2" "$(human_ms "$(median "$3.ms")")" "$uploads" "$updates" "${4:-}"
}

record_value() { # BENCH TOOL VALUE UPLOADS UPDATES NOTE
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$work/results.tsv"
}

note() { printf '%s\n' "$*" >>"$work/notes.txt"; }

ratio() { # A B: A/B with two decimals
  awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", a / b }'
}

print_results() {
  printf '\nscripts/bench %s, %s runs each, medians; %s, %s cores\n\n' \
    "$(date -u +%F)" "$runs" "$(uname -m)" "$(nproc)"
  column -t -s $'\t' "$work/results.tsv"
  printf '\nuploads: new S3 object versions (any bucket); updates: completed stack operations\n'
  printf '(a create counts one); both summed over the runs, "0/5" is none in five runs.\n'
  if [[ -f "$work/notes.txt" ]]; then
    printf '\n'
    cat "$work/notes.txt"
  fi
}
