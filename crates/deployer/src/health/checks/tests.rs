//! The checks of `deployer verify` on facts built by hand: every verdict, and a fix on every FAIL.

use serde_json::{Map, Value, json};

use super::runs::{self, RunFacts};
use crate::aws::cfn::Stack;
use crate::health::alarms::{AlarmReport, AlarmRow};
use crate::health::checks::{self, Check, Verdict};
use crate::health::credentials::ProviderState;
use crate::health::rules::RuleRow;

fn assert_fail(check: &Check, fix: &str) {
    assert_eq!(check.verdict, Verdict::Fail, "{check:?}");
    let got = check.fix.as_deref().unwrap_or_default();
    assert!(got.contains(fix), "fix {got:?} lacks {fix:?}");
}

fn stack(status: &str) -> Stack {
    Stack {
        name: "S".to_owned(),
        id: "id".to_owned(),
        status: status.to_owned(),
        status_reason: Some("why".to_owned()),
        termination_protection: false,
        outputs: Vec::new(),
        parameters: std::collections::BTreeMap::new(),
        tags: std::collections::BTreeMap::new(),
    }
}

#[test]
fn stack_states() {
    assert_eq!(
        checks::stack("dev", "S", Some(&stack("UPDATE_COMPLETE"))).verdict,
        Verdict::Pass
    );
    assert_eq!(
        checks::stack("dev", "S", Some(&stack("UPDATE_ROLLBACK_COMPLETE"))).verdict,
        Verdict::Warn
    );
    let failed = checks::stack("dev", "S", Some(&stack("ROLLBACK_COMPLETE")));
    assert_fail(&failed, "deployer deploy --stage dev");
    assert!(failed.detail.contains("(why)"), "{failed:?}");
    assert_fail(
        &checks::stack("dev", "S", None),
        "deployer deploy --stage dev",
    );
}

fn row(state: &str, problem: Option<&str>) -> RuleRow {
    RuleRow {
        name: "R-dev".to_owned(),
        schedule: "rate(15 minutes)".to_owned(),
        state: state.to_owned(),
        providers: vec!["reddit".to_owned(), "tiktok".to_owned()],
        target_ok: problem.is_none(),
        target_problem: problem.map(str::to_owned),
    }
}

#[test]
fn rules_enabled_with_their_target() {
    let ok = checks::rule("dev", &row("ENABLED", None));
    assert_eq!(ok.verdict, Verdict::Pass);
    assert!(
        ok.detail
            .ends_with(r#"input {"providers":["reddit","tiktok"]}"#),
        "{ok:?}"
    );
    assert_fail(
        &checks::rule("dev", &row("DISABLED", None)),
        "deployer rules --stage dev enable R-dev",
    );
    assert_fail(
        &checks::rule("dev", &row("ENABLED", Some("0 targets"))),
        "deployer deploy",
    );
    assert_fail(
        &checks::rule("dev", &row("MISSING", Some("gone"))),
        "deployer deploy",
    );
}

fn statement(rule: &str) -> Value {
    json!({
        "Sid": "x", "Effect": "Allow", "Action": "lambda:InvokeFunction",
        "Principal": {"Service": "events.amazonaws.com"},
        "Resource": "arn:aws:lambda:us-east-1:1:function:F",
        "Condition": {"ArnLike": {"AWS:SourceArn": format!("arn:aws:events:us-east-1:1:rule/{rule}")}},
    })
}

#[test]
fn every_rule_needs_an_invoke_permission() {
    let rules = ["A".to_owned(), "B".to_owned()];
    let policy = |s: Vec<Value>| Ok(Some(json!({"Statement": s}).to_string()));
    let both = checks::permissions("dev", &rules, &policy(vec![statement("A"), statement("B")]));
    assert_eq!(both.verdict, Verdict::Pass, "{both:?}");
    let one = checks::permissions(
        "dev",
        &rules,
        &policy(vec![statement("A"), statement("AB")]),
    );
    assert_fail(&one, "deployer deploy");
    assert_eq!(one.detail, "no invoke permission for B");
    assert_fail(
        &checks::permissions("dev", &rules, &Ok(None)),
        "deployer deploy",
    );
    let unknown = checks::permissions("dev", &rules, &Err("HTTP 404".to_owned()));
    assert_eq!(unknown.verdict, Verdict::Warn);
    assert!(
        unknown.detail.starts_with("not checkable here"),
        "{unknown:?}"
    );
}

#[test]
fn the_environment_has_every_variable_of_the_template() {
    let mut expected = Map::new();
    expected.insert("STAGE".to_owned(), json!("dev"));
    expected.insert("DLQ_URL".to_owned(), json!({"Ref": "RefresherDlq"}));
    let live = |vars: Value| json!({"Environment": {"Variables": vars}});
    let ok = live(json!({"STAGE": "dev", "DLQ_URL": "https://q", "EXTRA": "x"}));
    assert_eq!(
        checks::environment("function environment", "dev", "F", &expected, Some(&ok)).verdict,
        Verdict::Pass
    );
    let bad = checks::environment(
        "function environment",
        "dev",
        "F",
        &expected,
        Some(&live(json!({"STAGE": "prod"}))),
    );
    assert_fail(&bad, "deployer deploy --stage dev");
    assert_eq!(
        bad.detail,
        "missing DLQ_URL; not the template's value: STAGE"
    );
    assert_fail(
        &checks::environment("function environment", "dev", "F", &expected, None),
        "deployer deploy",
    );
}

#[test]
fn credentials_of_every_provider() {
    let state = |provider: &str, state: &'static str| ProviderState {
        provider: provider.to_owned(),
        state,
    };
    let ok = Ok(vec![
        state("tiktok", "set"),
        state("instagram", "not_needed"),
    ]);
    assert_eq!(
        checks::credentials("dev", "S/c", &ok).verdict,
        Verdict::Pass
    );
    let bad = Ok(vec![state("tiktok", "set"), state("reddit", "missing")]);
    let bad = checks::credentials("dev", "S/c", &bad);
    assert_fail(&bad, "deployer secrets set --stage dev --provider reddit");
    assert!(!bad.fix.unwrap().contains("tiktok"));
    assert_fail(
        &checks::credentials("dev", "S/c", &Err("not JSON".to_owned())),
        "deployer secrets set",
    );
}

#[test]
fn the_dlq_is_empty() {
    assert_eq!(
        checks::dlq("dev", Some("https://q"), Some(0)).verdict,
        Verdict::Pass
    );
    assert_fail(
        &checks::dlq("dev", Some("https://q"), Some(2)),
        "deployer dlq --stage dev list",
    );
    assert_fail(
        &checks::dlq("dev", Some("https://q"), None),
        "deployer deploy",
    );
    assert_fail(&checks::dlq("dev", None, None), "deployer deploy");
}

fn alarm(name: &str, state: &str) -> AlarmRow {
    AlarmRow {
        name: name.to_owned(),
        logical_id: name.to_owned(),
        state: state.to_owned(),
        reason: None,
        updated: None,
    }
}

#[test]
fn alarms_ok_in_alarm_missing_or_unanswered() {
    let report = |alarms: Vec<AlarmRow>| AlarmReport {
        stage: "dev".to_owned(),
        in_alarm: alarms.iter().filter(|a| a.state == "ALARM").count(),
        missing: alarms.iter().filter(|a| a.state == "MISSING").count(),
        alarms,
    };
    let ok = Ok(report(vec![
        alarm("a", "OK"),
        alarm("b", "INSUFFICIENT_DATA"),
    ]));
    assert_eq!(checks::alarms("dev", &ok).verdict, Verdict::Pass);
    let firing = checks::alarms(
        "dev",
        &Ok(report(vec![alarm("a", "ALARM"), alarm("b", "OK")])),
    );
    assert_fail(&firing, "deployer alarms --stage dev");
    assert_eq!(firing.detail, "in ALARM: a");
    assert_fail(
        &checks::alarms("dev", &Ok(report(vec![alarm("m", "MISSING")]))),
        "deployer deploy",
    );
    let moto = format!(
        "cannot describe the alarms a: HTTP 404 without an AWS error in the body ({})",
        checks::UNANSWERED
    );
    let unanswered = checks::alarms("dev", &Err(moto));
    assert_eq!(unanswered.verdict, Verdict::Warn);
    assert!(
        unanswered.detail.contains("not checkable at this endpoint"),
        "{unanswered:?}"
    );
    assert_eq!(
        checks::alarms("dev", &Err("AccessDenied".to_owned())).verdict,
        Verdict::Warn
    );
}

#[test]
fn a_successful_run_within_two_periods() {
    let facts = |last_success: Option<u64>, failures: usize| RunFacts {
        provider: "tiktok".to_owned(),
        allowed_s: 1800,
        last_success,
        failures,
    };
    let now = 10_000;
    assert_eq!(
        runs::recent_run("dev", &facts(Some(now - 60), 3), now).verdict,
        Verdict::Pass
    );
    let failing = runs::recent_run("dev", &facts(Some(now - 7200), 2), now);
    assert_fail(&failing, "deployer status --stage dev");
    assert!(failing.detail.contains("last: 2h ago"), "{failing:?}");
    let idle = runs::recent_run("dev", &facts(None, 0), now);
    assert_eq!(idle.verdict, Verdict::Warn);
    assert!(idle.detail.contains("keeps no run record"), "{idle:?}");
    assert_eq!(
        idle.fix.as_deref(),
        Some("deployer invoke --stage dev --providers tiktok")
    );
}

#[test]
fn tokens_needing_reauth_are_a_warning_with_the_connect_command() {
    assert_eq!(runs::reauth("dev", &[]).verdict, Verdict::Pass);
    let two = [
        ("tiktok".to_owned(), "grace".to_owned()),
        ("reddit".to_owned(), "ann".to_owned()),
    ];
    let warn = runs::reauth("dev", &two);
    assert_eq!(warn.verdict, Verdict::Warn);
    assert!(warn.detail.starts_with("2 token(s)"), "{warn:?}");
    assert!(
        warn.fix
            .unwrap()
            .contains("deployer tokens connect --stage dev --provider tiktok --user grace"),
    );
}

#[test]
fn the_http_trigger_rule_says_what_it_calls() {
    let mut http = row("ENABLED", None);
    http.providers.clear();
    let passed = checks::rule("staging", &http);
    assert_eq!(passed.verdict, Verdict::Pass, "{passed:?}");
    assert!(passed.detail.contains("API destination"), "{passed:?}");
}

#[test]
fn http_trigger_secret_states() {
    let secret = "oauth-refresher-staging/cron-secret";
    let current = |v: &str| Ok(Some(v.to_owned()));
    let ok = checks::http_trigger_secret("staging", secret, &current("v2"), Some("v2"));
    assert_eq!(ok.verdict, Verdict::Pass, "{ok:?}");
    let rotated = checks::http_trigger_secret("staging", secret, &current("v2"), Some("v1"));
    assert_fail(&rotated, "deployer deploy --stage staging");
    assert!(
        rotated.detail.contains("rotated after the last deploy"),
        "{rotated:?}"
    );
    let old_stack = checks::http_trigger_secret("staging", secret, &current("v2"), None);
    assert_fail(&old_stack, "deployer deploy --stage staging");
    let missing = checks::http_trigger_secret("staging", secret, &Ok(None), Some("v1"));
    assert_fail(
        &missing,
        "aws secretsmanager create-secret --name oauth-refresher-staging/cron-secret",
    );
    let unreadable =
        checks::http_trigger_secret("staging", secret, &Err("AccessDenied".to_owned()), None);
    assert_eq!(unreadable.verdict, Verdict::Warn, "{unreadable:?}");
}
