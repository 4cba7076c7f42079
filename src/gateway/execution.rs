//! Two-leg execution: one trade's state machine, from the hard leg to the close.
//!
//! Entry: the harder leg (higher `execution.venue_rank`) is sent first and may work up
//! to `execution.leg_timeout_ms`. At its first fill the rest of it is cancelled and the
//! easy leg is sent for the filled quantity; if the easy leg has not filled within the
//! timeout of that first fill (or an IOC comes back short), its remainder is sent at
//! market and the trade records a leg-out. If the hard leg fills nothing, the trade is
//! abandoned with nothing open. Exits follow the same rules: the hard leg closes first
//! (a short IOC is completed at market: a close never waits), then the easy leg within
//! the timeout, else at market with a leg-out. A flatten (kill switch, breaker)
//! cancels whatever works and closes both legs at market at once.
//!
//! NB: the paper venue does not enforce lot sizes, so the easy leg copies the hard
//! leg's filled base quantity exactly.
//!
//! Owned by the gateway thread; a [`Trade`] is plain data, and [`Trade::step`] sends
//! orders through the [`ExecCtx`] it is given. Allocation-free.

use crate::gateway::order::{Fill, Order, OrderId, OrderLeg, OrderRole, OrderStyle};
use crate::gateway::paper::{PaperVenue, band_limit, fee_raw};
use crate::gateway::record::{ExitReason, GatewayRecord, LegOut, Outbox, TradeId, TradeStage};
use crate::types::bps::{Bps, bps_of};
use crate::types::decimal::mul_div;
use crate::types::{InstrumentId, OrderSide, Price, Qty, Strategy, Venue};

/// Where a trade is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// The hard leg works.
    EntryHard,
    /// The easy leg works.
    EntryEasy,
    /// The easy leg's remainder is being hedged at market.
    EntryHedge,
    /// Both legs are on.
    Open,
    /// The hard leg closes.
    ExitHard,
    /// The easy leg closes.
    ExitEasy,
    /// The easy leg's close is completed at market.
    ExitHedge,
    /// Both legs close at market.
    Flatten,
    /// Closed (terminal).
    Closed,
    /// Abandoned before anything filled (terminal).
    Abandoned,
}

/// Executed quantity, value and fees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Executed {
    /// Quantity, venue units.
    pub qty: Qty,
    /// Value, raw 10^-8 quote units.
    pub notional_raw: i128,
    /// Fees, raw 10^-8 quote units.
    pub fees_raw: i128,
}

impl Executed {
    fn add(&mut self, fill: &Fill) {
        self.qty = Qty::from_raw(self.qty.raw() + fill.qty.raw());
        self.notional_raw += fill.notional_raw;
        self.fees_raw += fill.fee_raw;
    }
}

/// A hedge in progress on one leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hedge {
    stage: TradeStage,
    naked_since_ns: u64,
    sent_ns: u64,
    side: OrderSide,
    limit: Price,
    done: Executed,
}

/// One leg of a trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TradeLeg {
    /// Where and how it enters.
    pub order_leg: OrderLeg,
    /// Entry style.
    pub style: OrderStyle,
    /// Base units per venue unit.
    pub contract_size: Qty,
    /// Planned entry quantity, venue units.
    pub qty: Qty,
    /// Entry executions.
    pub entry: Executed,
    /// Exit executions.
    pub exit: Executed,
    /// The order working for this leg, if any.
    pub order: Option<OrderId>,
    /// What the leg reserves now in the portfolio (its entry still to fill at the
    /// reserve price, fee included); kept by the gateway.
    pub reserved_raw: i128,
    /// The cash that reservation holds (the initial margin of a perp leg, fee
    /// included); kept by the gateway.
    pub reserved_cash_raw: i128,
    /// The cash its entry fills locked (a perp leg's isolated margin and the entry
    /// fees, less funding its margin paid); kept by the gateway.
    pub cash_locked_raw: i128,
    /// Limit of that order (the reference of a leg-out's loss).
    order_limit: Price,
    hedge: Option<Hedge>,
}

impl TradeLeg {
    /// A leg to enter at `qty`.
    pub fn new(order_leg: OrderLeg, style: OrderStyle, contract_size: Qty, qty: Qty) -> Self {
        Self {
            order_leg,
            style,
            contract_size,
            qty,
            entry: Executed::default(),
            exit: Executed::default(),
            order: None,
            reserved_raw: 0,
            reserved_cash_raw: 0,
            cash_locked_raw: 0,
            order_limit: order_leg.limit,
            hedge: None,
        }
    }

    /// Open quantity: entered minus exited, venue units.
    pub fn net(&self) -> Qty {
        Qty::from_raw(self.entry.qty.raw() - self.exit.qty.raw())
    }

    /// Cost this leg locked: entry value and fees.
    pub fn locked_raw(&self) -> i128 {
        self.entry.notional_raw + self.entry.fees_raw
    }

    /// Realised PnL of the leg once closed: exit against entry value, all fees off.
    pub fn pnl_raw(&self) -> i128 {
        let gross = match self.order_leg.side {
            OrderSide::Buy => self.exit.notional_raw - self.entry.notional_raw,
            OrderSide::Sell => self.entry.notional_raw - self.exit.notional_raw,
        };
        gross - self.entry.fees_raw - self.exit.fees_raw
    }

    fn base_raw(&self, qty: Qty) -> i128 {
        qty.raw() * self.contract_size.raw() / Qty::SCALE
    }
}

/// What trades' orders go through: the venue, the order ids and the records.
#[derive(Debug)]
pub struct ExecCtx {
    /// The venue.
    pub venue: PaperVenue,
    /// Next order id to hand out.
    pub next_order_id: u64,
    /// Records for telemetry.
    pub outbox: Outbox,
    /// `execution.leg_timeout_ms` in ns.
    pub leg_timeout_ns: u64,
    /// `exits.limit_slippage_bps`.
    pub exit_slippage_bps: i64,
}

impl ExecCtx {
    /// Sends an order; false when the venue is full (the caller retries next step).
    fn send(
        &mut self,
        leg: OrderLeg,
        style: OrderStyle,
        qty: Qty,
        now_ns: u64,
        (intent_id, role): (u64, OrderRole),
    ) -> Option<OrderId> {
        let id = OrderId(self.next_order_id);
        let order = Order {
            intent_id,
            role,
            ..Order::new(id, leg, style, qty, now_ns)
        };
        self.venue.submit(order, now_ns).ok()?;
        self.next_order_id += 1;
        self.outbox.push(GatewayRecord::OrderSent(order));
        Some(id)
    }

    fn cancel(&mut self, id: Option<OrderId>) {
        if let Some(done) = id.and_then(|id| self.venue.cancel(id)) {
            self.outbox.push(GatewayRecord::OrderDone(done));
        }
    }

    /// The IOC limit of a close: the touch moved by the exit slippage; `None` when the
    /// book has no opposite side.
    fn exit_limit(&self, instrument: InstrumentId, side: OrderSide) -> Option<Price> {
        let book = self.venue.book(instrument)?;
        let touch = match side {
            OrderSide::Buy => book.best_ask()?,
            OrderSide::Sell => book.best_bid()?,
        };
        Some(band_limit(touch.price, self.exit_slippage_bps, side))
    }
}

/// What a step changed, for the gateway's accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// Still working (or open).
    Working,
    /// The trade closed: release its legs and book its PnL.
    Closed,
    /// Abandoned: nothing filled, nothing to book.
    Abandoned,
}

/// One two-leg trade.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trade {
    /// Id.
    pub id: TradeId,
    /// The intent it came from.
    pub intent_id: u64,
    /// Emitting strategy.
    pub strategy: Strategy,
    /// Both legs, in the intent's order.
    pub legs: [TradeLeg; 2],
    /// Index of the leg that goes first.
    pub hard: usize,
    /// Phase.
    pub phase: Phase,
    /// Deadline of the working leg, ns.
    pub deadline_ns: u64,
    /// When the hard leg first filled, ns.
    pub first_fill_ns: Option<u64>,
    /// When the entry was matched or its hedge sent, ns.
    pub matched_ns: Option<u64>,
    /// Why it is closing.
    pub exit_reason: Option<ExitReason>,
    /// Entry spread (sell leg over buy leg), bps, set when opened.
    pub entry_spread_bps: Bps,
    /// Expected profit at intent, bps of notional.
    pub expected_profit_bps: Bps,
    /// Whether the funding delta was above the convergence threshold at entry.
    pub funding_driven: bool,
    /// Whether a slow venue downgraded the trade (reduced size, IOC legs).
    pub downgraded: bool,
    /// Whether its size was raised to a venue minimum.
    pub sized_up: bool,
    /// Leg-outs so far.
    pub leg_outs: u32,
    /// Their loss.
    pub leg_out_loss_raw: i128,
    /// Funding its perp legs received (positive) or paid, raw 10^-8 quote units; part
    /// of its PnL, already in the portfolio's cash when paid.
    pub funding_raw: i128,
    /// The intent's confidence, 0..=100.
    pub confidence: u8,
    /// When the gateway took the intent, ns.
    pub decided_ns: u64,
    /// Since when one leg is on without the other (entry: the hard leg's first fill;
    /// exit: the hard leg's close), ns.
    naked_since_ns: u64,
}

impl Trade {
    /// A trade about to send its hard leg.
    pub fn new(
        id: TradeId,
        intent_id: u64,
        strategy: Strategy,
        legs: [TradeLeg; 2],
        hard: usize,
        expected_profit_bps: Bps,
    ) -> Self {
        Self {
            id,
            intent_id,
            strategy,
            legs,
            hard,
            phase: Phase::EntryHard,
            deadline_ns: 0,
            first_fill_ns: None,
            matched_ns: None,
            exit_reason: None,
            entry_spread_bps: Bps::ZERO,
            expected_profit_bps,
            funding_driven: false,
            downgraded: false,
            sized_up: false,
            leg_outs: 0,
            leg_out_loss_raw: 0,
            funding_raw: 0,
            confidence: 0,
            decided_ns: 0,
            naked_since_ns: 0,
        }
    }

    fn easy(&self) -> usize {
        1 - self.hard
    }

    /// Whether an order belongs to this trade (is working for one of its legs).
    pub fn owns(&self, id: OrderId) -> bool {
        self.legs.iter().any(|l| l.order == Some(id))
    }

    /// Sends the hard leg at `now_ns`; false when the venue could not take it.
    pub fn start(&mut self, now_ns: u64, ctx: &mut ExecCtx) -> bool {
        let leg = self.legs[self.hard];
        self.legs[self.hard].order = ctx.send(
            leg.order_leg,
            leg.style,
            leg.qty,
            now_ns,
            (self.intent_id, OrderRole::First),
        );
        self.deadline_ns = now_ns + ctx.leg_timeout_ns;
        self.legs[self.hard].order.is_some()
    }

    /// Books a fill of one of this trade's orders; returns the leg index and whether it
    /// was an entry fill (which locks capital).
    pub fn on_fill(&mut self, fill: &Fill) -> Option<(usize, bool)> {
        let i = self.legs.iter().position(|l| l.order == Some(fill.order))?;
        let entering = matches!(
            self.phase,
            Phase::EntryHard | Phase::EntryEasy | Phase::EntryHedge
        );
        let leg = &mut self.legs[i];
        if entering {
            leg.entry.add(fill);
        } else {
            leg.exit.add(fill);
        }
        if let Some(h) = leg.hedge.as_mut().filter(|h| h.side == fill.side) {
            h.done.add(fill);
        }
        if self.phase == Phase::EntryHard && self.first_fill_ns.is_none() {
            self.first_fill_ns = Some(fill.ts_ns);
            self.naked_since_ns = fill.ts_ns;
        }
        Some((i, entering))
    }

    /// Books the end of one of this trade's orders.
    pub fn on_done(&mut self, order: &Order) {
        for leg in &mut self.legs {
            if leg.order == Some(order.id) {
                leg.order = None;
            }
        }
    }

    /// Starts closing the trade for `reason`.
    pub fn begin_exit(&mut self, reason: ExitReason, now_ns: u64, ctx: &mut ExecCtx) {
        self.exit_reason = Some(reason);
        self.phase = Phase::ExitHard;
        let market = reason == ExitReason::SpreadStop;
        self.send_close(self.hard, market, now_ns, ctx);
    }

    /// Cancels what works and closes everything at market (kill switch, breaker,
    /// liquidation). A one-sided entry counts as covered from now: its flatten is its
    /// hedge. A trade already flattening keeps its first reason.
    pub fn flatten(&mut self, reason: ExitReason, now_ns: u64, ctx: &mut ExecCtx) {
        if matches!(
            self.phase,
            Phase::Closed | Phase::Abandoned | Phase::Flatten
        ) {
            return;
        }
        if self.first_fill_ns.is_some() {
            self.matched_ns.get_or_insert(now_ns);
        }
        for i in 0..2 {
            ctx.cancel(self.legs[i].order.take());
            self.finish_hedge(i, &mut ctx.outbox);
        }
        self.exit_reason = Some(reason);
        self.phase = Phase::Flatten;
    }

    /// Closes the trade where it stands without sending an order (the end of a run):
    /// working orders are cancelled, a hedge in progress is finished (its leg-out
    /// recorded), and each leg's open quantity is booked as exited at `marks[i]` (what
    /// it would exit at now: the bid for a long, the ask for a short; `None` when the
    /// book has no such side: the leg's own entry price) paying `taker_centi_bps[i]`.
    /// Returns how many open legs had no mark.
    pub fn close_at_marks(
        &mut self,
        marks: [Option<Price>; 2],
        taker_centi_bps: [i64; 2],
        now_ns: u64,
        ctx: &mut ExecCtx,
    ) -> u32 {
        if self.first_fill_ns.is_some() {
            self.matched_ns.get_or_insert(now_ns);
        }
        let mut missing = 0;
        for (i, mark) in marks.into_iter().enumerate() {
            ctx.cancel(self.legs[i].order.take());
            self.finish_hedge(i, &mut ctx.outbox);
            let leg = &mut self.legs[i];
            let net = leg.net();
            if net.is_zero() {
                continue;
            }
            missing += u32::from(mark.is_none());
            let price = mark.unwrap_or_else(|| leg_entry_price(leg));
            let notional = price.notional_raw(net);
            leg.exit.qty = Qty::from_raw(leg.exit.qty.raw() + net.raw());
            leg.exit.notional_raw += notional;
            leg.exit.fees_raw += fee_raw(notional, taker_centi_bps[i]);
        }
        self.exit_reason = Some(ExitReason::EndOfRun);
        let traded = self.legs.iter().any(|l| !l.entry.qty.is_zero());
        self.phase = if traded {
            Phase::Closed
        } else {
            Phase::Abandoned
        };
        missing
    }

    /// The venue liquidated leg `i` at `price` (isolated margin, see
    /// [`crate::gateway::margin`]): its open quantity is booked as exited there, paying
    /// `taker_centi_bps`, and the rest of the trade is flattened at market with reason
    /// `LIQUIDATION`.
    pub fn liquidate_leg(
        &mut self,
        i: usize,
        price: Price,
        taker_centi_bps: i64,
        now_ns: u64,
        ctx: &mut ExecCtx,
    ) {
        ctx.cancel(self.legs[i].order.take());
        self.finish_hedge(i, &mut ctx.outbox);
        let leg = &mut self.legs[i];
        let net = leg.net();
        let notional = price.notional_raw(net);
        leg.exit.qty = Qty::from_raw(leg.exit.qty.raw() + net.raw());
        leg.exit.notional_raw += notional;
        leg.exit.fees_raw += fee_raw(notional, taker_centi_bps);
        self.flatten(ExitReason::Liquidation, now_ns, ctx);
    }

    fn send_close(&mut self, i: usize, market: bool, now_ns: u64, ctx: &mut ExecCtx) {
        let leg = self.legs[i];
        let side = leg.order_leg.side.opposite();
        let limit = if market {
            None
        } else {
            ctx.exit_limit(leg.order_leg.instrument, side)
        };
        let style = if limit.is_some() {
            OrderStyle::Ioc
        } else {
            OrderStyle::Market
        };
        let order_leg = OrderLeg {
            side,
            limit: limit.unwrap_or(Price::ZERO),
            ..leg.order_leg
        };
        self.legs[i].order = ctx.send(
            order_leg,
            style,
            leg.net(),
            now_ns,
            (self.intent_id, OrderRole::Exit),
        );
        self.legs[i].order_limit = order_leg.limit;
    }

    /// Sends the rest of leg `i` at market as a hedge (or a hedge retry).
    fn send_hedge(
        &mut self,
        i: usize,
        stage: TradeStage,
        qty: Qty,
        now_ns: u64,
        ctx: &mut ExecCtx,
    ) {
        let leg = &mut self.legs[i];
        let side = match stage {
            TradeStage::Entry => leg.order_leg.side,
            TradeStage::Exit => leg.order_leg.side.opposite(),
        };
        if leg.hedge.is_none() {
            leg.hedge = Some(Hedge {
                stage,
                naked_since_ns: self.naked_since_ns,
                sent_ns: now_ns,
                side,
                limit: leg.order_limit,
                done: Executed::default(),
            });
        }
        let order_leg = OrderLeg {
            side,
            ..leg.order_leg
        };
        leg.order = ctx.send(
            order_leg,
            OrderStyle::Market,
            qty,
            now_ns,
            (self.intent_id, OrderRole::Hedge),
        );
    }

    fn finish_hedge(&mut self, i: usize, outbox: &mut Outbox) {
        let Some(h) = self.legs[i].hedge.take() else {
            return;
        };
        let planned = h.limit.notional_raw(h.done.qty);
        let adverse = match h.side {
            OrderSide::Buy => h.done.notional_raw - planned,
            OrderSide::Sell => planned - h.done.notional_raw,
        };
        let price = if h.done.qty.is_zero() {
            Price::ZERO
        } else {
            Price::from_raw(mul_div(h.done.notional_raw, Price::SCALE, h.done.qty.raw()))
        };
        let loss = adverse + h.done.fees_raw;
        self.leg_outs += 1;
        self.leg_out_loss_raw += loss;
        let other = &self.legs[1 - i];
        let (other_side, other_done) = match h.stage {
            TradeStage::Entry => (other.order_leg.side, other.entry),
            TradeStage::Exit => (other.order_leg.side.opposite(), other.exit),
        };
        outbox.push(GatewayRecord::LegOut(LegOut {
            trade: self.id,
            intent_id: self.intent_id,
            leg: i,
            instrument: self.legs[i].order_leg.instrument,
            filled_instrument: other.order_leg.instrument,
            filled_side: other_side,
            filled: other_done,
            stage: h.stage,
            naked_since_ns: h.naked_since_ns,
            hedge_sent_ns: h.sent_ns,
            qty: h.done.qty,
            hedge_price: price,
            loss_raw: loss,
        }));
    }

    /// Entry quantity leg `i` may still fill, venue units: the hard leg's unfilled rest
    /// while it works (the easy leg's planned quantity until then), the easy leg's
    /// rest of its target while it or its hedge works, nothing once the entry is done.
    pub fn entry_left(&self, i: usize) -> Qty {
        let leg = &self.legs[i];
        let left = match self.phase {
            Phase::EntryHard if i == self.hard => leg.qty.raw() - leg.entry.qty.raw(),
            Phase::EntryHard => leg.qty.raw(),
            Phase::EntryEasy | Phase::EntryHedge if i != self.hard => {
                self.easy_target().raw() - leg.entry.qty.raw()
            }
            _ => 0,
        };
        Qty::from_raw(left.max(0))
    }

    /// The easy leg's entry target: the hard leg's filled base quantity in the easy
    /// leg's units.
    fn easy_target(&self) -> Qty {
        let hard = &self.legs[self.hard];
        let base = hard.base_raw(hard.entry.qty);
        let easy = &self.legs[self.easy()];
        Qty::from_raw(mul_div(base, Qty::SCALE, easy.contract_size.raw().max(1)))
    }

    /// Runs the state machine at `now_ns` until nothing changes.
    pub fn step(&mut self, now_ns: u64, ctx: &mut ExecCtx) -> StepOutcome {
        loop {
            let before = self.phase;
            let outcome = match self.phase {
                Phase::EntryHard => self.step_entry_hard(now_ns, ctx),
                Phase::EntryEasy | Phase::EntryHedge => self.step_entry_easy(now_ns, ctx),
                Phase::Open => StepOutcome::Working,
                Phase::ExitHard => self.step_exit_hard(now_ns, ctx),
                Phase::ExitEasy | Phase::ExitHedge => self.step_exit_easy(now_ns, ctx),
                Phase::Flatten => self.step_flatten(now_ns, ctx),
                Phase::Closed => StepOutcome::Closed,
                Phase::Abandoned => StepOutcome::Abandoned,
            };
            if self.phase == before || outcome != StepOutcome::Working {
                return outcome;
            }
        }
    }

    fn step_entry_hard(&mut self, now_ns: u64, ctx: &mut ExecCtx) -> StepOutcome {
        let (hard, easy) = (self.hard, self.easy());
        if !self.legs[hard].entry.qty.is_zero() {
            ctx.cancel(self.legs[hard].order.take());
            let leg = self.legs[easy];
            let target = self.easy_target();
            self.legs[easy].order = ctx.send(
                leg.order_leg,
                leg.style,
                target,
                now_ns,
                (self.intent_id, OrderRole::Second),
            );
            self.deadline_ns = self.first_fill_ns.unwrap_or(now_ns) + ctx.leg_timeout_ns;
            self.phase = Phase::EntryEasy;
        } else if self.legs[hard].order.is_none() || now_ns >= self.deadline_ns {
            ctx.cancel(self.legs[hard].order.take());
            self.phase = Phase::Abandoned;
            return StepOutcome::Abandoned;
        }
        StepOutcome::Working
    }

    fn step_entry_easy(&mut self, now_ns: u64, ctx: &mut ExecCtx) -> StepOutcome {
        let easy = self.easy();
        let left = self.easy_target().raw() - self.legs[easy].entry.qty.raw();
        if left <= 0 {
            if self.phase == Phase::EntryHedge {
                self.finish_hedge(easy, &mut ctx.outbox);
            }
            self.matched_ns.get_or_insert(now_ns);
            self.open();
            return StepOutcome::Working;
        }
        let idle = self.legs[easy].order.is_none();
        if self.phase == Phase::EntryEasy && (idle || now_ns >= self.deadline_ns) {
            ctx.cancel(self.legs[easy].order.take());
            self.matched_ns = Some(now_ns);
            self.phase = Phase::EntryHedge;
            self.send_hedge(easy, TradeStage::Entry, Qty::from_raw(left), now_ns, ctx);
        } else if self.phase == Phase::EntryHedge && idle {
            self.send_hedge(easy, TradeStage::Entry, Qty::from_raw(left), now_ns, ctx);
        }
        StepOutcome::Working
    }

    fn open(&mut self) {
        self.phase = Phase::Open;
        let (buy, sell) = match self.legs[0].order_leg.side {
            OrderSide::Buy => (&self.legs[0], &self.legs[1]),
            OrderSide::Sell => (&self.legs[1], &self.legs[0]),
        };
        let buy_px = unit_value(buy);
        self.entry_spread_bps = bps_of(unit_value(sell) - buy_px, buy_px);
    }

    fn step_exit_hard(&mut self, now_ns: u64, ctx: &mut ExecCtx) -> StepOutcome {
        let (hard, easy) = (self.hard, self.easy());
        if self.legs[hard].net().is_zero() {
            self.naked_since_ns = now_ns;
            self.send_close(
                easy,
                self.exit_reason == Some(ExitReason::SpreadStop),
                now_ns,
                ctx,
            );
            self.deadline_ns = now_ns + ctx.leg_timeout_ns;
            self.phase = Phase::ExitEasy;
        } else if self.legs[hard].order.is_none() {
            if self.legs[hard].exit.qty.is_zero() {
                self.phase = Phase::Open;
                self.exit_reason = None;
            } else {
                self.send_close(hard, true, now_ns, ctx);
            }
        }
        StepOutcome::Working
    }

    fn step_exit_easy(&mut self, now_ns: u64, ctx: &mut ExecCtx) -> StepOutcome {
        let easy = self.easy();
        let left = self.legs[easy].net();
        if left.is_zero() {
            if self.phase == Phase::ExitHedge {
                self.finish_hedge(easy, &mut ctx.outbox);
            }
            self.phase = Phase::Closed;
            return StepOutcome::Closed;
        }
        let idle = self.legs[easy].order.is_none();
        if self.phase == Phase::ExitEasy && (idle || now_ns >= self.deadline_ns) {
            ctx.cancel(self.legs[easy].order.take());
            self.phase = Phase::ExitHedge;
            self.send_hedge(easy, TradeStage::Exit, left, now_ns, ctx);
        } else if self.phase == Phase::ExitHedge && idle {
            self.send_hedge(easy, TradeStage::Exit, left, now_ns, ctx);
        }
        StepOutcome::Working
    }

    fn step_flatten(&mut self, now_ns: u64, ctx: &mut ExecCtx) -> StepOutcome {
        let mut open = false;
        for i in 0..2 {
            let leg = self.legs[i];
            if !leg.net().is_zero() {
                open = true;
                if leg.order.is_none() {
                    self.send_close(i, true, now_ns, ctx);
                }
            }
        }
        if open {
            return StepOutcome::Working;
        }
        let traded = self.legs.iter().any(|l| !l.entry.qty.is_zero());
        self.phase = if traded {
            Phase::Closed
        } else {
            Phase::Abandoned
        };
        if traded {
            StepOutcome::Closed
        } else {
            StepOutcome::Abandoned
        }
    }

    /// The trade's realised PnL (meaningful once closed), its funding included.
    pub fn pnl_raw(&self) -> i128 {
        self.legs.iter().map(TradeLeg::pnl_raw).sum::<i128>() + self.funding_raw
    }

    /// Cost locked by both legs.
    pub fn locked_raw(&self) -> i128 {
        self.legs.iter().map(TradeLeg::locked_raw).sum()
    }

    /// Venues of the legs.
    pub fn venues(&self) -> [Venue; 2] {
        [self.legs[0].order_leg.venue, self.legs[1].order_leg.venue]
    }
}

/// A leg's mean entry price per venue unit (zero before any entry fill).
fn leg_entry_price(leg: &TradeLeg) -> Price {
    if leg.entry.qty.is_zero() {
        return Price::ZERO;
    }
    Price::from_raw(mul_div(
        leg.entry.notional_raw,
        Price::SCALE,
        leg.entry.qty.raw(),
    ))
}

/// Entry value per base unit of a leg, raw 10^-8 quote units per whole base unit.
fn unit_value(leg: &TradeLeg) -> i128 {
    let base = leg.base_raw(leg.entry.qty);
    if base == 0 {
        return 0;
    }
    leg.entry.notional_raw * Qty::SCALE / base
}
