//! [`TopUpdate`]: what the book stage publishes to the edge stage for one instrument,
//! its top of book, tracked depth, a short ladder of the best levels and the perp's
//! funding and open interest, or that its book became invalid.
//!
//! Plain `Copy` data passed through the book → edge ring. The ladder is why an update is
//! a few hundred bytes rather than one cache line: the cross-venue scanner needs an
//! executable VWAP at several sizes, and a fixed ladder of the best [`LADDER_LEVELS`]
//! levels per side is the cheapest way to give it one without a second ring, a shared
//! book or knowledge of the sizes in the book stage (sizes depend on the venue pair).

use crate::types::{InstrumentId, Price, Qty, Rate};

/// Levels per side carried in a [`Ladder`]: 8 levels cover the default order sizes (up
/// to 10× a venue minimum) on every liquid market while keeping the update within
/// ~6 cache lines; a size the ladder cannot fill is rejected as too deep for the book.
pub const LADDER_LEVELS: usize = 8;

/// One price level of a ladder, in the venue's quantity unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LadderLevel {
    /// Level price.
    pub price: Price,
    /// Quantity resting at the price (base units or contracts, as the venue sends).
    pub qty: Qty,
}

/// The best levels of one side of the L2 book, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LadderSide {
    /// Levels, best first; only the first `len` are meaningful.
    pub levels: [LadderLevel; LADDER_LEVELS],
    /// Levels held.
    pub len: u8,
}

impl LadderSide {
    /// The meaningful levels, best first.
    pub fn as_slice(&self) -> &[LadderLevel] {
        &self.levels[..usize::from(self.len).min(LADDER_LEVELS)]
    }

    /// A ladder side from levels given best first (at most [`LADDER_LEVELS`] kept).
    pub fn from_levels(levels: impl IntoIterator<Item = LadderLevel>) -> Self {
        let mut side = Self::default();
        for (slot, level) in side.levels.iter_mut().zip(levels) {
            *slot = level;
            side.len += 1;
        }
        side
    }
}

/// The best levels of both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ladder {
    /// Bids, best (highest) first.
    pub bids: LadderSide,
    /// Asks, best (lowest) first.
    pub asks: LadderSide,
}

/// A perpetual's funding and open interest as last received (`None` until the venue sent
/// one, and always for spot markets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PerpInfo {
    /// Current funding rate per funding interval.
    pub funding_rate: Option<Rate>,
    /// Open interest, in the venue's quantity unit.
    pub open_interest: Option<Qty>,
}

/// A top of book as published to the edge stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopUpdate {
    /// Which market.
    pub instrument: InstrumentId,
    /// Best bid.
    pub bid: Price,
    /// Quantity at the best bid.
    pub bid_qty: Qty,
    /// Best ask.
    pub ask: Price,
    /// Quantity at the best ask.
    pub ask_qty: Qty,
    /// Quote value resting within the tracked distance of the best bid (raw 10^-8
    /// quote units, saturated), from the L2 book.
    pub bid_depth_quote: i64,
    /// The same on the ask side.
    pub ask_depth_quote: i64,
    /// The best levels of the L2 book. Where the top comes from the venue's top-of-book
    /// stream it may be fresher than the ladder: consumers take the top first, then the
    /// ladder levels strictly behind it.
    pub ladder: Ladder,
    /// Funding and open interest (perps).
    pub perp: PerpInfo,
    /// False when the instrument's book became invalid (a gap or checksum mismatch,
    /// awaiting resync): the prices are then zero and edges on it must stop.
    pub valid: bool,
    /// Ingress time of the frame that produced it (raw ticks).
    pub ts_recv_raw: u64,
    /// Venue event time, unix ms (0 if the venue sent none).
    pub ts_venue_ms: u64,
}

/// Largest size a `TopUpdate` may grow to (one ring slot).
pub const TOP_UPDATE_SIZE_MAX: usize = 768;
const _: () = assert!(std::mem::size_of::<TopUpdate>() <= TOP_UPDATE_SIZE_MAX);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_ladder_side_keeps_at_most_the_capacity() {
        let level = |p: i128| LadderLevel {
            price: Price::from_raw(p),
            qty: Qty::from_raw(1),
        };
        let side = LadderSide::from_levels((1..=20).map(level));
        assert_eq!(side.as_slice().len(), LADDER_LEVELS);
        assert_eq!(side.as_slice()[0], level(1));
        assert_eq!(LadderSide::default().as_slice(), &[]);
    }
}
