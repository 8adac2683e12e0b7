//! The refresher's answers as an operator reads them (pure): a run's summary, or a token API
//! answer, parsed with the refresher's own types (`refresher::run::RunResponse`,
//! `refresher::api::answer`), so the wire format is defined once, where it is written.

use refresher::api::answer::{ApiFailure, TokenState};
use refresher::run::{RunResponse, RunSummary};
use serde::Deserialize;

use crate::output;

/// What a function answered, when it is one of the refresher's answers.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Answer {
    Failure(ApiFailure),
    Token(TokenState),
    Run(RunResponse),
}

impl Answer {
    /// The answer in `payload`; `None` for anything else (a status report, another function's
    /// answer), which the caller shows as JSON.
    pub(crate) fn parse(payload: &serde_json::Value) -> Option<Self> {
        Self::deserialize(payload).ok()
    }

    /// One line: the run's counts, the token's state, or the error's code, reason and message.
    pub(crate) fn summary(&self) -> String {
        match self {
            Self::Failure(failure) => failure_line(failure),
            Self::Token(token) => token_line(token),
            Self::Run(RunResponse::Locked { skipped, .. }) => {
                format!(
                    "run skipped ({skipped}: other runs hold the lock of every provider it names)"
                )
            }
            Self::Run(RunResponse::Completed(summary)) => run_line(summary),
        }
    }

    /// One aligned line per token of a run's results: outcome, user, platform, reason.
    pub(crate) fn result_lines(&self) -> Vec<String> {
        let Self::Run(RunResponse::Completed(summary)) = self else {
            return Vec::new();
        };
        let rows: Vec<[String; 4]> = summary
            .results
            .iter()
            .map(|r| {
                [
                    r.outcome.as_str().to_owned(),
                    r.user_id.clone(),
                    r.platform.clone(),
                    r.reason.clone(),
                ]
            })
            .collect();
        output::aligned(&rows)
    }

    /// Why the answer is not `ok`, if it is not: work a run could not attempt, which the next run
    /// picks up (the token results say the rest), or the token API's error.
    pub(crate) fn not_ok(&self) -> Option<&'static str> {
        match self {
            Self::Failure(_) => Some("the token API answered an error (above)"),
            Self::Run(RunResponse::Completed(summary)) if !summary.ok => Some(run_not_ok(summary)),
            Self::Token(_) | Self::Run(_) => None,
        }
    }
}

/// Why a function's `payload` is not ok, if it is not: the refresher's answer's reason, or an
/// `"ok": false` of an answer this deployer does not know.
pub(crate) fn not_ok(payload: &serde_json::Value) -> Option<&'static str> {
    match Answer::parse(payload) {
        Some(answer) => answer.not_ok(),
        None if payload.get("ok") == Some(&serde_json::Value::Bool(false)) => {
            Some("the function answered `\"ok\": false` (above)")
        }
        None => None,
    }
}

/// `4 refreshed, 0 failed, 1 skipped, 0 need re-authorisation`, with the providers another run
/// was refreshing and those that could not run.
fn run_line(summary: &RunSummary) -> String {
    let dry = if summary.dry_run { " (dry run)" } else { "" };
    let mut rest = if summary.locked.is_empty() {
        String::new()
    } else {
        format!(
            "; left to the run already refreshing {}",
            summary.locked.join(", ")
        )
    };
    for unusable in &summary.unusable {
        rest.push_str("; could not run: ");
        rest.push_str(&unusable.problem);
    }
    format!(
        "{} refreshed, {} failed, {} skipped, {} need re-authorisation{dry}{rest}",
        summary.refreshed, summary.failed, summary.skipped, summary.needs_reauth
    )
}

fn run_not_ok(summary: &RunSummary) -> &'static str {
    if !summary.unusable.is_empty() {
        return "a provider could not run (above: its problem and the command that fixes it); the \
                others ran";
    }
    // A lost set halts the run; when nothing was left to start, only the loss shows.
    let halted = summary
        .results
        .iter()
        .any(|r| r.reason == "store_unavailable" || r.reason == "token_set_lost");
    if halted {
        "a token set could be neither stored nor queued (`token_set_lost`), so the run stopped \
         starting refreshes (any left show as `store_unavailable` and stay due)"
    } else {
        "a provider's due tokens could not be listed (`due_query_failed` in the log); its tokens \
         stay due"
    }
}

fn failure_line(failure: &ApiFailure) -> String {
    let error = &failure.error;
    let reason = error
        .reason
        .as_ref()
        .map_or(String::new(), |r| format!(" ({r})"));
    let retry = if error.retryable { "; retryable" } else { "" };
    format!("{}{reason}: {}{retry}", error.code.as_str(), error.message)
}

fn token_line(token: &TokenState) -> String {
    let how = match (token.refreshed, token.coalesced) {
        (true, _) => "refreshed now",
        (false, true) => "refreshed by another refresher meanwhile",
        (false, false) => "valid, not refreshed",
    };
    let expires = token.expires_at.map_or("no known expiry".to_owned(), |at| {
        format!("expires at {at} (epoch s)")
    });
    format!(
        "token of {} at {}: {how}; {}, {expires}, version {}",
        token.user_id, token.platform, token.status, token.version
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A run's answer as the refresher writes it, with `extra` fields set.
    fn run(extra: &serde_json::Value) -> serde_json::Value {
        let mut v = json!({
            "ok": true, "runId": "r-1", "dryRun": false, "refreshed": 0, "failed": 0,
            "skipped": 0, "needsReauth": 0, "missingExpiration": 0, "results": []
        });
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    }

    fn summary(payload: &serde_json::Value) -> String {
        Answer::parse(payload).unwrap().summary()
    }

    #[test]
    fn a_run_summary_reads_as_one_line_and_a_row_per_token() {
        let payload = run(&json!({"refreshed": 1, "skipped": 1, "results": [
            {"outcome": "refreshed", "userId": "alice", "platform": "tiktok", "reason": "ok"},
            {"outcome": "skipped", "userId": "grace", "platform": "tiktok", "reason": "needs_reauth"}
        ]}));
        assert_eq!(
            summary(&payload),
            "1 refreshed, 0 failed, 1 skipped, 0 need re-authorisation"
        );
        assert_eq!(
            Answer::parse(&payload).unwrap().result_lines(),
            [
                "refreshed  alice  tiktok  ok",
                "skipped    grace  tiktok  needs_reauth"
            ]
        );
        assert_eq!(not_ok(&payload), None);
    }

    #[test]
    fn locked_providers_and_whole_locked_runs_are_named() {
        let locked = json!({"ok": true, "skipped": "locked"});
        assert!(summary(&locked).contains("other runs hold the lock of every provider"));
        let partly = run(&json!({"refreshed": 2, "locked": ["reddit", "tiktok"]}));
        assert_eq!(
            summary(&partly),
            "2 refreshed, 0 failed, 0 skipped, 0 need re-authorisation; \
             left to the run already refreshing reddit, tiktok"
        );
        let dry = run(&json!({"dryRun": true}));
        assert!(summary(&dry).ends_with("re-authorisation (dry run)"));
    }

    #[test]
    fn other_payloads_are_not_answers() {
        assert!(Answer::parse(&json!({"other": 1})).is_none());
        assert_eq!(not_ok(&json!({"other": 1})), None);
        assert!(
            not_ok(&json!({"ok": false, "other": 1}))
                .unwrap()
                .contains("ok")
        );
    }

    #[test]
    fn a_completed_run_that_is_not_ok_says_why() {
        let halted = run(&json!({"ok": false, "failed": 1, "skipped": 1, "results": [
            {"outcome": "failed", "userId": "a", "platform": "tiktok", "reason": "token_set_lost"},
            {"outcome": "skipped", "userId": "b", "platform": "tiktok", "reason": "store_unavailable"}
        ]}));
        assert!(
            not_ok(&halted)
                .unwrap()
                .contains("stopped starting refreshes")
        );
        let unlisted = run(&json!({"ok": false}));
        assert!(not_ok(&unlisted).unwrap().contains("could not be listed"));
        let unusable = run(&json!({"ok": false, "unusable": [
            {"provider": "schwab", "problem": "no credentials; run `deployer secrets set`"}]}));
        assert!(
            not_ok(&unusable)
                .unwrap()
                .contains("a provider could not run")
        );
        assert!(
            summary(&unusable)
                .ends_with("; could not run: no credentials; run `deployer secrets set`")
        );
    }

    #[test]
    fn token_api_answers_are_one_line() {
        let fresh = json!({"ok": true, "userId": "u1", "platform": "tiktok", "status": "active",
            "expiresAt": 1_800_000_000_u64, "version": 5, "refreshed": true, "coalesced": false});
        assert_eq!(
            summary(&fresh),
            "token of u1 at tiktok: refreshed now; active, expires at 1800000000 (epoch s), version 5"
        );
        assert_eq!(not_ok(&fresh), None);
        let busy = json!({"ok": false, "userId": "u1", "platform": "tiktok",
            "error": {"code": "BUSY", "message": "another refresher still holds this token", "retryable": true}});
        assert_eq!(
            summary(&busy),
            "BUSY: another refresher still holds this token; retryable"
        );
        assert!(not_ok(&busy).is_some(), "the command exits 1");
        let failed = json!({"ok": false, "error": {"code": "REFRESH_FAILED",
            "message": "the provider refused", "retryable": false, "reason": "invalid_grant"}});
        assert_eq!(
            summary(&failed),
            "REFRESH_FAILED (invalid_grant): the provider refused"
        );
    }
}
