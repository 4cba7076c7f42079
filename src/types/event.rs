//! `MarketEvent`: the one small `Copy` message the feed stage hands to the book stage.
//!
//! Every event carries the ingress timestamp (quanta raw ticks, read once when the frame
//! left the socket) and the venue's own event time beside it. Owned by no thread: values
//! are built by decoders into preallocated buffers and copied through rings.

use crate::types::decimal::{Price, Qty, Rate};
use crate::types::instrument::InstrumentId;

/// Side of the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Buy side.
    Bid,
    /// Sell side.
    Ask,
}

/// What happened on the venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventBody {
    /// Best bid and ask from the venue's dedicated top-of-book stream.
    TopOfBook {
        /// Best bid price.
        bid: Price,
        /// Quantity at the best bid.
        bid_qty: Qty,
        /// Best ask price.
        ask: Price,
        /// Quantity at the best ask.
        ask_qty: Qty,
        /// The venue's order book update id at this top of book.
        update_id: u64,
    },
    /// Start of a depth diff message; its `levels` [`EventBody::DepthLevel`]s follow.
    DepthBegin {
        /// First update id in the message (Binance `U`).
        first_update_id: u64,
        /// Last update id in the message (Binance `u`).
        last_update_id: u64,
        /// Last update id of the previous message, where the venue sends it (Binance
        /// futures `pu`); 0 otherwise.
        prev_update_id: u64,
        /// Number of level events that follow.
        levels: u16,
    },
    /// One changed price level of a depth diff; quantity zero removes the level.
    DepthLevel {
        /// Book side.
        side: Side,
        /// Level price.
        price: Price,
        /// New total quantity at the level.
        qty: Qty,
    },
    /// Mark price and funding of a perpetual.
    Funding {
        /// Mark price.
        mark: Price,
        /// Index price.
        index: Price,
        /// Current funding rate per funding interval.
        rate: Rate,
        /// Next funding time, unix milliseconds.
        next_funding_ms: u64,
    },
}

/// One decoded market data event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketEvent {
    /// Quanta raw ticks when the frame carrying this event was read from the socket.
    pub ts_recv_raw: u64,
    /// The venue's event time, unix milliseconds; 0 when the message has none
    /// (Binance spot `bookTicker`).
    pub ts_venue_ms: u64,
    /// Which market.
    pub instrument: InstrumentId,
    /// The payload.
    pub body: EventBody,
}

/// Largest size a `MarketEvent` may grow to: a ring slot stays within a few cache lines.
pub const MARKET_EVENT_SIZE_MAX: usize = 72;
const _: () = assert!(std::mem::size_of::<MarketEvent>() <= MARKET_EVENT_SIZE_MAX);
