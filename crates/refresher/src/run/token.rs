//! One due token: re-read it, decide whether to refresh, claim it, call the provider with retries.
//!
//! The `GetItem` here is the read the claim and the later conditional write are checked against.
//! A token that another run (or the app) refreshed since the Query shows a later `expiresAt` and is
//! skipped; one that another refresher is refreshing now carries its claim and is skipped too, so
//! a sibling never spends the same rotating refresh token twice.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::claim;
use super::gate::ProviderRun;
use super::outcome::{self, Step};
use super::{Done, Run};
use crate::crypto::ItemKey;
use crate::providers::{ProviderError, Readiness, TokenSecrets, TokenSet, TokenTimes};
use crate::store::{DueToken, StoreError, TokenItem, TokenStatus};

/// Refreshes one token (or decides not to) and signals the outcome.
pub(crate) async fn process(run: &Run, provider: &ProviderRun, due: DueToken) -> Done {
    let _slot = provider.slot().await;
    let step = decide(run, provider, &due).await;
    let done = outcome::finish(run, &due, step).await;
    outcome::signal(run, &done).await;
    done
}

/// The item to refresh, read again (the read the conditional write is checked against), or the
/// step that says why not.
async fn current_item(
    run: &Run,
    provider: &ProviderRun,
    due: &DueToken,
) -> Result<TokenItem, Step> {
    if due.status != TokenStatus::Active {
        return Err(Step::skip(due.status.as_str()));
    }
    if due.expires_at.is_none() {
        return Err(Step::MissingExpiration);
    }
    if !run.has_time() {
        return Err(Step::skip("out_of_time"));
    }
    if run.dry {
        return Err(Step::skip("dry_run"));
    }
    let item = match run.deps.store.get(&due.user_id, &due.platform).await {
        Ok(Some(item)) => item,
        Ok(None) => return Err(Step::skip("gone")),
        Err(err @ StoreError::Malformed(_)) => return Err(Step::fail("malformed_item", &err)),
        Err(err) => return Err(Step::fail("store_read", &err)),
    };
    if item.status != TokenStatus::Active {
        return Err(Step::skip(item.status.as_str()));
    }
    if claim::held_by_another(run, &item) {
        return Err(Step::skip("claimed"));
    }
    let Some(expires_at) = item.expires_at else {
        return Err(Step::MissingExpiration);
    };
    if expires_at > run.now() + provider.window_seconds {
        // Refreshed since the Query (another run, or the user reconnected).
        return Err(Step::skip("not_due"));
    }
    Ok(item)
}

async fn decide(run: &Run, provider: &ProviderRun, due: &DueToken) -> Step {
    match current_item(run, provider, due).await {
        Ok(item) => attempt(run, provider, item).await,
        Err(step) => step,
    }
}

/// Refreshes `item` as read (the schedule's due check, or the token API's, already passed):
/// open its tokens, check the refresh token's known lifetime, claim it, call the provider.
pub(crate) async fn attempt(run: &Run, provider: &ProviderRun, item: TokenItem) -> Step {
    let secrets = match open(run, &item).await {
        Ok(secrets) => secrets,
        Err(reason) => return Step::Failed(reason),
    };
    let times = TokenTimes {
        expires_at: item.expires_at,
        refresh_expires_at: item.refresh_expires_at,
        issued_at: item.last_refresh_at,
    };
    match provider.adapter.readiness(&times, run.now()) {
        Readiness::Ready => {}
        Readiness::NotYet { .. } => return Step::skip("not_yet"),
        Readiness::Expired => {
            return Step::Reauth {
                item: Box::new(item),
                reason: "refresh_token_expired",
            };
        }
    }
    if let Err(step) = claim::take(run, &item).await {
        return step;
    }
    let (result, attempts) = match call(run, provider, &secrets).await {
        // A set was lost this run: spending another refresh token could lose it too.
        Called::Halted => {
            claim::release(run, &item).await;
            return Step::skip("store_unavailable");
        }
        Called::Sent(result, attempts) => (result, attempts),
    };
    if attempts == 0 {
        // Nothing was sent: the token is free for the next refresher (a write below is fine too).
        claim::release(run, &item).await;
        if matches!(result, Err(ProviderError::Transient { .. })) {
            return Step::skip("out_of_time");
        }
    }
    Step::Provider {
        item: Box::new(item),
        attempts,
        result,
        secrets,
    }
}

/// Decrypts the item's tokens; the reason names what failed, never a value.
async fn open(run: &Run, item: &TokenItem) -> Result<TokenSecrets, String> {
    let key = ItemKey {
        user_id: &item.user_id,
        platform: &item.platform,
    };
    let Some(stored) = &item.access_token else {
        return Err("no_access_token".to_owned());
    };
    let access = run.keys.read(stored, key).await.map_err(|err| {
        tracing::error!(event = "token_decrypt_failed", user_id = %item.user_id, platform = %item.platform, error = %err);
        "decrypt".to_owned()
    })?;
    let refresh = match &item.refresh_token {
        Some(stored) => Some(run.keys.read(stored, key).await.map_err(|err| {
            tracing::error!(event = "token_decrypt_failed", user_id = %item.user_id, platform = %item.platform, error = %err);
            "decrypt".to_owned()
        })?),
        None => None,
    };
    Ok(TokenSecrets {
        access_token: access.value,
        refresh_token: refresh.map(|opened| opened.value),
    })
}

/// What [`call`] did.
enum Called {
    /// The result and the number of requests sent.
    Sent(Result<TokenSet, ProviderError>, u32),
    /// The run halted (a token set was lost) before a request could go out: nothing was spent
    /// but failed attempts, if any.
    Halted,
}

/// Calls the provider, retrying 429/5xx/timeouts with backoff under the rate limit.
async fn call(run: &Run, provider: &ProviderRun, secrets: &TokenSecrets) -> Called {
    let request = match provider.adapter.request(secrets, &provider.credentials) {
        Ok(request) => request,
        Err(err) => return Called::Sent(Err(err), 0),
    };
    let clock = &run.options.clock;
    let mut attempts = 0;
    loop {
        if !provider.request_slot(clock, latest_start(run)).await {
            return Called::Sent(Err(out_of_time()), attempts);
        }
        // Checked before every request, a retry's included: the wait for a slot may be long.
        if run.halted.load(Ordering::SeqCst) {
            return Called::Halted;
        }
        attempts += 1;
        let now = run.now();
        let result = match run.deps.transport.send(&request).await {
            Ok(response) => {
                let hint = provider.adapter.throttle_hint(&response.headers, now);
                if let Some(seconds) = hint.filter(|s| *s > 0) {
                    provider.pause(clock, Duration::from_secs(seconds));
                }
                provider
                    .adapter
                    .parse(response.status, &response.headers, &response.body, now)
            }
            Err(err) => Err(err),
        };
        let err = match result {
            Ok(set) => return Called::Sent(Ok(set), attempts),
            Err(err) if err.is_retryable() => err,
            Err(err) => return Called::Sent(Err(err), attempts),
        };
        let hint = err.retry_after().map(Duration::from_secs);
        let delay = run.options.backoff.delay(attempts, hint, &mut rand::rng());
        let Some(delay) = delay.filter(|d| fits(run, *d)) else {
            return Called::Sent(Err(err), attempts);
        };
        if matches!(err, ProviderError::RateLimited { .. }) {
            provider.pause(clock, delay);
        }
        tracing::info!(event = "token_refresh_retry", platform = %provider.name, attempt = attempts, error = %err, delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
        tokio::time::sleep(delay).await;
    }
}

/// The latest epoch millisecond a request may start at.
fn latest_start(run: &Run) -> Option<u64> {
    let margin = u64::try_from(run.options.safety_margin.as_millis()).unwrap_or(u64::MAX);
    run.options
        .deadline_ms
        .map(|deadline| deadline.saturating_sub(margin))
}

/// Whether waiting `delay` still leaves the safety margin.
fn fits(run: &Run, delay: Duration) -> bool {
    let delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
    latest_start(run)
        .is_none_or(|latest| run.options.clock.now_ms().saturating_add(delay_ms) <= latest)
}

/// The run's time ran out before a request could be sent: like a timeout, nothing was spent.
fn out_of_time() -> ProviderError {
    ProviderError::Transient {
        status: None,
        retry_after: None,
    }
}

impl Step {
    pub(crate) fn skip(reason: &str) -> Self {
        Self::Skipped(reason.to_owned())
    }

    pub(crate) fn fail(reason: &str, err: &dyn std::fmt::Display) -> Self {
        tracing::error!(event = "token_refresh_failed", reason, error = %err);
        Self::Failed(reason.to_owned())
    }
}
