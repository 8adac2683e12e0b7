//! Shapes of names and identifiers as AWS and the providers accept them (pure predicates; the
//! messages that explain a failure live with the checks in `validate/`), the default name of
//! every resource a stage file may name or leave to us, and the names derived from those (the key
//! alias, the queue, the bus, ...): every physical name is decided here and nowhere else.

use serde::Serialize;

use super::model::{HttpTrigger, Stage};

/// The stack: `stack_name` when the stage file leaves it out.
pub(crate) fn default_stack_name(stage: &str) -> String {
    format!("OAuthRefreshStack-{stage}")
}

/// The artifact bucket: `artifact_bucket` when the stage file leaves it out (one per account
/// and region, shared by the stages there).
pub(crate) fn default_artifact_bucket(account_id: &str, region: &str) -> String {
    format!("oauth-refresher-artifacts-{account_id}-{region}")
}

/// The refresher function.
pub(crate) fn function_name(stage: &str) -> String {
    format!("RefreshOAuth-{stage}")
}

/// The token API function.
pub(crate) fn token_api_name(stage: &str) -> String {
    format!("RefreshOAuthApi-{stage}")
}

/// The rule that delivers `token.refresh-requested` events to the token API.
pub(crate) fn refresh_requested_rule_name(stage: &str) -> String {
    format!("RefreshOAuthRequested-{stage}")
}

/// A schedule rule group's rule, `label` its rate (`15m`) or its providers.
pub(crate) fn rule_group_name(label: &str, stage: &str) -> String {
    format!("RefreshOAuth{label}-{stage}")
}

/// The HTTP trigger's rule, beside the schedule groups'.
pub(crate) fn http_trigger_rule_name(stage: &str) -> String {
    format!("RefreshOAuthHttp-{stage}")
}

/// A function's log group, as Lambda names it.
pub(crate) fn log_group(function: &str) -> String {
    format!("/aws/lambda/{function}")
}

/// Names of the HTTP trigger's connection and API destination: the rule's, each in its own
/// namespace.
pub(crate) fn http_trigger_names(trigger: &HttpTrigger) -> (String, String) {
    (trigger.rule_name.clone(), trigger.rule_name.clone())
}

/// Physical names of the stack's resources that no stage file names, derived from the stage's
/// name, its function's and its stack's (as the templates, the runbook and the outputs use them).
#[derive(Debug, Clone, Serialize)]
pub struct Names {
    pub function: String,
    pub log_group: String,
    /// The token API's log group, when the stage has the token API.
    pub api_log_group: Option<String>,
    pub dlq: String,
    pub event_bus: String,
    pub alarm_topic: String,
    pub key_alias: String,
    pub credentials_secret: String,
    pub dashboard: String,
    pub alarm_prefix: String,
}

impl Stage {
    /// The names of this stage's resources (see [`Names`]).
    pub fn names(&self) -> Names {
        let function = self.function.name.clone();
        Names {
            log_group: log_group(&function),
            api_log_group: self.token_api.as_ref().map(|api| log_group(&api.name)),
            dlq: format!("{function}-dlq"),
            event_bus: format!("oauth-tokens-{}", self.name),
            alarm_topic: format!("{function}-alarms"),
            key_alias: format!("alias/oauth-refresher-{}", self.name),
            credentials_secret: format!("{}/provider-credentials", self.stack_name),
            dashboard: format!("OAuthTokenHealth-{}", self.name),
            alarm_prefix: function.clone(),
            function,
        }
    }
}

fn all(s: &str, ok: impl Fn(char) -> bool) -> bool {
    s.chars().all(ok)
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-5`.
pub(super) fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && all(p, |c| c.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|n| (1..=2).contains(&n.len()) && all(n, |c| c.is_ascii_digit()))
}

pub(super) fn is_stage_name(s: &str) -> bool {
    (1..=20).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && all(s, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
        })
}

pub(super) fn is_stack_name(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && all(s, |c| c.is_ascii_alphanumeric() || c == '-')
}

pub(super) fn is_provider_name(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && all(s, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'
        })
}

pub(super) fn is_table_name(s: &str) -> bool {
    (3..=255).contains(&s.len()) && all(s, |c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

/// S3 general purpose bucket naming rules.
pub(super) fn is_bucket_name(s: &str) -> bool {
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&s.len())
        && all(s, |c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.'
        })
        && edge_ok(s.chars().next())
        && edge_ok(s.chars().last())
        && !s.contains("..")
        && s.parse::<std::net::Ipv4Addr>().is_err()
}

pub(super) fn is_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !r.contains(char::is_whitespace)
    })
}

/// `http://localhost:8080/...`, `http://127.0.0.1/...`, `http://[::1]:9/...`.
pub(super) fn is_loopback_url(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = if authority.starts_with('[') {
        authority
            .split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or("").to_owned()
    };
    matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]")
}

pub(super) fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.contains(char::is_whitespace)
        && !domain.contains('@')
}

/// Reddit's API rules: `<platform>:<app ID>:<version string> (by /u/<reddit username>)`.
pub(super) fn is_reddit_user_agent(s: &str) -> bool {
    let token =
        |t: &str| !t.is_empty() && all(t, |c| c.is_ascii_alphanumeric() || "._-".contains(c));
    let Some((head, by)) = s.split_once(" (by /u/") else {
        return false;
    };
    let user_ok = by.strip_suffix(')').is_some_and(|u| {
        (3..=20).contains(&u.len()) && all(u, |c| c.is_ascii_alphanumeric() || "_-".contains(c))
    });
    let parts: Vec<&str> = head.split(':').collect();
    user_ok && parts.len() == 3 && parts.iter().all(|p| token(p))
}

/// The part of a rule name that stands for a provider: `IG` for Instagram (the seed's name),
/// `TikTok`, and the name in Pascal case for others.
pub(super) fn provider_label(name: &str) -> String {
    match name {
        "instagram" => "IG".to_owned(),
        "tiktok" => "TikTok".to_owned(),
        _ => pascal(name),
    }
}

/// `google_ads` -> `GoogleAds`: provider names as parts of CloudFormation logical ids.
pub(crate) fn pascal(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut cs = w.chars();
            cs.next()
                .map(|c| c.to_ascii_uppercase().to_string() + cs.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        for ok in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-5",
        ] {
            assert!(is_region(ok), "{ok}");
        }
        for bad in [
            "us-east",
            "useast1",
            "US-EAST-1",
            "u-east-1",
            "us--1",
            "us-east-123",
            "",
        ] {
            assert!(!is_region(bad), "{bad}");
        }
    }

    #[test]
    fn reddit_user_agents() {
        assert!(is_reddit_user_agent(
            "web:com.example.refresher:1.0 (by /u/ops)"
        ));
        assert!(is_reddit_user_agent(
            "linux:my-app:v2.3.1 (by /u/some_user)"
        ));
        for bad in [
            "curl/8.0",
            "web:com.example.refresher (by /u/ops)",
            "web:com.example.refresher:1.0",
            "web:com.example.refresher:1.0 (by ops)",
            "web:com example:1.0 (by /u/ops)",
            "web:app:1.0 (by /u/o)",
        ] {
            assert!(!is_reddit_user_agent(bad), "{bad}");
        }
    }

    #[test]
    fn buckets_and_urls_and_emails() {
        assert!(is_bucket_name(
            "oauth-refresher-artifacts-123456789012-us-east-1"
        ));
        for bad in ["Bucket", "ab", "-abc", "abc-", "a..b", "192.168.1.1", "a_b"] {
            assert!(!is_bucket_name(bad), "{bad}");
        }
        assert!(is_http_url("http://localhost:5000"));
        assert!(is_http_url("https://api.schwabapi.com/v1/oauth/token"));
        assert!(!is_http_url("ftp://x"));
        assert!(!is_http_url("https://"));
        assert!(is_loopback_url("http://localhost:8080/oauth/token"));
        assert!(is_loopback_url("http://127.0.0.1/x"));
        assert!(is_loopback_url("http://[::1]:9/"));
        assert!(!is_loopback_url("http://localhost.evil.com/x"));
        assert!(!is_loopback_url("http://10.0.0.1/x"));
        assert!(is_email("ops@example.com"));
        for bad in [
            "ops",
            "ops@",
            "@example.com",
            "ops@example",
            "o ps@example.com",
            "a@b@c.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn labels() {
        assert_eq!(provider_label("instagram"), "IG");
        assert_eq!(provider_label("reddit"), "Reddit");
        assert_eq!(provider_label("google_ads"), "GoogleAds");
    }
}
