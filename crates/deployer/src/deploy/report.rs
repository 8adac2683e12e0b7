//! What a deploy did, as data and as text.

use std::fmt;

use serde::Serialize;

use crate::aws::cfn::StackOutput;
use crate::plan::Plan;

/// Where the artifact went.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactReport {
    pub bucket: String,
    pub key: String,
    pub sha256: String,
    pub zip_bytes: u64,
    /// False when the same bytes were already there.
    pub uploaded: bool,
}

/// What a deploy did.
#[derive(Debug, Clone, Serialize)]
pub struct DeployReport {
    pub stage: String,
    pub stack: String,
    pub region: String,
    pub account: String,
    pub artifact: ArtifactReport,
    /// `created`, `updated`, `no-op` or `declined`.
    pub action: String,
    pub plan: Option<Plan>,
    pub seconds: f64,
    pub outputs: Vec<StackOutput>,
    /// Things that did not go as asked but did not fail the deploy.
    pub warnings: Vec<String>,
}

impl fmt::Display for DeployReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let uploaded = if self.artifact.uploaded {
            "uploaded"
        } else {
            "already there"
        };
        writeln!(f, "{} {} in {:.1}s", self.stack, self.action, self.seconds)?;
        writeln!(
            f,
            "  artifact  s3://{}/{} ({uploaded})",
            self.artifact.bucket, self.artifact.key
        )?;
        if let Some(plan) = self.plan.as_ref().filter(|p| !p.is_noop()) {
            write!(f, "{plan}")?;
        }
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        if !self.outputs.is_empty() {
            writeln!(f, "Outputs:")?;
            let width = self.outputs.iter().map(|o| o.key.len()).max().unwrap_or(0);
            for o in &self.outputs {
                writeln!(f, "  {:<width$}  {}", o.key, o.value)?;
            }
        }
        Ok(())
    }
}
