//! Per-provider rate limiting: a token bucket with time passed in, so it is pure and testable.
//!
//! Provider budgets are per app and per minute (TikTok 600, Reddit 100; PROVIDERS.md), so each
//! provider gets one bucket refilled at `rate_per_minute`, holding at most `burst` requests. A
//! server's own hint (`Retry-After`, a spent `X-Ratelimit-Remaining`) pauses the bucket until then.
//! Arithmetic is in integers: one request costs 60 000 credits and the bucket gains
//! `rate_per_minute` credits per millisecond, which is exact for every whole rate.

use std::time::Duration;

/// Credits one request costs: the milliseconds in a minute.
const REQUEST_COST: u64 = 60_000;

/// The outcome of asking for a request slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acquire {
    /// Go ahead: one request was taken from the bucket.
    Granted,
    /// Ask again after this long.
    Wait(Duration),
}

/// One provider's request budget. Times are milliseconds on any monotonic clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenBucket {
    rate_per_minute: u64,
    capacity: u64,
    credits: u64,
    updated_ms: u64,
    paused_until_ms: u64,
}

impl TokenBucket {
    /// A full bucket. A rate or burst of 0 is treated as 1 (config refuses 0 anyway).
    pub fn new(rate_per_minute: u32, burst: u32, now_ms: u64) -> Self {
        let capacity = u64::from(burst.max(1)) * REQUEST_COST;
        Self {
            rate_per_minute: u64::from(rate_per_minute.max(1)),
            capacity,
            credits: capacity,
            updated_ms: now_ms,
            paused_until_ms: 0,
        }
    }

    /// Takes one request slot if there is one, or says how long to wait for it.
    pub fn acquire(&mut self, now_ms: u64) -> Acquire {
        if now_ms < self.paused_until_ms {
            return Acquire::Wait(Duration::from_millis(self.paused_until_ms - now_ms));
        }
        self.refill(now_ms);
        if self.credits >= REQUEST_COST {
            self.credits -= REQUEST_COST;
            return Acquire::Granted;
        }
        let missing = REQUEST_COST - self.credits;
        Acquire::Wait(Duration::from_millis(
            missing.div_ceil(self.rate_per_minute),
        ))
    }

    /// Holds every request until `until_ms` (a server's hint), then allows one at a time again
    /// rather than a full burst into a window that has only just reopened.
    pub fn pause_until(&mut self, until_ms: u64) {
        if until_ms <= self.paused_until_ms {
            return;
        }
        self.paused_until_ms = until_ms;
        self.credits = REQUEST_COST.min(self.capacity);
        self.updated_ms = self.updated_ms.max(until_ms);
    }

    /// Whole requests available now.
    pub fn available(&mut self, now_ms: u64) -> u64 {
        if now_ms < self.paused_until_ms {
            return 0;
        }
        self.refill(now_ms);
        self.credits / REQUEST_COST
    }

    fn refill(&mut self, now_ms: u64) {
        let elapsed = now_ms.saturating_sub(self.updated_ms);
        let gained = elapsed.saturating_mul(self.rate_per_minute);
        self.credits = self.credits.saturating_add(gained).min(self.capacity);
        self.updated_ms = self.updated_ms.max(now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(value: u64) -> Acquire {
        Acquire::Wait(Duration::from_millis(value))
    }

    #[test]
    fn burst_then_steady_rate() {
        let mut bucket = TokenBucket::new(600, 3, 0);
        for _ in 0..3 {
            assert_eq!(bucket.acquire(0), Acquire::Granted);
        }
        // 600/min = one every 100 ms.
        assert_eq!(bucket.acquire(0), ms(100));
        assert_eq!(bucket.acquire(40), ms(60));
        assert_eq!(bucket.acquire(100), Acquire::Granted);
        assert_eq!(bucket.acquire(100), ms(100));
    }

    #[test]
    fn refill_is_capped_at_burst() {
        let mut bucket = TokenBucket::new(100, 2, 0);
        assert_eq!(bucket.acquire(0), Acquire::Granted);
        assert_eq!(bucket.available(10 * 60_000), 2);
        assert_eq!(bucket.acquire(10 * 60_000), Acquire::Granted);
        assert_eq!(bucket.acquire(10 * 60_000), Acquire::Granted);
        assert_eq!(bucket.acquire(10 * 60_000), ms(600));
    }

    #[test]
    fn odd_rates_round_waits_up() {
        let mut bucket = TokenBucket::new(7, 1, 0);
        assert_eq!(bucket.acquire(0), Acquire::Granted);
        // 60000 / 7 = 8571.4 ms.
        assert_eq!(bucket.acquire(0), ms(8572));
        assert_eq!(bucket.acquire(8571), ms(1));
        assert_eq!(bucket.acquire(8572), Acquire::Granted);
    }

    #[test]
    fn server_pause_wins_and_reopens_gently() {
        let mut bucket = TokenBucket::new(60, 5, 0);
        bucket.pause_until(30_000);
        assert_eq!(bucket.acquire(1_000), ms(29_000));
        assert_eq!(bucket.available(1_000), 0);
        bucket.pause_until(10_000); // an earlier hint does not shorten the pause
        assert_eq!(bucket.acquire(29_000), ms(1_000));
        assert_eq!(bucket.acquire(30_000), Acquire::Granted);
        assert_eq!(bucket.acquire(30_000), ms(1_000));
    }

    #[test]
    fn zero_settings_and_clock_going_back_are_safe() {
        let mut bucket = TokenBucket::new(0, 0, 1_000);
        assert_eq!(bucket.acquire(1_000), Acquire::Granted);
        assert_eq!(bucket.acquire(500), ms(60_000));
        assert_eq!(bucket.acquire(u64::MAX), Acquire::Granted);
    }
}
