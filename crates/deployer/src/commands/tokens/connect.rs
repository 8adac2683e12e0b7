//! `deployer tokens connect --stage S --provider P --user U`: prints the provider's consent URL,
//! receives the redirect on a loopback listener (or a pasted URL), exchanges the code with the
//! app's credentials from the stage's secret, and stores the token set encrypted with status
//! `active`, as the refresher writes items. Token values, codes and client secrets never leave
//! the process: the output has the item's key, version and expiry only.
//!
//! The write is authoritative: the user has just consented, so the new grant replaces whatever
//! the item held (a `needs_reauth` token, another grant), at the version read. A refresh racing
//! the write makes it re-read and write again rather than drop the new tokens.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use refresher::clock::Clock;
use refresher::config::{ClientCredentials, CredentialsEntry, CredentialsSecret};
use refresher::http::{ReqwestTransport, Timeouts, Transport};
use refresher::secret::SecretString;
use url::Url;

use super::grant;
use crate::aws::{Aws, secrets};
use crate::cli::TokensConnectArgs;
use crate::commands::Ctx;
use crate::connect::callback::{self, Listener, Pairs};
use crate::connect::endpoints::{self, AuthorizeRequest, Endpoints};
use crate::connect::exchange::{self, Connected, Exchange, Exchanged};
use crate::connect::pkce::{self, Pkce};
use crate::stage::{Provider, duration};
use crate::{Status, output};

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

    let authorized =
        authorize(args, provider, &endpoints, &creds.client_id, &file, timeout).await?;
    let exchange = Exchange {
        endpoints: &endpoints,
        creds: &creds,
        redirect_uri: &authorized.redirect_uri,
        verifier: authorized.pkce.as_ref().map(|p| &p.verifier),
        user_agent: provider.user_agent.as_deref(),
        auth: provider.auth,
    };
    let connected = redeem(&exchange, provider, &authorized.code).await?;
    let report = grant::store(&aws, &stage, &names.key_alias, args, &connected).await?;
    ctx.printer.emit(&report)?;
    Ok(Status::Ok)
}

/// What comes back from the consent: the code, and what its exchange must repeat (the redirect
/// URI, the PKCE verifier).
struct Authorized {
    code: SecretString,
    redirect_uri: String,
    pkce: Option<Pkce>,
}

/// Shows the consent URL, then takes the code from the redirect that comes back.
async fn authorize(
    args: &TokensConnectArgs,
    provider: &Provider,
    endpoints: &Endpoints,
    client_id: &str,
    stage_file: &Path,
    timeout: u64,
) -> Result<Authorized> {
    let Consent {
        url: consent,
        redirect_uri,
        listener,
        state: expected_state,
        pkce,
    } = consent(args, provider, endpoints, client_id, stage_file).await?;
    output::note(&format!(
        "Open this URL in a browser where `{}` is signed in to {}, and approve:\n\n  {consent}\n",
        args.user, provider.name
    ));
    let pairs = receive(listener, &redirect_uri, timeout).await?;
    let code = callback::read_redirect(&pairs, &expected_state)?;
    Ok(Authorized {
        code,
        redirect_uri,
        pkce,
    })
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
    stage_file: &Path,
) -> Result<Consent> {
    let state = pkce::state();
    let pkce = endpoints::uses_pkce(provider.kind).then(Pkce::generate);
    let (listener, redirect_uri) = listen(args).await?;
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

/// The loopback listener when the redirect comes to this machine, and the redirect URI to send.
async fn listen(args: &TokensConnectArgs) -> Result<(Option<Listener>, String)> {
    let redirect = redirect(args)?;
    let listener = if callback::is_loopback(&redirect) {
        Some(Listener::bind(&redirect).await?)
    } else {
        None
    };
    let redirect_uri = listener
        .as_ref()
        .map_or_else(|| redirect.to_string(), |l| l.redirect_uri().to_string());
    Ok((listener, redirect_uri))
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
