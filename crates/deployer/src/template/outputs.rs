//! The stack's outputs: what every runbook step, `deployer outputs` and the readers name. Values
//! of resources the local stand-in skips (alarms, subscriptions, queue policies) are never read
//! through `GetAtt` here; the HTTP trigger's API destination is (its rule needs the ARN anyway, so
//! a stage with a trigger cannot be created by the stand-in whatever the outputs say).

use serde::Serialize;
use serde_json::{Value, json};

use super::context::EXPIRY_INDEX;
use crate::stage::{Names, Stage};

/// A stack output, exported as `<stack>-<name>`.
#[derive(Debug, Serialize)]
pub struct Output {
    pub name: String,
    pub description: String,
    pub value: Value,
}

/// Where an output's value comes from: a resource of the stack (`Ref`, `Fn::GetAtt`).
enum Source {
    Ref(&'static str),
    Att(&'static str, &'static str),
}

impl Source {
    fn value(&self) -> Value {
        match self {
            Self::Ref(id) => json!({ "Ref": id }),
            Self::Att(id, attribute) => json!({ "Fn::GetAtt": [id, attribute] }),
        }
    }
}

const FUNCTION: &[(&str, &str, Source)] = &[
    (
        "RefreshOAuthFnName",
        "Name of the refresher function",
        Source::Ref("RefresherFunction"),
    ),
    (
        "RefreshOAuthFnArn",
        "ARN of the refresher function",
        Source::Att("RefresherFunction", "Arn"),
    ),
];

const TOKEN_API: &[(&str, &str, Source)] = &[
    (
        "TokenApiFnName",
        "Name of the token API function (readers invoke it to refresh a token on demand)",
        Source::Ref("TokenApiFunction"),
    ),
    (
        "TokenApiFnArn",
        "ARN of the token API function",
        Source::Att("TokenApiFunction", "Arn"),
    ),
];

const QUEUE: &[(&str, &str, Source)] = &[
    (
        "DlqUrl",
        "URL of the dead-letter queue (failed deliveries, failed runs, recovery records)",
        Source::Ref("RefresherDlq"),
    ),
    (
        "DlqArn",
        "ARN of the dead-letter queue",
        Source::Att("RefresherDlq", "Arn"),
    ),
];

const OPERATIONS: &[(&str, &str, Source)] = &[
    (
        "EventBusName",
        "Event bus of token.refreshed / token.refresh.failed / token.reauth-required",
        Source::Att("TokenEventBus", "Name"),
    ),
    (
        "EventBusArn",
        "ARN of the token event bus",
        Source::Att("TokenEventBus", "Arn"),
    ),
    (
        "AlarmTopicArn",
        "SNS topic every alarm notifies",
        Source::Ref("AlarmTopic"),
    ),
    (
        "LogGroupName",
        "Log group of the refresher",
        Source::Ref("RefresherLogGroup"),
    ),
    (
        "KmsKeyArn",
        "KMS key of the token envelopes",
        Source::Att("TokensKey", "Arn"),
    ),
    (
        "TokenReaderPolicyArn",
        "Managed policy for apps reading tokens (attach it to the app's role)",
        Source::Ref("TokenReaderPolicy"),
    ),
];

fn output(name: &str, description: &str, value: Value) -> Output {
    Output {
        name: name.to_owned(),
        description: description.to_owned(),
        value,
    }
}

fn from_resources(outputs: &[(&str, &str, Source)]) -> impl Iterator<Item = Output> {
    outputs
        .iter()
        .map(|(name, description, from)| output(name, description, from.value()))
}

/// The stack's outputs: the function (and the token API), one per schedule rule (and the HTTP
/// trigger's), the stage's shared resources, then the names and values only the stage knows.
pub(super) fn outputs(stage: &Stage, names: &Names) -> Vec<Output> {
    let mut outputs: Vec<Output> = from_resources(FUNCTION).collect();
    if stage.token_api.is_some() {
        outputs.extend(from_resources(TOKEN_API));
    }
    outputs.extend(stage.rules.iter().map(|rule| {
        output(
            &format!("{}Name", rule.logical_id),
            &format!(
                "Schedule rule for {} ({})",
                rule.providers.join(", "),
                rule.schedule
            ),
            json!({ "Ref": rule.logical_id }),
        )
    }));
    if let Some(t) = &stage.http_trigger {
        outputs.push(output(
            "HttpTriggerRuleName",
            &format!(
                "Schedule rule calling the web app's refresh endpoint ({})",
                t.schedule
            ),
            Source::Ref("HttpTriggerRule").value(),
        ));
        outputs.push(output(
            "HttpTriggerDestinationArn",
            "API destination of the web app's refresh endpoint",
            Source::Att("HttpTriggerDestination", "Arn").value(),
        ));
    }
    outputs.extend(from_resources(QUEUE));
    outputs.extend(tables(stage));
    outputs.extend(from_resources(OPERATIONS));
    outputs.extend(named(names));
    outputs
}

/// The tables' and the expiry index's names.
fn tables(stage: &Stage) -> [Output; 3] {
    [
        output(
            "TokensTableName",
            "DynamoDB table of OAuth token sets",
            json!(stage.tables.tokens.name),
        ),
        output(
            "TokensExpiryIndexName",
            "GSI of the tokens table by platform and expiresAt",
            json!(EXPIRY_INDEX),
        ),
        output(
            "AnalyticsTableName",
            "DynamoDB table of token.refresh records",
            json!(stage.tables.analytics.name),
        ),
    ]
}

/// The key's alias, the secret's name and the dashboard's address.
fn named(names: &Names) -> [Output; 3] {
    let dashboard = format!(
        "https://${{AWS::Region}}.console.aws.amazon.com/cloudwatch/home?region=${{AWS::Region}}#dashboards:name={}",
        names.dashboard
    );
    [
        output(
            "KmsKeyAlias",
            "Alias of the KMS key",
            json!(names.key_alias),
        ),
        output(
            "CredentialsSecretName",
            "Secrets Manager secret of provider client credentials (set with `deployer secrets set`)",
            json!(names.credentials_secret),
        ),
        output(
            "DashboardUrl",
            "CloudWatch dashboard of token health",
            json!({ "Fn::Sub": dashboard }),
        ),
    ]
}
