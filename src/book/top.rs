//! [`TopUpdate`]: what the book stage publishes to the edge stage for one instrument,
//! its top of book and tracked depth, or that its book became invalid.
//!
//! Plain `Copy` data passed through the book → edge ring.

use crate::types::{InstrumentId, Price, Qty};

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
    /// False when the instrument's book became invalid (a gap or checksum mismatch,
    /// awaiting resync): the prices are then zero and edges on it must stop.
    pub valid: bool,
    /// Ingress time of the frame that produced it (raw ticks).
    pub ts_recv_raw: u64,
    /// Venue event time, unix ms (0 if the venue sent none).
    pub ts_venue_ms: u64,
}
