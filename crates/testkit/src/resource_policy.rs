//! A resource-level check of AWS calls against an identity policy, for the least-privilege proof
//! (RELIABILITY.md, scenario 6). moto enforces a policy's *actions*, but matches its resources
//! only as `*` for DynamoDB, KMS and Secrets Manager (it checks SQS queues); with this check in
//! the fault proxy, a call on a resource the policy does not name is refused as AWS refuses it.
//!
//! It understands what the project's policies use: `Allow` and `Deny` statements with `Action` and
//! `Resource` (strings or lists, `*` and `?` wildcards), and a `Condition` of `StringEquals` on
//! KMS encryption context keys (`kms:EncryptionContext:<key>`, read from the request's
//! `EncryptionContext`; a request without that key does not match) or on `EventBridge`'s
//! `events:detail-type` (read from `PutEvents`' entries, which must all have it). A policy with `NotAction`,
//! `NotResource`, or any other condition is refused when parsed rather than judged wrongly. Written here because no crate
//! evaluates IAM policies offline, and the part needed is small.
//!
//! Which resource a call is on comes from its JSON-protocol body: DynamoDB's `TableName` (and
//! `IndexName`), KMS's `KeyId`, SQS's `QueueUrl`, `EventBridge`'s `EventBusName` of each entry,
//! Secrets Manager's `SecretId`. Names are turned into ARNs with the request's region, the
//! account, and a map of names the test resolved (a KMS alias to its key, a secret's name to its
//! ARN with AWS's random suffix). A call that names no resource (KMS `Decrypt` takes the key from
//! the ciphertext) is judged on its action alone, and counted as such.

use std::collections::BTreeMap;

use serde_json::Value;

/// One parsed statement.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    allow: bool,
    actions: Vec<String>,
    resources: Vec<String>,
    /// `StringEquals` conditions: condition key -> the values allowed (any of them).
    context: BTreeMap<String, Vec<String>>,
}

impl Statement {
    /// Whether the statement's conditions hold for `call` (no conditions: always).
    fn applies(&self, call: &Call) -> bool {
        self.context.iter().all(|(key, values)| {
            call.context
                .get(key)
                .is_some_and(|value| values.iter().any(|v| v == value))
        })
    }
}

/// The condition keys this check reads from a request.
const DETAIL_TYPE: &str = "events:detail-type";
const CONTEXT_PREFIX: &str = "kms:EncryptionContext:";

/// The `Condition` block, when it is only `StringEquals` on keys this check reads.
fn conditions(value: Option<&Value>, sid: &str) -> Result<BTreeMap<String, Vec<String>>, String> {
    let Some(value) = value else {
        return Ok(BTreeMap::new());
    };
    let unsupported = || {
        format!(
            "statement {sid}: only StringEquals on {CONTEXT_PREFIX}<key> or {DETAIL_TYPE} is evaluated"
        )
    };
    let block = value.as_object().ok_or_else(unsupported)?;
    let mut out = BTreeMap::new();
    for (operator, tests) in block {
        if operator != "StringEquals" {
            return Err(unsupported());
        }
        for (key, expected) in tests.as_object().ok_or_else(unsupported)? {
            if !(key.starts_with(CONTEXT_PREFIX) || key == DETAIL_TYPE) {
                return Err(unsupported());
            }
            out.insert(key.clone(), strings(expected, "Condition", sid)?);
        }
    }
    Ok(out)
}

/// The detail-type of every entry of a `PutEvents` body, when they all have the same one.
fn shared_detail_type(body: &Value) -> Option<String> {
    let entries = body["Entries"].as_array()?;
    let first = entries.first()?["DetailType"].as_str()?;
    entries
        .iter()
        .all(|e| e["DetailType"].as_str() == Some(first))
        .then(|| first.to_owned())
}

/// An identity policy, as far as this check understands one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    statements: Vec<Statement>,
}

/// What a request asks: `service:Operation` and the ARNs it touches (empty: names none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub action: String,
    pub resources: Vec<String>,
    /// The condition keys the request gives values for: its KMS encryption context
    /// (`kms:EncryptionContext:<key>`), a `PutEvents` detail-type shared by every entry.
    pub context: BTreeMap<String, String>,
}

/// Turns names into ARNs for one account.
#[derive(Debug, Clone, Default)]
pub struct Resolver {
    pub account: String,
    /// A name as calls give it (`alias/x`, a secret's name) -> its ARN.
    pub names: BTreeMap<String, String>,
}

fn strings(value: &Value, field: &str, sid: &str) -> Result<Vec<String>, String> {
    match value {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("statement {sid}: {field} holds a non-string"))
            })
            .collect(),
        _ => Err(format!(
            "statement {sid}: {field} is missing or not a string or list"
        )),
    }
}

impl Policy {
    /// # Errors
    /// When the document is not a policy, or uses what this check does not evaluate.
    pub fn parse(document: &Value) -> Result<Self, String> {
        let statements = match &document["Statement"] {
            Value::Array(items) => items.clone(),
            single @ Value::Object(_) => vec![single.clone()],
            _ => return Err("the policy has no Statement".to_owned()),
        };
        let mut parsed = Vec::new();
        for (i, statement) in statements.iter().enumerate() {
            let sid = statement["Sid"]
                .as_str()
                .map_or_else(|| format!("#{i}"), str::to_owned);
            for unsupported in ["NotAction", "NotResource", "Principal"] {
                if statement.get(unsupported).is_some() {
                    return Err(format!(
                        "statement {sid}: {unsupported} is not evaluated by this check"
                    ));
                }
            }
            let allow = match statement["Effect"].as_str() {
                Some("Allow") => true,
                Some("Deny") => false,
                _ => return Err(format!("statement {sid}: Effect must be Allow or Deny")),
            };
            parsed.push(Statement {
                allow,
                actions: strings(&statement["Action"], "Action", &sid)?,
                resources: strings(&statement["Resource"], "Resource", &sid)?,
                context: conditions(statement.get("Condition"), &sid)?,
            });
        }
        Ok(Self { statements: parsed })
    }

    /// Whether `call` is allowed: every resource it names by an `Allow` statement for its action
    /// and by no `Deny`. A call naming none is allowed by any `Allow` for its action, and denied
    /// only by a `Deny` on every resource (`*`): which resource it acts on is unknown here.
    #[must_use]
    pub fn allows(&self, call: &Call) -> bool {
        let concerned = |s: &&Statement| {
            s.actions.iter().any(|a| matches(a, &call.action, true)) && s.applies(call)
        };
        let on = |s: &Statement, resource: Option<&str>| match resource {
            Some(r) => s.resources.iter().any(|p| matches(p, r, false)),
            None if s.allow => true,
            None => s.resources.iter().any(|p| p == "*"),
        };
        let resources: Vec<Option<&str>> = if call.resources.is_empty() {
            vec![None]
        } else {
            call.resources.iter().map(|r| Some(r.as_str())).collect()
        };
        resources.iter().all(|resource| {
            let mut statements = self.statements.iter().filter(concerned);
            let denied = statements.clone().any(|s| !s.allow && on(s, *resource));
            !denied && statements.any(|s| s.allow && on(s, *resource))
        })
    }
}

/// IAM's wildcard match: `*` any run, `?` one character; actions ignore case.
fn matches(pattern: &str, value: &str, ignore_case: bool) -> bool {
    let fold = |s: &str| {
        if ignore_case {
            s.to_ascii_lowercase().into_bytes()
        } else {
            s.as_bytes().to_vec()
        }
    };
    let (p, v) = (fold(pattern), fold(value));
    // Iterative glob with one backtrack point: linear enough for ARNs.
    let (mut pi, mut vi, mut star, mut mark) = (0, 0, None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// The service of a JSON-protocol `X-Amz-Target` prefix.
fn service(prefix: &str) -> Option<&'static str> {
    Some(match prefix {
        "DynamoDB_20120810" => "dynamodb",
        "TrentService" => "kms",
        "AmazonSQS" => "sqs",
        "AWSEvents" => "events",
        "secretsmanager" => "secretsmanager",
        _ => return None,
    })
}

/// The region of a `SigV4` `Authorization` header (`Credential=AKID/DATE/REGION/SERVICE/...`).
#[must_use]
pub fn region_of(authorization: &str) -> Option<&str> {
    let credential = authorization.split("Credential=").nth(1)?;
    credential.split('/').nth(2)
}

impl Resolver {
    /// The call a JSON-protocol request makes, or `None` for a protocol or service this check
    /// does not read (those are judged by moto alone).
    #[must_use]
    pub fn call(&self, target: &str, body: &Value, region: &str) -> Option<Call> {
        let (prefix, operation) = target.split_once('.')?;
        let service = service(prefix)?;
        let resources = match service {
            "dynamodb" => self.tables(body, region),
            "kms" => self.key(body, region).into_iter().collect(),
            "sqs" => body["QueueUrl"]
                .as_str()
                .and_then(|url| url.rsplit('/').next())
                .map(|queue| format!("arn:aws:sqs:{region}:{}:{queue}", self.account))
                .into_iter()
                .collect(),
            "events" => self.buses(body, region),
            _ => body["SecretId"]
                .as_str()
                .map(|id| {
                    self.named(
                        id,
                        format!(
                            "arn:aws:secretsmanager:{region}:{}:secret:{id}",
                            self.account
                        ),
                    )
                })
                .into_iter()
                .collect(),
        };
        let mut context: BTreeMap<String, String> = body["EncryptionContext"]
            .as_object()
            .map(|map| {
                map.iter()
                    .filter_map(|(k, v)| {
                        Some((format!("{CONTEXT_PREFIX}{k}"), v.as_str()?.to_owned()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if let Some(detail_type) = shared_detail_type(body) {
            context.insert(DETAIL_TYPE.to_owned(), detail_type);
        }
        Some(Call {
            action: format!("{service}:{operation}"),
            resources,
            context,
        })
    }

    /// An ARN as given, else the ARN the test resolved for the name, else `arn`.
    fn named(&self, name: &str, arn: String) -> String {
        if name.starts_with("arn:") {
            name.to_owned()
        } else {
            self.names.get(name).cloned().unwrap_or(arn)
        }
    }

    /// The tables (and index) a DynamoDB call names, single-table or batch.
    fn tables(&self, body: &Value, region: &str) -> Vec<String> {
        let mut tables: Vec<String> = body["TableName"]
            .as_str()
            .map(str::to_owned)
            .into_iter()
            .collect();
        if let Some(items) = body["RequestItems"].as_object() {
            tables.extend(items.keys().cloned());
        }
        tables
            .iter()
            .map(|table| {
                let arn = self.named(
                    table,
                    format!("arn:aws:dynamodb:{region}:{}:table/{table}", self.account),
                );
                match body["IndexName"].as_str() {
                    Some(index) => format!("{arn}/index/{index}"),
                    None => arn,
                }
            })
            .collect()
    }

    /// The key a KMS call names; an alias (by name or ARN) stands for its key when the test
    /// resolved it.
    fn key(&self, body: &Value, region: &str) -> Option<String> {
        let key = body["KeyId"].as_str()?;
        let prefix = format!("arn:aws:kms:{region}:{}:", self.account);
        let alias = key.strip_prefix(&prefix).unwrap_or(key);
        Some(if alias.starts_with("alias/") {
            self.names
                .get(alias)
                .cloned()
                .unwrap_or_else(|| format!("{prefix}{alias}"))
        } else {
            self.named(key, format!("{prefix}key/{key}"))
        })
    }

    /// The buses an `EventBridge` call names (`PutEvents` entries without one go to `default`).
    fn buses(&self, body: &Value, region: &str) -> Vec<String> {
        let mut buses: Vec<String> = body["Entries"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|entry| {
                entry["EventBusName"]
                    .as_str()
                    .unwrap_or("default")
                    .to_owned()
            })
            .collect();
        buses.extend(body["EventBusName"].as_str().map(str::to_owned));
        buses.sort();
        buses.dedup();
        buses
            .iter()
            .map(|bus| {
                self.named(
                    bus,
                    format!("arn:aws:events:{region}:{}:event-bus/{bus}", self.account),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    const TABLE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/tokens";

    fn policy() -> Policy {
        Policy::parse(&json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Q", "Effect": "Allow", "Action": ["dynamodb:Query"], "Resource": format!("{TABLE}/index/byExpiry")},
            {"Sid": "RW", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"], "Resource": TABLE},
            {"Sid": "S", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
             "Resource": "arn:aws:secretsmanager:us-east-1:123456789012:secret:creds-??????"},
            {"Sid": "K", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
             "Resource": "arn:aws:kms:us-east-1:123456789012:key/k1"},
            {"Sid": "NoDelete", "Effect": "Deny", "Action": "dynamodb:*Item", "Resource": format!("{TABLE}-archive")}
        ]}))
        .unwrap()
    }

    fn resolver() -> Resolver {
        Resolver {
            account: "123456789012".to_owned(),
            names: [
                (
                    "alias/tokens".to_owned(),
                    "arn:aws:kms:us-east-1:123456789012:key/k1".to_owned(),
                ),
                (
                    "creds".to_owned(),
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:creds-AbC123".to_owned(),
                ),
            ]
            .into(),
        }
    }

    fn allowed(target: &str, body: &Value) -> bool {
        let call = resolver().call(target, body, "us-east-1").unwrap();
        policy().allows(&call)
    }

    #[test]
    fn calls_on_the_named_resources_are_allowed() {
        assert!(allowed(
            "DynamoDB_20120810.Query",
            &json!({"TableName": "tokens", "IndexName": "byExpiry"})
        ));
        assert!(allowed(
            "DynamoDB_20120810.UpdateItem",
            &json!({"TableName": "tokens"})
        ));
        assert!(allowed(
            "secretsmanager.GetSecretValue",
            &json!({"SecretId": "creds"})
        ));
        assert!(allowed(
            "TrentService.GenerateDataKey",
            &json!({"KeyId": "alias/tokens"})
        ));
        // Decrypt names no key: judged on its action.
        assert!(allowed(
            "TrentService.Decrypt",
            &json!({"CiphertextBlob": "AAAA"})
        ));
    }

    #[test]
    fn the_same_actions_on_other_resources_are_denied() {
        assert!(
            !allowed("DynamoDB_20120810.Query", &json!({"TableName": "tokens"})),
            "the table, not its index"
        );
        assert!(!allowed(
            "DynamoDB_20120810.Query",
            &json!({"TableName": "analytics", "IndexName": "byExpiry"})
        ));
        assert!(!allowed(
            "DynamoDB_20120810.GetItem",
            &json!({"TableName": "other"})
        ));
        assert!(!allowed(
            "secretsmanager.GetSecretValue",
            &json!({"SecretId": "other-secret"})
        ));
        assert!(!allowed(
            "TrentService.GenerateDataKey",
            &json!({"KeyId": "k2"})
        ));
        assert!(
            !allowed("DynamoDB_20120810.Scan", &json!({"TableName": "tokens"})),
            "an action not granted"
        );
    }

    #[test]
    fn an_explicit_deny_wins_and_every_resource_of_a_call_must_pass() {
        let mut p = policy();
        p.statements.push(Statement {
            allow: true,
            actions: vec!["dynamodb:*".to_owned()],
            resources: vec!["*".to_owned()],
            context: BTreeMap::new(),
        });
        let call = |table: &str| {
            resolver()
                .call(
                    "DynamoDB_20120810.DeleteItem",
                    &json!({"TableName": table}),
                    "us-east-1",
                )
                .unwrap()
        };
        assert!(p.allows(&call("anything")));
        assert!(!p.allows(&call("tokens-archive")));
        let batch = resolver()
            .call(
                "DynamoDB_20120810.BatchGetItem",
                &json!({"RequestItems": {"tokens": {}, "other": {}}}),
                "us-east-1",
            )
            .unwrap();
        assert_eq!(batch.resources.len(), 2);
        assert!(!policy().allows(&batch));
    }

    #[test]
    fn a_call_naming_no_resource_is_denied_only_by_a_deny_on_everything() {
        let decrypt = resolver()
            .call("TrentService.Decrypt", &json!({}), "us-east-1")
            .unwrap();
        let mut p = policy();
        p.statements.push(Statement {
            allow: false,
            actions: vec!["kms:Decrypt".to_owned()],
            resources: vec!["arn:aws:kms:us-east-1:123456789012:key/other".to_owned()],
            context: BTreeMap::new(),
        });
        assert!(p.allows(&decrypt), "a deny on another key says nothing");
        p.statements.push(Statement {
            allow: false,
            actions: vec!["kms:*".to_owned()],
            resources: vec!["*".to_owned()],
            context: BTreeMap::new(),
        });
        assert!(!p.allows(&decrypt));
    }

    #[test]
    fn an_alias_stands_for_its_key() {
        let by_arn = json!({"KeyId": "arn:aws:kms:us-east-1:123456789012:alias/tokens"});
        let call = resolver()
            .call("TrentService.GenerateDataKey", &by_arn, "us-east-1")
            .unwrap();
        assert_eq!(
            call.resources,
            ["arn:aws:kms:us-east-1:123456789012:key/k1"]
        );
        let unknown = resolver()
            .call(
                "TrentService.GenerateDataKey",
                &json!({"KeyId": "alias/nope"}),
                "us-east-1",
            )
            .unwrap();
        assert_eq!(
            unknown.resources,
            ["arn:aws:kms:us-east-1:123456789012:alias/nope"]
        );
        assert!(!policy().allows(&unknown));
    }

    #[test]
    fn wildcards_follow_iam() {
        assert!(matches("dynamodb:*Item", "dynamodb:GetItem", true));
        assert!(matches("DynamoDB:getitem", "dynamodb:GetItem", true));
        assert!(!matches("arn:aws:s3:::b", "arn:aws:s3:::B", false));
        assert!(matches("secret:creds-??????", "secret:creds-AbC123", false));
        assert!(!matches("secret:creds-??????", "secret:creds-AbC12", false));
        assert!(matches("a*b*c", "axxbyyc", false));
        assert!(!matches("a*b*c", "axxbyy", false));
    }

    #[test]
    fn an_encryption_context_condition_must_be_met_by_the_request() {
        let policy = Policy::parse(
            &json!({"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt",
            "Resource": "arn:aws:kms:us-east-1:123456789012:key/k1",
            "Condition": {"StringEquals": {"kms:EncryptionContext:tokensTable": "tokens"}}}]}),
        )
        .unwrap();
        let decrypt = |body: Value| {
            let call = resolver()
                .call("TrentService.Decrypt", &body, "us-east-1")
                .unwrap();
            policy.allows(&call)
        };
        assert!(decrypt(
            json!({"KeyId": "alias/tokens", "EncryptionContext": {"tokensTable": "tokens"}})
        ));
        assert!(!decrypt(
            json!({"KeyId": "alias/tokens", "EncryptionContext": {"tokensTable": "other"}})
        ));
        assert!(!decrypt(json!({"KeyId": "alias/tokens"})), "no context");
    }

    #[test]
    fn a_detail_type_condition_holds_only_when_every_entry_has_it() {
        let policy = Policy::parse(&json!({"Statement": [{"Effect": "Allow",
            "Action": "events:PutEvents",
            "Resource": "arn:aws:events:us-east-1:123456789012:event-bus/bus",
            "Condition": {"StringEquals": {"events:detail-type": "token.refresh-requested"}}}]}))
        .unwrap();
        let put = |types: &[&str]| {
            let entries: Vec<Value> = types
                .iter()
                .map(|t| json!({"EventBusName": "bus", "DetailType": t, "Source": "app", "Detail": "{}"}))
                .collect();
            let call = resolver()
                .call(
                    "AWSEvents.PutEvents",
                    &json!({"Entries": entries}),
                    "us-east-1",
                )
                .unwrap();
            policy.allows(&call)
        };
        assert!(put(&["token.refresh-requested"]));
        assert!(put(&["token.refresh-requested", "token.refresh-requested"]));
        assert!(!put(&["token.refreshed"]), "a forged refresher event");
        assert!(
            !put(&["token.refresh-requested", "token.refreshed"]),
            "one forged entry"
        );
    }

    #[test]
    fn what_the_check_cannot_judge_is_refused() {
        let conditioned = json!({"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": "x"}}}]});
        assert!(
            Policy::parse(&conditioned)
                .unwrap_err()
                .contains("only StringEquals on kms:EncryptionContext:<key> or events:detail-type")
        );
        assert!(
            Policy::parse(
                &json!({"Statement": [{"Effect": "Allow", "NotAction": "x", "Resource": "*"}]})
            )
            .is_err()
        );
        assert!(
            resolver()
                .call("Logs_20140328.PutLogEvents", &json!({}), "us-east-1")
                .is_none()
        );
    }

    #[test]
    fn the_region_comes_from_the_signature() {
        let auth = "AWS4-HMAC-SHA256 Credential=AKID/20261124/eu-west-1/dynamodb/aws4_request, SignedHeaders=host, Signature=abc";
        assert_eq!(region_of(auth), Some("eu-west-1"));
        assert_eq!(region_of("Bearer x"), None);
    }
}
