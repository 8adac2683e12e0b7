//! `deploy`: package -> upload if absent -> create, or change set -> guard -> execute -> wait ->
//! outputs. The decisions (what a stack status means, what is dangerous) are pure and live in
//! `state.rs` and `crate::plan`; this module sequences the AWS calls.

pub mod progress;
pub mod state;
pub mod wait;

use std::collections::BTreeMap;
use std::fmt;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::aws::cfn::{self, Stack, StackOutput, StackRequest};
use crate::aws::{Aws, CloudFormation, s3, secrets};
use crate::output::{self, note};
use crate::package::Artifact;
use crate::plan::{Change, Plan};
use crate::stage::Stage;
use crate::template::{self, Rendered};
use progress::Progress;
use state::StackState;

#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Execute without asking, even on a terminal.
    pub yes: bool,
    /// Allow a change set that replaces or removes a stateful resource.
    pub allow_replace: bool,
    /// Plain event lines instead of a spinner.
    pub plain: bool,
}

/// Where the artifact went.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactReport {
    pub bucket: String,
    pub key: String,
    pub sha256: String,
    pub zip_bytes: u64,
    /// False when the same bytes were already there.
    pub uploaded: bool,
}

/// What a deploy did.
#[derive(Debug, Clone, Serialize)]
pub struct DeployReport {
    pub stage: String,
    pub stack: String,
    pub region: String,
    pub account: String,
    pub artifact: ArtifactReport,
    /// `created`, `updated`, `no-op` or `declined`.
    pub action: String,
    pub plan: Option<Plan>,
    pub seconds: f64,
    pub outputs: Vec<StackOutput>,
    /// Things that did not go as asked but did not fail the deploy.
    pub warnings: Vec<String>,
}

impl fmt::Display for DeployReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let uploaded = if self.artifact.uploaded {
            "uploaded"
        } else {
            "already there"
        };
        writeln!(f, "{} {} in {:.1}s", self.stack, self.action, self.seconds)?;
        writeln!(
            f,
            "  artifact  s3://{}/{} ({uploaded})",
            self.artifact.bucket, self.artifact.key
        )?;
        if let Some(plan) = self.plan.as_ref().filter(|p| !p.is_noop()) {
            write!(f, "{plan}")?;
        }
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        if !self.outputs.is_empty() {
            writeln!(f, "Outputs:")?;
            let width = self.outputs.iter().map(|o| o.key.len()).max().unwrap_or(0);
            for o in &self.outputs {
                writeln!(f, "  {:<width$}  {}", o.key, o.value)?;
            }
        }
        Ok(())
    }
}

/// Uploads the artifact unless its key is already in the bucket (creating the bucket on first use).
pub async fn upload_artifact(
    aws: &Aws,
    stage: &Stage,
    artifact: &Artifact,
) -> Result<ArtifactReport> {
    use base64::Engine as _;
    let s3c = aws.s3();
    let bucket = &stage.artifact_bucket;
    let exists = if let Some(exists) = s3::object_exists(&s3c, bucket, &artifact.key).await? {
        exists
    } else {
        note(&format!(
            "creating artifact bucket {bucket} (private, encrypted, versioned)"
        ));
        s3::create_bucket(&s3c, bucket, &stage.region).await?;
        false
    };
    if !exists {
        let sha = hex::decode(&artifact.sha256).context("the artifact's SHA-256 is not hex (a bug in package::from_binary); run `deployer package` again")?;
        let sha_b64 = base64::engine::general_purpose::STANDARD.encode(sha);
        s3::upload(&s3c, bucket, &artifact.key, artifact.zip.clone(), &sha_b64).await?;
    }
    Ok(ArtifactReport {
        bucket: bucket.clone(),
        key: artifact.key.clone(),
        sha256: artifact.sha256.clone(),
        zip_bytes: artifact.zip_bytes,
        uploaded: !exists,
    })
}

/// With an HTTP trigger, the current version of its header secret: a stack parameter that the
/// connection's dynamic reference names, so a rotated secret changes it and the next deploy
/// updates the connection. A missing secret is refused, naming the stage field; `deploy` and
/// `plan` ask before building anything.
pub async fn http_trigger_secret_version(aws: &Aws, stage: &Stage) -> Result<Option<String>> {
    let Some(trigger) = &stage.http_trigger else {
        return Ok(None);
    };
    let version = secrets::current_version(&aws.secretsmanager(), &trigger.secret)
        .await?
        .with_context(|| {
            format!(
                "http_trigger.secret `{}` does not exist in {} (account {}); {}",
                trigger.secret,
                stage.region,
                stage.account_id,
                create_secret_hint(&trigger.secret)
            )
        })?;
    Ok(Some(version))
}

/// How to create the header secret: by name; an ARN names a secret that must already exist.
#[must_use]
pub fn create_secret_hint(secret: &str) -> String {
    if secret.starts_with("arn:") {
        "check the ARN in the stage file, or create the secret and put its ARN there".to_owned()
    } else {
        format!(
            "create it with the header value before deploying (`aws secretsmanager create-secret \
             --name {secret} --secret-string file://value.txt`)"
        )
    }
}

/// The stack's parameters: the artifact's key, and the header secret's version when there is one.
#[must_use]
pub fn stack_parameters(
    artifact_key: &str,
    secret_version: Option<String>,
) -> BTreeMap<String, String> {
    let mut parameters = BTreeMap::from([("ArtifactKey".to_owned(), artifact_key.to_owned())]);
    if let Some(version) = secret_version {
        parameters.insert(
            template::context::HTTP_TRIGGER_SECRET_VERSION.to_owned(),
            version,
        );
    }
    parameters
}

/// Refuses to touch an account other than the stage's.
pub async fn check_account(aws: &Aws, stage: &Stage) -> Result<String> {
    let account = aws.account_id().await?;
    if account != stage.account_id {
        bail!(
            "the credentials are for account {account}, but stage {} belongs to account {}; \
             switch credentials (AWS_PROFILE / --profile) or fix account_id in the stage file",
            stage.name,
            stage.account_id
        );
    }
    Ok(account)
}

/// Applies the rendered template with the uploaded artifact.
pub async fn apply(
    cfn_client: &CloudFormation,
    stage: &Stage,
    rendered: &Rendered,
    artifact: ArtifactReport,
    parameters: BTreeMap<String, String>,
    account: String,
    opts: &DeployOptions,
) -> Result<DeployReport> {
    let started = Instant::now();
    let request = StackRequest {
        stack_name: stage.stack_name.clone(),
        template_body: rendered.text.clone(),
        parameters,
        tags: stage.tags.clone(),
    };
    let progress = Progress::new(opts.plain);
    let existing = cfn::describe(cfn_client, &stage.stack_name).await?;
    let mut situation = state::classify(
        &stage.stack_name,
        existing.as_ref().map(|s| s.status.as_str()),
    );
    if let StackState::Dead(status) = &situation {
        clear_dead(cfn_client, stage, status, &progress).await?;
        situation = StackState::Absent;
    }
    let (action, plan) = match situation {
        // A dead stack was deleted above: create it anew.
        StackState::Absent | StackState::Dead(_) => {
            create(cfn_client, stage, &request, &progress).await?
        }
        StackState::Ready => {
            let current = existing
                .as_ref()
                .context("a ready stack has a description")?;
            update(cfn_client, stage, &request, current, opts, &progress).await?
        }
        StackState::Busy(status) => bail!(
            "{} is {status}: another operation is running on it; wait for it to finish and deploy again",
            stage.stack_name
        ),
        StackState::Stuck(remedy) => bail!(remedy),
    };
    progress.finish();
    let stack = cfn::describe(cfn_client, &stage.stack_name)
        .await?
        .context("the stack vanished after deploying")?;
    let warnings = sync_termination_protection(cfn_client, stage, &stack).await;
    Ok(DeployReport {
        stage: stage.name.clone(),
        stack: stage.stack_name.clone(),
        region: stage.region.clone(),
        account,
        artifact,
        action,
        plan,
        seconds: started.elapsed().as_secs_f64(),
        outputs: stack.outputs,
        warnings,
    })
}

/// Deletes a stack left by a first create that never completed, so that it can be created anew.
async fn clear_dead(
    cfn_client: &CloudFormation,
    stage: &Stage,
    status: &str,
    progress: &Progress,
) -> Result<()> {
    note(&format!(
        "{} is {status} (a first create that never completed); deleting it before creating it again",
        stage.stack_name
    ));
    cfn::delete_stack(cfn_client, &stage.stack_name).await?;
    let done = wait::until_done(cfn_client, &stage.stack_name, None, progress).await?;
    if !done.ok {
        bail!(
            "could not clear {} ({}); see its events",
            stage.stack_name,
            done.status
        );
    }
    Ok(())
}

/// Sets the stack's termination protection to the stage's; a failure is a warning, not fatal:
/// the stack is deployed either way (and the local stand-in does not implement the call).
async fn sync_termination_protection(
    cfn_client: &CloudFormation,
    stage: &Stage,
    stack: &Stack,
) -> Vec<String> {
    let wanted = stage.termination_protection;
    if stack.termination_protection == wanted {
        return Vec::new();
    }
    match cfn::set_termination_protection(cfn_client, &stage.stack_name, wanted).await {
        Ok(()) => Vec::new(),
        Err(err) => {
            let warning = format!(
                "termination protection is not {}: {err:#}",
                if wanted { "on" } else { "off" }
            );
            note(&format!("warning: {warning}"));
            vec![warning]
        }
    }
}

async fn create(
    cfn_client: &CloudFormation,
    stage: &Stage,
    request: &StackRequest,
    progress: &Progress,
) -> Result<(String, Option<Plan>)> {
    note(&format!("creating stack {}", stage.stack_name));
    cfn::create_stack(cfn_client, request, stage.termination_protection).await?;
    let done = wait::until_done(cfn_client, &stage.stack_name, None, progress).await?;
    if !done.ok {
        progress.finish();
        bail!(failure_message(&stage.stack_name, &done));
    }
    Ok(("created".to_owned(), None))
}

async fn update(
    cfn_client: &CloudFormation,
    stage: &Stage,
    request: &StackRequest,
    current: &cfn::Stack,
    opts: &DeployOptions,
    progress: &Progress,
) -> Result<(String, Option<Plan>)> {
    // Same template, parameters and tags as deployed: nothing to plan, nothing to execute.
    if is_unchanged(cfn_client, current, request).await? {
        return Ok((
            "no-op".to_owned(),
            Some(Plan::new(&stage.stack_name, "update", Vec::new())),
        ));
    }
    let Some(plan) = change_set(cfn_client, stage, request).await? else {
        return Ok((
            "no-op".to_owned(),
            Some(Plan::new(&stage.stack_name, "update", Vec::new())),
        ));
    };
    let name = &plan.change_set;
    if !plan.plan.dangerous.is_empty() && !opts.allow_replace {
        cfn::delete_change_set(cfn_client, &stage.stack_name, name).await?;
        bail!(
            "{}refusing to deploy: this would replace or remove {} and lose the data in them; \
             if that is really meant, deploy again with --allow-replace",
            plan.plan,
            plan.plan.dangerous.join(", ")
        );
    }
    note(&plan.plan.to_string());
    if !opts.yes && std::io::stdin().is_terminal() && !output::ask_yes("Execute this change set?")?
    {
        cfn::delete_change_set(cfn_client, &stage.stack_name, name).await?;
        return Ok(("declined".to_owned(), Some(plan.plan)));
    }
    let since = cfn::events_since(cfn_client, &stage.stack_name, None)
        .await?
        .and_then(|events| events.last().map(|e| e.id.clone()));
    cfn::execute_change_set(cfn_client, &stage.stack_name, name).await?;
    let done = wait::until_done(cfn_client, &stage.stack_name, since, progress).await?;
    if !done.ok {
        progress.finish();
        bail!(failure_message(&stage.stack_name, &done));
    }
    Ok(("updated".to_owned(), Some(plan.plan)))
}

/// Whether the live stack already has exactly this template, these parameters and these tags.
/// Cheaper than a change set (one `GetTemplate`), and exact: CloudFormation would find no change.
pub async fn is_unchanged(
    cfn_client: &CloudFormation,
    stack: &cfn::Stack,
    request: &StackRequest,
) -> Result<bool> {
    if stack.parameters != request.parameters || stack.tags != request.tags {
        return Ok(false);
    }
    Ok(cfn::get_template(cfn_client, &request.stack_name).await? == request.template_body)
}

/// A change set that is ready to execute, with its plan.
pub struct PendingChangeSet {
    pub change_set: String,
    pub plan: Plan,
}

/// Creates an update change set and waits for it; `None` (and the change set deleted) when there
/// is nothing to change.
pub async fn change_set(
    cfn_client: &CloudFormation,
    stage: &Stage,
    request: &StackRequest,
) -> Result<Option<PendingChangeSet>> {
    let name = format!(
        "deployer-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    );
    cfn::create_change_set(cfn_client, request, &name).await?;
    let mut delay = Duration::from_millis(200);
    let described = loop {
        let cs = cfn::describe_change_set(cfn_client, &stage.stack_name, &name).await?;
        if !cs.status.ends_with("_PENDING") && !cs.status.ends_with("_IN_PROGRESS") {
            break cs;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(3));
    };
    let reason = described.status_reason.clone().unwrap_or_default();
    let no_changes = (described.status == "FAILED" && state::is_no_change(&reason))
        || (described.status == "CREATE_COMPLETE" && described.changes.is_empty());
    if no_changes {
        cfn::delete_change_set(cfn_client, &stage.stack_name, &name).await?;
        return Ok(None);
    }
    if described.status != "CREATE_COMPLETE" {
        cfn::delete_change_set(cfn_client, &stage.stack_name, &name).await?;
        bail!(
            "CloudFormation could not plan the update of {}: {reason}",
            stage.stack_name
        );
    }
    let changes: Vec<Change> = described.changes;
    Ok(Some(PendingChangeSet {
        change_set: name,
        plan: Plan::new(&stage.stack_name, "update", changes),
    }))
}

fn failure_message(stack: &str, done: &wait::Finished) -> String {
    match &done.first_failure {
        Some(e) => format!(
            "{stack} ended {}; root cause: {} ({}) {}: {}",
            done.status,
            e.logical_id,
            e.resource_type,
            e.status,
            e.reason.as_deref().unwrap_or("no reason given")
        ),
        None => format!(
            "{stack} ended {}; its events name no failed resource",
            done.status
        ),
    }
}

#[cfg(test)]
mod tests;
