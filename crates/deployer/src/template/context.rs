//! What the templates see: the stage plus every name and derived value, computed here once so
//! the tera templates stay declarative (no arithmetic or naming rules in `templates/`).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

use super::outputs::{Output, outputs};
use crate::canonical::canonical;
use crate::stage::{HttpTrigger, Names, Provider, Stage, http_trigger_names, pascal};

/// Namespace of the refresher's Embedded Metric Format metrics (the refresher emits them with
/// dimensions `[Stage]` and `[Stage, Provider]`; the alarms and the dashboard read them).
pub const METRICS_NAMESPACE: &str = "OAuthRefresher";
/// Name of the tokens table's expiry index.
pub const EXPIRY_INDEX: &str = "byExpiry";
/// The header the HTTP trigger's connection sends, with the value from the stage's secret.
pub const HTTP_TRIGGER_HEADER: &str = "x-cron-secret";
/// The stack parameter holding the version id of the HTTP trigger's header secret, which
/// `deploy` and `plan` set to the secret's current version.
pub const HTTP_TRIGGER_SECRET_VERSION: &str = "HttpTriggerSecretVersion";
/// CloudWatch evaluates an alarm over at most this many seconds.
const MAX_ALARM_RANGE_S: u64 = 7 * 86_400;

#[derive(Debug, Serialize)]
pub struct Context<'a> {
    pub stage: &'a Stage,
    pub names: Names,
    pub env: BTreeMap<&'static str, EnvValue>,
    /// The token API function's environment (the refresher's, in `token-api` mode, no jitter),
    /// when the stage has the token API.
    pub api_env: Option<BTreeMap<&'static str, EnvValue>>,
    pub rules: Vec<RuleContext>,
    pub providers: Vec<ProviderContext>,
    /// The redundant HTTP trigger, when the stage has one.
    pub http_trigger: Option<HttpTriggerContext>,
    pub outputs: Vec<Output>,
    pub metrics_namespace: &'static str,
    pub expiry_index: &'static str,
    /// Prefix of a DynamoDB table ARN, for `Fn::Sub`.
    pub table_arn_sub: &'static str,
}

/// An environment variable of the function: a literal, or a CloudFormation intrinsic.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum EnvValue {
    Literal(String),
    Intrinsic(serde_json::Value),
}

#[derive(Debug, Serialize)]
pub struct RuleContext {
    pub name: String,
    pub logical_id: String,
    pub schedule: String,
    /// The target's input, a JSON string: `{"providers":["reddit","tiktok"]}`.
    pub input: String,
    pub providers: Vec<String>,
    pub description: String,
    /// A delivery older than one schedule period is superseded by the next tick.
    pub max_event_age_s: u64,
}

/// The HTTP trigger's connection, API destination, role and rule (logical ids `HttpTrigger*`).
#[derive(Debug, Serialize)]
pub struct HttpTriggerContext {
    pub rule_name: String,
    pub connection_name: String,
    pub destination_name: String,
    pub rule_description: String,
    pub destination_description: String,
    pub role_description: String,
    pub schedule: String,
    pub url: String,
    pub method: &'static str,
    pub header: &'static str,
    /// The Secrets Manager secret (name or ARN) holding the header value.
    pub secret: String,
    /// A CloudFormation dynamic reference to the header value, as a `Fn::Sub` string naming the
    /// secret's version through the [`HTTP_TRIGGER_SECRET_VERSION`] parameter: CloudFormation
    /// reads the secret when it applies the template, so the value is never in it.
    pub header_value_reference: String,
    pub rate_per_second: u32,
    pub retry_attempts: u32,
    pub max_event_age_s: u64,
    /// The rule's ARN for the role's trust policy, built from its name (`Fn::Sub`): a `GetAtt`
    /// of the rule would be a cycle, the rule naming the role.
    pub rule_arn_sub: String,
}

#[derive(Debug, Serialize)]
pub struct ProviderContext {
    pub name: String,
    /// Pascal case for logical ids: `Tiktok`, `GoogleAds`.
    pub id: String,
    /// The no-successful-run alarm: `evaluation_periods` periods of `period_s` cover two
    /// schedule periods plus the start jitter.
    pub no_run_period_s: u64,
    pub no_run_evaluation_periods: u64,
}

pub fn build(stage: &Stage) -> Context<'_> {
    let names = stage.names();
    Context {
        env: env(stage, &names),
        api_env: stage
            .token_api
            .as_ref()
            .map(|_| api_env(env(stage, &names))),
        outputs: outputs(stage, &names),
        rules: stage.rules.iter().map(rule).collect(),
        providers: stage
            .providers
            .values()
            .map(|p| provider(p, stage.function.jitter_seconds))
            .collect(),
        http_trigger: stage.http_trigger.as_ref().map(http_trigger),
        names,
        stage,
        metrics_namespace: METRICS_NAMESPACE,
        expiry_index: EXPIRY_INDEX,
        table_arn_sub: "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/",
    }
}

/// The function's environment. Provider settings travel as one JSON value; client credentials
/// never do (they are read from the secret at cold start).
fn env(stage: &Stage, names: &Names) -> BTreeMap<&'static str, EnvValue> {
    use refresher::config::vars;
    let lit = |s: &str| EnvValue::Literal(s.to_owned());
    let mut env = resources(stage, names);
    env.extend([
        (vars::STAGE, lit(&stage.name)),
        (
            vars::TOKENS_FORMAT,
            lit(stage.tables.tokens.format.as_str()),
        ),
        (
            vars::JITTER_SECONDS,
            lit(&stage.function.jitter_seconds.to_string()),
        ),
        (vars::LOG_LEVEL, lit(&stage.function.log_level)),
        (vars::METRICS_NAMESPACE, lit(METRICS_NAMESPACE)),
        (vars::PROVIDERS, lit(&providers_env(stage))),
    ]);
    env
}

/// The variables naming the resources the function uses: tables, index, key, secret, bus, queue.
fn resources(stage: &Stage, names: &Names) -> BTreeMap<&'static str, EnvValue> {
    use refresher::config::vars;
    let lit = |s: &str| EnvValue::Literal(s.to_owned());
    BTreeMap::from([
        (vars::TOKENS_TABLE, lit(&stage.tables.tokens.name)),
        (vars::TOKENS_EXPIRY_INDEX, lit(EXPIRY_INDEX)),
        (vars::ANALYTICS_TABLE, lit(&stage.tables.analytics.name)),
        (vars::KMS_KEY_ID, lit(&names.key_alias)),
        (vars::CREDENTIALS_SECRET_ID, lit(&names.credentials_secret)),
        (
            vars::EVENT_BUS_NAME,
            EnvValue::Intrinsic(json!({"Fn::GetAtt": ["TokenEventBus", "Name"]})),
        ),
        (
            vars::DLQ_URL,
            EnvValue::Intrinsic(json!({"Ref": "RefresherDlq"})),
        ),
    ])
}

/// Every provider's settings as one JSON object by name, keys sorted.
fn providers_env(stage: &Stage) -> String {
    let providers: BTreeMap<&str, serde_json::Value> = stage
        .providers
        .values()
        .map(|p| (p.name.as_str(), provider_env(p)))
        .collect();
    serde_json::to_value(&providers)
        .map(|v| canonical(&v).to_string())
        .unwrap_or_default()
}

fn provider_env(p: &Provider) -> serde_json::Value {
    let mut v = json!({
        "kind": p.kind,
        "windowSeconds": p.window_s,
        "rateLimitPerMinute": p.rate_limit_per_minute,
        "concurrency": p.concurrency,
    });
    if let Some(map) = v.as_object_mut() {
        if let Some(ua) = &p.user_agent {
            map.insert("userAgent".into(), json!(ua));
        }
        if let Some(url) = &p.token_url {
            map.insert("tokenUrl".into(), json!(url));
        }
        if let Some(auth) = p.auth {
            map.insert("auth".into(), json!(auth));
        }
    }
    v
}

fn rule(group: &crate::stage::RuleGroup) -> RuleContext {
    RuleContext {
        name: group.name.clone(),
        logical_id: group.logical_id.clone(),
        schedule: group.schedule.expression().to_owned(),
        input: json!({ "providers": group.providers }).to_string(),
        providers: group.providers.clone(),
        description: format!(
            "Refreshes {} tokens ({}, UTC)",
            group.providers.join(", "),
            group.schedule
        ),
        max_event_age_s: group.schedule.max_gap_s().clamp(60, 86_400),
    }
}

fn http_trigger(t: &HttpTrigger) -> HttpTriggerContext {
    let (connection_name, destination_name) = http_trigger_names(t);
    // Pinned to the version the deploy passes as a parameter: CloudFormation re-reads a dynamic
    // reference only when the resource's properties change, so a rotated secret would otherwise
    // never reach the connection. A `Fn::Sub` string (the version is `${...}`).
    let reference = format!(
        "{{{{resolve:secretsmanager:{}:SecretString:{}::${{{HTTP_TRIGGER_SECRET_VERSION}}}}}}}",
        t.secret,
        t.secret_key.as_deref().unwrap_or_default()
    );
    HttpTriggerContext {
        // Not the URL: a rule's description holds 512 characters, an endpoint 2048.
        rule_description: format!(
            "Calls the web app's refresh endpoint ({} with header {HTTP_TRIGGER_HEADER}, {}, UTC)",
            t.method.as_str(),
            t.schedule
        ),
        destination_description: format!("The web app's refresh endpoint for rule {}", t.rule_name),
        role_description: format!(
            "Lets rule {} call API destination {destination_name}, nothing else",
            t.rule_name
        ),
        rule_arn_sub: format!(
            "arn:${{AWS::Partition}}:events:${{AWS::Region}}:${{AWS::AccountId}}:rule/{}",
            t.rule_name
        ),
        rule_name: t.rule_name.clone(),
        connection_name,
        destination_name,
        schedule: t.schedule.expression().to_owned(),
        url: t.url.clone(),
        method: t.method.as_str(),
        header: HTTP_TRIGGER_HEADER,
        secret: t.secret.clone(),
        header_value_reference: reference,
        rate_per_second: t.invocation_rate_per_second,
        retry_attempts: t.retry_attempts,
        max_event_age_s: t.max_event_age_s,
    }
}

fn provider(p: &Provider, jitter_s: u32) -> ProviderContext {
    let watch = 2 * p.schedule.max_gap_s() + u64::from(jitter_s);
    // Periods of a minute up to a day; past a day, whole days (CloudWatch's longest period).
    let period = if watch <= 86_400 {
        watch.div_ceil(2).div_ceil(60) * 60
    } else {
        86_400
    };
    let evaluation_periods = watch.div_ceil(period).min(MAX_ALARM_RANGE_S / period);
    ProviderContext {
        name: p.name.clone(),
        id: pascal(&p.name),
        no_run_period_s: period,
        no_run_evaluation_periods: evaluation_periods,
    }
}

/// The token API's environment: the refresher's, serving requests instead of runs.
fn api_env(mut env: BTreeMap<&'static str, EnvValue>) -> BTreeMap<&'static str, EnvValue> {
    use refresher::config::vars;
    let lit = |s: &str| EnvValue::Literal(s.to_owned());
    env.insert(vars::REFRESHER_MODE, lit("token-api"));
    // An app waits for the answer: no start jitter.
    env.insert(vars::JITTER_SECONDS, lit("0"));
    env
}
