//! Input parsing, merging into the secret's JSON, and provider states: never a value in a message.

use super::*;

fn creds(id: &str, secret: &str) -> ClientCredentials {
    ClientCredentials {
        client_id: SecretString::new(id),
        client_secret: SecretString::new(secret),
    }
}

#[test]
fn input_as_two_lines_or_json() {
    let two = parse_input("\n  my-id \nSECRET-VALUE\n\n").unwrap();
    assert_eq!(two.client_id.expose(), "my-id");
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

#[test]
fn states_per_configured_provider() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../stages/local.yaml");
    let stage = stage::load(&path).unwrap();
    let secret = r#"{"tiktok": {"client_id": "i", "client_secret": "s"},
                     "reddit": {"client_id": "i"}, "other": {}}"#;
    let shown: Vec<(String, &str)> = states(&stage, Some(secret))
        .unwrap()
        .into_iter()
        .map(|p| (p.provider, p.state))
        .collect();
    let expect = [
        ("instagram", "not_needed"),
        ("reddit", "invalid"),
        ("schwab", "missing"),
        ("tiktok", "set"),
    ];
    assert_eq!(shown, expect.map(|(p, s)| (p.to_owned(), s)));
    assert_eq!(states(&stage, None).unwrap().len(), 4);
}
