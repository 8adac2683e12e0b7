//! Lambda reads for the drift check: a function's configuration, shaped like the template's
//! `AWS::Lambda::Function` properties.

use super::Lambda as Client;
use anyhow::{Result, bail};
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::types::{Architecture, Runtime};
use serde_json::{Value, json};

use super::describe_error;

/// The function's configuration, or `None` when Lambda does not have it.
pub async fn function(client: &Client, name: &str) -> Result<Option<Value>> {
    let config = match client
        .0
        .get_function_configuration()
        .function_name(name)
        .send()
        .await
    {
        Ok(config) => config,
        Err(err) if err.code() == Some("ResourceNotFoundException") => return Ok(None),
        Err(err) => bail!("cannot read function {name}: {}", describe_error(&err)),
    };
    let architectures: Vec<&str> = config
        .architectures()
        .iter()
        .map(Architecture::as_str)
        .collect();
    Ok(Some(json!({
        "MemorySize": config.memory_size(),
        "Timeout": config.timeout(),
        "Runtime": config.runtime().map(Runtime::as_str),
        "Handler": config.handler(),
        "Architectures": architectures,
        "Role": config.role(),
        "CodeSha256": config.code_sha256(),
        "KmsKeyArn": config.kms_key_arn(),
        "Environment": {
            "Variables": config.environment().and_then(|e| e.variables()).cloned().unwrap_or_default(),
        },
        "DeadLetterConfig": config.dead_letter_config().map(|d| json!({"TargetArn": d.target_arn()})),
    })))
}

/// The function's resource policy (`GetPolicy`) as JSON text, `None` when it has none. Any other
/// failure is an error: the caller decides whether that means "not checkable here".
pub async fn policy(client: &Client, name: &str) -> Result<Option<String>> {
    match client.0.get_policy().function_name(name).send().await {
        Ok(out) => Ok(out.policy().map(str::to_owned)),
        Err(err) if err.code() == Some("ResourceNotFoundException") => Ok(None),
        Err(err) => bail!(
            "cannot read the resource policy of function {name} (lambda:GetPolicy): {}",
            describe_error(&err)
        ),
    }
}
