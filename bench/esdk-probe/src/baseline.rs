//! The refresher's envelope step as the project does it (envelope version 2): one KMS data key per
//! run (GenerateDataKey with the table as encryption context), AES-256-GCM per token.
//! `baseline`: a Lambda function; `baseline count N`: seals and opens N tokens, prints KMS calls.

mod common;

use std::sync::atomic::Ordering;

use aes_gcm::aead::{Aead, Generate, KeyInit, Nonce, Payload};
use aes_gcm::Aes256Gcm;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

async fn data_key(kms: &aws_sdk_kms::Client, key_id: &str) -> Result<(Vec<u8>, Blob), Error> {
    let out = kms
        .generate_data_key()
        .key_id(key_id)
        .key_spec(DataKeySpec::Aes256)
        .encryption_context("tokensTable", "bench-tokens")
        .send()
        .await?;
    let plaintext = out.plaintext().ok_or("no plaintext")?.as_ref().to_vec();
    Ok((plaintext, out.ciphertext_blob().ok_or("no blob")?.clone()))
}

fn seal(key: &[u8], token: &str) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let cipher = Aes256Gcm::new_from_slice(key).map_err(|_| "key")?;
    let nonce = Nonce::<Aes256Gcm>::try_generate().map_err(|_| "nonce")?;
    let sealed = cipher
        .encrypt(&nonce, Payload { msg: token.as_bytes(), aad: b"user|tiktok" })
        .map_err(|_| "seal")?;
    Ok((nonce.to_vec(), sealed))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let key_id = std::env::var("KMS_KEY_ID")?;
    let (kms, calls) = common::kms().await;
    if let Some(count) = std::env::args().nth(2) {
        let count: u64 = count.parse()?;
        let (key, blob) = data_key(&kms, &key_id).await?;
        let sealed: Vec<_> = (0..count)
            .map(|i| seal(&key, &format!("act.bench-token-{i}")))
            .collect::<Result<_, _>>()?;
        let after_seal = calls.0.load(Ordering::Relaxed);
        // Opening: one Decrypt of the run's data key, then AES-GCM per token.
        let opened = kms
            .decrypt()
            .key_id(&key_id)
            .ciphertext_blob(blob)
            .encryption_context("tokensTable", "bench-tokens")
            .send()
            .await?;
        let key = opened.plaintext().ok_or("no plaintext")?.as_ref().to_vec();
        let cipher = Aes256Gcm::new_from_slice(&key).map_err(|_| "key")?;
        for (nonce, ciphertext) in sealed {
            let nonce: [u8; 12] = nonce.try_into().map_err(|_| "nonce")?;
            cipher
                .decrypt(&Nonce::<Aes256Gcm>::from(nonce), Payload { msg: &ciphertext, aad: b"user|tiktok" })
                .map_err(|_| "open")?;
        }
        let total = calls.0.load(Ordering::Relaxed);
        println!("baseline sealed={count} kms_calls_to_seal={after_seal} kms_calls_to_open={}", total - after_seal);
        return Ok(());
    }
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let (kms, key_id) = (kms.clone(), key_id.clone());
        async move {
            let (key, _) = data_key(&kms, &key_id).await?;
            let (_, sealed) = seal(&key, event.payload["token"].as_str().unwrap_or("t"))?;
            Ok::<_, Error>(json!({"bytes": sealed.len()}))
        }
    }))
    .await
}
