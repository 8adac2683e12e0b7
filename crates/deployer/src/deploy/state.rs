//! What the deployer does with a stack in each CloudFormation status (pure).

/// The stack's situation, as far as a deploy is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackState {
    /// No stack of that name: create it.
    Absent,
    /// A stack that can take an update.
    Ready,
    /// A failed first create (`ROLLBACK_COMPLETE`) or a change set never executed on a new stack
    /// (`REVIEW_IN_PROGRESS`): nothing to keep; delete it, then create.
    Dead(String),
    /// An operation is running: wait for it, do not start another.
    Busy(String),
    /// Stuck; the message says how to get it moving again.
    Stuck(String),
}

/// Classifies a stack status (`None`: no stack).
pub fn classify(stack: &str, status: Option<&str>) -> StackState {
    let Some(status) = status else {
        return StackState::Absent;
    };
    match status {
        "ROLLBACK_COMPLETE" | "REVIEW_IN_PROGRESS" => StackState::Dead(status.to_owned()),
        "UPDATE_ROLLBACK_FAILED" => StackState::Stuck(format!(
            "{stack} is UPDATE_ROLLBACK_FAILED: a resource could not be rolled back. Fix the resource named in \
             the stack's events, then run `aws cloudformation continue-update-rollback --stack-name {stack}` \
             (add `--resources-to-skip <LogicalId>` for one that cannot be fixed), and deploy again"
        )),
        "DELETE_FAILED" => StackState::Stuck(format!(
            "{stack} is DELETE_FAILED; see its events for the resource that could not be deleted, fix it, \
             then run `deployer destroy` again"
        )),
        "ROLLBACK_FAILED" => StackState::Stuck(format!(
            "{stack} is ROLLBACK_FAILED: delete it (`deployer destroy`, retaining what it says) and deploy again"
        )),
        s if s.ends_with("_IN_PROGRESS") => StackState::Busy(s.to_owned()),
        _ => StackState::Ready,
    }
}

/// Whether a status ends an operation, and whether it ended well.
pub fn outcome(status: &str) -> Option<bool> {
    match status {
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "DELETE_COMPLETE" | "IMPORT_COMPLETE" => Some(true),
        s if s.ends_with("_IN_PROGRESS") => None,
        _ => Some(false),
    }
}

/// CloudFormation's ways of saying a change set has nothing to do.
pub fn is_no_change(reason: &str) -> bool {
    reason.contains("didn't contain changes")
        || reason.contains("No updates are to be performed")
        || reason.contains("No changes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_what_deploy_does() {
        assert_eq!(classify("S", None), StackState::Absent);
        assert_eq!(classify("S", Some("CREATE_COMPLETE")), StackState::Ready);
        assert_eq!(
            classify("S", Some("UPDATE_ROLLBACK_COMPLETE")),
            StackState::Ready
        );
        assert!(matches!(
            classify("S", Some("ROLLBACK_COMPLETE")),
            StackState::Dead(_)
        ));
        assert!(matches!(
            classify("S", Some("REVIEW_IN_PROGRESS")),
            StackState::Dead(_)
        ));
        assert!(matches!(
            classify("S", Some("UPDATE_IN_PROGRESS")),
            StackState::Busy(_)
        ));
        let StackState::Stuck(remedy) = classify("S", Some("UPDATE_ROLLBACK_FAILED")) else {
            panic!()
        };
        assert!(remedy.contains("continue-update-rollback --stack-name S"));
    }

    #[test]
    fn outcomes_and_no_change_reasons() {
        assert_eq!(outcome("UPDATE_COMPLETE"), Some(true));
        assert_eq!(outcome("UPDATE_ROLLBACK_COMPLETE"), Some(false));
        assert_eq!(outcome("CREATE_IN_PROGRESS"), None);
        assert!(is_no_change(
            "The submitted information didn't contain changes. Submit different information to create a change set."
        ));
        assert!(is_no_change("No updates are to be performed."));
        assert!(!is_no_change("Template format error"));
    }
}
