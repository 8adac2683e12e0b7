//! The optional `http_trigger:` section: the web app's refresh endpoint, called by EventBridge
//! through an API destination on its own schedule. Each field is checked against what
//! EventBridge, Secrets Manager and CloudFormation's dynamic references accept.

use super::duration::{format_duration, parse_duration};
use super::model::{HttpMethod, HttpTrigger, RuleGroup};
use super::raw::RawHttpTrigger;
use super::schedule::Schedule;
use super::{Problem, names};

/// An API destination's `InvocationRateLimitPerSecond`: at least 1; 300 is EventBridge's quota.
const MAX_RATE_PER_SECOND: u32 = 300;
/// A rule target's `RetryPolicy.MaximumRetryAttempts`.
const MAX_RETRY_ATTEMPTS: u32 = 185;
/// A rule target's `RetryPolicy.MaximumEventAgeInSeconds`.
const EVENT_AGE_S: std::ops::RangeInclusive<u64> = 60..=86_400;
/// An API destination's `InvocationEndpoint`.
const MAX_URL_LEN: usize = 2048;

/// Checks the section; `None` when anything is wrong (each problem is recorded).
pub(super) fn validate(
    raw: &RawHttpTrigger,
    stage: &str,
    rules: &[RuleGroup],
    problems: &mut Vec<Problem>,
) -> Option<HttpTrigger> {
    let before = problems.len();
    let mut fail = |field: &str, message: String| {
        problems.push(Problem::new(format!("http_trigger.{field}"), message));
    };
    url(&raw.url, &mut fail);
    let schedule = Schedule::parse(&raw.schedule)
        .map_err(|e| fail("schedule", e))
        .ok();
    let method = method(raw.method.as_deref(), &mut fail);
    secret(raw, &mut fail);
    let rate = invocation_rate(raw.invocation_rate_per_second, &mut fail);
    let retry_attempts = retry_attempts(raw.retry_attempts, &mut fail);
    let max_event_age_s = max_event_age(raw.max_event_age.as_deref(), schedule.as_ref(), &mut fail);
    let rule_name = rule_name(stage, rules, &mut fail);
    if problems.len() > before {
        return None;
    }
    Some(HttpTrigger {
        rule_name,
        url: raw.url.clone(),
        schedule: schedule?,
        method: method?,
        secret: raw.secret.clone(),
        secret_key: raw.secret_key.clone(),
        invocation_rate_per_second: rate,
        retry_attempts,
        max_event_age_s: max_event_age_s?,
    })
}

/// `url`: an https endpoint an API destination can call.
fn url(url: &str, fail: &mut impl FnMut(&str, String)) {
    if let Some(why) = url_problem(url) {
        fail("url", format!("`{url}` {why}"));
    }
}

/// `invocation_rate_per_second`: 1 when left out, within what an API destination takes.
fn invocation_rate(given: Option<u32>, fail: &mut impl FnMut(&str, String)) -> u32 {
    let rate = given.unwrap_or(1);
    if !(1..=MAX_RATE_PER_SECOND).contains(&rate) {
        fail(
            "invocation_rate_per_second",
            format!(
                "{rate} calls a second is outside what an API destination takes; use 1 to {MAX_RATE_PER_SECOND}"
            ),
        );
    }
    rate
}

/// `retry_attempts`: 4 when left out, at most what EventBridge allows.
fn retry_attempts(given: Option<u32>, fail: &mut impl FnMut(&str, String)) -> u32 {
    let retry_attempts = given.unwrap_or(4);
    if retry_attempts > MAX_RETRY_ATTEMPTS {
        fail(
            "retry_attempts",
            format!(
                "{retry_attempts} retries is more than EventBridge allows; use 0 to {MAX_RETRY_ATTEMPTS}"
            ),
        );
    }
    retry_attempts
}

/// The trigger's rule name, which no provider schedule's rule may also have.
fn rule_name(stage: &str, rules: &[RuleGroup], fail: &mut impl FnMut(&str, String)) -> String {
    let rule_name = super::names::http_trigger_rule_name(stage);
    if rules.iter().any(|g| g.name == rule_name) {
        fail(
            "schedule",
            format!(
                "the trigger's rule `{rule_name}` is also the name of a provider schedule's rule; rename that provider"
            ),
        );
    }
    rule_name
}

/// `method`: POST when left out.
fn method(text: Option<&str>, fail: &mut impl FnMut(&str, String)) -> Option<HttpMethod> {
    match text {
        None => Some(HttpMethod::Post),
        Some(m) => HttpMethod::parse(m).or_else(|| {
            fail(
                "method",
                format!("`{m}` is not a method the trigger can use; write POST, GET or PUT (in capitals)"),
            );
            None
        }),
    }
}

/// `secret` and `secret_key`: readable through a CloudFormation dynamic reference.
fn secret(raw: &RawHttpTrigger, fail: &mut impl FnMut(&str, String)) {
    if let Some(why) = secret_problem(&raw.secret) {
        fail("secret", format!("`{}` {why}", raw.secret));
    }
    if let Some(key) = raw.secret_key.as_deref().filter(|k| !is_json_key(k)) {
        fail(
            "secret_key",
            format!(
                "`{key}` cannot be read through a CloudFormation dynamic reference; use 1-128 \
                 letters, digits, `_`, `-` and `.`, or remove it when the secret is the value itself"
            ),
        );
    }
}

/// `max_event_age`: within what EventBridge keeps retrying; when left out, the schedule's longest
/// gap (between 1 minute and a day), so that a missed call is not retried past the next one.
fn max_event_age(
    text: Option<&str>,
    schedule: Option<&Schedule>,
    fail: &mut impl FnMut(&str, String),
) -> Option<u64> {
    match (text, schedule) {
        (Some(text), _) => match parse_duration(text) {
            Ok(s) if EVENT_AGE_S.contains(&s) => Some(s),
            Ok(s) => {
                fail(
                    "max_event_age",
                    format!(
                        "{} is outside what EventBridge keeps retrying; use 1m to 24h",
                        format_duration(s)
                    ),
                );
                None
            }
            Err(e) => {
                fail("max_event_age", e);
                None
            }
        },
        (None, Some(schedule)) => Some(schedule.max_gap_s().clamp(60, 86_400)),
        (None, None) => None,
    }
}

/// Why EventBridge could not call the URL, if it could not: API destinations call public https
/// endpoints only.
fn url_problem(url: &str) -> Option<String> {
    if !url.starts_with("https://") || !names::is_http_url(url) {
        return Some(
            "is not an https URL; the header carries a secret, so write the endpoint as \
             `https://app.example.com/api/cron/refresh`"
                .to_owned(),
        );
    }
    if url.len() > MAX_URL_LEN {
        return Some(format!(
            "is {} characters; an API destination takes at most {MAX_URL_LEN}; shorten it",
            url.len()
        ));
    }
    if url.contains(['*', '#', '"', '\\']) {
        return Some(
            "contains `*`, `#`, a quote or a backslash, which an API destination's endpoint \
             cannot hold; remove them"
                .to_owned(),
        );
    }
    let host = host(url);
    if is_private_host(host) {
        return Some(format!(
            "names `{host}`, which EventBridge cannot reach (API destinations call public \
             endpoints only); use the web app's public address"
        ));
    }
    None
}

/// The host of an https URL: its authority without user info or port (an IPv6 literal keeps its
/// brackets).
fn host(url: &str) -> &str {
    let authority = url["https://".len()..]
        .split(['/', '?'])
        .next()
        .unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    if host.starts_with('[') {
        host
    } else {
        host.split(':').next().unwrap_or_default()
    }
}

fn is_private_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let last_label = host.rsplit('.').next().unwrap_or_default();
    if last_label == "localhost" || last_label == "local" {
        return true;
    }
    if host.starts_with('[') {
        return true;
    }
    match host.parse::<std::net::Ipv4Addr>() {
        Ok(ip) => ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified(),
        Err(_) => false,
    }
}

/// Why the secret cannot be named in a dynamic reference, if it cannot: a Secrets Manager name
/// (1-512 of `A-Za-z0-9/_+=.@-`) or a secret's full ARN.
fn secret_problem(secret: &str) -> Option<&'static str> {
    let is_name = |s: &str| {
        (1..=512).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c))
    };
    if let Some(rest) = secret.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(6, ':').collect();
        let ok = matches!(
            parts.as_slice(),
            [partition, "secretsmanager", region, account, "secret", name]
                if partition.starts_with("aws")
                && names::is_region(region)
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && is_name(name)
        );
        return (!ok).then_some(
            "is not a Secrets Manager secret ARN; write \
             `arn:aws:secretsmanager:<region>:<account>:secret:<name>-<suffix>`, or just the name",
        );
    }
    (!is_name(secret)).then_some(
        "is not a Secrets Manager secret name; use 1-512 letters, digits and `/_+=.@-`, e.g. \
         `oauth-refresher/cron-secret`, or the secret's full ARN",
    )
}

fn is_json_key(key: &str) -> bool {
    (1..=128).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

#[cfg(test)]
#[path = "http_trigger_tests.rs"]
mod tests;
