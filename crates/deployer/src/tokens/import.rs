//! Writing parsed rows as token items through the refresher's own code: its [`KeyCache`] seals the
//! values (one `GenerateDataKey` per import, one `Decrypt` per distinct stored data key) and its
//! [`DynamoStore`] encodes and writes the item in one conditional `PutItem`.
//!
//! Idempotence: an item that already holds the row's tokens (compared after decryption) and
//! metadata is left alone; one that holds other tokens (refreshed since the export, or another
//! grant) is never overwritten. Only an item holding the same tokens with other metadata, in the
//! other format than the stage's, or without a version (an app's own), is updated, at the version
//! read (an app's item without `version` counts as 0).

use anyhow::{Context, Result};
use refresher::crypto::{CryptoError, ItemKey, KeyCache, KeySource, Opened, TokenFormat};
use refresher::store::dynamo::import::{Expect, ImportedItem};
use refresher::store::{DynamoStore, StoreError, TokenItem, TokenStore};

use super::Row;

/// What happened to one good row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    /// Not written; the reason names no value.
    Skipped(String),
}

/// Writes rows to one stage's tokens table, in the stage's format.
pub struct Importer<S> {
    store: DynamoStore,
    keys: KeyCache<S>,
    format: TokenFormat,
    now: u64,
}

impl<S: KeySource> Importer<S> {
    pub fn new(store: DynamoStore, keys: KeyCache<S>, format: TokenFormat, now: u64) -> Self {
        Self {
            store,
            keys,
            format,
            now,
        }
    }

    /// Imports one row. `Err` only for failures that would fail every row (table, KMS, network).
    pub async fn import(&self, row: &Row) -> Result<Outcome> {
        let stored = self
            .store
            .get(&row.user_id, &row.platform)
            .await
            .with_context(|| format!("cannot read the item of line {}", row.line))?;
        let expect = match &stored {
            None => Expect::Absent,
            Some(item) => match self.compare(row, item).await? {
                Compared::Same => return Ok(Outcome::Unchanged),
                Compared::Differ(reason) => return Ok(Outcome::Skipped(reason)),
                Compared::SameTokens => Expect::Version(item.version),
            },
        };
        let item = self.seal(row).await?;
        match self.store.put_imported(&item, expect, self.now).await {
            Ok(()) if expect == Expect::Absent => Ok(Outcome::Created),
            Ok(()) => Ok(Outcome::Updated),
            Err(StoreError::Conflict) => Ok(Outcome::Skipped(
                "the item changed while importing (a refresh ran?); import again".to_owned(),
            )),
            Err(err) => {
                Err(err).with_context(|| format!("cannot write the item of line {}", row.line))
            }
        }
    }

    async fn seal(&self, row: &Row) -> Result<ImportedItem> {
        let key = ItemKey {
            user_id: &row.user_id,
            platform: &row.platform,
        };
        let encrypt = "cannot encrypt with the stage's KMS key";
        let access = self.keys.store(&row.access_token, key, self.format).await;
        let access = access.context(encrypt)?;
        let refresh = match &row.refresh_token {
            Some(refresh) => Some(
                self.keys
                    .store(refresh, key, self.format)
                    .await
                    .context(encrypt)?,
            ),
            None => None,
        };
        Ok(ImportedItem {
            user_id: row.user_id.clone(),
            platform: row.platform.clone(),
            access_token: access,
            refresh_token: refresh,
            expires_at: row.expires_at,
            refresh_expires_at: row.refresh_expires_at,
            status: row.status,
            scope: None,
        })
    }

    async fn compare(&self, row: &Row, item: &TokenItem) -> Result<Compared> {
        let (access, refresh) = match self.open(row, item).await {
            Ok(opened) => opened,
            Err(differ) => return Ok(differ),
        };
        // An Instagram item written before rows could leave the refresh token out holds a copy
        // of its access token there: the same grant, and rewriting it drops the copy.
        let stale_copy = row.refresh_token.is_none()
            && refresh.as_ref().is_some_and(|r| r.value == access.value);
        let same_refresh =
            stale_copy || refresh.as_ref().map(|r| &r.value) == row.refresh_token.as_ref();
        if access.value != row.access_token || !same_refresh {
            return Ok(differ(
                "the stored tokens differ (refreshed since this file was made, or another grant)",
            ));
        }
        let same_meta = item.expires_at == Some(row.expires_at)
            && item.refresh_expires_at == row.refresh_expires_at
            && item.status == row.status;
        let other_format = access.format != self.format
            || refresh.is_some_and(|r| r.format != self.format)
            || item.version == 0;
        Ok(if same_meta && !stale_copy && !other_format {
            Compared::Same
        } else {
            Compared::SameTokens
        })
    }

    /// The stored item's access and refresh tokens, opened; `Err` says why they cannot be
    /// compared (no access token, a token that does not open).
    async fn open(
        &self,
        row: &Row,
        item: &TokenItem,
    ) -> Result<(Opened, Option<Opened>), Compared> {
        let key = ItemKey {
            user_id: &row.user_id,
            platform: &row.platform,
        };
        let Some(access) = &item.access_token else {
            return Err(differ("the stored item has no access token"));
        };
        let unopenable =
            |err: CryptoError| differ(&format!("the stored tokens cannot be opened ({err})"));
        let access = self.keys.read(access, key).await.map_err(unopenable)?;
        let refresh = match &item.refresh_token {
            Some(stored) => Some(self.keys.read(stored, key).await.map_err(unopenable)?),
            None => None,
        };
        Ok((access, refresh))
    }
}

enum Compared {
    /// Tokens and metadata as in the file: nothing to write.
    Same,
    /// The same tokens, other metadata (or the other format, or no version yet): update at the
    /// version read.
    SameTokens,
    /// Other tokens: never overwritten.
    Differ(String),
}

fn differ(reason: &str) -> Compared {
    Compared::Differ(format!("{reason}; not overwritten"))
}
