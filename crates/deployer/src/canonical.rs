//! JSON with its object keys in sorted order, whatever the build.
//!
//! `serde_json` keeps keys sorted unless its `preserve_order` feature is on, and Cargo turns that
//! feature on for every crate of a build as soon as one dependency asks for it (a test-only
//! dependency does). Rendered templates, the function's environment and the published schema must
//! be the same bytes in every build, so every JSON value the deployer prints or hashes goes
//! through [`canonical`] first.

use serde_json::{Map, Value};

/// `value` with the keys of every object, at every depth, in sorted order.
pub fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut sorted = Map::new();
            for key in keys {
                sorted.insert(key.clone(), canonical(&map[key]));
            }
            Value::Object(sorted)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sorted_at_every_depth() {
        let value: Value =
            serde_json::from_str(r#"{"b": 1, "a": [{"z": 0, "y": {"d": 1, "c": 2}}]}"#).unwrap();
        assert_eq!(
            canonical(&value).to_string(),
            r#"{"a":[{"y":{"c":2,"d":1},"z":0}],"b":1}"#
        );
    }
}
