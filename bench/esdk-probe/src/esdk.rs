//! The refresher's envelope step done with the AWS Encryption SDK: a KMS keyring for the stage's
//! key and the table as encryption context. `esdk`: a Lambda function (first-poll measures its
//! cold start); `esdk count N`: seals and opens N tokens and prints the KMS calls made.

mod common;

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use aws_esdk::client as esdk_client;
use aws_esdk::material_providers::client as mpl_client;
use aws_esdk::material_providers::types::material_providers_config::MaterialProvidersConfig;
use aws_esdk::types::aws_encryption_sdk_config::AwsEncryptionSdkConfig;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

fn context() -> HashMap<String, String> {
    HashMap::from([("tokensTable".to_owned(), "bench-tokens".to_owned())])
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let key_id = std::env::var("KMS_KEY_ID")?;
    let (kms, calls) = common::kms().await;
    let esdk = esdk_client::Client::from_conf(AwsEncryptionSdkConfig::builder().build()?)?;
    let mpl = mpl_client::Client::from_conf(MaterialProvidersConfig::builder().build()?)?;
    let keyring = mpl
        .create_aws_kms_keyring()
        .kms_key_id(key_id)
        .kms_client(kms)
        .send()
        .await?;
    if let Some(count) = std::env::args().nth(2) {
        let count: u64 = count.parse()?;
        let mut sealed = Vec::new();
        for i in 0..count {
            let out = esdk
                .encrypt()
                .plaintext(format!("act.bench-token-{i}").into_bytes())
                .keyring(keyring.clone())
                .encryption_context(context())
                .send()
                .await?;
            sealed.push(out.ciphertext.ok_or("no ciphertext")?);
        }
        let after_seal = calls.0.load(Ordering::Relaxed);
        for blob in sealed {
            esdk.decrypt()
                .ciphertext(blob)
                .keyring(keyring.clone())
                .encryption_context(context())
                .send()
                .await?;
        }
        let total = calls.0.load(Ordering::Relaxed);
        println!("esdk sealed={count} kms_calls_to_seal={after_seal} kms_calls_to_open={}", total - after_seal);
        return Ok(());
    }
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let (esdk, keyring) = (esdk.clone(), keyring.clone());
        async move {
            let token = event.payload["token"].as_str().unwrap_or("t").to_owned();
            let out = esdk
                .encrypt()
                .plaintext(token.into_bytes())
                .keyring(keyring)
                .encryption_context(context())
                .send()
                .await?;
            Ok::<_, Error>(json!({"bytes": out.ciphertext.map_or(0, |c| c.as_ref().len())}))
        }
    }))
    .await
}
