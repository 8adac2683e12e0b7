//! Input parsing and merging into the secret's JSON: never a value in a message.

use serde_json::json;

use super::*;

fn creds(id: &str, secret: &str) -> ClientCredentials {
    ClientCredentials {
        client_id: id.to_owned(),
        client_secret: SecretString::new(secret),
    }
}

#[test]
fn input_as_two_lines_or_json() {
    let two = parse_input("\n  my-id \nSECRET-VALUE\n\n").unwrap();
    assert_eq!(two.client_id, "my-id");
    assert_eq!(two.client_secret.expose(), "SECRET-VALUE");
    let json = parse_input(r#"{"client_id": "my-id", "client_secret": "SECRET-VALUE"}"#).unwrap();
    assert_eq!(json.client_secret.expose(), "SECRET-VALUE");
    for bad in [
        "SECRET-VALUE",
        "a\nb\nSECRET-VALUE",
        r#"{"client_id": "SECRET-VALUE"}"#,
        r#"{"client_id": "a", "client_secret": "SECRET-VALUE""#,
    ] {
        let err = parse_input(bad).unwrap_err();
        assert!(!err.contains("SECRET"), "{err}");
    }
    assert!(
        parse_input(r#"{"client_id": 1, "client_secret": "s"}"#)
            .unwrap_err()
            .starts_with("the input has no `client_id` string")
    );
}

#[test]
fn merge_keeps_other_providers_and_replaces_this_one() {
    let existing = r#"{"reddit": {"client_id": "r", "client_secret": "rs"},
                       "tiktok": {"client_id": "old", "client_secret": "old-s"}}"#;
    let merged = merge(Some(existing), "tiktok", &creds("new", "new-s")).unwrap();
    let value: Value = serde_json::from_str(merged.expose()).unwrap();
    assert_eq!(
        value,
        json!({"reddit": {"client_id": "r", "client_secret": "rs"},
               "tiktok": {"client_id": "new", "client_secret": "new-s"}})
    );
    let fresh = merge(None, "reddit", &creds("i", "s")).unwrap();
    assert_eq!(
        fresh.expose(),
        r#"{"reddit":{"client_id":"i","client_secret":"s"}}"#
    );
    let err = merge(Some("[\"SECRET\"]"), "reddit", &creds("i", "s")).unwrap_err();
    assert!(err.starts_with("the secret is not a JSON object"), "{err}");
    assert!(!err.contains("SECRET\""), "{err}");
}
