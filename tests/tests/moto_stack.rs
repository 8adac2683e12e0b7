//! The `local` stage's rendered template, created in the local AWS stand-in through the Rust SDK,
//! and what it created read back through each service's own API.

#![allow(
    clippy::too_many_lines,
    reason = "end-to-end scenarios read top to bottom; the 60-line limit is for the product's code"
)]
// Helpers of a test fail it by panicking, as the test functions do.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::{KeyType, ProjectionType};
use deployer::stage::Stage;
use serde_json::Value;
use suite::moto::Moto;
use suite::stack::create_local_stack;

/// The stack's outputs and exports, as the runbook and the refresher's environment name them.
async fn assert_outputs(moto: &Moto, stage: &Stage) {
    let config = moto.sdk_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&config);
    let stacks = cfn
        .describe_stacks()
        .stack_name(&stage.stack_name)
        .send()
        .await
        .unwrap();
    let stack = &stacks.stacks()[0];
    let outputs: BTreeMap<&str, &str> = stack
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?, o.output_value()?)))
        .collect();
    assert_eq!(outputs["RefreshOAuthFnName"], stage.function.name);
    assert_eq!(outputs["TokensTableName"], stage.tables.tokens.name);
    assert_eq!(outputs["TokensExpiryIndexName"], "byExpiry");
    assert!(
        outputs["DlqUrl"].ends_with(&format!("/{}-dlq", stage.function.name)),
        "{outputs:?}"
    );
    assert_eq!(
        outputs["EventBusName"],
        format!("oauth-tokens-{}", stage.name)
    );
    for rule in &stage.rules {
        assert_eq!(
            outputs[format!("{}Name", rule.logical_id).as_str()],
            rule.name
        );
    }
    let exports = cfn.list_exports().send().await.unwrap();
    let export = format!("{}-RefreshOAuthFnName", stage.stack_name);
    assert!(
        exports
            .exports()
            .iter()
            .any(|e| e.name() == Some(export.as_str())),
        "no export {export}"
    );
}

async fn assert_tables(moto: &Moto, stage: &Stage) {
    let ddb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let tokens = ddb
        .describe_table()
        .table_name(&stage.tables.tokens.name)
        .send()
        .await
        .unwrap();
    let table = tokens.table().unwrap();
    let keys = |schema: &[aws_sdk_dynamodb::types::KeySchemaElement]| -> Vec<(String, KeyType)> {
        schema
            .iter()
            .map(|k| (k.attribute_name().to_owned(), k.key_type().clone()))
            .collect()
    };
    assert_eq!(
        keys(table.key_schema()),
        [
            ("userId".to_owned(), KeyType::Hash),
            ("platform".to_owned(), KeyType::Range)
        ]
    );
    let gsi = &table.global_secondary_indexes()[0];
    assert_eq!(gsi.index_name(), Some("byExpiry"));
    assert_eq!(
        keys(gsi.key_schema()),
        [
            ("platform".to_owned(), KeyType::Hash),
            ("expiresAt".to_owned(), KeyType::Range)
        ]
    );
    let projection = gsi.projection().unwrap();
    assert_eq!(projection.projection_type(), Some(&ProjectionType::Include));
    assert_eq!(projection.non_key_attributes(), ["version", "status"]);
    let analytics = ddb
        .describe_table()
        .table_name(&stage.tables.analytics.name)
        .send()
        .await
        .unwrap();
    assert_eq!(keys(analytics.table().unwrap().key_schema())[0].0, "pk");
}

async fn assert_queue_and_rules(moto: &Moto, stage: &Stage) {
    let config = moto.sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let dlq_name = format!("{}-dlq", stage.function.name);
    let url = sqs
        .get_queue_url()
        .queue_name(&dlq_name)
        .send()
        .await
        .unwrap();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url.queue_url().unwrap())
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attrs = attrs.attributes().unwrap();
    assert_eq!(
        attrs[&aws_sdk_sqs::types::QueueAttributeName::MessageRetentionPeriod],
        "1209600"
    );
    let dlq_arn = attrs[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();

    let events = aws_sdk_eventbridge::Client::new(&config);
    let function = aws_sdk_lambda::Client::new(&config)
        .get_function_configuration()
        .function_name(&stage.function.name)
        .send()
        .await
        .unwrap();
    assert!(!stage.rules.is_empty());
    for rule in &stage.rules {
        let described = events
            .describe_rule()
            .name(&rule.name)
            .send()
            .await
            .unwrap();
        assert_eq!(
            described.schedule_expression(),
            Some(rule.schedule.expression())
        );
        assert_eq!(
            described
                .state()
                .map(aws_sdk_eventbridge::types::RuleState::as_str),
            Some("ENABLED")
        );
        let targets = events
            .list_targets_by_rule()
            .rule(&rule.name)
            .send()
            .await
            .unwrap();
        let [target] = targets.targets() else {
            panic!("{} has {} targets", rule.name, targets.targets().len())
        };
        assert_eq!(Some(target.arn()), function.function_arn());
        let input: Value = serde_json::from_str(target.input().unwrap()).unwrap();
        assert_eq!(input, serde_json::json!({ "providers": rule.providers }));
        assert_eq!(
            target.dead_letter_config().and_then(|d| d.arn()),
            Some(dlq_arn.as_str())
        );
        assert_eq!(
            target
                .retry_policy()
                .and_then(aws_sdk_eventbridge::types::RetryPolicy::maximum_retry_attempts),
            Some(4)
        );
    }
}

async fn assert_function(moto: &Moto, stage: &Stage) {
    let lambda = aws_sdk_lambda::Client::new(&moto.sdk_config().await);
    let f = lambda
        .get_function_configuration()
        .function_name(&stage.function.name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        f.runtime().map(aws_sdk_lambda::types::Runtime::as_str),
        Some("provided.al2023")
    );
    assert_eq!(f.handler(), Some("bootstrap"));
    assert_eq!(
        f.memory_size(),
        Some(i32::try_from(stage.function.memory_mb).unwrap())
    );
    assert_eq!(
        f.timeout(),
        Some(i32::try_from(stage.function.timeout_s).unwrap())
    );
    let env = f.environment().and_then(|e| e.variables()).unwrap();
    assert_eq!(env["TOKENS_TABLE"], stage.tables.tokens.name);
    assert_eq!(env["ANALYTICS_TABLE"], stage.tables.analytics.name);
    assert_eq!(env["TOKENS_EXPIRY_INDEX"], "byExpiry");
    assert_eq!(
        env["EVENT_BUS_NAME"],
        format!("oauth-tokens-{}", stage.name)
    );
    assert!(env["DLQ_URL"].ends_with("-dlq"), "{}", env["DLQ_URL"]);
    assert_eq!(
        env["CREDENTIALS_SECRET_ID"],
        format!("{}/provider-credentials", stage.stack_name)
    );
    let providers: BTreeMap<String, Value> = serde_json::from_str(&env["PROVIDERS"]).unwrap();
    assert_eq!(
        providers.keys().collect::<Vec<_>>(),
        stage.providers.keys().collect::<Vec<_>>()
    );
    assert_eq!(
        providers["reddit"]["userAgent"],
        stage.providers["reddit"].user_agent.clone().unwrap()
    );
    let concurrency = lambda
        .get_function_concurrency()
        .function_name(&stage.function.name)
        .send()
        .await
        .unwrap();
    assert_eq!(
        concurrency.reserved_concurrent_executions(),
        stage
            .function
            .reserved_concurrency
            .map(|n| i32::try_from(n).unwrap())
    );
}

#[tokio::test]
async fn local_stage_creates_in_the_stand_in_and_reads_back() {
    let moto = Moto::start();
    let stage = create_local_stack(&moto).await;
    assert_outputs(&moto, &stage).await;
    assert_tables(&moto, &stage).await;
    assert_queue_and_rules(&moto, &stage).await;
    assert_function(&moto, &stage).await;
}
