//! The JSON Schemas under `schemas/` state the wire formats the code writes: every field the code
//! serializes is a property of its schema, every required property is one the code writes, and the
//! envelope vectors' envelopes have exactly the schema's fields. A field added on one side only
//! fails here.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use refresher::api::{REFRESH_REQUESTED, RefreshRequested};
use refresher::crypto::Envelope;
use refresher::events::{EventDetail, RecoveryRecord};
use serde_json::Value;
use testkit::tools::project_root;

fn schema(name: &str) -> Value {
    let path = project_root().join("schemas").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().unwrap().keys().cloned().collect()
}

fn required(schema: &Value) -> BTreeSet<String> {
    schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// `written` (a serialized value's keys) fits `schema`: nothing outside its properties, every
/// required property present.
fn fits(name: &str, written: &BTreeSet<String>, schema: &Value) {
    let properties = keys(&schema["properties"]);
    assert!(
        written.is_subset(&properties),
        "{name}: written but not in the schema: {:?}",
        written.difference(&properties).collect::<Vec<_>>()
    );
    assert!(
        required(schema).is_subset(written),
        "{name}: required by the schema but not written: {:?}",
        required(schema).difference(written).collect::<Vec<_>>()
    );
}

fn envelope() -> Envelope {
    Envelope {
        version: 2,
        key_id: "arn:aws:kms:us-east-1:123456789012:key/k".to_owned(),
        encrypted_key: "a2V5".to_owned(),
        nonce: "AAAAAAAAAAAAAAAA".to_owned(),
        ciphertext: "Y2lwaGVydGV4dCB3aXRoIHRhZw==".to_owned(),
    }
}

#[test]
fn what_the_code_writes_fits_the_published_schemas() {
    let envelope_schema = schema("envelope.schema.json");
    let written = serde_json::to_value(envelope()).unwrap();
    fits("envelope", &keys(&written), &envelope_schema);
    let versions: Vec<u64> = envelope_schema["properties"]["version"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(versions, [1, 2], "the versions readers accept");

    let record = RecoveryRecord {
        user_id: "u".to_owned(),
        platform: "tiktok".to_owned(),
        seen_version: 3,
        expires_at: Some(1),
        refresh_expires_at: None,
        access_token: envelope(),
        refresh_token: Some(envelope()),
    };
    let written = serde_json::to_value(&record).unwrap();
    fits(
        "recovery record",
        &keys(&written),
        &schema("recovery-record.schema.json"),
    );

    let detail = EventDetail {
        user_id: "u".to_owned(),
        platform: "tiktok".to_owned(),
        reason: "ok".to_owned(),
        attempt: 1,
        stage: "prod".to_owned(),
    };
    let written = serde_json::to_value(&detail).unwrap();
    let detail_schema = schema("events/detail.schema.json");
    fits("event detail", &keys(&written), &detail_schema);
    assert_eq!(
        keys(&written),
        required(&detail_schema),
        "every detail field is required"
    );
}

/// The request event is read, not written, by the code: every detail field the schema allows
/// parses, and a field outside it is refused by the token API as by the schema.
#[test]
fn the_refresh_requested_schema_is_what_the_token_api_reads() {
    let schema = schema("events/token.refresh-requested.schema.json");
    assert_eq!(
        schema["properties"]["detail-type"]["const"],
        REFRESH_REQUESTED
    );
    let detail_schema = &schema["properties"]["detail"];
    let full = RefreshRequested {
        user_id: "u".to_owned(),
        platform: "tiktok".to_owned(),
        force: true,
    };
    let written = serde_json::to_value(&full).unwrap();
    assert_eq!(keys(&written), keys(&detail_schema["properties"]));
    fits("refresh-requested detail", &keys(&written), detail_schema);
    assert_eq!(detail_schema["additionalProperties"], false);
    let minimal: RefreshRequested =
        serde_json::from_value(serde_json::json!({"userId": "u", "platform": "tiktok"})).unwrap();
    assert!(
        !minimal.force,
        "force defaults to false, as the schema says"
    );
    let extra = serde_json::json!({"userId": "u", "platform": "tiktok", "seenVersion": 1});
    assert!(serde_json::from_value::<RefreshRequested>(extra).is_err());
}

#[test]
fn the_vectors_envelopes_have_exactly_the_schemas_fields() {
    let path = project_root().join("tests/vectors/envelope-v1.json");
    let vectors: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let properties = keys(&schema("envelope.schema.json")["properties"]);
    for case in vectors["valid"].as_array().unwrap() {
        assert_eq!(keys(&case["envelope"]), properties, "{}", case["name"]);
    }
}

#[test]
fn the_token_item_schema_names_every_attribute_the_store_writes() {
    let item = schema("token-item.schema.json");
    let properties = keys(&item["properties"]);
    for attribute in [
        "userId",
        "platform",
        "accessToken",
        "refreshToken",
        "expiresAt",
        "refreshExpiresAt",
        "scope",
        "status",
        "version",
        "updatedAt",
        "lastRefreshAt",
        "failures",
        "lastError",
        "ttl",
    ] {
        assert!(
            properties.contains(attribute),
            "token-item.schema.json lacks {attribute}"
        );
    }
    let versions = &item["$defs"]["token"]["oneOf"][1]["properties"]["M"]["properties"]["version"];
    assert_eq!(
        versions["properties"]["N"]["enum"],
        serde_json::json!(["1", "2"])
    );
}
