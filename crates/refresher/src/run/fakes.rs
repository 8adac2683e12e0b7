//! In-memory fakes of the run's seams, for the engine's unit tests.
//!
//! `FakeStore` applies the same version condition as DynamoDB; `FakeKms` hands out keys `[n; 32]`
//! encrypted as `[b'k', n]`; `FakeOAuth` is a rotating RFC 6749 token endpoint (a used refresh token
//! is dead: `invalid_grant`) with a queue of scripted answers to inject faults.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::{Deps, RunOptions};
use crate::clock::Clock;
use crate::config::{Config, Credentials};
use crate::crypto::{DataKey, GeneratedKey, ItemKey, KeySource, KeySourceError, StoredToken};
use crate::events::{AnalyticsRow, RecoveryRecord, SignalError, Signals, TokenEvent};
use crate::http::{HttpResponse, Transport};
use crate::metrics::Captured;
use crate::providers::{HttpRequest, ProviderError};
use crate::retry::Backoff;
use crate::secret::SecretString;
use crate::store::{Claim, DueToken, StoreError, TokenItem, TokenStatus, TokenStore, Update};

pub(crate) const NOW_MS: u64 = 1_800_000_000_000;
pub(crate) const NOW: u64 = NOW_MS / 1000;

#[derive(Default)]
pub(crate) struct FakeStore {
    pub(crate) items: Mutex<BTreeMap<(String, String), TokenItem>>,
    /// Provider locks: owner and lease end by provider.
    pub(crate) locks: Mutex<BTreeMap<String, (String, u64)>>,
    /// Claims refused with a table error, as when `UpdateItem` is failing.
    pub(crate) failing_claims: AtomicBool,
    /// Claims taken (with their owner), in order, for the tests to count.
    pub(crate) claims: Mutex<Vec<(String, String)>>,
    /// Writes to fail before writes succeed again.
    pub(crate) failing_writes: AtomicU32,
    pub(crate) writes: AtomicU32,
    /// Writes to apply and then answer with an error, as when the answer is lost on the way back.
    pub(crate) lost_answers: AtomicU32,
    /// Platforms whose due query fails.
    pub(crate) failing_due: Mutex<Vec<String>>,
    /// Due queries to fail, whatever the platform, before they answer again.
    pub(crate) due_failures: AtomicU32,
    pub(crate) due_queries: AtomicU32,
}

impl FakeStore {
    pub(crate) fn put(&self, item: TokenItem) {
        let key = (item.user_id.clone(), item.platform.clone());
        self.items.lock().unwrap().insert(key, item);
    }

    pub(crate) fn item(&self, user: &str, platform: &str) -> TokenItem {
        self.items.lock().unwrap()[&(user.to_owned(), platform.to_owned())].clone()
    }
}

#[async_trait]
impl TokenStore for FakeStore {
    async fn due(&self, platform: &str, before: u64) -> Result<Vec<DueToken>, StoreError> {
        self.due_queries.fetch_add(1, Ordering::SeqCst);
        let failing = self.due_failures.load(Ordering::SeqCst);
        if failing > 0 {
            self.due_failures.store(failing - 1, Ordering::SeqCst);
            return Err(StoreError::Failed("ThrottlingException".to_owned()));
        }
        if self
            .failing_due
            .lock()
            .unwrap()
            .iter()
            .any(|p| p == platform)
        {
            return Err(StoreError::Failed("InternalServerError".to_owned()));
        }
        let items = self.items.lock().unwrap();
        Ok(items
            .values()
            .filter(|i| i.platform == platform && i.expires_at.is_some_and(|at| at <= before))
            .map(|i| DueToken {
                user_id: i.user_id.clone(),
                platform: i.platform.clone(),
                expires_at: i.expires_at,
                version: i.version,
                status: i.status,
            })
            .collect())
    }

    async fn get(&self, user_id: &str, platform: &str) -> Result<Option<TokenItem>, StoreError> {
        let key = (user_id.to_owned(), platform.to_owned());
        Ok(self.items.lock().unwrap().get(&key).cloned())
    }

    async fn write(
        &self,
        user_id: &str,
        platform: &str,
        seen: u64,
        update: &Update,
        now: u64,
    ) -> Result<(), StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        let failing = self.failing_writes.load(Ordering::SeqCst);
        if failing > 0 {
            self.failing_writes.store(failing - 1, Ordering::SeqCst);
            return Err(StoreError::Failed(
                "ProvisionedThroughputExceeded".to_owned(),
            ));
        }
        let mut items = self.items.lock().unwrap();
        let key = (user_id.to_owned(), platform.to_owned());
        let item = items.get_mut(&key).ok_or(StoreError::Conflict)?;
        if item.version != seen {
            return Err(StoreError::Conflict);
        }
        if matches!(update, Update::Converted { .. }) {
            if item.claim.as_ref().is_some_and(|c| c.until >= now) {
                return Err(StoreError::Conflict);
            }
        } else {
            item.claim = None;
        }
        item.version += 1;
        match update {
            Update::Refreshed(sealed) => {
                item.access_token = Some(sealed.access_token.clone());
                if let Some(refresh) = &sealed.refresh_token {
                    item.refresh_token = Some(refresh.clone());
                }
                item.expires_at = sealed.expires_at.or(item.expires_at);
                item.last_refresh_at = Some(now);
                item.failures = 0;
                item.status = TokenStatus::Active;
            }
            Update::Failed { refresh_token, .. } => {
                if let Some(refresh) = refresh_token {
                    item.refresh_token = Some(refresh.clone());
                }
                item.failures += 1;
            }
            Update::NeedsReauth { .. } => item.status = TokenStatus::NeedsReauth,
            Update::Converted {
                access_token,
                refresh_token,
            } => {
                if let Some(access) = access_token {
                    item.access_token = Some(access.clone());
                }
                if let Some(refresh) = refresh_token {
                    item.refresh_token = Some(refresh.clone());
                }
            }
        }
        let lost = self.lost_answers.load(Ordering::SeqCst);
        if lost > 0 {
            self.lost_answers.store(lost - 1, Ordering::SeqCst);
            return Err(StoreError::Failed(
                "dispatch failure: connection closed before the answer".to_owned(),
            ));
        }
        Ok(())
    }

    async fn claim(
        &self,
        key: ItemKey<'_>,
        seen: u64,
        owner: &str,
        now: u64,
        until: u64,
    ) -> Result<bool, StoreError> {
        if self.failing_claims.load(Ordering::SeqCst) {
            return Err(StoreError::Failed("InternalServerError".to_owned()));
        }
        let mut items = self.items.lock().unwrap();
        let Some(item) = items.get_mut(&(key.user_id.to_owned(), key.platform.to_owned())) else {
            return Ok(false);
        };
        if item.version != seen || item.claim.as_ref().is_some_and(|c| c.blocks(owner, now)) {
            return Ok(false);
        }
        item.claim = Some(Claim {
            owner: owner.to_owned(),
            until,
        });
        let claimed = (key.user_id.to_owned(), owner.to_owned());
        self.claims.lock().unwrap().push(claimed);
        Ok(true)
    }

    async fn release(&self, key: ItemKey<'_>, owner: &str) -> Result<(), StoreError> {
        let mut items = self.items.lock().unwrap();
        if let Some(item) = items.get_mut(&(key.user_id.to_owned(), key.platform.to_owned()))
            && item.claim.as_ref().is_some_and(|c| c.owner == owner)
        {
            item.claim = None;
        }
        Ok(())
    }

    async fn lock(
        &self,
        provider: &str,
        owner: &str,
        now: u64,
        lease_until: u64,
    ) -> Result<bool, StoreError> {
        let mut locks = self.locks.lock().unwrap();
        if locks.get(provider).is_some_and(|(_, until)| *until >= now) {
            return Ok(false);
        }
        locks.insert(provider.to_owned(), (owner.to_owned(), lease_until));
        Ok(true)
    }

    async fn unlock(&self, provider: &str, owner: &str) -> Result<(), StoreError> {
        let mut locks = self.locks.lock().unwrap();
        if locks.get(provider).is_some_and(|(o, _)| o == owner) {
            locks.remove(provider);
        }
        Ok(())
    }
}

#[derive(Default)]
pub(crate) struct FakeKms {
    next: AtomicU8,
}

impl FakeKms {
    /// Data keys generated so far.
    pub(crate) fn generated(&self) -> u8 {
        self.next.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl KeySource for FakeKms {
    async fn generate_data_key(&self) -> Result<GeneratedKey, KeySourceError> {
        let n = self.next.fetch_add(1, Ordering::SeqCst);
        Ok(GeneratedKey {
            plaintext: DataKey::from_slice(&[n; 32]).unwrap(),
            encrypted: vec![b'k', n],
            key_id: "fake-key".to_owned(),
        })
    }

    async fn decrypt(
        &self,
        encrypted: &[u8],
        _key_id: &str,
        _bound: bool,
    ) -> Result<DataKey, KeySourceError> {
        Ok(DataKey::from_slice(&[encrypted[1]; 32]).unwrap())
    }
}

/// A rotating token endpoint: `refresh_token` -> user; each success issues `acc-<user>-<n>` and
/// `ref-<user>-<n>` and kills the refresh token used.
#[derive(Default)]
pub(crate) struct FakeOAuth {
    pub(crate) live: Mutex<BTreeMap<String, String>>,
    pub(crate) scripted: Mutex<VecDeque<Result<HttpResponse, ProviderError>>>,
    pub(crate) calls: AtomicU32,
    issued: AtomicU32,
    /// Run before answering (e.g. a sibling writing the item meanwhile).
    pub(crate) on_call: Mutex<Option<Box<dyn Fn() + Send>>>,
    /// How long each answer takes (tokio time: paused tests advance it).
    pub(crate) latency: Mutex<std::time::Duration>,
}

pub(crate) fn json_response(status: u16, body: &str, headers: &[(&str, &str)]) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

#[async_trait]
impl Transport for FakeOAuth {
    async fn send(&self, request: &HttpRequest) -> Result<HttpResponse, ProviderError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let latency = *self.latency.lock().unwrap();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        if let Some(hook) = self.on_call.lock().unwrap().as_ref() {
            hook();
        }
        if let Some(answer) = self.scripted.lock().unwrap().pop_front() {
            return answer;
        }
        let token = request.form_value("refresh_token").unwrap().expose();
        let Some(user) = self.live.lock().unwrap().remove(token) else {
            return Ok(json_response(400, r#"{"error":"invalid_grant"}"#, &[]));
        };
        let n = self.issued.fetch_add(1, Ordering::SeqCst);
        let refresh = format!("ref-{user}-{n}");
        self.live
            .lock()
            .unwrap()
            .insert(refresh.clone(), user.clone());
        let access = format!("acc-{user}-{n}");
        secret_ledger::record("refresher-unit:access", &access);
        secret_ledger::record("refresher-unit:refresh", &refresh);
        let body = format!(
            r#"{{"access_token":"{access}","refresh_token":"{refresh}","expires_in":3600,"token_type":"bearer"}}"#
        );
        Ok(json_response(200, &body, &[]))
    }
}

#[derive(Default)]
pub(crate) struct FakeSignals {
    pub(crate) events: Mutex<Vec<TokenEvent>>,
    pub(crate) rows: Mutex<Vec<AnalyticsRow>>,
    pub(crate) recoveries: Mutex<Vec<RecoveryRecord>>,
    /// The DLQ refuses recovery records.
    pub(crate) queue_down: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl Signals for FakeSignals {
    async fn event(&self, event: &TokenEvent) -> Result<(), SignalError> {
        self.events.lock().unwrap().push(event.clone());
        Ok(())
    }

    async fn analytics(&self, row: &AnalyticsRow) -> Result<(), SignalError> {
        self.rows.lock().unwrap().push(row.clone());
        Ok(())
    }

    async fn recovery(&self, record: &RecoveryRecord) -> Result<(), SignalError> {
        if self.queue_down.load(Ordering::SeqCst) {
            return Err(SignalError("SendMessage: ServiceUnavailable".to_owned()));
        }
        self.recoveries.lock().unwrap().push(record.clone());
        Ok(())
    }
}

/// The analytics rows the fake signals recorded, read back as the table would answer.
#[async_trait]
impl crate::analytics::AnalyticsSource for FakeSignals {
    async fn since(
        &self,
        platform: &str,
        from: u64,
    ) -> Result<Vec<crate::analytics::AnalyticsRecord>, crate::analytics::AnalyticsError> {
        let rows = self.rows.lock().unwrap();
        Ok(rows
            .iter()
            .filter(|r| r.platform == platform && r.at >= from)
            .map(analytics_record)
            .collect())
    }

    async fn newest(
        &self,
        platform: &str,
        outcome: &str,
    ) -> Result<Option<crate::analytics::AnalyticsRecord>, crate::analytics::AnalyticsError> {
        let rows = self.rows.lock().unwrap();
        Ok(rows
            .iter()
            .filter(|r| r.platform == platform && r.outcome == outcome)
            .max_by_key(|r| r.at)
            .map(analytics_record))
    }
}

fn analytics_record(row: &AnalyticsRow) -> crate::analytics::AnalyticsRecord {
    crate::analytics::AnalyticsRecord {
        outcome: row.outcome.clone(),
        reason: row.reason.clone(),
        run_id: row.run_id.clone(),
        at: row.at,
    }
}

/// The fakes together, and the `Deps` over them.
pub(crate) struct World {
    pub(crate) store: Arc<FakeStore>,
    pub(crate) kms: Arc<FakeKms>,
    pub(crate) oauth: Arc<FakeOAuth>,
    pub(crate) signals: Arc<FakeSignals>,
    pub(crate) metrics: Arc<Captured>,
    pub(crate) deps: Arc<Deps>,
}

pub(crate) const PROVIDERS: &str = r#"{
    "acme": {"kind": "oauth2", "windowSeconds": 600, "rateLimitPerMinute": 600, "concurrency": 4,
             "tokenUrl": "http://localhost/token", "auth": "body"},
    "tiktok": {"kind": "tiktok", "windowSeconds": 43200, "rateLimitPerMinute": 600, "concurrency": 2,
               "tokenUrl": "http://localhost/tiktok"}
}"#;

pub(crate) const CLIENT_SECRET: &str = "client-secret-value";

impl World {
    pub(crate) fn new() -> Self {
        Self::with_providers(PROVIDERS)
    }

    /// A world whose `PROVIDERS` is `providers` (JSON, as the deployer renders it).
    pub(crate) fn with_providers(providers: &str) -> Self {
        let secret = format!(
            r#"{{"acme": {{"client_id": "acme-app", "client_secret": "{CLIENT_SECRET}"}},
                "tiktok": {{"client_id": "tt-app", "client_secret": "{CLIENT_SECRET}"}}}}"#
        );
        Self::with_providers_and_secret(providers, &secret)
    }

    /// A world with these `PROVIDERS` and credentials secret.
    pub(crate) fn with_providers_and_secret(providers: &str, secret: &str) -> Self {
        // The engine's own events, as JSON on the test's output: the suite's secret scan reads them.
        let _ = tracing_subscriber::fmt()
            .json()
            .with_env_filter("refresher=debug")
            .with_test_writer()
            .try_init();
        secret_ledger::record("refresher-unit:client_secret", CLIENT_SECRET);
        let mut env = crate::config::tests::env();
        env.retain(|(k, _)| *k != "PROVIDERS");
        env.push(("PROVIDERS", providers));
        env.push(("JITTER_SECONDS", "0"));
        let config = Config::from_env(env).unwrap();
        let credentials = Credentials::parse(secret, &config).unwrap();
        let (store, kms) = (Arc::new(FakeStore::default()), Arc::new(FakeKms::default()));
        let oauth = Arc::new(FakeOAuth::default());
        let signals = Arc::new(FakeSignals::default());
        let metrics = Arc::new(Captured::default());
        let deps = Arc::new(Deps {
            config,
            credentials,
            store: store.clone(),
            keys: kms.clone(),
            transport: oauth.clone(),
            signals: signals.clone(),
            metrics: metrics.clone(),
            analytics: signals.clone(),
        });
        Self {
            store,
            kms,
            oauth,
            signals,
            metrics,
            deps,
        }
    }

    /// An active item with legacy plaintext tokens whose refresh token the fake endpoint knows.
    pub(crate) fn seed(&self, user: &str, platform: &str, expires_at: u64) {
        let refresh = format!("seed-ref-{user}");
        secret_ledger::record("refresher-unit:seed-refresh", &refresh);
        secret_ledger::record("refresher-unit:seed-access", &format!("seed-acc-{user}"));
        self.oauth
            .live
            .lock()
            .unwrap()
            .insert(refresh.clone(), user.to_owned());
        self.store.put(TokenItem {
            user_id: user.to_owned(),
            platform: platform.to_owned(),
            version: 1,
            status: TokenStatus::Active,
            expires_at: Some(expires_at),
            refresh_expires_at: None,
            last_refresh_at: None,
            failures: 0,
            scope: None,
            access_token: Some(StoredToken::Plain(SecretString::new(format!(
                "seed-acc-{user}"
            )))),
            refresh_token: Some(StoredToken::Plain(SecretString::new(refresh))),
            claim: None,
        });
    }
}

/// Options on a clock fixed at [`NOW_MS`], no deadline, fast backoff.
pub(crate) fn options() -> RunOptions {
    RunOptions {
        clock: Clock::fixed(NOW_MS),
        deadline_ms: None,
        safety_margin: std::time::Duration::from_secs(20),
        backoff: Backoff {
            base: std::time::Duration::from_millis(100),
            ..Backoff::default()
        },
        default_lease: std::time::Duration::from_mins(15),
    }
}
