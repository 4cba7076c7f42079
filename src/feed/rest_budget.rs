//! Request pacing for the venues' public REST endpoints (the snapshot fetcher's books):
//! one budget per rate-limited scope (an IP's request weight on one Binance host, OKX's
//! per-IP count on its order-book endpoint), charged what each request costs, so a burst
//! of resyncs across many instruments is spread out instead of tripping the venue's
//! 429 and, repeated, its 418 ban.
//!
//! A budget is a token bucket: `limit` units per `window`, full at start, refilled
//! continuously; a request waits until the bucket holds its cost. The fetcher runs at
//! [`SELF_THROTTLE_PERCENT`] of the documented limit, leaving room for the venue's own
//! rounding and for other clients on the same IP. A venue's `429`/`418` with
//! `Retry-After` closes the whole budget for that long ([`Budget::hold_off`]): the
//! venue counts per IP, so every instrument on that host waits, not only the one that
//! was refused.
//!
//! Exact integer arithmetic (units × nanoseconds), no allocation. Owned and used by the
//! `snapshot-fetch` thread only (cold path); it may not touch the feed stage's state.

use std::time::{Duration, Instant};

/// Share of a venue's documented limit the fetcher allows itself, percent.
pub const SELF_THROTTLE_PERCENT: u32 = 80;

/// A documented limit: `limit` units (request weight or requests) per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Units allowed per window.
    pub limit: u32,
    /// The window.
    pub window: Duration,
}

/// One rate-limited scope's token bucket.
#[derive(Debug, Clone)]
pub struct Budget {
    /// Tokens × window nanoseconds (so refills stay exact integers).
    scaled: u128,
    /// Bucket size in the same units.
    capacity: u128,
    /// Units allowed per window after self-throttling.
    per_window: u128,
    window_ns: u128,
    refilled_at: Instant,
    /// No request before this instant (a venue's `Retry-After`).
    closed_until: Option<Instant>,
}

impl Budget {
    /// A full budget of `SELF_THROTTLE_PERCENT` of `limit`, at least one unit.
    pub fn new(limit: Limit, now: Instant) -> Self {
        let per_window = (u128::from(limit.limit) * u128::from(SELF_THROTTLE_PERCENT) / 100).max(1);
        let window_ns = limit.window.as_nanos().max(1);
        let capacity = per_window * window_ns;
        Self {
            scaled: capacity,
            capacity,
            per_window,
            window_ns,
            refilled_at: now,
            closed_until: None,
        }
    }

    /// Adds what accrued since the last refill (nothing before the end of a hold,
    /// which starts the bucket refilling from empty).
    fn refill(&mut self, now: Instant) {
        if now <= self.refilled_at {
            return;
        }
        let elapsed = now.saturating_duration_since(self.refilled_at).as_nanos();
        self.scaled = (self.scaled + elapsed * self.per_window).min(self.capacity);
        self.refilled_at = now;
    }

    /// How long a request of `cost` units must wait from `now` (zero: it may go). A
    /// cost above the whole budget is capped to it, so it waits for a full bucket
    /// rather than forever.
    pub fn wait(&mut self, cost: u32, now: Instant) -> Duration {
        self.refill(now);
        if let Some(until) = self.closed_until {
            if until > now {
                return until - now;
            }
            self.closed_until = None;
        }
        let need = (u128::from(cost) * self.window_ns).min(self.capacity);
        if self.scaled >= need {
            return Duration::ZERO;
        }
        let missing_ns = (need - self.scaled).div_ceil(self.per_window);
        Duration::from_nanos(u64::try_from(missing_ns).unwrap_or(u64::MAX))
    }

    /// Charges a request of `cost` units sent at `now` (after [`Budget::wait`] said
    /// zero).
    pub fn charge(&mut self, cost: u32, now: Instant) {
        self.refill(now);
        let need = (u128::from(cost) * self.window_ns).min(self.capacity);
        self.scaled = self.scaled.saturating_sub(need);
    }

    /// Closes the budget until `now + retry_after` and empties it (the venue said it
    /// counts us over its limit).
    pub fn hold_off(&mut self, retry_after: Duration, now: Instant) {
        let until = now + retry_after;
        self.closed_until = Some(self.closed_until.map_or(until, |u| u.max(until)));
        self.scaled = 0;
        self.refilled_at = until;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn test_okx_books_pace_32_requests_per_2_s_after_the_first_burst() {
        // OKX: 40 requests per 2 s; 80% is 32 per 2 s, one every 62.5 ms once spent.
        let t0 = Instant::now();
        let mut b = Budget::new(
            Limit {
                limit: 40,
                window: Duration::from_secs(2),
            },
            t0,
        );
        for _ in 0..32 {
            assert_eq!(b.wait(1, t0), Duration::ZERO);
            b.charge(1, t0);
        }
        assert_eq!(b.wait(1, t0), Duration::from_micros(62_500));
        let t1 = t0 + Duration::from_micros(62_500);
        assert_eq!(b.wait(1, t1), Duration::ZERO);
        b.charge(1, t1);
        assert!(b.wait(1, t1) > 60 * MS);
    }

    #[test]
    fn test_binance_usdm_weight_20_snapshots_at_1920_per_minute() {
        // USD-M: 2400 weight per minute; 80% is 1920: 96 depth(limit=1000) snapshots of
        // weight 20 at once, then one every 625 ms.
        let t0 = Instant::now();
        let mut b = Budget::new(
            Limit {
                limit: 2400,
                window: Duration::from_secs(60),
            },
            t0,
        );
        let mut sent = 0;
        while b.wait(20, t0).is_zero() {
            b.charge(20, t0);
            sent += 1;
        }
        assert_eq!(sent, 96);
        assert_eq!(b.wait(20, t0), 625 * MS);
    }

    #[test]
    fn test_retry_after_closes_the_budget_for_every_request_then_refills_from_empty() {
        let t0 = Instant::now();
        let mut b = Budget::new(
            Limit {
                limit: 6000,
                window: Duration::from_secs(60),
            },
            t0,
        );
        b.hold_off(Duration::from_secs(3), t0);
        assert_eq!(b.wait(1, t0), Duration::from_secs(3));
        assert_eq!(
            b.wait(1, t0 + Duration::from_secs(2)),
            Duration::from_secs(1)
        );
        // At the end of the hold the bucket is empty: weight 50 needs 50/4800 of a minute.
        let t3 = t0 + Duration::from_secs(3);
        assert_eq!(b.wait(50, t3), Duration::from_millis(625));
        // A shorter later hold does not shorten a longer one.
        b.hold_off(Duration::from_secs(10), t3);
        b.hold_off(Duration::from_secs(1), t3);
        assert_eq!(b.wait(1, t3), Duration::from_secs(10));
    }

    #[test]
    fn test_a_cost_above_the_budget_waits_for_a_full_bucket_not_forever() {
        let t0 = Instant::now();
        let mut b = Budget::new(
            Limit {
                limit: 10,
                window: Duration::from_secs(1),
            },
            t0,
        );
        assert_eq!(b.wait(250, t0), Duration::ZERO);
        b.charge(250, t0);
        assert_eq!(b.wait(250, t0), Duration::from_secs(1));
    }
}
