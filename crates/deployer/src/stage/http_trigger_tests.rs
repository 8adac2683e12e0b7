//! The `http_trigger:` section through `parse`: defaults, and one problem per broken field, each
//! naming the field and the fix.

use std::path::Path;

use super::super::{HttpMethod, parse};

const BASE: &str = "\
stage: demo
region: us-east-1
account_id: \"123456789012\"
tables:
  tokens: { name: tokens-demo }
  analytics: { name: analytics-demo }
providers:
  tiktok: { window: 12h, schedule: rate(15 minutes) }
http_trigger:
  url: https://app.example.com/api/cron/refresh-oauth
  schedule: rate(30 minutes)
  secret: oauth-refresher/cron-secret
";

fn with(extra: &str) -> String {
    format!("{BASE}{extra}")
}

/// The problems of a file that must be invalid, as `(field, message)`.
fn problems(text: &str) -> Vec<(String, String)> {
    parse(text, Path::new("stages/demo.yaml"))
        .expect_err("the file should be invalid")
        .problems
        .into_iter()
        .map(|p| (p.field, p.message))
        .collect()
}

/// The one problem of a file broken at one field: it names that field and a fix.
fn only_problem(text: &str, field: &str) -> String {
    let found = problems(text);
    assert_eq!(found.len(), 1, "{found:#?}");
    let (at, message) = found.into_iter().next().unwrap();
    assert_eq!(at, format!("http_trigger.{field}"), "{message}");
    assert!(message.contains(';'), "no fix in: {message}");
    message
}

#[test]
fn defaults_are_post_one_call_a_second_four_retries_and_one_period() {
    let stage = parse(BASE, Path::new("demo.yaml")).unwrap();
    let t = stage.http_trigger.expect("the section is read");
    assert_eq!(t.rule_name, "RefreshOAuthHttp-demo");
    assert_eq!(t.method, HttpMethod::Post);
    assert_eq!(t.schedule.expression(), "rate(30 minutes)");
    assert_eq!(
        (
            t.invocation_rate_per_second,
            t.retry_attempts,
            t.max_event_age_s
        ),
        (1, 4, 1800)
    );
    assert_eq!(t.secret_key, None);
}

#[test]
fn the_section_is_optional() {
    let text = BASE.split("http_trigger:").next().unwrap();
    assert!(
        parse(text, Path::new("demo.yaml"))
            .unwrap()
            .http_trigger
            .is_none()
    );
}

#[test]
fn every_setting_is_read() {
    let text = with(
        "  method: PUT\n  secret_key: cronSecret\n  invocation_rate_per_second: 5\n  retry_attempts: 0\n  max_event_age: 10m\n",
    );
    let t = parse(&text, Path::new("demo.yaml"))
        .unwrap()
        .http_trigger
        .unwrap();
    assert_eq!(t.method, HttpMethod::Put);
    assert_eq!(t.secret_key.as_deref(), Some("cronSecret"));
    assert_eq!(
        (
            t.invocation_rate_per_second,
            t.retry_attempts,
            t.max_event_age_s
        ),
        (5, 0, 600)
    );
    let arn = BASE.replace(
        "oauth-refresher/cron-secret",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:cron-AbCdEf",
    );
    assert!(parse(&arn, Path::new("demo.yaml")).is_ok());
}

#[test]
fn the_url_must_be_public_https() {
    for (url, needle) in [
        ("http://app.example.com/cron", "not an https URL"),
        ("app.example.com/cron", "not an https URL"),
        ("https://localhost:3000/cron", "cannot reach"),
        ("https://127.0.0.1/cron", "cannot reach"),
        ("https://10.1.2.3/cron", "cannot reach"),
        ("https://app.example.com/cron/*", "`*`"),
    ] {
        let text = BASE.replace("https://app.example.com/api/cron/refresh-oauth", url);
        let message = only_problem(&text, "url");
        assert!(message.contains(needle), "{url}: {message}");
    }
}

#[test]
fn the_schedule_is_an_eventbridge_expression() {
    let text = BASE.replace("rate(30 minutes)", "every 30 minutes");
    only_problem(&text, "schedule");
}

#[test]
fn the_method_is_get_post_or_put_in_capitals() {
    for method in ["DELETE", "post"] {
        let message = only_problem(&with(&format!("  method: {method}\n")), "method");
        assert!(message.contains("POST, GET or PUT"), "{message}");
    }
}

#[test]
fn the_secret_is_a_name_or_an_arn() {
    for secret in [
        "has space",
        "colon:inside",
        "arn:aws:secretsmanager:us-east-1:123:secret:x",
        "arn:aws:s3:::bucket",
    ] {
        let text = BASE.replace("oauth-refresher/cron-secret", &format!("\"{secret}\""));
        only_problem(&text, "secret");
    }
    only_problem(&with("  secret_key: \"a:b\"\n"), "secret_key");
}

#[test]
fn numbers_are_within_eventbridge_limits() {
    for (line, field) in [
        (
            "invocation_rate_per_second: 0",
            "invocation_rate_per_second",
        ),
        (
            "invocation_rate_per_second: 301",
            "invocation_rate_per_second",
        ),
        ("retry_attempts: 186", "retry_attempts"),
        ("max_event_age: 30s", "max_event_age"),
        ("max_event_age: 2d", "max_event_age"),
        ("max_event_age: soon", "max_event_age"),
    ] {
        only_problem(&with(&format!("  {line}\n")), field);
    }
}

#[test]
fn missing_and_unknown_keys_are_named() {
    let text = BASE.replace("  secret: oauth-refresher/cron-secret\n", "");
    let found = problems(&text);
    assert!(
        found
            .iter()
            .any(|(f, m)| f == "http_trigger.secret" && m.contains("missing")),
        "{found:#?}"
    );
    let found = problems(&with("  methdo: GET\n"));
    assert!(
        found
            .iter()
            .any(|(f, m)| f == "http_trigger.methdo" && m.contains("did you mean `method`")),
        "{found:#?}"
    );
}

#[test]
fn a_provider_rule_of_the_same_name_is_refused() {
    let text = BASE.replace(
        "  tiktok: { window: 12h, schedule: rate(15 minutes) }\n",
        "  tiktok: { window: 12h, schedule: rate(15 minutes) }\n  http: { kind: oauth2, token_url: https://a.example.com/t, window: 7d, schedule: cron(0 9 * * ? *) }\n",
    );
    let message = only_problem(&text, "schedule");
    assert!(message.contains("RefreshOAuthHttp-demo"), "{message}");
}
