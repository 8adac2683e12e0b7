//! Data keys: the [`KeySource`] seam to KMS and the per-run [`KeyCache`].
//!
//! KMS is called once per run to generate the data key that seals new values, and once per distinct
//! encrypted data key to open stored values, not once per token (DESIGN §4). The cache holds
//! plaintext keys only in memory for the run, wrapped in [`DataKey`] (zeroed on drop, `***` in
//! `Debug`). Concurrent callers share one in-flight KMS call per key; a failed call is not cached,
//! so the next token tries again.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use tokio::sync::OnceCell;
use zeroize::Zeroizing;

use super::{
    CryptoError, Envelope, ItemKey, Opened, StoredToken, TokenFormat, check_version, decode, open,
    seal,
};
use crate::secret::SecretString;

/// A plaintext AES-256 data key: 32 bytes, zeroed on drop, `***` in `Debug`.
#[derive(Clone)]
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    /// Takes a key from KMS's `Plaintext` blob; anything but 32 bytes is refused.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CryptoError::KeyLength(bytes.len()))?;
        Ok(Self(Zeroizing::new(key)))
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        self.0.as_slice()
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// What `GenerateDataKey` returns.
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    pub plaintext: DataKey,
    /// `CiphertextBlob`: safe to store, only KMS can open it.
    pub encrypted: Vec<u8>,
    /// The key's ARN as KMS reports it.
    pub key_id: String,
}

/// A failed KMS call. The message comes from KMS and never holds key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct KeySourceError {
    pub message: String,
    /// Throttling and 5xx are worth retrying; access denied or a disabled key are not.
    pub retryable: bool,
}

/// Where data keys come from: KMS in production (implemented with the AWS wiring), fakes in tests.
#[async_trait]
pub trait KeySource: Send + Sync {
    /// `GenerateDataKey` (`AES_256`) under the configured key.
    async fn generate_data_key(&self) -> Result<GeneratedKey, KeySourceError>;
    /// `Decrypt` of an encrypted data key. `key_id` comes from the envelope; KMS recommends passing
    /// it so a blob for another key fails fast. `bound`: the key was generated under the table's
    /// encryption context (envelope version 2), which `Decrypt` must then name too.
    async fn decrypt(
        &self,
        encrypted_key: &[u8],
        key_id: &str,
        bound: bool,
    ) -> Result<DataKey, KeySourceError>;
}

#[async_trait]
impl<T: KeySource + ?Sized> KeySource for Arc<T> {
    async fn generate_data_key(&self) -> Result<GeneratedKey, KeySourceError> {
        (**self).generate_data_key().await
    }

    async fn decrypt(
        &self,
        encrypted_key: &[u8],
        key_id: &str,
        bound: bool,
    ) -> Result<DataKey, KeySourceError> {
        (**self).decrypt(encrypted_key, key_id, bound).await
    }
}

/// A data key's place in a cache: its encrypted bytes and whether it is bound to the table's
/// context, so an envelope whose version was changed never opens with a key cached for the other.
pub(crate) fn cache_id(encrypted: &[u8], bound: bool) -> Vec<u8> {
    let mut id = Vec::with_capacity(encrypted.len() + 1);
    id.push(u8::from(bound));
    id.extend_from_slice(encrypted);
    id
}

/// Data keys for one run: one generate call, one decrypt per distinct encrypted key.
pub struct KeyCache<S> {
    source: S,
    active: OnceCell<GeneratedKey>,
    opened: Mutex<HashMap<Vec<u8>, Arc<OnceCell<DataKey>>>>,
}

impl<S: KeySource> KeyCache<S> {
    pub fn new(source: S) -> Self {
        Self {
            source,
            active: OnceCell::new(),
            opened: Mutex::new(HashMap::new()),
        }
    }

    /// Seals a value for `item` under this run's data key (generated on first use).
    pub async fn encrypt(
        &self,
        value: &SecretString,
        item: ItemKey<'_>,
    ) -> Result<Envelope, CryptoError> {
        let key = self.active.get_or_try_init(|| self.generate()).await?;
        seal(key, value, item)
    }

    /// Opens an envelope read from `item`.
    pub async fn decrypt(
        &self,
        envelope: &Envelope,
        item: ItemKey<'_>,
    ) -> Result<SecretString, CryptoError> {
        check_version(envelope)?;
        let encrypted = decode("encryptedKey", &envelope.encrypted_key)?;
        let cell = self.cell(&cache_id(&encrypted, envelope.is_bound()));
        let key = cell
            .get_or_try_init(|| {
                self.source
                    .decrypt(&encrypted, &envelope.key_id, envelope.is_bound())
            })
            .await?;
        open(key, envelope, item)
    }

    /// Reads a stored token attribute, envelope or plaintext.
    pub async fn read(
        &self,
        stored: &StoredToken,
        item: ItemKey<'_>,
    ) -> Result<Opened, CryptoError> {
        let value = match stored {
            StoredToken::Envelope(envelope) => self.decrypt(envelope, item).await?,
            StoredToken::Plain(value) => value.clone(),
        };
        Ok(Opened {
            value,
            format: stored.format(),
        })
    }

    /// Stores a value for `item` in `format`: sealed under this run's data key, or as it is.
    pub async fn store(
        &self,
        value: &SecretString,
        item: ItemKey<'_>,
        format: TokenFormat,
    ) -> Result<StoredToken, CryptoError> {
        Ok(match format {
            TokenFormat::Envelope => StoredToken::Envelope(self.encrypt(value, item).await?),
            TokenFormat::Plaintext => StoredToken::Plain(value.clone()),
        })
    }

    async fn generate(&self) -> Result<GeneratedKey, CryptoError> {
        let key = self.source.generate_data_key().await?;
        // Envelopes sealed this run open without asking KMS again. An already filled cell holds
        // the same key, so a failed `set` loses nothing.
        let _ = self
            .cell(&cache_id(&key.encrypted, true))
            .set(key.plaintext.clone());
        Ok(key)
    }

    fn cell(&self, encrypted: &[u8]) -> Arc<OnceCell<DataKey>> {
        // A panic elsewhere while holding the lock leaves the map intact: keep using it.
        let mut opened = self.opened.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(opened.entry(encrypted.to_vec()).or_default())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

    use super::*;

    /// A KMS stand-in that counts its calls. Key `n` is `[n; 32]`, encrypted as `[b'k', n]`.
    #[derive(Default)]
    struct CountingKms {
        generates: AtomicUsize,
        decrypts: AtomicUsize,
        next: AtomicU8,
        fail: AtomicBool,
    }

    #[async_trait]
    impl KeySource for CountingKms {
        async fn generate_data_key(&self) -> Result<GeneratedKey, KeySourceError> {
            self.generates.fetch_add(1, Ordering::SeqCst);
            if self.fail.load(Ordering::SeqCst) {
                return Err(KeySourceError {
                    message: "ThrottlingException".to_owned(),
                    retryable: true,
                });
            }
            let n = self.next.fetch_add(1, Ordering::SeqCst);
            let plaintext = DataKey::from_slice(&[n; 32]).unwrap();
            Ok(GeneratedKey {
                plaintext,
                encrypted: vec![b'k', n],
                key_id: "fake-key".to_owned(),
            })
        }

        async fn decrypt(
            &self,
            encrypted_key: &[u8],
            key_id: &str,
            bound: bool,
        ) -> Result<DataKey, KeySourceError> {
            self.decrypts.fetch_add(1, Ordering::SeqCst);
            assert!(bound, "this build seals version 2 envelopes");
            assert_eq!(key_id, "fake-key");
            match encrypted_key {
                [b'k', n] => Ok(DataKey::from_slice(&[*n; 32]).unwrap()),
                _ => Err(KeySourceError {
                    message: "InvalidCiphertextException".to_owned(),
                    retryable: false,
                }),
            }
        }
    }

    impl CountingKms {
        fn counts(&self) -> (usize, usize) {
            (
                self.generates.load(Ordering::SeqCst),
                self.decrypts.load(Ordering::SeqCst),
            )
        }
    }

    fn item(user_id: &str) -> ItemKey<'_> {
        ItemKey {
            user_id,
            platform: "reddit",
        }
    }

    #[tokio::test]
    async fn one_generate_per_run_and_own_envelopes_need_no_decrypt() {
        let kms = Arc::new(CountingKms::default());
        let cache = KeyCache::new(Arc::clone(&kms));
        let users: Vec<String> = (0..10).map(|i| format!("user-{i}")).collect();
        let mut sealed = Vec::new();
        for user in &users {
            sealed.push(
                cache
                    .encrypt(&SecretString::new(format!("tok-{user}")), item(user))
                    .await
                    .unwrap(),
            );
        }
        for (user, envelope) in users.iter().zip(&sealed) {
            let value = cache.decrypt(envelope, item(user)).await.unwrap();
            assert_eq!(value.expose(), format!("tok-{user}"));
        }
        assert_eq!(kms.counts(), (1, 0));
    }

    #[tokio::test]
    async fn one_decrypt_per_distinct_encrypted_key() {
        let kms = Arc::new(CountingKms::default());
        // Two earlier runs, each with its own data key.
        let mut sealed = Vec::new();
        for run in 0..2 {
            let cache = KeyCache::new(Arc::clone(&kms));
            for i in 0..3 {
                let user = format!("run{run}-user{i}");
                let envelope = cache
                    .encrypt(&SecretString::new("v"), item(&user))
                    .await
                    .unwrap();
                sealed.push((user, envelope));
            }
        }
        assert_eq!(kms.counts(), (2, 0));
        let cache = KeyCache::new(Arc::clone(&kms));
        for (user, envelope) in &sealed {
            assert_eq!(
                cache.decrypt(envelope, item(user)).await.unwrap().expose(),
                "v"
            );
        }
        assert_eq!(kms.counts(), (2, 2));
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_call() {
        let kms = Arc::new(CountingKms::default());
        let cache = KeyCache::new(Arc::clone(&kms));
        let value = SecretString::new("v");
        let (a, b, c) = tokio::join!(
            cache.encrypt(&value, item("a")),
            cache.encrypt(&value, item("b")),
            cache.encrypt(&value, item("c")),
        );
        assert_eq!(kms.counts(), (1, 0));
        let fresh = KeyCache::new(Arc::clone(&kms));
        let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
        let opened = tokio::join!(
            fresh.decrypt(&a, item("a")),
            fresh.decrypt(&b, item("b")),
            fresh.decrypt(&c, item("c")),
        );
        assert!(opened.0.is_ok() && opened.1.is_ok() && opened.2.is_ok());
        assert_eq!(kms.counts(), (1, 1));
    }

    #[tokio::test]
    async fn failed_generate_is_not_cached() {
        let kms = Arc::new(CountingKms::default());
        kms.fail.store(true, Ordering::SeqCst);
        let cache = KeyCache::new(Arc::clone(&kms));
        let err = cache
            .encrypt(&SecretString::new("v"), item("a"))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "the key source failed: ThrottlingException"
        );
        kms.fail.store(false, Ordering::SeqCst);
        assert!(
            cache
                .encrypt(&SecretString::new("v"), item("a"))
                .await
                .is_ok()
        );
        assert_eq!(kms.counts(), (2, 0));
    }

    #[tokio::test]
    async fn plaintext_is_read_and_stored_in_either_format() {
        let kms = Arc::new(CountingKms::default());
        let cache = KeyCache::new(Arc::clone(&kms));
        let stored = StoredToken::Plain(SecretString::new("plain-token"));
        let opened = cache.read(&stored, item("a")).await.unwrap();
        assert_eq!(opened.value.expose(), "plain-token");
        assert_eq!(opened.format, TokenFormat::Plaintext);
        let kept = cache
            .store(&opened.value, item("a"), TokenFormat::Plaintext)
            .await
            .unwrap();
        assert_eq!(kept, stored);
        assert_eq!(kms.counts(), (0, 0), "plaintext needs no KMS call");
        let sealed = cache
            .store(&opened.value, item("a"), TokenFormat::Envelope)
            .await
            .unwrap();
        assert!(matches!(sealed, StoredToken::Envelope(_)));
        let again = cache.read(&sealed, item("a")).await.unwrap();
        assert_eq!(again.format, TokenFormat::Envelope);
        assert_eq!(again.value.expose(), "plain-token");
    }

    #[tokio::test]
    async fn moved_envelope_fails_through_the_cache() {
        let kms = Arc::new(CountingKms::default());
        let cache = KeyCache::new(Arc::clone(&kms));
        let envelope = cache
            .encrypt(&SecretString::new("v"), item("alice"))
            .await
            .unwrap();
        let err = cache.decrypt(&envelope, item("mallory")).await.unwrap_err();
        assert!(matches!(err, CryptoError::Open));
    }

    #[test]
    fn data_key_hides_and_checks_length() {
        let key = DataKey::from_slice(&[9; 32]).unwrap();
        assert_eq!(format!("{key:?}"), "***");
        assert!(matches!(
            DataKey::from_slice(&[1; 16]),
            Err(CryptoError::KeyLength(16))
        ));
    }
}
