//! The token store: the [`TokenStore`] seam over the tokens table, and its DynamoDB implementation
//! in [`dynamo`].
//!
//! The IAM role allows exactly `Query` on the `byExpiry` index, `GetItem` and `UpdateItem` on the table,
//! so that is all this module does: no `Scan`, no `PutItem`, no batch writes. Every write is an
//! `UpdateItem` conditioned on the version read (`version = :seen`) that increments the version; the
//! run lock is an item of the same table (`userId='cron'`, `platform='refresh-oauth'`) taken and
//! released with conditional `UpdateItem`s.
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
mod item;

use async_trait::async_trait;

use crate::crypto::{Envelope, StoredToken};

pub use dynamo::DynamoStore;

/// The lock item's `userId`.
pub const LOCK_USER_ID: &str = "cron";
/// The lock item's `platform`.
pub const LOCK_PLATFORM: &str = "refresh-oauth";

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

/// A full token item, as `GetItem` returns it. Token values stay encrypted (or legacy plaintext).
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
    pub access_token: Option<StoredToken>,
    pub refresh_token: Option<StoredToken>,
}

/// A new token set, sealed, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedTokens {
    pub access_token: Envelope,
    /// The new (rotated) refresh token, or the current one re-encrypted from legacy plaintext;
    /// `None` leaves the stored one as it is.
    pub refresh_token: Option<Envelope>,
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
        refresh_token: Option<Envelope>,
    },
    /// The grant is dead: `status = needs_reauth` and `lastError`.
    NeedsReauth { reason: String },
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
    /// Takes the run lock for `owner` until `lease_until` if it is free or its lease has passed.
    /// `Ok(false)`: another run holds it.
    async fn lock(&self, owner: &str, now: u64, lease_until: u64) -> Result<bool, StoreError>;
    /// Releases the lock if `owner` still holds it (a stolen lock is left to its new owner).
    async fn unlock(&self, owner: &str) -> Result<(), StoreError>;
}
