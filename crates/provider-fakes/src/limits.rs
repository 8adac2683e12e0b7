//! Fixed-window rate limits per provider and client, with what Reddit's `X-Ratelimit-*` headers need.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::config::Provider;

/// The outcome of counting one request against its window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// Whether the request may proceed.
    pub(crate) allowed: bool,
    /// Requests counted in this window, this one included.
    pub(crate) used: u32,
    /// Requests left in this window.
    pub(crate) remaining: u32,
    /// Whole seconds until the window resets (at least 1).
    pub(crate) reset_secs: u64,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    used: u32,
}

/// The windows of every (provider, client) pair.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    windows: HashMap<(Provider, String), Window>,
}

impl Limiter {
    /// Counts a request from `client` against `limit` per `window`.
    pub(crate) fn check(
        &mut self,
        provider: Provider,
        client: &str,
        limit: u32,
        window: Duration,
        now: Instant,
    ) -> Verdict {
        let entry = self
            .windows
            .entry((provider, client.to_owned()))
            .or_insert(Window {
                started: now,
                used: 0,
            });
        if now.duration_since(entry.started) >= window {
            *entry = Window {
                started: now,
                used: 0,
            };
        }
        let allowed = entry.used < limit;
        if allowed {
            entry.used += 1;
        }
        let left = window.saturating_sub(now.duration_since(entry.started));
        Verdict {
            allowed,
            used: entry.used,
            remaining: limit - entry.used,
            reset_secs: u64::try_from(left.as_millis().div_ceil(1000))
                .unwrap_or(u64::MAX)
                .max(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_fills_then_resets() {
        let mut limiter = Limiter::default();
        let start = Instant::now();
        let window = Duration::from_secs(90);
        let first = limiter.check(Provider::Reddit, "c", 2, window, start);
        assert_eq!(
            (first.allowed, first.used, first.remaining, first.reset_secs),
            (true, 1, 1, 90)
        );
        assert!(
            limiter
                .check(Provider::Reddit, "c", 2, window, start)
                .allowed
        );
        let third = limiter.check(
            Provider::Reddit,
            "c",
            2,
            window,
            start + Duration::from_millis(89_500),
        );
        assert_eq!(
            (third.allowed, third.remaining, third.reset_secs),
            (false, 0, 1)
        );
        assert!(
            limiter
                .check(Provider::Reddit, "other", 2, window, start)
                .allowed
        );
        assert!(
            limiter
                .check(Provider::Reddit, "c", 2, window, start + window)
                .allowed
        );
    }
}
