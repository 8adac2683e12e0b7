//! The template's intrinsics resolved against the deployed stack, so the live check compares
//! with what CloudFormation actually set. `Ref` of a resource is its physical id
//! (`ListStackResources`); `Fn::GetAtt` is read from the stack's outputs, matched through the
//! rendered template's own `Outputs` (an output whose value is `GetAtt X.Arn` gives `X.Arn`).
//! Anything else is left as an [`UNRESOLVED`] marker, which the comparison skips with a note.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// Key of the marker object that stands in for an intrinsic this module cannot resolve.
pub const UNRESOLVED: &str = "__unresolved";

#[derive(Debug, Clone, Default)]
pub struct Resolver {
    /// `Ref` values: parameters, pseudo parameters, physical ids.
    refs: BTreeMap<String, String>,
    /// `Fn::GetAtt` values by `Logical.Attribute`.
    atts: BTreeMap<String, String>,
}

impl Resolver {
    /// `physical_ids` by logical id, the stack's parameters, its id (an ARN: partition, region
    /// and account come from it), the rendered template and the live outputs by key.
    pub fn new(
        physical_ids: &BTreeMap<String, String>,
        parameters: &BTreeMap<String, String>,
        stack_id: &str,
        template: &Value,
        outputs: &BTreeMap<String, String>,
    ) -> Self {
        let mut refs: BTreeMap<String, String> = parameters.clone();
        refs.extend(physical_ids.iter().map(|(k, v)| (k.clone(), v.clone())));
        let arn: Vec<&str> = stack_id.split(':').collect();
        if let [_, partition, _, region, account, ..] = arn[..] {
            refs.insert("AWS::Partition".into(), partition.into());
            refs.insert("AWS::Region".into(), region.into());
            refs.insert("AWS::AccountId".into(), account.into());
            refs.insert("AWS::URLSuffix".into(), "amazonaws.com".into());
        }
        refs.insert("AWS::StackId".into(), stack_id.into());
        let mut atts = BTreeMap::new();
        let declared = template.get("Outputs").and_then(Value::as_object);
        for (name, output) in declared.into_iter().flatten() {
            let Some(live) = outputs.get(name) else {
                continue;
            };
            match output.get("Value") {
                Some(Value::Object(v)) if v.contains_key("Fn::GetAtt") => {
                    if let Some(key) = getatt_key(&v["Fn::GetAtt"]) {
                        atts.insert(key, live.clone());
                    }
                }
                Some(Value::Object(v)) => {
                    if let Some(Value::String(id)) = v.get("Ref") {
                        refs.entry(id.clone()).or_insert_with(|| live.clone());
                    }
                }
                _ => {}
            }
        }
        Self { refs, atts }
    }

    /// The value with every intrinsic resolved, or replaced by an [`UNRESOLVED`] marker.
    pub fn resolve(&self, value: &Value) -> Value {
        match value {
            Value::Object(map) if map.len() == 1 => {
                let (key, arg) = map
                    .iter()
                    .next()
                    .map_or(("", &Value::Null), |(k, v)| (k, v));
                match self.intrinsic(key, arg) {
                    Some(Ok(v)) => v,
                    Some(Err(reason)) => unresolved(&reason),
                    None => Value::Object(self.resolve_map(map)),
                }
            }
            Value::Object(map) => Value::Object(self.resolve_map(map)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.resolve(v)).collect()),
            other => other.clone(),
        }
    }

    fn resolve_map(&self, map: &Map<String, Value>) -> Map<String, Value> {
        map.iter()
            .map(|(k, v)| (k.clone(), self.resolve(v)))
            .collect()
    }

    /// `None` when `key` is not an intrinsic function.
    fn intrinsic(&self, key: &str, arg: &Value) -> Option<Result<Value, String>> {
        let result = match key {
            "Ref" => {
                let name = arg.as_str().unwrap_or_default();
                self.refs
                    .get(name)
                    .map(|v| Value::String(v.clone()))
                    .ok_or_else(|| format!("Ref {name}: no physical id or parameter"))
            }
            "Fn::GetAtt" => {
                let name = getatt_key(arg).unwrap_or_default();
                self.atts
                    .get(&name)
                    .map(|v| Value::String(v.clone()))
                    .ok_or_else(|| format!("Fn::GetAtt {name}: not among the stack's outputs"))
            }
            "Fn::Sub" => self.sub(arg).map(Value::String),
            "Fn::Join" => self.join(arg).map(Value::String),
            other if other.starts_with("Fn::") || other == "Condition" => {
                Err(format!("{other} is not resolved by the drift check"))
            }
            _ => return None,
        };
        Some(result)
    }

    fn sub(&self, arg: &Value) -> Result<String, String> {
        let (text, vars) = match arg {
            Value::String(s) => (s.as_str(), None),
            Value::Array(a) => (
                a.first().and_then(Value::as_str).unwrap_or_default(),
                a.get(1).and_then(Value::as_object),
            ),
            _ => return Err("Fn::Sub with an unexpected argument".into()),
        };
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let Some(end) = rest[start..].find('}') else {
                return Err(format!("Fn::Sub {text}: unclosed ${{"));
            };
            let name = &rest[start + 2..start + end];
            let value = if let Some(v) = vars.and_then(|v| v.get(name)) {
                self.resolve(v)
            } else {
                let key = if name.contains('.') {
                    "Fn::GetAtt"
                } else {
                    "Ref"
                };
                self.intrinsic(key, &Value::from(name))
                    .unwrap_or_else(|| Err(format!("{key} {name}")))?
            };
            out.push_str(
                value
                    .as_str()
                    .ok_or_else(|| format!("Fn::Sub {text}: ${{{name}}} unresolved"))?,
            );
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn join(&self, arg: &Value) -> Result<String, String> {
        let delimiter = arg.get(0).and_then(Value::as_str).unwrap_or_default();
        let parts = arg
            .get(1)
            .and_then(Value::as_array)
            .ok_or("Fn::Join without a list")?;
        let parts: Option<Vec<String>> = parts
            .iter()
            .map(|p| self.resolve(p).as_str().map(str::to_owned))
            .collect();
        parts
            .map(|p| p.join(delimiter))
            .ok_or_else(|| "Fn::Join of an unresolved value".to_owned())
    }
}

/// `["X", "Arn"]` or `"X.Arn"` -> `X.Arn`.
fn getatt_key(arg: &Value) -> Option<String> {
    match arg {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => Some(format!("{}.{}", a.first()?.as_str()?, a.get(1)?.as_str()?)),
        _ => None,
    }
}

fn unresolved(reason: &str) -> Value {
    serde_json::json!({ UNRESOLVED: reason })
}

/// The reason, when the value is an [`UNRESOLVED`] marker.
pub fn unresolved_reason(value: &Value) -> Option<&str> {
    value.get(UNRESOLVED).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resolver() -> Resolver {
        let ids = BTreeMap::from([("RefresherDlq".to_owned(), "http://q/dlq".to_owned())]);
        let params = BTreeMap::from([("ArtifactKey".to_owned(), "refresher/ab.zip".to_owned())]);
        let template = json!({"Outputs": {
            "EventBusName": {"Value": {"Fn::GetAtt": ["TokenEventBus", "Name"]}},
            "FnArn": {"Value": {"Fn::GetAtt": "RefresherFunction.Arn"}},
        }});
        let outputs = BTreeMap::from([
            ("EventBusName".to_owned(), "oauth-tokens-local".to_owned()),
            (
                "FnArn".to_owned(),
                "arn:aws:lambda:us-east-1:1:function:f".to_owned(),
            ),
        ]);
        let stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1";
        Resolver::new(&ids, &params, stack, &template, &outputs)
    }

    #[test]
    fn refs_and_getatts_come_from_the_stack() {
        let r = resolver();
        let env = json!({"DLQ_URL": {"Ref": "RefresherDlq"},
            "BUS": {"Fn::GetAtt": ["TokenEventBus", "Name"]}, "X": "lit",
            "ARN": {"Fn::GetAtt": ["RefresherFunction", "Arn"]}});
        assert_eq!(
            r.resolve(&env),
            json!({"DLQ_URL": "http://q/dlq", "BUS": "oauth-tokens-local", "X": "lit",
                "ARN": "arn:aws:lambda:us-east-1:1:function:f"})
        );
        assert_eq!(
            r.resolve(&json!({"Ref": "ArtifactKey"})),
            json!("refresher/ab.zip")
        );
    }

    #[test]
    fn sub_and_join_use_pseudo_parameters() {
        let r = resolver();
        let sub = json!({"Fn::Sub": "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/t"});
        assert_eq!(
            r.resolve(&sub),
            json!("arn:aws:dynamodb:us-east-1:123456789012:table/t")
        );
        let join = json!({"Fn::Join": ["/", [{"Ref": "RefresherDlq"}, "x"]]});
        assert_eq!(r.resolve(&join), json!("http://q/dlq/x"));
    }

    #[test]
    fn what_cannot_be_resolved_is_marked_not_guessed() {
        let r = resolver();
        let v = r.resolve(&json!({"Fn::GetAtt": ["TokensKey", "Arn"]}));
        assert_eq!(
            unresolved_reason(&v),
            Some("Fn::GetAtt TokensKey.Arn: not among the stack's outputs")
        );
        assert!(unresolved_reason(&r.resolve(&json!({"Fn::If": ["c", 1, 2]}))).is_some());
        assert!(unresolved_reason(&r.resolve(&json!({"Fn::Sub": "${Nope}"}))).is_some());
    }
}
