//! [`RawStage`] to [`Stage`]: every value checked against what AWS and the providers accept,
//! defaults filled in. Each check adds a [`Problem`] and goes on, so a file's problems come at once.

mod function;
mod provider;
mod provider_http;
mod rules;

use std::collections::BTreeMap;

use super::duration::{format_duration, parse_duration};
use super::model::{
    Alarms, Architecture, ClientAuth, Function, HttpTrigger, Kms, Provider, ProviderKind,
    RuleGroup, Stage, Table, Tables, TokenApi, TokensTable,
};
use super::raw::{
    RawAlarms, RawFunction, RawKms, RawProvider, RawTables, RawTokenApi, RawTokenFormat,
    RawTokensTable,
};
use super::schedule::Schedule;
use super::sections::Parts;
use super::{Problem, http_trigger, names};
use refresher::crypto::TokenFormat;

/// Retention values CloudWatch Logs accepts (`PutRetentionPolicy`).
const RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];
const LOG_LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];
/// The no-successful-run alarm watches two schedule periods, and CloudWatch evaluates an alarm
/// over at most 7 days.
const MAX_SCHEDULE_GAP_S: u64 = 7 * 86_400 / 2;
/// Instagram long-lived tokens live 60 days and refresh only once 24 hours old (PROVIDERS.md).
const INSTAGRAM_MAX_WINDOW_S: u64 = 59 * 86_400;

/// Checks every section that could be read, and builds the [`Stage`] when all of them could and
/// none has a problem.
pub(super) fn validate(
    parts: Parts,
    file_stem: Option<&str>,
    problems: &mut Vec<Problem>,
) -> Option<Stage> {
    let before = problems.len();
    let checked = check_sections(&parts, file_stem, problems);
    if problems.len() > before || checked.providers.len() != parts.providers.len() {
        return None;
    }
    let raw = parts.complete()?;
    Some(Stage {
        name: raw.stage,
        region: raw.region,
        account_id: raw.account_id,
        stack_name: checked.stack_name,
        endpoint_url: raw.endpoint_url,
        termination_protection: raw.termination_protection,
        artifact_bucket: checked.artifact_bucket,
        function: checked.function?,
        token_api: checked.token_api,
        tables: checked.tables?,
        alarms: checked.alarms?,
        kms: checked.kms?,
        providers: checked.providers,
        rules: checked.rules,
        http_trigger: checked.http_trigger,
        tags: raw.tags,
    })
}

/// The checked values of the sections that could be read (`None` for the others).
struct Checked {
    stack_name: String,
    artifact_bucket: String,
    function: Option<Function>,
    /// `None` also when turned off: [`Parts::complete`] tells the two apart.
    token_api: Option<TokenApi>,
    tables: Option<Tables>,
    alarms: Option<Alarms>,
    kms: Option<Kms>,
    providers: BTreeMap<String, Provider>,
    rules: Vec<RuleGroup>,
    /// `None` also when the stage has none: [`Parts::complete`] tells the two apart.
    http_trigger: Option<HttpTrigger>,
}

/// Every section that could be read, checked in the order its problems are reported.
fn check_sections(parts: &Parts, file_stem: Option<&str>, problems: &mut Vec<Problem>) -> Checked {
    let mut p = Checker { problems };
    // Names derived from other sections fall back to a stand-in when those are broken, so the
    // checks of this section still run; the stage is not built then anyway.
    let stage_name = parts.stage.as_deref().unwrap_or("stage");
    p.identity(parts, file_stem);
    let (stack_name, artifact_bucket) = p.names(parts, stage_name);
    let function = parts.function.as_ref().map(|f| p.function(f, stage_name));
    let token_api = parts.token_api.as_ref().map(|a| p.token_api(a, stage_name));
    let tables = parts.tables.as_ref().map(|t| p.tables(t));
    let alarms = parts.alarms.as_ref().map(|a| p.alarms(a));
    let kms = parts.kms.as_ref().map(|k| p.kms(k));
    let jitter = function.as_ref().map_or(0, |f| f.jitter_seconds);
    let providers = p.providers(&parts.providers, jitter);
    let rules = p.rule_groups(&providers, stage_name);
    let http_trigger = parts
        .http_trigger
        .as_ref()
        .and_then(|raw| http_trigger::validate(raw, stage_name, &rules, p.problems));
    if let Some(tags) = &parts.tags {
        p.tags(tags);
    }
    Checked {
        stack_name,
        artifact_bucket,
        function,
        token_api: token_api.flatten(),
        tables,
        alarms,
        kms,
        providers,
        rules,
        http_trigger,
    }
}

impl Checker<'_> {
    /// The stage's identity: its name (matching the file), region, account and endpoint.
    fn identity(&mut self, parts: &Parts, file_stem: Option<&str>) {
        if let Some(stage) = &parts.stage {
            self.check_stage_name(stage, file_stem);
        }
        if let Some(region) = &parts.region {
            self.check(
                names::is_region(region),
                "region",
                format!(
                    "`{region}` is not an AWS region; write one like `us-east-1` or `eu-west-3`"
                ),
            );
        }
        if let Some(account) = &parts.account_id {
            self.check(
                account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()),
                "account_id",
                format!("`{account}` is not a 12-digit AWS account id; write it quoted, e.g. \"123456789012\""),
            );
        }
        if let Some(url) = &parts.endpoint_url {
            self.check(
                names::is_http_url(url),
                "endpoint_url",
                format!("`{url}` is not an http(s) URL; write e.g. `http://localhost:5000`, or remove it for real AWS"),
            );
        }
    }

    /// The stack and artifact bucket names, the stage file's or their defaults, checked.
    fn names(&mut self, parts: &Parts, stage_name: &str) -> (String, String) {
        let stack_name = parts
            .stack_name
            .clone()
            .unwrap_or_else(|| names::default_stack_name(stage_name));
        self.check(
            names::is_stack_name(&stack_name),
            "stack_name",
            format!(
                "`{stack_name}` is not a CloudFormation stack name; start with a letter and use only \
                 letters, digits and hyphens, at most 128 characters"
            ),
        );
        let artifact_bucket = parts.artifact_bucket.clone().unwrap_or_else(|| {
            names::default_artifact_bucket(
                parts.account_id.as_deref().unwrap_or("000000000000"),
                parts.region.as_deref().unwrap_or("us-east-1"),
            )
        });
        self.check(
            names::is_bucket_name(&artifact_bucket),
            "artifact_bucket",
            format!(
                "`{artifact_bucket}` is not an S3 bucket name; use 3-63 lowercase letters, digits, \
                 hyphens and dots, starting and ending with a letter or digit"
            ),
        );
        (stack_name, artifact_bucket)
    }

    /// The providers that pass their checks, by name.
    fn providers(
        &mut self,
        raw: &BTreeMap<String, RawProvider>,
        jitter: u32,
    ) -> BTreeMap<String, Provider> {
        raw.iter()
            .filter_map(|(name, rp)| Some((name.clone(), self.provider(name, rp, jitter)?)))
            .collect()
    }
}

struct Checker<'a> {
    problems: &'a mut Vec<Problem>,
}

impl Checker<'_> {
    fn check(&mut self, ok: bool, field: &str, message: String) -> bool {
        if !ok {
            self.problems.push(Problem::new(field, message));
        }
        ok
    }

    fn check_stage_name(&mut self, stage: &str, file_stem: Option<&str>) {
        let valid = self.check(
            names::is_stage_name(stage),
            "stage",
            format!(
                "`{stage}` is not a stage name; use 1-20 lowercase letters, digits and hyphens, \
                 starting with a letter"
            ),
        );
        if let Some(stem) = file_stem.filter(|stem| valid && stem != &stage) {
            self.problems.push(Problem::new(
                "stage",
                format!("`{stage}` does not match the file name `{stem}.yaml`; rename one of them"),
            ));
        }
    }

    fn tags(&mut self, tags: &BTreeMap<String, String>) {
        self.check(
            tags.len() <= 50,
            "tags",
            format!(
                "{} tags are more than the 50 CloudFormation allows; remove some",
                tags.len()
            ),
        );
        for (key, value) in tags {
            self.check(
                !key.is_empty()
                    && key.len() <= 128
                    && !key.to_ascii_lowercase().starts_with("aws:"),
                &format!("tags.{key}"),
                "a tag key is 1-128 characters and must not start with `aws:`; rename it"
                    .to_owned(),
            );
            self.check(
                value.len() <= 256,
                &format!("tags.{key}"),
                "a tag value is at most 256 characters; shorten it".to_owned(),
            );
        }
    }
}

fn join(values: &[u32]) -> String {
    values
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
