//! Per-instrument book state kept by the book stage: the top of book from the venue's
//! top-of-book stream and the diff-depth sequence check. The levels themselves live in
//! the instrument's [`crate::book::L2Book`].
//!
//! Plain data owned by the book stage's thread; allocation-free.

use crate::types::{InstrumentId, MarketKind, Price, Qty};

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
    /// Ingress time of the frame that produced it (raw ticks).
    pub ts_recv_raw: u64,
    /// Venue event time, unix ms (0 if the venue sent none).
    pub ts_venue_ms: u64,
}

/// What applying a top of book did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopChange {
    /// Price or quantity at the touch changed: publish.
    Changed,
    /// Same as before, or older than what the book holds: nothing to publish.
    Unchanged,
    /// Bid at or above ask: not applied, reported.
    Crossed,
}

/// Whether a depth diff links to the previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SequenceCheck {
    /// First diff seen, or linked to the previous one.
    Linked,
    /// Update ids were skipped (or went backwards).
    Gap {
        /// The last update id applied before.
        expected_after: u64,
        /// What the new diff claims to follow or start at.
        got: u64,
    },
}

/// State of one instrument.
#[derive(Debug, Clone, Copy)]
pub struct InstrumentBook {
    kind: MarketKind,
    top: Option<(Price, Qty, Price, Qty)>,
    top_update_id: u64,
    depth_last_id: Option<u64>,
}

impl InstrumentBook {
    /// An empty book for a market of this kind.
    pub fn new(kind: MarketKind) -> Self {
        Self {
            kind,
            top: None,
            top_update_id: 0,
            depth_last_id: None,
        }
    }

    /// The current top of book (bid, bid qty, ask, ask qty), once one arrived.
    pub fn top(&self) -> Option<(Price, Qty, Price, Qty)> {
        self.top
    }

    /// Applies a top of book carrying the venue's update id.
    pub fn apply_top(&mut self, top: (Price, Qty, Price, Qty), update_id: u64) -> TopChange {
        if top.0 >= top.2 {
            return TopChange::Crossed;
        }
        if update_id < self.top_update_id || self.top == Some(top) {
            return TopChange::Unchanged;
        }
        self.top = Some(top);
        self.top_update_id = update_id;
        TopChange::Changed
    }

    /// Checks a depth diff's ids against the previous diff: spot requires
    /// `U == previous u + 1`, USD-M futures `pu == previous u`.
    pub fn check_depth(&mut self, first_id: u64, last_id: u64, prev_id: u64) -> SequenceCheck {
        let result = match (self.depth_last_id, self.kind) {
            (None, _) => SequenceCheck::Linked,
            (Some(last), MarketKind::Spot) if first_id == last + 1 => SequenceCheck::Linked,
            (Some(last), MarketKind::Perp) if prev_id == last => SequenceCheck::Linked,
            (Some(last), MarketKind::Spot) => SequenceCheck::Gap {
                expected_after: last,
                got: first_id,
            },
            (Some(last), MarketKind::Perp) => SequenceCheck::Gap {
                expected_after: last,
                got: prev_id,
            },
        };
        self.depth_last_id = Some(last_id);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn top(bid: i64, ask: i64) -> (Price, Qty, Price, Qty) {
        (
            Price::from_raw(bid),
            Qty::from_raw(1),
            Price::from_raw(ask),
            Qty::from_raw(1),
        )
    }

    #[test]
    fn test_top_changes_only_when_different_and_newer() {
        let mut b = InstrumentBook::new(MarketKind::Spot);
        assert_eq!(b.apply_top(top(10, 11), 5), TopChange::Changed);
        assert_eq!(b.apply_top(top(10, 11), 6), TopChange::Unchanged);
        assert_eq!(b.apply_top(top(9, 11), 4), TopChange::Unchanged);
        assert_eq!(b.apply_top(top(9, 11), 7), TopChange::Changed);
        assert_eq!(b.apply_top(top(11, 11), 8), TopChange::Crossed);
    }

    #[test]
    fn test_spot_depth_links_on_u_plus_one() {
        let mut b = InstrumentBook::new(MarketKind::Spot);
        assert_eq!(b.check_depth(157, 160, 0), SequenceCheck::Linked);
        assert_eq!(b.check_depth(161, 165, 0), SequenceCheck::Linked);
        assert_eq!(
            b.check_depth(167, 170, 0),
            SequenceCheck::Gap {
                expected_after: 165,
                got: 167
            }
        );
    }

    #[test]
    fn test_perp_depth_links_on_pu() {
        let mut b = InstrumentBook::new(MarketKind::Perp);
        assert_eq!(b.check_depth(157, 160, 149), SequenceCheck::Linked);
        assert_eq!(b.check_depth(163, 170, 160), SequenceCheck::Linked);
        assert_eq!(
            b.check_depth(171, 175, 169),
            SequenceCheck::Gap {
                expected_after: 170,
                got: 169
            }
        );
    }
}
