//! Proof scenario 6 of RELIABILITY.md: the refresher runs with exactly the permissions of its
//! rendered role, with the stand-in's IAM enforcement on, and what the role must not do is denied.
//!
//! The stack's role policy is read back from the stand-in's IAM (as CloudFormation resolved it)
//! and given to an IAM user whose keys the refresher then uses. One adaptation, stated: moto
//! matches policy resources only when they are `*` (AWS-FACTS.md; its matcher even fails on `?`
//! wildcards), so every statement's resources become `*` here and the role is held to exactly its
//! rendered actions. Which resources each statement names is checked statically:
//! `render_stages::every_policy_statement_names_its_resources` (no `*` except where AWS allows
//! nothing narrower) and the resolved ARNs printed below. Prints `FIGURE least-privilege ...`.

#![allow(clippy::unwrap_used)]

mod refresher_support;

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use refresher::run::{self, RunInput, RunOptions, RunResponse};
use refresher_support::Harness;
use serde_json::{Value, json};

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
    let text = policy.policy_document();
    // moto 5.2 answers with the Python repr of the document for a role CloudFormation created
    // (single quotes); this document has no quote inside a value.
    let decoded = urlencoding_decode(text).replace('\'', "\"");
    serde_json::from_str(&decoded).unwrap_or_else(|e| panic!("{e}: {decoded}"))
}

/// IAM returns policy documents URL-encoded.
fn urlencoding_decode(text: &str) -> String {
    if text.trim_start().starts_with('{') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// Every statement's resources become `*`: moto matches policy resources only when they are `*`
/// (DynamoDB, Secrets Manager; `?` wildcards even fail its matcher), so the test holds the role to
/// exactly its rendered *actions*. Which resources each statement names is checked statically.
fn for_moto(mut policy: Value) -> (Value, usize) {
    let statements = policy["Statement"].as_array_mut().unwrap();
    for statement in statements.iter_mut() {
        statement["Resource"] = json!("*");
    }
    let count = statements.len();
    (policy, count)
}

/// Whether a call was refused for lack of permission (not for any other reason).
fn denied<T, E: std::fmt::Debug>(result: Result<T, E>) -> bool {
    match result {
        Ok(_) => false,
        Err(err) => {
            let text = format!("{err:?}");
            text.contains("AccessDenied") || text.contains("not authorized")
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_refresher_runs_on_its_role_alone_and_nothing_more() {
    let h = Harness::start().await;
    for i in 0..20 {
        h.seed("tiktok", &format!("lp-{i:02}"), h.now + 60).await;
    }
    let (policy, widened) = for_moto(role_policy(&h).await);
    let iam = aws_sdk_iam::Client::new(&h.sdk);
    iam.create_user()
        .user_name("refresher")
        .send()
        .await
        .unwrap();
    iam.put_user_policy()
        .user_name("refresher")
        .policy_name("refresher")
        .policy_document(policy.to_string())
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name("refresher")
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    let creds = aws_sdk_s3::config::Credentials::new(
        key.access_key_id(),
        key.secret_access_key(),
        None,
        None,
        "iam-user",
    );
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(h.moto.endpoint())
        .credentials_provider(creds)
        .load()
        .await;

    // IAM enforcement on from the next request.
    let client = reqwest::Client::new();
    let reset = client
        .post(format!("{}/moto-api/reset-auth", h.moto.endpoint()))
        .body("0")
        .send()
        .await
        .unwrap();
    assert!(reset.status().is_success());

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

    let table = h.env["TOKENS_TABLE"].clone();
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let kms = aws_sdk_kms::Client::new(&sdk);
    let key_id = h.env["KMS_KEY_ID"].clone();
    let user_key = |name: &str| {
        [
            ("userId".to_owned(), AttributeValue::S(name.to_owned())),
            (
                "platform".to_owned(),
                AttributeValue::S("tiktok".to_owned()),
            ),
        ]
        .into_iter()
        .collect::<std::collections::HashMap<_, _>>()
    };
    let checks: Vec<(&str, bool)> = vec![
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
                aws_sdk_iam::Client::new(&sdk)
                    .create_user()
                    .user_name("x")
                    .send()
                    .await,
            ),
        ),
    ];
    // Resource-level denials (Query on the analytics table, another table's items) cannot be
    // shown here (resources are `*` for moto); the rendered statements name one resource each.
    let refused: Vec<&str> = checks.iter().filter(|(_, d)| *d).map(|(n, _)| *n).collect();
    let allowed: Vec<&str> = checks
        .iter()
        .filter(|(_, d)| !*d)
        .map(|(n, _)| *n)
        .collect();
    eprintln!(
        "FIGURE least-privilege: with IAM enforcement on, the refresher on its rendered role's policy \
         ({widened} statements, resources widened to * for moto) refreshed {} of 20, failed {}; \
         denied {}/{}: {refused:?}; allowed (should be none): {allowed:?}",
        summary.refreshed,
        summary.failed,
        refused.len(),
        checks.len()
    );
    assert_eq!(summary.refreshed, 20, "{summary:?}");
    assert!(allowed.is_empty(), "allowed beyond the role: {allowed:?}");
}
