//! Benchmark (prints figures; not a timed test, so `#[ignore]`d): a forced refresh through the
//! TypeScript reader, end to end on this machine: the reader's `GetItem`, the token API invoked
//! through `deployer serve` (the deployed release zip, a warm instance), its claim, provider call
//! and write, and the reader's second read. The provider fake answers at once (no latency set),
//! so the wall time is the path's own overhead.
//!
//! Run: `cargo test -p deployer --test refresh_bench -- --ignored --nocapture`
//!
//! Figures: median and p95 wall time per forced refresh over 50 sequential ones (after one
//! warm-up that pays the instance's cold start), the reader's AWS calls per refresh (counted in
//! its SDK clients) and the token API's (counted by a proxy in front of the stand-in).

#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]
#![allow(
    clippy::too_many_lines,
    reason = "a benchmark reads top to bottom; the 60-line limit is for the product's code"
)]

mod support;

use std::collections::BTreeMap;
use std::process::Command;

use provider_fakes::{FakeConfig, FakeProviders, Provider, SeedOptions};
use serde_json::{Value, json};
use support::serve::Served;
use support::{deployer, fakes_stage, import_rows, json, now, project, set_all_fake_credentials};
use testkit::fault_proxy::FaultProxy;
use testkit::moto::Moto;

const REFRESHES: usize = 50;

#[allow(clippy::print_stdout)]
fn figure(line: &str) {
    println!("FIGURE {line}");
}

/// One run of the helper: its JSON line.
fn burst(env: &[(String, String)], count: usize) -> Value {
    let out = Command::new("node")
        .current_dir(project())
        .args([
            "clients/typescript/scripts/bench-refresh.mjs",
            "alice",
            "tiktok",
        ])
        .arg(count.to_string())
        .env_remove("AWS_PROFILE")
        .envs(env.iter().cloned())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn per_refresh(counts: &BTreeMap<String, u64>, n: usize) -> String {
    counts
        .iter()
        .map(|(name, c)| format!("{name} {:.2}", *c as f64 / n as f64))
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: prints figures, run with --ignored --nocapture"]
async fn a_forced_refresh_through_a_reader() {
    let moto = Moto::start();
    let fakes = FakeProviders::start(FakeConfig::default()).await.unwrap();
    let proxy = FaultProxy::start(moto.endpoint()).await;
    let dir = tempfile::tempdir().unwrap();
    let stage = fakes_stage(dir.path(), &fakes.base_url(), |t| t);
    // The release build, as deployed for real.
    json(&deployer(
        &moto,
        &["--json", "deploy", "--yes", "--stage", &stage],
    ));
    set_all_fake_credentials(&moto, &stage);
    let pair = fakes.seed(Provider::Tiktok, "alice", SeedOptions::default());
    let row = json!({"userId": "alice", "platform": "tiktok", "accessToken": pair.access_token,
        "refreshToken": pair.refresh_token.clone().unwrap(), "expiresAt": now() + 3600});
    import_rows(&moto, &stage, dir.path(), &format!("{row}\n"));
    // The functions' calls go through the proxy, which counts them; the reader's go to moto.
    let served = Served::start_at(&proxy.endpoint(), &stage);
    let outputs = json(&deployer(&moto, &["--json", "outputs", "--stage", &stage]));
    let mut env: Vec<(String, String)> = ["TokensTableName", "KmsKeyArn", "TokenApiFnArn"]
        .iter()
        .map(|n| ((*n).to_owned(), outputs[n].as_str().unwrap().to_owned()))
        .collect();
    for (name, value) in [
        ("AWS_ENDPOINT_URL", moto.endpoint()),
        ("AWS_ENDPOINT_URL_LAMBDA", served.endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED", "true"),
    ] {
        env.push((name.to_owned(), value.to_owned()));
    }

    let cold = burst(&env, 1);
    let before = proxy.forwarded();
    let warm = burst(&env, REFRESHES);
    let after = proxy.forwarded();
    served.stop();

    let mut wall: Vec<f64> = warm["wallMs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    wall.sort_by(f64::total_cmp);
    let median = wall[wall.len() / 2];
    let p95 = wall[(wall.len() - 1) * 95 / 100];
    let reader: BTreeMap<String, u64> = warm["commands"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
        .collect();
    let api: BTreeMap<String, u64> = after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0)))
        .filter(|(_, v)| *v > 0)
        .collect();
    let stats = fakes.stats().provider(Provider::Tiktok);
    assert_eq!(stats.refreshed, 1 + REFRESHES as u64, "{stats:?}");
    figure(&format!(
        "forced refresh through the TypeScript reader ({REFRESHES} sequential, warm instance, provider answering at once): median {median:.1} ms, p95 {p95:.1} ms; first (instance cold start included) {:.1} ms",
        cold["wallMs"][0].as_f64().unwrap()
    ));
    figure(&format!(
        "reader calls per forced refresh: {}",
        per_refresh(&reader, REFRESHES)
    ));
    figure(&format!(
        "token API calls per forced refresh: {}",
        per_refresh(&api, REFRESHES)
    ));
}
