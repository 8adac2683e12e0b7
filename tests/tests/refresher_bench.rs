//! Benchmark (prints figures; not a timed test, so `#[ignore]`d): 5,000 due TikTok tokens over moto
//! against the TikTok fake limited to 600 requests per window, with the window scaled down from a
//! minute to 6 s (and the refresher's budget scaled up to match: 6,000 a minute).
//!
//! Run: `cargo test -p suite --test refresher_bench -- --ignored --nocapture`
//!
//! Figures: rate-limit utilisation (requests per second over what the fake allows), 429s received,
//! DynamoDB calls per token (tokens table through a counting store, plus one analytics `PutItem`
//! per outcome), KMS calls per run (through a counting key source), CPU time per token (this
//! process: the refresher *and* the in-process fakes, so an upper bound).

#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

mod refresher_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use provider_fakes::{FakeConfig, Provider};
use refresher::crypto::{DataKey, GeneratedKey, ItemKey, KeySource, KeySourceError};
use refresher::kms::KmsKeySource;
use refresher::run::{self, RunInput, RunOptions, RunResponse};
use refresher::store::{DueToken, DynamoStore, StoreError, TokenItem, TokenStore, Update};
use refresher_support::Harness;
use serde_json::json;

const TOKENS: usize = 5_000;
const WINDOW: Duration = Duration::from_secs(6);
const PER_WINDOW: u32 = 600;

#[derive(Default)]
struct Counts {
    dynamodb: AtomicU64,
    kms: AtomicU64,
}

struct CountingStore(DynamoStore, Arc<Counts>);

impl CountingStore {
    fn tick(&self) {
        self.1.dynamodb.fetch_add(1, Ordering::Relaxed);
    }
}

#[async_trait]
impl TokenStore for CountingStore {
    async fn due(&self, platform: &str, before: u64) -> Result<Vec<DueToken>, StoreError> {
        self.tick();
        self.0.due(platform, before).await
    }
    async fn get(&self, user_id: &str, platform: &str) -> Result<Option<TokenItem>, StoreError> {
        self.tick();
        self.0.get(user_id, platform).await
    }
    async fn write(
        &self,
        user: &str,
        platform: &str,
        seen: u64,
        update: &Update,
        now: u64,
    ) -> Result<(), StoreError> {
        self.tick();
        self.0.write(user, platform, seen, update, now).await
    }
    async fn claim(
        &self,
        key: ItemKey<'_>,
        seen: u64,
        owner: &str,
        now: u64,
        until: u64,
    ) -> Result<bool, StoreError> {
        self.tick();
        self.0.claim(key, seen, owner, now, until).await
    }
    async fn release(&self, key: ItemKey<'_>, owner: &str) -> Result<(), StoreError> {
        self.tick();
        self.0.release(key, owner).await
    }
    async fn lock(
        &self,
        provider: &str,
        owner: &str,
        now: u64,
        until: u64,
    ) -> Result<bool, StoreError> {
        self.tick();
        self.0.lock(provider, owner, now, until).await
    }
    async fn unlock(&self, provider: &str, owner: &str) -> Result<(), StoreError> {
        self.tick();
        self.0.unlock(provider, owner).await
    }
}

struct CountingKeys(KmsKeySource, Arc<Counts>);

#[async_trait]
impl KeySource for CountingKeys {
    async fn generate_data_key(&self) -> Result<GeneratedKey, KeySourceError> {
        self.1.kms.fetch_add(1, Ordering::Relaxed);
        self.0.generate_data_key().await
    }
    async fn decrypt(
        &self,
        encrypted: &[u8],
        key_id: &str,
        bound: bool,
    ) -> Result<DataKey, KeySourceError> {
        self.1.kms.fetch_add(1, Ordering::Relaxed);
        self.0.decrypt(encrypted, key_id, bound).await
    }
}

/// User + system CPU time of this process (`/proc/self/stat`, clock ticks of 10 ms).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

async fn counting_deps(h: &Harness, counts: &Arc<Counts>) -> refresher::run::Deps {
    let mut deps = h.deps().await;
    let table = aws_sdk_dynamodb::Client::new(&h.sdk);
    let store = DynamoStore::new(table, &h.env["TOKENS_TABLE"], &h.env["TOKENS_EXPIRY_INDEX"]);
    deps.store = Arc::new(CountingStore(store, Arc::clone(counts)));
    let kms = KmsKeySource::new(
        aws_sdk_kms::Client::new(&h.sdk),
        &h.env["KMS_KEY_ID"],
        &h.env["TOKENS_TABLE"],
    );
    deps.keys = Arc::new(CountingKeys(kms, Arc::clone(counts)));
    deps
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: prints figures, takes minutes"]
async fn refresh_5000_due_tokens_under_a_scaled_rate_limit() {
    let mut config = FakeConfig {
        rate_window: WINDOW,
        ..FakeConfig::default()
    };
    config.tiktok.rate_limit = Some(PER_WINDOW);
    let mut h = Harness::start_with(config).await;
    let per_minute = u64::from(PER_WINDOW) * 60 / WINDOW.as_secs();
    h.tune("tiktok", "rateLimitPerMinute", json!(per_minute));
    h.tune("tiktok", "concurrency", json!(16));
    let seeding = Instant::now();
    for i in 0..TOKENS {
        h.seed("tiktok", &format!("user-{i:05}"), h.now + 600).await;
    }
    eprintln!("seeded {TOKENS} tokens in {:.1?}", seeding.elapsed());

    let counts = Arc::new(Counts::default());
    let deps = Arc::new(counting_deps(&h, &counts).await);
    let input = RunInput {
        providers: vec!["tiktok".to_owned()],
        dry_run: false,
    };
    let (started, cpu_before) = (Instant::now(), cpu_time());
    let response = run::run(deps, input, RunOptions::new(None)).await.unwrap();
    let (wall, cpu) = (started.elapsed(), cpu_time().saturating_sub(cpu_before));
    let RunResponse::Completed(summary) = response else {
        panic!("locked")
    };
    let stats = h.fakes.stats().provider(Provider::Tiktok);
    let allowed = f64::from(PER_WINDOW) / WINDOW.as_secs_f64();
    let achieved = stats.refresh_calls as f64 / wall.as_secs_f64();
    let outcomes = summary.refreshed + summary.failed + summary.needs_reauth;
    let dynamodb = counts.dynamodb.load(Ordering::Relaxed) + outcomes;
    eprintln!(
        "refreshed {} failed {} in {wall:.1?}\n\
         rate-limit utilisation: {achieved:.1} req/s of {allowed:.1} allowed = {:.0}%\n\
         429s received: {}\n\
         DynamoDB calls per token: {:.2} (tokens table + analytics)\n\
         KMS calls per run: {}\n\
         CPU time per token: {:.0} µs (refresher + in-process fakes)",
        summary.refreshed,
        summary.failed,
        100.0 * achieved / allowed,
        stats.rate_limited,
        dynamodb as f64 / TOKENS as f64,
        counts.kms.load(Ordering::Relaxed),
        cpu.as_micros() as f64 / TOKENS as f64,
    );
    assert_eq!(summary.refreshed, TOKENS as u64);
}
