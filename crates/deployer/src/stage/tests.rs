//! Stage files end to end through `parse`: defaults, and problems reported all at once with
//! their lines and fixes.

use std::path::Path;

use super::{Architecture, ProviderKind, parse};

const MINIMAL: &str = "\
stage: demo
region: us-east-1
account_id: \"123456789012\"
tables:
  tokens: { name: tokens-demo }
  analytics: { name: analytics-demo }
providers:
  tiktok: { window: 12h, schedule: rate(15 minutes) }
";

fn problems(text: &str) -> Vec<(String, Option<usize>, String)> {
    parse(text, Path::new("stages/demo.yaml"))
        .expect_err("the file should be invalid")
        .problems
        .into_iter()
        .map(|p| (p.field, p.line, p.message))
        .collect()
}

#[test]
fn a_minimal_file_gets_every_default() {
    let stage = parse(MINIMAL, Path::new("stages/demo.yaml")).unwrap();
    assert_eq!(stage.stack_name, "OAuthRefreshStack-demo");
    assert_eq!(stage.function.architecture, Architecture::Arm64);
    assert_eq!(
        (stage.function.memory_mb, stage.function.timeout_s),
        (256, 300)
    );
    assert_eq!(stage.function.reserved_concurrency, Some(1));
    assert_eq!(stage.function.jitter_seconds, 120);
    assert_eq!(
        stage.artifact_bucket,
        "oauth-refresher-artifacts-123456789012-us-east-1"
    );
    assert!(stage.tables.tokens.create && stage.tables.analytics.create);
    let tiktok = &stage.providers["tiktok"];
    assert_eq!(tiktok.kind, ProviderKind::Tiktok);
    assert_eq!(
        (tiktok.window_s, tiktok.rate_limit_per_minute),
        (43_200, 600)
    );
    assert_eq!(stage.rules.len(), 1);
    assert_eq!(stage.rules[0].name, "RefreshOAuthRate15m-demo");
}

#[test]
fn the_key_rotates_every_90_days_unless_the_stage_says_otherwise() {
    let stage = parse(MINIMAL, Path::new("stages/demo.yaml")).unwrap();
    assert_eq!(stage.kms.rotation_days, 90);
    let text = MINIMAL.to_owned() + "kms: { rotation_days: 365 }\n";
    let stage = parse(&text, Path::new("stages/demo.yaml")).unwrap();
    assert_eq!(stage.kms.rotation_days, 365);
    let found = problems(&(MINIMAL.to_owned() + "kms: { rotation_days: 30 }\n"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "kms.rotation_days");
    assert!(found[0].2.contains("use 90 to 2560"), "{found:?}");
    let found = problems(&(MINIMAL.to_owned() + "kms: { rotation: 30 }\n"));
    assert!(found.iter().any(|p| p.0.starts_with("kms")), "{found:?}");
}

#[test]
fn providers_sharing_a_schedule_share_a_rule() {
    let text = MINIMAL.to_owned()
        + "  reddit: { window: 20m, schedule: rate(15 minutes), user_agent: \"web:x.y:1 (by /u/ops)\" }\n"
        + "  instagram: { window: 7d, schedule: cron(0 9 */3 * ? *) }\n";
    let stage = parse(&text, Path::new("demo.yaml")).unwrap();
    let rules: Vec<(&str, Vec<&str>)> = stage
        .rules
        .iter()
        .map(|r| {
            (
                r.name.as_str(),
                r.providers.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        rules,
        [
            ("RefreshOAuthIG-demo", vec!["instagram"]),
            ("RefreshOAuthRate15m-demo", vec!["reddit", "tiktok"]),
        ]
    );
}

#[test]
fn every_problem_of_a_file_is_reported_at_once() {
    let text = "\
stage: demo
region: us-east-1
account_id: 123456789012
function:
  memroy_mb: 512
  timeout_s: 2000
tables:
  tokens: { name: tokens-demo }
  analytics: { name: analytics-demo }
providers:
  reddit:
    window: 10m
    schedule: rate(15 minutes)
  tiktk: { window: 12h, schedule: rate(15 minutes) }
";
    let found = problems(text);
    let fields: Vec<&str> = found.iter().map(|(f, _, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "account_id",
            "function.memroy_mb",
            "function.timeout_s",
            "providers.reddit.user_agent",
            "providers.reddit.window",
            "providers.tiktk",
        ],
        "{found:#?}"
    );
    let lines: Vec<Option<usize>> = found.iter().map(|(_, l, _)| *l).collect();
    assert_eq!(
        lines,
        [Some(3), Some(5), Some(6), Some(11), Some(12), Some(14)]
    );
    let message = |field: &str| &found.iter().find(|(f, _, _)| f == field).unwrap().2;
    assert!(message("account_id").contains("quote it"));
    assert!(message("function.memroy_mb").contains("did you mean `memory_mb`?"));
    assert!(message("providers.reddit.window").contains("at least 17m"));
    assert!(message("providers.tiktk").contains("did you mean `tiktok`?"));
}

#[test]
fn yaml_syntax_errors_carry_their_line() {
    let found = problems("stage: demo\nregion: [us-east-1\n");
    assert_eq!(found.len(), 1);
    assert!(found[0].1.is_some(), "{found:?}");
    assert!(found[0].2.contains("not valid YAML"));
}

#[test]
fn missing_sections_are_named_with_their_form() {
    let found = problems("stage: demo\nregion: us-east-1\naccount_id: \"123456789012\"\n");
    let fields: Vec<&str> = found.iter().map(|(f, _, _)| f.as_str()).collect();
    assert_eq!(fields, ["providers", "tables"]);
    assert!(
        found[0].2.starts_with("missing; add `providers:`"),
        "{found:?}"
    );
}

#[test]
fn the_stage_name_must_match_the_file() {
    let found = problems(&MINIMAL.replace("stage: demo", "stage: other"));
    assert_eq!(found[0].0, "stage");
    assert!(
        found[0]
            .2
            .contains("does not match the file name `demo.yaml`")
    );
}

#[test]
fn errors_print_file_line_field_and_fix() {
    let err = parse(
        &MINIMAL.replace("us-east-1", "mars-north-1a"),
        Path::new("stages/demo.yaml"),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("stages/demo.yaml has 1 problem:\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "stages/demo.yaml:2: region: `mars-north-1a` is not an AWS region; write one like"
        ),
        "{text}"
    );
}

#[test]
fn the_window_must_cover_the_longest_gap_plus_jitter() {
    let with = |window: &str, schedule: &str| {
        MINIMAL
            .replace("window: 12h", &format!("window: {window}"))
            .replace(
                "schedule: rate(15 minutes)",
                &format!("schedule: {schedule}"),
            )
            + "function: { jitter_seconds: 60 }\n"
    };
    let ok = |text: &str| parse(text, Path::new("demo.yaml")).is_ok();
    // rate(15 minutes) + 60 s of jitter: 16m is enough, 15m59s is not.
    assert!(ok(&with("16m", "rate(15 minutes)")));
    assert!(!ok(&with("15m59s", "rate(15 minutes)")));
    // Every third day of the month at 09:00 UTC: up to 3 days between runs.
    assert!(ok(&with("3d1m", "cron(0 9 */3 * ? *)")));
    assert!(!ok(&with("3d", "cron(0 9 */3 * ? *)")));
    // Weekdays only: Friday 17:00 to Monday 08:00 is the longest gap.
    assert!(ok(&with("2d15h1m", "cron(0 8-17 ? * MON-FRI *)")));
    assert!(!ok(&with("2d15h", "cron(0 8-17 ? * MON-FRI *)")));
    let found = problems(&with("1h", "rate(1 day)"));
    assert_eq!(found[0].0, "providers.tiktok.window");
    assert!(
        found[0].2.contains("make the window at least 1d1m"),
        "{found:?}"
    );
}
