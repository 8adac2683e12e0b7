//! Retry timing: exponential backoff with full jitter, capped, honouring a server's hint.
//!
//! Full jitter (a uniform draw between zero and the exponential ceiling) spreads retries of many
//! tokens that failed together, instead of having them all return at the same instant. A server
//! hint (`Retry-After`, a rate-limit reset) is a floor: the delay is the hint plus a small jitter.
//! A delay longer than `max_wait` is not worth holding a Lambda for; the token stays due and the
//! next tick takes it. The random source is a parameter so tests are deterministic; the run passes
//! `rand::rng()`.

use std::time::Duration;

use rand::{Rng, RngExt};

/// Retry policy for one refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Ceiling of the first retry's delay; doubles with each further attempt.
    pub base: Duration,
    /// Largest ceiling the doubling reaches.
    pub cap: Duration,
    /// Attempts in all, the first one included.
    pub max_attempts: u32,
    /// Longest wait worth making inside one run.
    pub max_wait: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(20),
            max_attempts: 4,
            max_wait: Duration::from_mins(1),
        }
    }
}

impl Backoff {
    /// How long to wait after `failed_attempts` failures (1 after the first) before trying again;
    /// `None` when out of attempts or the wait would exceed `max_wait`.
    pub fn delay<R: Rng + ?Sized>(
        &self,
        failed_attempts: u32,
        hint: Option<Duration>,
        rng: &mut R,
    ) -> Option<Duration> {
        if failed_attempts == 0 || failed_attempts >= self.max_attempts {
            return None;
        }
        let delay = match hint {
            Some(hint) => hint.saturating_add(uniform(self.base, rng)),
            None => uniform(self.ceiling(failed_attempts), rng),
        };
        (delay <= self.max_wait).then_some(delay)
    }

    /// `min(cap, base * 2^(failed_attempts - 1))`.
    fn ceiling(&self, failed_attempts: u32) -> Duration {
        let factor = 1u32.checked_shl(failed_attempts - 1).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }
}

/// A random wait in `[0, max]` before a run starts, so scheduled runs do not hit providers at the
/// same second (`JITTER_SECONDS`).
pub fn start_jitter<R: Rng + ?Sized>(max: Duration, rng: &mut R) -> Duration {
    uniform(max, rng)
}

/// Uniform in `[0, max]`, at millisecond resolution.
fn uniform<R: Rng + ?Sized>(max: Duration, rng: &mut R) -> Duration {
    let max_ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rng.random_range(0..=max_ms))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    fn ms(value: u64) -> Duration {
        Duration::from_millis(value)
    }

    #[test]
    fn full_jitter_stays_under_a_doubling_capped_ceiling() {
        let backoff = Backoff {
            base: ms(100),
            cap: ms(350),
            max_attempts: 10,
            max_wait: ms(10_000),
        };
        let mut rng = StdRng::seed_from_u64(7);
        for (attempt, ceiling) in [(1, 100), (2, 200), (3, 350), (9, 350)] {
            let draws: Vec<Duration> = (0..500)
                .map(|_| backoff.delay(attempt, None, &mut rng).unwrap())
                .collect();
            let top = draws.iter().max().unwrap();
            assert!(*top <= ms(ceiling), "attempt {attempt}: {top:?}");
            assert!(
                *top >= ms(ceiling * 9 / 10),
                "attempt {attempt} never neared its ceiling"
            );
            assert!(
                draws.iter().min().unwrap() <= &ms(ceiling / 10),
                "jitter reaches down to zero"
            );
        }
    }

    #[test]
    fn deterministic_for_a_seed() {
        let backoff = Backoff::default();
        let run = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (1..4)
                .map(|a| backoff.delay(a, None, &mut rng))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(42), run(42));
        assert_ne!(run(42), run(43));
    }

    #[test]
    fn server_hint_is_a_floor() {
        let backoff = Backoff {
            base: ms(500),
            ..Backoff::default()
        };
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..200 {
            let delay = backoff
                .delay(1, Some(Duration::from_secs(30)), &mut rng)
                .unwrap();
            assert!(
                delay >= Duration::from_secs(30) && delay <= ms(30_500),
                "{delay:?}"
            );
        }
    }

    #[test]
    fn gives_up_when_out_of_attempts_or_time() {
        let backoff = Backoff {
            max_attempts: 3,
            max_wait: Duration::from_mins(1),
            ..Backoff::default()
        };
        let mut rng = StdRng::seed_from_u64(1);
        assert!(backoff.delay(2, None, &mut rng).is_some());
        assert_eq!(backoff.delay(3, None, &mut rng), None);
        assert_eq!(backoff.delay(0, None, &mut rng), None);
        assert_eq!(
            backoff.delay(1, Some(Duration::from_hours(1)), &mut rng),
            None
        );
    }

    #[test]
    fn huge_attempt_numbers_do_not_overflow() {
        let backoff = Backoff {
            max_attempts: u32::MAX,
            ..Backoff::default()
        };
        let mut rng = StdRng::seed_from_u64(3);
        assert!(backoff.delay(200, None, &mut rng).unwrap() <= backoff.cap);
    }

    #[test]
    fn start_jitter_is_bounded() {
        let mut rng = StdRng::seed_from_u64(5);
        assert!(
            (0..100)
                .all(|_| start_jitter(Duration::from_mins(2), &mut rng) <= Duration::from_mins(2))
        );
        assert_eq!(start_jitter(Duration::ZERO, &mut rng), Duration::ZERO);
    }
}
