use std::collections::BTreeMap;

use refresher::crypto::Envelope;
use refresher::events::RecoveryRecord;
use serde_json::json;

use super::*;

fn stage() -> Stage {
    crate::stage::parse(
        include_str!("../../../../stages/local.yaml"),
        std::path::Path::new("local.yaml"),
    )
    .expect("the local stage is valid")
}

fn envelope(ciphertext: &str) -> Envelope {
    Envelope {
        version: 1,
        key_id: "arn:aws:kms:us-east-1:123456789012:key/k".to_owned(),
        encrypted_key: "RU5DLUtFWQ==".to_owned(),
        nonce: "bm9uY2Utbm9uY2U=".to_owned(),
        ciphertext: ciphertext.to_owned(),
    }
}

fn received(body: &str, attributes: &[(&str, &str)]) -> Received {
    Received {
        id: "m-1".to_owned(),
        receipt_handle: "h".to_owned(),
        body: body.to_owned(),
        sent_at_ms: Some(0),
        receive_count: 1,
        attributes: attributes
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
    }
}

#[test]
fn the_refreshers_recovery_record_reads_back_and_its_summary_has_no_secret() {
    let record = RecoveryRecord {
        user_id: "u7".to_owned(),
        platform: "tiktok".to_owned(),
        seen_version: 4,
        expires_at: Some(1_900_000_000),
        refresh_expires_at: None,
        access_token: envelope("QUNDRVNTLUNJUEhFUg=="),
        refresh_token: Some(envelope("UkVGUkVTSC1DSVBIRVI=")),
    };
    let body = serde_json::to_string(&record).unwrap();
    let classified = classify(&received(&body, &[("kind", RECOVERY_TYPE)]), &stage());
    assert_eq!(classified.kind, Kind::RecoveryRecord);
    assert_eq!(
        classified.summary,
        "user u7 on tiktok: token set based on version 4, with its refresh token"
    );
    let read = classified.recovery.unwrap();
    assert_eq!(
        (read.seen_version, read.expires_at),
        (4, Some(1_900_000_000))
    );
    assert_eq!(read.access_token, record.access_token);
    assert_eq!(read.refresh_token, record.refresh_token);
    let shown = shown_body(&body).to_string();
    for part in [
        "QUNDRVNTLUNJUEhFUg==",
        "UkVGUkVTSC1DSVBIRVI=",
        "RU5DLUtFWQ==",
        "bm9uY2U",
    ] {
        assert!(!shown.contains(part), "{shown}");
    }
    assert!(shown.contains("\"seenVersion\":4"), "{shown}");
}

#[test]
fn an_unreadable_recovery_record_is_unknown_without_quoting_it() {
    let body =
        r#"{"type":"token-recovery","userId":"u","platform":"p","seenVersion":"SECRET-ISH"}"#;
    let classified = classify(&received(body, &[]), &stage());
    assert_eq!(classified.kind, Kind::Unknown);
    assert!(
        !classified.summary.contains("SECRET-ISH"),
        "{}",
        classified.summary
    );
}

#[test]
fn a_rules_dead_letter_redrives_with_the_rules_input() {
    let message = received(
        r#"{"version":"0","detail-type":"Scheduled Event","source":"aws.events","detail":{}}"#,
        &[
            (
                "RULE_ARN",
                "arn:aws:events:us-east-1:123456789012:rule/RefreshOAuthRate15m-local",
            ),
            ("ERROR_CODE", "ThrottlingException"),
            ("ERROR_MESSAGE", "Rate exceeded"),
            ("RETRY_ATTEMPTS", "185"),
        ],
    );
    let classified = classify(&message, &stage());
    assert_eq!(classified.kind, Kind::FailedDelivery);
    assert_eq!(
        classified.summary,
        "rule RefreshOAuthRate15m-local could not deliver: ThrottlingException Rate exceeded (retries 185)"
    );
    let redrive = classified.redrive.unwrap();
    assert_eq!(redrive.payload, json!({"providers": ["reddit", "tiktok"]}));
    assert_eq!(redrive.function, "RefreshOAuth-local");
    let other = received(
        "{}",
        &[("RULE_ARN", "arn:aws:events:us-east-1:1:rule/Other")],
    );
    assert!(classify(&other, &stage()).redrive.is_err());
}

#[test]
fn an_async_failure_redrives_with_its_request_payload() {
    let body = json!({
        "version": "1.0",
        "requestContext": {"requestId": "r", "condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": {"providers": ["schwab"]},
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "responsePayload": {"errorType": "Retryable", "errorMessage": "boom"}
    });
    let classified = classify(&received(&body.to_string(), &[]), &stage());
    assert_eq!(classified.kind, Kind::FailedDelivery);
    assert_eq!(
        classified.summary,
        "async invocation failed: RetriesExhausted after 3 attempt(s), Unhandled; providers schwab"
    );
    let redrive = classified.redrive.unwrap();
    assert_eq!(redrive.payload, json!({"providers": ["schwab"]}));
    assert_eq!(redrive.function, "RefreshOAuth-local");
}

fn refresh_requested() -> serde_json::Value {
    json!({"version": "0", "id": "e1", "detail-type": "token.refresh-requested",
           "source": "oauth-refresher.reader",
           "detail": {"userId": "alice", "platform": "tiktok", "force": true}})
}

#[test]
fn a_requested_refresh_goes_back_to_the_token_api() {
    // Its rule could not deliver it.
    let message = received(
        &refresh_requested().to_string(),
        &[
            (
                "RULE_ARN",
                "arn:aws:events:us-east-1:123456789012:rule/oauth-tokens-local/RefreshOAuthRequested-local",
            ),
            ("ERROR_CODE", "Lambda.TooManyRequestsException"),
            ("ERROR_MESSAGE", "Rate Exceeded."),
            ("RETRY_ATTEMPTS", "4"),
        ],
    );
    let classified = classify(&message, &stage());
    assert_eq!(
        classified.summary,
        "rule RefreshOAuthRequested-local could not deliver a refresh of user alice on tiktok: Lambda.TooManyRequestsException Rate Exceeded. (retries 4)"
    );
    let redrive = classified.redrive.unwrap();
    assert_eq!(
        (redrive.function.as_str(), &redrive.payload),
        ("RefreshOAuthApi-local", &refresh_requested())
    );

    // The token API took it but the refresh did not happen (BUSY) through Lambda's retries.
    let body = json!({
        "version": "1.0",
        "requestContext": {"requestId": "r", "condition": "RetriesExhausted", "approximateInvokeCount": 3,
                           "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:RefreshOAuthApi-local:$LATEST"},
        "requestPayload": refresh_requested(),
        "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
        "responsePayload": {"errorType": "Retryable", "errorMessage": "the requested refresh did not happen (BUSY)"}
    });
    let classified = classify(&received(&body.to_string(), &[]), &stage());
    assert_eq!(
        classified.summary,
        "async invocation failed: RetriesExhausted after 3 attempt(s), Unhandled; a refresh of user alice on tiktok"
    );
    let redrive = classified.redrive.unwrap();
    assert_eq!(redrive.function, "RefreshOAuthApi-local");
    assert_eq!(redrive.payload, refresh_requested());
}

#[test]
fn anything_else_is_unknown_and_secrets_are_redacted_at_any_depth() {
    let classified = classify(&received("hello", &[]), &stage());
    assert_eq!(classified.kind, Kind::Unknown);
    let shown = redact(
        &json!({"a": [{"refresh_token": "RT", "client_secret": "CS", "ok": 1}], "code": "C"}),
    );
    assert_eq!(
        shown,
        json!({"a": [{"refresh_token": "[redacted]", "client_secret": "[redacted]", "ok": 1}], "code": "[redacted]"})
    );
    let attrs = shown_attributes(&BTreeMap::from([("Token".to_owned(), "T".to_owned())]));
    assert_eq!(attrs["Token"], "[redacted]");
}
