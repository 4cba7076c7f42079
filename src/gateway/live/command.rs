//! What crosses the two SPSC rings between the gateway thread and a live venue's I/O
//! thread: [`Command`]s out, [`Report`]s back. Small `Copy` values, so a push never
//! allocates; the rings are sized at start-up (`live.ring_slots`).

use crate::gateway::order::{Fill, OrderId, OrderState, OrderStyle, VenueReject};
use crate::types::{InstrumentId, OrderSide, Price, Qty};

/// An order to place, as the gateway built it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// The gateway's id (the client order id is derived from it).
    pub id: OrderId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Buy or sell.
    pub side: OrderSide,
    /// IOC, post-only or market.
    pub style: OrderStyle,
    /// Limit (ignored by market orders).
    pub limit: Price,
    /// Quantity, venue units.
    pub qty: Qty,
    /// The price the value and percent-price filters use for a market order (the
    /// book's opposite touch when the gateway sent it; zero: unknown).
    pub reference: Price,
}

/// Gateway → I/O thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Place an order.
    Place(Place),
    /// Cancel a working order.
    Cancel(OrderId),
    /// Close a position nobody owns (a fill that arrived after its trade ended) with a
    /// market order the gateway does not track.
    Flatten {
        /// Instrument.
        instrument: InstrumentId,
        /// Side of the closing order.
        side: OrderSide,
        /// Quantity.
        qty: Qty,
    },
    /// Kill switch / `/panic`: cancel every open order on every live symbol, flatten
    /// every position, then halt.
    Panic,
}

/// I/O thread → gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Report {
    /// The venue accepted the order.
    Ack(OrderId),
    /// An execution (deduplicated: each venue trade id once).
    Fill(Fill),
    /// The order reached a terminal state; every fill it had was reported before.
    Done {
        /// Order.
        id: OrderId,
        /// Filled, cancelled (possibly after fills) or rejected.
        state: OrderState,
        /// Why, when rejected.
        reject: Option<VenueReject>,
    },
    /// Whether new entries may be sent: true once a reconciliation agreed, false while
    /// one runs, after a disagreement, during a 429 back-off, or halted.
    Ready(bool),
    /// HTTP 418 (or a panic): the venue is halted for the rest of the run.
    Halted,
    /// A panic finished: what it cancelled and flattened.
    Panicked {
        /// Orders cancelled.
        cancelled: u32,
        /// Positions flattened.
        flattened: u32,
    },
}
