//! Expected properties (the rendered template, intrinsics resolved) against live ones shaped like
//! them (the `aws/` readers return CloudFormation-shaped JSON): pure, no I/O.
//!
//! Only what the template sets is compared, so defaults the service adds are not drift; where the
//! live value may hold more than the template says (environment variables, targets, indexes),
//! extra entries are drift too.

use serde_json::{Map, Value};

use super::resolve::{UNRESOLVED, unresolved_reason};
use super::{Difference, ResourceDrift, ResourceStatus, policy};

/// Properties moto 5.2.5 never applies on create (AWS-FACTS.md, "ignored properties"). Only at a
/// custom endpoint does a difference in one of them become a note instead of drift; against AWS's
/// own endpoints they are compared like every other property, so real drift is never hidden.
pub const ENDPOINT_IGNORED: &[(&str, &str)] = &[
    ("AWS::DynamoDB::Table", "TimeToLiveSpecification"),
    ("AWS::DynamoDB::Table", "PointInTimeRecoverySpecification"),
    ("AWS::DynamoDB::Table", "SSESpecification"),
    ("AWS::Lambda::Function", "Architectures"),
    ("AWS::Lambda::Function", "DeadLetterConfig"),
];

/// Keys that identify an item of a list, so lists compare item by item whatever their order.
const ITEM_KEYS: &[&str] = &["Id", "IndexName", "PolicyName"];
/// Maps the live side may not extend.
const EXACT_MAPS: &[&str] = &["Environment.Variables"];
const ABSENT: &str = "(absent)";

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub differences: Vec<Difference>,
    pub notes: Vec<String>,
}

/// Compares the listed top-level `properties` that the template sets.
pub fn compare(
    resource_type: &str,
    properties: &[&str],
    expected: &Value,
    actual: &Value,
    custom_endpoint: bool,
) -> Comparison {
    let mut out = Comparison::default();
    for &name in properties {
        let Some(want) = expected.get(name) else {
            continue;
        };
        let mut found = Comparison::default();
        diff(
            name,
            want,
            actual.get(name).unwrap_or(&Value::Null),
            &mut found,
        );
        out.notes.append(&mut found.notes);
        if custom_endpoint && ENDPOINT_IGNORED.contains(&(resource_type, name)) {
            out.notes.extend(found.differences.iter().map(|d| {
                format!(
                    "{}: expected {}, endpoint has {} (not drift: the local endpoint ignores {name})",
                    d.property, d.expected, d.actual
                )
            }));
        } else {
            out.differences.append(&mut found.differences);
        }
    }
    out
}

/// The verdict: modified when anything differs, else in sync.
pub fn verdict(mut resource: ResourceDrift, comparison: Comparison) -> ResourceDrift {
    resource.status = if comparison.differences.is_empty() {
        ResourceStatus::InSync
    } else {
        ResourceStatus::Modified
    };
    resource.differences = comparison.differences;
    resource.notes.extend(comparison.notes);
    resource
}

fn diff(path: &str, want: &Value, have: &Value, out: &mut Comparison) {
    if let Some(reason) = unresolved_reason(want) {
        out.notes.push(format!("{path}: not checked: {reason}"));
        return;
    }
    if path.ends_with("PolicyDocument") {
        if has_unresolved(want) {
            note_unresolved(out, path);
        } else if policy::normalize(want) != policy::normalize(have) {
            push(out, path, want, have);
        }
        return;
    }
    match want {
        Value::Object(map) => diff_object(path, map, have, out),
        Value::Array(items) => match item_key(items) {
            Some(key) => diff_items(
                path,
                key,
                items,
                have.as_array().map_or(&[], Vec::as_slice),
                out,
            ),
            None if has_unresolved(want) => note_unresolved(out, path),
            None if !same(want, have) => push(out, path, want, have),
            None => {}
        },
        scalar => {
            if !same(scalar, have) {
                push(out, path, want, have);
            }
        }
    }
}

fn diff_object(path: &str, want: &Map<String, Value>, have: &Value, out: &mut Comparison) {
    for (key, inner) in want {
        let live = have.get(key).unwrap_or(&Value::Null);
        diff(&format!("{path}.{key}"), inner, live, out);
    }
    if EXACT_MAPS.contains(&path) {
        for (key, extra) in have.as_object().into_iter().flatten() {
            if !want.contains_key(key) {
                push(out, &format!("{path}.{key}"), &Value::Null, extra);
            }
        }
    }
}

fn note_unresolved(out: &mut Comparison, path: &str) {
    out.notes.push(format!(
        "{path}: not checked: it holds an intrinsic that cannot be resolved"
    ));
}

/// Lists of identified items: matched by their key, missing and extra items named.
fn diff_items(path: &str, key: &str, want: &[Value], have: &[Value], out: &mut Comparison) {
    let find = |items: &[Value], id: &Value| items.iter().find(|i| i.get(key) == Some(id)).cloned();
    for item in want {
        let id = &item[key];
        let label = format!("{path}[{}]", text(id));
        match find(have, id) {
            Some(live) => diff(&label, item, &live, out),
            None => push(out, &label, item, &Value::Null),
        }
    }
    for item in have {
        if find(want, &item[key]).is_none() {
            push(
                out,
                &format!("{path}[{}]", text(&item[key])),
                &Value::Null,
                item,
            );
        }
    }
}

fn item_key(items: &[Value]) -> Option<&'static str> {
    ITEM_KEYS
        .iter()
        .copied()
        .find(|k| !items.is_empty() && items.iter().all(|i| i.get(*k).is_some()))
}

/// Equal up to representation: `1209600` and `"1209600"`, `1` and `1.0`, `true` and `"true"`.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => false,
        (Value::String(x), Value::String(y)) if x != y => same_json_text(x, y),
        _ => text(a) == text(b),
    }
}

/// Strings that both hold a JSON object or array (a target's `Input`, a variable of settings)
/// are equal when their values are: key order and spacing are not drift.
fn same_json_text(a: &str, b: &str) -> bool {
    let parse = |s: &str| {
        serde_json::from_str::<Value>(s)
            .ok()
            .filter(|v| v.is_object() || v.is_array())
    };
    matches!((parse(a), parse(b)), (Some(x), Some(y)) if x == y)
}

fn has_unresolved(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.contains_key(UNRESOLVED) || map.values().any(has_unresolved),
        Value::Array(items) => items.iter().any(has_unresolved),
        _ => false,
    }
}

/// A value for people: strings bare, whole numbers without `.0`, the rest as compact JSON.
fn text(value: &Value) -> String {
    match value {
        Value::Null => ABSENT.to_owned(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            #[allow(clippy::cast_possible_truncation)]
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn push(out: &mut Comparison, path: &str, want: &Value, have: &Value) {
    out.differences.push(Difference {
        property: path.to_owned(),
        expected: text(want),
        actual: text(have),
    });
}

#[cfg(test)]
#[path = "compare_tests.rs"]
mod tests;
