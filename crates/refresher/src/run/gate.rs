//! One provider's share of a run: its adapter, credentials, window, token bucket and concurrency
//! slots.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

use super::Run;
use crate::clock::Clock;
use crate::config::ClientCredentials;
use crate::limiter::{Acquire, TokenBucket};
use crate::providers::{self, Provider};

pub(crate) struct ProviderRun {
    /// The provider's configured name (the items' `platform`).
    pub(crate) name: String,
    pub(crate) adapter: Box<dyn Provider>,
    pub(crate) credentials: ClientCredentials,
    pub(crate) window_seconds: u64,
    bucket: Mutex<TokenBucket>,
    slots: Semaphore,
}

impl ProviderRun {
    /// `None` when the provider is not configured (the caller checked the input already).
    pub(crate) fn new(run: &Run, name: &str) -> Option<Self> {
        let config = run.deps.config.provider(name)?;
        let credentials = run.deps.credentials.get(name).cloned().unwrap_or_default();
        let now_ms = run.options.clock.now_ms();
        // Burst of at most the concurrency: a run never opens with a volley of requests.
        let bucket = TokenBucket::new(config.rate_limit_per_minute, config.concurrency, now_ms);
        let slots = usize::try_from(config.concurrency).unwrap_or(1).max(1);
        Some(Self {
            name: name.to_owned(),
            adapter: providers::for_config(config),
            credentials,
            window_seconds: config.window_seconds,
            bucket: Mutex::new(bucket),
            slots: Semaphore::new(slots),
        })
    }

    /// A concurrency slot, held while one token is refreshed.
    pub(crate) async fn slot(&self) -> Option<SemaphorePermit<'_>> {
        self.slots.acquire().await.ok()
    }

    /// Waits for a request slot in the token bucket; `false` when the wait would end after
    /// `latest_ms` (the run's time is up).
    pub(crate) async fn request_slot(&self, clock: &Clock, latest_ms: Option<u64>) -> bool {
        loop {
            let now = clock.now_ms();
            let acquired = self
                .bucket
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .acquire(now);
            match acquired {
                Acquire::Granted => return true,
                Acquire::Wait(wait) => {
                    let until = now.saturating_add(millis(wait));
                    if latest_ms.is_some_and(|latest| until > latest) {
                        return false;
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Holds every request of this provider for `wait` (a server's hint).
    pub(crate) fn pause(&self, clock: &Clock, wait: Duration) {
        let until = clock.now_ms().saturating_add(millis(wait));
        self.bucket
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pause_until(until);
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}
