//! The state shared by the routes and the Rust API, behind one mutex that is never held across an
//! `.await`; the admin operations live here so both front ends do exactly the same thing.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::codes::Codes;
use crate::config::{FakeConfig, Provider, ProviderConfig};
use crate::faults::{Fault, FaultQueues};
use crate::limits::{Limiter, Verdict};
use crate::stats::{Counters, Stats};
use crate::store::{SeedOptions, Store, TokenPair};
use crate::tokens::now_epoch;

/// Everything that changes while the fakes run.
#[derive(Debug, Default)]
pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) codes: Codes,
    pub(crate) counters: Counters,
    pub(crate) faults: FaultQueues,
    limiter: Limiter,
    latency: HashMap<Provider, Duration>,
    rate_limits: HashMap<Provider, Option<u32>>,
}

/// The fakes' configuration and state.
#[derive(Debug)]
pub(crate) struct App {
    config: FakeConfig,
    inner: Mutex<Inner>,
}

impl App {
    pub(crate) fn new(config: FakeConfig) -> Self {
        let mut inner = Inner::default();
        for provider in Provider::ALL {
            let settings = config.provider(provider);
            inner.latency.insert(provider, settings.latency);
            inner.rate_limits.insert(provider, settings.rate_limit);
        }
        Self {
            config,
            inner: Mutex::new(inner),
        }
    }

    /// The state; a panic elsewhere while it was held leaves it usable (counters are not invariants).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn config(&self) -> &FakeConfig {
        &self.config
    }

    pub(crate) fn provider(&self, provider: Provider) -> &ProviderConfig {
        self.config.provider(provider)
    }

    pub(crate) fn seed(&self, provider: Provider, user: &str, options: SeedOptions) -> TokenPair {
        self.lock()
            .store
            .seed(provider, user, &options, now_epoch())
    }

    pub(crate) fn current(&self, provider: Provider, user: &str) -> Option<TokenPair> {
        self.lock().store.current(provider, user)
    }

    pub(crate) fn stats(&self) -> Stats {
        self.lock().counters.snapshot()
    }

    pub(crate) fn inject(&self, provider: Provider, fault: Fault, count: u32) {
        self.lock().faults.push(provider, fault, count);
    }

    pub(crate) fn set_latency(&self, provider: Provider, latency: Duration) {
        self.lock().latency.insert(provider, latency);
    }

    pub(crate) fn set_rate_limit(&self, provider: Provider, limit: Option<u32>) {
        self.lock().rate_limits.insert(provider, limit);
    }

    pub(crate) fn latency(&self, provider: Provider) -> Duration {
        self.lock()
            .latency
            .get(&provider)
            .copied()
            .unwrap_or_default()
    }

    /// Counts a request of `client` against the provider's limit; `None` when it has none.
    pub(crate) fn rate_check(&self, provider: Provider, client: &str) -> Option<Verdict> {
        let window = self.config.rate_window;
        let mut inner = self.lock();
        let limit = inner.rate_limits.get(&provider).copied().flatten()?;
        let verdict = inner
            .limiter
            .check(provider, client, limit, window, Instant::now());
        if !verdict.allowed {
            inner.counters.of(provider).rate_limited += 1;
        }
        Some(verdict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_is_counted_and_can_be_lifted() {
        let app = App::new(FakeConfig::default());
        app.set_rate_limit(Provider::Oauth2, Some(1));
        assert!(
            app.rate_check(Provider::Oauth2, "c")
                .is_some_and(|v| v.allowed)
        );
        assert!(
            app.rate_check(Provider::Oauth2, "c")
                .is_some_and(|v| !v.allowed)
        );
        assert_eq!(app.stats().provider(Provider::Oauth2).rate_limited, 1);
        app.set_rate_limit(Provider::Oauth2, None);
        assert_eq!(app.rate_check(Provider::Oauth2, "c"), None);
        assert_eq!(app.rate_check(Provider::Tiktok, "c"), None);
    }
}
