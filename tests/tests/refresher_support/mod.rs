//! Set-up shared by the refresher's integration tests: the `local` stack in moto, the provider
//! fakes, the credentials secret, token items sealed with the stack's KMS key, and an SQS queue
//! subscribed to the stack's event bus.
//!
//! The refresher's environment is the one the template gave the function (read back from
//! Lambda), with only the providers' token URLs pointed at the fakes.

// Helpers fail their test by panicking with the reason, as the test functions do.
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::Message;
use deployer::stage::Stage;
use provider_fakes::{FakeConfig, FakeProviders, Provider, SeedOptions, TokenPair};
use refresher::crypto::{Envelope, ItemKey, KeyCache, StoredToken};
use refresher::kms::KmsKeySource;
use refresher::metrics::Captured;
use refresher::run::Deps;
use refresher::secret::SecretString;
use refresher::store::dynamo::envelope_value;
use serde_json::{Value, json};
use suite::moto::Moto;
use suite::stack::create_local_stack;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) struct Harness {
    pub(crate) moto: Moto,
    pub(crate) stage: Stage,
    pub(crate) fakes: FakeProviders,
    pub(crate) sdk: SdkConfig,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) emf: Arc<Captured>,
    pub(crate) now: u64,
    keys: KeyCache<KmsKeySource>,
}

pub(crate) fn epoch_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The fake behind a platform of the `local` stage.
pub(crate) fn fake(platform: &str) -> Provider {
    match platform {
        "tiktok" => Provider::Tiktok,
        "reddit" => Provider::Reddit,
        "instagram" => Provider::Instagram,
        "schwab" => Provider::Oauth2,
        other => panic!("no fake for {other}"),
    }
}

impl Harness {
    pub(crate) async fn start() -> Self {
        Self::start_with(FakeConfig::default()).await
    }

    /// With the fakes configured (e.g. a shorter rate window for the benchmark).
    pub(crate) async fn start_with(fake_config: FakeConfig) -> Self {
        // The refresher's events, as the function logs them, on the test's output: the test
        // runner keeps them and the suite's secret scan reads them. A test that captures the log
        // itself installs its own subscriber for its thread.
        let _ = tracing_subscriber::fmt()
            .json()
            .with_env_filter("warn,refresher=debug")
            .with_test_writer()
            .try_init();
        let moto = Moto::start();
        let stage = create_local_stack(&moto).await;
        let fakes = FakeProviders::start(fake_config).await.unwrap();
        let sdk = moto.sdk_config().await;
        let mut env = function_env(&sdk, &stage).await;
        env.insert("JITTER_SECONDS".to_owned(), "0".to_owned());
        let mut providers: BTreeMap<String, Value> =
            serde_json::from_str(&env["PROVIDERS"]).unwrap();
        for (name, settings) in &mut providers {
            settings["tokenUrl"] = json!(fakes.token_url(fake(name)));
        }
        env.insert("PROVIDERS".to_owned(), json!(providers).to_string());
        create_secret(&sdk, &env["CREDENTIALS_SECRET_ID"], &fakes).await;
        let kms = aws_sdk_kms::Client::new(&sdk);
        let keys = KeyCache::new(KmsKeySource::new(
            kms,
            &env["KMS_KEY_ID"],
            &env["TOKENS_TABLE"],
        ));
        Self {
            moto,
            stage,
            fakes,
            sdk,
            env,
            emf: Arc::new(Captured::default()),
            now: epoch_now(),
            keys,
        }
    }

    /// Changes one provider's setting in `PROVIDERS` (e.g. a higher rate limit for a bulk test).
    pub(crate) fn tune(&mut self, platform: &str, key: &str, value: Value) {
        let mut providers: BTreeMap<String, Value> =
            serde_json::from_str(&self.env["PROVIDERS"]).unwrap();
        providers.get_mut(platform).unwrap()[key] = value;
        self.env
            .insert("PROVIDERS".to_owned(), json!(providers).to_string());
    }

    /// The refresher's dependencies, built the way the cold start builds them.
    pub(crate) async fn deps(&self) -> Deps {
        refresher::handler::build_deps(&self.sdk, self.env.clone(), self.emf.clone())
            .await
            .unwrap()
    }

    pub(crate) fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk)
    }

    /// Seeds the fake grant and writes the token item (envelopes, version 1, active).
    pub(crate) async fn seed(&self, platform: &str, user: &str, expires_at: u64) -> TokenPair {
        self.seed_grant(platform, user, expires_at, false).await
    }

    /// [`Self::seed`], with the grant already revoked at the provider when `revoked` (the item
    /// still says `active`: the refresh will meet `invalid_grant`).
    pub(crate) async fn seed_grant(
        &self,
        platform: &str,
        user: &str,
        expires_at: u64,
        revoked: bool,
    ) -> TokenPair {
        let issued_at = self.now - 2 * 24 * 3600;
        let options = SeedOptions {
            issued_at: Some(issued_at),
            revoked,
        };
        let pair = self.fakes.seed(fake(platform), user, options);
        let key = ItemKey {
            user_id: user,
            platform,
        };
        let mut item: Item = HashMap::from([
            ("userId".to_owned(), AttributeValue::S(user.to_owned())),
            (
                "platform".to_owned(),
                AttributeValue::S(platform.to_owned()),
            ),
            (
                "expiresAt".to_owned(),
                AttributeValue::N(expires_at.to_string()),
            ),
            (
                "lastRefreshAt".to_owned(),
                AttributeValue::N(issued_at.to_string()),
            ),
            ("version".to_owned(), AttributeValue::N("1".to_owned())),
            ("status".to_owned(), AttributeValue::S("active".to_owned())),
        ]);
        let access = self.seal(&pair.access_token, key).await;
        item.insert("accessToken".to_owned(), envelope_value(&access));
        if let Some(refresh) = &pair.refresh_token {
            let refresh = self.seal(refresh, key).await;
            item.insert("refreshToken".to_owned(), envelope_value(&refresh));
        }
        self.put(item).await;
        pair
    }

    /// Writes `item` whole to the tokens table, as an app (or a test) would.
    pub(crate) async fn put(&self, item: Item) {
        self.dynamodb()
            .put_item()
            .table_name(&self.env["TOKENS_TABLE"])
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }

    async fn seal(&self, value: &str, key: ItemKey<'_>) -> Envelope {
        secret_ledger::record("suite-tests:sealed", value);
        let value = SecretString::new(value);
        self.keys.encrypt(&value, key).await.unwrap()
    }

    pub(crate) async fn item(&self, platform: &str, user: &str) -> Item {
        let out = self
            .dynamodb()
            .get_item()
            .table_name(&self.env["TOKENS_TABLE"])
            .key("userId", AttributeValue::S(user.to_owned()))
            .key("platform", AttributeValue::S(platform.to_owned()))
            .send()
            .await
            .unwrap();
        out.item().unwrap().clone()
    }

    /// Opens an envelope of `user`'s item with the stack's key.
    pub(crate) async fn open(&self, platform: &str, user: &str, envelope: &Envelope) -> String {
        let key = ItemKey {
            user_id: user,
            platform,
        };
        let stored = StoredToken::Envelope(envelope.clone());
        let opened = self.keys.read(&stored, key).await.unwrap();
        opened.value.expose().to_owned()
    }

    /// A queue receiving every event the refresher puts on the stack's bus.
    pub(crate) async fn event_queue(&self) -> String {
        testkit::bus_capture::bus_to_queue(
            &self.sdk,
            &self.env["EVENT_BUS_NAME"],
            "refresher-events",
        )
        .await
    }

    /// Every message in a queue (received, not deleted; each is seen once per visibility timeout).
    pub(crate) async fn drain(&self, url: &str) -> Vec<Message> {
        testkit::bus_capture::drain(&self.sdk, url).await
    }
}

async fn function_env(sdk: &SdkConfig, stage: &Stage) -> BTreeMap<String, String> {
    let function = aws_sdk_lambda::Client::new(sdk)
        .get_function_configuration()
        .function_name(&stage.function.name)
        .send()
        .await
        .unwrap();
    let variables = function.environment().unwrap().variables().unwrap();
    variables
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// What `deployer secrets set` stores: client credentials per provider that needs them.
async fn create_secret(sdk: &SdkConfig, id: &str, fakes: &FakeProviders) {
    let mut secret = serde_json::Map::new();
    for platform in ["tiktok", "reddit", "schwab"] {
        let config = fakes.config().provider(fake(platform));
        secret.insert(
            platform.to_owned(),
            json!({"client_id": config.client_id, "client_secret": config.client_secret}),
        );
    }
    aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name(id)
        .secret_string(Value::Object(secret).to_string())
        .send()
        .await
        .unwrap();
}

/// An item's envelope attribute.
pub(crate) fn envelope(item: &Item, name: &str) -> Envelope {
    let map = item[name].as_m().unwrap();
    let field = |n: &str| map[n].as_s().unwrap().clone();
    Envelope {
        version: map["version"].as_n().unwrap().parse().unwrap(),
        key_id: field("keyId"),
        encrypted_key: field("encryptedKey"),
        nonce: field("nonce"),
        ciphertext: field("ciphertext"),
    }
}

/// A numeric attribute.
pub(crate) fn number(item: &Item, name: &str) -> u64 {
    item[name].as_n().unwrap().parse().unwrap()
}
