//! `refresh`: make one user's token valid for the caller, through the same claim, provider call,
//! write and recovery path as the schedule (`crate::run`).
//!
//! Concurrent requests for one token coalesce on the claim: the first takes it and calls the
//! provider, the others find it held, wait for its write and answer with its result. A request
//! is satisfied without a provider call when the stored token is valid for long enough, or, when
//! forced, once a successful refresh happened after the caller's token was issued.

use std::sync::Arc;
use std::time::Duration;

use super::answer::{ApiAnswer, ErrorCode};
use super::request::RefreshRequest;
use crate::metrics::{ProviderStats, emf_request_line};
use crate::run::{Deps, Done, Outcome, RunOptions};
use crate::run::{Run, claim, gate::ProviderRun, outcome, token};
use crate::store::{DueToken, StoreError, TokenItem, TokenStatus};

/// How often a waiting request reads the item again while another refresher holds it.
const POLL: Duration = Duration::from_millis(250);

/// Handles one `refresh` request.
pub async fn refresh(deps: Arc<Deps>, request: &RefreshRequest, options: RunOptions) -> ApiAnswer {
    let run = Run::new(deps, options, false);
    if let Some(problem) = run.deps.credentials.unusable().get(&request.platform) {
        tracing::error!(event = "provider_unusable", provider = %request.platform, problem = %problem);
        let key = Some((request.user_id.as_str(), request.platform.as_str()));
        return ApiAnswer::error(key, ErrorCode::Unavailable, problem.clone())
            .with_reason("provider_unusable", false);
    }
    let Some(provider) = ProviderRun::new(&run, &request.platform) else {
        return unknown_platform(&run, request);
    };
    let asked_at = run.now();
    let mut waited = false;
    loop {
        let item = match read(&run, request).await {
            Ok(item) => item,
            Err(answer) => return answer,
        };
        if satisfied(request, &item, asked_at, run.now()) {
            return ApiAnswer::token(&item, false, waited);
        }
        match attempt(&run, &provider, request, item).await {
            Next::Wait if pause(&run).await => waited = true,
            Next::Wait => return busy(request),
            Next::Reread => waited = true,
            Next::Answer(answer) => return answer,
        }
    }
}

/// What a request does after an attempt.
enum Next {
    /// Another refresher holds the token: wait, then read again.
    Wait,
    /// Another refresher's result is stored: read it.
    Reread,
    Answer(ApiAnswer),
}

/// Refreshes `item` unless another refresher holds it.
async fn attempt(
    run: &Run,
    provider: &ProviderRun,
    request: &RefreshRequest,
    item: TokenItem,
) -> Next {
    if claim::held_by_another(run, &item) {
        return Next::Wait;
    }
    let due = DueToken {
        user_id: item.user_id.clone(),
        platform: item.platform.clone(),
        expires_at: item.expires_at,
        version: item.version,
        status: item.status,
    };
    let step = token::attempt(run, provider, item).await;
    if let outcome::Step::Skipped(reason) = &step
        && (reason == "claimed" || reason == "changed")
    {
        // Another refresher got there between the read and the claim.
        return Next::Wait;
    }
    let started_ms = run.options.clock.now_ms();
    let done = outcome::finish(run, &due, step).await;
    outcome::signal(run, &done).await;
    metrics(run, &done, started_ms);
    let (result, reason) = (done.result.outcome, done.result.reason.as_str());
    if result == Outcome::Skipped && matches!(reason, "sibling_refreshed" | "gone") {
        // The provider refused a refresh token another refresher had spent.
        return Next::Reread;
    }
    Next::Answer(answer(run, request, result, reason).await)
}

/// The request's EMF line (the function's log group feeds the stage's metric alarms).
fn metrics(run: &Run, done: &Done, started_ms: u64) {
    let mut stats = ProviderStats::default();
    let now_ms = run.options.clock.now_ms();
    done.count(&mut stats, now_ms.saturating_sub(started_ms));
    let config = &run.deps.config;
    let line = emf_request_line(
        &config.metrics_namespace,
        &config.stage,
        &done.result.platform,
        &stats,
        now_ms,
    );
    run.deps.metrics.write_line(&line);
}

fn unknown_platform(run: &Run, request: &RefreshRequest) -> ApiAnswer {
    let configured: Vec<&str> = run
        .deps
        .config
        .providers
        .keys()
        .map(String::as_str)
        .collect();
    ApiAnswer::error(
        Some((request.user_id.as_str(), request.platform.as_str())),
        ErrorCode::UnknownPlatform,
        format!(
            "`{}` is not a provider of stage {}: configured are {}",
            request.platform,
            run.deps.config.stage,
            configured.join(", ")
        ),
    )
}

/// The item as stored, or the error answer for an item that is not a usable token.
async fn read(run: &Run, request: &RefreshRequest) -> Result<TokenItem, ApiAnswer> {
    let key = Some((request.user_id.as_str(), request.platform.as_str()));
    let item = match run
        .deps
        .store
        .get(&request.user_id, &request.platform)
        .await
    {
        Ok(Some(item)) if item.access_token.is_some() => item,
        Ok(_) => {
            return Err(ApiAnswer::error(
                key,
                ErrorCode::NotFound,
                "no token for this user and platform: send the user through the connect flow",
            ));
        }
        Err(err @ StoreError::Malformed(_)) => {
            return Err(ApiAnswer::error(
                key,
                ErrorCode::MalformedItem,
                format!("{err}; `deployer tokens check` names what to fix"),
            ));
        }
        Err(err) => {
            return Err(ApiAnswer::error(
                key,
                ErrorCode::Unavailable,
                err.to_string(),
            ));
        }
    };
    match item.status {
        TokenStatus::Active => Ok(item),
        TokenStatus::NeedsReauth => Err(ApiAnswer::error(
            key,
            ErrorCode::NeedsReauth,
            "the grant is dead: ask the user to connect the account again",
        )),
        TokenStatus::Inactive => Err(ApiAnswer::error(
            key,
            ErrorCode::Inactive,
            "the token was disconnected: the user must connect the account again",
        )),
    }
}

/// Whether the stored token already answers the request.
fn satisfied(request: &RefreshRequest, item: &TokenItem, asked_at: u64, now: u64) -> bool {
    if request.force {
        // A successful refresh since the caller's token: told by its version when the caller
        // gives it (a failure's write moves the version too, but counts `failures`), else by
        // the refresh's time (a second's granularity: one in the request's second counts).
        match request.seen_version {
            Some(seen) => item.version > seen && item.failures == 0,
            None => item.last_refresh_at.is_some_and(|at| at >= asked_at),
        }
    } else {
        item.expires_at
            .is_some_and(|at| at > now.saturating_add(request.min_validity_seconds))
    }
}

/// Waits one poll interval; `false` when the function's time would run out first.
async fn pause(run: &Run) -> bool {
    if !run.has_time_for(POLL) {
        return false;
    }
    tokio::time::sleep(POLL).await;
    true
}

fn busy(request: &RefreshRequest) -> ApiAnswer {
    ApiAnswer::error(
        Some((request.user_id.as_str(), request.platform.as_str())),
        ErrorCode::Busy,
        "another refresher still holds this token: retry in a few seconds",
    )
}

/// The answer for a refresh this request attempted.
async fn answer(run: &Run, request: &RefreshRequest, result: Outcome, reason: &str) -> ApiAnswer {
    let key = Some((request.user_id.as_str(), request.platform.as_str()));
    match result {
        Outcome::Refreshed => match read(run, request).await {
            Ok(item) => ApiAnswer::token(&item, true, false),
            Err(answer) => answer,
        },
        Outcome::NeedsReauth => ApiAnswer::error(
            key,
            ErrorCode::NeedsReauth,
            "the provider refused the grant: ask the user to connect the account again",
        )
        .with_reason(reason, false),
        Outcome::Failed if is_store_failure(reason) => ApiAnswer::error(
            key,
            ErrorCode::Unavailable,
            "the tokens table or the key was not available; the refresher's log has the cause",
        )
        .with_reason(reason, true),
        // `rejected`: the provider refused the stage's client (credentials, configuration).
        Outcome::Failed => ApiAnswer::error(
            key,
            ErrorCode::RefreshFailed,
            "the provider did not refresh the token",
        )
        .with_reason(reason, reason != "rejected"),
        Outcome::Skipped if reason == "out_of_time" => busy(request),
        Outcome::Skipped if reason == "not_yet" => ApiAnswer::error(
            key,
            ErrorCode::RefreshFailed,
            "the provider does not refresh a token this young yet (Instagram: 24 hours); the \
             stored token is still valid",
        )
        .with_reason(reason, false),
        Outcome::Skipped => {
            ApiAnswer::error(key, ErrorCode::Unavailable, "the refresh did not start")
                .with_reason(reason, true)
        }
    }
}

/// Reasons of a refresh that failed on this side of the provider (table, KMS, DLQ).
fn is_store_failure(reason: &str) -> bool {
    reason.starts_with("store") || matches!(reason, "decrypt" | "token_set_lost")
}
