//! Mutation test of the stage files: hundreds of broken variants of every committed stage, each
//! of which must be rejected with a problem that names the broken field; none may panic.

// Helpers of a test fail it by panicking, as the test functions do.
#![allow(clippy::unwrap_used)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use serde_norway::{Mapping, Value};
use suite::tools::stage_files;

/// One broken variant: what was done, and the field a problem must name.
struct Mutant {
    what: String,
    field: String,
    text: String,
}

/// Values that are wrong for the field at the path, whatever the stage.
const SEMANTIC: &[(&str, &[&str])] = &[
    ("stage", &["Prod!", "x-another-stage", ""]),
    ("region", &["mars-1", "US-EAST-1", "us-east"]),
    ("account_id", &["12345", "abcdefghijkl", "1234567890123"]),
    ("stack_name", &["1stack", "has_underscore", "has space"]),
    ("endpoint_url", &["localhost:5000", "ftp://x"]),
    ("artifact_bucket", &["Upper", "a", "bad_bucket"]),
    ("function.architecture", &["sparc", "ARM64"]),
    ("function.memory_mb", &["64", "20000"]),
    ("function.timeout_s", &["0", "901"]),
    ("function.reserved_concurrency", &["0", "5000"]),
    ("function.log_retention_days", &["2", "31", "10000"]),
    ("function.jitter_seconds", &["100000"]),
    ("function.log_level", &["loud", "INFO"]),
    ("token_api.memory_mb", &["64", "20000"]),
    ("token_api.timeout_s", &["1", "4", "61", "900"]),
    ("token_api.reserved_concurrency", &["0", "5000"]),
    ("tables.tokens.name", &["x", "bad name", "tab/le"]),
    ("tables.analytics.name", &["ab"]),
    ("alarms.email", &["nope", "a@b", "two@at@example.com"]),
    ("alarms.errors_threshold", &["0"]),
    ("alarms.period_s", &["45", "90", "100000"]),
    ("kms.rotation_days", &["0", "89", "2561", "-1", "ninety"]),
];

/// Values that are wrong for every provider, at `providers.<name>.<field>`.
const PROVIDER_SEMANTIC: &[(&str, &[&str])] = &[
    ("window", &["", "12", "-5m", "1s", "1.5h", "12hours"]),
    (
        "schedule",
        &[
            "rate(0 minutes)",
            "rate(1 minutes)",
            "rate(5 minute)",
            "rate(5 weeks)",
            "cron(0 9 * * * *)",
            "cron(0 9 * * ? )",
            "cron(61 * * * ? *)",
            "cron(0 9 ? * ? *)",
            "cron(0 9 * * ? 2027)",
            "every day",
            "rate(30 days)",
        ],
    ),
    ("kind", &["soap", "OAUTH2"]),
    ("rate_limit_per_minute", &["0", "1000000"]),
    ("concurrency", &["0", "65"]),
    ("auth", &["digest"]),
    (
        "token_url",
        &["http://insecure.example.com/token", "not a url", "https://"],
    ),
];

/// Values that are wrong for the optional `http_trigger:` section, tried on stages that have it
/// (on the others, a lone field would first be reported as a section missing its required keys).
const HTTP_TRIGGER_SEMANTIC: &[(&str, &[&str])] = &[
    (
        "url",
        &[
            "http://app.example.com/cron",
            "https://localhost:3000/cron",
            "https://10.0.0.8/cron",
            "https://app.example.com/*",
            "not a url",
        ],
    ),
    (
        "schedule",
        &["rate(0 minutes)", "cron(0 9 * * * *)", "hourly"],
    ),
    ("method", &["DELETE", "post", ""]),
    (
        "secret",
        &[
            "has space",
            "a:b",
            "arn:aws:secretsmanager:us-east-1:1:secret:x",
            "",
        ],
    ),
    ("secret_key", &["a:b", "", "has space"]),
    ("invocation_rate_per_second", &["0", "301"]),
    ("retry_attempts", &["186"]),
    ("max_event_age", &["30s", "2d", "soon", ""]),
];

fn http_trigger_mutants(doc: &Value) -> Vec<Mutant> {
    if doc.get("http_trigger").is_none() {
        return Vec::new();
    }
    let mut mutants = Vec::new();
    for (field, values) in HTTP_TRIGGER_SEMANTIC {
        for value in *values {
            let path = format!("http_trigger.{field}");
            let mut v = doc.clone();
            set(&mut v, &path, value);
            mutants.push(Mutant {
                what: format!("{path} = {value:?}"),
                field: path,
                text: serde_norway::to_string(&v).unwrap(),
            });
        }
    }
    for field in ["url", "schedule", "secret"] {
        let mut v = doc.clone();
        v["http_trigger"].as_mapping_mut().unwrap().remove(field);
        mutants.push(Mutant {
            what: format!("http_trigger.{field} removed"),
            field: format!("http_trigger.{field}"),
            text: serde_norway::to_string(&v).unwrap(),
        });
    }
    mutants
}

fn main_mutants(name: &str, doc: &Value) -> Vec<Mutant> {
    let mut mutants = Vec::new();
    let mut push = |what: String, field: String, value: Value| {
        let text = serde_norway::to_string(&value).unwrap();
        mutants.push(Mutant { what, field, text });
    };
    for path in mapping_paths(doc, &[]) {
        let mut v = doc.clone();
        let key = "unexpected_key_zz";
        get_mut(&mut v, &path)
            .as_mapping_mut()
            .unwrap()
            .insert(key.into(), 1.into());
        push(format!("unknown key under {path:?}"), join(&path, key), v);
    }
    for path in leaf_paths(doc, &[]) {
        for (label, wrong) in [
            (
                "a mapping",
                Value::Mapping(Mapping::from_iter([("bogus".into(), 1.into())])),
            ),
            ("a list", Value::Sequence(vec![1.into(), 2.into()])),
        ] {
            let mut v = doc.clone();
            *get_mut(&mut v, &path) = wrong;
            push(format!("{path:?} replaced by {label}"), path.join("."), v);
        }
    }
    for path in [
        vec!["stage"],
        vec!["region"],
        vec!["account_id"],
        vec!["tables"],
        vec!["tables", "tokens"],
        vec!["tables", "analytics", "name"],
        vec!["providers"],
    ] {
        let mut v = doc.clone();
        let (last, parent) = path.split_last().unwrap();
        let parent_path: Vec<String> = parent.iter().map(|s| (*s).to_owned()).collect();
        get_mut(&mut v, &parent_path)
            .as_mapping_mut()
            .unwrap()
            .remove(*last);
        push(format!("{path:?} removed"), path.join("."), v);
    }
    for (path, values) in SEMANTIC {
        for value in *values {
            if *path == "stage" && *value == name {
                continue;
            }
            let mut v = doc.clone();
            set(&mut v, path, value);
            push(format!("{path} = {value:?}"), (*path).to_owned(), v);
        }
    }
    mutants
}

fn provider_mutants(doc: &Value) -> Vec<Mutant> {
    let mut mutants = Vec::new();
    let providers: Vec<String> = doc["providers"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    for provider in &providers {
        for (field, values) in PROVIDER_SEMANTIC {
            for value in *values {
                let path = format!("providers.{provider}.{field}");
                let mut v = doc.clone();
                set(&mut v, &path, value);
                let text = serde_norway::to_string(&v).unwrap();
                mutants.push(Mutant {
                    what: format!("{path} = {value:?}"),
                    field: path,
                    text,
                });
            }
        }
    }
    if providers.iter().any(|p| p == "reddit") {
        for value in ["curl/8.0", "web:app (by /u/ops)", ""] {
            let mut v = doc.clone();
            set(&mut v, "providers.reddit.user_agent", value);
            let field = "providers.reddit.user_agent".to_owned();
            mutants.push(Mutant {
                what: format!("{field} = {value:?}"),
                field,
                text: serde_norway::to_string(&v).unwrap(),
            });
        }
    }
    mutants
}

#[test]
fn every_broken_variant_is_rejected_naming_its_field() {
    let mut tried = 0;
    let mut failures = Vec::new();
    for (name, path) in stage_files() {
        let text = std::fs::read_to_string(&path).unwrap();
        let doc: Value = serde_norway::from_str(&text).unwrap();
        let file = Path::new("stages").join(format!("{name}.yaml"));
        let mut mutants = main_mutants(&name, &doc);
        mutants.extend(provider_mutants(&doc));
        mutants.extend(http_trigger_mutants(&doc));
        for mutant in mutants {
            tried += 1;
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                deployer::stage::parse(&mutant.text, &file)
            }));
            match outcome {
                Err(_) => failures.push(format!("{name}: {}: PANICKED", mutant.what)),
                Ok(Ok(_)) => failures.push(format!("{name}: {}: accepted", mutant.what)),
                Ok(Err(errors)) => {
                    let named = errors.problems.iter().any(|p| {
                        p.field == mutant.field
                            || p.field.starts_with(&format!("{}.", mutant.field))
                            || p.field.starts_with(&format!("{}[", mutant.field))
                    });
                    let has_fix = errors
                        .problems
                        .iter()
                        .all(|p| p.message.contains(';') || p.message.contains("did you mean"));
                    if !named || !has_fix {
                        failures.push(format!(
                            "{name}: {}: expected a problem at {}, got {:?}",
                            mutant.what, mutant.field, errors.problems
                        ));
                    }
                }
            }
        }
    }
    assert!(tried >= 200, "only {tried} variants");
    assert!(
        failures.is_empty(),
        "{} of {tried} variants went wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!("stage mutations: {tried} variants, {tried} rejected naming their field, 0 panics");
}

fn join(path: &[String], key: &str) -> String {
    let mut parts = path.to_vec();
    parts.push(key.to_owned());
    parts.join(".")
}

fn mapping_paths(v: &Value, here: &[String]) -> Vec<Vec<String>> {
    let Some(map) = v.as_mapping() else {
        return Vec::new();
    };
    let mut out = vec![here.to_vec()];
    for (k, child) in map {
        let mut path = here.to_vec();
        path.push(k.as_str().unwrap().to_owned());
        // Provider and tag names are free-form keys: a new one is a new provider/tag, not a typo.
        if here.is_empty() && (path[0] == "providers" || path[0] == "tags") {
            if path[0] == "providers" {
                for (name, provider) in child.as_mapping().unwrap() {
                    let mut p = path.clone();
                    p.push(name.as_str().unwrap().to_owned());
                    out.extend(mapping_paths(provider, &p));
                }
            }
            continue;
        }
        out.extend(mapping_paths(child, &path));
    }
    out
}

fn leaf_paths(v: &Value, here: &[String]) -> Vec<Vec<String>> {
    match v {
        Value::Mapping(map) => map
            .iter()
            .flat_map(|(k, child)| {
                let mut path = here.to_vec();
                path.push(k.as_str().unwrap().to_owned());
                leaf_paths(child, &path)
            })
            .collect(),
        _ => vec![here.to_vec()],
    }
}

fn get_mut<'a>(v: &'a mut Value, path: &[String]) -> &'a mut Value {
    path.iter().fold(v, |node, key| {
        let map = node.as_mapping_mut().unwrap();
        if !map.contains_key(key.as_str()) {
            map.insert(key.as_str().into(), Value::Mapping(Mapping::new()));
        }
        map.get_mut(key.as_str()).unwrap()
    })
}

/// Sets a scalar at a dotted path, creating mappings on the way; numbers stay numbers.
fn set(v: &mut Value, path: &str, value: &str) {
    let parts: Vec<String> = path.split('.').map(str::to_owned).collect();
    let scalar = value
        .parse::<u64>()
        .map_or_else(|_| Value::String(value.to_owned()), Value::from);
    *get_mut(v, &parts) = scalar;
}
