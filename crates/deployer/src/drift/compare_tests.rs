//! Unit tests of the pure comparison.

use serde_json::json;

use super::*;

const RULE: &[&str] = &["State", "ScheduleExpression", "Targets"];

fn rule(state: &str, input: &str) -> Value {
    json!({"State": state, "ScheduleExpression": "rate(5 minutes)", "Targets": [{
        "Id": "refresher", "Arn": "arn:fn", "Input": input,
        "RetryPolicy": {"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 300},
        "DeadLetterConfig": {"Arn": "arn:dlq"}}]})
}

#[test]
fn same_rule_is_in_sync() {
    let c = compare(
        "AWS::Events::Rule",
        RULE,
        &rule("ENABLED", "{}"),
        &rule("ENABLED", "{}"),
        false,
    );
    assert_eq!(c, Comparison::default());
}

#[test]
fn a_disabled_rule_and_a_changed_input_are_named() {
    let c = compare(
        "AWS::Events::Rule",
        RULE,
        &rule("ENABLED", "{}"),
        &rule("DISABLED", "{\"a\":1}"),
        false,
    );
    let got: Vec<(&str, &str, &str)> = c
        .differences
        .iter()
        .map(|d| (d.property.as_str(), d.expected.as_str(), d.actual.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("State", "ENABLED", "DISABLED"),
            ("Targets[refresher].Input", "{}", "{\"a\":1}")
        ]
    );
}

#[test]
fn missing_and_extra_targets_are_drift() {
    let want = rule("ENABLED", "{}");
    let mut have = want.clone();
    have["Targets"][0]["Id"] = json!("other");
    let c = compare("AWS::Events::Rule", RULE, &want, &have, false);
    let props: Vec<&str> = c.differences.iter().map(|d| d.property.as_str()).collect();
    assert_eq!(props, ["Targets[refresher]", "Targets[other]"]);
    assert_eq!(c.differences[0].actual, "(absent)");
}

#[test]
fn numbers_compare_by_value_not_representation() {
    let want = json!({"MessageRetentionPeriod": 1_209_600, "Threshold": 1});
    let have = json!({"MessageRetentionPeriod": "1209600", "Threshold": 1.0});
    let c = compare(
        "T",
        &["MessageRetentionPeriod", "Threshold"],
        &want,
        &have,
        false,
    );
    assert!(c.differences.is_empty(), "{c:?}");
    let c = compare(
        "T",
        &["Threshold"],
        &want,
        &json!({"Threshold": 2.5}),
        false,
    );
    assert_eq!(c.differences[0].expected, "1");
    assert_eq!(c.differences[0].actual, "2.5");
}

#[test]
fn environment_variables_must_match_exactly() {
    let want = json!({"MemorySize": 256, "Environment": {"Variables": {"A": "1", "B": "2"}}});
    let have = json!({"MemorySize": 512, "Environment": {"Variables": {"A": "1", "C": "3"}}});
    let c = compare(
        "AWS::Lambda::Function",
        &["MemorySize", "Environment"],
        &want,
        &have,
        false,
    );
    let got: Vec<String> = c
        .differences
        .iter()
        .map(|d| format!("{} {} {}", d.property, d.expected, d.actual))
        .collect();
    assert_eq!(
        got,
        [
            "MemorySize 256 512",
            "Environment.Variables.B 2 (absent)",
            "Environment.Variables.C (absent) 3"
        ]
    );
}

#[test]
fn properties_the_template_does_not_set_are_not_compared() {
    let c = compare(
        "T",
        &["Timeout", "Handler"],
        &json!({"Timeout": 3}),
        &json!({"Timeout": 3, "Handler": "x"}),
        false,
    );
    assert_eq!(c, Comparison::default());
}

#[test]
fn unresolved_values_are_notes_not_drift() {
    let want = json!({"Environment": {"Variables": {"A": {UNRESOLVED: "Fn::GetAtt X.Y: no"}}}});
    let have = json!({"Environment": {"Variables": {"A": "whatever"}}});
    let c = compare(
        "AWS::Lambda::Function",
        &["Environment"],
        &want,
        &have,
        false,
    );
    assert!(c.differences.is_empty());
    assert_eq!(
        c.notes,
        ["Environment.Variables.A: not checked: Fn::GetAtt X.Y: no"]
    );
}

#[test]
fn endpoint_ignored_properties_are_notes_only_at_a_custom_endpoint() {
    let want = json!({"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}});
    let have = json!({"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": false}});
    let props = &["PointInTimeRecoverySpecification"];
    let local = compare("AWS::DynamoDB::Table", props, &want, &have, true);
    assert!(local.differences.is_empty());
    assert_eq!(local.notes.len(), 1);
    assert_eq!(
        local.notes[0],
        "PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled: expected true, endpoint has \
         false (not drift: the local endpoint ignores PointInTimeRecoverySpecification)"
    );
    let aws = compare("AWS::DynamoDB::Table", props, &want, &have, false);
    assert_eq!(aws.differences.len(), 1, "on AWS a PITR change is drift");
}

#[test]
fn policy_documents_compare_as_policies() {
    let want = json!({"PolicyDocument": {"Statement": [{"Action": ["sqs:SendMessage"], "Effect": "Allow"}]}});
    let same =
        json!({"PolicyDocument": {"Statement": {"Effect": "Allow", "Action": "sqs:SendMessage"}}});
    assert!(
        compare("T", &["PolicyDocument"], &want, &same, false)
            .differences
            .is_empty()
    );
    let wider = json!({"PolicyDocument": {"Statement": [{"Action": "sqs:*", "Effect": "Allow"}]}});
    let c = compare("T", &["PolicyDocument"], &want, &wider, false);
    assert_eq!(c.differences[0].property, "PolicyDocument");
}

#[test]
fn verdict_is_modified_only_with_differences() {
    let r = ResourceDrift::new("Fn", "AWS::Lambda::Function", Some("f"));
    assert_eq!(
        verdict(r.clone(), Comparison::default()).status,
        ResourceStatus::InSync
    );
    let c = Comparison {
        differences: vec![Difference {
            property: "MemorySize".into(),
            expected: "256".into(),
            actual: "512".into(),
        }],
        notes: vec![],
    };
    assert_eq!(verdict(r, c).status, ResourceStatus::Modified);
}

#[test]
fn json_in_strings_compares_by_value() {
    let want = json!({"Input": "{\"a\":1,\"b\":[2]}"});
    let reordered = json!({"Input": "{\"b\": [2], \"a\": 1}"});
    assert!(
        compare("T", &["Input"], &want, &reordered, false)
            .differences
            .is_empty()
    );
    let changed = json!({"Input": "{\"a\":1,\"b\":[3]}"});
    assert_eq!(
        compare("T", &["Input"], &want, &changed, false)
            .differences
            .len(),
        1
    );
    let text = json!({"Input": "plain"});
    assert_eq!(
        compare("T", &["Input"], &text, &json!({"Input": "Plain"}), false)
            .differences
            .len(),
        1
    );
}
