//! IAM enforcement on the local stand-in, for the least-privilege proofs: a policy document read
//! back as CloudFormation resolved it, an IAM user holding it, and enforcement switched on.
//!
//! moto judges each call's *action* (and matches DynamoDB, KMS and Secrets Manager resources only
//! as `*`, so it is given the policy with `*` resources, [`for_moto`]); the project's fault proxy
//! judges each call's *resources* against the policy as written (`testkit::resource_policy`).

// Helpers fail their test by panicking with the reason, as the test functions do.
#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use aws_config::SdkConfig;
use aws_sdk_s3::config::Credentials;
use serde_json::{Value, json};

/// A policy document as IAM returns it: URL-encoded, and for a policy CloudFormation created in
/// moto 5.2, the Python repr of the document (single quotes; no quote occurs inside a value of
/// the project's policies).
pub fn document(text: &str) -> Value {
    let decoded = url_decode(text).replace('\'', "\"");
    serde_json::from_str(&decoded).unwrap_or_else(|e| panic!("{e}: {decoded}"))
}

fn url_decode(text: &str) -> String {
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

/// Every statement's resources become `*` for moto, and its conditions go (the fault proxy's
/// check judges both); the count of statements widened.
pub fn for_moto(mut policy: Value) -> (Value, usize) {
    let statements = policy["Statement"].as_array_mut().unwrap();
    for statement in statements.iter_mut() {
        statement["Resource"] = json!("*");
        if let Some(map) = statement.as_object_mut() {
            map.remove("Condition");
        }
    }
    let count = statements.len();
    (policy, count)
}

/// Whether a call was refused for lack of permission (not for any other reason).
pub fn denied<T, E: std::fmt::Debug>(result: Result<T, E>) -> bool {
    match result {
        Ok(_) => false,
        Err(err) => {
            let text = format!("{err:?}");
            text.contains("AccessDenied") || text.contains("not authorized")
        }
    }
}

/// Creates IAM user `name` holding `policy` (inline) and returns its access key.
pub async fn user_with(sdk: &SdkConfig, name: &str, policy: &Value) -> Credentials {
    let iam = aws_sdk_iam::Client::new(sdk);
    iam.create_user().user_name(name).send().await.unwrap();
    iam.put_user_policy()
        .user_name(name)
        .policy_name(name)
        .policy_document(policy.to_string())
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    Credentials::new(
        key.access_key_id(),
        key.secret_access_key(),
        None,
        None,
        "iam-user",
    )
}

/// An SDK configuration for `endpoint` with `credentials`.
pub async fn config(endpoint: &str, credentials: &Credentials) -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(credentials.clone())
        .load()
        .await
}

/// Switches moto's IAM enforcement on from the next request.
pub async fn enforce(moto_endpoint: &str) {
    let reset = reqwest::Client::new()
        .post(format!("{moto_endpoint}/moto-api/reset-auth"))
        .body("0")
        .send()
        .await
        .unwrap();
    assert!(reset.status().is_success());
}

/// The ARN of the KMS key behind `alias`, as AWS forms it (moto answers `DescribeKey` of a key
/// its CloudFormation made with a 500).
pub async fn key_arn(sdk: &SdkConfig, alias: &str, region: &str, account: &str) -> String {
    let aliases = aws_sdk_kms::Client::new(sdk)
        .list_aliases()
        .send()
        .await
        .unwrap();
    let target = aliases
        .aliases()
        .iter()
        .find(|a| a.alias_name() == Some(alias))
        .and_then(|a| a.target_key_id())
        .unwrap_or_else(|| panic!("no alias {alias}"));
    if target.starts_with("arn:") {
        target.to_owned()
    } else {
        format!("arn:aws:kms:{region}:{account}:key/{target}")
    }
}
