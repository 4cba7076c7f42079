//! Orders and fills: the order's identity, style and limit, its state machine
//! (new → acked → partially filled → filled, or cancelled / rejected) and the fills it
//! receives, with typed errors for every transition the machine refuses.
//!
//! Plain `Copy` data owned by the gateway thread (the paper venue keeps them in a slab
//! sized at start-up); nothing here allocates. Money is raw 10^-8 quote units.

use crate::types::decimal::mul_div;
use crate::types::{InstrumentId, OrderSide, Price, Qty, Venue};

/// Unique order id within a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct OrderId(pub u64);

/// How an order executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStyle {
    /// Immediate-or-cancel at `limit` or better (taker).
    Ioc,
    /// Rests at `limit` (maker); rejected if it would cross on arrival.
    PostOnly,
    /// A market order (a hedge or a flatten): walks the book up to the venue's price
    /// band, `limit` ignored.
    Market,
}

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderState {
    /// Sent, not yet at the venue.
    New,
    /// Accepted by the venue, nothing filled.
    Acked,
    /// Some quantity filled, some still working.
    PartiallyFilled,
    /// Completely filled (terminal).
    Filled,
    /// Cancelled, possibly after partial fills (terminal).
    Cancelled,
    /// Refused by the venue (terminal).
    Rejected,
}

impl OrderState {
    /// Whether nothing more can happen to the order.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            OrderState::Filled | OrderState::Cancelled | OrderState::Rejected
        )
    }
}

/// Maker or taker side of a fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Liquidity {
    /// Our resting order was hit.
    Maker,
    /// We crossed the spread.
    Taker,
}

/// Why the venue refused an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VenueReject {
    /// A post-only order would have crossed the book on arrival.
    PostOnlyWouldCross,
    /// The venue has no book for the instrument (nothing to trade against).
    NoBook,
    /// Zero or negative quantity.
    ZeroQty,
    /// A live venue refused it: a symbol filter (tick, lot, minimum notional, percent
    /// price, maximum quantity) checked before sending, or the venue's own refusal.
    Filter,
    /// A live venue was not ready (reconciling, rate-limited, halted) or the run's
    /// notional limit was reached: nothing was sent.
    NotSent,
    /// A live venue refused it with an error code of its own.
    VenueRefused,
}

/// An order state transition the machine refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// The event does not apply in this state (a fill after a cancel, an ack twice).
    #[error("order {id:?}: {event} is invalid in state {state:?}")]
    InvalidTransition {
        /// Order.
        id: OrderId,
        /// State it was in.
        state: OrderState,
        /// What was attempted.
        event: &'static str,
    },
    /// A fill larger than what is left of the order.
    #[error("order {id:?}: fill of {fill:?} exceeds the {left:?} left")]
    Overfill {
        /// Order.
        id: OrderId,
        /// Fill quantity.
        fill: Qty,
        /// Quantity left.
        left: Qty,
    },
    /// A fill of zero or negative quantity.
    #[error("order {id:?}: empty fill")]
    EmptyFill {
        /// Order.
        id: OrderId,
    },
}

/// One execution against an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill {
    /// The order filled.
    pub order: OrderId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Side of the order.
    pub side: OrderSide,
    /// Volume-weighted price of this fill.
    pub price: Price,
    /// Quantity filled.
    pub qty: Qty,
    /// Value, raw 10^-8 quote units.
    pub notional_raw: i128,
    /// Fee paid (negative: rebate), raw 10^-8 quote units.
    pub fee_raw: i128,
    /// Maker or taker.
    pub liquidity: Liquidity,
    /// Reference price: the best opposite price when a taker met the book, the limit
    /// for a maker; slippage is measured from it.
    pub touch: Price,
    /// Simulated time of the fill, ns.
    pub ts_ns: u64,
}

/// What an order does within its trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderRole {
    /// The hard leg's entry (sent first).
    First,
    /// The easy leg's entry (sent once the first filled).
    Second,
    /// A market order completing a leg that did not fill in time (a leg-out).
    Hedge,
    /// A leg's close.
    Exit,
}

impl OrderRole {
    /// Name for database rows.
    pub const fn as_str(self) -> &'static str {
        match self {
            OrderRole::First => "FIRST",
            OrderRole::Second => "SECOND",
            OrderRole::Hedge => "HEDGE",
            OrderRole::Exit => "EXIT",
        }
    }
}

/// An order and its execution so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    /// Id.
    pub id: OrderId,
    /// Instrument.
    pub instrument: InstrumentId,
    /// Venue of the instrument.
    pub venue: Venue,
    /// Buy or sell.
    pub side: OrderSide,
    /// Execution style.
    pub style: OrderStyle,
    /// Limit price (ignored by [`OrderStyle::Market`]).
    pub limit: Price,
    /// Quantity ordered.
    pub qty: Qty,
    /// Quantity filled so far.
    pub filled: Qty,
    /// Value filled so far, raw 10^-8 quote units.
    pub notional_raw: i128,
    /// Fees so far, raw 10^-8 quote units.
    pub fees_raw: i128,
    /// State.
    pub state: OrderState,
    /// Why it was rejected, when it was.
    pub reject: Option<VenueReject>,
    /// Time the gateway sent it, ns.
    pub ts_sent_ns: u64,
    /// Time it reached its terminal state, ns (0 while working).
    pub ts_done_ns: u64,
    /// The intent whose trade sent it.
    pub intent_id: u64,
    /// Its role in that trade.
    pub role: OrderRole,
}

impl Order {
    /// A new order, not yet at the venue.
    pub fn new(id: OrderId, leg: OrderLeg, style: OrderStyle, qty: Qty, ts_sent_ns: u64) -> Self {
        Self {
            id,
            instrument: leg.instrument,
            venue: leg.venue,
            side: leg.side,
            style,
            limit: leg.limit,
            qty,
            filled: Qty::ZERO,
            notional_raw: 0,
            fees_raw: 0,
            state: OrderState::New,
            reject: None,
            ts_sent_ns,
            ts_done_ns: 0,
            intent_id: 0,
            role: OrderRole::First,
        }
    }

    /// Quantity still working.
    pub fn remaining(&self) -> Qty {
        Qty::from_raw(self.qty.raw() - self.filled.raw())
    }

    /// Volume-weighted fill price so far (zero before any fill).
    pub fn avg_price(&self) -> Price {
        if self.filled.is_zero() {
            return Price::ZERO;
        }
        Price::from_raw(mul_div(self.notional_raw, Price::SCALE, self.filled.raw()))
    }

    fn refuse(&self, event: &'static str) -> OrderError {
        OrderError::InvalidTransition {
            id: self.id,
            state: self.state,
            event,
        }
    }

    /// The venue accepted the order.
    pub fn ack(&mut self) -> Result<(), OrderError> {
        if self.state != OrderState::New {
            return Err(self.refuse("ack"));
        }
        self.state = OrderState::Acked;
        Ok(())
    }

    /// The venue refused the order.
    pub fn reject(&mut self, reason: VenueReject) -> Result<(), OrderError> {
        if self.state != OrderState::New {
            return Err(self.refuse("reject"));
        }
        self.state = OrderState::Rejected;
        self.reject = Some(reason);
        Ok(())
    }

    /// Applies a fill: `qty` at a total value of `notional_raw` paying `fee_raw`.
    pub fn apply_fill(
        &mut self,
        qty: Qty,
        notional_raw: i128,
        fee_raw: i128,
    ) -> Result<(), OrderError> {
        if !matches!(self.state, OrderState::Acked | OrderState::PartiallyFilled) {
            return Err(self.refuse("fill"));
        }
        if qty.raw() <= 0 {
            return Err(OrderError::EmptyFill { id: self.id });
        }
        if qty > self.remaining() {
            return Err(OrderError::Overfill {
                id: self.id,
                fill: qty,
                left: self.remaining(),
            });
        }
        self.filled = Qty::from_raw(self.filled.raw() + qty.raw());
        self.notional_raw += notional_raw;
        self.fees_raw += fee_raw;
        self.state = if self.remaining().is_zero() {
            OrderState::Filled
        } else {
            OrderState::PartiallyFilled
        };
        Ok(())
    }

    /// Cancels what is left (an unfilled IOC remainder, a timeout, a kill switch). An
    /// order not yet acked may be cancelled too (it never reached the venue).
    pub fn cancel(&mut self) -> Result<(), OrderError> {
        if self.state.is_terminal() {
            return Err(self.refuse("cancel"));
        }
        self.state = OrderState::Cancelled;
        Ok(())
    }
}

/// Where and how one leg trades: what an order is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderLeg {
    /// Instrument.
    pub instrument: InstrumentId,
    /// Its venue.
    pub venue: Venue,
    /// Buy or sell.
    pub side: OrderSide,
    /// Limit price.
    pub limit: Price,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(style: OrderStyle) -> Order {
        let leg = OrderLeg {
            instrument: InstrumentId(3),
            venue: Venue::Okx,
            side: OrderSide::Buy,
            limit: Price::from_raw(100 * Price::SCALE),
        };
        Order::new(OrderId(7), leg, style, Qty::from_raw(10), 5)
    }

    #[test]
    fn test_order_new_ack_partial_filled() {
        let mut o = order(OrderStyle::PostOnly);
        assert_eq!(o.state, OrderState::New);
        o.ack().unwrap();
        o.apply_fill(Qty::from_raw(4), 400, 1).unwrap();
        assert_eq!(
            (o.state, o.remaining()),
            (OrderState::PartiallyFilled, Qty::from_raw(6))
        );
        o.apply_fill(Qty::from_raw(6), 600, 2).unwrap();
        assert_eq!(o.state, OrderState::Filled);
        assert!(o.state.is_terminal());
        assert_eq!((o.notional_raw, o.fees_raw), (1_000, 3));
        assert_eq!(o.avg_price(), Price::from_raw(100 * Price::SCALE));
    }

    #[test]
    fn test_order_refuses_invalid_transitions() {
        let mut o = order(OrderStyle::Ioc);
        assert!(matches!(
            o.apply_fill(Qty::from_raw(1), 1, 0),
            Err(OrderError::InvalidTransition { event: "fill", .. })
        ));
        o.ack().unwrap();
        assert!(o.ack().is_err());
        assert_eq!(
            o.apply_fill(Qty::from_raw(11), 1, 0),
            Err(OrderError::Overfill {
                id: OrderId(7),
                fill: Qty::from_raw(11),
                left: Qty::from_raw(10)
            })
        );
        assert_eq!(
            o.apply_fill(Qty::ZERO, 0, 0),
            Err(OrderError::EmptyFill { id: OrderId(7) })
        );
        o.cancel().unwrap();
        assert!(o.cancel().is_err());
        assert!(o.apply_fill(Qty::from_raw(1), 1, 0).is_err());
        assert!(o.reject(VenueReject::NoBook).is_err());
    }

    #[test]
    fn test_order_reject_only_when_new() {
        let mut o = order(OrderStyle::PostOnly);
        o.reject(VenueReject::PostOnlyWouldCross).unwrap();
        assert_eq!(o.state, OrderState::Rejected);
        assert_eq!(o.reject, Some(VenueReject::PostOnlyWouldCross));
        assert_eq!(o.avg_price(), Price::ZERO);
        let mut o = order(OrderStyle::Market);
        o.cancel().unwrap();
        assert_eq!(o.state, OrderState::Cancelled);
    }
}
