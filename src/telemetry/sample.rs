//! Latency samples: how the hot path hands its timings to the telemetry sidecar.
//!
//! A stage reads the clock (quanta raw) at its boundaries and pushes a small `Copy`
//! [`LatencySample`] into its own SPSC ring; the sidecar converts ticks to nanoseconds
//! and records them into HDR histograms. When the ring is full the sample is dropped and
//! counted: telemetry never slows the hot path. No allocation after construction.

use std::sync::Arc;

use crate::runtime::Counter;
use crate::stats::PipelineStats;
use crate::types::Venue;

/// Which histogram a sample belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// Feed stage: frame read from the socket to its events pushed (decode included).
    Feed,
    /// Book stage: event popped to book updated and update published.
    Book,
    /// Edge stage: book update popped to decision made.
    Edge,
    /// End to end: frame read from the socket (ingress) to the edge decision.
    IngressToDecision,
    /// Gateway stage: intent popped to its entry order sent (risk, sizing, order build).
    Gateway,
    /// End to end: ingress of the frame that triggered an intent to its entry order sent.
    IngressToOrder,
    /// Venue to us: the venue's event time to our receive time (wall clocks; includes
    /// any skew between the venue's clock and ours).
    VenueDelay(Venue),
}

impl Metric {
    /// Every metric, in histogram order.
    pub const ALL: [Metric; 10] = [
        Metric::Feed,
        Metric::Book,
        Metric::Edge,
        Metric::IngressToDecision,
        Metric::Gateway,
        Metric::IngressToOrder,
        Metric::VenueDelay(Venue::Binance),
        Metric::VenueDelay(Venue::Bybit),
        Metric::VenueDelay(Venue::Okx),
        Metric::VenueDelay(Venue::Hyperliquid),
    ];

    /// Histogram and file name.
    pub const fn name(self) -> &'static str {
        match self {
            Metric::Feed => "feed",
            Metric::Book => "book",
            Metric::Edge => "edge",
            Metric::IngressToDecision => "ingress_to_decision",
            Metric::Gateway => "gateway",
            Metric::IngressToOrder => "ingress_to_order",
            Metric::VenueDelay(Venue::Binance) => "venue_delay_binance",
            Metric::VenueDelay(Venue::Bybit) => "venue_delay_bybit",
            Metric::VenueDelay(Venue::Okx) => "venue_delay_okx",
            Metric::VenueDelay(Venue::Hyperliquid) => "venue_delay_hyperliquid",
        }
    }
}

/// One timing, in raw clock ticks; for [`Metric::VenueDelay`], `start_raw` holds the
/// venue's event time in unix milliseconds instead (the sidecar converts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatencySample {
    /// Which histogram.
    pub metric: Metric,
    /// Raw ticks at the start.
    pub start_raw: u64,
    /// Raw ticks at the end.
    pub end_raw: u64,
}

/// The producing end of a stage's sample ring, with its drop counter.
pub struct SampleSink {
    ring: rtrb::Producer<LatencySample>,
    stats: Arc<PipelineStats>,
    dropped: fn(&PipelineStats) -> &Counter,
}

impl SampleSink {
    /// Wraps a ring producer; `dropped` picks the stage's own drop counter in `stats`.
    pub fn new(
        ring: rtrb::Producer<LatencySample>,
        stats: Arc<PipelineStats>,
        dropped: fn(&PipelineStats) -> &Counter,
    ) -> Self {
        Self {
            ring,
            stats,
            dropped,
        }
    }

    /// Records a timing, or counts a drop if the sidecar is behind. Never blocks.
    #[inline]
    pub fn record(&mut self, metric: Metric, start_raw: u64, end_raw: u64) {
        let sample = LatencySample {
            metric,
            start_raw,
            end_raw,
        };
        if self.ring.push(sample).is_err() {
            (self.dropped)(&self.stats).incr();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_sink_counts_drops_when_full() {
        let (tx, mut rx) = rtrb::RingBuffer::new(1);
        let stats = Arc::new(PipelineStats::default());
        let mut sink = SampleSink::new(tx, Arc::clone(&stats), |s| &s.feed_samples_dropped);
        sink.record(Metric::Feed, 1, 2);
        sink.record(Metric::Feed, 3, 4);
        assert_eq!(stats.feed_samples_dropped.get(), 1);
        assert_eq!(rx.pop().unwrap().end_raw, 2);
    }
}
