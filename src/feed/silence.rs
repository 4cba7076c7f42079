//! Per-stream silence: how long an instrument's stream may go without a frame before its
//! book is stale, learned from what the stream normally sends.
//!
//! A connection that stops sending stays open until the transport's `silence_timeout`
//! (tens of seconds) gives up on it; meanwhile its books are frozen. Each instrument's
//! stream (every frame of the connection naming it: top of book, depth, trades) keeps a
//! running mean of its inter-arrival gaps; it is silent when the time since its last frame
//! exceeds [`GAP_MULTIPLE`] times that mean, held between the venue's floor and ceiling
//! ([`SilenceLimits`]; the ceiling alone until [`LEARN_FRAMES`] gaps were seen). A
//! bookTicker stream that sends every few ms is stale after the floor (a few hundred
//! ms); a quiet market that updates once a second, after 20 s at most (the ceiling).
//! Gaps above the limit are learned as the limit, so a stall does not teach the stream
//! to be slow.
//!
//! Owned by the feed stage (hot-path thread): [`StreamWatch::on_frame`] is a few
//! integer operations per frame, in quanta raw ticks; the check runs once per tick.
//! Touches nothing but its own fields.

use std::time::Duration;

/// The silence limit is this many mean gaps.
pub const GAP_MULTIPLE: u64 = 20;
/// Gaps seen before the learned mean is trusted (until then the ceiling applies).
pub const LEARN_FRAMES: u32 = 16;
/// Weight of a new gap in the running mean: 1/2^`MEAN_SHIFT`.
const MEAN_SHIFT: u32 = 4;

/// Default floor of the silence limit.
pub const FLOOR_DEFAULT: Duration = Duration::from_millis(500);
/// Default ceiling of the silence limit.
pub const CEILING_DEFAULT: Duration = Duration::from_secs(10);

/// A venue's bounds of the silence limit (`[[venues]] silence_floor_ms`,
/// `silence_ceiling_ms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SilenceBounds {
    /// The limit is never below this.
    pub floor: Duration,
    /// The limit is never above this.
    pub ceiling: Duration,
}

impl Default for SilenceBounds {
    fn default() -> Self {
        Self {
            floor: FLOOR_DEFAULT,
            ceiling: CEILING_DEFAULT,
        }
    }
}

impl SilenceBounds {
    /// The bounds in `clock`'s raw ticks.
    pub fn limits(&self, clock: &crate::runtime::Clock) -> SilenceLimits {
        SilenceLimits {
            floor_raw: clock.raw_ticks_for(self.floor),
            ceiling_raw: clock.raw_ticks_for(self.ceiling),
        }
    }
}

/// A venue's bounds of the silence limit, in the clock's raw ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SilenceLimits {
    /// The limit is never below this.
    pub floor_raw: u64,
    /// The limit is never above this (and is this while the stream is learned).
    pub ceiling_raw: u64,
}

/// One instrument's stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamWatch {
    /// Raw time of its last frame (0: none on this connection yet).
    last_raw: u64,
    /// Running mean of its gaps, raw ticks.
    mean_gap_raw: u64,
    /// Gaps learned (saturating).
    gaps: u32,
    /// Whether it was found silent at the last check.
    pub silent: bool,
}

impl StreamWatch {
    /// A frame of the stream arrived at `now_raw`.
    #[inline]
    pub fn on_frame(&mut self, now_raw: u64, limits: SilenceLimits) {
        if self.last_raw != 0 {
            let gap = now_raw
                .saturating_sub(self.last_raw)
                .min(self.limit_raw(limits));
            self.mean_gap_raw = if self.gaps == 0 {
                gap
            } else {
                self.mean_gap_raw - (self.mean_gap_raw >> MEAN_SHIFT) + (gap >> MEAN_SHIFT)
            };
            self.gaps = self.gaps.saturating_add(1);
        }
        self.last_raw = now_raw;
    }

    /// How long the stream may stay silent, raw ticks.
    pub fn limit_raw(&self, limits: SilenceLimits) -> u64 {
        if self.gaps < LEARN_FRAMES {
            return limits.ceiling_raw;
        }
        self.mean_gap_raw
            .saturating_mul(GAP_MULTIPLE)
            .clamp(limits.floor_raw, limits.ceiling_raw.max(limits.floor_raw))
    }

    /// Whether the stream has sent nothing for longer than its limit at `now_raw` (never
    /// before its first frame).
    pub fn is_silent(&self, now_raw: u64, limits: SilenceLimits) -> bool {
        self.last_raw != 0 && now_raw.saturating_sub(self.last_raw) > self.limit_raw(limits)
    }

    /// The connection was lost: wait for the new one's first frame (what was learned of
    /// the stream's rhythm is kept).
    pub fn forget_last(&mut self) {
        self.last_raw = 0;
        self.silent = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: SilenceLimits = SilenceLimits {
        floor_raw: 300,
        ceiling_raw: 10_000,
    };

    fn every(gap: u64, frames: u64) -> StreamWatch {
        let mut w = StreamWatch::default();
        for i in 1..=frames {
            w.on_frame(i * gap, LIMITS);
        }
        w
    }

    #[test]
    fn test_stream_watch_learns_the_gap_within_floor_and_ceiling() {
        // A fast stream: 20 gaps of 5 is 100, held at the floor.
        let fast = every(5, 100);
        assert_eq!(fast.limit_raw(LIMITS), 300);
        assert!(!fast.is_silent(500 + 300, LIMITS));
        assert!(fast.is_silent(500 + 301, LIMITS));
        // A stream sending every 100: 20 gaps is 2,000.
        let slow = every(100, 100);
        assert_eq!(slow.limit_raw(LIMITS), 2_000);
        // A very slow one: at the ceiling.
        assert_eq!(every(1_000, 100).limit_raw(LIMITS), 10_000);
    }

    #[test]
    fn test_stream_watch_ceiling_until_learned_and_never_before_a_frame() {
        let w = every(5, u64::from(LEARN_FRAMES));
        assert_eq!(w.limit_raw(LIMITS), 10_000);
        assert!(!StreamWatch::default().is_silent(u64::MAX, LIMITS));
        let mut w = every(5, 100);
        w.forget_last();
        assert!(!w.is_silent(1_000_000, LIMITS));
        assert_eq!(w.limit_raw(LIMITS), 300, "the rhythm is kept");
    }

    #[test]
    fn test_stream_watch_a_stall_does_not_teach_slowness() {
        let mut w = every(5, 100);
        w.on_frame(500 + 1_000_000, LIMITS);
        assert!(w.limit_raw(LIMITS) < 1_000, "{}", w.limit_raw(LIMITS));
    }
}
