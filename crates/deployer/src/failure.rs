//! How a failed command is reported on stderr: one line for people, or with `--json` one JSON
//! object for programs (`{"error": "...", "causes": [...]}`). Stdout carries only a command's
//! result, so a pipeline that parses it never mistakes an error for a result; the exit code (1)
//! says which of the two happened.
//!
//! The AWS SDK's transport errors are long chains of internal types; from the first of the SDK's
//! own generic words on ("dispatch failure", ...), the chain is replaced by one sentence that
//! names the endpoint and the next step ([`crate::aws::errors::explain`]).

use std::fmt;

use serde::Serialize;

use crate::aws::errors::explain;

/// The SDK's own names for its failure classes: where its internals start.
const SDK_GENERIC: [&str; 5] = [
    "dispatch failure",
    "failed to construct request",
    "request has timed out",
    "response error",
    "io error",
];

/// A failed command, as reported.
#[derive(Debug, Serialize)]
pub struct Failure {
    /// The whole message on one line: the causes joined with ": ".
    pub error: String,
    /// From the outermost context to the root cause.
    pub causes: Vec<String>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.error)
    }
}

impl Failure {
    pub fn of(err: &anyhow::Error) -> Self {
        let mut causes = Vec::new();
        for cause in err.chain() {
            let text = cause.to_string();
            if SDK_GENERIC.contains(&text.as_str())
                && let Some(explained) = explain(cause)
            {
                causes.push(explained);
                break;
            }
            causes.push(text);
        }
        Self {
            error: causes.join(": "),
            causes,
        }
    }

    /// Prints the failure where its reader expects it.
    pub fn report(&self, json: bool) {
        if json {
            match serde_json::to_string(self) {
                Ok(line) => crate::output::note(&line),
                Err(_) => crate::output::note(&self.to_string()),
            }
        } else {
            crate::output::note(&self.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_context_is_kept_in_order() {
        let err = anyhow::anyhow!("No such file or directory")
            .context("cannot read stages/nope.yaml")
            .context("cannot validate");
        let failure = Failure::of(&err);
        assert_eq!(
            failure.causes,
            [
                "cannot validate",
                "cannot read stages/nope.yaml",
                "No such file or directory"
            ]
        );
        assert_eq!(
            failure.to_string(),
            "error: cannot validate: cannot read stages/nope.yaml: No such file or directory"
        );
        let json: serde_json::Value = serde_json::to_value(&failure).unwrap();
        assert_eq!(json["causes"][2], "No such file or directory");
    }
}
