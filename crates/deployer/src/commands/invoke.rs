//! `deployer invoke --stage S [--providers tiktok,reddit] [--dry-run] [--local]`: one run of the
//! refresher; `deployer invoke --stage S --user U --provider P [--force] [--min-validity N]`: one
//! request to the token API (docs/token-api.md). Remote: a synchronous Lambda invocation with the
//! tail of its log. `--local`: the very zip the stack deployed (its `ArtifactKey`), run on this
//! machine under the Runtime API emulator with the deployed function's environment and the
//! caller's credentials.

use std::fmt;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::json;

use super::Ctx;
use crate::aws::{Aws, invoke};
use crate::cli::InvokeArgs;
use crate::emulator::{self, Outcome, deployed};
use crate::stage::Stage;
use crate::{Status, deploy, output};

/// Log lines shown with a failed result by default.
const LOG_TAIL: usize = 30;
/// Log lines shown with a successful result by default.
const LOG_TAIL_OK: usize = 10;

#[derive(Debug, Serialize)]
pub(super) struct InvokeReport {
    pub function: String,
    /// `local` or `remote`.
    pub mode: &'static str,
    pub ok: bool,
    #[serde(flatten)]
    pub outcome: Outcome,
    pub duration_ms: Option<u64>,
    pub log_tail: Vec<String>,
}

impl fmt::Display for InvokeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let timing = self
            .duration_ms
            .map_or(String::new(), |ms| format!(" in {ms} ms"));
        match &self.outcome {
            Outcome::Ok { payload } => {
                if let Some(summary) = run_summary(payload) {
                    let (function, mode) = (&self.function, self.mode);
                    writeln!(f, "{function} ({mode}) returned{timing}: {summary}")?;
                    for line in result_lines(payload) {
                        writeln!(f, "  {line}")?;
                    }
                    if let Some(why) = not_ok(payload) {
                        writeln!(f, "the run is not ok: {why}")?;
                    }
                } else {
                    writeln!(f, "{} ({}) returned{timing}:", self.function, self.mode)?;
                    let pretty = serde_json::to_string_pretty(payload).map_err(|_| fmt::Error)?;
                    writeln!(f, "{pretty}")?;
                }
            }
            Outcome::Error {
                error_type,
                error_message,
            }
            | Outcome::InitError {
                error_type,
                error_message,
            } => {
                writeln!(
                    f,
                    "{} ({}) failed{timing}: {error_type}: {error_message}",
                    self.function, self.mode
                )?;
            }
            Outcome::TimedOut { after_ms } => writeln!(
                f,
                "{} ({}) timed out after {after_ms} ms",
                self.function, self.mode
            )?,
            Outcome::Crashed { exit } => writeln!(
                f,
                "{} ({}) exited without answering: {exit}",
                self.function, self.mode
            )?,
        }
        if !self.log_tail.is_empty() {
            writeln!(f, "--- log (last {} lines)", self.log_tail.len())?;
            for line in &self.log_tail {
                writeln!(f, "{line}")?;
            }
        }
        Ok(())
    }
}

/// `4 refreshed, 0 failed, 1 skipped, 0 need re-authorisation` for a run summary (the
/// refresher's response), with the providers another run was refreshing; `skipped: locked` for
/// a run that found every provider of its input locked.
fn run_summary(payload: &serde_json::Value) -> Option<String> {
    if let Some(line) = api_answer(payload) {
        return Some(line);
    }
    if let Some(why) = payload.get("skipped").and_then(serde_json::Value::as_str) {
        return Some(format!(
            "run skipped ({why}: other runs hold the lock of every provider it names)"
        ));
    }
    let count = |name: &str| payload.get(name).and_then(serde_json::Value::as_u64);
    let dry = if payload.get("dryRun") == Some(&json!(true)) {
        " (dry run)"
    } else {
        ""
    };
    let locked: Vec<&str> = payload
        .get("locked")
        .and_then(serde_json::Value::as_array)
        .map(|names| names.iter().filter_map(serde_json::Value::as_str).collect())
        .unwrap_or_default();
    let mut locked = if locked.is_empty() {
        String::new()
    } else {
        format!("; left to the run already refreshing {}", locked.join(", "))
    };
    for unusable in payload
        .get("unusable")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
    {
        locked.push_str("; could not run: ");
        locked.push_str(unusable["problem"].as_str().unwrap_or("-"));
    }
    Some(format!(
        "{} refreshed, {} failed, {} skipped, {} need re-authorisation{dry}{locked}",
        count("refreshed")?,
        count("failed")?,
        count("skipped")?,
        count("needsReauth")?,
    ))
}

/// One line for a token API answer: the token's state, or the error's code, reason and message.
fn api_answer(payload: &serde_json::Value) -> Option<String> {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
    if let Some(error) = payload.get("error").filter(|e| e.is_object()) {
        let reason = error
            .get("reason")
            .map_or(String::new(), |r| format!(" ({})", text(r)));
        let retry = if error["retryable"] == json!(true) {
            "; retryable"
        } else {
            ""
        };
        return Some(format!(
            "{}{reason}: {}{retry}",
            text(&error["code"]),
            text(&error["message"])
        ));
    }
    let refreshed = payload.get("refreshed")?.as_bool()?;
    let how = match (refreshed, payload["coalesced"] == json!(true)) {
        (true, _) => "refreshed now",
        (false, true) => "refreshed by another refresher meanwhile",
        (false, false) => "valid, not refreshed",
    };
    let expires = payload["expiresAt"]
        .as_u64()
        .map_or("no known expiry".to_owned(), |at| {
            format!("expires at {at} (epoch s)")
        });
    Some(format!(
        "token of {} at {}: {how}; {}, {expires}, version {}",
        text(&payload["userId"]),
        text(&payload["platform"]),
        text(&payload["status"]),
        payload["version"]
    ))
}

/// Why a completed run reports `"ok": false`, if it does: work it could not attempt, which the
/// next run picks up (the token results say the rest).
fn not_ok(payload: &serde_json::Value) -> Option<&'static str> {
    if payload.get("ok") != Some(&json!(false)) {
        return None;
    }
    if payload
        .get("error")
        .is_some_and(serde_json::Value::is_object)
    {
        return Some("the token API answered an error (above)");
    }
    if payload
        .get("unusable")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|u| !u.is_empty())
    {
        return Some(
            "a provider could not run (above: its problem and the command that fixes it); the \
             others ran",
        );
    }
    // A lost set halts the run; when nothing was left to start, only the loss shows.
    let halted = payload
        .get("results")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|r| {
            r.iter()
                .any(|r| r["reason"] == "store_unavailable" || r["reason"] == "token_set_lost")
        });
    Some(if halted {
        "a token set could be neither stored nor queued (`token_set_lost`), so the run stopped \
         starting refreshes (any left show as `store_unavailable` and stay due)"
    } else {
        "a provider's due tokens could not be listed (`due_query_failed` in the log); its tokens \
         stay due"
    })
}

/// One aligned line per token of a run summary's `results`: outcome, user, platform, reason.
fn result_lines(payload: &serde_json::Value) -> Vec<String> {
    let Some(results) = payload.get("results").and_then(serde_json::Value::as_array) else {
        return Vec::new();
    };
    let field = |r: &serde_json::Value, name: &str| {
        r.get(name)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("-")
            .to_owned()
    };
    let rows: Vec<[String; 4]> = results
        .iter()
        .map(|r| {
            [
                field(r, "outcome"),
                field(r, "userId"),
                field(r, "platform"),
                field(r, "reason"),
            ]
        })
        .collect();
    output::aligned(&rows)
}

pub(super) async fn run(args: &InvokeArgs, ctx: &Ctx) -> Result<Status> {
    let stage = ctx.load_stage(&args.stage.stage)?;
    let (function, payload) = match &args.user {
        Some(user) => token_api_request(args, user, &stage)?,
        None => (stage.function.name.clone(), run_input(args, &stage)?),
    };
    let aws = ctx.aws(&stage).await;
    deploy::check_account(&aws, &stage).await?;
    let mut report = if args.local {
        local(&aws, &stage, &function, &payload).await?
    } else {
        remote(&aws, &function, &payload).await?
    };
    if let Some(dir) = &args.log_dir
        && let Err(err) = keep_log(dir, &function, &report.log_tail)
    {
        // The run happened: its result is shown whatever became of the log file.
        output::note(&format!("{err:#}"));
    }
    let shown = args
        .log_lines
        .unwrap_or(if report.ok { LOG_TAIL_OK } else { LOG_TAIL });
    let tail = &mut report.log_tail;
    tail.drain(..tail.len().saturating_sub(shown));
    ctx.printer.emit(&report)?;
    Ok(if report.ok {
        Status::Ok
    } else {
        Status::Failed
    })
}

/// A scheduled run's input: the providers named (each checked against the stage) and `dryRun`.
fn run_input(args: &InvokeArgs, stage: &Stage) -> Result<serde_json::Value> {
    let providers: Vec<String> = args
        .providers
        .iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    for name in &providers {
        stage.provider_named(name).map_err(anyhow::Error::msg)?;
    }
    Ok(json!({ "providers": providers, "dryRun": args.dry_run }))
}

/// The token API's function and a `refresh` request for `user` (docs/token-api.md).
fn token_api_request(
    args: &InvokeArgs,
    user: &str,
    stage: &Stage,
) -> Result<(String, serde_json::Value)> {
    let Some(api) = &stage.token_api else {
        bail!(
            "stage {} has no token API (token_api.enabled is false): set it to true and deploy, \
             or run the schedule's function without --user",
            stage.name
        );
    };
    let provider = args.provider.as_deref().unwrap_or_default();
    stage.provider_named(provider).map_err(anyhow::Error::msg)?;
    let mut request = json!({"action": "refresh", "userId": user, "platform": provider,
        "force": args.force});
    if let Some(seconds) = args.min_validity {
        request["minValiditySeconds"] = json!(seconds);
    }
    Ok((api.name.clone(), request))
}

async fn remote(aws: &Aws, function: &str, payload: &serde_json::Value) -> Result<InvokeReport> {
    let result = invoke::invoke(&aws.lambda(), function, payload).await?;
    let outcome = match result.function_error {
        None => Outcome::Ok {
            payload: result.payload,
        },
        Some(kind) => Outcome::Error {
            error_type: result
                .payload
                .get("errorType")
                .and_then(|v| v.as_str())
                .unwrap_or(&kind)
                .to_owned(),
            error_message: result
                .payload
                .get("errorMessage")
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_owned(),
        },
    };
    Ok(report(function, "remote", outcome, None, result.log_tail))
}

async fn local(
    aws: &Aws,
    stage: &Stage,
    function: &str,
    payload: &serde_json::Value,
) -> Result<InvokeReport> {
    let dir = tempfile::tempdir().context("cannot create a directory for the bootstrap")?;
    let binary = deployed::bootstrap(aws, stage, dir.path()).await?;
    let spec = deployed::function(aws, stage, &binary, function).await?;
    let invocation = emulator::run(&spec, payload).await?;
    // The whole log: `--log-lines` picks the tail shown (a remote run only has Lambda's 4 KB).
    Ok(report(
        function,
        "local",
        invocation.outcome,
        Some(invocation.duration_ms),
        invocation.logs,
    ))
}

/// Writes a run's log to a new file in `dir`.
fn keep_log(dir: &Path, function: &str, lines: &[String]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| {
        format!(
            "cannot create the log directory {} (--log-dir)",
            dir.display()
        )
    })?;
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let path = dir.join(format!("{function}-{millis}-{}.log", std::process::id()));
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(&path, text).with_context(|| {
        format!(
            "cannot write the function log {} (--log-dir)",
            path.display()
        )
    })
}

fn report(
    function: &str,
    mode: &'static str,
    outcome: Outcome,
    duration_ms: Option<u64>,
    log_tail: Vec<String>,
) -> InvokeReport {
    InvokeReport {
        function: function.to_owned(),
        mode,
        ok: matches!(&outcome, Outcome::Ok { payload } if not_ok(payload).is_none()),
        outcome,
        duration_ms,
        log_tail,
    }
}

/// The `bootstrap` entry of an artifact zip.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_summary_reads_as_one_line_and_a_row_per_token() {
        let payload = json!({
            "ok": true, "dryRun": false, "refreshed": 1, "failed": 0, "skipped": 1,
            "needsReauth": 0, "missingExpiration": 0,
            "results": [
                {"outcome": "refreshed", "userId": "alice", "platform": "tiktok", "reason": "ok"},
                {"outcome": "skipped", "userId": "grace", "platform": "tiktok", "reason": "needs_reauth"}
            ]
        });
        assert_eq!(
            run_summary(&payload).unwrap(),
            "1 refreshed, 0 failed, 1 skipped, 0 need re-authorisation"
        );
        assert_eq!(
            result_lines(&payload),
            [
                "refreshed  alice  tiktok  ok",
                "skipped    grace  tiktok  needs_reauth"
            ]
        );
        let locked = json!({"ok": true, "skipped": "locked"});
        assert!(
            run_summary(&locked)
                .unwrap()
                .contains("other runs hold the lock of every provider")
        );
        let partly = json!({"ok": true, "refreshed": 2, "failed": 0, "skipped": 0,
            "needsReauth": 0, "locked": ["reddit", "tiktok"], "results": []});
        assert_eq!(
            run_summary(&partly).unwrap(),
            "2 refreshed, 0 failed, 0 skipped, 0 need re-authorisation; \
             left to the run already refreshing reddit, tiktok"
        );
        assert_eq!(run_summary(&json!({"other": 1})), None);
        assert_eq!(not_ok(&payload), None);
    }

    #[test]
    fn a_completed_run_that_is_not_ok_says_why_and_fails_the_command() {
        let halted = json!({"ok": false, "refreshed": 0, "failed": 1, "skipped": 1,
        "needsReauth": 0, "results": [
            {"outcome": "failed", "userId": "a", "platform": "tiktok", "reason": "token_set_lost"},
            {"outcome": "skipped", "userId": "b", "platform": "tiktok", "reason": "store_unavailable"}
        ]});
        assert!(
            not_ok(&halted)
                .unwrap()
                .contains("stopped starting refreshes")
        );
        let only_lost = json!({"ok": false, "results": [
            {"outcome": "failed", "userId": "a", "platform": "tiktok", "reason": "token_set_lost"}]});
        assert!(not_ok(&only_lost).unwrap().contains("token_set_lost"));
        let unlisted = json!({"ok": false, "refreshed": 0, "failed": 0, "skipped": 0,
            "needsReauth": 0, "results": []});
        assert!(not_ok(&unlisted).unwrap().contains("could not be listed"));
        let report = report(
            "RefreshOAuth-local",
            "local",
            Outcome::Ok { payload: halted },
            Some(5),
            Vec::new(),
        );
        assert!(!report.ok, "the command exits 1");
        assert!(
            report
                .to_string()
                .contains("the run is not ok: a token set"),
            "{report}"
        );
    }

    #[test]
    fn token_api_answers_are_one_line() {
        let fresh = json!({"ok": true, "userId": "u1", "platform": "tiktok", "status": "active",
            "expiresAt": 1_800_000_000_u64, "version": 5, "refreshed": true, "coalesced": false});
        assert_eq!(
            run_summary(&fresh).unwrap(),
            "token of u1 at tiktok: refreshed now; active, expires at 1800000000 (epoch s), version 5"
        );
        assert_eq!(not_ok(&fresh), None);
        let busy = json!({"ok": false, "userId": "u1", "platform": "tiktok",
            "error": {"code": "BUSY", "message": "another refresher still holds this token", "retryable": true}});
        assert_eq!(
            run_summary(&busy).unwrap(),
            "BUSY: another refresher still holds this token; retryable"
        );
        assert!(not_ok(&busy).is_some(), "the command exits 1");
    }
}
