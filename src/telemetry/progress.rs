//! Progress lines: one line on stdout per interval while a run is live, plus warnings
//! when data-quality counters grew during the interval.
//!
//! Owned by the telemetry thread (cold path; formats one `String` per interval). Reads
//! the pipeline counters, never writes them. Time comes from
//! [`crate::runtime::clock::monotonic_now`], passed in by the caller.

use std::time::{Duration, Instant};

use crate::stats::PipelineStats;
use crate::telemetry::histograms::ns_to_us;

/// The counters one progress line compares with the previous one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    /// `feed_frames`.
    pub frames: u64,
    /// `feed_malformed`.
    pub malformed: u64,
    /// `book_sequence_gaps`.
    pub sequence_gaps: u64,
    /// `drops()`: telemetry samples and records dropped by the hot path.
    pub drops: u64,
    /// `edge_opportunities`.
    pub opportunities: u64,
    /// `edge_would_trade`.
    pub would_trade: u64,
}

impl CounterSnapshot {
    /// Reads the counters now.
    pub fn read(stats: &PipelineStats) -> Self {
        Self {
            frames: stats.feed_frames.get(),
            malformed: stats.feed_malformed.get(),
            sequence_gaps: stats.book_sequence_gaps.get(),
            drops: stats.drops(),
            opportunities: stats.edge_opportunities.get(),
            would_trade: stats.edge_would_trade.get(),
        }
    }
}

/// Paces progress lines and remembers the previous counters.
#[derive(Debug)]
pub struct Progress {
    interval: Duration,
    started: Instant,
    last_at: Instant,
    last: CounterSnapshot,
}

impl Progress {
    /// Starts pacing at `now` with the counters as they are; `interval` must be non-zero
    /// (a zero interval is raised to 1 ms).
    pub fn new(interval: Duration, now: Instant, stats: &PipelineStats) -> Self {
        Self {
            interval: interval.max(Duration::from_millis(1)),
            started: now,
            last_at: now,
            last: CounterSnapshot::read(stats),
        }
    }

    /// Whether a line is due at `now`.
    pub fn is_due(&self, now: Instant) -> bool {
        now.duration_since(self.last_at) >= self.interval
    }

    /// Builds the line for the interval ending at `now`, logs warnings for counters that
    /// grew, and starts the next interval. `p99_ns` is the interval p99 of
    /// ingress→decision (`None` when nothing was recorded).
    pub fn advance(&mut self, now: Instant, stats: &PipelineStats, p99_ns: Option<u64>) -> String {
        let current = CounterSnapshot::read(stats);
        let secs = now.duration_since(self.last_at).as_secs_f64();
        warn_on_growth(&self.last, &current, secs);
        let line = format_line(
            now.duration_since(self.started),
            per_second(current.frames.saturating_sub(self.last.frames), secs),
            &current,
            p99_ns,
        );
        self.last = current;
        self.last_at = now;
        line
    }
}

#[allow(clippy::cast_precision_loss)] // a rate for humans
fn per_second(delta: u64, secs: f64) -> f64 {
    if secs > 0.0 { delta as f64 / secs } else { 0.0 }
}

/// Formats one progress line, for example
/// `[   5s]   2012 msg/s | opportunities 12 (4 would trade) | drops 0 | ingress→decision p99 3.1 µs`.
pub fn format_line(
    elapsed: Duration,
    frames_per_s: f64,
    counters: &CounterSnapshot,
    p99_ns: Option<u64>,
) -> String {
    let p99 = match p99_ns {
        Some(ns) => format!("{:.1} µs", ns_to_us(ns)),
        None => "-".to_owned(),
    };
    format!(
        "[{:>4}s] {:>6.0} msg/s | opportunities {} ({} would trade) | drops {} | ingress→decision p99 {}",
        elapsed.as_secs(),
        frames_per_s,
        counters.opportunities,
        counters.would_trade,
        counters.drops,
        p99
    )
}

fn warn_on_growth(before: &CounterSnapshot, after: &CounterSnapshot, secs: f64) {
    let grew = [
        ("feed: malformed frames", before.malformed, after.malformed),
        (
            "book: sequence gaps",
            before.sequence_gaps,
            after.sequence_gaps,
        ),
        ("telemetry: hot-path drops", before.drops, after.drops),
    ];
    for (what, was, is) in grew {
        if is > was {
            log::warn!("{what}: +{} in the last {secs:.1} s ({is} total)", is - was);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_progress_line_format() {
        let counters = CounterSnapshot {
            opportunities: 12,
            would_trade: 4,
            ..CounterSnapshot::default()
        };
        let line = format_line(Duration::from_secs(5), 2012.0, &counters, Some(3_100));
        assert_eq!(
            line,
            "[   5s]   2012 msg/s | opportunities 12 (4 would trade) | drops 0 | \
             ingress→decision p99 3.1 µs"
        );
        let empty = format_line(Duration::ZERO, 0.0, &counters, None);
        assert!(empty.ends_with("p99 -"), "{empty}");
    }

    #[test]
    fn test_progress_rate_from_counter_delta() {
        let stats = PipelineStats::default();
        let t0 = crate::runtime::clock::monotonic_now();
        let mut progress = Progress::new(Duration::from_secs(1), t0, &stats);
        assert!(!progress.is_due(t0));
        stats.feed_frames.add(3_000);
        stats.edge_samples_dropped.add(2);
        let t1 = t0 + Duration::from_secs(2);
        assert!(progress.is_due(t1));
        let line = progress.advance(t1, &stats, None);
        assert!(line.starts_with("[   2s]   1500 msg/s"), "{line}");
        assert!(line.contains("drops 2"), "{line}");
        assert!(!progress.is_due(t1));
    }
}
