//! `deployer dlq replay`'s write: a recovery record's token set put back into the stage's table
//! with the version rule, in the stage's format, or the reason it is kept. A record whose set the
//! item already holds (a write applied whose answer was lost) counts as stored.

use std::time::{SystemTime, UNIX_EPOCH};

use refresher::crypto::{Envelope, ItemKey, KeyCache, StoredToken, TokenFormat};
use refresher::events::RecoveryRecord as Recovery;
use refresher::kms::KmsKeySource;
use refresher::store::{DynamoStore, SealedTokens, StoreError, TokenStore, Update};

/// What a replay did with a record.
#[derive(Debug, PartialEq, Eq)]
pub enum Restore {
    Written,
    /// The item already holds the record's envelopes, one version on.
    AlreadyStored,
}

/// Where replayed records go: the stage's table, in the stage's format.
pub struct Writer {
    store: DynamoStore,
    keys: KeyCache<KmsKeySource>,
    format: TokenFormat,
}

impl Writer {
    pub fn new(store: DynamoStore, keys: KeyCache<KmsKeySource>, format: TokenFormat) -> Self {
        Self {
            store,
            keys,
            format,
        }
    }

    /// Writes a record's token set if its item is still at the version it was based on; the
    /// reason it was kept otherwise.
    pub async fn restore(&self, record: &Recovery) -> Result<Restore, String> {
        let refresh_token = match &record.refresh_token {
            Some(envelope) => Some(self.in_stage_format(record, envelope).await?),
            None => None,
        };
        let update = Update::Refreshed(SealedTokens {
            access_token: self.in_stage_format(record, &record.access_token).await?,
            refresh_token,
            expires_at: record.expires_at,
            refresh_expires_at: record.refresh_expires_at,
            scope: None,
        });
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let store = &self.store;
        match store
            .write(
                &record.user_id,
                &record.platform,
                record.seen_version,
                &update,
                now,
            )
            .await
        {
            Ok(()) => Ok(Restore::Written),
            Err(StoreError::Conflict) => moved_on(store, record, &update).await,
            Err(err) => Err(format!("the write failed, retry later: {err}")),
        }
    }

    /// A record's envelope as the stage stores values: as it is, or opened for a `plaintext`
    /// stage (whose apps read the strings).
    async fn in_stage_format(
        &self,
        record: &Recovery,
        envelope: &Envelope,
    ) -> Result<StoredToken, String> {
        if self.format == TokenFormat::Envelope {
            return Ok(StoredToken::Envelope(envelope.clone()));
        }
        let item = ItemKey {
            user_id: &record.user_id,
            platform: &record.platform,
        };
        self.keys
            .decrypt(envelope, item)
            .await
            .map(StoredToken::Plain)
            .map_err(|err| {
                format!(
                    "the record's tokens cannot be opened for the stage's plaintext format, retry later: {err}"
                )
            })
    }
}

/// Why the version condition failed: the item already holds the record's set (fine), the item's
/// current version, or that it is gone.
async fn moved_on(
    store: &DynamoStore,
    record: &Recovery,
    update: &Update,
) -> Result<Restore, String> {
    Err(match store.get(&record.user_id, &record.platform).await {
        Ok(Some(item)) if update.is_held_by(&item, record.seen_version) => {
            return Ok(Restore::AlreadyStored);
        }
        Ok(Some(item)) => format!(
            "item {}/{} is at version {}, the record is based on version {}: it was written since (kept, not applied)",
            record.user_id, record.platform, item.version, record.seen_version
        ),
        Ok(None) => format!(
            "item {}/{} no longer exists (kept, not applied)",
            record.user_id, record.platform
        ),
        Err(err) => format!(
            "the item changed since version {} (kept, not applied); reading it failed: {err}",
            record.seen_version
        ),
    })
}
