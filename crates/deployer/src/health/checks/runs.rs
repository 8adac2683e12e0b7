//! The checks of `deployer verify` that read the refresher's records rather than the stack: a
//! recent successful refresh per provider, and tokens waiting for their user to reconnect. Pure,
//! like `checks.rs`.

use super::{Check, Verdict, check};
use crate::health::runs::RUN_SOURCE;
use crate::stage::duration::format_duration;
use crate::stage::duration::relative;

/// What the analytics records say about one provider's recent refreshes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RunFacts {
    pub provider: String,
    /// Two schedule periods plus start jitter, in seconds.
    pub allowed_s: u64,
    /// When a token of the provider was last refreshed.
    pub last_success: Option<u64>,
    /// `failed` and `needs_reauth` records within `allowed_s`.
    pub failures: usize,
}

/// A successful refresh within two schedule periods. No record at all in that time is a WARN: the
/// refresher records only the tokens it refreshed or failed, so nothing due looks the same as a
/// schedule that did not run.
pub(crate) fn recent_run(stage: &str, facts: &RunFacts, now: u64) -> Check {
    let name = format!("recent successful run ({})", facts.provider);
    let window = format_duration(facts.allowed_s);
    let invoke = format!(
        "deployer invoke --stage {stage} --providers {}",
        facts.provider
    );
    match facts.last_success {
        Some(at) if now.saturating_sub(at) <= facts.allowed_s => check(
            name,
            Verdict::Pass,
            format!(
                "last refresh {} (within 2 schedule periods, {window})",
                relative(at, now)
            ),
        ),
        last if facts.failures > 0 => {
            let last = last.map_or_else(|| "never".to_owned(), |at| relative(at, now));
            check(
                name,
                Verdict::Fail,
                format!("no successful refresh in {window} (last: {last}), {} failed", facts.failures),
            )
            .fix(format!("`deployer status --stage {stage}` shows the reasons; after fixing the cause, `{invoke}`"))
        }
        last => {
            let last = last.map_or_else(|| "never".to_owned(), |at| relative(at, now));
            check(
                name,
                Verdict::Warn,
                format!(
                    "no refresh recorded in {window} (last: {last}): no token was due, or the schedule did not run ({RUN_SOURCE})"
                ),
            )
            .fix(invoke)
        }
    }
}

/// No token waits for its user to reconnect. `reauth`: `(provider, user)` of every such token.
pub(crate) fn reauth(stage: &str, reauth: &[(String, String)]) -> Check {
    let name = "tokens needing re-authorisation";
    let Some((provider, user)) = reauth.first() else {
        return check(name, Verdict::Pass, "none");
    };
    let shown: Vec<String> = reauth
        .iter()
        .take(5)
        .map(|(p, u)| format!("{p}/{u}"))
        .collect();
    let more = reauth.len().saturating_sub(shown.len());
    let others = if reauth.len() > 1 {
        " (and likewise for the others)"
    } else {
        ""
    };
    let more = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    check(
        name,
        Verdict::Warn,
        format!("{} token(s) with status needs_reauth: {}{more}", reauth.len(), shown.join(", ")),
    )
    .fix(format!(
        "have each user reconnect: `deployer tokens connect --stage {stage} --provider {provider} --user {user}`{others}"
    ))
}
