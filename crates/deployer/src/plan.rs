//! What a deploy would change, as data: the change set's resource changes, with the stateful
//! resources whose replacement or removal would lose tokens singled out. Pure: built from what
//! CloudFormation returned, shown as a table or JSON.

use std::fmt;

use serde::Serialize;

/// Resource types whose replacement or removal loses data (tokens, their encryption key).
const STATEFUL_TYPES: [&str; 3] = [
    "AWS::DynamoDB::Table",
    "AWS::KMS::Key",
    "AWS::SecretsManager::Secret",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// `Add`, `Modify`, `Remove`, `Dynamic` or `Import`.
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// `True`, `False` or `Conditional` for a `Modify`; `None` otherwise.
    pub replacement: Option<String>,
    /// Property-level detail where CloudFormation gives it: `Properties.MemorySize`.
    pub details: Vec<String>,
}

impl Change {
    /// One row of a plan: action, logical id, type, what happens to it; a line per detail.
    fn fmt_row(&self, f: &mut fmt::Formatter<'_>, width: usize) -> fmt::Result {
        let replace = match self.replacement.as_deref() {
            Some("True") => "  REPLACES the resource",
            Some("Conditional") => "  may replace the resource",
            _ => "",
        };
        let danger = if self.is_dangerous() {
            "  !! data loss"
        } else {
            ""
        };
        writeln!(
            f,
            "  {:<8} {:<width$}  {}{replace}{danger}",
            self.action, self.logical_id, self.resource_type
        )?;
        for d in &self.details {
            writeln!(f, "  {:<8} {:<width$}    {d}", "", "")?;
        }
        Ok(())
    }

    /// Whether applying this change could destroy a stateful resource's data.
    pub fn is_dangerous(&self) -> bool {
        STATEFUL_TYPES.contains(&self.resource_type.as_str())
            && (self.action == "Remove"
                || matches!(self.replacement.as_deref(), Some("True" | "Conditional")))
    }
}

/// The plan of one deploy.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub stack: String,
    /// `create` for a new stack, `update` for an existing one.
    pub operation: String,
    pub changes: Vec<Change>,
    /// Logical ids of stateful resources the plan would replace or remove.
    pub dangerous: Vec<String>,
}

impl Plan {
    pub fn new(stack: &str, operation: &str, changes: Vec<Change>) -> Self {
        let dangerous = changes
            .iter()
            .filter(|c| c.is_dangerous())
            .map(|c| c.logical_id.clone())
            .collect();
        Self {
            stack: stack.to_owned(),
            operation: operation.to_owned(),
            changes,
            dangerous,
        }
    }

    pub fn is_noop(&self) -> bool {
        self.changes.is_empty()
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.changes.is_empty() {
            return writeln!(f, "{}: no changes", self.stack);
        }
        writeln!(
            f,
            "{} ({}): {} change(s)",
            self.stack,
            self.operation,
            self.changes.len()
        )?;
        let width = self
            .changes
            .iter()
            .map(|c| c.logical_id.len())
            .max()
            .unwrap_or(0);
        for c in &self.changes {
            c.fmt_row(f, width)?;
        }
        if !self.dangerous.is_empty() {
            writeln!(
                f,
                "\n{} would replace or remove {}: the data in them would be lost. Deploy refuses this unless given --allow-replace.",
                self.stack,
                self.dangerous.join(", ")
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(action: &str, id: &str, kind: &str, replacement: Option<&str>) -> Change {
        Change {
            action: action.into(),
            logical_id: id.into(),
            resource_type: kind.into(),
            replacement: replacement.map(Into::into),
            details: vec!["Properties.KeySchema".into()],
        }
    }

    #[test]
    fn replacing_or_removing_stateful_resources_is_dangerous() {
        let plan = Plan::new(
            "S",
            "update",
            vec![
                change(
                    "Modify",
                    "TokensTable",
                    "AWS::DynamoDB::Table",
                    Some("True"),
                ),
                change(
                    "Modify",
                    "AnalyticsTable",
                    "AWS::DynamoDB::Table",
                    Some("False"),
                ),
                change("Remove", "TokensKey", "AWS::KMS::Key", None),
                change(
                    "Modify",
                    "RefresherFunction",
                    "AWS::Lambda::Function",
                    Some("True"),
                ),
                change(
                    "Modify",
                    "Other",
                    "AWS::DynamoDB::Table",
                    Some("Conditional"),
                ),
            ],
        );
        assert_eq!(plan.dangerous, ["TokensTable", "TokensKey", "Other"]);
        let text = plan.to_string();
        assert!(
            text.contains("REPLACES the resource  !! data loss"),
            "{text}"
        );
        assert!(text.contains("--allow-replace"));
    }

    #[test]
    fn an_empty_plan_says_so() {
        let plan = Plan::new("S", "update", Vec::new());
        assert!(plan.is_noop());
        assert_eq!(plan.to_string(), "S: no changes\n");
    }
}
