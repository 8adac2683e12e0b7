//! Proof scenario 6 of RELIABILITY.md: the refresher runs with exactly the permissions of its
//! rendered role, with IAM enforcement on, and what the role must not do is denied.
//!
//! The stack's role policy is read back from the stand-in's IAM (as CloudFormation resolved it)
//! and given to an IAM user whose keys the refresher then uses. Two layers enforce it:
//! - moto's own IAM enforcement judges every call's *action* (it matches resources only as `*`
//!   for DynamoDB, KMS and Secrets Manager, so it is given the policy with `*` resources);
//! - the project's fault proxy, in front of moto, judges every call's *resources* against the
//!   resolved policy as written (`testkit::resource_policy`): the table and its index, the key,
//!   the secret with AWS's random suffix, the bus, the queue.
//!
//! The run must succeed through both (so the rendered resources are the ones the refresher
//! uses), and the same actions on other tables, indexes, keys, secrets, buses and queues must be
//! refused. Prints `FIGURE least-privilege ...`.

#![allow(
    clippy::too_many_lines,
    reason = "end-to-end scenarios read top to bottom; the 60-line limit is for the product's code"
)]
#![allow(clippy::unwrap_used)]

mod refresher_support;

use std::sync::Arc;

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use refresher::run::{self, RunInput, RunOptions, RunResponse};
use refresher_support::Harness;
use serde_json::Value;
use suite::iam::{config, denied, enforce, for_moto, key_arn, user_with};
use testkit::fault_proxy::FaultProxy;
use testkit::resource_policy::{Policy, Resolver};

/// The rendered role's policy document, as the stand-in holds it.
async fn role_policy(h: &Harness) -> Value {
    let iam = aws_sdk_iam::Client::new(&h.sdk);
    let roles = iam.list_roles().send().await.unwrap();
    let role = roles
        .roles()
        .iter()
        .find(|r| r.role_name().contains("RefresherRole"))
        .expect("the stack's refresher role");
    let policy = iam
        .get_role_policy()
        .role_name(role.role_name())
        .policy_name("refresher")
        .send()
        .await
        .unwrap();
    suite::iam::document(policy.policy_document())
}

/// Resources outside the role, made before enforcement starts, and the names the proxy's check
/// needs resolved (the key's alias, the secrets' names).
struct Others {
    table: String,
    key: String,
    secret: String,
    queue: String,
    names: BTreeMap<String, String>,
}

async fn others(h: &Harness) -> Others {
    let dynamodb = aws_sdk_dynamodb::Client::new(&h.sdk);
    dynamodb
        .create_table()
        .table_name("someone-elses-table")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("userId")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("userId")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let kms = aws_sdk_kms::Client::new(&h.sdk);
    let key = kms.create_key().send().await.unwrap();
    let key = key.key_metadata().unwrap().arn().unwrap().to_owned();
    // The stack's alias and the key it names.
    let alias = h.env["KMS_KEY_ID"].clone();
    let own_key = key_arn(&h.sdk, &alias, "us-east-1", "123456789012").await;
    let target = own_key.rsplit('/').next().unwrap().to_owned();
    let secrets = aws_sdk_secretsmanager::Client::new(&h.sdk);
    secrets
        .create_secret()
        .name("someone-elses-secret")
        .secret_string("{}")
        .send()
        .await
        .unwrap();
    let mut names = BTreeMap::new();
    names.insert(alias, own_key.clone());
    names.insert(target, own_key);
    for id in [
        h.env["CREDENTIALS_SECRET_ID"].as_str(),
        "someone-elses-secret",
    ] {
        let described = secrets
            .describe_secret()
            .secret_id(id)
            .send()
            .await
            .unwrap();
        names.insert(id.to_owned(), described.arn().unwrap().to_owned());
    }
    let sqs = aws_sdk_sqs::Client::new(&h.sdk);
    let queue = sqs
        .create_queue()
        .queue_name("someone-elses-queue")
        .send()
        .await
        .unwrap();
    Others {
        table: "someone-elses-table".to_owned(),
        key,
        secret: "someone-elses-secret".to_owned(),
        queue: queue.queue_url().unwrap().to_owned(),
        names,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_refresher_runs_on_its_role_alone_and_nothing_more() {
    let h = Harness::start().await;
    for i in 0..20 {
        h.seed("tiktok", &format!("lp-{i:02}"), h.now + 60).await;
    }
    let resolved = role_policy(&h).await;
    let others = others(&h).await;
    let (policy, widened) = for_moto(resolved.clone());
    let creds = user_with(&h.sdk, "refresher", &policy).await;
    let proxy = FaultProxy::start(h.moto.endpoint()).await;
    proxy.set_policy(Some((
        Policy::parse(&resolved).unwrap(),
        Resolver {
            account: "123456789012".to_owned(),
            names: others.names.clone(),
        },
    )));
    // The refresher and the resource checks through both layers; the action checks straight to
    // moto, so that its enforcement is what refuses them.
    let sdk = config(&proxy.endpoint(), &creds).await;
    let direct = config(h.moto.endpoint(), &creds).await;
    enforce(h.moto.endpoint()).await;

    let deps = refresher::handler::build_deps(&sdk, h.env.clone(), h.emf.clone())
        .await
        .unwrap();
    let input = RunInput {
        providers: vec!["tiktok".to_owned()],
        dry_run: false,
    };
    let RunResponse::Completed(summary) = run::run(Arc::new(deps), input, RunOptions::new(None))
        .await
        .unwrap()
    else {
        panic!("locked")
    };
    let run_checks = proxy.policy_checks();

    let mut checks = action_checks(&h, &direct).await;
    let by_moto = checks.iter().filter(|(_, d)| *d).count();
    checks.extend(resource_checks(&h, &sdk, &others).await);
    let by_proxy = proxy.policy_checks().denied.len() - run_checks.denied.len();
    let refused: Vec<&str> = checks.iter().filter(|(_, d)| *d).map(|(n, _)| *n).collect();
    let allowed: Vec<&str> = checks
        .iter()
        .filter(|(_, d)| !*d)
        .map(|(n, _)| *n)
        .collect();
    let own_dlq = denied(
        aws_sdk_sqs::Client::new(&sdk)
            .send_message()
            .queue_url(&h.env["DLQ_URL"])
            .message_body("{}")
            .send()
            .await,
    );
    eprintln!(
        "FIGURE least-privilege: with IAM enforcement on (moto: actions of the rendered role, {widened} statements; \
         the fault proxy: their resources as resolved), the refresher refreshed {} of 20, failed {}; its calls judged on \
         their resources {}, on their action only {} (calls naming no resource), refused {}; \
         denied {}/{} (moto's enforcement {by_moto}, the proxy's resource check {by_proxy}): {refused:?}; \
         allowed (should be none): {allowed:?}; a recovery record to its own DLQ allowed: {}",
        summary.refreshed,
        summary.failed,
        run_checks.on_resources,
        run_checks.on_action_only,
        run_checks.denied.len(),
        refused.len(),
        checks.len(),
        !own_dlq
    );
    assert_eq!(summary.refreshed, 20, "{summary:?}");
    assert!(
        run_checks.denied.is_empty(),
        "the refresher needed a resource its role does not name: {:?}",
        run_checks.denied
    );
    // Every call the refresher made was judged on the resources it names.
    assert!(
        run_checks.on_resources > 0 && run_checks.on_action_only == 0 && run_checks.not_read == 0,
        "{run_checks:?}"
    );
    assert!(allowed.is_empty(), "allowed beyond the role: {allowed:?}");
    assert_eq!(
        by_proxy,
        checks.len() - by_moto,
        "every resource check refused by the proxy: {:?}",
        proxy.policy_checks().denied
    );
    assert!(!own_dlq, "the role must reach its own DLQ");
}

/// Actions the role does not have, on its own resources (moto's enforcement refuses them).
async fn action_checks(h: &Harness, sdk: &aws_config::SdkConfig) -> Vec<(&'static str, bool)> {
    let table = h.env["TOKENS_TABLE"].clone();
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let kms = aws_sdk_kms::Client::new(sdk);
    let key_id = h.env["KMS_KEY_ID"].clone();
    vec![
        (
            "dynamodb:Scan",
            denied(dynamodb.scan().table_name(&table).send().await),
        ),
        (
            "dynamodb:DeleteItem",
            denied(
                dynamodb
                    .delete_item()
                    .table_name(&table)
                    .set_key(Some(user_key("lp-00")))
                    .send()
                    .await,
            ),
        ),
        (
            "dynamodb:DeleteTable",
            denied(dynamodb.delete_table().table_name(&table).send().await),
        ),
        (
            "kms:ScheduleKeyDeletion",
            denied(kms.schedule_key_deletion().key_id(&key_id).send().await),
        ),
        (
            "kms:DisableKey",
            denied(kms.disable_key().key_id(&key_id).send().await),
        ),
        (
            "kms:PutKeyPolicy",
            denied(
                kms.put_key_policy()
                    .key_id(&key_id)
                    .policy("{}")
                    .send()
                    .await,
            ),
        ),
        (
            "iam:CreateUser",
            denied(
                aws_sdk_iam::Client::new(sdk)
                    .create_user()
                    .user_name("x")
                    .send()
                    .await,
            ),
        ),
    ]
}

/// Actions the role has, on resources it does not name (the proxy's check refuses them; SQS
/// queues moto checks too).
async fn resource_checks(
    h: &Harness,
    sdk: &aws_config::SdkConfig,
    others: &Others,
) -> Vec<(&'static str, bool)> {
    let tokens = h.env["TOKENS_TABLE"].clone();
    let analytics = h.env["ANALYTICS_TABLE"].clone();
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let query = |table: &str, index: Option<&str>| {
        dynamodb
            .query()
            .table_name(table)
            .set_index_name(index.map(str::to_owned))
            .key_condition_expression("platform = :p")
            .expression_attribute_values(":p", AttributeValue::S("tiktok".to_owned()))
    };
    let kms = aws_sdk_kms::Client::new(sdk);
    vec![
        (
            "dynamodb:Query on the tokens table itself (only its index is granted)",
            denied(query(&tokens, None).send().await),
        ),
        // The analytics table may be queried (the token API's `status` action runs on this
        // role); another table may not.
        (
            "dynamodb:Query on another table",
            denied(query(&others.table, None).send().await),
        ),
        (
            "dynamodb:GetItem on another table",
            denied(
                dynamodb
                    .get_item()
                    .table_name(&others.table)
                    .key("userId", AttributeValue::S("lp-00".to_owned()))
                    .send()
                    .await,
            ),
        ),
        (
            "dynamodb:UpdateItem on the analytics table",
            denied(
                dynamodb
                    .update_item()
                    .table_name(&analytics)
                    .set_key(Some(user_key("lp-00")))
                    .update_expression("SET x = :x")
                    .expression_attribute_values(":x", AttributeValue::N("1".to_owned()))
                    .send()
                    .await,
            ),
        ),
        (
            "dynamodb:PutItem on the tokens table (only the analytics table's)",
            denied(
                dynamodb
                    .put_item()
                    .table_name(&tokens)
                    .set_item(Some(user_key("lp-99")))
                    .send()
                    .await,
            ),
        ),
        (
            "kms:GenerateDataKey with another key",
            denied(
                kms.generate_data_key()
                    .key_id(&others.key)
                    .number_of_bytes(32)
                    .send()
                    .await,
            ),
        ),
        (
            "secretsmanager:GetSecretValue of another secret",
            denied(
                aws_sdk_secretsmanager::Client::new(sdk)
                    .get_secret_value()
                    .secret_id(&others.secret)
                    .send()
                    .await,
            ),
        ),
        (
            "events:PutEvents to the default bus",
            denied(
                aws_sdk_eventbridge::Client::new(sdk)
                    .put_events()
                    .entries(
                        PutEventsRequestEntry::builder()
                            .source("oauth-refresher")
                            .detail_type("probe")
                            .detail("{}")
                            .build(),
                    )
                    .send()
                    .await,
            ),
        ),
        (
            "sqs:SendMessage to another queue",
            denied(
                aws_sdk_sqs::Client::new(sdk)
                    .send_message()
                    .queue_url(&others.queue)
                    .message_body("{}")
                    .send()
                    .await,
            ),
        ),
    ]
}

fn user_key(name: &str) -> std::collections::HashMap<String, AttributeValue> {
    [
        ("userId".to_owned(), AttributeValue::S(name.to_owned())),
        (
            "platform".to_owned(),
            AttributeValue::S("tiktok".to_owned()),
        ),
    ]
    .into_iter()
    .collect()
}
