//! A Lambda emulator: runs a packaged `bootstrap` on this machine exactly as Lambda's
//! `provided.al2023` does, through the documented `/2018-06-01/runtime/...` endpoints. This is how
//! `deployer invoke --local` exercises the very artifact that was uploaded (the local stand-in
//! cannot run Lambda), how an operator replays a production run on a laptop, and how `deployer
//! serve` puts the stage's functions behind Lambda's own `Invoke` API for apps on this machine.
//!
//! - `api.rs`: the Runtime API of one instance;
//! - `instance.rs`: one `bootstrap` process with Lambda's environment, serving invocations;
//! - `process.rs`: one invocation on an instance of its own (`invoke --local`);
//! - `pool.rs`: a function's instances, up to its concurrency (`serve`);
//! - `endpoint.rs`: Lambda's `Invoke` API over the pools (`serve`);
//! - `deployed.rs`: the deployed zip and each function's settings, read from the stage's stack.

mod api;
pub mod deployed;
pub mod endpoint;
mod instance;
pub mod pool;
mod process;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

pub use instance::{Ended, LogSink};
pub use process::{Invocation, run};

/// What to run and how.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub binary: PathBuf,
    pub function_name: String,
    pub memory_mb: u32,
    pub timeout: Duration,
    pub region: String,
    /// The function's own environment (from the deployed stack) plus credentials and endpoint.
    pub environment: BTreeMap<String, String>,
}

/// How the invocation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Outcome {
    /// The handler returned this JSON.
    Ok { payload: serde_json::Value },
    /// The handler reported an invocation error.
    Error {
        error_type: String,
        error_message: String,
    },
    /// The runtime reported an init error (before taking the invocation).
    InitError {
        error_type: String,
        error_message: String,
    },
    /// No answer before the deadline: the process was killed, as Lambda does.
    TimedOut { after_ms: u64 },
    /// The process exited without answering.
    Crashed { exit: String },
}
