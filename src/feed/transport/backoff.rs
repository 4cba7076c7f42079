//! Reconnect delays: exponential backoff with "equal jitter".
//!
//! Attempt `n` (from 0) waits a random time in `[cap/2, cap]`, where
//! `cap = min(max, base * 2^n)`: the delay doubles per failed attempt, never exceeds the
//! configured maximum, and connections that dropped together (a venue restart) do not
//! all come back in the same millisecond. Owned by one transport connection on the feed
//! thread; allocation-free. The generator is a SplitMix64 step, seeded per connection:
//! jitter needs spread, not cryptographic quality.

use std::time::Duration;

/// The backoff state of one connection.
#[derive(Debug, Clone)]
pub struct Backoff {
    base_ns: u64,
    max_ns: u64,
    attempt: u32,
    rng: u64,
}

/// Doublings after which the cap stays at its maximum (2^30 × 1 ms is 12 days).
const DOUBLINGS_MAX: u32 = 30;

impl Backoff {
    /// Backoff from `base` up to `max` (`max` is raised to `base` if lower); `seed`
    /// varies the jitter between connections.
    pub fn new(base: Duration, max: Duration, seed: u64) -> Self {
        let ns = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let base_ns = ns(base).max(1);
        Self {
            base_ns,
            max_ns: ns(max).max(base_ns),
            attempt: 0,
            rng: seed,
        }
    }

    /// The delay before the next attempt; each call counts one failed attempt.
    pub fn next_delay(&mut self) -> Duration {
        let doublings = self.attempt.min(DOUBLINGS_MAX);
        self.attempt = self.attempt.saturating_add(1);
        let cap = self
            .base_ns
            .saturating_mul(1u64 << doublings)
            .min(self.max_ns);
        let half = cap / 2;
        let jitter = self.next_u64() % (cap - half + 1);
        Duration::from_nanos(half + jitter)
    }

    /// Attempts counted since the last [`Backoff::reset`].
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// A connection came up: the next failure starts from `base` again.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    fn next_u64(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_backoff_doubles_within_jitter_and_caps() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(100), ms(1_000), 42);
        for cap in [100, 200, 400, 800, 1_000, 1_000] {
            let d = b.next_delay();
            assert!(d >= ms(cap / 2) && d <= ms(cap), "cap {cap} ms: {d:?}");
        }
        assert_eq!(b.attempts(), 6);
        b.reset();
        assert!(b.next_delay() <= ms(100));
    }

    #[test]
    fn test_backoff_jitter_spreads_connections() {
        let ms = Duration::from_millis;
        let delays: Vec<Duration> = (0..8)
            .map(|seed| Backoff::new(ms(1_000), ms(1_000), seed).next_delay())
            .collect();
        let first = delays[0];
        assert!(delays.iter().any(|d| *d != first), "{delays:?}");
    }

    #[test]
    fn test_backoff_huge_attempt_counts_saturate() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(60), 1);
        for _ in 0..100 {
            assert!(b.next_delay() <= Duration::from_secs(60));
        }
    }
}
