//! YAML text to [`RawStage`], one section at a time, so that one wrong type does not hide the
//! problems of the other sections, and every unknown key is reported (with the nearest known key).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::de::DeserializeOwned;
use serde_norway::Value;

use super::Problem;
use super::raw::{
    RawAlarms, RawFunction, RawHttpTrigger, RawProvider, RawStage, RawTables, RawTokenApi,
};

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
    Some(assemble(top, problems))
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
    let (http_trigger, http_trigger_readable) =
        match optional(take("http_trigger"), "http_trigger", Value::Null, problems) {
            Some(section) => (section, true),
            None => (None, false),
        };
    Parts {
        stage: required(take("stage"), "stage", problems),
        region: required(take("region"), "region", problems),
        account_id: required(take("account_id"), "account_id", problems),
        stack_name: optional(take("stack_name"), "stack_name", Value::Null, problems).flatten(),
        endpoint_url: optional(take("endpoint_url"), "endpoint_url", Value::Null, problems)
            .flatten(),
        termination_protection: optional(
            take("termination_protection"),
            "termination_protection",
            Value::Bool(false),
            problems,
        ),
        artifact_bucket: optional(
            take("artifact_bucket"),
            "artifact_bucket",
            Value::Null,
            problems,
        )
        .flatten(),
        function: optional(take("function"), "function", empty(), problems),
        token_api: optional(take("token_api"), "token_api", empty(), problems),
        tables: required(take("tables"), "tables", problems),
        alarms: optional(take("alarms"), "alarms", empty(), problems),
        providers,
        providers_complete,
        http_trigger,
        http_trigger_readable,
        tags: optional(take("tags"), "tags", empty(), problems),
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

fn type_problem(path: &[&str], serde_msg: &str) -> Problem {
    let field = path.join(".");
    if let Some(key) = serde_msg
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        return missing(&field, key);
    }
    let message = serde_msg
        .replace(
            "expected u32",
            "expected a whole number from 0 to 4294967295",
        )
        .replace("expected struct ", "expected a mapping (")
        .replace("expected a map", "expected a mapping");
    let message = if message.contains("expected a mapping (") {
        format!("{message})")
    } else {
        message
    };
    let fix = if path.last() == Some(&"account_id") && serde_msg.contains("integer") {
        "quote it, e.g. `account_id: \"012345678901\"` (unquoted, YAML reads a number and leading zeros are lost)".to_owned()
    } else {
        match field_doc(path) {
            Some(doc) => format!("expected: {doc}"),
            None => "see stages/schema.json for the form of this field".to_owned(),
        }
    };
    Problem::new(field, format!("{message}; {fix}"))
}

fn missing(parent: &str, key: &str) -> Problem {
    let parent_path: Vec<&str> = parent.split('.').filter(|s| !s.is_empty()).collect();
    let mut path = parent_path.clone();
    path.push(key);
    let doc = field_doc(&path).unwrap_or_default();
    let field = path.join(".");
    Problem::new(field, format!("missing; add `{key}:` ({doc})"))
}

fn unknown_key(parent: &[&str], key: &str) -> Problem {
    let known = known_keys(parent);
    let mut field: Vec<&str> = parent.to_vec();
    field.push(key);
    let nearest = known
        .iter()
        .map(|k| (strsim::levenshtein(k, key), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min();
    let message = match nearest {
        Some((_, k)) => format!("unknown key `{key}`; did you mean `{k}`?"),
        None if known.is_empty() => format!("unknown key `{key}`; remove it"),
        None => format!("unknown key `{key}`; known keys here: {}", known.join(", ")),
    };
    Problem::new(field.join("."), message)
}

/// The stage schema as JSON, generated once.
fn schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(super::json_schema)
}

/// The schema node of a path, following `$ref`s; provider names are map keys
/// (`additionalProperties`).
fn node_at(path: &[&str]) -> Option<&'static serde_json::Value> {
    let root = schema();
    let resolve = |node: &'static serde_json::Value| -> &'static serde_json::Value {
        // An optional section is `anyOf: [{$ref}, {type: null}]`.
        let node = node
            .get("anyOf")
            .and_then(|a| a.as_array())
            .and_then(|a| a.iter().find(|n| n.get("$ref").is_some()))
            .unwrap_or(node);
        node.get("$ref")
            .and_then(|r| r.as_str())
            .and_then(|r| r.strip_prefix("#/$defs/"))
            .and_then(|name| root.get("$defs")?.get(name))
            .unwrap_or(node)
    };
    let mut node = resolve(root);
    for segment in path {
        let next = node
            .get("properties")
            .and_then(|p| p.get(*segment))
            .or_else(|| node.get("additionalProperties").filter(|a| a.is_object()))?;
        node = resolve(next);
    }
    Some(node)
}

fn known_keys(parent: &[&str]) -> Vec<String> {
    node_at(parent)
        .and_then(|n| n.get("properties"))
        .and_then(|p| p.as_object())
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

fn field_doc(path: &[&str]) -> Option<String> {
    let doc = node_at(path)?.get("description")?.as_str()?;
    Some(doc.split_whitespace().collect::<Vec<_>>().join(" "))
}
