//! The envelope test vectors every reader is tested against (`tests/vectors/envelope-v1.json`,
//! generated with `cryptography`, independently of this crate): each valid case opens to its
//! plaintext, each invalid one fails with its kind of error.

#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use token_store::crypto::{CryptoError, DataKey, Envelope, ItemKey, open};

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/envelope-v1.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn case(case: &Value) -> (DataKey, Envelope, String, String) {
    let key = STANDARD.decode(case["dataKey"].as_str().unwrap()).unwrap();
    let envelope: Envelope = serde_json::from_value(case["envelope"].clone()).unwrap();
    let user = case["userId"].as_str().unwrap().to_owned();
    let platform = case["platform"].as_str().unwrap().to_owned();
    (DataKey::from_slice(&key).unwrap(), envelope, user, platform)
}

#[test]
fn every_valid_vector_opens_to_its_plaintext() {
    let all = vectors();
    let valid = all["valid"].as_array().unwrap();
    assert!(valid.len() >= 4);
    for vector in valid {
        let (key, envelope, user_id, platform) = case(vector);
        let item = ItemKey {
            user_id: &user_id,
            platform: &platform,
        };
        let opened =
            open(&key, &envelope, item).unwrap_or_else(|e| panic!("{}: {e}", vector["name"]));
        assert!(
            opened.expose() == vector["plaintext"].as_str().unwrap(),
            "{}",
            vector["name"]
        );
    }
}

#[test]
fn every_invalid_vector_fails_with_its_kind() {
    let all = vectors();
    let invalid = all["invalid"].as_array().unwrap();
    assert!(invalid.len() >= 10);
    for vector in invalid {
        let (key, envelope, user_id, platform) = case(vector);
        let item = ItemKey {
            user_id: &user_id,
            platform: &platform,
        };
        let err = open(&key, &envelope, item).map(|_| ()).unwrap_err();
        let kind = match err {
            CryptoError::Open => "authentication",
            CryptoError::Encoding(_) => "encoding",
            CryptoError::Version(_) => "version",
            CryptoError::NotUtf8 => "utf8",
            other => panic!("{}: unexpected {other}", vector["name"]),
        };
        assert_eq!(
            kind,
            vector["error"].as_str().unwrap(),
            "{}",
            vector["name"]
        );
    }
}
