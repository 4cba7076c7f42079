//! The one seam through which time enters edgeline.
//!
//! Hot path: [`Clock::raw`] (quanta raw TSC ticks, ~10 ns, no syscall), read once per stage
//! boundary. Cold path: conversion of raw ticks to nanoseconds and to wall-clock time,
//! done in telemetry. [`Clock::mock`] gives tests a clock they drive by hand, so replays
//! and tests are deterministic. Nothing else in the crate reads the time.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A cheap-to-clone clock shared by every stage.
#[derive(Clone, Debug)]
pub struct Clock {
    inner: quanta::Clock,
    anchor_raw: u64,
    anchor_unix_ns: u64,
}

impl Clock {
    /// The calibrated TSC clock, anchored to the wall clock now.
    pub fn new() -> Self {
        Self::anchored(quanta::Clock::new())
    }

    /// A mock clock for tests, with the handle that moves it.
    pub fn mock() -> (Self, Arc<quanta::Mock>) {
        let (clock, mock) = quanta::Clock::mock();
        (Self::anchored(clock), mock)
    }

    /// A virtual clock for replays: raw ticks *are* unix nanoseconds, moved only through
    /// the handle (the replay sets it to each frame's recorded receive time), so every
    /// stage and record sees recorded time and two replays see the same times. The live
    /// clock's cost is unchanged: quanta dispatches on its clock kind either way.
    pub fn replayed() -> (Self, Arc<quanta::Mock>) {
        let (inner, mock) = quanta::Clock::mock();
        let clock = Self {
            inner,
            anchor_raw: 0,
            anchor_unix_ns: 0,
        };
        (clock, mock)
    }

    fn anchored(inner: quanta::Clock) -> Self {
        let anchor_raw = inner.raw();
        let anchor_unix_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        Self {
            inner,
            anchor_raw,
            anchor_unix_ns,
        }
    }

    /// Raw ticks: the hot path's only clock read.
    #[inline(always)]
    pub fn raw(&self) -> u64 {
        self.inner.raw()
    }

    /// Nanoseconds between two raw readings (0 if `end` precedes `start`).
    pub fn delta_ns(&self, start_raw: u64, end_raw: u64) -> u64 {
        if end_raw <= start_raw {
            return 0;
        }
        self.inner.delta_as_nanos(start_raw, end_raw)
    }

    /// Wall-clock time of a raw reading, unix nanoseconds (cold path).
    pub fn unix_ns(&self, raw: u64) -> u64 {
        if raw >= self.anchor_raw {
            self.anchor_unix_ns + self.delta_ns(self.anchor_raw, raw)
        } else {
            self.anchor_unix_ns
                .saturating_sub(self.delta_ns(raw, self.anchor_raw))
        }
    }

    /// Raw ticks spanning `duration` (cold path: computed once, for deadlines the hot
    /// path compares raw readings against), saturated.
    pub fn raw_ticks_for(&self, duration: Duration) -> u64 {
        const PROBE_TICKS: u64 = 1 << 40;
        let probe_ns = self
            .delta_ns(self.anchor_raw, self.anchor_raw.saturating_add(PROBE_TICKS))
            .max(1);
        let ticks = duration.as_nanos() * u128::from(PROBE_TICKS) / u128::from(probe_ns);
        u64::try_from(ticks).unwrap_or(u64::MAX)
    }

    /// Current wall-clock time, unix milliseconds (cold path).
    pub fn unix_ms_now(&self) -> u64 {
        self.unix_ns(self.raw()) / 1_000_000
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

/// Monotonic instant for cold-path pacing and deadlines (simulator, progress lines,
/// shutdown). Never used to measure the hot path.
pub fn monotonic_now() -> Instant {
    Instant::now()
}

/// Sleeps the current (cold-path) thread until `deadline`; returns at once if it passed.
pub fn sleep_until(deadline: Instant) {
    let now = Instant::now();
    if deadline > now {
        std::thread::sleep(deadline - now);
    }
}

/// Sleeps the current (cold-path) thread for `duration`.
pub fn sleep(duration: Duration) {
    std::thread::sleep(duration);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_clock_mock_delta() {
        let (clock, mock) = Clock::mock();
        let start = clock.raw();
        mock.increment(Duration::from_micros(3));
        let end = clock.raw();
        assert_eq!(clock.delta_ns(start, end), 3_000);
        assert_eq!(clock.delta_ns(end, start), 0);
        assert_eq!(clock.raw_ticks_for(Duration::from_secs(2)), 2_000_000_000);
    }

    #[test]
    fn test_clock_replayed_reads_unix_ns_set_by_the_handle() {
        let (clock, mock) = Clock::replayed();
        mock.increment(1_700_000_000_123_456_789u64);
        assert_eq!(clock.raw(), 1_700_000_000_123_456_789);
        assert_eq!(clock.unix_ns(clock.raw()), 1_700_000_000_123_456_789);
        assert_eq!(clock.unix_ms_now(), 1_700_000_000_123);
        assert_eq!(clock.raw_ticks_for(Duration::from_millis(2)), 2_000_000);
    }

    #[test]
    fn test_clock_wall_time_moves_forward() {
        let clock = Clock::new();
        let a = clock.unix_ns(clock.raw());
        let b = clock.unix_ns(clock.raw() + 1_000_000);
        assert!(b >= a);
        assert!(a > 1_600_000_000_000_000_000);
    }
}
