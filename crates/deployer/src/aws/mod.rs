//! The only place the deployer talks to AWS: thin wrappers over the SDK clients, built once per
//! command from the standard credential chain. `AWS_ENDPOINT_URL` (and the per-service variants)
//! in the environment win over a stage's `endpoint_url`, which only the local stand-in uses.

pub mod cfn;
pub mod cfn_drift;
pub mod cloudwatch;
pub mod dynamodb;
pub mod events;
pub mod iam;
pub mod invoke;
pub mod lambda;
pub mod s3;
pub mod secrets;
pub mod sqs;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use refresher::crypto::KeyCache;
use refresher::kms::KmsKeySource;
use refresher::store::DynamoStore;

use crate::stage::Stage;
use crate::template::context::EXPIRY_INDEX;

/// `--profile` and `--region` as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct AwsArgs {
    pub profile: Option<String>,
    pub region: Option<String>,
}

/// SDK configuration for one stage, and whether it points at a local endpoint.
#[derive(Debug, Clone)]
pub struct Aws {
    pub config: SdkConfig,
    /// An endpoint other than AWS's own: S3 then needs path-style addressing.
    pub custom_endpoint: Option<String>,
}

impl Aws {
    pub async fn connect(stage: &Stage, args: &AwsArgs) -> Self {
        let region = args.region.clone().unwrap_or_else(|| stage.region.clone());
        let mut loader =
            aws_config::defaults(BehaviorVersion::latest()).region(Region::new(region));
        if let Some(profile) = &args.profile {
            loader = loader.profile_name(profile);
        }
        let from_env = std::env::var("AWS_ENDPOINT_URL")
            .ok()
            .filter(|v| !v.is_empty());
        if let (None, Some(url)) = (&from_env, &stage.endpoint_url) {
            loader = loader.endpoint_url(url);
        }
        Self {
            config: loader.load().await,
            custom_endpoint: from_env.or_else(|| stage.endpoint_url.clone()),
        }
    }

    /// The stage's tokens table, through the token store's own code.
    pub fn token_store(&self, stage: &Stage) -> DynamoStore {
        DynamoStore::new(self.dynamodb(), &stage.tables.tokens.name, EXPIRY_INDEX)
    }

    /// Data keys for the stage's tokens: its KMS key, the table's encryption context, one
    /// `GenerateDataKey` per command and one `Decrypt` per distinct stored data key.
    pub fn token_keys(&self, stage: &Stage) -> KeyCache<KmsKeySource> {
        let alias = crate::template::context::build(stage).names.key_alias;
        KeyCache::new(KmsKeySource::new(
            self.kms(),
            alias,
            &stage.tables.tokens.name,
        ))
    }

    pub fn cloudformation(&self) -> aws_sdk_cloudformation::Client {
        aws_sdk_cloudformation::Client::new(&self.config)
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.config)
            .force_path_style(self.custom_endpoint.is_some())
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    pub fn sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.config)
    }

    pub fn eventbridge(&self) -> aws_sdk_eventbridge::Client {
        aws_sdk_eventbridge::Client::new(&self.config)
    }

    pub fn lambda(&self) -> aws_sdk_lambda::Client {
        aws_sdk_lambda::Client::new(&self.config)
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.config)
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.config)
    }

    pub fn cloudwatch(&self) -> aws_sdk_cloudwatch::Client {
        aws_sdk_cloudwatch::Client::new(&self.config)
    }

    pub fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.config)
    }

    pub fn kms(&self) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.config)
    }

    pub fn secretsmanager(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.config)
    }

    /// The account the credentials belong to (STS `GetCallerIdentity`).
    pub async fn account_id(&self) -> anyhow::Result<String> {
        use anyhow::Context;
        let identity = self
            .sts()
            .get_caller_identity()
            .send()
            .await
            .context("cannot tell which AWS account the credentials belong to (sts:GetCallerIdentity); check AWS_PROFILE / --profile and your credentials")?;
        identity
            .account()
            .map(str::to_owned)
            .context("sts:GetCallerIdentity returned no account")
    }
}

/// An SDK error with its service message, for people: `ValidationError: Stack ... does not exist`.
pub fn describe_error<E>(
    err: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_s3::error::ProvideErrorMetadata;
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => match err.raw_response() {
            Some(raw) => format!(
                "HTTP {} without an AWS error in the body (the endpoint may not implement this call)",
                raw.status().as_u16()
            ),
            None => aws_sdk_s3::error::DisplayErrorContext(err).to_string(),
        },
    }
}
