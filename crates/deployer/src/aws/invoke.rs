//! Lambda calls of `deployer invoke`: the deployed function's settings (to reproduce its
//! environment locally) and a synchronous remote invocation with the tail of its log.

use std::collections::BTreeMap;

use super::Lambda as Client;
use anyhow::{Context, Result, bail};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, LogType};
use base64::Engine as _;

use super::describe_error;

/// What the local run needs from the deployed function.
#[derive(Debug, Clone)]
pub struct FunctionSettings {
    pub environment: BTreeMap<String, String>,
    pub memory_mb: u32,
    pub timeout_s: u32,
}

pub async fn settings(client: &Client, name: &str) -> Result<FunctionSettings> {
    let config = client
        .0
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("cannot read function {name}: {}", describe_error(&e)))?;
    let environment = config
        .environment()
        .and_then(|e| e.variables())
        .map(|vars| vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    Ok(FunctionSettings {
        environment,
        memory_mb: config
            .memory_size()
            .and_then(|m| u32::try_from(m).ok())
            .unwrap_or(128),
        timeout_s: config
            .timeout()
            .and_then(|t| u32::try_from(t).ok())
            .unwrap_or(3),
    })
}

fn encode(payload: &serde_json::Value) -> Result<Vec<u8>> {
    serde_json::to_vec(payload).context(
        "cannot encode the invocation payload as JSON (a bug: payloads are built from JSON values)",
    )
}

/// The lines of the log tail Lambda returns (base64).
fn log_lines(encoded: &str) -> Result<Vec<String>> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .context("the log tail Lambda returned is not base64")?;
    Ok(String::from_utf8_lossy(&decoded)
        .lines()
        .map(str::to_owned)
        .collect())
}

/// A remote invocation's result.
#[derive(Debug, Clone)]
pub struct Remote {
    /// `Some("Unhandled")` etc. when the function errored.
    pub function_error: Option<String>,
    pub payload: serde_json::Value,
    /// The last 4 KB of the invocation's log, as Lambda returns it.
    pub log_tail: Vec<String>,
}

pub async fn invoke(client: &Client, name: &str, payload: &serde_json::Value) -> Result<Remote> {
    let body = encode(payload)?;
    let out = client
        .0
        .invoke()
        .function_name(name)
        .invocation_type(InvocationType::RequestResponse)
        .log_type(LogType::Tail)
        .payload(Blob::new(body))
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot invoke {name} (lambda:InvokeFunction): {}",
                describe_error(&e)
            )
        })?;
    let bytes = out.payload().map(AsRef::as_ref).unwrap_or_default();
    let payload = serde_json::from_slice(bytes)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned()));
    let log_tail = out
        .log_result()
        .map(log_lines)
        .transpose()?
        .unwrap_or_default();
    if out.status_code() >= 300 {
        bail!(
            "invoking {name} answered HTTP {}; check that the function exists in this region and \
             that the caller may invoke it (lambda:InvokeFunction)",
            out.status_code()
        );
    }
    Ok(Remote {
        function_error: out.function_error().map(str::to_owned),
        payload,
        log_tail,
    })
}

/// Queues an asynchronous invocation (`InvocationType: Event`), as `EventBridge` delivers a
/// scheduled event: Lambda answers 202 once it has accepted the event, and the run's own
/// failures then follow the function's async retry and on-failure destination.
pub async fn invoke_async(client: &Client, name: &str, payload: &serde_json::Value) -> Result<()> {
    let body = encode(payload)?;
    let out = client
        .0
        .invoke()
        .function_name(name)
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(body))
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot invoke {name} (lambda:InvokeFunction): {}",
                describe_error(&e)
            )
        })?;
    if out.status_code() != 202 {
        bail!(
            "Lambda did not accept the event for {name}: HTTP {} instead of 202",
            out.status_code()
        );
    }
    Ok(())
}
