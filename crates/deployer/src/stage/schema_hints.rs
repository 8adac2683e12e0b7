//! A reading problem explained from the stage's JSON Schema: a wrong type, a missing key or an
//! unknown one, with the field's description or the keys known there (and the nearest of them).

use std::sync::OnceLock;

use super::Problem;

pub(super) fn type_problem(path: &[&str], serde_msg: &str) -> Problem {
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

pub(super) fn missing(parent: &str, key: &str) -> Problem {
    let parent_path: Vec<&str> = parent.split('.').filter(|s| !s.is_empty()).collect();
    let mut path = parent_path.clone();
    path.push(key);
    let doc = field_doc(&path).unwrap_or_default();
    let field = path.join(".");
    Problem::new(field, format!("missing; add `{key}:` ({doc})"))
}

pub(super) fn unknown_key(parent: &[&str], key: &str) -> Problem {
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

pub(super) fn known_keys(parent: &[&str]) -> Vec<String> {
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
