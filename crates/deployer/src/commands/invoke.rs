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
use crate::answer::{self, Answer};
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
        let (function, mode) = (&self.function, self.mode);
        let timing = self
            .duration_ms
            .map_or(String::new(), |ms| format!(" in {ms} ms"));
        match &self.outcome {
            Outcome::Ok { payload } => self.fmt_payload(f, payload, &timing)?,
            Outcome::Error {
                error_type,
                error_message,
            }
            | Outcome::InitError {
                error_type,
                error_message,
            } => writeln!(
                f,
                "{function} ({mode}) failed{timing}: {error_type}: {error_message}"
            )?,
            Outcome::TimedOut { after_ms } => {
                writeln!(f, "{function} ({mode}) timed out after {after_ms} ms")?;
            }
            Outcome::Crashed { exit } => {
                writeln!(f, "{function} ({mode}) exited without answering: {exit}")?;
            }
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

impl InvokeReport {
    /// A refresher's answer as a line (and a row per token); any other payload as JSON.
    fn fmt_payload(
        &self,
        f: &mut fmt::Formatter<'_>,
        payload: &serde_json::Value,
        timing: &str,
    ) -> fmt::Result {
        let (function, mode) = (&self.function, self.mode);
        let Some(answer) = Answer::parse(payload) else {
            writeln!(f, "{function} ({mode}) returned{timing}:")?;
            let pretty = serde_json::to_string_pretty(payload).map_err(|_| fmt::Error)?;
            return writeln!(f, "{pretty}");
        };
        writeln!(
            f,
            "{function} ({mode}) returned{timing}: {}",
            answer.summary()
        )?;
        for line in answer.result_lines() {
            writeln!(f, "  {line}")?;
        }
        if let Some(why) = answer.not_ok() {
            writeln!(f, "the run is not ok: {why}")?;
        }
        Ok(())
    }
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
        ok: matches!(&outcome, Outcome::Ok { payload } if answer::not_ok(payload).is_none()),
        outcome,
        duration_ms,
        log_tail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_that_is_not_ok_fails_the_command_and_says_why() {
        let halted = json!({"ok": false, "runId": "r-1", "dryRun": false, "refreshed": 0,
            "failed": 1, "skipped": 0, "needsReauth": 0, "missingExpiration": 0, "results": [
            {"outcome": "failed", "userId": "a", "platform": "tiktok", "reason": "token_set_lost"}]});
        let report = report(
            "RefreshOAuth-local",
            "local",
            Outcome::Ok { payload: halted },
            Some(5),
            Vec::new(),
        );
        assert!(!report.ok, "the command exits 1");
        let text = report.to_string();
        assert!(
            text.contains("returned in 5 ms: 0 refreshed, 1 failed"),
            "{text}"
        );
        assert!(text.contains("the run is not ok: a token set"), "{text}");
    }

    #[test]
    fn other_answers_are_shown_as_json_and_are_ok() {
        let report = report(
            "Other",
            "remote",
            Outcome::Ok {
                payload: json!({"hello": "world"}),
            },
            None,
            Vec::new(),
        );
        assert!(report.ok);
        assert!(report.to_string().contains("\"hello\": \"world\""));
    }
}
