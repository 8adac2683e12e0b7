//! `deployer dlq` against the local AWS stand-in, through the binary as an operator runs it. The
//! DLQ gets a recovery record made and sent by the refresher's own code (`AwsSignals::recovery`,
//! envelopes sealed with the stage's KMS key), a second one based on a stale version, an
//! `EventBridge` dead letter and a Lambda on-failure record. Then: `list` and `show` leave them
//! in place and print no secret; `replay` restores the lost rotated token (and keeps the stale
//! record); `redrive` re-invokes the function for the failed deliveries; `purge` empties the queue.

#![allow(
    clippy::too_many_lines,
    reason = "end-to-end scenarios read top to bottom; the 60-line limit is for the product's code"
)]
// Helpers of a test fail it by panicking, as the test functions do.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Output;

use aws_sdk_sqs::types::MessageAttributeValue;
use refresher::crypto::{Envelope, ItemKey, KeyCache};
use refresher::events::{AwsSignals, RecoveryRecord, Signals};
use refresher::kms::KmsKeySource;
use refresher::secret::SecretString;
use refresher::store::{DynamoStore, TokenStore};
use serde_json::Value;
use support::{Seen, deploy, deployer, local_stage, now};
use testkit::moto::Moto;

const DLQ: &str = "RefreshOAuth-local-dlq";
const TABLE: &str = "oauth-tokens-local";
const KEY_ALIAS: &str = "alias/oauth-refresher-local";
const RULE_ARN: &str = "arn:aws:events:us-east-1:123456789012:rule/RefreshOAuthRate15m-local";

impl Seen {
    fn run(&mut self, moto: &Moto, args: &[&str]) -> Output {
        self.keep(deployer(moto, args))
    }

    /// Runs a `--json` command, checks its exit code and parses stdout.
    fn json(&mut self, moto: &Moto, args: &[&str], code: i32) -> Value {
        let out = self.run(moto, args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

struct Fixture {
    sqs: aws_sdk_sqs::Client,
    url: String,
    store: DynamoStore,
    keys: KeyCache<KmsKeySource>,
    /// Every secret or envelope part that must never be printed.
    secrets: Vec<String>,
}

impl Fixture {
    async fn new(moto: &Moto) -> Self {
        let config = moto.sdk_config().await;
        let sqs = aws_sdk_sqs::Client::new(&config);
        let url = sqs
            .get_queue_url()
            .queue_name(DLQ)
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_owned();
        Self {
            store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), TABLE, "byExpiry"),
            keys: KeyCache::new(KmsKeySource::new(
                aws_sdk_kms::Client::new(&config),
                KEY_ALIAS,
                TABLE,
            )),
            sqs,
            url,
            secrets: Vec::new(),
        }
    }

    async fn seal(&mut self, value: &str, user_id: &str, platform: &str) -> Envelope {
        self.secrets.push(value.to_owned());
        secret_ledger::record("deployer-tests:dlq", value);
        let item = ItemKey { user_id, platform };
        let envelope = self
            .keys
            .encrypt(&SecretString::new(value), item)
            .await
            .unwrap();
        self.secrets
            .extend([envelope.ciphertext.clone(), envelope.nonce.clone()]);
        self.secrets.push(envelope.encrypted_key.clone());
        envelope
    }

    /// A recovery record, sent to the DLQ by the refresher's own signal code.
    async fn recovery(
        &mut self,
        config: &aws_config::SdkConfig,
        user: &str,
        platform: &str,
        seen: u64,
    ) -> RecoveryRecord {
        let record = RecoveryRecord {
            user_id: user.to_owned(),
            platform: platform.to_owned(),
            seen_version: seen,
            expires_at: Some(now() + 7200),
            refresh_expires_at: None,
            access_token: self
                .seal(&format!("AT-ROTATED-{user}"), user, platform)
                .await,
            refresh_token: Some(
                self.seal(&format!("RT-ROTATED-{user}"), user, platform)
                    .await,
            ),
        };
        self.queue(config, &record).await;
        record
    }

    /// Sends `record` to the DLQ as the refresher does.
    async fn queue(&self, config: &aws_config::SdkConfig, record: &RecoveryRecord) {
        let signals = AwsSignals {
            events: aws_sdk_eventbridge::Client::new(config),
            event_bus: "unused".to_owned(),
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            analytics_table: "unused".to_owned(),
            sqs: self.sqs.clone(),
            dlq_url: self.url.clone(),
        };
        signals.recovery(record).await.unwrap();
    }

    async fn send(&self, body: &str, attributes: &[(&str, &str)]) {
        let mut request = self
            .sqs
            .send_message()
            .queue_url(&self.url)
            .message_body(body);
        for (name, value) in attributes {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(*value)
                .build()
                .unwrap();
            request = request.message_attributes(*name, value);
        }
        request.send().await.unwrap();
    }
}

fn import_tokens(moto: &Moto, dir: &std::path::Path, stage: &str) {
    let t = now();
    let rows = [
        format!(
            r#"{{"userId":"u1","platform":"tiktok","accessToken":"AT-OLD-U1","refreshToken":"RT-OLD-U1","expiresAt":{}}}"#,
            t + 600
        ),
        format!(
            r#"{{"userId":"u2","platform":"reddit","accessToken":"AT-OLD-U2","refreshToken":"RT-OLD-U2","expiresAt":{}}}"#,
            t + 600
        ),
    ];
    let path = dir.join("tokens.jsonl");
    std::fs::write(&path, rows.join("\n") + "\n").unwrap();
    let out = deployer(
        moto,
        &["tokens", "import", "--stage", stage, path.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn kinds(list: &Value) -> Vec<(String, String)> {
    let mut kinds: Vec<(String, String)> = list["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["kind"].as_str().unwrap().to_owned(),
                m["summary"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    kinds.sort();
    kinds
}

fn id_of(list: &Value, summary_part: &str) -> String {
    list["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["summary"].as_str().unwrap().contains(summary_part))
        .unwrap_or_else(|| panic!("no message `{summary_part}` in {list:#}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn dlq_list_show_replay_redrive_purge() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let stage = local_stage(dir.path(), |t| t);
    deploy(&moto, &stage);
    import_tokens(&moto, dir.path(), &stage);
    let config = moto.sdk_config().await;
    let mut fx = Fixture::new(&moto).await;
    // u1's refresh was based on version 1 (the imported item): the record restores it. u2's
    // was based on version 0, so the item moved on since: that record must be kept.
    let u1_record = fx.recovery(&config, "u1", "tiktok", 1).await;
    fx.recovery(&config, "u2", "reddit", 0).await;
    fx.send(
        r#"{"version":"0","id":"e1","detail-type":"Scheduled Event","source":"aws.events","detail":{}}"#,
        &[("RULE_ARN", RULE_ARN), ("ERROR_CODE", "ThrottlingException"), ("ERROR_MESSAGE", "Rate exceeded"), ("RETRY_ATTEMPTS", "185")],
    )
    .await;
    fx.send(
        r#"{"version":"1.0","requestContext":{"requestId":"r1","condition":"RetriesExhausted","approximateInvokeCount":3},"requestPayload":{"providers":["schwab"]},"responseContext":{"statusCode":200,"functionError":"Unhandled"},"responsePayload":{"errorType":"Retryable"}}"#,
        &[],
    )
    .await;
    let mut seen = Seen::default();
    let list_args = ["--json", "dlq", "--stage", &stage, "list"];

    // list and show look without consuming.
    let list = seen.json(&moto, &list_args, 0);
    assert_eq!(
        (
            list["recovery_records"].as_u64(),
            list["failed_deliveries"].as_u64(),
            list["unknown"].as_u64()
        ),
        (Some(2), Some(2), Some(0)),
        "{list:#}"
    );
    assert_eq!(
        kinds(&list),
        [
            ("failed-delivery".to_owned(), "async invocation failed: RetriesExhausted after 3 attempt(s), Unhandled; providers schwab".to_owned()),
            ("failed-delivery".to_owned(), "rule RefreshOAuthRate15m-local could not deliver: ThrottlingException Rate exceeded (retries 185)".to_owned()),
            ("recovery-record".to_owned(), "user u1 on tiktok: token set based on version 1, with its refresh token".to_owned()),
            ("recovery-record".to_owned(), "user u2 on reddit: token set based on version 0, with its refresh token".to_owned()),
        ]
    );
    let u1 = id_of(&list, "user u1");
    let text = seen.run(&moto, &["dlq", "--stage", &stage, "list"]);
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.contains(&u1) && text.contains("recovery record"),
        "{text}"
    );
    let shown = seen.json(&moto, &["--json", "dlq", "--stage", &stage, "show", &u1], 0);
    assert_eq!(shown["body"]["userId"], "u1", "{shown:#}");
    assert_eq!(shown["body"]["seenVersion"], 1, "{shown:#}");
    assert_eq!(shown["body"]["accessToken"], "[redacted]", "{shown:#}");
    let shown = seen.run(&moto, &["dlq", "--stage", &stage, "show", &u1]);
    assert!(shown.status.success());
    let missing = seen.run(&moto, &["dlq", "--stage", &stage, "show", "no-such-id"]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(
        seen.json(&moto, &list_args, 0)["messages"]
            .as_array()
            .unwrap()
            .len(),
        4,
        "list and show keep the messages"
    );

    // Without a terminal, nothing is done without --yes.
    for action in ["replay", "redrive", "purge"] {
        let out = seen.run(&moto, &["dlq", "--stage", &stage, action]);
        assert_eq!(out.status.code(), Some(1), "{action}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("pass --yes"),
            "{action}"
        );
    }

    replay(&moto, &stage, &fx, &mut seen, (&config, &u1_record)).await;

    // redrive: both failed deliveries are invoked again and deleted; the stale record stays.
    let redrive = seen.json(
        &moto,
        &["--json", "dlq", "--stage", &stage, "redrive", "--yes"],
        0,
    );
    assert_eq!(redrive["method"], "invoke", "{redrive:#}");
    assert_eq!(redrive["target"], "RefreshOAuth-local", "{redrive:#}");
    assert_eq!(redrive["redriven"], 2, "{redrive:#}");
    assert_eq!(redrive["kept"].as_array().unwrap().len(), 1, "{redrive:#}");
    assert_eq!(redrive["kept"][0]["kind"], "recovery-record", "{redrive:#}");
    let list = seen.json(&moto, &list_args, 0);
    assert_eq!(kinds(&list).len(), 1, "{list:#}");

    // purge: everything goes, and the report says a recovery record went with it.
    let purged = seen.json(
        &moto,
        &["--json", "dlq", "--stage", &stage, "purge", "--yes"],
        0,
    );
    assert_eq!(
        (
            purged["purged"].as_u64(),
            purged["recovery_records_purged"].as_u64()
        ),
        (Some(1), Some(1)),
        "{purged:#}"
    );
    let list = seen.json(&moto, &list_args, 0);
    assert!(list["messages"].as_array().unwrap().is_empty(), "{list:#}");

    for secret in &fx.secrets {
        assert!(
            !seen.0.contains(secret.as_str()),
            "`{secret}` was printed:\n{}",
            seen.0
        );
    }
}

/// `replay`: u1's rotated set is written back (version 1 -> 2) and its message deleted; u2's
/// record, based on a version the item has left, is kept and reported (exit 1).
async fn replay(
    moto: &Moto,
    stage: &str,
    fx: &Fixture,
    seen: &mut Seen,
    (config, u1): (&aws_config::SdkConfig, &RecoveryRecord),
) {
    let report = seen.json(
        moto,
        &["--json", "dlq", "--stage", stage, "replay", "--yes"],
        1,
    );
    let restored = report["restored"].as_array().unwrap();
    assert_eq!(restored.len(), 1, "{report:#}");
    assert_eq!(
        (
            restored[0]["user_id"].as_str(),
            restored[0]["based_on_version"].as_u64()
        ),
        (Some("u1"), Some(1))
    );
    let kept = report["kept"].as_array().unwrap();
    assert_eq!(kept.len(), 1, "{report:#}");
    assert!(
        kept[0]["reason"]
            .as_str()
            .unwrap()
            .contains("item u2/reddit is at version 1, the record is based on version 0"),
        "{report:#}"
    );
    assert_eq!(report["other_messages"], 2, "{report:#}");

    let item = fx.store.get("u1", "tiktok").await.unwrap().unwrap();
    assert_eq!(item.version, 2, "the write bumped the version");
    let key = ItemKey {
        user_id: "u1",
        platform: "tiktok",
    };
    let access = fx
        .keys
        .read(item.access_token.as_ref().unwrap(), key)
        .await
        .unwrap();
    assert_eq!(access.value.expose(), "AT-ROTATED-u1");
    let refresh = fx
        .keys
        .read(item.refresh_token.as_ref().unwrap(), key)
        .await
        .unwrap();
    assert_eq!(
        refresh.value.expose(),
        "RT-ROTATED-u1",
        "the rotated refresh token is back"
    );
    let untouched = fx.store.get("u2", "reddit").await.unwrap().unwrap();
    assert_eq!(untouched.version, 1, "the stale record was not applied");

    // u1's set queued again, as when the refresher's write was applied but its answer lost: the
    // item already holds it, so the record goes without a write. The stale record is still kept.
    fx.queue(config, u1).await;
    let again = seen.json(
        moto,
        &["--json", "dlq", "--stage", stage, "replay", "--yes"],
        1,
    );
    let restored = again["restored"].as_array().unwrap();
    assert_eq!(restored.len(), 1, "{again:#}");
    assert_eq!(
        (
            restored[0]["user_id"].as_str(),
            restored[0]["already_stored"].as_bool()
        ),
        (Some("u1"), Some(true)),
        "{again:#}"
    );
    assert_eq!(again["kept"].as_array().unwrap().len(), 1, "{again:#}");
    let item = fx.store.get("u1", "tiktok").await.unwrap().unwrap();
    assert_eq!(item.version, 2, "nothing written");
}
