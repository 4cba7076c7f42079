//! The cross-venue spread records: one accepted opportunity with every size evaluated,
//! the per-reason counters of rejected candidates, and the record type carried to
//! telemetry.
//!
//! Built by the edge stage (allocation-free, `Copy`), carried to telemetry through an
//! SPSC ring, written to the `spread_opportunities` and `spread_rejections` tables.
//! Rejected candidates are never one row each: they are counted per reason and the
//! counts flushed periodically.

use crate::types::InstrumentId;
use crate::types::bps::Bps;
use crate::types::decimal::{Price, Qty};

/// Order sizes evaluated per candidate at most (the `[scanner] size_multiples` list).
pub const SIZES_MAX: usize = 8;

/// Why a candidate (or one of its sizes) was rejected. Hard constraints first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// One of the two books is invalid (awaiting resync).
    BookInvalid,
    /// One of the two venues' delay is above its `stale_after`.
    VenueStale,
    /// A perp pair whose funding rates are not both known yet.
    FundingUnknown,
    /// A perp pair whose funding delta is below the threshold.
    FundingDelta,
    /// Depth under twice the size on one of the books (or the ladder cannot fill it).
    InsufficientDepth,
    /// Constraints met, but the net edge is below the record threshold at every size.
    Unprofitable,
}

impl RejectReason {
    /// Every reason, in counter order.
    pub const ALL: [RejectReason; 6] = [
        RejectReason::BookInvalid,
        RejectReason::VenueStale,
        RejectReason::FundingUnknown,
        RejectReason::FundingDelta,
        RejectReason::InsufficientDepth,
        RejectReason::Unprofitable,
    ];

    /// Number of reasons.
    pub const COUNT: usize = Self::ALL.len();

    /// The counter index.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The run report's counter name.
    pub const fn report_key(self) -> &'static str {
        match self {
            RejectReason::BookInvalid => "scanner.rejected.book_invalid",
            RejectReason::VenueStale => "scanner.rejected.venue_stale",
            RejectReason::FundingUnknown => "scanner.rejected.funding_unknown",
            RejectReason::FundingDelta => "scanner.rejected.funding_delta",
            RejectReason::InsufficientDepth => "scanner.rejected.insufficient_depth",
            RejectReason::Unprofitable => "scanner.rejected.unprofitable",
        }
    }

    /// The database value.
    pub const fn as_str(self) -> &'static str {
        match self {
            RejectReason::BookInvalid => "BOOK_INVALID",
            RejectReason::VenueStale => "VENUE_STALE",
            RejectReason::FundingUnknown => "FUNDING_UNKNOWN",
            RejectReason::FundingDelta => "FUNDING_DELTA",
            RejectReason::InsufficientDepth => "INSUFFICIENT_DEPTH",
            RejectReason::Unprofitable => "UNPROFITABLE",
        }
    }
}

/// Counts of rejected candidates per reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RejectionCounts(pub [u64; RejectReason::COUNT]);

impl RejectionCounts {
    /// Adds one rejection.
    pub fn add(&mut self, reason: RejectReason) {
        self.0[reason.index()] += 1;
    }

    /// The count of one reason.
    pub fn get(&self, reason: RejectReason) -> u64 {
        self.0[reason.index()]
    }

    /// All rejections.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// The counts since `earlier` (a snapshot of the same counters).
    #[must_use]
    pub fn since(&self, earlier: &Self) -> Self {
        let mut out = *self;
        for (o, e) in out.0.iter_mut().zip(earlier.0) {
            *o = o.saturating_sub(e);
        }
        out
    }
}

/// The soft metrics of the confidence score, in weight order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Funding delta of a perp pair.
    FundingDelta,
    /// Imbalance of the two books' tracked depth.
    BookImbalance,
    /// Open interest of a perp pair.
    OpenInterest,
    /// How far the executable VWAPs are from the touch, against the spread.
    VwapDeviation,
    /// Recent mid-price movement, against the spread.
    Volatility,
    /// Distance of open positions to liquidation (needs the gateway's positions).
    LiquidationDistance,
}

impl Metric {
    /// Number of metrics.
    pub const COUNT: usize = 6;
}

/// Each metric's score in 0..=1, `None` when not available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MetricScores(pub [Option<Bps>; Metric::COUNT]);

impl MetricScores {
    /// A metric's score.
    pub fn get(&self, metric: Metric) -> Option<Bps> {
        self.0[metric as usize]
    }

    /// Sets a metric's score.
    pub fn set(&mut self, metric: Metric, score: Option<Bps>) {
        self.0[metric as usize] = score;
    }
}

/// One evaluated order size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SizeEval {
    /// Notional of the size, quote units.
    pub notional: Price,
    /// Base quantity per leg (notional / buy ask).
    pub qty: Qty,
    /// Executable VWAP of the buy leg (zero when the ladder cannot fill it).
    pub vwap_buy: Price,
    /// Executable VWAP of the sell leg.
    pub vwap_sell: Price,
    /// Worst price the buy leg touches (its IOC limit).
    pub worst_buy: Price,
    /// Worst price the sell leg touches.
    pub worst_sell: Price,
    /// (vwap_sell - vwap_buy) / mid, bps.
    pub vwap_spread_bps: Bps,
    /// Modelled slippage of both legs, bps.
    pub slippage_bps: Bps,
    /// vwap spread - fees - slippage - adverse funding, bps.
    pub net_bps: Bps,
    /// net × notional, raw 10^-8 quote units.
    pub expected_profit_raw: i64,
    /// VWAP deviation score of this size (0..=1; `None` when rejected).
    pub vwap_deviation_score: Option<Bps>,
    /// Confidence 0..=100 (0 when rejected).
    pub confidence: u8,
    /// Why this size was rejected, if it was.
    pub rejected: Option<RejectReason>,
}

/// One accepted cross-venue opportunity: buy on one venue, sell on another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpreadOpportunity {
    /// Leg bought (at its ask).
    pub buy: InstrumentId,
    /// Leg sold (at its bid).
    pub sell: InstrumentId,
    /// Ingress time (raw ticks) of the update that triggered the evaluation.
    pub ts_recv_raw: u64,
    /// Raw ticks when the decision was made.
    pub ts_decision_raw: u64,
    /// Raw ticks after which the signal is void.
    pub expires_raw: u64,
    /// Best ask of the buy leg.
    pub buy_ask: Price,
    /// Best bid of the sell leg.
    pub sell_bid: Price,
    /// (sell_bid - buy_ask) / mid, bps.
    pub gross_bps: Bps,
    /// Sum of both taker fees, bps.
    pub fees_bps: Bps,
    /// Funding received minus paid per interval, bps (zero for spot pairs).
    pub funding_delta_bps: Bps,
    /// Venue delay of the buy and sell venues, ms.
    pub venue_delay_ms: [u32; 2],
    /// Confidence points taken for venues between the soft and the stale limit.
    pub stale_penalty: u8,
    /// Soft metric scores common to every size (the VWAP deviation is per size).
    pub metrics: MetricScores,
    /// Sizes evaluated; the first `sizes_len` are meaningful.
    pub sizes: [SizeEval; SIZES_MAX],
    /// Sizes evaluated.
    pub sizes_len: u8,
    /// Index of the best size (highest expected profit among accepted sizes).
    pub best: u8,
}

impl SpreadOpportunity {
    /// The evaluated sizes.
    pub fn sizes(&self) -> &[SizeEval] {
        &self.sizes[..usize::from(self.sizes_len).min(SIZES_MAX)]
    }

    /// The best size.
    pub fn best_size(&self) -> &SizeEval {
        &self.sizes[usize::from(self.best).min(SIZES_MAX - 1)]
    }
}

/// What the scanner sends to telemetry.
// NB: a ring slot holds the largest variant; boxing it would allocate on the hot path,
// and rejection flushes (the small variant) come once a second.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpreadRecord {
    /// An accepted opportunity (one row).
    Opportunity(SpreadOpportunity),
    /// Rejections counted since the previous flush (one row per non-zero reason).
    Rejections {
        /// Raw ticks of the flush.
        ts_raw: u64,
        /// Counts since the previous flush.
        counts: RejectionCounts,
    },
}

/// One line for status views and the final report (cold path): `names` are the
/// instruments' display names by id.
pub fn describe(o: &SpreadOpportunity, names: &[String]) -> String {
    let name = |id: InstrumentId| names.get(id.index()).map_or("?", String::as_str);
    let best = o.best_size();
    format!(
        "buy {} @ {} / sell {} @ {}: gross {:.2} bps, net {:.2} bps at {} quote (qty {}), expected profit {:.4}, confidence {}",
        name(o.buy),
        o.buy_ask,
        name(o.sell),
        o.sell_bid,
        o.gross_bps.to_num::<f64>(),
        best.net_bps.to_num::<f64>(),
        best.notional,
        best.qty,
        best.expected_profit_raw as f64 / 1e8,
        best.confidence,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_rejection_counts_since() {
        let mut a = RejectionCounts::default();
        a.add(RejectReason::Unprofitable);
        let snapshot = a;
        a.add(RejectReason::Unprofitable);
        a.add(RejectReason::VenueStale);
        let d = a.since(&snapshot);
        assert_eq!(d.get(RejectReason::Unprofitable), 1);
        assert_eq!(d.get(RejectReason::VenueStale), 1);
        assert_eq!((a.total(), d.total()), (3, 2));
        assert_eq!(RejectReason::ALL[4].as_str(), "INSUFFICIENT_DEPTH");
    }
}
