//! Per-token claims (DESIGN §4): before a refresh token is spent, the one refresher that may spend
//! it writes its claim on the item, at the version it read. A refresher that finds a live claim of
//! someone else's leaves the token alone; the claimer's write (or a lapsed lease) ends the claim.

use super::Run;
use super::outcome::Step;
use crate::crypto::ItemKey;
use crate::store::TokenItem;

fn key(item: &TokenItem) -> ItemKey<'_> {
    ItemKey {
        user_id: &item.user_id,
        platform: &item.platform,
    }
}

/// Whether another refresher holds a live claim on `item` as read.
pub(crate) fn held_by_another(run: &Run, item: &TokenItem) -> bool {
    item.claim
        .as_ref()
        .is_some_and(|claim| claim.blocks(&run.id, run.now()))
}

/// Claims `item` for this run until its lease ends. `Err` is the step to take instead: another
/// refresher holds it (`claimed`), it changed since it was read (`changed`), or the table failed.
pub(crate) async fn take(run: &Run, item: &TokenItem) -> Result<(), Step> {
    let store = &run.deps.store;
    let taken = store
        .claim(
            key(item),
            item.version,
            &run.id,
            run.now(),
            run.lease_until(),
        )
        .await;
    match taken {
        Ok(true) => Ok(()),
        Ok(false) => Err(match store.get(&item.user_id, &item.platform).await {
            Ok(Some(now)) if now.version == item.version && held_by_another(run, &now) => {
                Step::skip("claimed")
            }
            Ok(_) => Step::skip("changed"),
            Err(err) => Step::fail("store_read", &err),
        }),
        Err(err) => Err(Step::fail("store_claim", &err)),
    }
}

/// Gives the claim back when no request was sent after all; a failure only leaves the claim to
/// lapse with its lease.
pub(crate) async fn release(run: &Run, item: &TokenItem) {
    if let Err(err) = run.deps.store.release(key(item), &run.id).await {
        tracing::warn!(event = "token_claim_release_failed", user_id = %item.user_id, platform = %item.platform, error = %err);
    }
}
