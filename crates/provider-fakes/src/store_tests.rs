//! Unit tests of the grant rules: rotation, reuse detection, revocation and token age.

use super::*;

const NOW: u64 = 1_800_000_000;

fn config(provider: Provider, rotation: Rotation) -> ProviderConfig {
    ProviderConfig {
        rotation,
        ..ProviderConfig::defaults(provider)
    }
}

fn seeded(store: &mut Store, provider: Provider, issued_at: u64) -> TokenPair {
    let options = SeedOptions {
        issued_at: Some(issued_at),
        revoked: false,
    };
    store.seed(provider, "alice", &options, NOW)
}

fn refresh_token(pair: &TokenPair) -> &str {
    pair.refresh_token.as_deref().unwrap_or_default()
}

#[test]
fn rotation_then_reuse_revokes_the_family() {
    let mut store = Store::default();
    let cfg = config(Provider::Oauth2, Rotation::Always);
    let first = seeded(&mut store, Provider::Oauth2, NOW);
    let issued = store
        .refresh(Provider::Oauth2, refresh_token(&first), &cfg, NOW)
        .unwrap();
    let second = issued.refresh_token.unwrap();
    assert_ne!(second, refresh_token(&first));
    assert_eq!(
        store
            .current(Provider::Oauth2, "alice")
            .unwrap()
            .refresh_token
            .as_deref(),
        Some(second.as_str())
    );

    let reuse = store.refresh(Provider::Oauth2, refresh_token(&first), &cfg, NOW);
    assert_eq!(reuse, Err(Refusal::Reused));
    assert!(store.current(Provider::Oauth2, "alice").unwrap().revoked);
    assert_eq!(
        store.refresh(Provider::Oauth2, &second, &cfg, NOW),
        Err(Refusal::Revoked)
    );
}

#[test]
fn never_rotating_keeps_the_refresh_token() {
    let mut store = Store::default();
    let cfg = config(Provider::Reddit, Rotation::Never);
    let first = seeded(&mut store, Provider::Reddit, NOW);
    for _ in 0..3 {
        let issued = store
            .refresh(Provider::Reddit, refresh_token(&first), &cfg, NOW)
            .unwrap();
        assert_eq!(issued.refresh_token, None);
    }
}

#[test]
fn alternate_rotates_every_second_refresh() {
    let mut store = Store::default();
    let cfg = config(Provider::Reddit, Rotation::Alternate);
    let first = seeded(&mut store, Provider::Reddit, NOW);
    let one = store
        .refresh(Provider::Reddit, refresh_token(&first), &cfg, NOW)
        .unwrap();
    assert_eq!(one.refresh_token, None);
    let two = store
        .refresh(Provider::Reddit, refresh_token(&first), &cfg, NOW)
        .unwrap();
    assert!(two.refresh_token.is_some());
}

#[test]
fn tiktok_rotates_even_when_configured_not_to() {
    let mut store = Store::default();
    let cfg = config(Provider::Tiktok, Rotation::Never);
    let first = seeded(&mut store, Provider::Tiktok, NOW);
    let issued = store
        .refresh(Provider::Tiktok, refresh_token(&first), &cfg, NOW)
        .unwrap();
    assert!(issued.refresh_token.is_some());
}

#[test]
fn tiktok_refresh_token_expires() {
    let mut store = Store::default();
    let cfg = config(Provider::Tiktok, Rotation::Always);
    let first = seeded(&mut store, Provider::Tiktok, NOW - cfg.refresh_expires_in);
    assert_eq!(
        store.refresh(Provider::Tiktok, refresh_token(&first), &cfg, NOW),
        Err(Refusal::Expired)
    );
}

#[test]
fn instagram_age_rule_has_both_edges() {
    let mut store = Store::default();
    let cfg = config(Provider::Instagram, Rotation::Always);
    let young = seeded(&mut store, Provider::Instagram, NOW - INSTAGRAM_MIN_AGE + 1);
    assert_eq!(young.refresh_token, None);
    assert_eq!(
        store.refresh(Provider::Instagram, &young.access_token, &cfg, NOW),
        Err(Refusal::TooYoung)
    );
    let expired = seeded(&mut store, Provider::Instagram, NOW - cfg.expires_in);
    assert_eq!(
        store.refresh(Provider::Instagram, &expired.access_token, &cfg, NOW),
        Err(Refusal::Expired)
    );
    let ripe = seeded(&mut store, Provider::Instagram, NOW - INSTAGRAM_MIN_AGE);
    let issued = store
        .refresh(Provider::Instagram, &ripe.access_token, &cfg, NOW)
        .unwrap();
    assert_ne!(issued.access_token, ripe.access_token);
    assert_eq!(
        store
            .current(Provider::Instagram, "alice")
            .unwrap()
            .issued_at,
        NOW
    );
}

#[test]
fn tokens_do_not_cross_providers_and_reseeding_forgets_the_old_family() {
    let mut store = Store::default();
    let cfg = config(Provider::Reddit, Rotation::Always);
    let first = seeded(&mut store, Provider::Oauth2, NOW);
    assert_eq!(
        store.refresh(Provider::Reddit, refresh_token(&first), &cfg, NOW),
        Err(Refusal::Unknown)
    );
    let _again = seeded(&mut store, Provider::Oauth2, NOW);
    assert_eq!(store.owner(Provider::Oauth2, refresh_token(&first)), None);
}
