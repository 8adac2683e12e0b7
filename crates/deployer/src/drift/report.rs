//! The drift report: one value, shown as a table grouped by status or as JSON with the same data.

use std::fmt;

use serde::Serialize;

use super::ResourceDrift;

/// CloudFormation's own drift detection, where the endpoint offers it.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum CfnDrift {
    /// The endpoint does not offer it (moto answers HTTP 500), or the call was refused.
    Unavailable { reason: String },
    /// Detection ran: the stack's status and each resource not in sync.
    Detected {
        stack_status: String,
        resources: Vec<CfnResourceDrift>,
    },
}

/// One resource CloudFormation found drifted (or could not check).
#[derive(Debug, Clone, Serialize)]
pub struct CfnResourceDrift {
    pub logical_id: String,
    pub resource_type: String,
    pub status: String,
    pub differences: Vec<super::Difference>,
}

impl CfnResourceDrift {
    fn is_drift(&self) -> bool {
        matches!(self.status.as_str(), "MODIFIED" | "DELETED")
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DriftReport {
    pub stack: String,
    /// Whether anything was modified or deleted out of band (what `--fail` exits 2 on).
    pub drifted: bool,
    pub cloudformation: CfnDrift,
    pub resources: Vec<ResourceDrift>,
    /// Text only: every resource with its notes, not just the ones that need a look.
    #[serde(skip)]
    pub verbose: bool,
}

impl DriftReport {
    pub fn new(stack: &str, cloudformation: CfnDrift, mut resources: Vec<ResourceDrift>) -> Self {
        resources.sort_by(|a, b| (a.status, &a.logical_id).cmp(&(b.status, &b.logical_id)));
        let cfn_drift = match &cloudformation {
            CfnDrift::Detected { resources, .. } => {
                resources.iter().any(CfnResourceDrift::is_drift)
            }
            CfnDrift::Unavailable { .. } => false,
        };
        Self {
            stack: stack.to_owned(),
            drifted: cfn_drift || resources.iter().any(|r| r.status.is_drift()),
            cloudformation,
            resources,
            verbose: false,
        }
    }

    /// Whether the text shows this resource in full: drift, read errors, or `--verbose`.
    fn in_full(&self, r: &ResourceDrift) -> bool {
        self.verbose || r.status.is_drift() || r.read_error
    }

    /// Resources whose live state could not be read: the verdict on them is unknown.
    pub fn read_errors(&self) -> usize {
        self.resources.iter().filter(|r| r.read_error).count()
    }

    fn fmt_cloudformation(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cloudformation {
            CfnDrift::Unavailable { reason } => writeln!(
                f,
                "CloudFormation drift detection: not available at this endpoint ({reason})"
            ),
            CfnDrift::Detected {
                stack_status,
                resources,
            } => {
                writeln!(f, "CloudFormation drift detection: {stack_status}")?;
                for r in resources {
                    writeln!(f, "  {} {} {}", r.status, r.logical_id, r.resource_type)?;
                    for d in &r.differences {
                        writeln!(f, "      {}: {} -> {}", d.property, d.expected, d.actual)?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for DriftReport {
    /// Drifted and unreadable resources in full, with each difference; the others as one line of
    /// names per status (all in full with `--verbose`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Drift of stack {}", self.stack)?;
        self.fmt_cloudformation(f)?;
        let width = self
            .resources
            .iter()
            .filter(|r| self.in_full(r))
            .map(|r| r.logical_id.len())
            .max()
            .unwrap_or(0);
        let mut current = None;
        for r in self.resources.iter().filter(|r| self.in_full(r)) {
            if current != Some(r.status) {
                let count = self
                    .resources
                    .iter()
                    .filter(|x| x.status == r.status && self.in_full(x))
                    .count();
                writeln!(f, "\n{} ({count}):", r.status.label())?;
                current = Some(r.status);
            }
            r.fmt_in_full(f, width)?;
        }
        if !self.verbose {
            self.fmt_summary(f)?;
        }
        let verdict = if self.drifted {
            "drift found: resources were changed outside CloudFormation"
        } else {
            "no drift in the checked resources"
        };
        writeln!(f, "\n{verdict}")
    }
}

impl ResourceDrift {
    /// The resource's line (logical id, type, physical id, why), then each difference and note.
    fn fmt_in_full(&self, f: &mut fmt::Formatter<'_>, width: usize) -> fmt::Result {
        let physical = self.physical_id.as_deref().unwrap_or("-");
        write!(
            f,
            "  {:<width$}  {}  {physical}",
            self.logical_id, self.resource_type
        )?;
        match &self.reason {
            Some(reason) => writeln!(f, "  ({reason})")?,
            None => writeln!(f)?,
        }
        for d in &self.differences {
            writeln!(f, "      {}: {} -> {}", d.property, d.expected, d.actual)?;
        }
        for note in &self.notes {
            writeln!(f, "      note: {note}")?;
        }
        Ok(())
    }
}

impl DriftReport {
    /// One line of names per status for the resources not shown in full.
    fn fmt_summary(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rest: Vec<&ResourceDrift> =
            self.resources.iter().filter(|r| !self.in_full(r)).collect();
        if rest.is_empty() {
            return Ok(());
        }
        writeln!(f)?;
        let mut statuses: Vec<_> = rest.iter().map(|r| r.status).collect();
        statuses.dedup();
        for status in statuses {
            let names: Vec<&str> = rest
                .iter()
                .filter(|r| r.status == status)
                .map(|r| r.logical_id.as_str())
                .collect();
            writeln!(
                f,
                "{} ({}): {}",
                status.label(),
                names.len(),
                names.join(", ")
            )?;
        }
        let notes: usize = rest.iter().map(|r| r.notes.len()).sum();
        if notes > 0 {
            writeln!(
                f,
                "({notes} notes on properties this endpoint ignores; --verbose shows them and each resource)"
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::{Difference, ResourceStatus};

    fn resource(id: &str, status: ResourceStatus) -> ResourceDrift {
        let mut r = ResourceDrift::new(id, "AWS::Events::Rule", Some("phys"));
        r.status = status;
        r
    }

    #[test]
    fn only_modified_or_deleted_is_drift() {
        let calm = DriftReport::new(
            "s",
            CfnDrift::Unavailable { reason: "x".into() },
            vec![
                resource("A", ResourceStatus::InSync),
                resource("B", ResourceStatus::NotChecked),
                resource("C", ResourceStatus::NotCreatedByEndpoint),
            ],
        );
        assert!(!calm.drifted);
        let gone = DriftReport::new(
            "s",
            CfnDrift::Unavailable { reason: "x".into() },
            vec![resource("A", ResourceStatus::Deleted)],
        );
        assert!(gone.drifted);
    }

    #[test]
    fn text_groups_by_status_and_shows_each_difference() {
        let mut rule = resource("Rule", ResourceStatus::Modified);
        rule.differences.push(Difference {
            property: "State".into(),
            expected: "ENABLED".into(),
            actual: "DISABLED".into(),
        });
        let report = DriftReport::new(
            "stack",
            CfnDrift::Unavailable {
                reason: "HTTP 500".into(),
            },
            vec![resource("Fn", ResourceStatus::InSync), rule],
        );
        let text = report.to_string();
        assert!(text.contains("CloudFormation drift detection: not available at this endpoint"));
        let modified = text.find("modified (1):").unwrap();
        let in_sync = text.find("in sync (1): Fn\n").unwrap();
        assert!(modified < in_sync, "{text}");
        assert!(
            text.contains("      State: ENABLED -> DISABLED\n"),
            "{text}"
        );
        assert!(text.ends_with("drift found: resources were changed outside CloudFormation\n"));
        let verbose = DriftReport {
            verbose: true,
            ..report
        }
        .to_string();
        assert!(verbose.contains("in sync (1):\n  Fn  "), "{verbose}");
    }
}
