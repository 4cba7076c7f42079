//! Pipeline statistics: one [`Counter`] per figure, each written by exactly one stage
//! (named by its prefix) and read by telemetry for progress lines, metrics and the final
//! report. Shared as `Arc<PipelineStats>`; no locks.

use crate::feed::decode::DecodeError;
use crate::feed::health::FeedHealth;
use crate::gateway::risk::{REJECT_REASON_COUNT, RejectReason};
use crate::runtime::{Counter, RunReport};

/// The report name of each `feed_malformed_kinds` counter: `feed.malformed.<kind>`
/// ([`DecodeError::KIND_NAMES`]).
pub const MALFORMED_KIND_KEYS: [&str; DecodeError::KIND_COUNT] = [
    "feed.malformed.json",
    "feed.malformed.decimal",
    "feed.malformed.missing_field",
    "feed.malformed.unknown_symbol",
    "feed.malformed.too_many_events",
    "feed.malformed.venue_error",
    "feed.malformed.too_deep",
    "feed.malformed.too_large",
    "feed.malformed.bad_level",
    "feed.malformed.crossed",
    "feed.malformed.duplicate_key",
];

/// Every counter of the pipeline.
#[derive(Debug, Default)]
pub struct PipelineStats {
    /// Feed: WebSocket data frames received.
    pub feed_frames: Counter,
    /// Feed: market events decoded and pushed to the book stage.
    pub feed_events: Counter,
    /// Feed: frames that failed to decode (counted and logged, never a panic).
    pub feed_malformed: Counter,
    /// Feed: the same frames per kind of failure (in [`DecodeError::kind`] order).
    pub feed_malformed_kinds: [Counter; DecodeError::KIND_COUNT],
    /// Feed: well-formed messages of a type the decoder does not handle (skipped).
    pub feed_unknown: Counter,
    /// Feed: poll rounds in which the book ring was full (backpressure, nothing lost).
    pub feed_ring_full: Counter,
    /// Feed: latency samples dropped because the telemetry ring was full.
    pub feed_samples_dropped: Counter,
    /// Feed: resyncs carried out (REST snapshot requests or resubscriptions).
    pub feed_resyncs: Counter,
    /// Feed: REST snapshots decoded.
    pub feed_snapshots: Counter,
    /// Feed: open connections lost (closed, silent, missed pong, oversized, errors).
    pub feed_disconnects: Counter,
    /// Feed: connections opened again after a loss.
    pub feed_reconnects: Counter,
    /// Feed: times a connection turned stale (venue delay above `stale_after`).
    pub feed_stale: Counter,
    /// Feed: times an instrument's stream turned stale by silence (no frame for longer
    /// than its learned limit, [`crate::feed::silence`]).
    pub feed_silent: Counter,
    /// Feed: per-connection and per-instrument health (the book stage writes the book
    /// flags).
    pub health: FeedHealth,
    /// Book: events applied.
    pub book_events: Counter,
    /// Book: top-of-book updates published to the edge stage.
    pub book_updates: Counter,
    /// Book: of those, the updates of a valid book (none: no book ever became valid).
    pub book_valid_updates: Counter,
    /// Book: depth diffs whose update ids did not link to the previous one.
    pub book_sequence_gaps: Counter,
    /// Book: venue checksums that did not match the book (OKX).
    pub book_checksum_mismatches: Counter,
    /// Book: books forgotten because their connection was lost.
    pub book_resets: Counter,
    /// Book: resync requests the feed stage's ring had no room for.
    pub book_resync_requests_dropped: Counter,
    /// Book: latency samples dropped.
    pub book_samples_dropped: Counter,
    /// Edge: invalid-book notices that took an instrument out of its pairs (a gap or
    /// mismatch, a lost connection, or a stale feed).
    pub edge_suppressed_invalid: Counter,
    /// Edge: ticks evaluated (a top-of-book change of a leg, both legs known).
    pub edge_ticks: Counter,
    /// Edge: opportunities at or above the tracker threshold.
    pub edge_opportunities: Counter,
    /// Edge: opportunities that also met the trading threshold.
    pub edge_would_trade: Counter,
    /// Edge: opportunity records dropped because the telemetry ring was full.
    pub edge_records_dropped: Counter,
    /// Edge: latency samples dropped.
    pub edge_samples_dropped: Counter,
    /// Edge: cross-venue spread candidates evaluated (gross spread above zero).
    pub edge_spread_candidates: Counter,
    /// Edge: spread candidates accepted.
    pub edge_spread_accepted: Counter,
    /// Edge: spread records dropped because the telemetry ring was full.
    pub edge_spread_records_dropped: Counter,
    /// Edge: order intents pushed to the gateway.
    pub edge_intents: Counter,
    /// Edge: order intents dropped because the gateway ring was full.
    pub edge_intents_dropped: Counter,
    /// Edge: basis ticks that would trade an opportunity already proposed (same pair and
    /// direction, its intent not yet expired): no second intent is sent for them.
    pub edge_intents_repeated: Counter,
    /// Book: poll rounds in which the gateway's market ring was full (backpressure).
    pub book_gateway_ring_full: Counter,
    /// Gateway: market events fed to the paper venue.
    pub gateway_market_events: Counter,
    /// Gateway: intents received.
    pub gateway_intents: Counter,
    /// Gateway: intents accepted (an entry order was sent).
    pub gateway_accepted: Counter,
    /// Gateway: intents refused, per reason (in [`RejectReason::ALL`] order).
    pub gateway_rejections: [Counter; REJECT_REASON_COUNT],
    /// Gateway: orders sent to the paper venue.
    pub gateway_orders: Counter,
    /// Gateway: fills.
    pub gateway_fills: Counter,
    /// Gateway: leg-outs (a leg hedged at market).
    pub gateway_leg_outs: Counter,
    /// Gateway: trades closed.
    pub gateway_trades_closed: Counter,
    /// Gateway: trades abandoned (hard leg unfilled, nothing open).
    pub gateway_trades_abandoned: Counter,
    /// Gateway: records lost because the gateway's outbox overflowed.
    pub gateway_records_dropped: Counter,
    /// Gateway: portfolio snapshots skipped because the telemetry ring was full.
    pub gateway_snapshots_skipped: Counter,
    /// Gateway: latency samples dropped because the telemetry ring was full.
    pub gateway_samples_dropped: Counter,
}

impl PipelineStats {
    /// Counters at zero with health tracking for `health`'s connections and instruments.
    pub fn with_health(health: FeedHealth) -> Self {
        Self {
            health,
            ..Self::default()
        }
    }

    /// All telemetry drops (samples and records) across stages.
    pub fn drops(&self) -> u64 {
        self.samples_dropped() + self.records_dropped()
    }

    /// Latency samples dropped by every stage (the histograms miss them; no row is lost).
    pub fn samples_dropped(&self) -> u64 {
        self.feed_samples_dropped.get()
            + self.book_samples_dropped.get()
            + self.edge_samples_dropped.get()
            + self.gateway_samples_dropped.get()
    }

    /// Records of every kind dropped before telemetry took them (the writer fell behind,
    /// or the gateway's outbox overflowed): each was to be a database row, so each is a
    /// lost row.
    pub fn records_dropped(&self) -> u64 {
        self.edge_records_dropped.get()
            + self.edge_spread_records_dropped.get()
            + self.gateway_records_dropped.get()
            + self.gateway_snapshots_skipped.get()
    }

    /// Every counter with its report name (`stage.name`), in a fixed order.
    pub fn named(&self) -> Vec<(&'static str, &Counter)> {
        [
            ("feed.frames", &self.feed_frames),
            ("feed.events", &self.feed_events),
            ("feed.malformed", &self.feed_malformed),
            ("feed.unknown", &self.feed_unknown),
            ("feed.ring_full", &self.feed_ring_full),
            ("feed.samples_dropped", &self.feed_samples_dropped),
            ("feed.resyncs", &self.feed_resyncs),
            ("feed.snapshots", &self.feed_snapshots),
            ("feed.disconnects", &self.feed_disconnects),
            ("feed.reconnects", &self.feed_reconnects),
            ("feed.stale", &self.feed_stale),
            ("feed.silent", &self.feed_silent),
            ("book.events", &self.book_events),
            ("book.updates", &self.book_updates),
            ("book.valid_updates", &self.book_valid_updates),
            ("book.sequence_gaps", &self.book_sequence_gaps),
            ("book.checksum_mismatches", &self.book_checksum_mismatches),
            ("book.resets", &self.book_resets),
            (
                "book.resync_requests_dropped",
                &self.book_resync_requests_dropped,
            ),
            ("book.samples_dropped", &self.book_samples_dropped),
            ("edge.suppressed_invalid", &self.edge_suppressed_invalid),
            ("edge.ticks", &self.edge_ticks),
            ("edge.opportunities", &self.edge_opportunities),
            ("edge.would_trade", &self.edge_would_trade),
            ("edge.records_dropped", &self.edge_records_dropped),
            ("edge.samples_dropped", &self.edge_samples_dropped),
            ("edge.spread_candidates", &self.edge_spread_candidates),
            ("edge.spread_accepted", &self.edge_spread_accepted),
            (
                "edge.spread_records_dropped",
                &self.edge_spread_records_dropped,
            ),
            ("edge.intents", &self.edge_intents),
            ("edge.intents_dropped", &self.edge_intents_dropped),
            ("edge.intents_repeated", &self.edge_intents_repeated),
            ("book.gateway_ring_full", &self.book_gateway_ring_full),
            ("gateway.market_events", &self.gateway_market_events),
            ("gateway.intents", &self.gateway_intents),
            ("gateway.accepted", &self.gateway_accepted),
            ("gateway.orders", &self.gateway_orders),
            ("gateway.fills", &self.gateway_fills),
            ("gateway.leg_outs", &self.gateway_leg_outs),
            ("gateway.trades_closed", &self.gateway_trades_closed),
            ("gateway.trades_abandoned", &self.gateway_trades_abandoned),
            ("gateway.records_dropped", &self.gateway_records_dropped),
            ("gateway.snapshots_skipped", &self.gateway_snapshots_skipped),
            ("gateway.samples_dropped", &self.gateway_samples_dropped),
        ]
        .into_iter()
        .chain(
            MALFORMED_KIND_KEYS
                .into_iter()
                .zip(&self.feed_malformed_kinds),
        )
        .chain(
            RejectReason::ALL
                .iter()
                .map(|r| (r.report_key(), &self.gateway_rejections[r.index()])),
        )
        .collect()
    }

    /// Counts one malformed frame: in the total and under its kind.
    pub fn count_malformed(&self, error: DecodeError) {
        self.feed_malformed.incr();
        self.feed_malformed_kinds[error.kind()].incr();
    }

    /// Copies every counter into the run report.
    pub fn fill_report(&self, report: &mut RunReport) {
        for (name, counter) in self.named() {
            report.set(name, counter.get());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_malformed_counted_in_total_and_by_kind() {
        let stats = PipelineStats::default();
        stats.count_malformed(DecodeError::TooDeep);
        stats.count_malformed(DecodeError::Json);
        stats.count_malformed(DecodeError::TooDeep);
        let named = stats.named();
        let get = |key: &str| named.iter().find(|(k, _)| *k == key).map(|(_, c)| c.get());
        assert_eq!(get("feed.malformed"), Some(3));
        assert_eq!(get("feed.malformed.too_deep"), Some(2));
        assert_eq!(get("feed.malformed.json"), Some(1));
        assert_eq!(get("feed.malformed.too_large"), Some(0));
        for (key, name) in MALFORMED_KIND_KEYS.iter().zip(DecodeError::KIND_NAMES) {
            assert_eq!(*key, format!("feed.malformed.{name}"));
        }
    }
}
