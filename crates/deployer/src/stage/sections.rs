//! YAML text to [`RawStage`], one section at a time, so that one wrong type does not hide the
//! problems of the other sections, and every unknown key is reported (with the nearest known key).

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_norway::Value;

use super::Problem;
use super::raw::{
    RawAlarms, RawFunction, RawHttpTrigger, RawKms, RawProvider, RawStage, RawTables, RawTokenApi,
};
use super::schema_hints::{known_keys, missing, type_problem, unknown_key};

/// Reads the sections of a stage file; `None` when the file is not a YAML mapping at all.
pub(super) fn read(text: &str, problems: &mut Vec<Problem>) -> Option<Parts> {
    let value: Value = match serde_norway::from_str(text) {
        Ok(value) => value,
        Err(err) => {
            problems.push(Problem {
                field: String::new(),
                line: err.location().map(|l| l.line()),
                message: format!("not valid YAML: {err}; fix the syntax at that line"),
            });
            return None;
        }
    };
    let Value::Mapping(map) = value else {
        problems.push(Problem::new(
            "",
            "the file must be a YAML mapping of stage settings (`stage: prod`, `region: ...`); \
             see stages/schema.json",
        ));
        return None;
    };
    Some(assemble(top_level(map, problems), problems))
}

/// The file's known top-level keys and their values; every other key is a problem.
fn top_level(map: serde_norway::Mapping, problems: &mut Vec<Problem>) -> BTreeMap<String, Value> {
    let mut top = BTreeMap::new();
    for (key, value) in map {
        let Some(key) = key.as_str().map(str::to_owned) else {
            problems.push(Problem::new("", format!("key {key:?} is not a string")));
            continue;
        };
        if known_keys(&[]).contains(&key) {
            top.insert(key, value);
        } else {
            problems.push(unknown_key(&[], &key));
        }
    }
    top
}

/// The sections of a stage file that could be read; `None` where a section was missing or had
/// the wrong shape (its problem is recorded). Validation checks what is here, so one broken section
/// does not hide the problems of the others.
#[derive(Debug, Default)]
pub(super) struct Parts {
    pub stage: Option<String>,
    pub region: Option<String>,
    pub account_id: Option<String>,
    // Optional scalars: `None` when absent or unreadable (then a problem is recorded, and the
    // stage is not built whatever this holds).
    pub stack_name: Option<String>,
    pub endpoint_url: Option<String>,
    pub termination_protection: Option<bool>,
    pub artifact_bucket: Option<String>,
    pub function: Option<RawFunction>,
    pub token_api: Option<RawTokenApi>,
    pub tables: Option<RawTables>,
    pub alarms: Option<RawAlarms>,
    pub kms: Option<RawKms>,
    /// The providers that could be read; `providers_complete` is false if any could not.
    pub providers: BTreeMap<String, RawProvider>,
    pub providers_complete: bool,
    /// The `http_trigger` section, when the stage has one and it could be read;
    /// `http_trigger_readable` is false when it could not.
    pub http_trigger: Option<RawHttpTrigger>,
    pub http_trigger_readable: bool,
    pub tags: Option<BTreeMap<String, String>>,
}

impl Parts {
    /// The whole stage, when every section could be read.
    pub(super) fn complete(self) -> Option<RawStage> {
        if !self.providers_complete || !self.http_trigger_readable {
            return None;
        }
        Some(RawStage {
            stage: self.stage?,
            region: self.region?,
            account_id: self.account_id?,
            stack_name: self.stack_name,
            endpoint_url: self.endpoint_url,
            termination_protection: self.termination_protection?,
            artifact_bucket: self.artifact_bucket,
            function: self.function?,
            token_api: self.token_api?,
            tables: self.tables?,
            alarms: self.alarms?,
            kms: self.kms?,
            providers: self.providers,
            http_trigger: self.http_trigger,
            tags: self.tags?,
        })
    }
}

fn assemble(mut top: BTreeMap<String, Value>, problems: &mut Vec<Problem>) -> Parts {
    let mut take = |name: &str| top.remove(name);
    let empty = || Value::Mapping(serde_norway::Mapping::new());
    let (providers, providers_complete) = read_providers(take("providers"), problems);
    let (http_trigger, http_trigger_readable) = read_http_trigger(take("http_trigger"), problems);
    Parts {
        stage: required(take("stage"), "stage", problems),
        region: required(take("region"), "region", problems),
        account_id: required(take("account_id"), "account_id", problems),
        stack_name: scalar(take("stack_name"), "stack_name", problems),
        endpoint_url: scalar(take("endpoint_url"), "endpoint_url", problems),
        termination_protection: optional(
            take("termination_protection"),
            "termination_protection",
            Value::Bool(false),
            problems,
        ),
        artifact_bucket: scalar(take("artifact_bucket"), "artifact_bucket", problems),
        function: optional(take("function"), "function", empty(), problems),
        token_api: optional(take("token_api"), "token_api", empty(), problems),
        tables: required(take("tables"), "tables", problems),
        alarms: optional(take("alarms"), "alarms", empty(), problems),
        kms: optional(take("kms"), "kms", empty(), problems),
        providers,
        providers_complete,
        http_trigger,
        http_trigger_readable,
        tags: optional(take("tags"), "tags", empty(), problems),
    }
}

/// The `http_trigger` section (`None` when the stage has none), and whether it could be read.
fn read_http_trigger(
    value: Option<Value>,
    problems: &mut Vec<Problem>,
) -> (Option<RawHttpTrigger>, bool) {
    match optional(value, "http_trigger", Value::Null, problems) {
        Some(section) => (section, true),
        None => (None, false),
    }
}

/// Providers one by one, so each provider's problems are reported on their own.
fn read_providers(
    value: Option<Value>,
    problems: &mut Vec<Problem>,
) -> (BTreeMap<String, RawProvider>, bool) {
    let Some(entries) = required::<BTreeMap<String, Value>>(value, "providers", problems) else {
        return (BTreeMap::new(), false);
    };
    if entries.is_empty() {
        problems.push(Problem::new(
            "providers",
            "no provider is configured; add one, e.g. `tiktok: { window: 12h, schedule: rate(15 minutes) }`",
        ));
        return (BTreeMap::new(), false);
    }
    let mut out = BTreeMap::new();
    let mut complete = true;
    for (name, value) in entries {
        let field = format!("providers.{name}");
        match required::<RawProvider>(Some(value), &field, problems) {
            Some(p) => {
                out.insert(name, p);
            }
            None => complete = false,
        }
    }
    (out, complete)
}

fn required<T: DeserializeOwned>(
    value: Option<Value>,
    field: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let Some(value) = value else {
        let (parent, key) = field.rsplit_once('.').unwrap_or(("", field));
        problems.push(missing(parent, key));
        return None;
    };
    deserialize(value, field, problems)
}

/// An absent (or null) field deserializes from `absent`: null for optional scalars, `false` for
/// flags, an empty mapping for sections, so serde's defaults apply.
fn optional<T: DeserializeOwned>(
    value: Option<Value>,
    field: &str,
    absent: Value,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let value = match value {
        None | Some(Value::Null) => absent,
        Some(value) => value,
    };
    deserialize(value, field, problems)
}

/// An optional scalar: `None` when absent, null or unreadable.
fn scalar<T: DeserializeOwned>(
    value: Option<Value>,
    field: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    optional::<Option<T>>(value, field, Value::Null, problems).flatten()
}

fn deserialize<T: DeserializeOwned>(
    value: Value,
    field: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let mut unknown = Vec::new();
    let mut record = |path: serde_ignored::Path<'_>| unknown.push(path.to_string());
    let de = serde_ignored::Deserializer::new(value, &mut record);
    let result: Result<T, _> = serde_path_to_error::deserialize(de);
    let prefix: Vec<&str> = field.split('.').filter(|s| !s.is_empty()).collect();
    for path in &unknown {
        let mut full = prefix.clone();
        full.extend(path.split('.').filter(|s| !s.is_empty() && *s != "?"));
        if let Some((key, parent)) = full.split_last() {
            problems.push(unknown_key(parent, key));
        }
    }
    match result {
        // Unknown keys are recorded above; the known ones are still checked.
        Ok(v) => Some(v),
        Err(err) => {
            let mut full = prefix.clone();
            let inner_path = err.path().to_string();
            full.extend(inner_path.split('.').filter(|s| !s.is_empty() && *s != "?"));
            problems.push(type_problem(&full, &err.into_inner().to_string()));
            None
        }
    }
}
