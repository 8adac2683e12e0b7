//! `policies/deployer-ci.json` against the deployer's source: every AWS operation the deployer
//! calls (found by scanning `crates/deployer/src` for SDK calls: `<client>.<op>()...send()`) is
//! allowed to the CI role directly, unless only a command CI never runs calls it (`NOT_FOR_CI`);
//! nothing else is allowed directly; what `CloudFormation` does with the caller's credentials is
//! allowed only through `aws:CalledVia` and listed in `VIA_CLOUDFORMATION` with its reason.
//! Also checks that the workflows in `.github/workflows/` are valid YAML and that a job assuming
//! a role can get an OIDC token.

// Helpers of a test fail it by panicking, as the test functions do.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

const POLICY: &str = "policies/deployer-ci.json";
const CALLED_VIA_CFN: &str = "cloudformation.amazonaws.com";

/// Operations the deployer calls only from commands CI does not run; the policy must not allow
/// them directly.
const NOT_FOR_CI: &[(&str, &str)] = &[
    (
        "secretsmanager:GetSecretValue",
        "`secrets set/list`: an operator's command; client secrets never pass through CI",
    ),
    (
        "secretsmanager:CreateSecret",
        "`secrets set`: an operator's command",
    ),
    (
        "secretsmanager:PutSecretValue",
        "`secrets set`: an operator's command",
    ),
    (
        "events:EnableRule",
        "`rules enable`: an operator's switch, not a pipeline step",
    ),
    (
        "events:DisableRule",
        "`rules disable`: an operator's switch, not a pipeline step",
    ),
    (
        "cloudwatch:GetMetricData",
        "`status`: the token API's Lambda metrics, an operator's read (its resource can only be \
         `*`, and `status` shows the rest without it)",
    ),
    (
        "lambda:GetPolicy",
        "`verify`: the operator's post-deploy checklist (it also reads the credentials secret)",
    ),
    // `dynamodb:Query` is not listed: `status`, `verify` and `tokens list` query through the
    // refresher's own readers (`refresher::analytics`, `DynamoStore::due`), which this scan of the
    // deployer's source does not see; the CI policy does not allow it, and CI runs none of them.
    (
        "sqs:ReceiveMessage",
        "`dlq list/show/redrive/replay`: an operator's triage",
    ),
    (
        "sqs:ChangeMessageVisibilityBatch",
        "`dlq list/show` put looked-at messages back at once",
    ),
    (
        "sqs:DeleteMessage",
        "`dlq redrive/replay`: an operator's repair",
    ),
    (
        "sqs:SendMessage",
        "`dlq redrive` to a source queue: an operator's repair",
    ),
    (
        "sqs:GetQueueUrl",
        "`dlq redrive`: the source queue of a move",
    ),
    (
        "sqs:ListDeadLetterSourceQueues",
        "`dlq redrive`: whether a source queue exists",
    ),
    (
        "sqs:StartMessageMoveTask",
        "`dlq redrive`: an operator's repair",
    ),
    (
        "sqs:PurgeQueue",
        "`dlq purge`: destroys messages; never a pipeline step",
    ),
    (
        "s3:GetObject",
        "`invoke --local` downloads the zip; CI invokes remotely (the policy allows it only via CloudFormation, for Lambda to read the code)",
    ),
];

/// What `CloudFormation` calls with the CI role's credentials while it creates, updates, rolls
/// back or deletes the stack's resources (the deployer passes no service role): allowed only with
/// `aws:CalledVia` = `cloudformation.amazonaws.com`.
const VIA_CLOUDFORMATION: &[(&[&str], &str)] = &[
    (
        &["iam:PassRole"],
        "Lambda::Function runs as RefresherRole (iam:PassedToService lambda); the HTTP trigger's rule target uses HttpTriggerRole (iam:PassedToService events)",
    ),
    (
        &[
            "events:CreateConnection",
            "events:UpdateConnection",
            "events:DeleteConnection",
            "events:DescribeConnection",
            "events:CreateApiDestination",
            "events:UpdateApiDestination",
            "events:DeleteApiDestination",
            "events:DescribeApiDestination",
        ],
        "Events::Connection and Events::ApiDestination of a stage's http_trigger",
    ),
    (
        &[
            "secretsmanager:CreateSecret",
            "secretsmanager:UpdateSecret",
            "secretsmanager:DeleteSecret",
            "secretsmanager:DescribeSecret",
            "secretsmanager:PutSecretValue",
            "secretsmanager:GetSecretValue",
        ],
        "EventBridge keeps a connection's key in its own secret (events!connection/...), created with the caller's credentials; CloudFormation reads the http_trigger's header secret (oauth-refresher*) for its dynamic reference",
    ),
    (
        &[
            "iam:CreateRole",
            "iam:DeleteRole",
            "iam:PutRolePolicy",
            "iam:DeleteRolePolicy",
            "iam:TagRole",
            "iam:UntagRole",
            "iam:UpdateAssumeRolePolicy",
            "iam:UpdateRoleDescription",
        ],
        "IAM::Role RefresherRole: inline policy, trust policy, stack tags",
    ),
    (
        &[
            "iam:CreatePolicy",
            "iam:CreatePolicyVersion",
            "iam:DeletePolicy",
            "iam:DeletePolicyVersion",
            "iam:GetPolicy",
            "iam:GetPolicyVersion",
            "iam:ListPolicyVersions",
        ],
        "IAM::ManagedPolicy TokenReaderPolicy (the apps' reader policy): created, updated as a new version (old ones deleted, at most five kept), deleted with the stack",
    ),
    (
        &[
            "dynamodb:CreateTable",
            "dynamodb:UpdateTable",
            "dynamodb:DeleteTable",
            "dynamodb:UpdateTimeToLive",
            "dynamodb:UpdateContinuousBackups",
            "dynamodb:TagResource",
            "dynamodb:UntagResource",
            "dynamodb:ListTagsOfResource",
        ],
        "DynamoDB::Table tokens and analytics: TTL, point-in-time recovery, deletion protection, stack tags",
    ),
    (
        &["kms:CreateKey", "kms:ListAliases"],
        "KMS::Key and Alias: CreateKey and ListAliases take no resource",
    ),
    (
        &[
            "kms:CreateAlias",
            "kms:UpdateAlias",
            "kms:DeleteAlias",
            "kms:DescribeKey",
            "kms:EnableKeyRotation",
            "kms:GetKeyRotationStatus",
            "kms:GetKeyPolicy",
            "kms:PutKeyPolicy",
            "kms:ScheduleKeyDeletion",
            "kms:UpdateKeyDescription",
            "kms:TagResource",
            "kms:UntagResource",
            "kms:ListResourceTags",
        ],
        "KMS::Key TokensKey (rotation, key policy, stack tags) and its alias",
    ),
    (
        &[
            "kms:CreateGrant",
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:GenerateDataKey",
        ],
        "the tables, the queue, the topic, the log group and the function's environment are encrypted with TokensKey",
    ),
    (
        &[
            "lambda:CreateFunction",
            "lambda:GetFunction",
            "lambda:DeleteFunction",
            "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration",
            "lambda:PutFunctionConcurrency",
            "lambda:DeleteFunctionConcurrency",
            "lambda:TagResource",
            "lambda:UntagResource",
            "lambda:ListTags",
        ],
        "Lambda::Function RefresherFunction: code, configuration, reserved concurrency, stack tags",
    ),
    (
        &[
            "lambda:AddPermission",
            "lambda:RemovePermission",
            "lambda:GetPolicy",
        ],
        "Lambda::Permission per rule (EventBridge may invoke the function)",
    ),
    (
        &[
            "lambda:PutFunctionEventInvokeConfig",
            "lambda:UpdateFunctionEventInvokeConfig",
            "lambda:GetFunctionEventInvokeConfig",
            "lambda:DeleteFunctionEventInvokeConfig",
        ],
        "Lambda::EventInvokeConfig RefresherInvokeConfig",
    ),
    (
        &["s3:GetObject", "s3:GetObjectVersion"],
        "Lambda reads the function's zip from the artifact bucket with the caller's credentials",
    ),
    (
        &[
            "logs:CreateLogGroup",
            "logs:DeleteLogGroup",
            "logs:DescribeLogGroups",
            "logs:PutRetentionPolicy",
            "logs:DeleteRetentionPolicy",
            "logs:AssociateKmsKey",
            "logs:DisassociateKmsKey",
            "logs:TagResource",
            "logs:UntagResource",
            "logs:ListTagsForResource",
        ],
        "Logs::LogGroup RefresherLogGroup: retention, KMS key, stack tags",
    ),
    (
        &[
            "sqs:CreateQueue",
            "sqs:DeleteQueue",
            "sqs:SetQueueAttributes",
            "sqs:TagQueue",
            "sqs:UntagQueue",
            "sqs:ListQueueTags",
        ],
        "SQS::Queue RefresherDlq and its QueuePolicy (SetQueueAttributes)",
    ),
    (
        &[
            "events:CreateEventBus",
            "events:DescribeEventBus",
            "events:DeleteEventBus",
            "events:PutRule",
            "events:DeleteRule",
            "events:PutTargets",
            "events:RemoveTargets",
            "events:TagResource",
            "events:UntagResource",
            "events:ListTagsForResource",
        ],
        "Events::EventBus TokenEventBus and Events::Rule per schedule group (targets, stack tags)",
    ),
    (
        &[
            "sns:CreateTopic",
            "sns:DeleteTopic",
            "sns:GetTopicAttributes",
            "sns:SetTopicAttributes",
            "sns:Subscribe",
            "sns:Unsubscribe",
            "sns:GetSubscriptionAttributes",
            "sns:TagResource",
            "sns:UntagResource",
            "sns:ListTagsForResource",
        ],
        "SNS::Topic AlarmTopic and SNS::Subscription AlarmEmailSubscription",
    ),
    (
        &[
            "cloudwatch:PutMetricAlarm",
            "cloudwatch:DeleteAlarms",
            "cloudwatch:TagResource",
            "cloudwatch:UntagResource",
            "cloudwatch:ListTagsForResource",
        ],
        "CloudWatch::Alarm (errors, throttles, failed invocations, DLQ, refresh failures, re-auth, no run)",
    ),
    (
        &[
            "cloudwatch:PutDashboard",
            "cloudwatch:GetDashboard",
            "cloudwatch:DeleteDashboards",
        ],
        "CloudWatch::Dashboard OAuthTokenHealth",
    ),
];

/// Actions that take no resource-level permissions, so only `"Resource": "*"` works.
const STAR_RESOURCE_OK: &[&str] = &[
    "sts:GetCallerIdentity",
    "cloudformation:DescribeStackDriftDetectionStatus",
    "kms:CreateKey",
    "kms:ListAliases",
];

/// SDK operations whose IAM action is not their own name.
const ACTION_NAMES: &[(&str, &str)] = &[
    ("s3:ListObjectsV2", "s3:ListBucket"),
    ("s3:ListObjects", "s3:ListBucket"),
    ("s3:HeadBucket", "s3:ListBucket"),
    ("s3:HeadObject", "s3:GetObject"),
    ("s3:PutPublicAccessBlock", "s3:PutBucketPublicAccessBlock"),
    ("s3:GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock"),
    ("s3:PutBucketEncryption", "s3:PutEncryptionConfiguration"),
    ("s3:GetBucketEncryption", "s3:GetEncryptionConfiguration"),
    ("lambda:Invoke", "lambda:InvokeFunction"),
];

/// `aws_sdk_<crate>` and `Aws::<accessor>()` to the IAM service prefix.
const SERVICES: &[(&str, &str)] = &[
    ("cloudformation", "cloudformation"),
    ("cloudwatch", "cloudwatch"),
    ("dynamodb", "dynamodb"),
    ("eventbridge", "events"),
    ("iam", "iam"),
    ("kms", "kms"),
    ("lambda", "lambda"),
    ("s3", "s3"),
    ("secretsmanager", "secretsmanager"),
    ("sqs", "sqs"),
    ("sts", "sts"),
];

fn project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn ci_policy_allows_exactly_what_the_ci_commands_call() {
    let (called, unresolved) = sdk_calls(&project().join("crates/deployer/src"));
    // The scanner itself: each shape of call in the source is found.
    for (action, file) in [
        ("cloudformation:DescribeStacks", "aws/cfn.rs"),
        ("s3:CreateBucket", "aws/s3.rs"),
        ("sts:GetCallerIdentity", "aws/mod.rs"),
        ("events:DisableRule", "aws/events.rs"),
    ] {
        assert!(
            called
                .get(action)
                .is_some_and(|f| f.iter().any(|f| f.ends_with(file))),
            "the scanner missed {action} in {file}; found {called:#?}"
        );
    }
    let mut problems = unresolved;
    let policy = Policy::load();
    problems.extend(policy.shape_problems());
    problems.extend(direct_problems(&called, &policy));
    problems.extend(via_cloudformation_problems(&policy));
    assert!(
        problems.is_empty(),
        "{POLICY} does not match the deployer's calls:\n  {}",
        problems.join("\n  ")
    );
}

/// Called operations against the statements without `aws:CalledVia`.
fn direct_problems(called: &BTreeMap<String, BTreeSet<String>>, policy: &Policy) -> Vec<String> {
    let direct = policy.actions(false);
    let not_for_ci: BTreeMap<&str, &str> = NOT_FOR_CI.iter().copied().collect();
    let mut problems = Vec::new();
    for (action, files) in called {
        let files: Vec<&str> = files.iter().map(String::as_str).collect();
        let files = files.join(", ");
        match not_for_ci.get(action.as_str()) {
            Some(why) if direct.contains(action) => problems.push(format!(
                "{action} is allowed directly, but only {files} calls it, for {why}; remove it"
            )),
            None if !direct.contains(action) => problems.push(format!(
                "{action} is called in {files} but not allowed; add it to a statement without aws:CalledVia, scoped to the stage's resources (or to NOT_FOR_CI in this test, with why CI never calls it)"
            )),
            // Not for CI and not allowed, or for CI and allowed.
            Some(_) | None => {}
        }
    }
    for action in &direct {
        if !called.contains_key(action) {
            problems.push(format!(
                "{action} is allowed directly but the deployer never calls it; remove it (or, if CloudFormation needs it, move it to an aws:CalledVia statement and list it in VIA_CLOUDFORMATION)"
            ));
        }
    }
    for (action, why) in NOT_FOR_CI {
        if !called.contains_key(*action) {
            problems.push(format!(
                "NOT_FOR_CI lists {action} ({why}) but the deployer no longer calls it; drop it from the list"
            ));
        }
    }
    problems
}

/// The `aws:CalledVia` statements against `VIA_CLOUDFORMATION`, both ways.
fn via_cloudformation_problems(policy: &Policy) -> Vec<String> {
    let via = policy.actions(true);
    let listed: BTreeSet<String> = VIA_CLOUDFORMATION
        .iter()
        .flat_map(|(actions, _)| actions.iter().map(|a| (*a).to_owned()))
        .collect();
    let mut problems: Vec<String> = via
        .difference(&listed)
        .map(|a| format!("{a} is allowed via CloudFormation but VIA_CLOUDFORMATION does not say why; list it with its reason or remove it"))
        .collect();
    problems.extend(listed.difference(&via).map(|a| {
        format!("VIA_CLOUDFORMATION lists {a} but the policy does not allow it via CloudFormation; add it to a ViaCloudFormation statement")
    }));
    problems
}

/// One `Allow` statement.
struct Statement {
    sid: String,
    actions: Vec<String>,
    resources: Vec<String>,
    condition: Value,
}

impl Statement {
    fn via_cloudformation(&self) -> bool {
        !self.condition["ForAnyValue:StringEquals"]["aws:CalledVia"].is_null()
    }
}

struct Policy(Vec<Statement>);

impl Policy {
    fn load() -> Self {
        let text = std::fs::read_to_string(project().join(POLICY)).unwrap();
        let doc: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{POLICY} is not JSON: {e}"));
        assert_eq!(doc["Version"], "2012-10-17", "{POLICY}: Version");
        let strings = |v: &Value| -> Vec<String> {
            match v {
                Value::String(s) => vec![s.clone()],
                Value::Array(a) => a.iter().map(|s| s.as_str().unwrap().to_owned()).collect(),
                _ => Vec::new(),
            }
        };
        let statements = doc["Statement"].as_array().unwrap();
        Self(
            statements
                .iter()
                .map(|s| {
                    assert_eq!(s["Effect"], "Allow", "{POLICY}: {s}");
                    Statement {
                        sid: s["Sid"].as_str().unwrap_or_default().to_owned(),
                        actions: strings(&s["Action"]),
                        resources: strings(&s["Resource"]),
                        condition: s["Condition"].clone(),
                    }
                })
                .collect(),
        )
    }

    /// Actions of the statements with (`true`) or without `aws:CalledVia`.
    fn actions(&self, via: bool) -> BTreeSet<String> {
        self.0
            .iter()
            .filter(|s| s.via_cloudformation() == via)
            .flat_map(|s| s.actions.iter().cloned())
            .collect()
    }

    /// Wildcards, `*` resources, conditions, `iam:PassRole`.
    fn shape_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for s in &self.0 {
            let sid = &s.sid;
            for action in &s.actions {
                if action.contains('*') || !action.contains(':') {
                    problems.push(format!(
                        "{sid}: action {action} must be one named action, no wildcard"
                    ));
                }
                if s.resources.iter().any(|r| r == "*")
                    && !STAR_RESOURCE_OK.contains(&action.as_str())
                {
                    problems.push(format!(
                        "{sid}: {action} on \"*\"; scope it to the stage's resources by name"
                    ));
                }
            }
            if s.via_cloudformation()
                && s.condition["ForAnyValue:StringEquals"]["aws:CalledVia"] != CALLED_VIA_CFN
            {
                problems.push(format!("{sid}: aws:CalledVia must be {CALLED_VIA_CFN}"));
            }
            if s.actions.iter().any(|a| a == "iam:PassRole") {
                let passed = &s.condition["StringEquals"]["iam:PassedToService"];
                // Lambda runs the function as RefresherRole; EventBridge calls the HTTP trigger's
                // API destination as HttpTriggerRole.
                let service_ok =
                    passed == "lambda.amazonaws.com" || passed == "events.amazonaws.com";
                if !service_ok || !s.via_cloudformation() {
                    problems.push(format!("{sid}: iam:PassRole needs iam:PassedToService lambda.amazonaws.com or events.amazonaws.com, and aws:CalledVia {CALLED_VIA_CFN}"));
                }
                if s.actions.len() > 1 {
                    problems.push(format!(
                        "{sid}: iam:PassRole belongs in a statement of its own"
                    ));
                }
            }
        }
        problems
    }
}

/// Every SDK operation called in the source as `service:Action`, with the files calling it, and
/// a problem for each call the scanner could not attribute.
fn sdk_calls(src: &Path) -> (BTreeMap<String, BTreeSet<String>>, Vec<String>) {
    let mut called: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for file in rust_files(src) {
        let name = file
            .strip_prefix(project())
            .unwrap_or(&file)
            .display()
            .to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        // Tests in the file (replayed or mocked clients) are not the deployer's calls.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (offset, _) in code.match_indices(".send()") {
            let line = code[..offset].lines().count();
            match call_at(code, offset) {
                Ok((service, op)) => {
                    let action = iam_action(service, &op);
                    called.entry(action).or_default().insert(name.clone());
                }
                Err(why) => problems.push(format!("{name}:{line}: {why}")),
            }
        }
    }
    (called, problems)
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let stem = path.file_stem().unwrap().to_str().unwrap();
            if stem != "tests" && !stem.ends_with("_tests") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// `aws::`'s client wrappers and the SDK crate each wraps (`crates/deployer/src/aws/mod.rs`).
const WRAPPERS: [(&str, &str); 9] = [
    ("CloudFormation", "cloudformation"),
    ("CloudWatch", "cloudwatch"),
    ("DynamoDb", "dynamodb"),
    ("EventBridge", "eventbridge"),
    ("Iam", "iam"),
    ("Lambda", "lambda"),
    ("S3", "s3"),
    ("SecretsManager", "secretsmanager"),
    ("Sqs", "sqs"),
];

/// The service (IAM prefix) and `snake_case` operation of the call chain ending at `.send()`.
fn call_at(code: &str, send: usize) -> Result<(&'static str, String), String> {
    let (receiver, methods) = chain_before(code, send);
    let service_of = |name: &str| SERVICES.iter().find(|(n, _)| *n == name).map(|(_, p)| *p);
    // `self.sts().get_caller_identity()`, `aws.s3().put_object()`: the accessor names the service.
    if let [accessor, op, ..] = methods.as_slice()
        && let Some(service) = service_of(accessor)
    {
        return Ok((service, op.clone()));
    }
    let op = match methods.first() {
        Some(op) => op.clone(),
        // `let mut create = s3.create_bucket()...; create.send()`: the op is where it was bound.
        None => bound_op(code, &receiver, send)
            .ok_or_else(|| format!("cannot tell which operation `{receiver}.send()` sends"))?,
    };
    // `aws_sdk_kms::Client::new(&self.config).describe_key()...send()`: the statement names it.
    let statement = &code[code[..send].rfind(';').map_or(0, |i| i + 1)..send];
    if let Some(at) = statement.find("aws_sdk_") {
        let rest = &statement[at + "aws_sdk_".len()..];
        let end = rest
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .unwrap_or(0);
        if rest[end..].starts_with("::Client::new") {
            let one = &rest[..end];
            return service_of(one).map(|s| (s, op.clone())).ok_or_else(|| {
                format!("aws_sdk_{one} is not in SERVICES of this test; add its IAM prefix")
            });
        }
    }
    // A service file of aws/ takes the module's wrapper: `use super::CloudFormation as Client;`.
    let wrapped = WRAPPERS.iter().find_map(|(wrapper, sdk)| {
        code.contains(&format!("use super::{wrapper} as Client;"))
            .then_some(*sdk)
    });
    let crates: BTreeSet<&str> = code
        .match_indices("aws_sdk_")
        .filter_map(|(i, _)| {
            let rest = &code[i + "aws_sdk_".len()..];
            let end = rest.find(|c: char| !c.is_ascii_alphanumeric() && c != '_')?;
            rest[end..].starts_with("::Client").then(|| &rest[..end])
        })
        .chain(wrapped)
        .collect();
    match crates.iter().collect::<Vec<_>>().as_slice() {
        [one] => service_of(one).map(|s| (s, op.clone())).ok_or_else(|| {
            format!("aws_sdk_{one} is not in SERVICES of this test; add its IAM prefix")
        }),
        _ => Err(format!(
            "cannot tell which client `.{op}()` is on: the file names {crates:?} as client types; keep one client type per file or call through an `Aws` accessor"
        )),
    }
}

/// The receiver identifier and the method names of the chain `receiver.m1(..).m2(..)` that ends
/// right before `end`, first method first.
fn chain_before(code: &str, end: usize) -> (String, Vec<String>) {
    let bytes = code.as_bytes();
    let mut methods = Vec::new();
    let mut i = end;
    loop {
        while i > 0 && bytes[i - 1].is_ascii_whitespace() {
            i -= 1;
        }
        let is_call = i > 0 && bytes[i - 1] == b')';
        if is_call {
            i = open_paren(bytes, i - 1);
        }
        let mut start = i;
        while start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
            start -= 1;
        }
        let name = code[start..i].to_owned();
        let mut before = start;
        while before > 0 && bytes[before - 1].is_ascii_whitespace() {
            before -= 1;
        }
        if is_call && before > 0 && bytes[before - 1] == b'.' {
            methods.push(name);
            i = before - 1;
        } else {
            methods.reverse();
            return (name, methods);
        }
    }
}

/// The index of the `(` that the `)` at `close` closes.
fn open_paren(bytes: &[u8], close: usize) -> usize {
    let mut depth = 0;
    let mut i = close + 1;
    while i > 0 {
        i -= 1;
        match bytes[i] {
            b')' => depth += 1,
            b'(' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    0
}

/// The first method of the chain bound to `var` before `send` (`let mut var = x.op()`).
fn bound_op(code: &str, var: &str, send: usize) -> Option<String> {
    let before = &code[..send];
    let at = before
        .rfind(&format!("let mut {var} = "))
        .or_else(|| before.rfind(&format!("let {var} = ")))?;
    let rhs = &before[at..];
    let rhs = &rhs[rhs.find('=')? + 1..];
    let dot = rhs.find('.')?;
    let rest = &rhs[dot + 1..];
    // `s3.0.create_bucket()`: the SDK client inside `aws::`'s wrapper.
    let rest = rest.strip_prefix("0.").unwrap_or(rest);
    let end = rest.find('(')?;
    Some(rest[..end].trim().to_owned())
}

/// `(s3, put_bucket_encryption)` -> `s3:PutEncryptionConfiguration`.
fn iam_action(service: &str, op: &str) -> String {
    let pascal: String = op
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    let action = format!("{service}:{pascal}");
    ACTION_NAMES
        .iter()
        .find(|(sdk, _)| *sdk == action)
        .map_or(action, |(_, iam)| (*iam).to_owned())
}

#[test]
fn iam_action_names_follow_the_sdk_and_the_exceptions() {
    assert_eq!(
        iam_action("cloudformation", "describe_stacks"),
        "cloudformation:DescribeStacks"
    );
    assert_eq!(iam_action("s3", "list_objects_v2"), "s3:ListBucket");
    assert_eq!(iam_action("lambda", "invoke"), "lambda:InvokeFunction");
    assert_eq!(
        iam_action("events", "list_targets_by_rule"),
        "events:ListTargetsByRule"
    );
}

const WORKFLOWS: [&str; 4] = [
    "pr-plan.yml",
    "deploy.yml",
    "drift-nightly.yml",
    "invoke-manual.yml",
];

#[test]
fn workflows_are_valid_and_can_assume_their_role() {
    let dir = project().join(".github/workflows");
    for name in WORKFLOWS {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let doc: Value = serde_norway::from_str(&text)
            .unwrap_or_else(|e| panic!("{name} is not valid YAML: {e}"));
        assert!(!doc["on"].is_null(), "{name}: no `on:` trigger");
        let jobs = doc["jobs"]
            .as_object()
            .unwrap_or_else(|| panic!("{name}: no jobs"));
        for (job_name, job) in jobs {
            let steps = job["steps"]
                .as_array()
                .unwrap_or_else(|| panic!("{name}: job {job_name} has no steps"));
            let assumes_role = steps.iter().any(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("aws-actions/configure-aws-credentials@"))
            });
            if assumes_role {
                let token = |v: &Value| v["permissions"]["id-token"] == "write";
                assert!(
                    token(job) || token(&doc),
                    "{name}: job {job_name} assumes a role with configure-aws-credentials but has no `permissions: id-token: write`"
                );
            }
        }
    }
}

/// The manual-invoke workflow is also the CI fallback trigger, off by default: every scheduled
/// run is gated on the repository variable that names the fallback stage, and the stage, the
/// environment and the role come from that variable when no input names them.
#[test]
fn the_fallback_schedule_is_off_unless_a_stage_is_named() {
    let path = project().join(".github/workflows/invoke-manual.yml");
    let doc: Value = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(
        doc["on"]["schedule"][0]["cron"].is_string(),
        "invoke-manual.yml has no fallback schedule"
    );
    assert!(
        doc["on"]["workflow_dispatch"].is_object(),
        "no manual trigger"
    );
    for (job_name, job) in doc["jobs"].as_object().unwrap() {
        let gate = job["if"].as_str().unwrap_or_default();
        assert!(
            gate.contains("github.event_name == 'workflow_dispatch'")
                && gate.contains("vars.REFRESH_FALLBACK_STAGE != ''"),
            "job {job_name} would run on every scheduled tick: {gate:?}"
        );
        let stage = "inputs.stage || vars.REFRESH_FALLBACK_STAGE";
        assert!(
            job["env"]["STAGE"]
                .as_str()
                .unwrap_or_default()
                .contains(stage)
                && job["environment"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(stage),
            "job {job_name}: a scheduled run has no inputs; the stage must fall back to the variable"
        );
    }
}
