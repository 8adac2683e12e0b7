//! Time for the run: epoch milliseconds that advance with tokio's clock, and RFC 3339 formatting.
//!
//! [`Clock`] reads the wall clock once and then follows `tokio::time::Instant`, so a test with
//! tokio's paused time gets a deterministic, auto-advancing clock from a fixed epoch, and the
//! production clock cannot jump backwards during a run.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Epoch time for one run.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    base_ms: u64,
    start: Instant,
}

impl Clock {
    /// The system time now.
    pub fn system() -> Self {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Self::fixed(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
    }

    /// A clock that starts at `epoch_ms` (tests).
    pub fn fixed(epoch_ms: u64) -> Self {
        Self {
            base_ms: epoch_ms,
            start: Instant::now(),
        }
    }

    /// Epoch milliseconds.
    pub fn now_ms(&self) -> u64 {
        let elapsed = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.base_ms.saturating_add(elapsed)
    }

    /// Epoch seconds.
    pub fn now(&self) -> u64 {
        self.now_ms() / 1000
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for epoch seconds (UTC; proleptic Gregorian, H. Hinnant's algorithm).
pub fn rfc3339(epoch_secs: u64) -> String {
    let days = epoch_secs / 86_400;
    let secs = epoch_secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
        assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
    }

    #[tokio::test(start_paused = true)]
    async fn fixed_clock_follows_tokio_time() {
        let clock = Clock::fixed(1_000_000);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(clock.now_ms(), 1_001_500);
        assert_eq!(clock.now(), 1001);
    }
}
