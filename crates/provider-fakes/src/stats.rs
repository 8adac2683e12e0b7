//! Counters the tests and benchmarks read back: calls, refreshes, reuse detections, 429s, faults.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::Provider;

/// Counts for one provider (or, in [`Stats::total`], for all of them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderStats {
    /// Refresh requests that reached the token endpoint, whatever their outcome.
    pub refresh_calls: u64,
    /// Refreshes answered with new tokens.
    pub refreshed: u64,
    /// Rotated-out tokens presented again (each revoked a grant family).
    pub reuse_detected: u64,
    /// 429 answers sent, from the rate limit or from injected faults.
    pub rate_limited: u64,
    /// Faults taken from the queue and applied.
    pub faults_injected: u64,
}

impl ProviderStats {
    fn add(&mut self, other: &Self) {
        self.refresh_calls += other.refresh_calls;
        self.refreshed += other.refreshed;
        self.reuse_detected += other.reuse_detected;
        self.rate_limited += other.rate_limited;
        self.faults_injected += other.faults_injected;
    }
}

/// A snapshot of all counters, as `GET /_admin/stats` returns it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Per provider; providers never called are absent.
    pub providers: BTreeMap<Provider, ProviderStats>,
    /// Refresh calls per grant, keyed `provider/user`, counted when the presented token is known.
    pub grants: BTreeMap<String, u64>,
    /// The sum over all providers.
    pub total: ProviderStats,
}

impl Stats {
    /// One provider's counts (zero if it was never called).
    pub fn provider(&self, provider: Provider) -> ProviderStats {
        self.providers.get(&provider).copied().unwrap_or_default()
    }

    /// Refresh calls that presented a token of `user`'s grant.
    pub fn grant_calls(&self, provider: Provider, user: &str) -> u64 {
        self.grants
            .get(&grant_key(provider, user))
            .copied()
            .unwrap_or(0)
    }
}

/// The key of [`Stats::grants`].
pub(crate) fn grant_key(provider: Provider, user: &str) -> String {
    format!("{provider}/{user}")
}

/// The live counters behind [`Stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    providers: BTreeMap<Provider, ProviderStats>,
    grants: BTreeMap<String, u64>,
}

impl Counters {
    /// The mutable counts of one provider.
    pub(crate) fn of(&mut self, provider: Provider) -> &mut ProviderStats {
        self.providers.entry(provider).or_default()
    }

    /// Counts one refresh call, and the grant it names when the token is known.
    pub(crate) fn refresh_call(&mut self, provider: Provider, user: Option<&str>) {
        self.of(provider).refresh_calls += 1;
        if let Some(user) = user {
            *self.grants.entry(grant_key(provider, user)).or_default() += 1;
        }
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let mut total = ProviderStats::default();
        for counts in self.providers.values() {
            total.add(counts);
        }
        Stats {
            providers: self.providers.clone(),
            grants: self.grants.clone(),
            total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_sums_providers_and_keys_grants() {
        let mut counters = Counters::default();
        counters.refresh_call(Provider::Tiktok, Some("alice"));
        counters.refresh_call(Provider::Reddit, None);
        counters.of(Provider::Reddit).rate_limited += 2;
        let stats = counters.snapshot();
        assert_eq!(stats.total.refresh_calls, 2);
        assert_eq!(stats.total.rate_limited, 2);
        assert_eq!(stats.grant_calls(Provider::Tiktok, "alice"), 1);
        assert_eq!(
            stats.provider(Provider::Instagram),
            ProviderStats::default()
        );
        let json = serde_json::to_value(&stats).unwrap();
        assert_eq!(json["providers"]["reddit"]["rate_limited"], 2);
        assert_eq!(json["grants"]["tiktok/alice"], 1);
    }
}
