//! The apps' readers work with the stack's reader policy alone (output `TokenReaderPolicyArn`),
//! with IAM enforcement on, and nothing beyond it is allowed: no `Scan`, no `Query`, no write, no
//! other table, no other key's `Decrypt`.
//!
//! The managed policy is read back from the stand-in's IAM (as CloudFormation resolved it) and
//! given to an IAM user; moto judges the actions, the project's fault proxy the resources
//! (`suite::iam`). The Rust, TypeScript and Python readers read through both layers. Prints
//! `FIGURE reader-privilege ...`.

#![allow(
    clippy::too_many_lines,
    reason = "end-to-end scenarios read top to bottom; the 60-line limit is for the product's code"
)]
#![allow(clippy::unwrap_used)]

mod refresher_support;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_kms::primitives::Blob;
use refresher::kms::KmsKeySource;
use refresher_support::Harness;
use serde_json::{Value, json};
use suite::iam::{config, denied, enforce, for_moto, key_arn, user_with};
use suite::readers;
use testkit::fault_proxy::FaultProxy;
use testkit::resource_policy::{Policy, Resolver};
use token_store::reader::{CacheLimits, TokenReader};

const USERS: usize = 5;

/// The stack's reader policy, as the stand-in's IAM holds it.
async fn reader_policy(h: &Harness) -> Value {
    let iam = aws_sdk_iam::Client::new(&h.sdk);
    let policies = iam
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .send()
        .await
        .unwrap();
    let policy = policies
        .policies()
        .iter()
        .find(|p| {
            p.policy_name()
                .is_some_and(|n| n.contains("TokenReaderPolicy"))
        })
        .expect("the stack's TokenReaderPolicy");
    let version = iam
        .get_policy_version()
        .policy_arn(policy.arn().unwrap())
        .version_id(policy.default_version_id().unwrap())
        .send()
        .await
        .unwrap();
    suite::iam::document(version.policy_version().unwrap().document().unwrap())
}

fn user(i: usize) -> String {
    format!("rp-{i:02}")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readers_work_on_the_reader_policy_alone_and_nothing_more() {
    let h = Harness::start().await;
    for i in 0..USERS {
        h.seed("tiktok", &user(i), h.now + 3600).await;
    }
    let resolved = reader_policy(&h).await;
    let own_key = key_arn(&h.sdk, &h.env["KMS_KEY_ID"], "us-east-1", "123456789012").await;
    let kms = aws_sdk_kms::Client::new(&h.sdk);
    let other_key = kms.create_key().send().await.unwrap();
    let other_key = other_key.key_metadata().unwrap().arn().unwrap().to_owned();
    let other_blob = kms
        .generate_data_key()
        .key_id(&other_key)
        .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
        .send()
        .await
        .unwrap()
        .ciphertext_blob()
        .unwrap()
        .clone();
    let (policy, _) = for_moto(resolved.clone());
    let creds = user_with(&h.sdk, "token-reader", &policy).await;
    let proxy = FaultProxy::start(h.moto.endpoint()).await;
    let alias = h.env["KMS_KEY_ID"].clone();
    proxy.set_policy(Some((
        Policy::parse(&resolved).unwrap(),
        Resolver {
            account: "123456789012".to_owned(),
            names: [(alias, own_key.clone())].into_iter().collect(),
        },
    )));
    let sdk = config(&proxy.endpoint(), &creds).await;
    let direct = config(h.moto.endpoint(), &creds).await;
    enforce(h.moto.endpoint()).await;

    // The three readers, through both layers.
    let table = h.env["TOKENS_TABLE"].clone();
    let rust = TokenReader::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        &table,
        KmsKeySource::new(aws_sdk_kms::Client::new(&sdk), "", &table),
        Some(own_key.clone()),
        CacheLimits::default(),
    );
    let mut read = 0;
    for i in 0..USERS {
        let token = rust.get_token(&user(i), "tiktok", 60).await.unwrap();
        let current = h
            .fakes
            .current(provider_fakes::Provider::Tiktok, &user(i))
            .unwrap();
        assert!(
            token.access_token.expose() == current.access_token,
            "rust: {}",
            user(i)
        );
        read += 1;
    }
    let keys: Vec<Value> = (0..USERS)
        .map(|i| json!({"userId": user(i), "platform": "tiktok"}))
        .collect();
    let env = readers::env(
        &table,
        &own_key,
        &proxy.endpoint(),
        creds.access_key_id(),
        creds.secret_access_key(),
    );
    for (name, command) in readers::scripts() {
        let (lines, _) = readers::read(command, &env, &keys);
        for line in &lines {
            assert_eq!(line["ok"], json!(true), "{name}: {line}");
        }
        read += lines.len();
    }
    let reads = proxy.policy_checks();

    // Beyond the policy: moto's enforcement refuses actions, the proxy's check resources.
    let dynamodb = aws_sdk_dynamodb::Client::new(&direct);
    let key = |u: &str| {
        [
            ("userId".to_owned(), AttributeValue::S(u.to_owned())),
            (
                "platform".to_owned(),
                AttributeValue::S("tiktok".to_owned()),
            ),
        ]
        .into_iter()
        .collect::<std::collections::HashMap<_, _>>()
    };
    let mut refused = vec![
        (
            "dynamodb:Scan",
            denied(dynamodb.scan().table_name(&table).send().await),
        ),
        (
            "dynamodb:Query",
            denied(
                dynamodb
                    .query()
                    .table_name(&table)
                    .key_condition_expression("userId = :u")
                    .expression_attribute_values(":u", AttributeValue::S(user(0)))
                    .send()
                    .await,
            ),
        ),
        (
            "dynamodb:PutItem",
            denied(
                dynamodb
                    .put_item()
                    .table_name(&table)
                    .set_item(Some(key("rp-new")))
                    .send()
                    .await,
            ),
        ),
        (
            "dynamodb:UpdateItem",
            denied(
                dynamodb
                    .update_item()
                    .table_name(&table)
                    .set_key(Some(key(&user(0))))
                    .update_expression("SET x = :x")
                    .expression_attribute_values(":x", AttributeValue::N("1".to_owned()))
                    .send()
                    .await,
            ),
        ),
        (
            "dynamodb:DeleteItem",
            denied(
                dynamodb
                    .delete_item()
                    .table_name(&table)
                    .set_key(Some(key(&user(0))))
                    .send()
                    .await,
            ),
        ),
        (
            "kms:GenerateDataKey",
            denied(
                aws_sdk_kms::Client::new(&direct)
                    .generate_data_key()
                    .key_id(&own_key)
                    .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
                    .send()
                    .await,
            ),
        ),
    ];
    let through_proxy = aws_sdk_dynamodb::Client::new(&sdk);
    refused.push((
        "dynamodb:GetItem on the analytics table",
        denied(
            through_proxy
                .get_item()
                .table_name(&h.env["ANALYTICS_TABLE"])
                .set_key(Some(key(&user(0))))
                .send()
                .await,
        ),
    ));
    refused.push((
        "kms:Decrypt with another key",
        denied(
            aws_sdk_kms::Client::new(&sdk)
                .decrypt()
                .key_id(&other_key)
                .ciphertext_blob(Blob::new(other_blob.into_inner()))
                .send()
                .await,
        ),
    ));
    let allowed: Vec<&str> = refused
        .iter()
        .filter(|(_, d)| !*d)
        .map(|(n, _)| *n)
        .collect();
    eprintln!(
        "FIGURE reader-privilege: with IAM enforcement on, the Rust, TypeScript and Python readers read {read} of {} \
         tokens on the reader policy alone; their calls judged on resources {}, on action only {}, refused {}; \
         beyond the policy denied {}/{}; allowed (should be none): {allowed:?}",
        3 * USERS,
        reads.on_resources,
        reads.on_action_only,
        reads.denied.len(),
        refused.len() - allowed.len(),
        refused.len()
    );
    assert_eq!(read, 3 * USERS);
    assert!(
        reads.denied.is_empty(),
        "a reader needed more than the policy: {:?}",
        reads.denied
    );
    assert!(
        reads.on_resources > 0 && reads.on_action_only == 0,
        "{reads:?}"
    );
    assert!(
        allowed.is_empty(),
        "allowed beyond the reader policy: {allowed:?}"
    );
}
