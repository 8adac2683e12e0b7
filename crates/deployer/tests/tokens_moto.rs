//! `deployer tokens import|list` and `deployer secrets set|list` against the `local` stage on the
//! stand-in, through the binary, checking that no token or secret value is ever printed.

// Helpers of a test fail it by panicking, as the test functions do.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Output;

use aws_sdk_dynamodb::types::AttributeValue;
use refresher::crypto::{ItemKey, KeyCache, TokenFormat};
use refresher::kms::KmsKeySource;
use refresher::store::{DynamoStore, TokenStore};
use serde_json::Value;
use support::{Seen, deploy, deployer, deployer_stdin, json, local_stage, now};
use testkit::moto::Moto;

const TABLE: &str = "oauth-tokens-local";
const SECRET: &str = "OAuthRefreshStack-local/provider-credentials";
/// Every value that must never appear in the commands' output.
const VALUES: [&str; 8] = [
    "AT-SECRET-TIKTOK",
    "RT-SECRET-TIKTOK",
    "AT-SECRET-REDDIT",
    "RT-SECRET-REDDIT",
    "AT-SECRET-BAD",
    "RT-SECRET-BAD",
    "CLIENT-SECRET-TT",
    "CLIENT-SECRET-RD",
];

fn import_file(dir: &std::path::Path, t: u64) -> String {
    let rows = [
        format!(
            r#"{{"userId":"u1","platform":"tiktok","accessToken":"AT-SECRET-TIKTOK","refreshToken":"RT-SECRET-TIKTOK","expiresAt":{}}}"#,
            t + 3600
        ),
        format!(
            r#"{{"userId":"u2","platform":"reddit","accessToken":"AT-SECRET-REDDIT","refreshToken":"RT-SECRET-REDDIT","expiresAt":{},"refreshExpiresAt":{},"status":"active"}}"#,
            t + 10 * 86_400,
            t + 30 * 86_400
        ),
        r#"{"userId":"u3","platform":"myspace","accessToken":"AT-SECRET-BAD","refreshToken":"RT-SECRET-BAD","expiresAt":1}"#.to_owned(),
        r#"{"userId":"u4","platform":"tiktok","accessToken":"AT-SECRET-BAD","expiresAt":"AT-SECRET-BAD"}"#.to_owned(),
    ];
    let path = dir.join("tokens.jsonl");
    std::fs::write(&path, rows.join("\n") + "\n").unwrap();
    path.to_str().unwrap().to_owned()
}

fn import_report(out: &Output) -> Value {
    assert_eq!(out.status.code(), Some(1), "skipped rows exit 1");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_import_list_and_secrets_never_show_values() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let stage = local_stage(dir.path(), |t| t);
    deploy(&moto, &stage);
    let mut seen = Seen::default();
    let file = import_file(dir.path(), now());
    let import = ["--json", "tokens", "import", "--stage", &stage, &file];

    let first = import_report(&seen.keep(deployer(&moto, &import)));
    assert_eq!(first["read"], 4, "{first:#}");
    assert_eq!(first["created"], 2, "{first:#}");
    let skipped: Vec<(u64, Value)> = first["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["line"].as_u64().unwrap(), s["field"].clone()))
        .collect();
    assert_eq!(
        skipped,
        [(3, "platform".into()), (4, "refreshToken".into())],
        "{first:#}"
    );
    check_items_open_with_the_refreshers_code(&moto).await;

    let again = import_report(&seen.keep(deployer(&moto, &import)));
    assert_eq!(
        (again["written"].as_u64(), again["unchanged"].as_u64()),
        (Some(0), Some(2)),
        "{again:#}"
    );

    let text = seen.keep(deployer(&moto, &import[1..]));
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.starts_with("oauth-tokens-local: 4 rows read, 0 written (0 new, 0 updated), 2 unchanged, 2 skipped\n  skipped line 3: `platform`: is not a provider"), "{text}");
    list_checks(&moto, &stage, &mut seen);
    a_refreshed_token_is_never_overwritten(&moto, &import, &mut seen).await;
    secrets_checks(&moto, &stage, &mut seen).await;

    for value in VALUES {
        assert!(
            !seen.0.contains(value),
            "`{value}` was printed:\n{}",
            seen.0
        );
    }
}

async fn check_items_open_with_the_refreshers_code(moto: &Moto) {
    let config = moto.sdk_config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), TABLE, "byExpiry");
    let keys = KeyCache::new(KmsKeySource::new(
        aws_sdk_kms::Client::new(&config),
        "alias/oauth-refresher-local",
        TABLE,
    ));
    let item = store.get("u1", "tiktok").await.unwrap().unwrap();
    assert_eq!(item.version, 1);
    let key = ItemKey {
        user_id: "u1",
        platform: "tiktok",
    };
    let access = keys
        .read(item.access_token.as_ref().unwrap(), key)
        .await
        .unwrap();
    assert_eq!(
        access.format,
        TokenFormat::Envelope,
        "stored as an envelope"
    );
    assert_eq!(access.value.expose(), "AT-SECRET-TIKTOK");
    let refresh = keys
        .read(item.refresh_token.as_ref().unwrap(), key)
        .await
        .unwrap();
    assert_eq!(refresh.value.expose(), "RT-SECRET-TIKTOK");
    let reddit = store.get("u2", "reddit").await.unwrap().unwrap();
    assert!(reddit.refresh_expires_at.is_some());
}

fn list_checks(moto: &Moto, stage: &str, seen: &mut Seen) {
    let all = json(&seen.keep(deployer(
        moto,
        &["--json", "tokens", "list", "--stage", stage],
    )));
    let users: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["u1", "u2"], "sorted by expiry: {all:#}");
    assert_eq!(all["items"][0]["version"], 1);
    assert_eq!(all["items"][0]["status"], "active");
    let due = ["--json", "tokens", "list", "--stage", stage, "--due", "24h"];
    let due = json(&seen.keep(deployer(moto, &due)));
    assert_eq!(due["items"].as_array().unwrap().len(), 1, "{due:#}");
    assert_eq!(due["items"][0]["platform"], "tiktok");
    let reddit = ["tokens", "list", "--stage", stage, "--platform", "reddit"];
    let text = seen.keep(deployer(moto, &reddit));
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.starts_with("USER  PLATFORM  STATUS"), "{text}");
    assert!(
        text.contains("u2    reddit") && !text.contains("u1"),
        "{text}"
    );
}

/// The run refreshed u1 after the export: a re-import must leave the newer token alone.
async fn a_refreshed_token_is_never_overwritten(moto: &Moto, import: &[&str], seen: &mut Seen) {
    let dynamo = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    dynamo
        .update_item()
        .table_name(TABLE)
        .key("userId", AttributeValue::S("u1".into()))
        .key("platform", AttributeValue::S("tiktok".into()))
        .update_expression("SET accessToken = :t, #v = :v")
        .expression_attribute_names("#v", "version")
        .expression_attribute_values(":t", AttributeValue::S("newer-token".into()))
        .expression_attribute_values(":v", AttributeValue::N("2".into()))
        .send()
        .await
        .unwrap();
    let report = import_report(&seen.keep(deployer(moto, import)));
    assert_eq!(report["written"], 0, "{report:#}");
    assert_eq!(report["unchanged"], 1, "{report:#}");
    let skipped = report["skipped"].as_array().unwrap();
    assert_eq!(skipped[0]["line"], 1, "{report:#}");
    assert!(skipped[0]["reason"].as_str().unwrap().contains("differ"));
    let item = dynamo
        .get_item()
        .table_name(TABLE)
        .key("userId", AttributeValue::S("u1".into()))
        .key("platform", AttributeValue::S("tiktok".into()))
        .send()
        .await
        .unwrap();
    let item = item.item().unwrap();
    assert_eq!(item["accessToken"], AttributeValue::S("newer-token".into()));
    assert_eq!(item["version"], AttributeValue::N("2".into()));
}

async fn secrets_checks(moto: &Moto, stage: &str, seen: &mut Seen) {
    let list = ["--json", "secrets", "list", "--stage", stage];
    let before = json(&seen.keep(deployer(moto, &list)));
    assert_eq!(before["exists"], false);
    let set = |provider: &'static str| ["secrets", "set", "--stage", stage, "--provider", provider];
    let out = seen.keep(deployer_stdin(
        moto,
        &set("tiktok"),
        "tt-id\nCLIENT-SECRET-TT\n",
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json_input = r#"{"client_id": "rd-id", "client_secret": "CLIENT-SECRET-RD"}"#;
    let out = seen.keep(deployer_stdin(moto, &set("reddit"), json_input));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("updated "));
    let bad = seen.keep(deployer_stdin(moto, &set("schwab"), "only-one-line\n"));
    assert_eq!(bad.status.code(), Some(1));

    let text = seen.keep(deployer(moto, &list[1..]));
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.contains("  schwab     missing\n"), "{text}");
    let after = json(&seen.keep(deployer(moto, &list)));
    let states: Vec<(String, String)> = after["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["provider"].as_str().unwrap().into(),
                p["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expect = [
        ("instagram", "not_needed"),
        ("reddit", "set"),
        ("schwab", "missing"),
        ("tiktok", "set"),
    ];
    assert_eq!(states, expect.map(|(p, s)| (p.to_owned(), s.to_owned())));

    stored_secret_has_the_refreshers_shape(moto).await;
}

async fn stored_secret_has_the_refreshers_shape(moto: &Moto) {
    let secrets = aws_sdk_secretsmanager::Client::new(&moto.sdk_config().await);
    let stored = secrets
        .get_secret_value()
        .secret_id(SECRET)
        .send()
        .await
        .unwrap();
    let stored: Value = serde_json::from_str(stored.secret_string().unwrap()).unwrap();
    assert_eq!(stored["tiktok"]["client_id"], "tt-id");
    assert_eq!(stored["tiktok"]["client_secret"], "CLIENT-SECRET-TT");
    assert_eq!(stored["reddit"]["client_secret"], "CLIENT-SECRET-RD");
}
