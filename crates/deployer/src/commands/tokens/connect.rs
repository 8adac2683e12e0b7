//! `deployer tokens connect --stage S --provider P --user U`: prints the provider's consent URL,
//! receives the redirect on a loopback listener (or a pasted URL), exchanges the code with the
//! app's credentials from the stage's secret, and stores the token set encrypted with status
//! `active`, as the refresher writes items. Token values, codes and client secrets never leave
//! the process: the output has the item's key, version and expiry only.
//!
//! The write is authoritative: the user has just consented, so the new grant replaces whatever
//! the item held (a `needs_reauth` token, another grant), at the version read. A refresh racing
//! the write makes it re-read and write again rather than drop the new tokens.

use std::fmt;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use refresher::clock::{Clock, rfc3339};
use refresher::config::{ClientCredentials, CredentialsEntry, CredentialsSecret};
use refresher::crypto::ItemKey;
use refresher::http::{ReqwestTransport, Timeouts, Transport};
use refresher::secret::SecretString;
use refresher::store::dynamo::import::{Expect, ImportedItem};
use refresher::store::{StoreError, TokenStatus, TokenStore};
use serde::Serialize;
use url::Url;

use crate::aws::{Aws, secrets};
use crate::cli::TokensConnectArgs;
use crate::commands::Ctx;
use crate::connect::callback::{self, Listener, Pairs};
use crate::connect::endpoints::{self, AuthorizeRequest, Endpoints};
use crate::connect::exchange::{self, Connected, Exchange, Exchanged};
use crate::connect::pkce::{self, Pkce};
use crate::stage::{self, Provider, duration};
use crate::{Status, output};

/// Writes retried when a refresh changes the item between the read and the write.
const WRITE_ATTEMPTS: u32 = 3;

/// What was stored; never a token value.
#[derive(Debug, Serialize)]
struct ConnectReport {
    user_id: String,
    platform: String,
    table: String,
    status: &'static str,
    version: u64,
    /// The item's status before, `None` when it is new.
    previous_status: Option<&'static str>,
    expires_at: u64,
    expires: String,
    refresh_expires_at: Option<u64>,
    scope: Option<String>,
}

impl fmt::Display for ConnectReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let before = self
            .previous_status
            .map_or_else(|| "new item".to_owned(), |s| format!("was {s}"));
        writeln!(
            f,
            "connected {} at {}: stored {} in {} (version {}, {before}); the access token expires {}",
            self.user_id, self.platform, self.status, self.table, self.version, self.expires
        )
    }
}

pub(super) async fn run(args: &TokensConnectArgs, ctx: &Ctx) -> Result<Status> {
    let stage = ctx.load_stage(&args.stage.stage)?;
    let provider = stage
        .provider_named(&args.provider)
        .map_err(anyhow::Error::msg)?;
    let file = ctx.stage_file(&args.stage.stage);
    let endpoints = Endpoints::of(provider).map_err(|e| anyhow!("{}: {e}", file.display()))?;
    let timeout = duration::parse_duration(&args.timeout).map_err(|e| anyhow!("--timeout: {e}"))?;
    if args.user.trim().is_empty() {
        bail!("--user is empty; give the app's user id, the token item's `userId`");
    }
    let names = stage.names();
    let aws = ctx.aws(&stage).await;
    let creds =
        client_credentials(&aws, &names.credentials_secret, &stage.name, &provider.name).await?;

    let Consent {
        url: consent,
        redirect_uri,
        listener,
        state: expected_state,
        pkce,
    } = consent(args, provider, &endpoints, &creds.client_id, &file).await?;
    output::note(&format!(
        "Open this URL in a browser where `{}` is signed in to {}, and approve:\n\n  {consent}\n",
        args.user, provider.name
    ));
    let pairs = receive(listener, &redirect_uri, timeout).await?;
    let code = callback::read_redirect(&pairs, &expected_state)?;

    let exchange = Exchange {
        endpoints: &endpoints,
        creds: &creds,
        redirect_uri: &redirect_uri,
        verifier: pkce.as_ref().map(|p| &p.verifier),
        user_agent: provider.user_agent.as_deref(),
        auth: provider.auth,
    };
    let connected = redeem(&exchange, provider, &code).await?;
    let report = store(&aws, &stage, &names.key_alias, args, &connected).await?;
    ctx.printer.emit(&report)?;
    Ok(Status::Ok)
}

/// What the consent step needs: the provider's consent URL and, for the redirect that comes
/// back, where it arrives and what it must match (state, PKCE verifier).
struct Consent {
    url: Url,
    redirect_uri: String,
    listener: Option<Listener>,
    state: String,
    pkce: Option<Pkce>,
}

async fn consent(
    args: &TokensConnectArgs,
    provider: &Provider,
    endpoints: &Endpoints,
    client_id: &str,
    stage_file: &std::path::Path,
) -> Result<Consent> {
    let state = pkce::state();
    let pkce = endpoints::uses_pkce(provider.kind).then(Pkce::generate);
    let redirect = redirect(args)?;
    let listener = if callback::is_loopback(&redirect) {
        Some(Listener::bind(&redirect).await?)
    } else {
        None
    };
    let redirect_uri = listener
        .as_ref()
        .map_or_else(|| redirect.to_string(), |l| l.redirect_uri().to_string());
    let scopes = if args.scopes.is_empty() {
        &provider.scopes
    } else {
        &args.scopes
    };
    let url = endpoints::authorize_url(
        endpoints,
        &AuthorizeRequest {
            client_id,
            redirect_uri: &redirect_uri,
            scopes,
            state: &state,
            challenge: pkce.as_ref().map(|p| p.challenge.as_str()),
        },
    )
    .map_err(|e| anyhow!("{}: {e}", stage_file.display()))?;
    Ok(Consent {
        url,
        redirect_uri,
        listener,
        state,
        pkce,
    })
}

/// `--redirect-uri`, else `http://127.0.0.1:<--port or any>/callback`.
fn redirect(args: &TokensConnectArgs) -> Result<Url> {
    match &args.redirect_uri {
        Some(uri) => {
            let url =
                Url::parse(uri).with_context(|| format!("--redirect-uri `{uri}` is not a URL"))?;
            if url.scheme() != "https" && !callback::is_loopback(&url) {
                bail!("--redirect-uri `{uri}` must be https, or http on 127.0.0.1/localhost");
            }
            Ok(url)
        }
        None => Url::parse(&format!(
            "http://127.0.0.1:{}/callback",
            args.port.unwrap_or(0)
        ))
        .context("cannot form the loopback redirect URI"),
    }
}

/// Waits for the browser's redirect, or reads the URL the operator pastes.
async fn receive(listener: Option<Listener>, redirect_uri: &str, timeout: u64) -> Result<Pairs> {
    let Some(mut listener) = listener else {
        output::note(&format!(
            "The redirect goes to {redirect_uri}, which this machine does not serve: after approving, \
             paste the whole address the browser ends on, then press Enter."
        ));
        let line = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).map(|_| line)
        })
        .await
        .context("cannot read stdin")?
        .context("cannot read stdin")?;
        return callback::read_pasted(&line);
    };
    output::note(&format!(
        "Waiting for the redirect to {redirect_uri} (up to {}; Ctrl-C cancels)...",
        duration::format_duration(timeout)
    ));
    match tokio::time::timeout(Duration::from_secs(timeout), listener.next()).await {
        Ok(Some(pairs)) => Ok(pairs),
        Ok(None) => bail!("the redirect listener stopped before the browser came back"),
        Err(_) => bail!(
            "no redirect within {}; run the command again (and approve in the browser), or raise --timeout",
            duration::format_duration(timeout)
        ),
    }
}

/// The app's client id and secret from the stage's credentials secret.
async fn client_credentials(
    aws: &Aws,
    secret_id: &str,
    stage: &str,
    provider: &str,
) -> Result<ClientCredentials> {
    let fix =
        format!("store them with `deployer secrets set --stage {stage} --provider {provider}`");
    let Some(secret) = secrets::get(&aws.secretsmanager(), secret_id).await? else {
        bail!("the stage has no credentials secret `{secret_id}` yet; {fix}");
    };
    let secret = CredentialsSecret::parse(secret.expose())
        .map_err(|what| anyhow!("the secret `{secret_id}` {what}; {fix}"))?;
    match secret.entry(provider) {
        CredentialsEntry::Set(credentials) => Ok(credentials),
        CredentialsEntry::Missing => {
            bail!("the secret `{secret_id}` has no entry for `{provider}`; {fix}")
        }
        CredentialsEntry::Invalid(what) => {
            bail!("the entry of `{provider}` in the secret `{secret_id}` {what}; {fix}")
        }
    }
}

/// Exchanges the code (Instagram: then the short-lived token) for a storable token set.
async fn redeem(
    exchange: &Exchange<'_>,
    provider: &Provider,
    code: &SecretString,
) -> Result<Connected> {
    let transport = ReqwestTransport::new(Timeouts::default())
        .map_err(|_| anyhow!("cannot start the HTTP client"))?;
    let name = &provider.name;
    let token_url = &exchange.endpoints.token;
    let answer = transport
        .send(&exchange.code_request(code))
        .await
        .map_err(|e| anyhow!("cannot reach {name}'s token endpoint {token_url}: {e}"))?;
    let now = Clock::system().now();
    let exchanged = exchange
        .read_code_response(answer.status, &answer.headers, &answer.body, now)
        .map_err(|e| anyhow!("{name} did not exchange the code: {e}"))?;
    let set = match exchanged {
        Exchanged::Tokens(set) => set,
        Exchanged::ShortLived(short) => {
            let request = exchange
                .long_lived_request(&short)
                .context("no long-lived token endpoint is known")?;
            let answer = transport
                .send(&request)
                .await
                .map_err(|e| anyhow!("cannot reach {name}'s long-lived token endpoint: {e}"))?;
            let now = Clock::system().now();
            exchange
                .read_long_lived(answer.status, &answer.headers, &answer.body, now)
                .map_err(|e| anyhow!("{name} did not issue a long-lived token: {e}"))?
        }
    };
    exchange::to_item(provider.kind, set).map_err(|e| anyhow!("{name}: {e}"))
}

/// Seals and writes the token set; a racing write makes it re-read and try again.
/// The grant as the item to write, its tokens in the stage's format.
async fn sealed_item(
    aws: &Aws,
    stage: &stage::Stage,
    key_alias: &str,
    args: &TokensConnectArgs,
    connected: &Connected,
    lost: &str,
) -> Result<ImportedItem> {
    let keys = aws.token_keys(stage);
    let key = ItemKey {
        user_id: &args.user,
        platform: &args.provider,
    };
    let format = stage.tables.tokens.format;
    let encrypt = || format!("cannot encrypt with the stage's KMS key {key_alias}; {lost}");
    let refresh_token = match &connected.refresh_token {
        Some(refresh) => Some(
            keys.store(refresh, key, format)
                .await
                .with_context(encrypt)?,
        ),
        None => None,
    };
    Ok(ImportedItem {
        user_id: args.user.clone(),
        platform: args.provider.clone(),
        access_token: keys
            .store(&connected.access_token, key, format)
            .await
            .with_context(encrypt)?,
        refresh_token,
        expires_at: connected.expires_at,
        refresh_expires_at: connected.refresh_expires_at,
        status: TokenStatus::Active,
        scope: connected.scope.clone(),
    })
}

async fn store(
    aws: &Aws,
    stage: &stage::Stage,
    key_alias: &str,
    args: &TokensConnectArgs,
    connected: &Connected,
) -> Result<ConnectReport> {
    let table = &stage.tables.tokens.name;
    let lost = "the provider issued the tokens but they were not stored; run `tokens connect` again \
                (the new consent replaces this grant)";
    let item = sealed_item(aws, stage, key_alias, args, connected, lost).await?;
    let store = aws.token_store(stage);
    for _ in 0..WRITE_ATTEMPTS {
        let previous = store
            .get(&args.user, &args.provider)
            .await
            .with_context(|| format!("cannot read the item from {table}; {lost}"))?;
        let expect = previous
            .as_ref()
            .map_or(Expect::Absent, |p| Expect::Version(p.version));
        let now = Clock::system().now();
        match store.put_imported(&item, expect, now).await {
            Ok(()) => {
                return Ok(ConnectReport {
                    user_id: args.user.clone(),
                    platform: args.provider.clone(),
                    table: table.clone(),
                    status: TokenStatus::Active.as_str(),
                    version: previous.as_ref().map_or(1, |p| p.version + 1),
                    previous_status: previous.map(|p| p.status.as_str()),
                    expires_at: connected.expires_at,
                    expires: rfc3339(connected.expires_at),
                    refresh_expires_at: connected.refresh_expires_at,
                    scope: connected.scope.clone(),
                });
            }
            Err(StoreError::Conflict) => {}
            Err(err) => return Err(anyhow!("cannot write the item to {table}: {err}; {lost}")),
        }
    }
    bail!("the item kept changing while it was written ({WRITE_ATTEMPTS} attempts); {lost}")
}
