//! The basis opportunity record: everything needed to study one perp-vs-spot edge later.
//!
//! Built by the edge stage (allocation-free, `Copy`), carried to telemetry through an SPSC
//! ring, written to the `opportunities` table. Column meanings follow the data model of
//! the opportunity tracker.

use crate::types::bps::Bps;
use crate::types::{InstrumentId, Price};

/// Which leg's price moved to open the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VolatilitySource {
    /// The perp moved (ratio above 1.5).
    Perp,
    /// The spot moved (ratio below 0.67).
    Spot,
    /// Both moved, or neither did.
    Both,
}

impl VolatilitySource {
    /// The database value: `PERP`, `SPOT` or `BOTH`.
    pub const fn as_str(self) -> &'static str {
        match self {
            VolatilitySource::Perp => "PERP",
            VolatilitySource::Spot => "SPOT",
            VolatilitySource::Both => "BOTH",
        }
    }
}

/// Which way the edge is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Sell perp at its bid, buy spot at its ask: edge = perp_bid - spot_ask.
    ShortPerpLongSpot,
    /// Buy perp at its ask, sell spot at its bid: edge = spot_bid - perp_ask.
    LongPerpShortSpot,
}

impl Direction {
    /// The database value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Direction::ShortPerpLongSpot => "SHORT_PERP_LONG_SPOT",
            Direction::LongPerpShortSpot => "LONG_PERP_SHORT_SPOT",
        }
    }
}

/// Projected execution costs of the three styles, in bps of notional (both legs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostModel {
    /// IOC (taker) on both legs.
    pub ioc_both: Bps,
    /// IOC on the perp, post-only (maker) on the spot.
    pub ioc_perp_alo_spot: Bps,
    /// Post-only on both legs.
    pub alo_both: Bps,
}

/// The four top-of-book prices of a perp/spot pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Quad {
    /// Perp best bid.
    pub perp_bid: Price,
    /// Perp best ask.
    pub perp_ask: Price,
    /// Spot best bid.
    pub spot_bid: Price,
    /// Spot best ask.
    pub spot_ask: Price,
}

/// Deviation of each price from its baseline, in bps of mid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QuadBps {
    /// Perp bid deviation.
    pub perp_bid: Bps,
    /// Perp ask deviation.
    pub perp_ask: Bps,
    /// Spot bid deviation.
    pub spot_bid: Bps,
    /// Spot ask deviation.
    pub spot_ask: Bps,
}

/// One recorded basis edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BasisOpportunity {
    /// Spot leg.
    pub spot: InstrumentId,
    /// Perp leg.
    pub perp: InstrumentId,
    /// Ingress time (raw ticks) of the frame whose tick triggered the decision.
    pub ts_recv_raw: u64,
    /// Raw ticks when the analysis of this tick started.
    pub analysis_start_raw: u64,
    /// Raw ticks when the decision was made.
    pub ts_decision_raw: u64,
    /// Venue time of the latest perp event, unix ms (0 if unknown).
    pub ts_venue_ms: u64,
    /// Prices at the tick.
    pub prices: Quad,
    /// (perp_bid + perp_ask + spot_bid + spot_ask) / 4.
    pub mid_ref: Price,
    /// Rolling mean of each price over the baseline window, current tick included.
    pub baseline: Quad,
    /// Per-price deviation from the baseline, bps of mid.
    pub deviation: QuadBps,
    /// |deviation| of the perp price the chosen direction trades at.
    pub perp_movement_bps: Bps,
    /// |deviation| of the spot price the chosen direction trades at.
    pub spot_movement_bps: Bps,
    /// Which leg moved.
    pub volatility_source: VolatilitySource,
    /// perp_movement / max(spot_movement, 0.01); 1.0 when neither moved.
    pub volatility_ratio: Bps,
    /// The better of the two directions.
    pub direction: Direction,
    /// Edge of the chosen direction, bps of mid.
    pub edge_bps: Bps,
    /// Whether the edge met the trading threshold.
    pub would_trade_current: bool,
    /// Projected costs.
    pub costs: CostModel,
    /// edge - cost of IOC on both legs.
    pub expected_profit_ioc: Bps,
    /// edge - cost of IOC perp + post-only spot.
    pub expected_profit_hybrid: Bps,
}
