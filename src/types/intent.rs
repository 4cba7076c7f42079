//! `OrderIntent`: what a strategy in the edge stage asks the gateway to trade.
//!
//! A small `Copy` value carried edge → gateway through an SPSC ring. It proposes; the
//! gateway disposes: risk limits, sizing, rounding to lot size and the expiry check all
//! happen in the gateway, which may refuse or scale down any intent. Pure data, no
//! threads, no I/O.

use crate::types::bps::Bps;
use crate::types::decimal::{Price, Qty};
use crate::types::instrument::InstrumentId;

/// Buy or sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderSide {
    /// Buy (lift asks).
    Buy,
    /// Sell (hit bids).
    Sell,
}

impl OrderSide {
    /// The other side: the hedge of a leg.
    pub const fn opposite(self) -> Self {
        match self {
            OrderSide::Buy => OrderSide::Sell,
            OrderSide::Sell => OrderSide::Buy,
        }
    }

    /// The database value: `BUY` or `SELL`.
    pub const fn as_str(self) -> &'static str {
        match self {
            OrderSide::Buy => "BUY",
            OrderSide::Sell => "SELL",
        }
    }
}

/// How one leg is to be executed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExecStyle {
    /// Immediate-or-cancel at `limit` or better (taker).
    Ioc,
    /// Post-only at `limit` (maker); refused by the venue if it would cross.
    PostOnly,
}

/// One leg of an intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntentLeg {
    /// Instrument to trade.
    pub instrument: InstrumentId,
    /// Buy or sell.
    pub side: OrderSide,
    /// Limit price: the worst acceptable price for an IOC (the strategy's executable
    /// VWAP bound), the resting price for a post-only order.
    pub limit: Price,
    /// Execution style.
    pub style: ExecStyle,
}

/// Which strategy emitted an intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// Perp vs spot basis of one coin.
    Basis,
    /// Same instrument kind across two venues.
    CrossVenue,
}

impl Strategy {
    /// The database value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Strategy::Basis => "BASIS",
            Strategy::CrossVenue => "CROSS_VENUE",
        }
    }
}

/// A two-leg trade proposed by a strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderIntent {
    /// Unique within a run (per strategy sequence, strategy in the top byte).
    pub id: u64,
    /// Emitting strategy.
    pub strategy: Strategy,
    /// The two legs; they trade the same base quantity in opposite directions.
    pub legs: [IntentLeg; 2],
    /// Proposed quantity per leg, in base units (before the gateway's sizing).
    pub qty: Qty,
    /// Gross edge, bps of mid.
    pub edge_bps: Bps,
    /// Expected profit after projected costs (fees, slippage), bps of notional.
    pub expected_profit_bps: Bps,
    /// Confidence score, 0..=100.
    pub confidence: u8,
    /// Ingress time (raw clock ticks) of the frame that triggered the decision.
    pub ts_recv_raw: u64,
    /// Raw clock ticks when the strategy decided.
    pub ts_decision_raw: u64,
    /// Raw clock ticks after which the gateway must refuse the intent.
    pub expires_raw: u64,
}

impl OrderIntent {
    /// Whether the intent has expired at raw clock time `now_raw`.
    pub const fn is_expired(&self, now_raw: u64) -> bool {
        now_raw > self.expires_raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(expires_raw: u64) -> OrderIntent {
        let leg = IntentLeg {
            instrument: InstrumentId(0),
            side: OrderSide::Buy,
            limit: Price::from_raw(1),
            style: ExecStyle::Ioc,
        };
        OrderIntent {
            id: 1,
            strategy: Strategy::CrossVenue,
            legs: [
                leg,
                IntentLeg {
                    side: OrderSide::Sell,
                    instrument: InstrumentId(1),
                    ..leg
                },
            ],
            qty: Qty::from_raw(1),
            edge_bps: Bps::ONE,
            expected_profit_bps: Bps::ZERO,
            confidence: 50,
            ts_recv_raw: 0,
            ts_decision_raw: 0,
            expires_raw,
        }
    }

    #[test]
    fn test_expiry_is_strictly_after_the_deadline() {
        let i = intent(100);
        assert!(!i.is_expired(99));
        assert!(!i.is_expired(100));
        assert!(i.is_expired(101));
    }

    #[test]
    fn test_opposite_side() {
        assert_eq!(OrderSide::Buy.opposite(), OrderSide::Sell);
        assert_eq!(OrderSide::Sell.opposite(), OrderSide::Buy);
        assert_eq!(OrderSide::Buy.as_str(), "BUY");
    }
}
