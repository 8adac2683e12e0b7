//! Benchmark (prints figures; `#[ignore]`d, not a timed test): how one run's time and memory grow
//! from 1,000 to 100,000 due tokens, over the in-process fakes of the run's seams (store, KMS,
//! provider, signals: no network, no moto), so the figures are the engine's own cost. From them
//! and each provider's rate limit it prints how many tokens one invocation can refresh inside
//! Lambda's 15-minute limit.
//!
//! Run: `cargo test -p refresher --release --lib growth -- --ignored --nocapture`

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::fakes::{NOW, World, options};
use super::{RunInput, RunResponse, run};

/// Effectively unlimited, so the run measures the engine, not the limiter.
const PROVIDERS: &str = r#"{
    "acme": {"kind": "oauth2", "windowSeconds": 600, "rateLimitPerMinute": 60000000,
             "concurrency": 64, "tokenUrl": "http://localhost/token", "auth": "body"}
}"#;

/// This process's peak resident set (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// User + system CPU of this process (`/proc/self/stat`, 10 ms ticks).
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .filter_map(|f| f.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    // After the state field (not numeric, skipped): utime and stime are the 11th and 12th numbers.
    Duration::from_millis((fields.get(10).unwrap_or(&0) + fields.get(11).unwrap_or(&0)) * 10)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: prints figures"]
async fn growth_from_1k_to_100k_due_tokens() {
    let mut per_token = Duration::ZERO;
    for size in [1_000_usize, 10_000, 100_000] {
        let world = World::with_providers(PROVIDERS);
        for i in 0..size {
            world.seed(&format!("u{i:06}"), "acme", NOW + 60);
        }
        let rss_before = peak_rss_kib();
        let (started, cpu_before) = (Instant::now(), cpu());
        let input = RunInput {
            providers: vec!["acme".to_owned()],
            dry_run: false,
        };
        let RunResponse::Completed(summary) = run(Arc::clone(&world.deps), input, options())
            .await
            .unwrap()
        else {
            panic!("locked")
        };
        let (wall, cpu_used) = (started.elapsed(), cpu().saturating_sub(cpu_before));
        assert_eq!(summary.refreshed, u64::try_from(size).unwrap());
        let response = serde_json::to_vec(&RunResponse::Completed(summary))
            .unwrap()
            .len();
        per_token = wall / u32::try_from(size).unwrap();
        eprintln!(
            "FIGURE growth: {size:>7} due tokens: run {wall:>10.1?} ({:>6.1?}/token), CPU {cpu_used:.1?}, \
             peak RSS {} MiB (was {} MiB before the run; both include the fakes' copies of every item, \
             event and analytics row), response {response} bytes",
            per_token,
            peak_rss_kib() / 1024,
            rss_before / 1024,
        );
    }
    // One invocation: 900 s, less the 20 s in which no refresh starts.
    let budget_s = 880.0;
    for (provider, per_minute) in [
        ("TikTok", 600.0),
        ("Reddit", 100.0),
        ("Instagram", 200.0),
        ("a generic server", 60.0),
    ] {
        let by_rate = per_minute / 60.0 * budget_s;
        let by_engine = budget_s / per_token.as_secs_f64();
        eprintln!(
            "FIGURE growth: {provider} at {per_minute}/min: one invocation refreshes at most {:.0} tokens \
             (rate limit; the engine alone would manage {:.0})",
            by_rate.min(by_engine),
            by_engine
        );
    }
}
