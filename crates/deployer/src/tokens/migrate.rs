//! `deployer tokens migrate`: converts items to the stage's token format, one at a time.
//!
//! Each conversion opens the item's tokens, stores them in the target format and writes them with
//! the version rule (`docs/token-store.md`): a refresh that lands in between wins (its write is
//! newer, and already in the stage's format, since the stage's format is the target), and the
//! item is re-read and looked at again. Only the token attributes and the version change. Items
//! already in the target format are left alone, so a migration that stopped (interrupted, or
//! `--max-items`) is resumed by running it again.

use anyhow::{Context, Result};
use refresher::crypto::{
    CryptoError, ENVELOPE_VERSION, ItemKey, KeyCache, KeySource, StoredToken, TokenFormat,
};
use refresher::secret::SecretString;
use refresher::store::{DynamoStore, StoreError, TokenItem, TokenStore, Update};

/// Attempts per item when refreshes keep winning the race.
const ATTEMPTS: usize = 3;

/// What happened to one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Converted {
    /// Written in the target format.
    Converted,
    /// Already in the target format (or holds no token): nothing written.
    AlreadyInFormat,
    /// A token does not open with the stage's key: left as it is; the reason names no value.
    Unreadable(String),
    /// The item kept changing (or disappeared) while it was converted: left for the next run.
    Changed,
}

/// Converts items of one table to one format.
pub struct Migrator<S> {
    store: DynamoStore,
    keys: KeyCache<S>,
    to: TokenFormat,
    now: u64,
}

impl<S: KeySource> Migrator<S> {
    pub fn new(store: DynamoStore, keys: KeyCache<S>, to: TokenFormat, now: u64) -> Self {
        Self {
            store,
            keys,
            to,
            now,
        }
    }

    /// Converts `item` (as a scan saw it: eventually consistent, so it is read again, consistently,
    /// before anything is written). `Err` only for failures that would fail every item (the table
    /// or KMS unreachable or refusing).
    pub async fn convert(&self, item: &TokenItem) -> Result<Converted> {
        if in_format(item, self.to) {
            return Ok(Converted::AlreadyInFormat);
        }
        let Some(mut current) = self.read(item).await? else {
            return Ok(Converted::Changed);
        };
        for _ in 0..ATTEMPTS {
            if in_format(&current, self.to) {
                return Ok(Converted::AlreadyInFormat);
            }
            let update = match self.reencoded(&current).await? {
                Ok(update) => update,
                Err(reason) => return Ok(Converted::Unreadable(reason)),
            };
            let (user, platform) = (&current.user_id, &current.platform);
            let written = self
                .store
                .write(user, platform, current.version, &update, self.now)
                .await;
            match written {
                Ok(()) => return Ok(Converted::Converted),
                Err(StoreError::Conflict) => {}
                Err(err) => {
                    return Err(err).with_context(|| format!("cannot write {user}/{platform}"));
                }
            }
            match self.read(&current).await? {
                Some(fresh) => current = fresh,
                None => return Ok(Converted::Changed),
            }
        }
        Ok(Converted::Changed)
    }

    async fn read(&self, item: &TokenItem) -> Result<Option<TokenItem>> {
        let (user, platform) = (&item.user_id, &item.platform);
        self.store
            .get(user, platform)
            .await
            .with_context(|| format!("cannot read {user}/{platform}"))
    }

    /// The item's tokens in the target format, as an update; the reason when one does not open.
    /// A refusing or unreachable key source fails the whole migration (`Err`), not the item.
    async fn reencoded(&self, item: &TokenItem) -> Result<Result<Update, String>> {
        let key = ItemKey {
            user_id: &item.user_id,
            platform: &item.platform,
        };
        let mut converted = Vec::new();
        for (name, stored) in [
            ("accessToken", &item.access_token),
            ("refreshToken", &item.refresh_token),
        ] {
            let Some(stored) = stored else {
                converted.push(None);
                continue;
            };
            let opened = match self.keys.read(stored, key).await {
                Ok(opened) => opened,
                Err(err @ CryptoError::KeySource(_)) => {
                    return Err(err)
                        .context("the stage's KMS key cannot be used; nothing more was converted");
                }
                Err(err) => {
                    return Ok(Err(format!(
                        "{name} does not open with the stage's key: {err}"
                    )));
                }
            };
            converted.push(Some(self.store_as(&opened.value, key).await?));
        }
        let refresh = converted.pop().flatten();
        let access = converted.pop().flatten();
        Ok(Ok(Update::Converted {
            access_token: access,
            refresh_token: refresh,
        }))
    }

    async fn store_as(&self, value: &SecretString, key: ItemKey<'_>) -> Result<StoredToken> {
        self.keys
            .store(value, key, self.to)
            .await
            .context("cannot encrypt with the stage's KMS key; nothing more was converted")
    }
}

/// Whether every token of `item` is stored in `format`, envelopes in the version this build
/// writes (a version 1 envelope is sealed again: the reader policy opens only version 2's
/// table-bound data keys).
pub fn in_format(item: &TokenItem, format: TokenFormat) -> bool {
    item.tokens().all(|stored| match stored {
        StoredToken::Envelope(envelope) => {
            format == TokenFormat::Envelope && envelope.version == ENVELOPE_VERSION
        }
        StoredToken::Plain(_) => format == TokenFormat::Plaintext,
    })
}

#[cfg(test)]
mod tests {
    use refresher::crypto::Envelope;
    use refresher::store::TokenStatus;

    use super::*;

    fn item(access: Option<StoredToken>, refresh: Option<StoredToken>) -> TokenItem {
        TokenItem {
            user_id: "u".to_owned(),
            platform: "tiktok".to_owned(),
            version: 0,
            status: TokenStatus::Active,
            expires_at: None,
            refresh_expires_at: None,
            last_refresh_at: None,
            failures: 0,
            scope: None,
            access_token: access,
            refresh_token: refresh,
            claim: None,
        }
    }

    #[test]
    fn an_item_is_in_a_format_when_every_token_is() {
        let plain = || Some(StoredToken::Plain(SecretString::new("v")));
        let sealed = || {
            Some(StoredToken::Envelope(Envelope {
                version: 2,
                key_id: "k".to_owned(),
                encrypted_key: "a2V5".to_owned(),
                nonce: "bm9uY2U=".to_owned(),
                ciphertext: "Yw==".to_owned(),
            }))
        };
        assert!(in_format(&item(plain(), plain()), TokenFormat::Plaintext));
        assert!(!in_format(&item(plain(), sealed()), TokenFormat::Plaintext));
        assert!(!in_format(&item(plain(), sealed()), TokenFormat::Envelope));
        assert!(in_format(&item(sealed(), None), TokenFormat::Envelope));
        assert!(
            in_format(&item(None, None), TokenFormat::Envelope),
            "nothing to convert"
        );
        let mut v1 = sealed();
        if let Some(StoredToken::Envelope(envelope)) = &mut v1 {
            envelope.version = 1;
        }
        assert!(
            !in_format(&item(v1, None), TokenFormat::Envelope),
            "sealed again as version 2"
        );
    }
}
