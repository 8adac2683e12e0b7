//! Benchmark (prints figures; `#[ignore]`d, not a timed test): throughput against the provider
//! fakes over HTTP with a provider's latency (80 ms an answer) and real rate limits (TikTok
//! 600/min, Reddit 100/min, enforced by the fakes, which answer 429 past them), both providers in
//! one run. The store, KMS and signals are the in-process fakes, so the figures are the refresher's
//! pacing, not a stand-in's speed (moto answers ~200 calls a second; `tests/tests/refresher_bench.rs`
//! measures the run over it).
//!
//! Run: `cargo test -p refresher --lib throughput -- --ignored --nocapture`

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use provider_fakes::{FakeConfig, FakeProviders, Provider, SeedOptions};

use super::fakes::{NOW, World, options};
use super::{Deps, RunInput, RunResponse, run};
use crate::crypto::StoredToken;
use crate::http::{ReqwestTransport, Timeouts};
use crate::secret::SecretString;
use crate::store::{TokenItem, TokenStatus};

const TIKTOK: usize = 300;
const REDDIT: usize = 50;
const LATENCY: Duration = Duration::from_millis(80);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: prints figures, takes about 30 s"]
#[allow(clippy::cast_precision_loss)] // counts of a few hundred, shown as rates
#[allow(
    clippy::too_many_lines,
    reason = "a benchmark scenario reads top to bottom"
)]
async fn throughput_at_provider_latency_and_rate_limits() {
    let mut config = FakeConfig::default();
    config.tiktok.rate_limit = Some(600);
    config.reddit.rate_limit = Some(100);
    let fakes = FakeProviders::start(config).await.unwrap();
    fakes.set_latency(Provider::Tiktok, LATENCY);
    fakes.set_latency(Provider::Reddit, LATENCY);
    let providers = format!(
        r#"{{"tiktok": {{"kind": "tiktok", "windowSeconds": 43200, "rateLimitPerMinute": 600,
                       "concurrency": 8, "tokenUrl": "{}"}},
            "reddit": {{"kind": "reddit", "windowSeconds": 1200, "rateLimitPerMinute": 100,
                       "concurrency": 4, "tokenUrl": "{}", "userAgent": "web:bench:1 (by /u/bench)"}}}}"#,
        fakes.token_url(Provider::Tiktok),
        fakes.token_url(Provider::Reddit)
    );
    let secret = r#"{"tiktok": {"client_id": "fake-tiktok-client", "client_secret": "fake-tiktok-secret"},
                     "reddit": {"client_id": "fake-reddit-client", "client_secret": "fake-reddit-secret"}}"#;
    let world = World::with_providers_and_secret(&providers, secret);
    for (platform, provider, count) in [
        ("tiktok", Provider::Tiktok, TIKTOK),
        ("reddit", Provider::Reddit, REDDIT),
    ] {
        for i in 0..count {
            let user = format!("{platform}-{i:04}");
            let pair = fakes.seed(provider, &user, SeedOptions::default());
            world.store.put(TokenItem {
                user_id: user,
                platform: platform.to_owned(),
                version: 1,
                status: TokenStatus::Active,
                expires_at: Some(NOW + 60),
                refresh_expires_at: None,
                last_refresh_at: None,
                failures: 0,
                scope: None,
                access_token: Some(StoredToken::Plain(SecretString::new(pair.access_token))),
                refresh_token: pair
                    .refresh_token
                    .map(|r| StoredToken::Plain(SecretString::new(r))),
                claim: None,
            });
        }
    }
    let deps = Arc::new(Deps {
        config: world.deps.config.clone(),
        credentials: world.deps.credentials.clone(),
        store: world.store.clone(),
        keys: world.kms.clone(),
        transport: Arc::new(ReqwestTransport::new(Timeouts::default()).unwrap()),
        signals: world.signals.clone(),
        metrics: world.metrics.clone(),
        analytics: world.signals.clone(),
    });
    let started = Instant::now();
    let RunResponse::Completed(summary) = run(deps, RunInput::default(), options()).await.unwrap()
    else {
        panic!("locked")
    };
    let wall = started.elapsed().as_secs_f64();
    let writes = world.store.writes.load(Ordering::SeqCst);
    let rows = world.signals.rows.lock().unwrap().len();
    for (name, provider, count, per_minute) in [
        ("TikTok", Provider::Tiktok, TIKTOK, 600.0),
        ("Reddit", Provider::Reddit, REDDIT, 100.0),
    ] {
        let stats = fakes.stats().provider(provider);
        // Each provider's requests spread over the whole run: its pace is its count over the wall.
        let achieved = stats.refresh_calls as f64 / wall;
        eprintln!(
            "FIGURE throughput: {name}: {count} tokens, {} refresh calls, {:.2} req/s of {:.2} allowed = {:.0} % \
             utilisation, {} × 429",
            stats.refresh_calls,
            achieved,
            per_minute / 60.0,
            100.0 * achieved / (per_minute / 60.0),
            stats.rate_limited
        );
    }
    let tokens = (TIKTOK + REDDIT) as f64;
    eprintln!(
        "FIGURE throughput: run {wall:.1} s, refreshed {} failed {}; per token: {:.2} tokens-table writes, \
         {:.2} analytics rows; data keys generated for the run: {}",
        summary.refreshed,
        summary.failed,
        f64::from(writes) / tokens,
        rows as f64 / tokens,
        world.kms.generated()
    );
    assert_eq!(summary.refreshed, u64::try_from(TIKTOK + REDDIT).unwrap());
}
