//! The checks of `deployer verify`, each a pure function from facts already fetched to a
//! [`Check`], tested without a network (`tests.rs`): the stack and what hangs on it
//! (`stack.rs`), the functions' permissions, environment and credentials (`function.rs`), the
//! refresher's records (`runs.rs`). A check that cannot be made is a WARN that says why, never a
//! PASS.

mod function;
pub(crate) mod runs;
mod stack;
#[cfg(test)]
mod tests;

use std::fmt;

use serde::Serialize;

pub(crate) use function::{credentials, environment, permissions};
pub(crate) use stack::{alarms, dlq, http_trigger_secret, rule, stack};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum Verdict {
    Pass,
    Warn,
    Fail,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pass => "PASS",
            Self::Warn => "WARN",
            Self::Fail => "FAIL",
        })
    }
}

/// One line of the checklist; `fix` is set for every FAIL (and for WARNs that have one).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct Check {
    pub name: String,
    pub verdict: Verdict,
    pub detail: String,
    pub fix: Option<String>,
}

pub(crate) fn check(name: impl Into<String>, verdict: Verdict, detail: impl Into<String>) -> Check {
    Check {
        name: name.into(),
        verdict,
        detail: detail.into(),
        fix: None,
    }
}

impl Check {
    pub(crate) fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// The command that fixes what a deploy fixes.
fn deploy(stage: &str) -> String {
    format!("deployer deploy --stage {stage}")
}

/// What `CloudWatch` answered. A local stand-in that cannot speak the SDK's protocol answers an
/// HTTP error without an AWS error body, which `aws::describe_error` words as below.
pub(crate) const UNANSWERED: &str = "the endpoint may not implement this call";
