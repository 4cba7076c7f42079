//! What the gateway reports to telemetry: orders sent and finished, fills, leg-outs,
//! closed and abandoned trades and refused intents, buffered in a bounded outbox.
//!
//! Owned by the gateway thread. The outbox is allocated at start-up; when it is full a
//! record is dropped and counted, never waited for (the stage drains it into the
//! telemetry ring every poll).

use std::collections::VecDeque;

use crate::gateway::execution::Executed;
use crate::gateway::order::{Fill, Order};
use crate::gateway::risk::RejectReason;
use crate::types::bps::Bps;
use crate::types::{InstrumentId, OrderSide, Price, Qty, Strategy};

/// Unique trade id within a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TradeId(pub u64);

/// Whether a leg-out happened entering or leaving a trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TradeStage {
    /// Opening the position.
    Entry,
    /// Closing it.
    Exit,
}

/// A leg that did not fill in time and was completed with a market order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegOut {
    /// Trade.
    pub trade: TradeId,
    /// The intent the trade came from.
    pub intent_id: u64,
    /// Index of the hedged leg in the intent.
    pub leg: usize,
    /// Its instrument.
    pub instrument: InstrumentId,
    /// The other leg (the one that did fill): instrument.
    pub filled_instrument: InstrumentId,
    /// Its side in this stage (entry side, or the opposite when exiting).
    pub filled_side: OrderSide,
    /// What it executed in this stage.
    pub filled: Executed,
    /// Entry or exit.
    pub stage: TradeStage,
    /// When the other leg first filled (the position became one-sided), ns.
    pub naked_since_ns: u64,
    /// When the hedge was sent, ns.
    pub hedge_sent_ns: u64,
    /// Quantity hedged, venue units.
    pub qty: Qty,
    /// Volume-weighted hedge price.
    pub hedge_price: Price,
    /// Cost against the leg's own limit: adverse price difference times quantity,
    /// plus the hedge's fees (raw 10^-8 quote units; negative when the market was
    /// kinder than the limit).
    pub loss_raw: i128,
}

/// Why a trade was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitReason {
    /// Funding delta under the convergence threshold.
    FundingConverged,
    /// The profit target share of the projected profit was reached.
    ProfitTarget,
    /// The spread widened by the exit threshold.
    SpreadWidened,
    /// The spread widened by the stop threshold (closed at market).
    SpreadStop,
    /// Flattened by the kill switch.
    KillSwitch,
    /// Flattened by the daily loss breaker.
    DailyLoss,
    /// Held for `exits.max_hold_ms`.
    Timeout,
    /// Still open when the run ended: closed at the marks, without an order.
    EndOfRun,
    /// A perp leg's mark crossed its liquidation price: the venue closed it there and
    /// the other leg was flattened at market.
    Liquidation,
}

/// One leg of a closed trade: what it entered and exited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosedLeg {
    /// Instrument.
    pub instrument: InstrumentId,
    /// Entry side.
    pub side: OrderSide,
    /// The intent's limit for it (the decision price).
    pub limit: Price,
    /// Base units per venue unit.
    pub contract_size: Qty,
    /// Entry executions (hedges included).
    pub entry: Executed,
    /// Exit executions.
    pub exit: Executed,
}

/// A closed trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClosedTrade {
    /// Trade.
    pub id: TradeId,
    /// The intent it came from.
    pub intent_id: u64,
    /// Emitting strategy.
    pub strategy: Strategy,
    /// Why it closed.
    pub reason: ExitReason,
    /// When the hard leg first filled, ns.
    pub first_fill_ns: u64,
    /// When the entry was matched (easy leg filled) or its hedge sent, ns.
    pub matched_ns: u64,
    /// When it closed, ns.
    pub closed_ns: u64,
    /// Cost locked (entry values and fees).
    pub locked_raw: i128,
    /// Realised PnL, all fees, leg-out losses and funding included.
    pub pnl_raw: i128,
    /// Funding its perp legs received (positive) or paid while it was open.
    pub funding_raw: i128,
    /// Leg-outs (entry and exit).
    pub leg_outs: u32,
    /// Their loss.
    pub leg_out_loss_raw: i128,
    /// Both legs, in the intent's order.
    pub legs: [ClosedLeg; 2],
    /// Entry spread (sell leg over buy leg, mids), bps.
    pub entry_spread_bps: Bps,
    /// Expected profit at the intent, bps of notional.
    pub expected_profit_bps: Bps,
    /// The intent's confidence, 0..=100.
    pub confidence: u8,
    /// When the gateway took the intent, ns.
    pub decided_ns: u64,
}

/// One gateway record.
///
/// Variants differ in size (a closed trade carries both legs' executions); they travel
/// by value through a preallocated ring, and boxing the large one would allocate on
/// the gateway thread.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayRecord {
    /// An order was sent to the venue.
    OrderSent(Order),
    /// An order reached a terminal state.
    OrderDone(Order),
    /// An execution.
    Fill(Fill),
    /// A leg-out.
    LegOut(LegOut),
    /// A trade closed.
    Closed(ClosedTrade),
    /// A trade whose hard leg did not fill: nothing stayed open.
    Abandoned {
        /// Trade.
        trade: TradeId,
        /// Its intent.
        intent_id: u64,
        /// When, ns.
        ts_ns: u64,
    },
    /// An intent was refused.
    Rejected {
        /// The intent.
        intent_id: u64,
        /// Why.
        reason: RejectReason,
        /// When, ns.
        ts_ns: u64,
    },
}

/// Records waiting for the stage to drain them.
#[derive(Debug)]
pub struct Outbox {
    records: VecDeque<GatewayRecord>,
    cap: usize,
    dropped: u64,
}

impl Outbox {
    /// An outbox of `cap` records, allocated now.
    pub fn new(cap: usize) -> Self {
        Self {
            records: VecDeque::with_capacity(cap),
            cap,
            dropped: 0,
        }
    }

    /// Queues a record, or drops and counts it when full.
    pub fn push(&mut self, record: GatewayRecord) {
        if self.records.len() < self.cap {
            self.records.push_back(record);
        } else {
            self.dropped += 1;
        }
    }

    /// Hands every queued record to `f`, oldest first.
    pub fn drain(&mut self, mut f: impl FnMut(GatewayRecord)) {
        while let Some(r) = self.records.pop_front() {
            f(r);
        }
    }

    /// Hands queued records to `f`, oldest first, while it takes them (returns true);
    /// the first one it refuses stays queued, in order.
    pub fn forward(&mut self, mut f: impl FnMut(GatewayRecord) -> bool) {
        while let Some(&r) = self.records.front() {
            if !f(r) {
                return;
            }
            self.records.pop_front();
        }
    }

    /// Records queued.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Records dropped because the outbox was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_outbox_drops_and_counts_when_full() {
        let mut out = Outbox::new(2);
        for id in 0..3 {
            out.push(GatewayRecord::Abandoned {
                trade: TradeId(id),
                intent_id: id,
                ts_ns: 0,
            });
        }
        let mut got = Vec::new();
        out.drain(|r| got.push(r));
        assert_eq!(got.len(), 2);
        assert_eq!(out.dropped(), 1);
        assert!(matches!(
            got[0],
            GatewayRecord::Abandoned {
                trade: TradeId(0),
                ..
            }
        ));
    }

    #[test]
    fn test_outbox_forward_keeps_what_is_refused_in_order() {
        let mut out = Outbox::new(4);
        for id in 0..3 {
            out.push(GatewayRecord::Abandoned {
                trade: TradeId(id),
                intent_id: id,
                ts_ns: 0,
            });
        }
        let mut room = 1;
        let mut got = Vec::new();
        out.forward(|r| {
            if room == 0 {
                return false;
            }
            room -= 1;
            got.push(r);
            true
        });
        assert_eq!(got.len(), 1);
        assert_eq!(out.len(), 2);
        let mut rest = Vec::new();
        out.forward(|r| {
            rest.push(r);
            true
        });
        assert!(out.is_empty());
        let ids: Vec<u64> = got
            .iter()
            .chain(&rest)
            .map(|r| match r {
                GatewayRecord::Abandoned { intent_id, .. } => *intent_id,
                _ => u64::MAX,
            })
            .collect();
        assert_eq!(ids, [0, 1, 2]);
    }
}
