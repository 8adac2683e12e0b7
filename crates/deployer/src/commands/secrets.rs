//! `deployer secrets set --stage S --provider P [--from-file F]` and `deployer secrets list --stage
//! S`: the stage's client credentials secret, `<stack>/provider-credentials`, one JSON object of
//! provider -> `{"client_id", "client_secret"}` (the shape the refresher's `Credentials::parse`
//! reads). Values come from stdin or a file, never from argv (argv shows in `ps` and shell
//! history), and are never printed: errors give positions and field names only.

use std::fmt;
use std::io::{IsTerminal, Read};

use anyhow::{Context, Result, bail};
use refresher::config::{ClientCredentials, CredentialsSecret};
use refresher::secret::SecretString;
use serde::Serialize;
use serde_json::{Map, Value};

use super::Ctx;
use crate::aws::{SecretsManager, secrets};
use crate::cli::{SecretsArgs, SecretsCommand, SecretsListArgs, SecretsSetArgs};
use crate::health::credentials::{ProviderState, states};
use crate::stage::Names;
use crate::{Status, output};

pub(super) async fn run(args: &SecretsArgs, ctx: &Ctx) -> Result<Status> {
    match &args.command {
        SecretsCommand::Set(args) => set(args, ctx).await,
        SecretsCommand::List(args) => list(args, ctx).await,
    }
}

/// How the input may be given, said by every input error.
const USAGE: &str = "give two lines (client id, then client secret) or \
                     {\"client_id\": \"...\", \"client_secret\": \"...\"}";

/// Two non-blank lines (id, then secret) or `{"client_id": .., "client_secret": ..}`.
fn parse_input(text: &str) -> Result<ClientCredentials, String> {
    let text = text.trim();
    if text.starts_with('{') {
        return parse_json_input(text);
    }
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    match lines.as_slice() {
        [id, secret] => Ok(ClientCredentials {
            client_id: (*id).to_owned(),
            client_secret: SecretString::new(*secret),
        }),
        _ => Err(format!(
            "the input has {} non-blank lines; {USAGE}",
            lines.len()
        )),
    }
}

/// `{"client_id": .., "client_secret": ..}`, both non-blank strings, trimmed.
fn parse_json_input(text: &str) -> Result<ClientCredentials, String> {
    let object: Map<String, Value> = serde_json::from_str(text).map_err(|e| {
        format!(
            "the input is not a JSON object (line {}, column {}); {USAGE}",
            e.line(),
            e.column()
        )
    })?;
    let field = |name: &str| {
        object
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.trim().is_empty())
            .map(str::trim)
            .ok_or_else(|| format!("the input has no `{name}` string; {USAGE}"))
    };
    Ok(ClientCredentials {
        client_id: field("client_id")?.to_owned(),
        client_secret: SecretString::new(field("client_secret")?),
    })
}

/// The secret's JSON with `provider`'s entry set; other providers' entries are kept as they are.
fn merge(
    existing: Option<&str>,
    provider: &str,
    creds: &ClientCredentials,
) -> Result<SecretString, String> {
    let mut secret = match existing {
        None => CredentialsSecret::default(),
        Some(text) => CredentialsSecret::parse(text)
            .map_err(|what| format!("the secret {what}; fix or delete it first"))?,
    };
    secret.set(provider, creds);
    Ok(secret.to_secret())
}

fn read_input(args: &SecretsSetArgs) -> Result<SecretString> {
    let mut text = String::new();
    if let Some(path) = &args.from_file {
        text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
    } else {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            bail!(
                "pipe the client id and secret on stdin (two lines, or JSON) or pass --from-file; \
                 they are never taken from the command line"
            );
        }
        stdin
            .lock()
            .read_to_string(&mut text)
            .context("cannot read stdin")?;
    }
    Ok(SecretString::new(text))
}

#[derive(Debug, Serialize)]
struct SetReport {
    secret: String,
    provider: String,
    /// `created` or `updated`.
    action: &'static str,
}

impl fmt::Display for SetReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} {}: credentials of `{}` stored",
            self.action, self.secret, self.provider
        )
    }
}

async fn set(args: &SecretsSetArgs, ctx: &Ctx) -> Result<Status> {
    let stage = ctx.load_stage(&args.stage.stage)?;
    stage
        .provider_named(&args.provider)
        .map_err(anyhow::Error::msg)?;
    let creds = parse_input(read_input(args)?.expose()).map_err(anyhow::Error::msg)?;
    let names = stage.names();
    let aws = ctx.aws(&stage).await;
    let client = aws.secretsmanager();
    let existing = secrets::get(&client, &names.credentials_secret).await?;
    let merged = merge(
        existing.as_ref().map(SecretString::expose),
        &args.provider,
        &creds,
    )
    .map_err(|e| anyhow::anyhow!("`{}`: {e}", names.credentials_secret))?;
    let action = write(&client, &names, &merged, existing.is_some()).await?;
    output::note("a running function reads the secret at its next cold start");
    ctx.printer.emit(&SetReport {
        secret: names.credentials_secret,
        provider: args.provider.clone(),
        action,
    })?;
    Ok(Status::Ok)
}

/// Writes the merged secret: a new value of the existing one, else a new secret under the
/// stage's key. Says which it did.
async fn write(
    client: &SecretsManager,
    names: &Names,
    merged: &SecretString,
    exists: bool,
) -> Result<&'static str> {
    if exists {
        secrets::put(client, &names.credentials_secret, merged).await?;
        return Ok("updated");
    }
    secrets::create(client, &names.credentials_secret, &names.key_alias, merged).await?;
    Ok("created")
}

/// Which providers have credentials; never their values.
#[derive(Debug, Serialize)]
struct SecretsList {
    secret: String,
    exists: bool,
    providers: Vec<ProviderState>,
}

impl fmt::Display for SecretsList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let note = if self.exists {
            ""
        } else {
            " (does not exist yet)"
        };
        writeln!(f, "{}{note}", self.secret)?;
        let width = self
            .providers
            .iter()
            .map(|p| p.provider.len())
            .max()
            .unwrap_or(0);
        for p in &self.providers {
            writeln!(f, "  {:<width$}  {}", p.provider, p.state.replace('_', " "))?;
        }
        Ok(())
    }
}

async fn list(args: &SecretsListArgs, ctx: &Ctx) -> Result<Status> {
    let stage = ctx.load_stage(&args.stage.stage)?;
    let name = stage.names().credentials_secret;
    let aws = ctx.aws(&stage).await;
    let secret = secrets::get(&aws.secretsmanager(), &name).await?;
    let providers = states(&stage, secret.as_ref().map(SecretString::expose))
        .map_err(|e| anyhow::anyhow!("`{name}`: {e}"))?;
    let complete = providers
        .iter()
        .all(|p| matches!(p.state, "set" | "not_needed"));
    ctx.printer.emit(&SecretsList {
        secret: name,
        exists: secret.is_some(),
        providers,
    })?;
    if !complete {
        output::note(&format!(
            "set the missing ones with `deployer secrets set --stage {} --provider NAME`",
            stage.name
        ));
    }
    Ok(Status::Ok)
}

#[cfg(test)]
#[path = "secrets_tests.rs"]
mod tests;
