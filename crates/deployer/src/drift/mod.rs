//! `deployer drift` as data: what CloudFormation's own drift detection said, and the deployer's
//! live check of each resource against the rendered template.
//!
//! - [`resolve`]: the template's intrinsics (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`) resolved
//!   from the stack's physical ids, parameters and outputs (pure).
//! - [`compare`]: expected properties vs live ones -> differences (pure).
//! - [`policy`]: policy documents as IAM, SQS and the local stand-in return them (pure).
//! - [`check`]: per resource type, which `aws/` read gives the live properties.

pub mod check;
pub mod compare;
pub mod policy;
mod report;
pub mod resolve;

pub use report::{CfnDrift, CfnResourceDrift, DriftReport};

use serde::Serialize;

/// What the live check found for one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceStatus {
    /// A checked property differs from the template.
    Modified,
    /// The stack lists it, the service does not have it.
    Deleted,
    InSync,
    /// Not compared; `reason` says why.
    NotChecked,
    /// The stack lists it without a physical id: the endpoint skipped it (moto's skipped types;
    /// on real AWS a complete stack has none).
    NotCreatedByEndpoint,
}

impl ResourceStatus {
    /// `modified` and `deleted` are drift; the rest never fail `--fail`.
    pub fn is_drift(self) -> bool {
        matches!(self, Self::Modified | Self::Deleted)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Modified => "modified",
            Self::Deleted => "deleted",
            Self::InSync => "in sync",
            Self::NotChecked => "not checked",
            Self::NotCreatedByEndpoint => "not created by this endpoint",
        }
    }
}

/// One property that differs: values as compact text, `(absent)` when there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub property: String,
    pub expected: String,
    pub actual: String,
}

/// The verdict on one resource of the stack.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceDrift {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: Option<String>,
    pub status: ResourceStatus,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<Difference>,
    /// Why it was not checked, or could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Properties left out of the verdict, and why (unresolvable intrinsics, endpoint quirks).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The live read failed (permissions, endpoint errors): the verdict is unknown.
    #[serde(skip)]
    pub read_error: bool,
}

impl ResourceDrift {
    pub fn new(logical_id: &str, resource_type: &str, physical_id: Option<&str>) -> Self {
        Self {
            logical_id: logical_id.to_owned(),
            resource_type: resource_type.to_owned(),
            physical_id: physical_id.map(str::to_owned),
            status: ResourceStatus::InSync,
            differences: Vec::new(),
            reason: None,
            notes: Vec::new(),
            read_error: false,
        }
    }

    #[must_use]
    pub fn with_status(mut self, status: ResourceStatus, reason: impl Into<String>) -> Self {
        self.status = status;
        self.reason = Some(reason.into());
        self
    }
}
