//! `bootstrap`: the Lambda runtime's entry point. It wires and runs; the logic is in the library
//! (`refresher::handler`).

use std::process::ExitCode;
use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use refresher::handler;

#[tokio::main]
async fn main() -> ExitCode {
    handler::init_tracing();
    let deps = match handler::cold_start().await {
        Ok(deps) => deps,
        Err(err) => {
            // One message naming every problem; Lambda reports the init failure.
            tracing::error!(event = "cold_start_failed", error = %err);
            return ExitCode::FAILURE;
        }
    };
    let service = service_fn(move |event: LambdaEvent<serde_json::Value>| {
        handler::handle(Arc::clone(&deps), event)
    });
    match lambda_runtime::run(service).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(event = "runtime_failed", error = %err);
            ExitCode::FAILURE
        }
    }
}
