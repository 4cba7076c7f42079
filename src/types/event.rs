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
    /// Start of a depth message (a diff, or a full snapshot that replaces the book); its
    /// `levels` [`EventBody::DepthLevel`]s follow.
    DepthBegin {
        /// First update id in the message (Binance `U`; the single id where the venue
        /// sends one: Bybit `u`, OKX `seqId`).
        first_update_id: u64,
        /// Last update id in the message (Binance `u`, Bybit `u`, OKX `seqId`,
        /// Hyperliquid `time`).
        last_update_id: u64,
        /// Last update id of the previous message, where the venue sends it (Binance
        /// futures `pu`, OKX `prevSeqId`); 0 otherwise.
        prev_update_id: u64,
        /// Number of level events that follow.
        levels: u16,
        /// A full book: the levels replace every level held.
        snapshot: bool,
        /// The venue's checksum of the book after this message (OKX CRC32), if sent.
        checksum: Option<i32>,
    },
    /// One changed price level of a depth message; quantity zero removes the level.
    DepthLevel {
        /// Book side.
        side: Side,
        /// Level price.
        price: Price,
        /// New total quantity at the level.
        qty: Qty,
    },
    /// One public trade.
    Trade {
        /// Trade price.
        price: Price,
        /// Traded quantity (in the venue's quantity unit: base or contracts).
        qty: Qty,
        /// The aggressor's side: `Bid` when a buyer lifted the ask.
        aggressor: Side,
        /// The venue's trade id (numeric ids as sent; 0 where the venue's id is not
        /// numeric).
        trade_id: u64,
    },
    /// Mark price and funding of a perpetual; venues that send partial updates (Bybit
    /// ticker deltas) set only the fields named in `fields`.
    Funding {
        /// Mark price.
        mark: Price,
        /// Index (oracle) price.
        index: Price,
        /// Current funding rate per funding interval.
        rate: Rate,
        /// Next funding time, unix milliseconds.
        next_funding_ms: u64,
        /// Which of the four fields this message carried.
        fields: FundingFields,
    },
    /// Open interest of a perpetual, in the venue's quantity unit.
    OpenInterest {
        /// Open interest.
        qty: Qty,
    },
    /// Not from the venue: the feed stage's word on the instrument's connection.
    Feed(FeedStatus),
}

/// What the feed stage tells the book stage about an instrument's connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedStatus {
    /// The connection was lost: the book no longer follows the venue's and must be
    /// resynced by the venue's own procedure once the connection is back (its snapshot
    /// on resubscribe, or a REST snapshot over buffered diffs: Binance, OKX).
    Reset,
    /// The venue's data arrive later than the venue's `stale_after`: edges using the
    /// instrument are suppressed (the book itself stays correct).
    Stale,
    /// The delay is back under `stale_after`.
    Fresh,
}

/// Which fields of an [`EventBody::Funding`] a message carried (a small bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FundingFields(u8);

impl FundingFields {
    /// The mark price.
    pub const MARK: Self = Self(1);
    /// The index price.
    pub const INDEX: Self = Self(2);
    /// The funding rate.
    pub const RATE: Self = Self(4);
    /// The next funding time.
    pub const NEXT_FUNDING: Self = Self(8);
    /// All four.
    pub const ALL: Self = Self(15);

    /// The union of two sets.
    #[must_use]
    pub const fn with(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether every field of `other` is in the set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no field is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
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

/// Largest size a `MarketEvent` may grow to: a ring slot stays within two cache lines
/// (96 bytes with the 16-byte prices and quantities of [`crate::types::decimal`]; 72
/// when they were 8 bytes).
pub const MARKET_EVENT_SIZE_MAX: usize = 128;
const _: () = assert!(std::mem::size_of::<MarketEvent>() <= MARKET_EVENT_SIZE_MAX);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_funding_fields_union_and_contains() {
        let f = FundingFields::MARK.with(FundingFields::RATE);
        assert!(f.contains(FundingFields::MARK));
        assert!(!f.contains(FundingFields::INDEX));
        assert!(FundingFields::ALL.contains(f));
        assert!(FundingFields::default().is_empty());
    }
}
