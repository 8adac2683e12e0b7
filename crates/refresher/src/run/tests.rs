//! The engine over in-memory fakes: what is refreshed, skipped, locked, signalled.

use std::sync::atomic::Ordering;

use super::fakes::{NOW, NOW_MS, World, json_response, options};
use super::*;
use crate::crypto::{ItemKey, KeyCache, StoredToken};
use crate::store::TokenStatus;

async fn run_all(world: &World, input: RunInput) -> RunResponse {
    run(Arc::clone(&world.deps), input, options())
        .await
        .unwrap()
}

fn summary(response: RunResponse) -> RunSummary {
    match response {
        RunResponse::Completed(summary) => summary,
        RunResponse::Locked { .. } => panic!("the run was locked"),
    }
}

/// Decrypts a stored token of an item with the fake KMS.
pub(super) async fn plain(world: &World, user: &str, platform: &str, refresh: bool) -> String {
    let item = world.store.item(user, platform);
    let stored = if refresh {
        item.refresh_token
    } else {
        item.access_token
    };
    let Some(StoredToken::Envelope(envelope)) = stored else {
        panic!("{user}/{platform} is not an envelope");
    };
    let cache = KeyCache::new(Arc::clone(&world.kms));
    let key = ItemKey {
        user_id: user,
        platform,
    };
    cache
        .decrypt(&envelope, key)
        .await
        .unwrap()
        .expose()
        .to_owned()
}

/// acme (window 600 s): a1 due, a2 later, a3 inactive, a4 needs reauth; tiktok (12 h): t1 due.
fn seed_mixed(world: &World) {
    world.seed("a1", "acme", NOW + 100);
    world.seed("a2", "acme", NOW + 5000);
    world.seed("t1", "tiktok", NOW + 3600);
    world.seed("a3", "acme", NOW - 10);
    world.seed("a4", "acme", NOW - 10);
    let mut inactive = world.store.item("a3", "acme");
    inactive.status = TokenStatus::Inactive;
    world.store.put(inactive);
    let mut reauth = world.store.item("a4", "acme");
    reauth.status = TokenStatus::NeedsReauth;
    world.store.put(reauth);
}

#[tokio::test(start_paused = true)]
async fn refreshes_exactly_the_due_tokens() {
    let world = World::new();
    seed_mixed(&world);
    let s = summary(run_all(&world, RunInput::default()).await);
    assert!(s.ok);
    assert_eq!(
        (s.refreshed, s.failed, s.skipped, s.needs_reauth),
        (2, 0, 2, 0)
    );
    let outcomes: Vec<(&str, Outcome, &str)> = s
        .results
        .iter()
        .map(|r| (r.user_id.as_str(), r.outcome, r.reason.as_str()))
        .collect();
    assert_eq!(
        outcomes,
        // What needs a look first, then the refreshed ones; each part by provider and user.
        [
            ("a3", Outcome::Skipped, "inactive"),
            ("a4", Outcome::Skipped, "needs_reauth"),
            ("a1", Outcome::Refreshed, "ok"),
            ("t1", Outcome::Refreshed, "ok"),
        ]
    );
    assert_eq!(world.oauth.calls.load(Ordering::SeqCst), 2);
    let a1 = world.store.item("a1", "acme");
    assert_eq!((a1.version, a1.expires_at), (2, Some(NOW + 3600)));
    assert!(
        plain(&world, "a1", "acme", false)
            .await
            .starts_with("acc-a1-")
    );
    let rotated = plain(&world, "a1", "acme", true).await;
    assert!(world.oauth.live.lock().unwrap().contains_key(&rotated));
    assert_eq!(world.store.item("a2", "acme").version, 1);
    assert!(
        world.store.locks.lock().unwrap().is_empty(),
        "locks released"
    );
    assert!(
        world.store.item("a1", "acme").claim.is_none(),
        "the write ends the claim"
    );

    assert_signals(&world, s);
}

/// Two refreshes: two events, two analytics rows, one EMF line per provider.
fn assert_signals(world: &World, s: RunSummary) {
    let events = world.signals.events.lock().unwrap().clone();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.detail_type == "token.refreshed"));
    assert_eq!(events[0].detail.stage, "prod");
    assert_eq!(events[0].detail.attempt, 1);
    let rows = world.signals.rows.lock().unwrap().clone();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.run_id == s.run_id && r.at == NOW));

    let lines = world.metrics.lines();
    assert_eq!(lines.len(), 2, "one EMF line per provider");
    let acme: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(
        (&acme["Provider"], &acme["Refreshed"], &acme["RunCompleted"]),
        (&"acme".into(), &1.into(), &1.into())
    );
    let json = serde_json::to_value(RunResponse::Completed(s)).unwrap();
    assert_eq!(json["needsReauth"], 0);
    assert_eq!(json["results"][0]["userId"], "a3");
    assert!(
        json.get("resultsOmitted").is_none(),
        "absent when nothing was left out"
    );
}

fn hold_lock(world: &World, provider: &str, owner: &str, until: u64) {
    let lock = (owner.to_owned(), until);
    world
        .store
        .locks
        .lock()
        .unwrap()
        .insert(provider.to_owned(), lock);
}

#[tokio::test(start_paused = true)]
async fn held_lock_skips_and_an_expired_lock_is_stolen() {
    let world = World::new();
    world.seed("a1", "acme", NOW);
    hold_lock(&world, "acme", "other", NOW + 60);
    hold_lock(&world, "tiktok", "other", NOW + 60);
    let response = run_all(&world, RunInput::default()).await;
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        serde_json::json!({"ok": true, "skipped": "locked"})
    );
    assert_eq!(world.oauth.calls.load(Ordering::SeqCst), 0);
    assert!(world.metrics.lines().is_empty());

    hold_lock(&world, "acme", "crashed", NOW - 1);
    let s = summary(run_all(&world, RunInput::default()).await);
    assert_eq!(s.refreshed, 1);
    assert_eq!(s.locked, ["tiktok"], "the other provider's run goes on");
}

/// Two schedules firing together (the 5-minute and the 15-minute rule): each provider has its
/// own lock, so neither run is skipped.
#[tokio::test(start_paused = true)]
async fn runs_of_different_providers_do_not_skip_each_other() {
    let world = World::new();
    for user in ["a1", "a2", "a3"] {
        world.seed(user, "acme", NOW);
    }
    world.seed("t1", "tiktok", NOW);
    let only = |name: &str| RunInput {
        providers: vec![name.to_owned()],
        dry_run: false,
    };
    let (acme, tiktok) = tokio::join!(
        run_all(&world, only("acme")),
        run_all(&world, only("tiktok"))
    );
    let (acme, tiktok) = (summary(acme), summary(tiktok));
    assert_eq!((acme.refreshed, tiktok.refreshed), (3, 1));
    assert!(acme.locked.is_empty() && tiktok.locked.is_empty());
    assert_eq!(world.oauth.calls.load(Ordering::SeqCst), 4);
}

/// Another refresher's live claim (the token API, a run of an earlier release) keeps the run's
/// hands off the token; a lapsed claim (its holder died) is taken over.
#[tokio::test(start_paused = true)]
async fn a_live_claim_is_left_alone_and_a_lapsed_one_is_taken_over() {
    let world = World::new();
    world.seed("a1", "acme", NOW);
    world.seed("a2", "acme", NOW);
    let claim = |owner: &str, until| {
        Some(crate::store::Claim {
            owner: owner.to_owned(),
            until,
        })
    };
    let mut live = world.store.item("a1", "acme");
    live.claim = claim("token-api", NOW + 30);
    world.store.put(live);
    let mut lapsed = world.store.item("a2", "acme");
    lapsed.claim = claim("killed", NOW - 1);
    world.store.put(lapsed);

    let s = summary(run_all(&world, RunInput::default()).await);
    let reasons: Vec<(&str, &str)> = s
        .results
        .iter()
        .map(|r| (r.user_id.as_str(), r.reason.as_str()))
        .collect();
    assert_eq!(reasons, [("a1", "claimed"), ("a2", "ok")]);
    assert_eq!(world.oauth.calls.load(Ordering::SeqCst), 1);
    assert_eq!(world.store.item("a1", "acme").version, 1, "untouched");
    let a2 = world.store.item("a2", "acme");
    assert_eq!((a2.version, a2.claim), (2, None));
    assert_eq!(
        world.store.claims.lock().unwrap().as_slice(),
        [("a2".to_owned(), s.run_id.clone())]
    );
}

#[tokio::test(start_paused = true)]
async fn dry_run_touches_nothing() {
    let world = World::new();
    world.seed("a1", "acme", NOW);
    let input = RunInput {
        providers: vec!["acme".to_owned()],
        dry_run: true,
    };
    let s = summary(run_all(&world, input).await);
    assert!(s.dry_run);
    assert_eq!((s.skipped, s.results[0].reason.as_str()), (1, "dry_run"));
    assert_eq!(world.oauth.calls.load(Ordering::SeqCst), 0);
    assert_eq!(world.store.writes.load(Ordering::SeqCst), 0);
    assert!(world.signals.events.lock().unwrap().is_empty());
    assert!(world.metrics.lines().is_empty());
}

#[tokio::test(start_paused = true)]
async fn unknown_provider_is_refused() {
    let world = World::new();
    let input = RunInput {
        providers: vec!["myspace".to_owned()],
        dry_run: false,
    };
    let err = run(Arc::clone(&world.deps), input, options())
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown provider `myspace` in the input: configured are acme, tiktok"
    );
    assert!(!err.is_retryable());
}

#[tokio::test(start_paused = true)]
async fn invalid_grant_marks_needs_reauth_without_retrying() {
    let world = World::new();
    world.seed("a1", "acme", NOW);
    world.oauth.live.lock().unwrap().clear();
    let s = summary(run_all(&world, RunInput::default()).await);
    assert_eq!(s.needs_reauth, 1);
    assert_eq!(world.oauth.calls.load(Ordering::SeqCst), 1);
    let item = world.store.item("a1", "acme");
    assert_eq!((item.status, item.version), (TokenStatus::NeedsReauth, 2));
    let events = world.signals.events.lock().unwrap().clone();
    assert_eq!(events[0].detail_type, "token.reauth-required");
    assert_eq!(events[0].detail.reason, "invalid_grant");
}

#[tokio::test(start_paused = true)]
async fn invalid_grant_after_a_sibling_refresh_is_skipped() {
    let world = World::new();
    world.seed("a1", "acme", NOW);
    world.oauth.live.lock().unwrap().clear();
    let store = Arc::clone(&world.store);
    *world.oauth.on_call.lock().unwrap() = Some(Box::new(move || {
        let mut item = store.item("a1", "acme");
        item.version += 1;
        store.put(item);
    }));
    let s = summary(run_all(&world, RunInput::default()).await);
    assert_eq!(s.results[0].reason, "sibling_refreshed");
    assert_eq!(world.store.item("a1", "acme").status, TokenStatus::Active);
    assert!(world.signals.events.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_response_without_lifetime_keeps_expires_at_and_is_counted() {
    let world = World::new();
    world.seed("a1", "acme", NOW + 10);
    let body = r#"{"access_token":"acc-x","refresh_token":"ref-x"}"#;
    world
        .oauth
        .scripted
        .lock()
        .unwrap()
        .push_back(Ok(json_response(200, body, &[])));
    let s = summary(run_all(&world, RunInput::default()).await);
    assert_eq!((s.refreshed, s.missing_expiration), (1, 1));
    assert_eq!(world.store.item("a1", "acme").expires_at, Some(NOW + 10));
    let line: serde_json::Value = serde_json::from_str(&world.metrics.lines()[0]).unwrap();
    assert_eq!(line["MissingExpiration"], 1);
}

#[tokio::test(start_paused = true)]
async fn token_refreshed_since_the_query_is_not_refreshed_again() {
    let world = World::new();
    world.seed("a1", "acme", NOW);
    // A run that queried before a sibling wrote: the GetItem shows the new expiry.
    let run_state = Arc::new(Run {
        deps: Arc::clone(&world.deps),
        keys: KeyCache::new(Arc::clone(&world.deps.keys)),
        options: options(),
        id: "r".to_owned(),
        dry: false,
        halted: std::sync::atomic::AtomicBool::new(false),
    });
    let due = world.store.due("acme", NOW + 600).await.unwrap().remove(0);
    let mut item = world.store.item("a1", "acme");
    item.expires_at = Some(NOW + 3600);
    item.version = 2;
    world.store.put(item);
    let provider = gate::ProviderRun::new(&run_state, "acme").unwrap();
    let done = token::process(&run_state, &provider, due).await;
    assert_eq!(
        (done.result.outcome, done.result.reason.as_str()),
        (Outcome::Skipped, "not_due")
    );
    assert_eq!(world.oauth.calls.load(Ordering::SeqCst), 0);
    assert_eq!(NOW_MS / 1000, NOW);
}

#[tokio::test(start_paused = true)]
async fn a_dead_refresh_token_needs_reauth_without_a_call() {
    let world = World::new();
    world.seed("a1", "acme", NOW);
    let mut item = world.store.item("a1", "acme");
    item.refresh_expires_at = Some(NOW - 1);
    world.store.put(item);
    let s = summary(run_all(&world, RunInput::default()).await);
    assert_eq!(
        (s.needs_reauth, s.results[0].reason.as_str()),
        (1, "refresh_token_expired")
    );
    assert_eq!(world.oauth.calls.load(Ordering::SeqCst), 0);
    assert_eq!(
        world.store.item("a1", "acme").status,
        TokenStatus::NeedsReauth
    );
}

#[tokio::test]
async fn a_huge_run_keeps_the_counts_and_the_results_that_need_a_look() {
    let world = World::with_providers(
        r#"{"acme": {"kind": "oauth2", "windowSeconds": 600, "rateLimitPerMinute": 6000000,
            "concurrency": 16, "tokenUrl": "http://localhost/token", "auth": "body"}}"#,
    );
    for i in 0..MAX_RESULTS + 10 {
        world.seed(&format!("u{i:05}"), "acme", NOW + 60);
    }
    // A refresh token the provider does not know: invalid_grant, then needs_reauth.
    world.seed("z-dead", "acme", NOW + 60);
    world.oauth.live.lock().unwrap().remove("seed-ref-z-dead");
    let s = summary(run_all(&world, RunInput::default()).await);
    assert_eq!(
        (s.refreshed, s.needs_reauth),
        (u64::try_from(MAX_RESULTS).unwrap() + 10, 1)
    );
    assert_eq!(s.results.len(), MAX_RESULTS);
    assert_eq!(s.results_omitted, 11);
    assert_eq!(
        s.results[0].user_id, "z-dead",
        "what needs a look comes first"
    );
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["resultsOmitted"], 11);
}
