//! [`TokenReader`]: what an app's Rust service calls right before a provider call
//! (`docs/token-store.md`, "Reading"). The TypeScript and Python readers under `clients/` do the
//! same, with the same errors.
//!
//! One consistent `GetItem` per read (never `Query` or `Scan`: the reader policy grants `GetItem`
//! alone). Data keys are cached in memory, bounded by entries and age ([`CacheLimits`]), so steady
//! reads of tokens sealed by one run make one KMS `Decrypt`; concurrent misses of one key share the
//! call, a failed call is not cached.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::AttributeValue;
use tokio::sync::OnceCell;

use crate::crypto::keys::cache_id;
use crate::crypto::{
    CryptoError, DataKey, Envelope, ItemKey, KeySource, StoredToken, TokenFormat, check_version,
    decode, open,
};
use crate::kms::KmsKeySource;
use crate::secret::SecretString;
use crate::store::item::{status, stored_token, strict_string, token_item};
use crate::store::{StoreError, TokenItem, TokenStatus};

/// The environment variable naming the tokens table (`deployer outputs --format env`).
pub const TABLE_ENV: &str = "TokensTableName";
/// The environment variable naming the stage's KMS key; optional, pins `Decrypt` to it.
pub const KEY_ENV: &str = "KmsKeyArn";

/// The attributes a reader fetches (the contract's "Reading"); the refresh token, and whatever
/// else an app keeps in the item, never leaves the table and is never judged.
pub const READ_ATTRIBUTES: [&str; 7] = [
    "userId",
    "platform",
    "accessToken",
    "expiresAt",
    "scope",
    "status",
    "version",
];

/// A token read for use. `Debug` never shows the access token.
#[derive(Clone)]
pub struct Token {
    pub access_token: SecretString,
    /// Epoch seconds; `None` when the item has no `expiresAt` (its validity is unknown).
    pub expires_at: Option<u64>,
    pub scope: Option<String>,
    pub status: TokenStatus,
    /// The item's version (0 for an app's item that has none).
    pub version: u64,
    /// The format the token was stored in.
    pub format: TokenFormat,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("access_token", &"***")
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("status", &self.status)
            .field("version", &self.version)
            .field("format", &self.format)
            .finish()
    }
}

/// Why a token could not be returned. Messages name the item and attribute, never a value.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("no token for user `{user_id}` on `{platform}`: connect the account first")]
    NotFound { user_id: String, platform: String },
    #[error(
        "the grant of user `{user_id}` on `{platform}` is dead: ask the user to reconnect the account"
    )]
    NeedsReauth { user_id: String, platform: String },
    #[error("the token of user `{user_id}` on `{platform}` is inactive (disconnected)")]
    Inactive { user_id: String, platform: String },
    #[error(
        "the token of user `{user_id}` on `{platform}` expires at {expires_at}, within the {min_validity_seconds} s asked for; the refresher renews it on its schedule"
    )]
    Expired {
        user_id: String,
        platform: String,
        expires_at: u64,
        min_validity_seconds: u64,
    },
    #[error("the item of user `{user_id}` on `{platform}` is malformed: {detail}")]
    Malformed {
        user_id: String,
        platform: String,
        detail: String,
    },
    #[error("the token of user `{user_id}` on `{platform}` cannot be decrypted: {detail}")]
    Decryption {
        user_id: String,
        platform: String,
        detail: String,
    },
    #[error("cannot read the tokens table {table}: {detail}")]
    Table { table: String, detail: String },
    #[error("{0}")]
    Configuration(String),
}

impl ReadError {
    /// The stable code every reader uses (TypeScript, Python, Rust).
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "NOT_FOUND",
            Self::NeedsReauth { .. } => "NEEDS_REAUTH",
            Self::Inactive { .. } => "INACTIVE",
            Self::Expired { .. } => "EXPIRED",
            Self::Malformed { .. } => "MALFORMED",
            Self::Decryption { .. } => "DECRYPTION",
            Self::Table { .. } => "TABLE",
            Self::Configuration(_) => "CONFIGURATION",
        }
    }
}

/// Bounds of the data-key cache.
#[derive(Debug, Clone, Copy)]
pub struct CacheLimits {
    pub max_entries: usize,
    pub max_age: Duration,
}

impl Default for CacheLimits {
    /// A run seals with one data key; 100 covers many runs' items, 15 minutes one schedule tick.
    fn default() -> Self {
        Self {
            max_entries: 100,
            max_age: Duration::from_mins(15),
        }
    }
}

/// Reads tokens from a stage's table.
pub struct TokenReader<S = KmsKeySource> {
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
    keys: BoundedKeys<S>,
}

impl TokenReader<KmsKeySource> {
    /// From the environment `deployer outputs --stage S --format env` describes: `TokensTableName`
    /// (required), `KmsKeyArn` (optional), and the standard AWS chain for region, endpoint and
    /// credentials.
    pub async fn from_env() -> Result<Self, ReadError> {
        let vars: HashMap<String, String> = std::env::vars().collect();
        let table = vars
            .get(TABLE_ENV)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                ReadError::Configuration(format!(
                    "{TABLE_ENV} is not set: give the app the stack's outputs (`deployer outputs --stage S --format env`)"
                ))
            })?;
        let key = vars
            .get(KEY_ENV)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let kms = KmsKeySource::new(
            aws_sdk_kms::Client::new(&sdk),
            key.clone().unwrap_or_default(),
            table,
        );
        Ok(Self::new(
            aws_sdk_dynamodb::Client::new(&sdk),
            table,
            kms,
            key,
            CacheLimits::default(),
        ))
    }
}

impl<S: KeySource> TokenReader<S> {
    /// `pinned_key`: when set, every `Decrypt` names it instead of the envelope's `keyId`, so an
    /// envelope sealed under another key fails at KMS.
    pub fn new(
        dynamodb: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        source: S,
        pinned_key: Option<String>,
        limits: CacheLimits,
    ) -> Self {
        Self {
            dynamodb,
            table: table.into(),
            keys: BoundedKeys::new(source, pinned_key, limits),
        }
    }

    /// KMS `Decrypt` calls made so far (the cache's misses).
    pub fn kms_decrypt_calls(&self) -> u64 {
        self.keys.calls.load(Ordering::Relaxed)
    }

    /// The token of `user_id` on `platform`, valid for at least `min_validity_seconds` when the
    /// item records its expiry.
    pub async fn get_token(
        &self,
        user_id: &str,
        platform: &str,
        min_validity_seconds: u64,
    ) -> Result<Token, ReadError> {
        let item = self.read(user_id, platform).await?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let stored = usable(&item, now, min_validity_seconds)?;
        let key = ItemKey { user_id, platform };
        let access_token = match stored {
            StoredToken::Plain(value) => value.clone(),
            StoredToken::Envelope(envelope) => self
                .keys
                .open(envelope, key)
                .await
                .map_err(|err| crypto_error(&item, err))?,
        };
        Ok(Token {
            access_token,
            expires_at: item.expires_at,
            scope: item.scope.clone(),
            status: item.status,
            version: item.version,
            format: stored.format(),
        })
    }

    async fn read(&self, user_id: &str, platform: &str) -> Result<TokenItem, ReadError> {
        let mut request = self
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .key("userId", crate::store::item::s(user_id))
            .key("platform", crate::store::item::s(platform))
            .consistent_read(true);
        let mut projection = Vec::with_capacity(READ_ATTRIBUTES.len());
        for (i, name) in READ_ATTRIBUTES.iter().enumerate() {
            projection.push(format!("#a{i}"));
            request = request.expression_attribute_names(format!("#a{i}"), *name);
        }
        let out = request
            .projection_expression(projection.join(", "))
            .send()
            .await
            .map_err(|err| ReadError::Table {
                table: self.table.clone(),
                detail: DisplayErrorContext(&err).to_string(),
            })?;
        interpret(out.item(), user_id, platform)
    }
}

/// Steps 2 and 3 of the contract's "Reading" on a fetched item, in its order: existence, status,
/// the access token's presence, then the other attributes. Pure, so that every reader's answer
/// for an item can be checked against `tests/vectors/token-items.json`.
fn interpret(
    raw: Option<&HashMap<String, AttributeValue>>,
    user_id: &str,
    platform: &str,
) -> Result<TokenItem, ReadError> {
    let (user, on) = (|| user_id.to_owned(), || platform.to_owned());
    let malformed = |err: StoreError| ReadError::Malformed {
        user_id: user(),
        platform: on(),
        detail: match err {
            StoreError::Malformed(detail) => detail,
            other => other.to_string(),
        },
    };
    let Some(raw) = raw else {
        return Err(ReadError::NotFound {
            user_id: user(),
            platform: on(),
        });
    };
    match status(raw).map_err(malformed)? {
        TokenStatus::Active => {}
        TokenStatus::NeedsReauth => {
            return Err(ReadError::NeedsReauth {
                user_id: user(),
                platform: on(),
            });
        }
        TokenStatus::Inactive => {
            return Err(ReadError::Inactive {
                user_id: user(),
                platform: on(),
            });
        }
    }
    if stored_token(raw, "accessToken")
        .map_err(malformed)?
        .is_none()
    {
        return Err(ReadError::NotFound {
            user_id: user(),
            platform: on(),
        });
    }
    // The refresher reads `scope` leniently (it never decides anything); a reader returns it,
    // so a scope of another type is the writer's mistake to report, as the other readers do.
    strict_string(raw, "scope").map_err(malformed)?;
    token_item(raw).map_err(malformed)
}

/// The item's access token if the item may be used now (pure: status, expiry, presence).
pub fn usable(
    item: &TokenItem,
    now: u64,
    min_validity_seconds: u64,
) -> Result<&StoredToken, ReadError> {
    let ids = || (item.user_id.clone(), item.platform.clone());
    match item.status {
        TokenStatus::Active => {}
        TokenStatus::NeedsReauth => {
            let (user_id, platform) = ids();
            return Err(ReadError::NeedsReauth { user_id, platform });
        }
        TokenStatus::Inactive => {
            let (user_id, platform) = ids();
            return Err(ReadError::Inactive { user_id, platform });
        }
    }
    // No access token is no token (the run lock's item, an app's half-written row): the same
    // answer as a missing item, in every reader, whatever its expiry says.
    let Some(stored) = item.access_token.as_ref() else {
        let (user_id, platform) = ids();
        return Err(ReadError::NotFound { user_id, platform });
    };
    if let Some(expires_at) = item.expires_at
        && expires_at < now.saturating_add(min_validity_seconds.max(1))
    {
        let (user_id, platform) = ids();
        return Err(ReadError::Expired {
            user_id,
            platform,
            expires_at,
            min_validity_seconds,
        });
    }
    Ok(stored)
}

/// Encoding and version problems are the item's; a failed open or KMS refusal is decryption.
fn crypto_error(item: &TokenItem, err: CryptoError) -> ReadError {
    let (user_id, platform) = (item.user_id.clone(), item.platform.clone());
    match err {
        CryptoError::Encoding(field) => ReadError::Malformed {
            user_id,
            platform,
            detail: format!("`accessToken.{field}` is not canonical base64 of the right length"),
        },
        CryptoError::Version(version) => ReadError::Malformed {
            user_id,
            platform,
            detail: format!(
                "`accessToken.version` is {version}: this reader knows envelope version 1; update the reader"
            ),
        },
        other => ReadError::Decryption {
            user_id,
            platform,
            detail: other.to_string(),
        },
    }
}

type Slot = Arc<OnceCell<DataKey>>;

/// Decrypted data keys, bounded by entries and age; one KMS call per missing key.
struct BoundedKeys<S> {
    source: S,
    pinned_key: Option<String>,
    limits: CacheLimits,
    entries: Mutex<HashMap<Vec<u8>, (Instant, Slot)>>,
    calls: AtomicU64,
}

impl<S: KeySource> BoundedKeys<S> {
    fn new(source: S, pinned_key: Option<String>, limits: CacheLimits) -> Self {
        Self {
            source,
            pinned_key,
            limits,
            entries: Mutex::new(HashMap::new()),
            calls: AtomicU64::new(0),
        }
    }

    async fn open(
        &self,
        envelope: &Envelope,
        item: ItemKey<'_>,
    ) -> Result<SecretString, CryptoError> {
        check_version(envelope)?;
        let encrypted = decode("encryptedKey", &envelope.encrypted_key)?;
        let id = cache_id(&encrypted, envelope.is_bound());
        let slot = self.slot(&id);
        let key_id = self.pinned_key.as_deref().unwrap_or(&envelope.key_id);
        let key = slot
            .get_or_try_init(|| {
                self.calls.fetch_add(1, Ordering::Relaxed);
                self.source.decrypt(&encrypted, key_id, envelope.is_bound())
            })
            .await;
        match key {
            Ok(key) => open(key, envelope, item),
            Err(err) => {
                // A refused or failed key takes no place in the cache (and is asked again).
                self.forget(&id);
                Err(err.into())
            }
        }
    }

    fn forget(&self, encrypted: &[u8]) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries
            .get(encrypted)
            .is_some_and(|(_, slot)| !slot.initialized())
        {
            entries.remove(encrypted);
        }
    }

    /// The cell of `encrypted`: the cached one while it is young enough, else a new one (the
    /// oldest entry makes room when the cache is full).
    fn slot(&self, encrypted: &[u8]) -> Slot {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        // A failed KMS call leaves its cell empty, and the next read tries again in it.
        entries.retain(|_, (at, _)| now.duration_since(*at) < self.limits.max_age);
        if let Some((_, slot)) = entries.get(encrypted) {
            return Arc::clone(slot);
        }
        if entries.len() >= self.limits.max_entries.max(1)
            && let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone())
        {
            entries.remove(&oldest);
        }
        let slot = Slot::default();
        entries.insert(encrypted.to_vec(), (now, Arc::clone(&slot)));
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{GeneratedKey, KeySourceError, seal};

    struct FixedKey {
        calls: AtomicU64,
    }

    #[async_trait::async_trait]
    impl KeySource for FixedKey {
        async fn generate_data_key(&self) -> Result<GeneratedKey, KeySourceError> {
            Ok(key())
        }

        async fn decrypt(&self, _: &[u8], _: &str, _: bool) -> Result<DataKey, KeySourceError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Ok(key().plaintext)
        }
    }

    fn key() -> GeneratedKey {
        GeneratedKey {
            plaintext: DataKey::from_slice(&[5; 32]).unwrap(),
            encrypted: vec![1, 2, 3],
            key_id: "arn:aws:kms:us-east-1:123456789012:key/k".to_owned(),
        }
    }

    fn item(status: TokenStatus, expires_at: Option<u64>) -> TokenItem {
        TokenItem {
            user_id: "u".to_owned(),
            platform: "tiktok".to_owned(),
            version: 0,
            status,
            expires_at,
            refresh_expires_at: None,
            last_refresh_at: None,
            failures: 0,
            scope: None,
            access_token: Some(StoredToken::Plain(SecretString::new("plain"))),
            refresh_token: None,
            claim: None,
        }
    }

    #[test]
    fn status_and_expiry_decide_before_any_decryption() {
        let codes =
            |item: &TokenItem, min| usable(item, 1_000, min).map(|_| ()).map_err(|e| e.code());
        assert_eq!(codes(&item(TokenStatus::Active, Some(2_000)), 60), Ok(()));
        assert_eq!(
            codes(&item(TokenStatus::Active, None), 60),
            Ok(()),
            "no expiry: unknown"
        );
        assert_eq!(
            codes(&item(TokenStatus::Active, Some(1_030)), 60),
            Err("EXPIRED")
        );
        assert_eq!(
            codes(&item(TokenStatus::Active, Some(1_000)), 0),
            Err("EXPIRED")
        );
        assert_eq!(
            codes(&item(TokenStatus::NeedsReauth, Some(2_000)), 0),
            Err("NEEDS_REAUTH")
        );
        assert_eq!(
            codes(&item(TokenStatus::Inactive, Some(2_000)), 0),
            Err("INACTIVE")
        );
        let mut empty = item(TokenStatus::Active, Some(2_000));
        empty.access_token = None;
        let err = usable(&empty, 1_000, 0).unwrap_err();
        assert_eq!(err.code(), "NOT_FOUND", "no access token is no token");
        // The run lock's item: no access token, an old expiry: not found, not expired.
        empty.expires_at = Some(0);
        assert_eq!(usable(&empty, 1_000, 0).unwrap_err().code(), "NOT_FOUND");
    }

    #[tokio::test]
    async fn one_kms_call_for_many_reads_and_a_bound_on_entries() {
        let keys = BoundedKeys::new(
            FixedKey {
                calls: AtomicU64::new(0),
            },
            None,
            CacheLimits {
                max_entries: 2,
                max_age: Duration::from_mins(1),
            },
        );
        let item = ItemKey {
            user_id: "u",
            platform: "tiktok",
        };
        let envelope = seal(&key(), &SecretString::new("v"), item).unwrap();
        for _ in 0..100 {
            assert_eq!(keys.open(&envelope, item).await.unwrap().expose(), "v");
        }
        assert_eq!(keys.calls.load(Ordering::SeqCst), 1);
        for blob in [[9u8], [8], [7]] {
            keys.slot(&blob);
        }
        assert!(keys.entries.lock().unwrap().len() <= 2, "bounded");
    }

    #[test]
    fn a_token_never_shows_its_value() {
        let token = Token {
            access_token: SecretString::new("act.secret-value"),
            expires_at: Some(1),
            scope: None,
            status: TokenStatus::Active,
            version: 3,
            format: TokenFormat::Envelope,
        };
        let shown = format!("{token:?}");
        assert!(
            !shown.contains("secret-value") && shown.contains("***"),
            "{shown}"
        );
    }

    /// DynamoDB's typed JSON (as the vector file writes items) as the SDK's attribute values.
    fn attribute(value: &serde_json::Value) -> AttributeValue {
        let (kind, inner) = value.as_object().unwrap().iter().next().unwrap();
        match kind.as_str() {
            "S" => AttributeValue::S(inner.as_str().unwrap().to_owned()),
            "N" => AttributeValue::N(inner.as_str().unwrap().to_owned()),
            "NULL" => AttributeValue::Null(true),
            "M" => AttributeValue::M(
                inner
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), attribute(v)))
                    .collect(),
            ),
            "L" => AttributeValue::L(inner.as_array().unwrap().iter().map(attribute).collect()),
            "SS" => AttributeValue::Ss(
                inner
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_owned())
                    .collect(),
            ),
            other => panic!("the vectors use no DynamoDB type {other}"),
        }
    }

    /// tests/vectors/token-items.json through the reader's own steps: the projection its `GetItem`
    /// asks for, [`interpret`], then [`usable`] at the vector file's clock.
    #[test]
    fn token_item_vectors() {
        let vectors: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/vectors/token-items.json")).unwrap();
        assert_eq!(vectors["format"], "token-items-v1");
        let (user_id, platform) = (
            vectors["userId"].as_str().unwrap(),
            vectors["platform"].as_str().unwrap(),
        );
        let now = vectors["now"].as_u64().unwrap();
        let cases = vectors["cases"].as_array().unwrap();
        assert!(cases.len() >= 30, "the shared vectors");
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let raw: Option<HashMap<String, AttributeValue>> =
                case["item"].as_object().map(|item| {
                    item.iter()
                        .filter(|(k, _)| READ_ATTRIBUTES.contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), attribute(v)))
                        .collect()
                });
            let min = case["minValiditySeconds"].as_u64().unwrap();
            let outcome = interpret(raw.as_ref(), user_id, platform).and_then(|item| {
                usable(&item, now, min).map(|stored| (stored.clone(), item.clone()))
            });
            match (&case["token"], outcome) {
                (serde_json::Value::Object(want), Ok((stored, item))) => {
                    let StoredToken::Plain(value) = stored else {
                        panic!("{name}: not plaintext")
                    };
                    assert!(
                        value.expose() == want["accessToken"].as_str().unwrap(),
                        "{name}: another token"
                    );
                    assert_eq!(item.expires_at, want["expiresAt"].as_u64(), "{name}");
                    assert_eq!(item.scope.as_deref(), want["scope"].as_str(), "{name}");
                    assert_eq!(
                        item.status,
                        TokenStatus::parse(want["status"].as_str()),
                        "{name}"
                    );
                    assert_eq!(item.version, want["version"].as_u64().unwrap(), "{name}");
                }
                (serde_json::Value::Object(_), Err(err)) => panic!("{name}: {err}"),
                (_, Ok(_)) => panic!("{name}: returned a token"),
                (_, Err(err)) => {
                    assert_eq!(err.code(), case["error"].as_str().unwrap(), "{name}: {err}");
                    if let Some(attribute) = case["attribute"].as_str() {
                        assert!(
                            err.to_string().contains(&format!("`{attribute}`")),
                            "{name}: {err}"
                        );
                    }
                }
            }
        }
    }
}
