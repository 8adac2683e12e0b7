//! The token API (docs/token-api.md): a second function of the stack, built from this crate into
//! the same zip (`REFRESHER_MODE=token-api`), that refreshes one user's token on demand, e.g.
//! right after the provider answered 401. It uses the schedule's own claim, provider call, write
//! and recovery path, so an on-demand refresh never spends a refresh token a run is spending, and
//! answers with the token's state (status, expiry, version), never its values: the caller reads
//! the token again through its reader.

pub mod answer;
pub mod refresh;
pub mod request;
#[cfg(test)]
mod tests;

use std::sync::Arc;

pub use answer::{ApiAnswer, ErrorCode};
pub use request::{
    ApiRequest, Origin, REFRESH_REQUESTED, RefreshRequest, RefreshRequested, StatusRequest,
};

use crate::run::{Deps, RunError, RunOptions};
use crate::status::{self, Window};

/// One invocation of the token API: any JSON in, an answer out (a malformed request is an
/// answer too, `BAD_REQUEST`, not a function error). A `token.refresh-requested` event whose
/// refresh did not happen for a retryable reason fails the invocation instead: nobody reads its
/// answer, and Lambda's retries and then the DLQ are how it is not lost.
pub async fn handle(
    deps: Arc<Deps>,
    input: serde_json::Value,
    options: RunOptions,
) -> Result<ApiAnswer, RunError> {
    match ApiRequest::parse(input) {
        Ok((ApiRequest::Refresh(request), origin)) => {
            let answer = refresh::refresh(deps, &request, options).await;
            log(&request, &answer);
            match &answer {
                ApiAnswer::Error(failure) if origin == Origin::Event && failure.error.retryable => {
                    Err(RunError::RequestNotDone {
                        code: failure.error.code.as_str(),
                        message: failure.error.message.clone(),
                    })
                }
                _ => Ok(answer),
            }
        }
        Ok((ApiRequest::Status(request), _)) => Ok(status_answer(&deps, &request, &options).await),
        Err(message) => {
            tracing::warn!(event = "token_api_bad_request", error = %message);
            Ok(ApiAnswer::error(None, ErrorCode::BadRequest, message))
        }
    }
}

/// The figures of `deployer status --json`, over the last `sinceSeconds`.
async fn status_answer(deps: &Deps, request: &StatusRequest, options: &RunOptions) -> ApiAnswer {
    let now = options.clock.now();
    let window = Window {
        label: format!("{}s", request.since_seconds),
        from: now.saturating_sub(request.since_seconds),
        now,
    };
    let providers: Vec<String> = deps.config.providers.keys().cloned().collect();
    match status::report(
        deps.analytics.as_ref(),
        deps.store.as_ref(),
        &deps.config.stage,
        &providers,
        &window,
    )
    .await
    {
        Ok(report) => {
            tracing::info!(
                event = "token_api_status",
                since_seconds = request.since_seconds
            );
            ApiAnswer::Status(Box::new(answer::StatusAnswer { ok: true, report }))
        }
        Err(err) => {
            tracing::warn!(event = "token_api_status_failed", error = %err);
            ApiAnswer::error(None, ErrorCode::Unavailable, err.to_string())
        }
    }
}

fn log(request: &RefreshRequest, answer: &ApiAnswer) {
    match answer {
        ApiAnswer::Status(_) => {}
        ApiAnswer::Token(state) => tracing::info!(
            event = "token_api_answered", user_id = %request.user_id, platform = %request.platform,
            force = request.force, refreshed = state.refreshed, coalesced = state.coalesced,
        ),
        ApiAnswer::Error(failure) => tracing::warn!(
            event = "token_api_error", user_id = %request.user_id, platform = %request.platform,
            force = request.force, code = ?failure.error.code, reason = ?failure.error.reason,
        ),
    }
}
