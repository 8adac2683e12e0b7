//! Proof scenario 5 of RELIABILITY.md: bad input, generated. A bounded number of cases runs in the
//! suite; `PROOF_FUZZ_CASES=200000 cargo nextest run -p suite --test proof_fuzz --no-capture`
//! runs a longer campaign. Each property prints `FIGURE fuzz ...`: inputs tried, and how they
//! ended (a panic fails the test, so the figure's panic count is 0 when it passes).
//!
//! - Stage files: random edits (inserts, deletions, replacements from YAML's punctuation and
//!   words) of every committed stage. Accepted, or refused with problems that each name a field
//!   (or the file) and say what to do.
//! - Provider responses: every adapter's `parse` on random statuses, headers and bodies (random
//!   bytes, JSON of random shape over the token fields, truncated valid answers, bodies past the
//!   size limit). A success always carries an access token; a failure never quotes the body.
//! - Envelopes: `open` on random and tampered envelopes fails with a named reason.

#![allow(clippy::unwrap_used)]

use std::cell::Cell;
use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use refresher::config::ClientAuth;
use refresher::crypto::{self, DataKey, Envelope, ItemKey};
use refresher::providers::{Instagram, OAuth2, Provider, Reddit, TikTok};
use serde_json::{Value, json};

/// A value put in bodies that must never come back in an error message.
const MARKER: &str = "SECRET-MARKER-7f3a";

fn cases(default: u32) -> u32 {
    std::env::var("PROOF_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn runner(default: u32) -> TestRunner {
    TestRunner::new(Config {
        cases: cases(default),
        failure_persistence: None,
        ..Config::default()
    })
}

#[derive(Debug, Clone)]
enum Edit {
    Insert(f64, String),
    Delete(f64, usize),
    Replace(f64, usize, String),
}

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ a-z0-9:\\-\\[\\]{}#'\"\n*?&!|>%@,.()]{0,12}",
        prop::sample::select(vec![
            "\n",
            ": ",
            " - ",
            "{",
            "}",
            "[",
            "]",
            "~",
            "null",
            "-1",
            "99999999999999999999",
            "1.5",
            "true",
            "0x1F",
            "&a",
            "*a",
            "!!binary",
            "<<: *a",
            "'",
            "\"",
            "\t",
            "window",
            "schedule",
            "rate(",
            "cron(",
            "providers",
            "tiktok",
            "oauth2",
            "token_url",
            "é",
        ])
        .prop_map(str::to_owned),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0.0..1.0, fragment()).prop_map(|(at, s)| Edit::Insert(at, s)),
        (0.0..1.0, 1usize..40).prop_map(|(at, n)| Edit::Delete(at, n)),
        (0.0..1.0, 1usize..12, fragment()).prop_map(|(at, n, s)| Edit::Replace(at, n, s)),
    ]
}

/// `text` with `edits` applied at char boundaries.
fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for edit in edits {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let at = |f: f64, len: usize| ((f * len as f64) as usize).min(len);
        match edit {
            Edit::Insert(f, s) => {
                let i = at(*f, chars.len());
                chars.splice(i..i, s.chars());
            }
            Edit::Delete(f, n) => {
                let i = at(*f, chars.len());
                let end = (i + n).min(chars.len());
                chars.drain(i..end);
            }
            Edit::Replace(f, n, s) => {
                let i = at(*f, chars.len());
                let end = (i + n).min(chars.len());
                chars.splice(i..end, s.chars());
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn edited_stage_files_are_accepted_or_refused_with_named_fields() {
    let root = testkit::tools::project_root();
    let stages: Vec<(String, String)> = ["local", "dev", "staging", "prod"]
        .iter()
        .map(|s| {
            let text = std::fs::read_to_string(root.join(format!("stages/{s}.yaml"))).unwrap();
            ((*s).to_owned(), text)
        })
        .collect();
    let strategy = (0..stages.len(), prop::collection::vec(edit(), 1..6));
    let (tried, accepted, refused) = (Cell::new(0u32), Cell::new(0u32), Cell::new(0u32));
    runner(3_000)
        .run(&strategy, |(which, edits)| {
            let (name, text) = &stages[which];
            let edited = apply(text, &edits);
            tried.set(tried.get() + 1);
            match deployer::stage::parse(&edited, Path::new(&format!("stages/{name}.yaml"))) {
                Ok(_) => accepted.set(accepted.get() + 1),
                Err(errors) => {
                    refused.set(refused.get() + 1);
                    prop_assert!(!errors.problems.is_empty(), "refused without a problem");
                    for p in &errors.problems {
                        prop_assert!(p.message.len() > 10, "a terse problem: {p:?}");
                    }
                }
            }
            Ok(())
        })
        .unwrap();
    eprintln!(
        "FIGURE fuzz stage files: {} edited files tried, {} accepted, {} refused with named problems, 0 panics",
        tried.get(),
        accepted.get(),
        refused.get()
    );
}

/// Bodies: random bytes, JSON over the token fields with random types, truncated answers, huge.
fn body() -> impl Strategy<Value = Vec<u8>> {
    let value = scalar_value().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    let object = prop::collection::btree_map(key(), value, 0..7)
        .prop_map(|m| serde_json::to_vec(&Value::Object(m.into_iter().collect())).unwrap());
    let valid = json!({"access_token": MARKER, "refresh_token": MARKER, "expires_in": 3600, "refresh_expires_in": 86400, "token_type": "Bearer"});
    let truncated = (1usize..80).prop_map(move |n| {
        let bytes = serde_json::to_vec(&valid).unwrap();
        bytes[..n.min(bytes.len() - 1)].to_vec()
    });
    // A valid answer with each field kept, dropped, or given another value of any type.
    let field_choice = prop_oneof![3 => Just(None), 1 => Just(Some(Value::Null)), 1 => scalar_value().prop_map(Some)];
    let near_valid = prop::collection::vec(field_choice, 6).prop_map(|choices| {
        let fields = [
            "access_token",
            "refresh_token",
            "expires_in",
            "refresh_expires_in",
            "token_type",
            "open_id",
        ];
        let good = [
            json!("at-value"),
            json!("rt-value"),
            json!(3600),
            json!(86400),
            json!("Bearer"),
            json!("oid"),
        ];
        let mut object = serde_json::Map::new();
        for ((name, good), choice) in fields.iter().zip(good).zip(choices) {
            match choice {
                None => drop(object.insert((*name).to_owned(), good)),
                Some(Value::Null) => {}
                Some(other) => drop(object.insert((*name).to_owned(), other)),
            }
        }
        serde_json::to_vec(&Value::Object(object)).unwrap()
    });
    prop_oneof![
        4 => near_valid,
        4 => object,
        2 => prop::collection::vec(any::<u8>(), 0..256),
        2 => truncated,
        1 => Just(vec![b' '; refresher::providers::MAX_BODY_BYTES + 2]),
    ]
}

fn scalar_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        prop::sample::select(vec![
            "",
            MARKER,
            "invalid_grant",
            "invalid_client",
            "slow_down",
            "x y"
        ])
        .prop_map(Value::from),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "access_token",
        "refresh_token",
        "expires_in",
        "refresh_expires_in",
        "scope",
        "error",
        "error_description",
        "message",
        "code",
        "type",
        "data",
        "open_id",
        "token_type",
    ])
    .prop_map(str::to_owned)
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        prop::sample::select(vec![200u16, 400, 401, 403, 408, 429, 500, 502, 503]),
        100u16..600,
    ]
}

fn headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop::sample::select(vec![
        "retry-after",
        "x-ratelimit-reset",
        "x-ratelimit-remaining",
        "x-ratelimit-used",
        "date",
    ]);
    let value = prop_oneof![
        "[0-9]{0,12}",
        "[ -~]{0,30}",
        Just("Wed, 21 Oct 2015 07:28:00 GMT".to_owned())
    ];
    prop::collection::vec((name.prop_map(str::to_owned), value), 0..3)
}

#[test]
fn any_provider_answer_parses_or_fails_without_quoting_it() {
    let adapters: Vec<(&str, Box<dyn Provider>)> = vec![
        ("tiktok", Box::new(TikTok::new(None, None))),
        (
            "reddit",
            Box::new(Reddit::new(None, "web:test:1 (by /u/t)".to_owned())),
        ),
        ("instagram", Box::new(Instagram::new(None, None))),
        (
            "oauth2",
            Box::new(OAuth2::new(
                "https://a.example/token".to_owned(),
                ClientAuth::Basic,
                None,
            )),
        ),
    ];
    let strategy = (0..adapters.len(), status(), headers(), body());
    let (tried, parsed, failed) = (Cell::new(0u32), Cell::new(0u32), Cell::new(0u32));
    runner(6_000)
        .run(&strategy, |(which, status, headers, body)| {
            let (name, adapter) = &adapters[which];
            tried.set(tried.get() + 1);
            match adapter.parse(status, &headers, &body, 1_000) {
                Ok(set) => {
                    parsed.set(parsed.get() + 1);
                    prop_assert!(
                        !set.access_token.is_empty(),
                        "{name}: success without a token"
                    );
                    prop_assert!(
                        (200..300).contains(&status),
                        "{name}: success on HTTP {status}"
                    );
                }
                Err(err) => {
                    failed.set(failed.get() + 1);
                    let text = err.to_string();
                    prop_assert!(
                        !text.contains(MARKER),
                        "{name}: the error quotes the body: {text}"
                    );
                    prop_assert!(
                        !format!("{err:?}").contains(MARKER),
                        "{name}: Debug quotes the body"
                    );
                }
            }
            Ok(())
        })
        .unwrap();
    eprintln!(
        "FIGURE fuzz provider answers: {} answers tried over 4 adapters, {} token sets, {} classified failures, 0 panics, 0 quoting the body",
        tried.get(),
        parsed.get(),
        failed.get()
    );
}

#[test]
fn broken_envelopes_fail_to_open_with_a_reason() {
    let key = DataKey::from_slice(&[7u8; 32]).unwrap();
    let item = ItemKey {
        user_id: "u",
        platform: "tiktok",
    };
    let text = prop_oneof![
        "[A-Za-z0-9+/=]{0,40}",
        "[ -~]{0,40}",
        Just("AAAAAAAAAAAAAAAA".to_owned())
    ];
    let strategy = (0u32..3, text.clone(), text);
    let tried = Cell::new(0u32);
    runner(3_000)
        .run(&strategy, |(version, nonce, ciphertext)| {
            tried.set(tried.get() + 1);
            let envelope = Envelope {
                version,
                key_id: "k".to_owned(),
                encrypted_key: "AA==".to_owned(),
                nonce,
                ciphertext,
            };
            prop_assert!(crypto::open(&key, &envelope, item).is_err());
            Ok(())
        })
        .unwrap();
    eprintln!(
        "FIGURE fuzz envelopes: {} broken envelopes tried, all refused with a reason, 0 panics",
        tried.get()
    );
}
