//! The engine under faults: provider errors, write failures, the clock running out, and a log
//! capture proving no token or secret value is ever logged.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::fakes::{CLIENT_SECRET, NOW, NOW_MS, World, json_response, options};
use super::tests::plain;
use super::*;
use crate::crypto::{ItemKey, KeyCache};

async fn summary(world: &World, options: RunOptions) -> RunSummary {
    match run(Arc::clone(&world.deps), RunInput::default(), options)
        .await
        .unwrap()
    {
        RunResponse::Completed(summary) => summary,
        RunResponse::Locked { .. } => panic!("locked"),
    }
}

fn script(world: &World, status: u16, body: &str, headers: &[(&str, &str)]) {
    world
        .oauth
        .scripted
        .lock()
        .unwrap()
        .push_back(Ok(json_response(status, body, headers)));
}

#[tokio::test(start_paused = true)]
async fn transient_errors_are_retried_and_retry_after_is_honoured() {
    let world = World::new();
    world.seed("a1", "acme", NOW);
    script(&world, 503, "<html>", &[]);
    script(&world, 429, "", &[("Retry-After", "30")]);
    let options = options();
    let s = summary(&world, options).await;
    assert_eq!(s.refreshed, 1);
    assert_eq!(world.oauth.calls.load(Ordering::SeqCst), 3);
    assert!(
        options.clock.now_ms() >= NOW_MS + 30_000,
        "waited for Retry-After"
    );
    assert_eq!(world.signals.events.lock().unwrap()[0].detail.attempt, 3);
}

#[tokio::test(start_paused = true)]
async fn other_refusals_are_failures_and_not_retried() {
    let world = World::new();
    world.seed("a1", "acme", NOW);
    script(&world, 401, r#"{"error":"invalid_client"}"#, &[]);
    let s = summary(&world, options()).await;
    assert_eq!((s.failed, s.results[0].reason.as_str()), (1, "rejected"));
    assert_eq!(world.oauth.calls.load(Ordering::SeqCst), 1);
    let item = world.store.item("a1", "acme");
    assert_eq!((item.failures, item.version), (1, 2));
    let events = world.signals.events.lock().unwrap().clone();
    assert_eq!(events[0].detail_type, "token.refresh.failed");
}

#[tokio::test(start_paused = true)]
async fn a_write_failure_is_retried() {
    let world = World::new();
    world.seed("a1", "acme", NOW);
    world.store.failing_writes.store(2, Ordering::SeqCst);
    let s = summary(&world, options()).await;
    assert_eq!(s.refreshed, 1);
    assert_eq!(world.store.writes.load(Ordering::SeqCst), 3);
    assert!(world.signals.recoveries.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_write_applied_whose_answer_was_lost_is_not_a_failure() {
    let world = World::new();
    world.seed("a1", "acme", NOW);
    world.store.lost_answers.store(1, Ordering::SeqCst);
    let s = summary(&world, options()).await;
    // The retry's version condition fails; the re-read finds this run's own envelopes.
    assert_eq!((s.refreshed, s.failed), (1, 0), "{:?}", s.results);
    assert_eq!(world.store.writes.load(Ordering::SeqCst), 2);
    assert!(world.signals.recoveries.lock().unwrap().is_empty());
    assert_eq!(world.store.item("a1", "acme").version, 2);
}

#[tokio::test(start_paused = true)]
async fn a_last_attempt_applied_without_an_answer_is_recognised() {
    let world = World::new();
    world.seed("a1", "acme", NOW);
    world.store.failing_writes.store(2, Ordering::SeqCst);
    world.store.lost_answers.store(1, Ordering::SeqCst);
    let s = summary(&world, options()).await;
    assert_eq!((s.refreshed, s.failed), (1, 0), "{:?}", s.results);
    assert_eq!(world.store.writes.load(Ordering::SeqCst), 3);
    assert!(world.signals.recoveries.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_sibling_write_after_a_failed_attempt_is_still_a_conflict() {
    let world = World::new();
    world.seed("a1", "acme", NOW);
    // The first attempt fails without being applied, and a sibling writes before the retry.
    world.store.failing_writes.store(1, Ordering::SeqCst);
    let mut sibling = world.store.item("a1", "acme");
    sibling.version = 2;
    let store = Arc::clone(&world.store);
    let bump = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        store.put(sibling);
    });
    let s = summary(&world, options()).await;
    bump.await.unwrap();
    // Not this run's envelopes: the set goes to the recovery path, not counted as stored.
    assert_eq!(
        (s.refreshed, s.results[0].reason.as_str()),
        (0, "store_write_recovered")
    );
}

#[tokio::test(start_paused = true)]
async fn a_lasting_write_failure_sends_the_sealed_set_to_the_dlq() {
    let world = World::new();
    world.seed("a1", "acme", NOW);
    world.store.failing_writes.store(100, Ordering::SeqCst);
    let s = summary(&world, options()).await;
    assert_eq!(
        (s.failed, s.results[0].reason.as_str()),
        (1, "store_write_recovered")
    );
    let records = world.signals.recoveries.lock().unwrap().clone();
    let [record] = records.as_slice() else {
        panic!("{} records", records.len())
    };
    assert_eq!(
        (record.seen_version, record.expires_at),
        (1, Some(NOW + 3600))
    );
    let json = serde_json::to_string(record).unwrap();
    assert!(!json.contains("acc-") && !json.contains("ref-"), "{json}");
    let cache = KeyCache::new(Arc::clone(&world.kms));
    let key = ItemKey {
        user_id: "a1",
        platform: "acme",
    };
    let refresh = cache
        .decrypt(record.refresh_token.as_ref().unwrap(), key)
        .await
        .unwrap();
    assert!(
        world
            .oauth
            .live
            .lock()
            .unwrap()
            .contains_key(refresh.expose()),
        "the recovery record holds the live, rotated refresh token"
    );
    assert_eq!(world.store.item("a1", "acme").version, 1);
}

#[tokio::test(start_paused = true)]
async fn a_lost_set_stops_new_refreshes_for_the_run() {
    let world = World::new();
    for user in ["a1", "a2", "a3", "a4", "a5", "a6"] {
        world.seed(user, "acme", NOW);
    }
    // The table and the queue both down: whatever is refreshed now cannot be kept.
    world.store.failing_writes.store(1_000, Ordering::SeqCst);
    world.signals.queue_down.store(true, Ordering::SeqCst);
    let s = summary(&world, options()).await;
    let lost = s
        .results
        .iter()
        .filter(|r| r.reason == "token_set_lost")
        .count();
    let halted = s
        .results
        .iter()
        .filter(|r| r.reason == "store_unavailable")
        .count();
    // Only the refreshes already in flight (acme's concurrency is 4) are lost; the rest wait,
    // still due, for the next run.
    assert!((1..=4).contains(&lost), "{:?}", s.results);
    assert_eq!(lost + halted, 6, "{:?}", s.results);
    assert!(!s.ok, "a run that lost a set is not ok");
    let emf: serde_json::Value = serde_json::from_str(&world.metrics.lines()[0]).unwrap();
    assert_eq!(emf["TokenSetsLost"], lost, "{emf}");
    let calls = world.oauth.calls.load(Ordering::SeqCst);
    assert_eq!(usize::try_from(calls).unwrap(), lost);
    for user in ["a1", "a2", "a3", "a4", "a5", "a6"] {
        assert_eq!(world.store.item(user, "acme").version, 1);
    }
    for r in &s.results {
        // A lost set's claim stays until its lease ends (its refresh token was spent); the
        // tokens never sent are free for the next refresher at once.
        let claim = world.store.item(&r.user_id, "acme").claim;
        assert_eq!(claim.is_some(), r.reason == "token_set_lost", "{r:?}");
    }
}

/// A provider whose credentials were never set (a new one) fails alone, loudly; the others run.
#[tokio::test(start_paused = true)]
async fn a_provider_without_credentials_fails_alone() {
    let secret = format!(
        r#"{{"tiktok": {{"client_id": "tt", "client_secret": "{}"}}}}"#,
        super::fakes::CLIENT_SECRET
    );
    let world = World::with_providers_and_secret(super::fakes::PROVIDERS, &secret);
    world.seed("a1", "acme", NOW);
    world.seed("t1", "tiktok", NOW);
    let s = summary(&world, options()).await;
    assert!(!s.ok, "a provider that cannot run makes the run not ok");
    assert_eq!((s.refreshed, s.results.len()), (1, 1));
    assert_eq!(s.results[0].user_id, "t1");
    let [unusable] = s.unusable.as_slice() else {
        panic!("{:?}", s.unusable)
    };
    assert_eq!(unusable.provider, "acme");
    assert!(
        unusable
            .problem
            .contains("deployer secrets set --stage prod --provider acme")
    );
    let lines = world.metrics.lines();
    let acme: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(
        (&acme["Provider"], &acme["ProviderUnusable"]),
        (&"acme".into(), &1.into())
    );
    assert!(
        acme.get("RunCompleted").is_none(),
        "not a completed run of acme"
    );
    assert_eq!(world.store.item("a1", "acme").version, 1, "untouched");
}

/// A table that refuses the claim would refuse the write too: nothing is spent at the provider.
#[tokio::test(start_paused = true)]
async fn a_claim_the_table_refuses_spends_nothing() {
    let world = World::new();
    world.seed("a1", "acme", NOW);
    world.store.failing_claims.store(true, Ordering::SeqCst);
    let s = summary(&world, options()).await;
    assert_eq!((s.failed, s.results[0].reason.as_str()), (1, "store_claim"));
    assert_eq!(world.oauth.calls.load(Ordering::SeqCst), 0);
    assert_eq!(world.store.item("a1", "acme").version, 1);
}

#[tokio::test(start_paused = true)]
async fn a_salvaged_refresh_token_is_stored() {
    let world = World::new();
    world.seed("t1", "tiktok", NOW);
    // TikTok rotates: a success without expires_in is malformed, but the new token must be kept.
    script(
        &world,
        200,
        r#"{"access_token":"a","refresh_token":"ref-salvaged"}"#,
        &[],
    );
    let s = summary(&world, options()).await;
    assert_eq!((s.failed, s.results[0].reason.as_str()), (1, "malformed"));
    assert_eq!(plain(&world, "t1", "tiktok", true).await, "ref-salvaged");
}

#[tokio::test(start_paused = true)]
async fn no_new_work_starts_when_time_is_short() {
    let world = World::new();
    world.seed("a1", "acme", NOW);
    let options = RunOptions {
        deadline_ms: Some(NOW_MS + 10_000),
        ..options()
    };
    let s = summary(&world, options).await;
    assert_eq!(
        (s.skipped, s.results[0].reason.as_str()),
        (1, "out_of_time")
    );
    assert_eq!(world.oauth.calls.load(Ordering::SeqCst), 0);
    assert_eq!(world.store.item("a1", "acme").version, 1);
}

#[tokio::test(start_paused = true)]
async fn a_failed_due_query_is_not_a_completed_run_for_that_provider() {
    let world = World::new();
    world.seed("a1", "acme", NOW);
    world.seed("t1", "tiktok", NOW);
    world
        .store
        .failing_due
        .lock()
        .unwrap()
        .push("tiktok".to_owned());
    let s = summary(&world, options()).await;
    assert!(!s.ok);
    assert_eq!(s.refreshed, 1);
    // acme's one Query, tiktok's three attempts.
    assert_eq!(world.store.due_queries.load(Ordering::SeqCst), 4);
    let lines = world.metrics.lines();
    assert_eq!(lines.len(), 1, "no RunCompleted for tiktok: {lines:?}");
    assert!(lines[0].contains(r#""Provider":"acme""#));
}

#[tokio::test(start_paused = true)]
async fn a_due_query_that_fails_once_is_tried_again() {
    let world = World::new();
    world.seed("a1", "acme", NOW);
    world.store.due_failures.store(1, Ordering::SeqCst);
    let s = summary(&world, options()).await;
    assert!(s.ok, "{s:?}");
    assert_eq!(s.refreshed, 1);
}

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn logs_never_hold_a_token_or_secret() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let world = World::new();
    for user in ["a1", "a2", "a3", "a4"] {
        world.seed(user, "acme", NOW);
    }
    script(&world, 503, "", &[]);
    script(&world, 400, r#"{"error":"invalid_grant"}"#, &[]);
    world.store.failing_writes.store(100, Ordering::SeqCst);
    let s = summary(&world, options()).await;
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(s.results.len(), 4);
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    for event in [
        "token_refresh_retry",
        "token_recovery_queued",
        "token_refresh_failed",
    ] {
        assert!(text.contains(event), "no {event} in:\n{text}");
    }
    for leak in ["acc-", "ref-", "seed-", CLIENT_SECRET] {
        assert!(!text.contains(leak), "`{leak}` in the logs:\n{text}");
    }
}
