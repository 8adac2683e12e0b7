//! The token API over the engine's in-memory fakes: when it refreshes, how concurrent requests
//! coalesce on the claim, and each error answer.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};

use super::{ApiAnswer, ErrorCode, handle};
use crate::run::RunOptions;
use crate::run::fakes::{NOW, NOW_MS, World, json_response, options};
use crate::store::{Claim, TokenStatus};

fn request(user: &str, extra: &Value) -> Value {
    let mut body = json!({"action": "refresh", "userId": user, "platform": "acme"});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    body
}

async fn ask(world: &World, user: &str, extra: Value) -> ApiAnswer {
    handle(
        Arc::clone(&world.deps),
        request(user, &extra),
        api_options(),
    )
    .await
    .unwrap()
}

fn api_options() -> RunOptions {
    RunOptions {
        deadline_ms: Some(NOW_MS + 30_000),
        safety_margin: Duration::from_secs(3),
        ..options()
    }
}

fn state(answer: &ApiAnswer) -> &super::answer::TokenState {
    match answer {
        ApiAnswer::Token(state) => state,
        other => panic!("not a token's state: {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_token_valid_long_enough_is_answered_without_a_provider_call() {
    let world = World::new();
    world.seed("u1", "acme", NOW + 3600);
    let answer = ask(&world, "u1", json!({"minValiditySeconds": 600})).await;
    let s = state(&answer);
    assert_eq!(
        (s.refreshed, s.version, s.expires_at),
        (false, 1, Some(NOW + 3600))
    );
    assert_eq!(world.oauth.calls.load(Ordering::SeqCst), 0);
    assert_eq!(world.store.writes.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn a_token_too_close_to_expiry_or_forced_is_refreshed() {
    let world = World::new();
    world.seed("u1", "acme", NOW + 30);
    let s = state(&ask(&world, "u1", json!({})).await).clone();
    assert!(s.refreshed && !s.coalesced);
    assert_eq!((s.version, s.expires_at), (2, Some(NOW + 3600)));
    // Valid for an hour now; forced anyway (the provider answered 401 to it).
    let forced = ask(&world, "u1", json!({"force": true, "seenVersion": 2})).await;
    assert_eq!(state(&forced).version, 3);
    assert_eq!(world.oauth.calls.load(Ordering::SeqCst), 2);
    assert!(world.store.item("u1", "acme").claim.is_none());
    // The refresh was signalled like a scheduled one.
    let events = world.signals.events.lock().unwrap().clone();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.detail_type == "token.refreshed"));
    // Counted in the metrics, but not as a run (the no-successful-run alarm is the schedule's).
    let lines = world.metrics.lines();
    assert_eq!(lines.len(), 2);
    let emf: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(
        (&emf["Refreshed"], &emf["RunCompleted"]),
        (&json!(1), &json!(0))
    );
}

/// Fifty callers got a 401 at once and force a refresh of the same token: one provider call, and
/// every other caller waits on the claim and answers with that refresh's result.
#[tokio::test(start_paused = true)]
async fn concurrent_forced_requests_coalesce_on_the_claim() {
    let world = World::new();
    world.seed("u1", "acme", NOW + 3600);
    // The provider takes 700 ms: the other requests arrive while the first one's call is out.
    *world.oauth.latency.lock().unwrap() = Duration::from_millis(700);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let deps = Arc::clone(&world.deps);
        // Half say which version their token came from, half do not.
        let extra = if i % 2 == 0 {
            json!({"force": true, "seenVersion": 1})
        } else {
            json!({"force": true})
        };
        tasks.spawn(async move {
            handle(deps, request("u1", &extra), api_options())
                .await
                .unwrap()
        });
    }
    let answers = tasks.join_all().await;
    assert_eq!(world.oauth.calls.load(Ordering::SeqCst), 1);
    let refreshed = answers.iter().filter(|a| state(a).refreshed).count();
    let coalesced = answers.iter().filter(|a| state(a).coalesced).count();
    assert_eq!((refreshed, coalesced), (1, 49));
    assert!(answers.iter().all(|a| state(a).version == 2));
}

#[tokio::test(start_paused = true)]
async fn a_live_claim_is_waited_for_and_a_stuck_one_answers_busy() {
    let world = World::new();
    world.seed("u1", "acme", NOW + 10);
    let mut item = world.store.item("u1", "acme");
    item.claim = Some(Claim {
        owner: "scheduled-run".to_owned(),
        until: NOW + 900,
    });
    world.store.put(item);
    let answer = ask(&world, "u1", json!({})).await;
    assert_eq!(answer.code(), Some(ErrorCode::Busy));
    assert_eq!(world.oauth.calls.load(Ordering::SeqCst), 0);

    // The claimer writes its result while the request waits: answered with it, coalesced.
    let store = Arc::clone(&world.store);
    let writer = async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut item = store.item("u1", "acme");
        item.version += 1;
        item.expires_at = Some(NOW + 7200);
        item.claim = None;
        store.put(item);
    };
    let (answer, ()) = tokio::join!(ask(&world, "u1", json!({})), writer);
    let s = state(&answer);
    assert!(s.coalesced && !s.refreshed);
    assert_eq!(s.version, 2);
    assert_eq!(world.oauth.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn each_error_has_its_code() {
    let world = World::new();
    world.seed("dead", "acme", NOW + 10);
    let mut dead = world.store.item("dead", "acme");
    dead.status = TokenStatus::NeedsReauth;
    world.store.put(dead);
    world.seed("gone", "acme", NOW + 10);
    let mut off = world.store.item("gone", "acme");
    off.status = TokenStatus::Inactive;
    world.store.put(off);
    let deps = || Arc::clone(&world.deps);
    let cases = [
        (
            json!({"action": "refresh", "userId": "u"}),
            ErrorCode::BadRequest,
        ),
        (
            json!({"action": "refresh", "userId": "u", "platform": "myspace"}),
            ErrorCode::UnknownPlatform,
        ),
        (request("nobody", &json!({})), ErrorCode::NotFound),
        (request("dead", &json!({})), ErrorCode::NeedsReauth),
        (request("gone", &json!({})), ErrorCode::Inactive),
    ];
    for (input, code) in cases {
        let answer = handle(deps(), input.clone(), api_options()).await.unwrap();
        assert_eq!(answer.code(), Some(code), "{input}");
    }
    assert_eq!(world.oauth.calls.load(Ordering::SeqCst), 0);
    let unknown = handle(
        deps(),
        json!({"action": "refresh", "userId": "u", "platform": "myspace"}),
        api_options(),
    )
    .await
    .unwrap();
    let text = serde_json::to_string(&unknown).unwrap();
    assert!(text.contains("configured are acme, tiktok"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn a_provider_refusal_is_answered_with_its_reason() {
    let world = World::new();
    world.seed("u1", "acme", NOW + 10);
    world.seed("u2", "acme", NOW + 10);
    let refuse = |status, body: &str| {
        let answer = json_response(status, body, &[]);
        world.oauth.scripted.lock().unwrap().push_back(Ok(answer));
    };
    refuse(400, r#"{"error": "invalid_grant"}"#);
    let answer = serde_json::to_value(ask(&world, "u1", json!({})).await).unwrap();
    assert_eq!(answer["error"]["code"], "NEEDS_REAUTH");
    assert_eq!(answer["error"]["reason"], "invalid_grant");
    assert_eq!(
        world.store.item("u1", "acme").status,
        TokenStatus::NeedsReauth
    );
    refuse(401, r#"{"error": "invalid_client"}"#);
    let answer = serde_json::to_value(ask(&world, "u2", json!({})).await).unwrap();
    assert_eq!(answer["error"]["code"], "REFRESH_FAILED");
    assert_eq!(answer["error"]["retryable"], false, "{answer}");
}

fn requested(user: &str, force: bool) -> Value {
    json!({"version": "0", "id": "e1", "detail-type": super::REFRESH_REQUESTED,
           "source": "oauth-refresher.reader", "detail": {"userId": user, "platform": "acme", "force": force}})
}

#[tokio::test(start_paused = true)]
async fn a_requested_refresh_fails_its_invocation_only_when_a_retry_can_help() {
    let world = World::new();
    world.seed("u1", "acme", NOW + 3600);
    world.seed("u2", "acme", NOW + 3600);
    // Forced by the event: refreshed, and the invocation succeeds with the answer.
    let answer = handle(
        Arc::clone(&world.deps),
        requested("u1", true),
        api_options(),
    )
    .await
    .unwrap();
    assert!(state(&answer).refreshed);
    assert_eq!(world.oauth.calls.load(Ordering::SeqCst), 1);

    // Not retryable (no such token): an answer, logged; retrying would change nothing.
    let answer = handle(
        Arc::clone(&world.deps),
        requested("nobody", true),
        api_options(),
    )
    .await
    .unwrap();
    assert_eq!(answer.code(), Some(ErrorCode::NotFound));

    // Held by a claimer past the request's wait: BUSY is retryable, so the invocation fails,
    // for Lambda to retry it and then to record it in the DLQ.
    let mut item = world.store.item("u2", "acme");
    item.claim = Some(Claim {
        owner: "scheduled-run".to_owned(),
        until: NOW + 900,
    });
    world.store.put(item);
    let err = handle(
        Arc::clone(&world.deps),
        requested("u2", true),
        api_options(),
    )
    .await
    .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("BUSY"), "{err}");
    assert_eq!(world.oauth.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn the_status_action_answers_the_figures_of_deployer_status() {
    let world = World::new();
    world.seed("u1", "acme", NOW + 10);
    world.seed("u2", "acme", NOW - 5);
    ask(&world, "u1", json!({"force": true})).await;
    let answer = handle(
        Arc::clone(&world.deps),
        json!({"action": "status", "sinceSeconds": 3600}),
        api_options(),
    )
    .await
    .unwrap();
    let answer = serde_json::to_value(&answer).unwrap();
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["since"], "3600s");
    let acme = answer["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == "acme")
        .unwrap();
    assert_eq!(
        (&acme["refreshed"], &acme["failed"], &acme["expired"]),
        (&json!(1), &json!(0), &json!(1)),
        "{answer}"
    );
    assert_eq!(answer["last_successful_run"]["provider"], "acme");
    // The same shape as `deployer status --json`: the shared report, plus `ok`.
    let report = crate::status::build(
        "x",
        &crate::status::Window {
            label: String::new(),
            from: 0,
            now: 0,
        },
        &[],
    );
    let mut fields: Vec<String> = serde_json::to_value(report)
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    fields.push("ok".to_owned());
    fields.sort();
    let mut answered: Vec<String> = answer.as_object().unwrap().keys().cloned().collect();
    answered.sort();
    assert_eq!(answered, fields);
}
