//! The only place the deployer talks to AWS: thin wrappers over the SDK clients, built once per
//! command from the standard credential chain. `AWS_ENDPOINT_URL` (and the per-service variants)
//! in the environment win over a stage's `endpoint_url`, which only the local stand-in uses.

pub mod cfn;
pub mod cfn_drift;
pub mod cloudwatch;
pub mod dynamodb;
pub mod errors;
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

/// The service clients this module hands out. Each wraps its SDK client, which only `aws/` can
/// reach: code outside passes the wrapper to this module's functions and never names an SDK type
/// (the boundary ARCHITECTURE.md states, checked by `tests/tests/architecture.rs`).
macro_rules! service_clients {
    ($($name:ident => $sdk:ty),* $(,)?) => {$(
        #[derive(Debug, Clone)]
        pub struct $name(pub(in crate::aws) $sdk);

        impl $name {
            /// Wraps a client built elsewhere: tests drive domain code with the SDK's mocks.
            pub fn from_sdk(client: $sdk) -> Self {
                Self(client)
            }
        }
    )*};
}

service_clients! {
    CloudFormation => aws_sdk_cloudformation::Client,
    CloudWatch => aws_sdk_cloudwatch::Client,
    DynamoDb => aws_sdk_dynamodb::Client,
    EventBridge => aws_sdk_eventbridge::Client,
    Iam => aws_sdk_iam::Client,
    Lambda => aws_sdk_lambda::Client,
    S3 => aws_sdk_s3::Client,
    SecretsManager => aws_sdk_secretsmanager::Client,
    Sqs => aws_sdk_sqs::Client,
}

/// `--profile` and `--region` as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct AwsArgs {
    pub profile: Option<String>,
    pub region: Option<String>,
}

/// SDK configuration for one stage, and whether it points at a local endpoint.
#[derive(Debug, Clone)]
pub struct Aws {
    config: SdkConfig,
    /// An endpoint other than AWS's own: S3 then needs path-style addressing.
    pub custom_endpoint: Option<String>,
}

impl Aws {
    pub async fn connect(stage: &Stage, args: &AwsArgs) -> Self {
        let region = args.region.clone().unwrap_or_else(|| stage.region.clone());
        let mut loader =
            aws_config::defaults(BehaviorVersion::latest()).region(Region::new(region.clone()));
        if let Some(profile) = &args.profile {
            loader = loader.profile_name(profile);
        }
        let from_env = std::env::var("AWS_ENDPOINT_URL")
            .ok()
            .filter(|v| !v.is_empty());
        if let (None, Some(url)) = (&from_env, &stage.endpoint_url) {
            loader = loader.endpoint_url(url);
        }
        let custom_endpoint = from_env.or_else(|| stage.endpoint_url.clone());
        errors::record_endpoint(custom_endpoint.as_deref(), &region);
        Self {
            config: loader.load().await,
            custom_endpoint,
        }
    }

    /// From an SDK configuration loaded elsewhere (a test's, pointed at its own stand-in).
    pub fn from_config(config: SdkConfig, custom_endpoint: Option<String>) -> Self {
        Self {
            config,
            custom_endpoint,
        }
    }

    /// The stage's tokens table, through the token store's own code.
    pub fn token_store(&self, stage: &Stage) -> DynamoStore {
        DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&self.config),
            &stage.tables.tokens.name,
            EXPIRY_INDEX,
        )
    }

    /// The stage's analytics table, through the refresher's own reader.
    pub fn analytics(&self, stage: &Stage) -> refresher::analytics::DynamoAnalytics {
        refresher::analytics::DynamoAnalytics::new(
            aws_sdk_dynamodb::Client::new(&self.config),
            &stage.tables.analytics.name,
        )
    }

    /// Data keys for the stage's tokens: its KMS key, the table's encryption context, one
    /// `GenerateDataKey` per command and one `Decrypt` per distinct stored data key.
    pub fn token_keys(&self, stage: &Stage) -> KeyCache<KmsKeySource> {
        let alias = stage.names().key_alias;
        KeyCache::new(KmsKeySource::new(
            aws_sdk_kms::Client::new(&self.config),
            alias,
            &stage.tables.tokens.name,
        ))
    }

    pub fn cloudformation(&self) -> CloudFormation {
        CloudFormation(aws_sdk_cloudformation::Client::new(&self.config))
    }

    pub fn s3(&self) -> S3 {
        let config = aws_sdk_s3::config::Builder::from(&self.config)
            .force_path_style(self.custom_endpoint.is_some())
            .build();
        S3(aws_sdk_s3::Client::from_conf(config))
    }

    pub fn eventbridge(&self) -> EventBridge {
        EventBridge(aws_sdk_eventbridge::Client::new(&self.config))
    }

    pub fn lambda(&self) -> Lambda {
        Lambda(aws_sdk_lambda::Client::new(&self.config))
    }

    pub fn sqs(&self) -> Sqs {
        Sqs(aws_sdk_sqs::Client::new(&self.config))
    }

    pub fn dynamodb(&self) -> DynamoDb {
        DynamoDb(aws_sdk_dynamodb::Client::new(&self.config))
    }

    pub fn cloudwatch(&self) -> CloudWatch {
        CloudWatch(aws_sdk_cloudwatch::Client::new(&self.config))
    }

    pub fn iam(&self) -> Iam {
        Iam(aws_sdk_iam::Client::new(&self.config))
    }

    pub fn secretsmanager(&self) -> SecretsManager {
        SecretsManager(aws_sdk_secretsmanager::Client::new(&self.config))
    }

    /// The ARN of the stage's KMS key, as KMS names it in the envelopes it seals: the stack's
    /// output `KmsKeyArn`.
    pub async fn token_key_arn(&self, stage: &Stage) -> anyhow::Result<String> {
        let stack = self.require_stack(stage).await?;
        stack
            .outputs
            .into_iter()
            .find(|output| output.key == "KmsKeyArn")
            .map(|output| output.value)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "stack {} has no output KmsKeyArn; deploy it with this deployer (`deployer deploy --stage {}`)",
                    stage.stack_name,
                    stage.name
                )
            })
    }

    /// The caller's resolved credentials as the environment variables a Lambda process gets
    /// (`invoke --local` hands them to the local process as Lambda hands the role's).
    pub async fn credentials_env(
        &self,
    ) -> anyhow::Result<std::collections::BTreeMap<String, String>> {
        use anyhow::Context;
        use aws_credential_types::provider::ProvideCredentials;
        let provider = self.config.credentials_provider().context(
            "no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)",
        )?;
        let creds = provider
            .provide_credentials()
            .await
            .context("cannot resolve AWS credentials: check AWS_PROFILE / --profile, or refresh an expired SSO session (`aws sso login`)")?;
        let mut env = std::collections::BTreeMap::from([
            (
                "AWS_ACCESS_KEY_ID".to_owned(),
                creds.access_key_id().to_owned(),
            ),
            (
                "AWS_SECRET_ACCESS_KEY".to_owned(),
                creds.secret_access_key().to_owned(),
            ),
        ]);
        if let Some(token) = creds.session_token() {
            env.insert("AWS_SESSION_TOKEN".to_owned(), token.to_owned());
        }
        Ok(env)
    }

    /// The stage's stack; that it does not exist is an error that says how to create it (the one
    /// wording of it).
    pub async fn require_stack(&self, stage: &Stage) -> anyhow::Result<cfn::Stack> {
        cfn::describe(&self.cloudformation(), &stage.stack_name)
            .await?
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "stack {} does not exist; deploy it with `deployer deploy --stage {}`",
                    stage.stack_name,
                    stage.name
                )
            })
    }

    /// The account the credentials belong to (STS `GetCallerIdentity`).
    pub async fn account_id(&self) -> anyhow::Result<String> {
        use anyhow::Context;
        let identity = aws_sdk_sts::Client::new(&self.config)
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
    if let Some(explained) = errors::explain(err) {
        return explained;
    }
    let said = match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => match err.raw_response() {
            Some(raw) => format!(
                "HTTP {} without an AWS error in the body (the endpoint may not implement this call)",
                raw.status().as_u16()
            ),
            None => aws_sdk_s3::error::DisplayErrorContext(err).to_string(),
        },
    };
    match err.code().and_then(errors::next_step) {
        Some(next) => format!("{said}; {next}"),
        None => said,
    }
}
