//! Exit status as a type, following Terraform's `-detailed-exitcode`: 0 ok or nothing to do,
//! 1 error or invalid input, 2 something found (drift, pending changes) when asked to fail on it.

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 0: done, valid, or nothing to do.
    Ok,
    /// 1: an error, or input that is not valid.
    Failed,
    /// 2: something found that the caller asked to fail on (`--fail`).
    Found,
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> Self {
        Self::from(match status {
            Status::Ok => 0,
            Status::Failed => 1,
            Status::Found => 2,
        })
    }
}
