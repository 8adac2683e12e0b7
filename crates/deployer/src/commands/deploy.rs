//! `deployer deploy --stage S`: validate, package, upload if absent, create or change-set the
//! stack, wait with live progress, print the outputs.

use anyhow::{Result, bail};

use super::Ctx;
use crate::aws::Aws;
use crate::cli::DeployArgs;
use crate::deploy::{self, ArtifactReport, DeployOptions};
use crate::output::note;
use crate::stage::Stage;
use crate::template::Rendered;
use crate::template::check::Severity;
use crate::{Status, template};

/// Says which providers will not refresh for want of credentials (each fails alone at run time);
/// a secret that cannot be read is said too, and the deploy goes on.
async fn warn_unusable_providers(aws: &Aws, stage: &Stage) {
    let name = stage.names().credentials_secret;
    let states = match crate::aws::secrets::get(&aws.secretsmanager(), &name).await {
        Ok(secret) => crate::health::credentials::states(
            stage,
            secret.as_ref().map(refresher::secret::SecretString::expose),
        ),
        Err(err) => Err(format!("{err:#}")),
    };
    match states {
        Ok(states) => {
            if let Some(warning) =
                crate::health::credentials::unusable_warning(stage, &name, &states)
            {
                note(&warning);
            }
        }
        Err(err) => note(&format!(
            "warning: the credentials secret {name} could not be checked ({err}); `deployer verify` checks it after the deploy"
        )),
    }
}

pub(super) async fn run(args: &DeployArgs, ctx: &Ctx) -> Result<Status> {
    let stage = ctx.load_stage(&args.stage.stage)?;
    let rendered = deployable_template(&stage)?;
    let aws = ctx.aws(&stage).await;
    note(&target_line(&stage, &aws));
    let account = deploy::check_account(&aws, &stage).await?;
    warn_unusable_providers(&aws, &stage).await;
    let secret_version = deploy::http_trigger_secret_version(&aws, &stage).await?;
    let artifact = crate::package::build_for(&ctx.project_dir, &stage, &args.cargo_profile)?;
    let parameters = deploy::stack_parameters(&artifact.key, secret_version);
    let uploaded = deploy::upload_artifact(&aws, &stage, &artifact).await?;
    note(&artifact_line(&uploaded));
    let options = DeployOptions {
        yes: args.yes,
        allow_replace: args.allow_replace,
        plain: ctx.printer.json,
    };
    let report = deploy::apply(
        &aws.cloudformation(),
        &stage,
        &rendered,
        uploaded,
        parameters,
        account,
        &options,
    )
    .await?;
    ctx.printer.emit(&report)?;
    Ok(Status::Ok)
}

/// The stage's template, rendered, or every error that keeps it from being deployed.
fn deployable_template(stage: &Stage) -> Result<Rendered> {
    let rendered = template::render(stage)?;
    let errors: Vec<String> =
        template::check::check(&rendered.text, &rendered.value, &stage.stack_name)
            .into_iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| format!("{}: {}", f.location, f.message))
            .collect();
    if !errors.is_empty() {
        bail!(
            "the rendered template is not deployable:\n  {}",
            errors.join("\n  ")
        );
    }
    Ok(rendered)
}

/// Where the deploy goes: stage, stack, account, region and any custom endpoint.
fn target_line(stage: &Stage, aws: &Aws) -> String {
    format!(
        "stage {} -> stack {} in account {}, region {}{}",
        stage.name,
        stage.stack_name,
        stage.account_id,
        stage.region,
        aws.custom_endpoint
            .as_deref()
            .map_or(String::new(), |e| format!(" (endpoint {e})"))
    )
}

/// Where the artifact is and whether this deploy uploaded it.
fn artifact_line(uploaded: &ArtifactReport) -> String {
    format!(
        "artifact s3://{}/{} ({})",
        uploaded.bucket,
        uploaded.key,
        if uploaded.uploaded {
            "uploaded"
        } else {
            "unchanged, not uploaded"
        }
    )
}
