//! From a provider's answer to a stored outcome: the conditional write, the recovery path, the
//! `invalid_grant` re-read, and the signals of each outcome.
//!
//! A new token set is sealed and written in one conditional `UpdateItem` before anything else
//! happens (events, metrics). If that write fails after the provider answered, it is retried; if
//! it still fails, the sealed set goes to the DLQ as a recovery record, so a rotated refresh token
//! is never lost. Only if that fails too is the set lost, and `token_set_lost` says so loudly.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{Done, Outcome, Run, TokenResult};
use crate::crypto::{CryptoError, Envelope, ItemKey, StoredToken, TokenFormat};
use crate::events::{AnalyticsRow, EventDetail, RecoveryRecord, TokenEvent};
use crate::providers::{ProviderError, TokenSecrets, TokenSet};
use crate::secret::SecretString;
use crate::store::{DueToken, SealedTokens, StoreError, TokenItem, Update};

/// The reason of a set that could be neither stored nor queued (its own metric and alarm).
pub(crate) const TOKEN_SET_LOST: &str = "token_set_lost";

/// Write attempts after a provider success before the recovery path.
const WRITE_ATTEMPTS: u32 = 3;

/// Where [`super::token`] left a token.
pub(crate) enum Step {
    Skipped(String),
    MissingExpiration,
    Failed(String),
    /// The refresh token is past its known expiry: no call, the user must reconnect.
    Reauth {
        item: Box<TokenItem>,
        reason: &'static str,
    },
    Provider {
        item: Box<TokenItem>,
        attempts: u32,
        result: Result<TokenSet, ProviderError>,
        secrets: TokenSecrets,
    },
}

fn done(due: &DueToken, outcome: Outcome, reason: &str, attempts: u32) -> Done {
    Done {
        result: TokenResult {
            user_id: due.user_id.clone(),
            platform: due.platform.clone(),
            outcome,
            reason: reason.to_owned(),
        },
        missing_expiration: false,
        attempts,
    }
}

pub(crate) async fn finish(run: &Run, due: &DueToken, step: Step) -> Done {
    match step {
        Step::Skipped(reason) => done(due, Outcome::Skipped, &reason, 0),
        Step::Failed(reason) => done(due, Outcome::Failed, &reason, 0),
        Step::MissingExpiration => {
            tracing::warn!(event = "token_missing_expiration", user_id = %due.user_id, platform = %due.platform);
            let mut result = done(due, Outcome::Skipped, "missing_expiration", 0);
            result.missing_expiration = true;
            result
        }
        Step::Reauth { item, reason } => reauth(run, due, &item, reason, 0).await,
        Step::Provider {
            item,
            attempts,
            result: Ok(set),
            secrets,
        } => stored(run, due, &item, &set, &secrets, attempts).await,
        Step::Provider {
            item,
            attempts,
            result: Err(err),
            secrets,
        } => refused(run, due, &item, err, &secrets, attempts).await,
    }
}

/// A provider success: seal, write (retrying), else recover.
async fn stored(
    run: &Run,
    due: &DueToken,
    item: &TokenItem,
    set: &TokenSet,
    secrets: &TokenSecrets,
    attempts: u32,
) -> Done {
    let sealed = match seal(
        run,
        item,
        &set.access_token,
        set.refresh_token.as_ref(),
        secrets,
    )
    .await
    {
        Ok(mut sealed) => {
            sealed.expires_at = set.expires_at;
            sealed.refresh_expires_at = set.refresh_expires_at;
            sealed.scope.clone_from(&set.scope);
            sealed
        }
        Err(err) => return lost(run, due, &err.to_string(), attempts),
    };
    let missing = set.expires_at.is_none();
    if missing {
        // No lifetime in the answer: the stored expiresAt stays, so the item stays in the index.
        tracing::warn!(event = "token_missing_expiration", user_id = %due.user_id, platform = %due.platform, source = "response");
    }
    let mut result = match write(run, item, &Update::Refreshed(sealed.clone())).await {
        Ok(()) => done(due, Outcome::Refreshed, "ok", attempts),
        Err(err) => recover(run, due, item, sealed, &err, attempts).await,
    };
    result.missing_expiration = missing;
    result
}

/// The access token and the refresh token to store, in the stage's format: the new refresh token,
/// or the current one when it is stored in the other format (converted on this write). Sealing is
/// retried: the provider already answered.
async fn seal(
    run: &Run,
    item: &TokenItem,
    access: &SecretString,
    new_refresh: Option<&SecretString>,
    secrets: &TokenSecrets,
) -> Result<SealedTokens, CryptoError> {
    let format = run.deps.config.tokens_format;
    let other_format = item
        .refresh_token
        .as_ref()
        .is_some_and(|stored| stored.format() != format);
    let refresh = new_refresh.or(if other_format {
        secrets.refresh_token.as_ref()
    } else {
        None
    });
    let access_token = sealed_value(run, item, access, format).await?;
    let refresh_token = match refresh {
        Some(value) => Some(sealed_value(run, item, value, format).await?),
        None => None,
    };
    Ok(SealedTokens {
        access_token,
        refresh_token,
        expires_at: None,
        refresh_expires_at: None,
        scope: None,
    })
}

async fn sealed_value(
    run: &Run,
    item: &TokenItem,
    value: &SecretString,
    format: TokenFormat,
) -> Result<StoredToken, CryptoError> {
    match format {
        TokenFormat::Envelope => Ok(StoredToken::Envelope(envelope(run, item, value).await?)),
        TokenFormat::Plaintext => Ok(StoredToken::Plain(value.clone())),
    }
}

/// Seals `value` for `item`, retrying the key source (KMS) a few times.
async fn envelope(
    run: &Run,
    item: &TokenItem,
    value: &SecretString,
) -> Result<Envelope, CryptoError> {
    let key = ItemKey {
        user_id: &item.user_id,
        platform: &item.platform,
    };
    let mut tries = 0;
    loop {
        tries += 1;
        match run.keys.encrypt(value, key).await {
            Ok(envelope) => return Ok(envelope),
            Err(err) if tries >= WRITE_ATTEMPTS => return Err(err),
            Err(_) => tokio::time::sleep(Duration::from_millis(200 * u64::from(tries))).await,
        }
    }
}

/// A value for a recovery record: records always hold envelopes (they travel through SQS and are
/// shown by `deployer dlq`), whatever the stage's format.
async fn recovery_envelope(
    run: &Run,
    item: &TokenItem,
    stored: StoredToken,
) -> Result<Envelope, CryptoError> {
    match stored {
        StoredToken::Envelope(envelope) => Ok(envelope),
        StoredToken::Plain(value) => envelope(run, item, &value).await,
    }
}

/// The conditional write, retried on errors other than a lost version race.
///
/// A failed attempt may still have been applied (DynamoDB wrote the item, the answer was lost on
/// the way back). Then a retry's version condition fails (the SDK's own retry, or ours), or the
/// last attempt fails too; either way a consistent re-read tells whether the item holds this
/// update, and if it does the write succeeded: no recovery record for a set already stored.
async fn write(run: &Run, item: &TokenItem, update: &Update) -> Result<(), StoreError> {
    let mut tries = 0;
    loop {
        tries += 1;
        let result = run
            .deps
            .store
            .write(
                &item.user_id,
                &item.platform,
                item.version,
                update,
                run.now(),
            )
            .await;
        match result {
            Ok(()) => return Ok(()),
            Err(err)
                if (err == StoreError::Conflict || tries >= WRITE_ATTEMPTS)
                    && applied_earlier(run, item, update).await =>
            {
                tracing::info!(event = "token_write_applied_earlier", user_id = %item.user_id, platform = %item.platform, error = %err);
                return Ok(());
            }
            Err(StoreError::Conflict) => return Err(StoreError::Conflict),
            Err(err) if tries >= WRITE_ATTEMPTS => return Err(err),
            Err(err) => {
                tracing::warn!(event = "token_write_retry", user_id = %item.user_id, platform = %item.platform, error = %err);
                tokio::time::sleep(Duration::from_millis(100 << (2 * tries))).await;
            }
        }
    }
}

/// Whether an earlier, unanswered attempt of `update` is what the item now holds.
async fn applied_earlier(run: &Run, item: &TokenItem, update: &Update) -> bool {
    match run.deps.store.get(&item.user_id, &item.platform).await {
        Ok(Some(fresh)) => update.is_held_by(&fresh, item.version),
        Ok(None) | Err(_) => false,
    }
}

/// The write failed after the provider answered: the set goes to the DLQ, as envelopes.
async fn recover(
    run: &Run,
    due: &DueToken,
    item: &TokenItem,
    sealed: SealedTokens,
    err: &StoreError,
    attempts: u32,
) -> Done {
    tracing::error!(event = "token_write_failed", user_id = %item.user_id, platform = %item.platform, error = %err);
    let record = match recovery_record(run, item, sealed).await {
        Ok(record) => record,
        Err(seal_err) => return lost(run, due, &seal_err.to_string(), attempts),
    };
    match run.deps.signals.recovery(&record).await {
        Ok(()) => {
            tracing::warn!(event = "token_recovery_queued", user_id = %item.user_id, platform = %item.platform, seen_version = item.version);
            done(due, Outcome::Failed, "store_write_recovered", attempts)
        }
        Err(send) => lost(run, due, &send.to_string(), attempts),
    }
}

/// The recovery record of `sealed`: its refresh token, or the stored one when none was issued
/// (only if it is an envelope already: a plaintext one stays in the item, which replay keeps).
async fn recovery_record(
    run: &Run,
    item: &TokenItem,
    sealed: SealedTokens,
) -> Result<RecoveryRecord, CryptoError> {
    let current_refresh = match &item.refresh_token {
        Some(StoredToken::Envelope(envelope)) => Some(StoredToken::Envelope(envelope.clone())),
        _ => None,
    };
    let refresh_token = match sealed.refresh_token.or(current_refresh) {
        Some(stored) => Some(recovery_envelope(run, item, stored).await?),
        None => None,
    };
    Ok(RecoveryRecord {
        user_id: item.user_id.clone(),
        platform: item.platform.clone(),
        seen_version: item.version,
        expires_at: sealed.expires_at,
        refresh_expires_at: sealed.refresh_expires_at,
        access_token: recovery_envelope(run, item, sealed.access_token).await?,
        refresh_token,
    })
}

/// A provider issued a set that could be neither stored nor queued: the grant is likely dead now.
/// Said loudly (log, event, analytics row) and the run stops starting refreshes.
fn lost(run: &Run, due: &DueToken, error: &str, attempts: u32) -> Done {
    tracing::error!(event = "token_set_lost", user_id = %due.user_id, platform = %due.platform, error);
    if !run.halted.swap(true, Ordering::SeqCst) {
        tracing::error!(event = "refreshes_halted", run_id = %run.id, reason = "token_set_lost");
    }
    done(due, Outcome::Failed, TOKEN_SET_LOST, attempts)
}

/// A provider refusal: reauth, salvage a rotated refresh token, or count the failure.
async fn refused(
    run: &Run,
    due: &DueToken,
    item: &TokenItem,
    err: ProviderError,
    secrets: &TokenSecrets,
    attempts: u32,
) -> Done {
    tracing::warn!(event = "token_refresh_error", user_id = %due.user_id, platform = %due.platform, attempt = attempts, error = %err);
    if err.needs_reauth() {
        return reauth(run, due, item, err.kind(), attempts).await;
    }
    let reason = err.kind();
    let salvaged = match err {
        ProviderError::Malformed {
            salvaged_refresh_token: Some(token),
            ..
        } => Some(token),
        _ => None,
    };
    let Some(token) = salvaged else {
        let update = Update::Failed {
            reason: reason.to_owned(),
            refresh_token: None,
        };
        if let Err(write_err) = write(run, item, &update).await {
            tracing::warn!(event = "token_failure_not_recorded", user_id = %due.user_id, error = %write_err);
        }
        return done(due, Outcome::Failed, reason, attempts);
    };
    // A rotated refresh token came back in an unusable answer: keep it like a full success.
    let sealed = match seal(run, item, &secrets.access_token, Some(&token), secrets).await {
        Ok(sealed) => sealed,
        Err(seal_err) => return lost(run, due, &seal_err.to_string(), attempts),
    };
    let update = Update::Failed {
        reason: reason.to_owned(),
        refresh_token: sealed.refresh_token.clone(),
    };
    match write(run, item, &update).await {
        Ok(()) => done(due, Outcome::Failed, reason, attempts),
        Err(write_err) => recover(run, due, item, sealed, &write_err, attempts).await,
    }
}

/// `invalid_grant`: a sibling may have refreshed (and rotated) the token; if not, the user must
/// reconnect.
async fn reauth(run: &Run, due: &DueToken, item: &TokenItem, reason: &str, attempts: u32) -> Done {
    match run.deps.store.get(&item.user_id, &item.platform).await {
        Ok(Some(fresh)) if fresh.version != item.version => {
            return done(due, Outcome::Skipped, "sibling_refreshed", attempts);
        }
        Ok(None) => return done(due, Outcome::Skipped, "gone", attempts),
        Ok(Some(_)) | Err(_) => {}
    }
    let update = Update::NeedsReauth {
        reason: reason.to_owned(),
    };
    match write(run, item, &update).await {
        Ok(()) => done(due, Outcome::NeedsReauth, reason, attempts),
        Err(StoreError::Conflict) => done(due, Outcome::Skipped, "sibling_refreshed", attempts),
        Err(err) => {
            tracing::error!(event = "token_reauth_not_recorded", user_id = %due.user_id, error = %err);
            done(due, Outcome::Failed, "store_write", attempts)
        }
    }
}

/// Logs the outcome and, for everything but a skip, sends the event and the analytics row.
pub(crate) async fn signal(run: &Run, done: &Done) {
    let r = &done.result;
    let detail_type = match r.outcome {
        Outcome::Refreshed => {
            tracing::info!(event = "token_refresh_successful", user_id = %r.user_id, platform = %r.platform, attempt = done.attempts);
            "token.refreshed"
        }
        Outcome::Failed => {
            tracing::warn!(event = "token_refresh_failed", user_id = %r.user_id, platform = %r.platform, reason = %r.reason);
            "token.refresh.failed"
        }
        Outcome::NeedsReauth => {
            tracing::warn!(event = "token_reauth_required", user_id = %r.user_id, platform = %r.platform, reason = %r.reason);
            "token.reauth-required"
        }
        Outcome::Skipped => {
            tracing::debug!(event = "token_refresh_skipped", user_id = %r.user_id, platform = %r.platform, reason = %r.reason);
            return;
        }
    };
    if run.dry {
        return;
    }
    let event = TokenEvent {
        detail_type,
        detail: EventDetail {
            user_id: r.user_id.clone(),
            platform: r.platform.clone(),
            reason: r.reason.clone(),
            attempt: done.attempts,
            stage: run.deps.config.stage.clone(),
        },
    };
    let row = AnalyticsRow {
        platform: r.platform.clone(),
        user_id: r.user_id.clone(),
        outcome: r.outcome.as_str().to_owned(),
        reason: r.reason.clone(),
        run_id: run.id.clone(),
        at: run.now(),
    };
    let signals = &run.deps.signals;
    let (sent, recorded) = tokio::join!(signals.event(&event), signals.analytics(&row));
    if let Err(err) = sent {
        tracing::warn!(event = "event_not_sent", user_id = %r.user_id, error = %err);
    }
    if let Err(err) = recorded {
        tracing::warn!(event = "analytics_not_written", user_id = %r.user_id, error = %err);
    }
}
