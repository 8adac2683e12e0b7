//! The three readers (Rust `token_store::reader`, `clients/typescript`, `clients/python`) read the
//! tokens the Rust side writes identically, on the local stand-in:
//! - 100 TikTok tokens refreshed by one refresher run at the provider fakes (envelopes);
//! - 3 Reddit rows written by `tokens import`'s importer (envelopes, another data key);
//! - an app's own item (plaintext, no `version`, no `status`);
//! - an envelope copied into another user's item, and one with a flipped ciphertext byte: refused;
//! - a missing item and a `needs_reauth` one: their error codes.
//!
//! Each reader prints, per key, the item's metadata and the SHA-256 of the token it read (never the
//! token); the hashes must be the grant's live tokens. 1,000 reads of the 100 refreshed items make
//! exactly one KMS `Decrypt` in each reader (one run seals with one data key).

#![allow(
    clippy::too_many_lines,
    reason = "end-to-end scenarios read top to bottom; the 60-line limit is for the product's code"
)]
#![allow(clippy::unwrap_used)]

mod refresher_support;

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use deployer::tokens::import::Importer;
use deployer::tokens::rows::Row;
use provider_fakes::Provider;
use refresher::crypto::{KeyCache, TokenFormat};
use refresher::kms::KmsKeySource;
use refresher::run::{self, RunInput, RunOptions, RunResponse};
use refresher::secret::SecretString;
use refresher::store::{DynamoStore, TokenStatus};
use refresher_support::Harness;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use suite::readers;
use token_store::reader::{CacheLimits, TokenReader};

const REFRESHED: usize = 100;

fn sha(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

fn key(user: &str, platform: &str) -> Value {
    json!({"userId": user, "platform": platform})
}

/// What each reader must answer for one key.
struct Expected {
    key: Value,
    /// `Ok(sha256 of the token)` or `Err(code)`.
    answer: Result<String, &'static str>,
}

async fn refresh_tiktok(h: &mut Harness) -> Vec<Expected> {
    h.tune("tiktok", "rateLimitPerMinute", json!(60_000));
    h.tune("tiktok", "concurrency", json!(16));
    let users: Vec<String> = (0..REFRESHED).map(|i| format!("reader-{i:03}")).collect();
    for user in &users {
        h.seed("tiktok", user, h.now + 600).await;
    }
    let input = RunInput {
        providers: vec!["tiktok".to_owned()],
        dry_run: false,
    };
    let deps = Arc::new(h.deps().await);
    let RunResponse::Completed(summary) =
        run::run(deps, input, RunOptions::new(None)).await.unwrap()
    else {
        panic!("locked")
    };
    assert_eq!(summary.refreshed, REFRESHED as u64, "{:?}", summary.results);
    users
        .iter()
        .map(|user| {
            let current = h.fakes.current(Provider::Tiktok, user).unwrap();
            Expected {
                key: key(user, "tiktok"),
                answer: Ok(sha(&current.access_token)),
            }
        })
        .collect()
}

async fn import_reddit(h: &Harness) -> Vec<Expected> {
    let kms = aws_sdk_kms::Client::new(&h.sdk);
    let store = DynamoStore::new(h.dynamodb(), &h.env["TOKENS_TABLE"], "byExpiry");
    let keys = KeyCache::new(KmsKeySource::new(
        kms,
        &h.env["KMS_KEY_ID"],
        &h.env["TOKENS_TABLE"],
    ));
    let importer = Importer::new(store, keys, TokenFormat::Envelope, h.now);
    let mut expected = Vec::new();
    for i in 0..3 {
        let (user, access) = (
            format!("imported-{i}"),
            format!("act.imported-{i}-{}", h.now),
        );
        let refresh = format!("rt.imported-{i}-{}", h.now);
        secret_ledger::record("suite-tests:imported", &access);
        secret_ledger::record("suite-tests:imported", &refresh);
        let row = Row {
            line: i + 1,
            user_id: user.clone(),
            platform: "reddit".to_owned(),
            access_token: SecretString::new(access.as_str()),
            refresh_token: Some(SecretString::new(refresh)),
            expires_at: h.now + 3600,
            refresh_expires_at: None,
            status: TokenStatus::Active,
        };
        importer.import(&row).await.unwrap();
        expected.push(Expected {
            key: key(&user, "reddit"),
            answer: Ok(sha(&access)),
        });
    }
    expected
}

/// An app's item, a copied envelope, a flipped byte, a dead grant, a missing item.
async fn odd_items(h: &Harness) -> Vec<Expected> {
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let n = |v: u64| AttributeValue::N(v.to_string());
    let plain = format!("act.app-plain-{}", h.now);
    secret_ledger::record("suite-tests:plain", &plain);
    h.put(HashMap::from([
        ("userId".to_owned(), s("app-user")),
        ("platform".to_owned(), s("schwab")),
        ("accessToken".to_owned(), s(&plain)),
        ("expiresAt".to_owned(), n(h.now + 1800)),
    ]))
    .await;
    let source = h.item("tiktok", "reader-000").await;
    let mut copied = source.clone();
    copied.insert("userId".to_owned(), s("reader-copy"));
    h.put(copied).await;
    let mut flipped = source.clone();
    flipped.insert("userId".to_owned(), s("reader-flip"));
    let mut envelope = source["accessToken"].as_m().unwrap().clone();
    let ciphertext = envelope["ciphertext"].as_s().unwrap();
    let first = if ciphertext.starts_with('A') {
        "B"
    } else {
        "A"
    };
    envelope.insert(
        "ciphertext".to_owned(),
        s(&format!("{first}{}", &ciphertext[1..])),
    );
    flipped.insert("accessToken".to_owned(), AttributeValue::M(envelope));
    h.put(flipped).await;
    let mut dead = source;
    dead.insert("userId".to_owned(), s("reader-dead"));
    dead.insert("status".to_owned(), s("needs_reauth"));
    h.put(dead).await;
    vec![
        Expected {
            key: key("app-user", "schwab"),
            answer: Ok(sha(&plain)),
        },
        Expected {
            key: key("reader-copy", "tiktok"),
            answer: Err("DECRYPTION"),
        },
        Expected {
            key: key("reader-flip", "tiktok"),
            answer: Err("DECRYPTION"),
        },
        Expected {
            key: key("reader-dead", "tiktok"),
            answer: Err("NEEDS_REAUTH"),
        },
        Expected {
            key: key("nobody", "tiktok"),
            answer: Err("NOT_FOUND"),
        },
    ]
}

/// One reader's answer for a key, in the shape the scripts print.
fn rust_line(
    result: Result<token_store::reader::Token, token_store::reader::ReadError>,
    key: &Value,
) -> Value {
    match result {
        Ok(token) => json!({
            "userId": key["userId"], "platform": key["platform"], "ok": true,
            "status": token.status.as_str(), "version": token.version, "expiresAt": token.expires_at,
            "accessTokenSha256": sha(token.access_token.expose()),
        }),
        Err(err) => {
            json!({"userId": key["userId"], "platform": key["platform"], "ok": false, "code": err.code()})
        }
    }
}

fn check(reader: &str, lines: &[Value], expected: &[Expected]) {
    assert_eq!(lines.len(), expected.len(), "{reader}: one line per key");
    for (line, want) in lines.iter().zip(expected) {
        assert_eq!(line["userId"], want.key["userId"], "{reader}: order");
        match &want.answer {
            Ok(hash) => assert!(
                line["ok"] == json!(true) && line["accessTokenSha256"] == json!(hash),
                "{reader}: {} read {} (the live token's hash expected)",
                want.key,
                json!({"ok": line["ok"], "code": line["code"]}),
            ),
            Err(code) => assert_eq!(line["code"], json!(code), "{reader}: {}", want.key),
        }
    }
}

/// The fields every reader reports alike for a good read.
fn shared(line: &Value) -> Value {
    json!({"ok": line["ok"], "code": line["code"], "status": line["status"], "version": line["version"],
           "expiresAt": line["expiresAt"], "sha": line["accessTokenSha256"]})
}

#[tokio::test]
async fn every_reader_reads_what_the_refresher_and_import_wrote() {
    let mut h = Harness::start().await;
    let refreshed = refresh_tiktok(&mut h).await;
    let mut others = import_reddit(&h).await;
    others.extend(odd_items(&h).await);

    let kms = aws_sdk_kms::Client::new(&h.sdk);
    let key_arn = suite::iam::key_arn(
        &h.sdk,
        &h.env["KMS_KEY_ID"],
        &h.stage.region,
        &h.stage.account_id,
    )
    .await;
    let env = readers::env(
        &h.env["TOKENS_TABLE"],
        &key_arn,
        h.moto.endpoint(),
        "testing",
        "testing",
    );

    // 1,000 reads of the 100 refreshed items: one Decrypt in each reader.
    let thousand: Vec<Value> = (0..10)
        .flat_map(|_| refreshed.iter().map(|e| e.key.clone()))
        .collect();
    let repeated: Vec<&Expected> = (0..10).flat_map(|_| refreshed.iter()).collect();
    let rust = TokenReader::new(
        h.dynamodb(),
        &h.env["TOKENS_TABLE"],
        KmsKeySource::new(kms, "", &h.env["TOKENS_TABLE"]),
        Some(key_arn.clone()),
        CacheLimits::default(),
    );
    let mut rust_lines = Vec::new();
    for key in &thousand {
        let (user, platform) = (
            key["userId"].as_str().unwrap(),
            key["platform"].as_str().unwrap(),
        );
        rust_lines.push(rust_line(rust.get_token(user, platform, 0).await, key));
    }
    assert_eq!(
        rust.kms_decrypt_calls(),
        1,
        "rust: 1,000 reads, one data key"
    );
    let expected_thousand: Vec<Expected> = repeated
        .iter()
        .map(|e| Expected {
            key: e.key.clone(),
            answer: e.answer.clone(),
        })
        .collect();
    check("rust", &rust_lines, &expected_thousand);
    for (name, command) in readers::scripts() {
        let (lines, calls) = readers::read(command, &env, &thousand);
        check(name, &lines, &expected_thousand);
        assert_eq!(calls, 1, "{name}: 1,000 reads, one data key");
        let same: Vec<Value> = lines.iter().map(shared).collect();
        let rust_same: Vec<Value> = rust_lines.iter().map(shared).collect();
        assert_eq!(same, rust_same, "{name} and rust read the same items alike");
    }

    // Imported, plaintext, tampered, dead and missing items.
    let keys: Vec<Value> = others.iter().map(|e| e.key.clone()).collect();
    let mut rust_lines = Vec::new();
    for key in &keys {
        let (user, platform) = (
            key["userId"].as_str().unwrap(),
            key["platform"].as_str().unwrap(),
        );
        rust_lines.push(rust_line(rust.get_token(user, platform, 0).await, key));
    }
    check("rust", &rust_lines, &others);
    for (name, command) in readers::scripts() {
        let (lines, _) = readers::read(command, &env, &keys);
        check(name, &lines, &others);
        let same: Vec<Value> = lines.iter().map(shared).collect();
        let rust_same: Vec<Value> = rust_lines.iter().map(shared).collect();
        assert_eq!(same, rust_same, "{name} and rust agree");
    }
}
