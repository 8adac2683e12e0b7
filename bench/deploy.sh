# The deploy benchmark (issue 8, items 1 and 2): the same rendered template and the same prebuilt
# artifact through the deployer, `sam deploy` and `aws cloudformation deploy`, each on its own
# stack (SAM adds metadata that would make a shared stack look changed).
#
# Each tool gets its own stage: `local`, and copies named `sam` and `cli`, because the stand-in
# holds one table, queue or rule per name. Their templates differ in those names only. Variant
# `b` of each stage moves schwab's schedule from rate(5 minutes) to rate(10 minutes): "one change".

sam_bucket=bench-sam-templates

stage_variants() {
  local stage
  mkdir -p "$work/a" "$work/b"
  for stage in local sam cli; do
    sed -e "s/^stage: local\$/stage: $stage/" -e "s/-local\\b/-$stage/g" \
      "$project_root/stages/local.yaml" >"$work/a/$stage.yaml"
    sed 's/rate(5 minutes)/rate(10 minutes)/' "$work/a/$stage.yaml" >"$work/b/$stage.yaml"
    cmp -s "$work/a/$stage.yaml" "$work/b/$stage.yaml" \
      && die "stages/local.yaml has no rate(5 minutes) schedule left to change; update bench/deploy.sh"
    "$deployer" render --stage "$work/a/$stage.yaml" >"$work/a/$stage.template.yaml"
    "$deployer" render --stage "$work/b/$stage.yaml" >"$work/b/$stage.template.yaml"
  done
}

ours() { "$deployer" deploy --stage "$1" --yes; } # STAGE (a name or a file)

sam() { # TEMPLATE
  # In $work: SAM writes samconfig and .aws-sam next to where it runs.
  (cd "$work" && "$project_root/.venv-bench/bin/sam" deploy --template-file "$1" \
    --stack-name OAuthRefreshStack-sam --s3-bucket "$sam_bucket" --capabilities CAPABILITY_IAM \
    --parameter-overrides "ArtifactKey=$artifact_key" \
    --no-confirm-changeset --no-fail-on-empty-changeset --no-progressbar)
}

awscli() { # TEMPLATE (under 51,200 bytes: sent inline, no upload)
  local out
  if out="$("$project_root/.venv-bench/bin/aws" cloudformation deploy --template-file "$1" \
    --stack-name OAuthRefreshStack-cli --capabilities CAPABILITY_IAM \
    --parameter-overrides "ArtifactKey=$artifact_key" --no-fail-on-empty-changeset 2>&1)"; then
    echo "$out"
    return 0
  fi
  echo "$out"
  # moto refuses an empty change set in CreateChangeSet itself ("No updates are to be performed.")
  # where AWS creates it and fails it ("didn't contain changes"), which is all that
  # --no-fail-on-empty-changeset forgives. Either way nothing changed: the no-op outcome.
  [[ "$out" == *"No updates are to be performed."* ]]
}

# The first deploy of each stack (one run each, shown for scale), then the artifact key SAM and
# awscli reuse: the zip the deployer uploaded.
create_stacks() {
  say "deploy: creating the three stacks (the first one builds and uploads the artifact)"
  counted create-ours OAuthRefreshStack-local ours local
  artifact_key="$(probe params OAuthRefreshStack-local | sed -n 's/^ArtifactKey=//p')"
  [[ -n "$artifact_key" ]] || die "stack OAuthRefreshStack-local has no ArtifactKey parameter"
  probe bucket "$sam_bucket"
  counted create-sam OAuthRefreshStack-sam sam "$work/a/sam.template.yaml"
  counted create-cli OAuthRefreshStack-cli awscli "$work/a/cli.template.yaml"
  record "create stack" deployer create-ours "builds, uploads the zip"
  record "create stack" "sam deploy" create-sam "uploads the template"
  record "create stack" "aws cloudformation deploy" create-cli
}

# Runs interleave the tools so that load from elsewhere on the machine hits all of them alike.
bench_noop() {
  local i
  say "deploy: no change, $runs runs each"
  for ((i = 1; i <= runs; i++)); do
    counted noop-ours OAuthRefreshStack-local ours local
    counted noop-sam OAuthRefreshStack-sam sam "$work/a/sam.template.yaml"
    counted noop-cli OAuthRefreshStack-cli awscli "$work/a/cli.template.yaml"
  done
  # The deployer's figure includes everything it does before AWS: it fingerprints the refresher's
  # inputs (cargo is not asked when they are unchanged), reuses the zip of the unchanged binary and
  # hashes it (package/fresh.rs, package/mod.rs).
  record "deploy, no change" deployer noop-ours "incl. build freshness check, cached zip, SHA-256"
  record "deploy, no change" "sam deploy" noop-sam
  record "deploy, no change" "aws cloudformation deploy" noop-cli
  local ours_ms sam_ms cli_ms
  ours_ms="$(median noop-ours.ms)" sam_ms="$(median noop-sam.ms)" cli_ms="$(median noop-cli.ms)"
  note "no change: deployer/SAM $(ratio "$ours_ms" "$sam_ms") (goal <= 0.10)," \
    "deployer/awscli $(ratio "$ours_ms" "$cli_ms") (goal < 1)"
}

# One schedule change a run: each run flips every stack between variants a and b.
bench_change() {
  local i variant
  say "deploy: one change (a schedule), $runs runs each; SAM twice (default poll delay, 0.2 s)"
  for ((i = 1; i <= runs; i++)); do
    variant=$([[ $((i % 2)) == 1 ]] && echo b || echo a)
    counted change-ours OAuthRefreshStack-local ours "$work/$variant/local.yaml"
    counted change-sam OAuthRefreshStack-sam sam "$work/$variant/sam.template.yaml"
    counted change-cli OAuthRefreshStack-cli awscli "$work/$variant/cli.template.yaml"
  done
  # The SAM stack is left at the last variant; continue flipping from there.
  for ((i = runs + 1; i <= 2 * runs; i++)); do
    variant=$([[ $((i % 2)) == 1 ]] && echo b || echo a)
    SAM_CLI_POLL_DELAY=0.2 counted change-sam-fast OAuthRefreshStack-sam sam "$work/$variant/sam.template.yaml"
  done
  record "deploy, one change" deployer change-ours "change set shown, executed"
  record "deploy, one change" "sam deploy" change-sam "default poll delay (5 s)"
  record "deploy, one change" "sam deploy" change-sam-fast "SAM_CLI_POLL_DELAY=0.2"
  record "deploy, one change" "aws cloudformation deploy" change-cli
  local ours_ms
  ours_ms="$(median change-ours.ms)"
  note "one change: deployer/SAM $(ratio "$ours_ms" "$(median change-sam.ms)")," \
    "/SAM with 0.2 s polls $(ratio "$ours_ms" "$(median change-sam-fast.ms)")," \
    "/awscli $(ratio "$ours_ms" "$(median change-cli.ms)")"
}

# Stage to template, no AWS: render, and validate with and without cfn-lint (--no-lint).
bench_render() {
  local i
  say "deploy: render and validate, $runs runs each"
  for ((i = 1; i <= runs; i++)); do
    timed render "$deployer" render --stage prod
    timed validate "$deployer" validate --stage prod --no-lint
    timed validate-lint "$deployer" validate --stage prod
  done
  record "render stage prod" deployer render "goal < 50 ms"
  record "validate stage prod" deployer validate "--no-lint; goal < 50 ms"
  record "validate stage prod" "deployer + cfn-lint" validate-lint "cfn-lint is most of it"
}

bench_deploy() {
  stage_variants
  create_stacks
  bench_noop
  bench_change
  bench_render
}
