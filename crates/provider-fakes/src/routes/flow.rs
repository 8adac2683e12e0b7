//! The steps every token request goes through, whichever provider it imitates: count it, wait out
//! the latency, apply the next queued fault, enforce the rate limit, authenticate the client, then
//! refresh or redeem a code.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::response::Response;
use tokio::time::sleep;

use crate::app::App;
use crate::codes::{CodeRefusal, Redemption};
use crate::config::Provider;
use crate::faults::Fault;
use crate::limits::Verdict;
use crate::routes::wire::{self, Denial};
use crate::server::ConnKill;
use crate::store::{Issued, Refusal};
use crate::tokens::now_epoch;

/// Client credentials as presented (Basic header or body).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) id: String,
    pub(crate) secret: String,
}

/// The result of a token request, for the provider's route to word.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Already a full answer (a fault or a 429).
    Answered(Response),
    /// Refused; the verdict feeds Reddit's rate-limit headers.
    Denied(Denial, Option<Verdict>),
    /// New tokens.
    Issued(Issued, Option<Verdict>),
}

/// Runs a token request. `credential` is the field holding the token to refresh.
pub(crate) async fn token_request(
    app: &App,
    kill: &ConnKill,
    provider: Provider,
    credentials: Result<Option<Credentials>, Denial>,
    form: &HashMap<String, String>,
    credential: &str,
) -> Outcome {
    let grant_type = form.get("grant_type").map(String::as_str);
    if grant_type == Some("refresh_token") {
        count_refresh(app, provider, form.get(credential).map(String::as_str));
    }
    let drop_answer = match before(app, provider, kill).await {
        Gate::Answer(answer) => return Outcome::Answered(answer),
        Gate::Proceed { drop_answer } => drop_answer,
    };
    let client = credentials.as_ref().ok().and_then(Option::as_ref);
    let verdict = app.rate_check(provider, client.map_or("anonymous", |c| c.id.as_str()));
    if let Some(limited) = verdict.filter(|v| !v.allowed) {
        return Outcome::Answered(wire::rate_limited(provider, limited.reset_secs));
    }
    let result = credentials
        .and_then(|creds| authenticate(app, provider, creds))
        .and_then(|client| match grant_type {
            Some("refresh_token") => refresh(app, provider, form.get(credential)),
            Some("authorization_code") => exchange(app, provider, &client, form),
            Some(_) => Err(Denial::UnsupportedGrantType),
            None => Err(Denial::InvalidRequest("grant_type is missing.")),
        });
    if drop_answer {
        return Outcome::Answered(kill.drop_connection().await);
    }
    match result {
        Ok(issued) => Outcome::Issued(issued, verdict),
        Err(denial) => Outcome::Denied(denial, verdict),
    }
}

/// What the queued fault leaves of a request.
pub(crate) enum Gate {
    /// The fault is the answer.
    Answer(Response),
    /// Process the request; with `drop_answer`, then close the connection instead of answering.
    Proceed { drop_answer: bool },
}

/// Counts a refresh call, and its grant when the presented token is known.
pub(crate) fn count_refresh(app: &App, provider: Provider, token: Option<&str>) {
    let mut inner = app.lock();
    let user = token
        .and_then(|t| inner.store.owner(provider, t))
        .map(str::to_owned);
    inner.counters.refresh_call(provider, user.as_deref());
}

/// Latency, then the next queued fault.
pub(crate) async fn before(app: &App, provider: Provider, kill: &ConnKill) -> Gate {
    let latency = app.latency(provider);
    if !latency.is_zero() {
        sleep(latency).await;
    }
    let fault = {
        let mut inner = app.lock();
        let fault = inner.faults.pop(provider);
        let counts = inner.counters.of(provider);
        if let Some(fault) = &fault {
            counts.faults_injected += 1;
            if matches!(fault, Fault::RateLimit { .. }) {
                counts.rate_limited += 1;
            }
        }
        fault
    };
    let answer = match fault {
        None => return Gate::Proceed { drop_answer: false },
        Some(Fault::LostAnswer) => return Gate::Proceed { drop_answer: true },
        Some(Fault::Slow { ms }) => {
            sleep(Duration::from_millis(ms)).await;
            return Gate::Proceed { drop_answer: false };
        }
        Some(Fault::Status { code }) => wire::status_page(code),
        Some(Fault::RateLimit { retry_after }) => wire::rate_limited(provider, retry_after),
        Some(Fault::Timeout { ms }) => {
            sleep(Duration::from_millis(ms)).await;
            kill.drop_connection().await
        }
        Some(Fault::Reset) => kill.drop_connection().await,
        Some(Fault::Malformed) => wire::malformed(provider),
    };
    Gate::Answer(answer)
}

/// Checks the presented client against the configured one.
fn authenticate(
    app: &App,
    provider: Provider,
    presented: Option<Credentials>,
) -> Result<Credentials, Denial> {
    let config = app.provider(provider);
    match presented {
        Some(c) if c.id == config.client_id && c.secret == config.client_secret => Ok(c),
        _ => Err(Denial::InvalidClient),
    }
}

/// Refreshes the grant holding `token`; counts successes and reuse.
pub(crate) fn refresh(
    app: &App,
    provider: Provider,
    token: Option<&String>,
) -> Result<Issued, Denial> {
    let token = token.ok_or(Denial::InvalidRequest("The refresh token is missing."))?;
    let mut inner = app.lock();
    let result = inner
        .store
        .refresh(provider, token, app.provider(provider), now_epoch());
    let counts = inner.counters.of(provider);
    match result {
        Ok(issued) => {
            counts.refreshed += 1;
            Ok(issued)
        }
        Err(refusal) => {
            if refusal == Refusal::Reused {
                counts.reuse_detected += 1;
            }
            Err(Denial::InvalidGrant(refusal_text(refusal)))
        }
    }
}

/// The `error_description` of a refused refresh.
pub(crate) fn refusal_text(refusal: Refusal) -> &'static str {
    match refusal {
        Refusal::Unknown => "The refresh token is invalid.",
        Refusal::Revoked => "The grant has been revoked.",
        Refusal::Reused => "The refresh token was already used; the grant has been revoked.",
        Refusal::TooYoung => "The access token must be at least 24 hours old to be refreshed.",
        Refusal::Expired => "The token has expired.",
    }
}

/// Redeems an authorization code for a new grant (Instagram: for a short-lived token).
fn exchange(
    app: &App,
    provider: Provider,
    client: &Credentials,
    form: &HashMap<String, String>,
) -> Result<Issued, Denial> {
    let field = |name: &str| form.get(name).map(String::as_str);
    let code = field("code").ok_or(Denial::InvalidRequest("The code is missing."))?;
    let given = Redemption {
        code,
        client_id: &client.id,
        redirect_uri: field("redirect_uri"),
        verifier: field("code_verifier"),
    };
    let mut inner = app.lock();
    let now = Instant::now();
    match inner.codes.redeem(provider, &given, now) {
        Ok(user) if provider == Provider::Instagram => {
            let open_id = format!("instagram-user-{user}");
            Ok(Issued {
                access_token: inner.codes.issue_short_lived(user, now),
                refresh_token: None,
                expires_in: 3_600,
                refresh_expires_in: 0,
                open_id,
            })
        }
        Ok(user) => Ok(inner
            .store
            .create(provider, &user, app.provider(provider), now_epoch())),
        Err(CodeRefusal::Reused { user }) => {
            inner.store.revoke(provider, &user);
            Err(Denial::InvalidGrant(
                "The code was already used; its grant has been revoked.",
            ))
        }
        Err(CodeRefusal::Pkce) => Err(Denial::InvalidGrant("The code_verifier does not match.")),
        Err(CodeRefusal::Invalid) => Err(Denial::InvalidGrant("The code is invalid or expired.")),
    }
}
