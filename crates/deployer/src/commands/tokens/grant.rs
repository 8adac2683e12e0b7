//! The last step of `tokens connect`: the consented grant sealed with the stage's KMS key and
//! written to the token table, replacing whatever the item held at the version read, and the
//! report of what was stored (never a token value).

use std::fmt;

use anyhow::{Context, Result, anyhow, bail};
use refresher::clock::{Clock, rfc3339};
use refresher::crypto::ItemKey;
use refresher::store::dynamo::import::{Expect, ImportedItem};
use refresher::store::{StoreError, TokenItem, TokenStatus, TokenStore};
use serde::Serialize;

use crate::aws::Aws;
use crate::cli::TokensConnectArgs;
use crate::connect::exchange::Connected;
use crate::stage;

/// Writes retried when a refresh changes the item between the read and the write.
const WRITE_ATTEMPTS: u32 = 3;

/// What was stored; never a token value.
#[derive(Debug, Serialize)]
pub(super) struct ConnectReport {
    user_id: String,
    platform: String,
    table: String,
    status: &'static str,
    version: u64,
    /// The item's status before, `None` when it is new.
    previous_status: Option<&'static str>,
    expires_at: u64,
    expires: String,
    refresh_expires_at: Option<u64>,
    scope: Option<String>,
}

impl fmt::Display for ConnectReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let before = self
            .previous_status
            .map_or_else(|| "new item".to_owned(), |s| format!("was {s}"));
        writeln!(
            f,
            "connected {} at {}: stored {} in {} (version {}, {before}); the access token expires {}",
            self.user_id, self.platform, self.status, self.table, self.version, self.expires
        )
    }
}

impl ConnectReport {
    /// The stored item's report: active, one version past `previous` (1 when it is new).
    fn new(
        args: &TokensConnectArgs,
        table: &str,
        previous: Option<TokenItem>,
        connected: &Connected,
    ) -> Self {
        Self {
            user_id: args.user.clone(),
            platform: args.provider.clone(),
            table: table.to_owned(),
            status: TokenStatus::Active.as_str(),
            version: previous.as_ref().map_or(1, |p| p.version + 1),
            previous_status: previous.map(|p| p.status.as_str()),
            expires_at: connected.expires_at,
            expires: rfc3339(connected.expires_at),
            refresh_expires_at: connected.refresh_expires_at,
            scope: connected.scope.clone(),
        }
    }
}

/// Seals and writes the token set; a racing write makes it re-read and try again.
pub(super) async fn store(
    aws: &Aws,
    stage: &stage::Stage,
    key_alias: &str,
    args: &TokensConnectArgs,
    connected: &Connected,
) -> Result<ConnectReport> {
    let table = &stage.tables.tokens.name;
    let lost = "the provider issued the tokens but they were not stored; run `tokens connect` again \
                (the new consent replaces this grant)";
    let item = sealed_item(aws, stage, key_alias, args, connected, lost).await?;
    let store = aws.token_store(stage);
    for _ in 0..WRITE_ATTEMPTS {
        let previous = store
            .get(&args.user, &args.provider)
            .await
            .with_context(|| format!("cannot read the item from {table}; {lost}"))?;
        let expect = previous
            .as_ref()
            .map_or(Expect::Absent, |p| Expect::Version(p.version));
        let now = Clock::system().now();
        match store.put_imported(&item, expect, now).await {
            Ok(()) => return Ok(ConnectReport::new(args, table, previous, connected)),
            Err(StoreError::Conflict) => {}
            Err(err) => return Err(anyhow!("cannot write the item to {table}: {err}; {lost}")),
        }
    }
    bail!("the item kept changing while it was written ({WRITE_ATTEMPTS} attempts); {lost}")
}

/// The grant as the item to write, its tokens in the stage's format.
async fn sealed_item(
    aws: &Aws,
    stage: &stage::Stage,
    key_alias: &str,
    args: &TokensConnectArgs,
    connected: &Connected,
    lost: &str,
) -> Result<ImportedItem> {
    let keys = aws.token_keys(stage);
    let key = ItemKey {
        user_id: &args.user,
        platform: &args.provider,
    };
    let format = stage.tables.tokens.format;
    let encrypt = || format!("cannot encrypt with the stage's KMS key {key_alias}; {lost}");
    let refresh_token = match &connected.refresh_token {
        Some(refresh) => Some(
            keys.store(refresh, key, format)
                .await
                .with_context(encrypt)?,
        ),
        None => None,
    };
    Ok(ImportedItem {
        user_id: args.user.clone(),
        platform: args.provider.clone(),
        access_token: keys
            .store(&connected.access_token, key, format)
            .await
            .with_context(encrypt)?,
        refresh_token,
        expires_at: connected.expires_at,
        refresh_expires_at: connected.refresh_expires_at,
        status: TokenStatus::Active,
        scope: connected.scope.clone(),
    })
}
