//! [`KeySource`] on AWS KMS: `GenerateDataKey` (AES-256) under the configured key, `Decrypt` of a
//! stored data key.
//!
//! Throttling, KMS internal errors and transport failures are marked retryable; access denied, a
//! disabled key or an invalid ciphertext are not. Messages are KMS's error codes and messages,
//! which never contain key material.

use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;

use crate::crypto::{CONTEXT_KEY, DataKey, GeneratedKey, KeySource, KeySourceError};

/// KMS as the source of data keys for one tokens table.
#[derive(Debug, Clone)]
pub struct KmsKeySource {
    client: Client,
    key_id: String,
    table: String,
}

impl KmsKeySource {
    /// `key_id`: an alias (`alias/…`), key ARN or key id, as `KMS_KEY_ID` holds it. `table`: the
    /// tokens table, named by the encryption context of every data key generated (and of every
    /// version 2 envelope opened), so that a policy can require it and a key meant for tokens
    /// opens nothing else.
    pub fn new(client: Client, key_id: impl Into<String>, table: impl Into<String>) -> Self {
        Self {
            client,
            key_id: key_id.into(),
            table: table.into(),
        }
    }
}

fn key_error<E, R>(err: &SdkError<E, R>) -> KeySourceError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    let retryable = match err {
        SdkError::ServiceError(service) => matches!(
            service.err().code(),
            Some(
                "ThrottlingException"
                    | "KMSInternalException"
                    | "DependencyTimeoutException"
                    | "KeyUnavailableException"
            )
        ),
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        _ => false,
    };
    KeySourceError {
        message: format!("KMS: {}", DisplayErrorContext(err)),
        retryable,
    }
}

fn missing(what: &str) -> KeySourceError {
    KeySourceError {
        message: format!("KMS answered without {what}"),
        retryable: false,
    }
}

fn bad_key(err: &crate::crypto::CryptoError) -> KeySourceError {
    KeySourceError {
        message: format!("KMS returned an unusable data key: {err}"),
        retryable: false,
    }
}

#[async_trait]
impl KeySource for KmsKeySource {
    async fn generate_data_key(&self) -> Result<GeneratedKey, KeySourceError> {
        let out = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .encryption_context(CONTEXT_KEY, &self.table)
            .send()
            .await
            .map_err(|err| key_error(&err))?;
        let plaintext = out.plaintext().ok_or_else(|| missing("Plaintext"))?;
        let encrypted = out
            .ciphertext_blob()
            .ok_or_else(|| missing("CiphertextBlob"))?;
        Ok(GeneratedKey {
            plaintext: DataKey::from_slice(plaintext.as_ref()).map_err(|e| bad_key(&e))?,
            encrypted: encrypted.as_ref().to_vec(),
            key_id: out.key_id().unwrap_or(&self.key_id).to_owned(),
        })
    }

    async fn decrypt(
        &self,
        encrypted_key: &[u8],
        key_id: &str,
        bound: bool,
    ) -> Result<DataKey, KeySourceError> {
        let mut request = self
            .client
            .decrypt()
            .key_id(key_id)
            .ciphertext_blob(Blob::new(encrypted_key));
        if bound {
            request = request.encryption_context(CONTEXT_KEY, &self.table);
        }
        let out = request.send().await.map_err(|err| key_error(&err))?;
        let plaintext = out.plaintext().ok_or_else(|| missing("Plaintext"))?;
        DataKey::from_slice(plaintext.as_ref()).map_err(|e| bad_key(&e))
    }
}
