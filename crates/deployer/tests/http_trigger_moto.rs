//! The HTTP trigger's live check against the local AWS stand-in. moto 5.2.5 creates no
//! `AWS::Events::Connection` or `AWS::Events::ApiDestination` through CloudFormation, and a stack
//! whose rule targets one (`GetAtt ...Arn`) fails to create there (AWS-FACTS.md), so this test
//! does what CloudFormation would do with the staging stage's rendered resources through
//! EventBridge's own API, then runs the drift check's readers and comparison on them: in sync
//! as created, drift once the rule is disabled and the rate changed out of band.

#![allow(
    clippy::too_many_lines,
    reason = "end-to-end scenarios read top to bottom; the 60-line limit is for the product's code"
)]
// Helpers of a test fail it by panicking, as the test functions do.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::{
    ApiDestinationHttpMethod, ConnectionAuthorizationType,
    CreateConnectionApiKeyAuthRequestParameters, CreateConnectionAuthRequestParameters,
    DeadLetterConfig, RetryPolicy, RuleState, Target,
};
use deployer::aws::events;
use deployer::drift::check::expected;
use deployer::drift::compare::compare;
use deployer::drift::resolve::Resolver;
use serde_json::Value;
use testkit::moto::Moto;

const STACK_ID: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:stack/OAuthRefreshStack-staging/0a1b";
const DLQ_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:RefreshOAuth-staging-dlq";
const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/OAuthRefreshStack-staging-HttpTriggerRole-1";

fn template() -> Value {
    let path = support::project().join("stages/staging.yaml");
    let stage = deployer::stage::load(&path).unwrap();
    assert!(stage.http_trigger.is_some(), "staging has an http_trigger");
    deployer::template::render(&stage).unwrap().value
}

fn properties<'a>(template: &'a Value, id: &str) -> &'a Value {
    &template["Resources"][id]["Properties"]
}

fn text<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap()
}

/// Creates the connection, API destination, rule and target as the template declares them;
/// returns the API destination's ARN.
async fn create_like_cloudformation(client: &Client, template: &Value) -> String {
    let c = properties(template, "HttpTriggerConnection");
    secret_ledger::record("deployer-tests:cron-header", "value-from-the-secret");
    let key = CreateConnectionApiKeyAuthRequestParameters::builder()
        .api_key_name(text(c, "/AuthParameters/ApiKeyAuthParameters/ApiKeyName"))
        .api_key_value("value-from-the-secret")
        .build()
        .unwrap();
    let connection = client
        .create_connection()
        .name(text(c, "/Name"))
        .description(text(c, "/Description"))
        .authorization_type(ConnectionAuthorizationType::ApiKey)
        .auth_parameters(
            CreateConnectionAuthRequestParameters::builder()
                .api_key_auth_parameters(key)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let d = properties(template, "HttpTriggerDestination");
    let rate = i32::try_from(d["InvocationRateLimitPerSecond"].as_i64().unwrap()).unwrap();
    let destination = client
        .create_api_destination()
        .name(text(d, "/Name"))
        .description(text(d, "/Description"))
        .connection_arn(connection.connection_arn().unwrap())
        .invocation_endpoint(text(d, "/InvocationEndpoint"))
        .http_method(ApiDestinationHttpMethod::from(text(d, "/HttpMethod")))
        .invocation_rate_limit_per_second(rate)
        .send()
        .await
        .unwrap();
    let destination_arn = destination.api_destination_arn().unwrap().to_owned();
    let r = properties(template, "HttpTriggerRule");
    client
        .put_rule()
        .name(text(r, "/Name"))
        .description(text(r, "/Description"))
        .schedule_expression(text(r, "/ScheduleExpression"))
        .state(RuleState::Enabled)
        .send()
        .await
        .unwrap();
    let t = &r["Targets"][0];
    let retry = &t["RetryPolicy"];
    let target = Target::builder()
        .id(text(t, "/Id"))
        .arn(&destination_arn)
        .role_arn(ROLE_ARN)
        .retry_policy(
            RetryPolicy::builder()
                .maximum_retry_attempts(
                    i32::try_from(retry["MaximumRetryAttempts"].as_i64().unwrap()).unwrap(),
                )
                .maximum_event_age_in_seconds(
                    i32::try_from(retry["MaximumEventAgeInSeconds"].as_i64().unwrap()).unwrap(),
                )
                .build(),
        )
        .dead_letter_config(DeadLetterConfig::builder().arn(DLQ_ARN).build())
        .build()
        .unwrap();
    client
        .put_targets()
        .rule(text(r, "/Name"))
        .targets(target)
        .send()
        .await
        .unwrap();
    destination_arn
}

/// `property: expected -> actual` for each difference of the three resources, and their notes.
async fn live_check(
    client: &Client,
    template: &Value,
    destination_arn: &str,
) -> (Vec<String>, Vec<String>) {
    let physical: BTreeMap<String, String> = [
        "HttpTriggerConnection",
        "HttpTriggerDestination",
        "HttpTriggerRule",
    ]
    .into_iter()
    .map(|id| {
        (
            id.to_owned(),
            text(properties(template, id), "/Name").to_owned(),
        )
    })
    .collect();
    let outputs = BTreeMap::from([
        (
            "HttpTriggerDestinationArn".to_owned(),
            destination_arn.to_owned(),
        ),
        ("DlqArn".to_owned(), DLQ_ARN.to_owned()),
    ]);
    let resolver = Resolver::new(&physical, &BTreeMap::new(), STACK_ID, template, &outputs);
    let mut differences = Vec::new();
    let mut notes = Vec::new();
    for (id, name) in &physical {
        let declared = &template["Resources"][id];
        let kind = declared["Type"].as_str().unwrap();
        let want = expected(&resolver, kind, declared).expect("the type is checked");
        let bridge = deployer::aws::EventBridge::from_sdk(client.clone());
        let live = match kind {
            "AWS::Events::Rule" => events::rule(&bridge, name).await,
            "AWS::Events::ApiDestination" => events::api_destination(&bridge, name).await,
            _ => events::connection(&bridge, name).await,
        };
        let live = live.unwrap().unwrap_or_else(|| panic!("{id} not found"));
        let found = compare(kind, want.properties, &want.value, &live, true);
        differences.extend(
            found
                .differences
                .iter()
                .map(|d| format!("{id}.{}: {} -> {}", d.property, d.expected, d.actual)),
        );
        notes.extend(
            found
                .notes
                .iter()
                .chain(&want.notes)
                .map(|n| format!("{id}: {n}")),
        );
    }
    (differences, notes)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_http_trigger_is_in_sync_as_created_and_drifts_when_changed_out_of_band() {
    let moto = Moto::start();
    let client = Client::new(&moto.sdk_config().await);
    let template = template();
    let destination_arn = create_like_cloudformation(&client, &template).await;

    let (differences, notes) = live_check(&client, &template, &destination_arn).await;
    assert!(differences.is_empty(), "{differences:#?}");
    // What cannot be compared is said, never silently passed: the key value (EventBridge never
    // returns it), and ARNs of resources the stack does not export.
    for needle in [
        "HttpTriggerConnection: AuthParameters.ApiKeyAuthParameters.ApiKeyValue: not checked",
        "HttpTriggerDestination: ConnectionArn: not checked",
        "HttpTriggerRule: Targets[web-app].RoleArn: not checked",
    ] {
        assert!(
            notes.iter().any(|n| n.starts_with(needle)),
            "{needle} not in {notes:#?}"
        );
    }

    let rule = text(properties(&template, "HttpTriggerRule"), "/Name");
    client.disable_rule().name(rule).send().await.unwrap();
    let destination = text(properties(&template, "HttpTriggerDestination"), "/Name");
    client
        .update_api_destination()
        .name(destination)
        .invocation_rate_limit_per_second(5)
        .send()
        .await
        .unwrap();
    let (differences, _) = live_check(&client, &template, &destination_arn).await;
    assert_eq!(
        differences,
        [
            "HttpTriggerDestination.InvocationRateLimitPerSecond: 1 -> 5",
            "HttpTriggerRule.State: ENABLED -> DISABLED",
        ],
    );
}

/// A rotated header secret must reach the connection: `deploy` and `plan` pass the secret's
/// current version as a stack parameter (the dynamic reference names it), so a rotation changes
/// the stack's parameters and the next deploy updates the connection. A missing secret is
/// refused before anything is built or uploaded, naming the stage field. (moto cannot create the
/// connection through CloudFormation, so the parameters are checked rather than a deploy.)
#[tokio::test(flavor = "multi_thread")]
async fn the_header_secrets_current_version_is_a_stack_parameter() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let stage_file = support::local_stage(dir.path(), |t| {
        format!(
            "{t}\nhttp_trigger:\n  url: https://app.example.com/api/cron/refresh-oauth\n  \
             schedule: rate(30 minutes)\n  secret: oauth-refresher-local/cron-secret\n"
        )
    });

    let out = support::deployer(&moto, &["plan", "--stage", &stage_file]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("http_trigger.secret `oauth-refresher-local/cron-secret` does not exist")
            && err.contains("aws secretsmanager create-secret"),
        "{err}"
    );

    let sdk = moto.sdk_config().await;
    for value in ["cron-header-value-one", "cron-header-value-two"] {
        secret_ledger::record("deployer-tests:cron-header", value);
    }
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    secrets
        .create_secret()
        .name("oauth-refresher-local/cron-secret")
        .secret_string("cron-header-value-one")
        .send()
        .await
        .unwrap();
    let stage = deployer::stage::load(std::path::Path::new(&stage_file)).unwrap();
    let aws = deployer::aws::Aws::from_config(sdk.clone(), Some(moto.endpoint().to_owned()));
    let parameters = |version| deployer::deploy::stack_parameters("refresher/a.zip", version);
    let first = parameters(
        deployer::deploy::http_trigger_secret_version(&aws, &stage)
            .await
            .unwrap(),
    );
    secrets
        .put_secret_value()
        .secret_id("oauth-refresher-local/cron-secret")
        .secret_string("cron-header-value-two")
        .send()
        .await
        .unwrap();
    let rotated = parameters(
        deployer::deploy::http_trigger_secret_version(&aws, &stage)
            .await
            .unwrap(),
    );
    let version = |p: &BTreeMap<String, String>| p["HttpTriggerSecretVersion"].clone();
    assert_eq!(first["ArtifactKey"], "refresher/a.zip");
    assert_ne!(
        version(&first),
        version(&rotated),
        "rotation changes the parameter"
    );
    let described = secrets
        .describe_secret()
        .secret_id("oauth-refresher-local/cron-secret")
        .send()
        .await
        .unwrap();
    let stages = described.version_ids_to_stages().unwrap();
    assert!(
        stages[&version(&rotated)].iter().any(|s| s == "AWSCURRENT"),
        "{stages:?}"
    );

    // The template names that parameter in the connection's header value.
    let rendered = deployer::template::render(&stage).unwrap().value;
    assert_eq!(
        rendered["Resources"]["HttpTriggerConnection"]["Properties"]["AuthParameters"]["ApiKeyAuthParameters"]
            ["ApiKeyValue"]["Fn::Sub"],
        "{{resolve:secretsmanager:oauth-refresher-local/cron-secret:SecretString:::${HttpTriggerSecretVersion}}}"
    );
    assert_eq!(
        rendered["Parameters"]["HttpTriggerSecretVersion"]["Type"],
        "String"
    );
}
