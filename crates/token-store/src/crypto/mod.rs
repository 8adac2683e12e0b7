//! Envelope encryption of token values (DESIGN §4).
//!
//! Each token value is sealed with AES-256-GCM under a data key that KMS generates once per run; the
//! KMS-encrypted copy of that data key and the KMS key id travel with the ciphertext in an
//! [`Envelope`]. The associated data is `userId|platform`, so a ciphertext copied into another item
//! no longer authenticates. (`platform` never contains `|`, the config only allows `a-z0-9_-`, so
//! the binding is unambiguous.)
//!
//! **Storage format.** An envelope is stored as a DynamoDB *map* (`M`) with the attributes
//! `version` (N), `keyId`, `encryptedKey`, `nonce`, `ciphertext` (S, base64, standard alphabet with
//! padding), the same names as its serde (JSON) form, which is what travels in DLQ messages. A
//! stage in `plaintext` format (and an app that writes its own items) holds the plain token as a
//! string (`S`): the attribute's type alone tells the two apart, no guessing from content
//! ([`StoredToken::Plain`]). Every write uses the stage's [`TokenFormat`]; a value in the other
//! format is converted on the item's next write (`docs/token-store.md`).
//!
//! [`keys`] holds the seam to KMS ([`KeySource`]) and the per-run [`KeyCache`].

pub mod keys;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, Generate, KeyInit, Nonce, Payload};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

pub use keys::{DataKey, GeneratedKey, KeyCache, KeySource, KeySourceError};

use crate::secret::SecretString;

/// The envelope format this build writes: version 2, the data key generated under the KMS
/// encryption context `{"tokensTable": <table>}` ([`CONTEXT_KEY`]). Version 1 (no context) is
/// still read. The AES-GCM layer is the same in both (`docs/token-store.md`).
pub const ENVELOPE_VERSION: u32 = 2;
/// The versions this build reads.
pub const READABLE_VERSIONS: [u32; 2] = [1, 2];
/// The KMS encryption context key of a version 2 data key; its value is the tokens table's name.
pub const CONTEXT_KEY: &str = "tokensTable";
/// AES-GCM's standard nonce length.
const NONCE_LEN: usize = 12;

/// An encrypted token value and what is needed to decrypt it (everything but the KMS key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Envelope {
    /// Format version, [`ENVELOPE_VERSION`].
    pub version: u32,
    /// The KMS key (ARN as KMS returns it) that encrypted the data key.
    pub key_id: String,
    /// The KMS-encrypted data key, base64.
    pub encrypted_key: String,
    /// The 96-bit GCM nonce, base64.
    pub nonce: String,
    /// Ciphertext followed by the 128-bit tag, base64.
    pub ciphertext: String,
}

/// A token attribute as stored in an item: an envelope map or a plain string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredToken {
    /// Format `envelope`.
    Envelope(Envelope),
    /// Format `plaintext` (or an app's own item): the token as the provider issued it.
    Plain(SecretString),
}

impl StoredToken {
    /// The format this value is stored in.
    pub fn format(&self) -> TokenFormat {
        match self {
            Self::Envelope(_) => TokenFormat::Envelope,
            Self::Plain(_) => TokenFormat::Plaintext,
        }
    }
}

/// The format a stage writes token values in (`tables.tokens.format`, env `TOKENS_FORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenFormat {
    /// AES-256-GCM envelopes under KMS data keys (the default).
    #[default]
    Envelope,
    /// The token strings as issued; the table's encryption at rest protects them.
    Plaintext,
}

impl TokenFormat {
    /// The stored name, as stage files and the environment spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Envelope => "envelope",
            Self::Plaintext => "plaintext",
        }
    }

    /// Parses a stage file's or the environment's value.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "envelope" => Some(Self::Envelope),
            "plaintext" => Some(Self::Plaintext),
            _ => None,
        }
    }
}

/// A decrypted token value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub value: SecretString,
    /// The format it was stored in: a writer converts it when that is not the stage's.
    pub format: TokenFormat,
}

/// The item a ciphertext belongs to; its `userId|platform` is the associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemKey<'a> {
    pub user_id: &'a str,
    pub platform: &'a str,
}

impl Envelope {
    /// Whether the data key was generated under the table's encryption context (version 2 on).
    pub fn is_bound(&self) -> bool {
        self.version >= 2
    }
}

impl ItemKey<'_> {
    fn associated_data(self) -> Vec<u8> {
        format!("{}|{}", self.user_id, self.platform).into_bytes()
    }
}

/// Why sealing or opening failed. Never carries key or token material.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("the key source failed: {0}")]
    KeySource(#[from] KeySourceError),
    #[error("a data key must be 32 bytes (AES-256), got {0}")]
    KeyLength(usize),
    #[error("envelope field `{0}` is not valid base64 of the expected length")]
    Encoding(&'static str),
    #[error("envelope version {0} is not supported: this build reads versions 1 and 2")]
    Version(u32),
    #[error("no system randomness for a nonce")]
    Random,
    #[error("AES-GCM encryption failed")]
    Seal,
    #[error(
        "the ciphertext does not authenticate for this item: it was moved from another item, \
         tampered with, or sealed under another data key"
    )]
    Open,
    #[error("the decrypted token is not UTF-8")]
    NotUtf8,
}

/// Seals `plaintext` for `item` under `key`, with a fresh random nonce.
pub fn seal(
    key: &GeneratedKey,
    plaintext: &SecretString,
    item: ItemKey<'_>,
) -> Result<Envelope, CryptoError> {
    let nonce = Nonce::<Aes256Gcm>::try_generate().map_err(|_| CryptoError::Random)?;
    let aad = item.associated_data();
    let payload = Payload {
        msg: plaintext.expose().as_bytes(),
        aad: &aad,
    };
    let ciphertext = cipher(&key.plaintext)?
        .encrypt(&nonce, payload)
        .map_err(|_| CryptoError::Seal)?;
    Ok(Envelope {
        version: ENVELOPE_VERSION,
        key_id: key.key_id.clone(),
        encrypted_key: BASE64.encode(&key.encrypted),
        nonce: BASE64.encode(nonce),
        ciphertext: BASE64.encode(ciphertext),
    })
}

/// Opens `envelope` for `item` with its already decrypted data key.
pub fn open(
    key: &DataKey,
    envelope: &Envelope,
    item: ItemKey<'_>,
) -> Result<SecretString, CryptoError> {
    check_version(envelope)?;
    let nonce: [u8; NONCE_LEN] = decode("nonce", &envelope.nonce)?
        .try_into()
        .map_err(|_| CryptoError::Encoding("nonce"))?;
    let ciphertext = decode("ciphertext", &envelope.ciphertext)?;
    let aad = item.associated_data();
    let payload = Payload {
        msg: &ciphertext,
        aad: &aad,
    };
    let plain = cipher(key)?
        .decrypt(&Nonce::<Aes256Gcm>::from(nonce), payload)
        .map_err(|_| CryptoError::Open)?;
    String::from_utf8(plain)
        .map(SecretString::from)
        .map_err(|err| {
            // Wipe the bytes the error hands back rather than leave them in freed memory.
            zeroize::Zeroize::zeroize(&mut err.into_bytes());
            CryptoError::NotUtf8
        })
}

pub(crate) fn check_version(envelope: &Envelope) -> Result<(), CryptoError> {
    if READABLE_VERSIONS.contains(&envelope.version) {
        Ok(())
    } else {
        Err(CryptoError::Version(envelope.version))
    }
}

pub(crate) fn decode(field: &'static str, value: &str) -> Result<Vec<u8>, CryptoError> {
    BASE64
        .decode(value)
        .map_err(|_| CryptoError::Encoding(field))
}

/// Borrows the key bytes (no copy left on the stack); [`DataKey`] guarantees 32 of them.
fn cipher(key: &DataKey) -> Result<Aes256Gcm, CryptoError> {
    let bytes = key.bytes();
    Aes256Gcm::new_from_slice(bytes).map_err(|_| CryptoError::KeyLength(bytes.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> GeneratedKey {
        GeneratedKey {
            plaintext: DataKey::from_slice(&[byte; 32]).unwrap(),
            encrypted: vec![byte, 0xEE],
            key_id: "arn:aws:kms:us-east-1:123456789012:key/test".to_owned(),
        }
    }

    const ALICE: ItemKey<'static> = ItemKey {
        user_id: "alice",
        platform: "tiktok",
    };

    #[test]
    fn round_trip() {
        let key = key(7);
        let envelope = seal(&key, &SecretString::new("act.token-value"), ALICE).unwrap();
        assert_eq!(envelope.version, 2);
        assert_eq!(envelope.key_id, key.key_id);
        assert_eq!(
            decode("encryptedKey", &envelope.encrypted_key).unwrap(),
            key.encrypted
        );
        assert!(!envelope.ciphertext.contains("act.token-value"));
        let opened = open(&key.plaintext, &envelope, ALICE).unwrap();
        assert_eq!(opened.expose(), "act.token-value");
    }

    #[test]
    fn nonces_differ_between_seals() {
        let key = key(1);
        let a = seal(&key, &SecretString::new("same"), ALICE).unwrap();
        let b = seal(&key, &SecretString::new("same"), ALICE).unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
    }

    #[test]
    fn moved_to_another_item_fails() {
        let key = key(7);
        let envelope = seal(&key, &SecretString::new("v"), ALICE).unwrap();
        for other in [
            ItemKey {
                user_id: "bob",
                platform: "tiktok",
            },
            ItemKey {
                user_id: "alice",
                platform: "reddit",
            },
            ItemKey {
                user_id: "alice|tiktok",
                platform: "",
            },
        ] {
            assert!(matches!(
                open(&key.plaintext, &envelope, other),
                Err(CryptoError::Open)
            ));
        }
    }

    #[test]
    fn tampered_ciphertext_fails() {
        let key = key(7);
        let mut envelope = seal(&key, &SecretString::new("value"), ALICE).unwrap();
        let mut bytes = decode("ciphertext", &envelope.ciphertext).unwrap();
        bytes[0] ^= 1;
        envelope.ciphertext = BASE64.encode(bytes);
        assert!(matches!(
            open(&key.plaintext, &envelope, ALICE),
            Err(CryptoError::Open)
        ));
    }

    #[test]
    fn wrong_key_fails() {
        let envelope = seal(&key(7), &SecretString::new("value"), ALICE).unwrap();
        assert!(matches!(
            open(&key(8).plaintext, &envelope, ALICE),
            Err(CryptoError::Open)
        ));
    }

    #[test]
    fn bad_encoding_and_version_are_reported() {
        let key = key(7);
        let good = seal(&key, &SecretString::new("value"), ALICE).unwrap();
        let bad_nonce = Envelope {
            nonce: BASE64.encode([0u8; 8]),
            ..good.clone()
        };
        assert!(matches!(
            open(&key.plaintext, &bad_nonce, ALICE),
            Err(CryptoError::Encoding("nonce"))
        ));
        let not_b64 = Envelope {
            ciphertext: "%%%".to_owned(),
            ..good.clone()
        };
        assert!(matches!(
            open(&key.plaintext, &not_b64, ALICE),
            Err(CryptoError::Encoding("ciphertext"))
        ));
        let future = Envelope { version: 3, ..good };
        let err = open(&key.plaintext, &future, ALICE).unwrap_err();
        assert_eq!(
            err.to_string(),
            "envelope version 3 is not supported: this build reads versions 1 and 2"
        );
    }

    #[test]
    fn serde_form_uses_the_documented_names() {
        let envelope = seal(&key(7), &SecretString::new("value"), ALICE).unwrap();
        let json = serde_json::to_value(&envelope).unwrap();
        let mut names: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        names.sort();
        assert_eq!(
            names,
            ["ciphertext", "encryptedKey", "keyId", "nonce", "version"]
        );
        assert_eq!(serde_json::from_value::<Envelope>(json).unwrap(), envelope);
    }
}
