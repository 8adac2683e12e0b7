//! The token store: the [`TokenStore`] seam over the tokens table, and its DynamoDB implementation
//! in [`dynamo`].
//!
//! The IAM role allows exactly `Query` on the `byExpiry` index, `GetItem` and `UpdateItem` on the table,
//! so that is all this module does: no `Scan`, no `PutItem`, no batch writes. Every write is an
//! `UpdateItem` conditioned on the version read that increments the version (the version rule of
//! `docs/token-store.md`: an app's item without `version` reads as 0 and is written with
//! `attribute_not_exists(version) OR version = :seen`, so it carries version 1 afterwards).
//!
//! Two leases, both conditional `UpdateItem`s that expire if their holder dies:
//! - a **claim** on a token item (`claimOwner`, `claimUntil`): taken at the version read, before
//!   the provider call, by the one refresher that may spend the item's refresh token; the token's
//!   write removes it. It does not change the version, so readers and the version rule do not see
//!   it;
//! - a **provider lock** per provider (`userId='cron'`, `platform='refresh-oauth#<provider>'`):
//!   one scheduled run per provider at a time, so two runs never share out one rate budget twice.
//!   Claims, not locks, are what keep a refresh token from being spent twice.
//!
//! The one exception is [`dynamo::import`], the conditional `PutItem` of `deployer tokens import`,
//! which runs with the operator's credentials, never the function's.
//!
//! **Items without `expiresAt`.** They never appear in the `byExpiry` index (a GSI holds only items
//! that have its sort key), and finding them needs a `Scan`, which the role does not grant. The store
//! therefore reports only what the query surfaces: a row or item whose `expiresAt` is missing (an
//! item rewritten between the `Query` and the `GetItem`) is counted by the run as
//! `MissingExpiration` and logged as `token_missing_expiration`. A refresh whose response carries no
//! lifetime keeps the item's previous `expiresAt` (it stays in the index and due) and is reported
//! the same way, so no write ever drops an item out of the index.

pub mod dynamo;
pub(crate) mod item;

use async_trait::async_trait;

use crate::crypto::{ItemKey, StoredToken};

pub use dynamo::DynamoStore;

/// The lock items' `userId`.
pub const LOCK_USER_ID: &str = "cron";
/// The lock items' `platform` prefix: `refresh-oauth#<provider>`. Releases before per-provider
/// locks used `refresh-oauth` alone for one lock of every provider; that item may still exist.
pub const LOCK_PLATFORM: &str = "refresh-oauth";

/// The `platform` of `provider`'s lock item.
pub fn lock_platform(provider: &str) -> String {
    format!("{LOCK_PLATFORM}#{provider}")
}

/// Whether the key is a lock item's (this release's or an earlier one's), not a token's.
pub fn is_lock_key(user_id: &str, platform: &str) -> bool {
    user_id == LOCK_USER_ID
        && platform
            .strip_prefix(LOCK_PLATFORM)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('#'))
}

/// A refresher's claim on a token item: `owner` may spend its refresh token until `until` (epoch
/// seconds); after that anyone may take the claim over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub owner: String,
    pub until: u64,
}

impl Claim {
    /// Whether someone other than `owner` holds the claim at `now`.
    pub fn blocks(&self, owner: &str, now: u64) -> bool {
        self.owner != owner && self.until >= now
    }
}

/// An item's `status` (DESIGN §4). A missing status reads as `Active`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    Active,
    NeedsReauth,
    Inactive,
}

impl TokenStatus {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::NeedsReauth => "needs_reauth",
            Self::Inactive => "inactive",
        }
    }

    /// Reads a stored value; anything unknown is treated as `Inactive` (never refreshed blindly).
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            None | Some("active") => Self::Active,
            Some("needs_reauth") => Self::NeedsReauth,
            Some(_) => Self::Inactive,
        }
    }
}

/// A row of the due query: keys and what the index projects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueToken {
    pub user_id: String,
    pub platform: String,
    pub expires_at: Option<u64>,
    pub version: u64,
    pub status: TokenStatus,
}

/// A full token item, as `GetItem` returns it. Token values stay as stored (envelope or plaintext).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenItem {
    pub user_id: String,
    pub platform: String,
    pub version: u64,
    pub status: TokenStatus,
    pub expires_at: Option<u64>,
    pub refresh_expires_at: Option<u64>,
    pub last_refresh_at: Option<u64>,
    pub failures: u64,
    /// Granted scopes, as the provider sent them.
    pub scope: Option<String>,
    pub access_token: Option<StoredToken>,
    pub refresh_token: Option<StoredToken>,
    /// A refresh in flight, if any (it may have expired: see [`Claim::blocks`]).
    pub claim: Option<Claim>,
}

impl TokenItem {
    /// The token values the item holds: the access token, then the refresh token, if present.
    pub fn tokens(&self) -> impl Iterator<Item = &StoredToken> {
        [&self.access_token, &self.refresh_token]
            .into_iter()
            .flatten()
    }
}

/// A new token set in the stage's format, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedTokens {
    pub access_token: StoredToken,
    /// The new (rotated) refresh token, or the current one converted to the stage's format;
    /// `None` leaves the stored one as it is.
    pub refresh_token: Option<StoredToken>,
    /// `None` keeps the stored `expiresAt` (the item must not leave the index).
    pub expires_at: Option<u64>,
    pub refresh_expires_at: Option<u64>,
    pub scope: Option<String>,
}

/// What a conditional write changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// A successful refresh: the new set, `failures` reset, `status` active, `lastError` removed.
    Refreshed(SealedTokens),
    /// A failed refresh: `failures` + 1 and `lastError`; `refresh_token` stores a rotated refresh
    /// token salvaged from a malformed success.
    Failed {
        reason: String,
        refresh_token: Option<StoredToken>,
    },
    /// The grant is dead: `status = needs_reauth` and `lastError`.
    NeedsReauth { reason: String },
    /// The same tokens in another format (`deployer tokens migrate`): only the token attributes
    /// (and the version) change; `None` leaves an attribute as it is.
    Converted {
        access_token: Option<StoredToken>,
        refresh_token: Option<StoredToken>,
    },
}

impl Update {
    /// Whether `item` is what this update made of the version `seen`: the version one past it and
    /// the new values in place. Envelopes carry fresh nonces and data keys, and plaintext values
    /// are the tokens the provider just issued, so an equal one is this update's own, never a
    /// sibling's. For a write whose answer was lost (a dropped connection after DynamoDB applied
    /// it), the retry fails its version condition, and this tells "applied earlier" from "another
    /// writer won".
    #[must_use]
    pub fn is_held_by(&self, item: &TokenItem, seen: u64) -> bool {
        let held = |stored: &StoredToken| Some(stored.clone());
        if item.version != seen.saturating_add(1) {
            return false;
        }
        match self {
            Self::Refreshed(sealed) => {
                item.access_token == held(&sealed.access_token)
                    && sealed
                        .refresh_token
                        .as_ref()
                        .is_none_or(|r| item.refresh_token == held(r))
            }
            Self::Failed {
                refresh_token: Some(refresh),
                ..
            } => item.refresh_token == held(refresh),
            Self::Converted {
                access_token,
                refresh_token,
            } => {
                access_token
                    .as_ref()
                    .is_none_or(|a| item.access_token == held(a))
                    && refresh_token
                        .as_ref()
                        .is_none_or(|r| item.refresh_token == held(r))
            }
            // Nothing of its own to recognise: a sibling's failure or re-auth mark looks the same.
            Self::Failed {
                refresh_token: None,
                ..
            }
            | Self::NeedsReauth { .. } => false,
        }
    }
}

/// Why a store call failed. Messages come from the AWS SDK and never hold token values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The item's version is no longer the one read (another writer won), or the item is gone.
    #[error("the item changed since it was read (version condition failed)")]
    Conflict,
    #[error("the tokens table call failed: {0}")]
    Failed(String),
    #[error("the item is malformed: {0}")]
    Malformed(String),
}

/// The tokens table as the run needs it.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Rows of `platform` whose `expiresAt <= before`, all pages.
    async fn due(&self, platform: &str, before: u64) -> Result<Vec<DueToken>, StoreError>;
    /// The full item, `None` when it does not exist.
    async fn get(&self, user_id: &str, platform: &str) -> Result<Option<TokenItem>, StoreError>;
    /// Applies `update` if the item's version is still `seen`; the version becomes `seen + 1`.
    async fn write(
        &self,
        user_id: &str,
        platform: &str,
        seen: u64,
        update: &Update,
        now: u64,
    ) -> Result<(), StoreError>;
    /// Claims the item for `owner` until `until` if its version is still `seen` and no one else
    /// holds a live claim (an expired one is taken over; `owner`'s own is renewed). `Ok(false)`:
    /// the version moved or another claim is live; re-read to tell which.
    async fn claim(
        &self,
        key: ItemKey<'_>,
        seen: u64,
        owner: &str,
        now: u64,
        until: u64,
    ) -> Result<bool, StoreError>;
    /// Drops `owner`'s claim when no provider call was made after all (a claim taken over since
    /// is left to its new owner).
    async fn release(&self, key: ItemKey<'_>, owner: &str) -> Result<(), StoreError>;
    /// Takes `provider`'s lock for `owner` until `lease_until` if it is free or its lease has
    /// passed. `Ok(false)`: another run holds it.
    async fn lock(
        &self,
        provider: &str,
        owner: &str,
        now: u64,
        lease_until: u64,
    ) -> Result<bool, StoreError>;
    /// Releases `provider`'s lock if `owner` still holds it (a stolen lock is left to its new
    /// owner).
    async fn unlock(&self, provider: &str, owner: &str) -> Result<(), StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Envelope;

    fn envelope(nonce: &str) -> Envelope {
        Envelope {
            version: 1,
            key_id: "arn:aws:kms:eu-west-1:123456789012:key/k".to_owned(),
            encrypted_key: "a2V5".to_owned(),
            nonce: nonce.to_owned(),
            ciphertext: "Y2lwaGVy".to_owned(),
        }
    }

    fn item(version: u64, access: &str, refresh: &str) -> TokenItem {
        TokenItem {
            user_id: "u1".to_owned(),
            platform: "tiktok".to_owned(),
            version,
            status: TokenStatus::Active,
            expires_at: Some(1),
            refresh_expires_at: None,
            last_refresh_at: None,
            failures: 0,
            scope: None,
            access_token: Some(StoredToken::Envelope(envelope(access))),
            refresh_token: Some(StoredToken::Envelope(envelope(refresh))),
            claim: None,
        }
    }

    fn refreshed(access: &str, refresh: Option<&str>) -> Update {
        Update::Refreshed(SealedTokens {
            access_token: StoredToken::Envelope(envelope(access)),
            refresh_token: refresh.map(|r| StoredToken::Envelope(envelope(r))),
            expires_at: Some(2),
            refresh_expires_at: None,
            scope: None,
        })
    }

    #[test]
    fn lock_keys_are_recognised_old_and_new() {
        assert_eq!(lock_platform("tiktok"), "refresh-oauth#tiktok");
        assert!(is_lock_key("cron", "refresh-oauth"));
        assert!(is_lock_key("cron", "refresh-oauth#tiktok"));
        assert!(!is_lock_key("cron", "refresh-oauthx"));
        assert!(!is_lock_key("user-1", "refresh-oauth#tiktok"));
    }

    #[test]
    fn a_claim_blocks_others_until_it_expires() {
        let claim = Claim {
            owner: "a".to_owned(),
            until: 100,
        };
        assert!(claim.blocks("b", 100));
        assert!(!claim.blocks("b", 101), "expired");
        assert!(!claim.blocks("a", 50), "its own");
    }

    #[test]
    fn an_item_holding_the_updates_envelopes_one_version_on_holds_it() {
        let update = refreshed("a2", Some("r2"));
        assert!(update.is_held_by(&item(4, "a2", "r2"), 3));
        // The refresh token kept (a provider that does not rotate).
        assert!(refreshed("a2", None).is_held_by(&item(4, "a2", "r1"), 3));
    }

    #[test]
    fn another_writers_item_does_not_hold_it() {
        let update = refreshed("a2", Some("r2"));
        assert!(
            !update.is_held_by(&item(4, "a9", "r9"), 3),
            "a sibling's set"
        );
        assert!(!update.is_held_by(&item(4, "a2", "r9"), 3), "a mixed set");
        assert!(
            !update.is_held_by(&item(5, "a2", "r2"), 3),
            "written again since"
        );
        assert!(!update.is_held_by(&item(3, "a1", "r1"), 3), "not applied");
    }

    #[test]
    fn failures_are_recognised_only_by_what_they_carry() {
        let salvaged = Update::Failed {
            reason: "malformed".to_owned(),
            refresh_token: Some(StoredToken::Envelope(envelope("r2"))),
        };
        assert!(salvaged.is_held_by(&item(2, "a1", "r2"), 1));
        let plain = Update::Failed {
            reason: "server_error".to_owned(),
            refresh_token: None,
        };
        assert!(!plain.is_held_by(&item(2, "a1", "r1"), 1));
        // A re-auth mark carries nothing of its own: a sibling's would look the same.
        let reauth = Update::NeedsReauth {
            reason: "invalid_grant".to_owned(),
        };
        let mut dead = item(2, "a1", "r1");
        dead.status = TokenStatus::NeedsReauth;
        assert!(!reauth.is_held_by(&dead, 1));
    }
}
