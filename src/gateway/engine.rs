//! [`Gateway`]: risk, sizing, the paper venue, two-leg execution and the portfolio put
//! together, driven by three calls a stage makes: [`Gateway::on_market`] for each market
//! event, [`Gateway::on_intent`] for each intent, [`Gateway::poll`] for timeouts, exits,
//! the kill switch and the breakers; and [`Gateway::close_at_end`] once, when the run
//! ends, to close every position at the marks (`END_OF_RUN`). Each trade's working
//! entry orders hold a reservation in the portfolio (see `sync_reservation`), so risk
//! sees filled plus working exposure.
//!
//! Perpetuals cost money: at each funding settlement ([`crate::gateway::funding`]) every
//! open perp leg pays or receives funding into cash and its trade's PnL; each perp leg
//! posts its initial margin ([`crate::gateway::margin`]) and, when the mark (the feed's
//! mark price, else the book mid) crosses its liquidation price, the paper venue closes
//! it there and the trade is flattened (`LIQUIDATION`). Entries are refused when free
//! margin would not cover them (`margin`), past `risk.max_leverage` (`leverage`) or past
//! the correlated exposure cap ([`crate::gateway::correlation`], `correlation`).
//!
//! Owned by the gateway thread. Everything is sized in [`Gateway::new`] from the
//! configuration and the instrument registry; nothing allocates afterwards. Time comes
//! in as [`Now`]: the raw clock reading (intent expiry is in raw ticks) and nanoseconds
//! (latency, timeouts, rates, days); the gateway never reads a clock.

use crate::gateway::config::{
    BPS_ONE, BreakerAction, GatewayConfig, GatewayConfigError, LatencyAction, NS_PER_MS,
    venue_index,
};
use crate::gateway::correlation::Correlation;
use crate::gateway::execution::{ExecCtx, Phase, StepOutcome, Trade, TradeLeg};
use crate::gateway::funding::{FundingBook, payment_raw};
use crate::gateway::margin::{MarginRule, crossed};
use crate::gateway::order::{OrderLeg, OrderStyle};
use crate::gateway::paper::{PaperVenue, VenueEvent, fee_raw};
use crate::gateway::portfolio::{Portfolio, PortfolioSnapshot, TradeResult};
use crate::gateway::record::{ClosedLeg, ClosedTrade, ExitReason, GatewayRecord, Outbox, TradeId};
use crate::gateway::risk::{BreakerEvent, KillSwitch, LegExposure, RejectReason, RiskEngine};
use crate::gateway::sizing::{AtrTracker, LegRules, SizeRequest, Sizer};
use crate::gateway::venue::{LiveOrders, LiveRoutes};
use crate::types::bps::{Bps, bps_of};
use crate::types::decimal::mul_div;
use crate::types::{
    EventBody, ExecStyle, FundingFields, Instrument, InstrumentId, InstrumentRegistry, MarketEvent,
    MarketKind, OrderIntent, OrderSide, Price, Qty, Rate, Side, Strategy, Venue,
};

/// Index of a strategy in per-strategy arrays.
fn strategy_index(strategy: Strategy) -> usize {
    match strategy {
        Strategy::Basis => 0,
        Strategy::CrossVenue => 1,
    }
}

/// The time of a call: the raw clock reading and the same instant in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Now {
    /// Raw clock ticks (compared with `OrderIntent::expires_raw`).
    pub raw: u64,
    /// Nanoseconds (unix or simulated; days roll at multiples of 24 h).
    pub ns: u64,
}

/// Static rules of one instrument, copied from the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rules {
    venue: Venue,
    kind: MarketKind,
    sizing: LegRules,
    margin: MarginRule,
}

impl Rules {
    fn of(i: &Instrument, cfg: &GatewayConfig) -> Self {
        let m = &cfg.margin;
        let own = m
            .instruments
            .iter()
            .find(|(id, _)| *id == i.id)
            .map(|(_, o)| *o)
            .unwrap_or_default();
        let margin = match i.kind {
            MarketKind::Spot => MarginRule::FUNDED,
            MarketKind::Perp => MarginRule {
                margined: true,
                leverage: own.leverage.unwrap_or(m.leverage),
                initial_bps: own.initial_bps,
                maintenance_bps: own
                    .maintenance_bps
                    .unwrap_or(m.maintenance_bps[venue_index(i.venue)]),
            },
        };
        Self {
            margin,
            venue: i.venue,
            kind: i.kind,
            sizing: LegRules {
                limit: Price::ZERO,
                tick_size: i.tick_size,
                lot_size: i.lot_size,
                contract_size: i.contract_size,
                min_notional: i.min_notional,
            },
        }
    }
}

/// Gateway counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GatewayCounters {
    /// Intents received.
    pub intents: u64,
    /// Intents accepted (a hard leg was sent).
    pub accepted: u64,
    /// Intents downgraded for a slow venue.
    pub downgraded: u64,
    /// Trades abandoned (hard leg unfilled).
    pub abandoned: u64,
    /// Trades closed.
    pub closed: u64,
    /// Flattens (kill switch or breaker).
    pub flattens: u64,
    /// Entries planned at a venue minimum the method's size was under (rounded up).
    pub sized_up_to_minimum: u64,
    /// Entries filled: both legs on (the trade opened), hedged ones included.
    pub entries_filled: u64,
    /// Entries whose second leg was completed by a market hedge (a leg-out).
    pub entries_hedged: u64,
    /// Trades closed at the marks at the end of the run (`END_OF_RUN`).
    pub end_of_run_closed: u64,
    /// Legs closed at the end of the run without a mark (their book had no touch; the
    /// entry price was used).
    pub end_marks_missing: u64,
    /// Live fills that arrived after their trade ended, flattened by the venue.
    pub orphan_fills: u64,
    /// Entry fills that locked more than their reservation (a market hedge or a sell
    /// that filled beyond the reserve price): the one way exposure can pass a cap.
    pub reservation_overruns: u64,
    /// Funding settlements booked (one per open perp leg and settlement).
    pub funding_payments: u64,
    /// Settlements with open legs but no mark or book to price them (nothing paid).
    pub funding_unpriced: u64,
    /// Perp legs the paper venue liquidated.
    pub liquidations: u64,
}

/// The gateway.
pub struct Gateway {
    cfg: GatewayConfig,
    rules: Vec<Rules>,
    risk: RiskEngine,
    sizer: Sizer,
    exec: ExecCtx,
    portfolio: Portfolio,
    trades: Vec<Trade>,
    events: Vec<VenueEvent>,
    atr: Vec<AtrTracker>,
    funding: FundingBook,
    correlation: Correlation,
    next_trade_id: u64,
    /// The last intent id entered, per strategy ([`strategy_index`]): ids increase per
    /// strategy (the edge stage numbers them so), and an id at or below it already
    /// entered or was overtaken, so it is refused ([`RejectReason::DuplicateIntent`]).
    last_entered: [Option<u64>; 2],
    kill_handled: bool,
    flatten_due: bool,
    counters: GatewayCounters,
}

impl Gateway {
    /// A gateway over the instruments of `registry`, after validating `cfg`.
    pub fn new(
        cfg: GatewayConfig,
        registry: &InstrumentRegistry,
        kill: KillSwitch,
    ) -> Result<Self, GatewayConfigError> {
        let n = registry.len();
        cfg.validate(n)?;
        let markets: Vec<(Venue, MarketKind)> =
            registry.iter().map(|i| (i.venue, i.kind)).collect();
        let s = &cfg.sizing;
        let atr = AtrTracker::new(s.atr_bar_ms * NS_PER_MS, s.atr_fast_bars, s.atr_slow_bars);
        let hours = |v: Venue| cfg.exits.funding_interval_h[venue_index(v)];
        let r = &cfg.risk;
        Ok(Self {
            funding: FundingBook::new(registry.iter().map(|i| (i.kind, hours(i.venue)))),
            correlation: Correlation::new(
                n,
                r.correlation_bar_ms * NS_PER_MS,
                r.correlation_window,
                r.correlation_min_bars,
            ),
            rules: registry.iter().map(|i| Rules::of(i, &cfg)).collect(),
            risk: RiskEngine::new(&cfg.risk, n, cfg.starting_capital_raw, kill),
            sizer: Sizer::new(cfg.sizing.clone()),
            exec: ExecCtx {
                venue: PaperVenue::new(&cfg.paper, &markets),
                live: LiveRoutes::default(),
                next_order_id: 1,
                outbox: Outbox::new(cfg.records_max),
                leg_timeout_ns: cfg.execution.leg_timeout_ns,
                exit_slippage_bps: cfg.exits.limit_slippage_bps,
            },
            portfolio: Portfolio::new(cfg.starting_capital_raw, n),
            trades: Vec::with_capacity(cfg.execution.trades_max),
            events: Vec::with_capacity(4 * cfg.paper.orders_max),
            atr: vec![atr; n],
            next_trade_id: 1,
            last_entered: [None; 2],
            kill_handled: false,
            flatten_due: false,
            counters: GatewayCounters::default(),
            cfg,
        })
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &GatewayConfig {
        &self.cfg
    }

    /// The portfolio.
    pub fn portfolio(&self) -> &Portfolio {
        &self.portfolio
    }

    /// The risk engine (rejection counts, blacklist, kill switch).
    pub fn risk(&self) -> &RiskEngine {
        &self.risk
    }

    /// The risk engine, to edit the blacklist or re-arm the drawdown halt.
    pub fn risk_mut(&mut self) -> &mut RiskEngine {
        &mut self.risk
    }

    /// The paper venue (its books, latencies, working orders).
    pub fn venue(&self) -> &PaperVenue {
        &self.exec.venue
    }

    /// The paper venue, to set a measured latency.
    pub fn venue_mut(&mut self) -> &mut PaperVenue {
        &mut self.exec.venue
    }

    /// Routes `venue`'s orders to a live venue (start-up only; see `gateway::venue`).
    pub fn set_live(&mut self, venue: Venue, live: Box<dyn LiveOrders>) {
        self.exec.live.set(venue, live);
    }

    /// The live venues.
    pub fn live(&self) -> &LiveRoutes {
        &self.exec.live
    }

    /// Trades executing or open.
    pub fn trades(&self) -> &[Trade] {
        &self.trades
    }

    /// Counters.
    pub fn counters(&self) -> GatewayCounters {
        self.counters
    }

    /// Records dropped because the outbox was full.
    pub fn records_dropped(&self) -> u64 {
        self.exec.outbox.dropped()
    }

    /// Hands every pending record to `f` (the stage forwards them to telemetry).
    pub fn drain_records(&mut self, f: impl FnMut(GatewayRecord)) {
        self.exec.outbox.drain(f);
    }

    /// The next time something is due without new input (an arrival, a leg deadline
    /// or a maximum holding time), ns: the driver polls no later than this.
    pub fn next_wakeup_ns(&self) -> Option<u64> {
        let deadlines = self
            .trades
            .iter()
            .filter(|t| {
                matches!(
                    t.phase,
                    Phase::EntryHard | Phase::EntryEasy | Phase::ExitEasy
                )
            })
            .map(|t| t.deadline_ns);
        let holds = self.trades.iter().filter_map(|t| self.hold_deadline_ns(t));
        let funding = self
            .funding
            .next_due_ns()
            .filter(|_| self.trades.iter().any(|t| t.first_fill_ns.is_some()));
        deadlines
            .chain(holds)
            .chain(self.exec.venue.next_arrival_ns())
            .chain(funding)
            .min()
    }

    /// Feeds one market event (in time order).
    pub fn on_market(&mut self, now: Now, event: &MarketEvent) {
        let events = &mut self.events;
        self.exec
            .venue
            .on_market(now.ns, event, &mut |e| events.push(e));
        self.poll_live(now.ns);
        let id = event.instrument.index();
        match event.body {
            EventBody::Funding {
                rate,
                mark,
                next_funding_ms,
                fields,
                ..
            } => {
                // What was due settles at the rate in force before this event.
                self.settle_funding(now.ns);
                let values = (rate, mark, next_funding_ms);
                self.funding.on_event(id, now.ns, fields, values);
                if fields.contains(FundingFields::MARK) {
                    self.check_liquidations(now.ns);
                }
            }
            EventBody::Trade { .. } | EventBody::OpenInterest { .. } => {}
            _ => {
                if let (Some(mid), Some(atr)) = (
                    self.exec.venue.book(event.instrument).and_then(|b| b.mid()),
                    self.atr.get_mut(id),
                ) {
                    atr.on_mid(now.ns, mid);
                    self.correlation.on_mid(id, now.ns, mid.raw());
                }
            }
        }
        self.dispatch(now.ns);
    }

    /// Handles one intent: risk, sizing, then the hard leg is sent. A refusal sends
    /// nothing, is counted by reason and recorded.
    pub fn on_intent(&mut self, now: Now, intent: &OrderIntent) -> Result<TradeId, RejectReason> {
        self.counters.intents += 1;
        let result = self.try_enter(now, intent);
        if let Err(reason) = result {
            self.exec.outbox.push(GatewayRecord::Rejected {
                intent_id: intent.id,
                reason,
                ts_ns: now.ns,
            });
        }
        result
    }

    /// Risk, sizing and order build for an intent, without sending anything: the trade
    /// [`Gateway::on_intent`] would start. Refusals are counted by reason (not recorded).
    pub fn plan_entry(&mut self, now: Now, intent: &OrderIntent) -> Result<Trade, RejectReason> {
        let ids = [intent.legs[0].instrument, intent.legs[1].instrument];
        let valid = ids.iter().all(|i| i.index() < self.rules.len())
            && ids[0] != ids[1]
            && intent.legs[0].side != intent.legs[1].side;
        if !valid {
            return Err(self.risk.reject(RejectReason::InvalidIntent));
        }
        if self.last_entered[strategy_index(intent.strategy)].is_some_and(|last| intent.id <= last)
        {
            return Err(self.risk.reject(RejectReason::DuplicateIntent));
        }
        self.risk
            .check_pre(now.ns, now.raw, intent.expires_raw, ids)?;
        if ids
            .iter()
            .any(|&i| !self.exec.live.ready(self.rules[i.index()].venue))
        {
            return Err(self.risk.reject(RejectReason::VenueNotReady));
        }
        let slow = ids.iter().any(|&i| {
            self.exec.venue.latency_ns(self.rules[i.index()].venue)
                > self.cfg.execution.latency_limit_ns
        });
        let downgrade = slow && self.cfg.execution.latency_action == LatencyAction::Downgrade;
        if slow && !downgrade {
            return Err(self.risk.reject(RejectReason::VenueTooSlow));
        }
        if self.trades.len() >= self.cfg.execution.trades_max {
            return Err(self.risk.reject(RejectReason::TradeSlots));
        }
        let (legs, rounded_up) = self.size_legs(intent, downgrade)?;
        let band = self.cfg.paper.market_band_bps;
        let exposure = |l: &TradeLeg| {
            let margin = &self.rules[l.order_leg.instrument.index()].margin;
            let (reserve_raw, reserve_cash_raw) =
                reserve_costs(band, &self.exec.venue, margin, l, l.qty);
            LegExposure {
                instrument: l.order_leg.instrument,
                venue: l.order_leg.venue,
                notional_raw: l.order_leg.limit.notional_raw(l.qty),
                reserve_raw,
                reserve_cash_raw,
            }
        };
        let exposures = [exposure(&legs[0]), exposure(&legs[1])];
        self.risk
            .check_sized(&exposures, &self.portfolio.exposure(), rounded_up)?;
        let added = [0, 1].map(|i| {
            let l = &legs[i];
            (
                l.order_leg.instrument.index(),
                l.order_leg.side,
                exposures[i].reserve_raw,
            )
        });
        let existing = self.trades.iter().flat_map(|t| {
            t.legs.iter().map(|l| {
                let committed = l.locked_raw() + l.reserved_raw;
                (l.order_leg.instrument.index(), l.order_leg.side, committed)
            })
        });
        let cap = self.cfg.risk.correlated_exposure_max_raw;
        if !self.correlation.within_cap(existing, &added, cap) {
            return Err(self.risk.reject(RejectReason::Correlation));
        }
        let rank = |l: &TradeLeg| {
            (
                self.cfg.execution.venue_rank[venue_index(l.order_leg.venue)],
                l.style == OrderStyle::PostOnly,
            )
        };
        let hard = usize::from(rank(&legs[1]) > rank(&legs[0]));
        let id = TradeId(self.next_trade_id);
        let mut trade = Trade::new(
            id,
            intent.id,
            intent.strategy,
            legs,
            hard,
            intent.expected_profit_bps,
        );
        trade.downgraded = downgrade;
        trade.sized_up = rounded_up;
        trade.confidence = intent.confidence;
        trade.decided_ns = now.ns;
        Ok(trade)
    }

    fn try_enter(&mut self, now: Now, intent: &OrderIntent) -> Result<TradeId, RejectReason> {
        let mut trade = self.plan_entry(now, intent)?;
        let id = trade.id;
        if !trade.start(now.ns, &mut self.exec) {
            return Err(self.risk.reject(RejectReason::TradeSlots));
        }
        self.next_trade_id += 1;
        self.last_entered[strategy_index(intent.strategy)] = Some(intent.id);
        self.risk.record_entry(now.ns);
        self.counters.accepted += 1;
        self.counters.downgraded += u64::from(trade.downgraded);
        self.counters.sized_up_to_minimum += u64::from(trade.sized_up);
        let band = self.cfg.paper.market_band_bps;
        sync_reservation(
            &mut self.portfolio,
            band,
            &self.exec.venue,
            &self.rules,
            &mut trade,
        );
        self.trades.push(trade);
        Ok(id)
    }

    /// Both legs sized, and whether the size was raised to a venue minimum.
    fn size_legs(
        &mut self,
        intent: &OrderIntent,
        downgrade: bool,
    ) -> Result<([TradeLeg; 2], bool), RejectReason> {
        let rules = intent.legs.map(|l| self.rules[l.instrument.index()]);
        let vol = intent
            .legs
            .iter()
            .map(|l| self.atr[l.instrument.index()].scale_per_mille())
            .min()
            .unwrap_or(1_000);
        let mut base_max = intent.qty;
        if downgrade {
            base_max = Qty::from_raw(mul_div(
                base_max.raw(),
                i128::from(self.cfg.execution.latency_downgrade_bps),
                i128::from(BPS_ONE),
            ));
        }
        let req = SizeRequest {
            legs: [0, 1].map(|i| LegRules {
                limit: intent.legs[i].limit,
                ..rules[i].sizing
            }),
            confidence: intent.confidence,
            net_spread_bps: intent.expected_profit_bps,
            equity_raw: self.portfolio.equity_raw(),
            available_raw: self.portfolio.available_raw(),
            vol_scale_per_mille: vol,
            base_qty_max: base_max,
            round_up: !downgrade,
        };
        let sized = self
            .sizer
            .size(&req)
            .map_err(|_| self.risk.reject(RejectReason::Size))?;
        let legs = [0, 1].map(|i| {
            let leg = intent.legs[i];
            let order_leg = OrderLeg {
                instrument: leg.instrument,
                venue: rules[i].venue,
                side: leg.side,
                limit: leg.limit,
            };
            let style = match leg.style {
                ExecStyle::PostOnly if !downgrade => OrderStyle::PostOnly,
                _ => OrderStyle::Ioc,
            };
            TradeLeg::new(
                order_leg,
                style,
                rules[i].sizing.contract_size,
                sized.venue_qty[i],
            )
        });
        Ok((legs, sized.rounded_up))
    }

    /// Runs arrivals, the kill switch, breakers, exits and leg deadlines at `now`.
    pub fn poll(&mut self, now: Now) {
        self.portfolio.advance(now.ns);
        self.correlation.roll(now.ns);
        let events = &mut self.events;
        self.exec.venue.advance(now.ns, &mut |e| events.push(e));
        self.poll_live(now.ns);
        self.dispatch(now.ns);
        self.settle_funding(now.ns);
        self.check_liquidations(now.ns);
        let engaged = self.risk.kill_switch().is_engaged();
        if engaged && !self.kill_handled {
            self.flatten_all(ExitReason::KillSwitch, now.ns);
            // After the trades' own market closes (the ring keeps order): cancel what
            // is left on every live venue, flatten what they missed, halt.
            self.exec.live.panic_all();
        }
        self.kill_handled = engaged;
        self.update_breakers(now.ns);
        if std::mem::take(&mut self.flatten_due) {
            self.flatten_all(ExitReason::DailyLoss, now.ns);
        }
        self.check_exits(now.ns);
        self.step_all(now.ns);
    }

    /// Takes the live venues' reports, as many as the event buffer has room for (the
    /// rest wait in their rings for the next call).
    fn poll_live(&mut self, now_ns: u64) {
        let room = self.events.capacity() - self.events.len();
        let events = &mut self.events;
        self.exec.live.poll(now_ns, room, &mut |e| events.push(e));
    }

    fn flatten_all(&mut self, reason: ExitReason, now_ns: u64) {
        self.counters.flattens += 1;
        for trade in &mut self.trades {
            trade.flatten(reason, now_ns, &mut self.exec);
        }
        self.step_all(now_ns);
    }

    /// Books venue events into trades and the portfolio, then steps the trades.
    fn dispatch(&mut self, now_ns: u64) {
        for i in 0..self.events.len() {
            let event = self.events[i];
            match event {
                VenueEvent::Fill(fill) => {
                    self.exec.outbox.push(GatewayRecord::Fill(fill));
                    let intent = self.exec.live.intent_of(fill.order);
                    let owner = self
                        .trades
                        .iter_mut()
                        .position(|t| t.owns(fill.order))
                        .or_else(|| self.trades.iter().position(|t| Some(t.intent_id) == intent));
                    let Some(trade) = owner.map(|i| &mut self.trades[i]) else {
                        // A live fill after its trade ended: nobody owns the position.
                        if let Some(live) = self
                            .exec
                            .live
                            .get_mut(self.rules[fill.instrument.index()].venue)
                        {
                            live.flatten_orphan(&fill);
                            self.counters.orphan_fills += 1;
                        }
                        continue;
                    };
                    if let Some((leg, true)) = trade.on_fill(&fill) {
                        let l = trade.legs[leg].order_leg;
                        let band = self.cfg.paper.market_band_bps;
                        let margin = &self.rules[l.instrument.index()].margin;
                        let (reserved, _) = reserve_costs(
                            band,
                            &self.exec.venue,
                            margin,
                            &trade.legs[leg],
                            fill.qty,
                        );
                        if fill.notional_raw + fill.fee_raw > reserved {
                            self.counters.reservation_overruns += 1;
                        }
                        // Release what the fill took from the reservation before it is
                        // locked: exposure never counts the filled quantity twice.
                        sync_reservation(
                            &mut self.portfolio,
                            band,
                            &self.exec.venue,
                            &self.rules,
                            trade,
                        );
                        let cash = margin.initial_raw(fill.notional_raw) + fill.fee_raw;
                        trade.legs[leg].cash_locked_raw += cash;
                        self.portfolio.lock_split(
                            l.instrument,
                            l.venue,
                            fill.notional_raw + fill.fee_raw,
                            cash,
                        );
                    }
                }
                VenueEvent::Done(order) => {
                    self.exec.outbox.push(GatewayRecord::OrderDone(order));
                    if let Some(trade) = self.trades.iter_mut().find(|t| t.owns(order.id)) {
                        trade.on_done(&order);
                    }
                }
            }
        }
        self.events.clear();
        self.step_all(now_ns);
    }

    fn step_all(&mut self, now_ns: u64) {
        let mut i = 0;
        while i < self.trades.len() {
            let trade = &mut self.trades[i];
            let before = trade.phase;
            let outcome = trade.step(now_ns, &mut self.exec);
            let band = self.cfg.paper.market_band_bps;
            sync_reservation(
                &mut self.portfolio,
                band,
                &self.exec.venue,
                &self.rules,
                trade,
            );
            if before != Phase::Open && trade.phase == Phase::Open {
                trade.funding_driven = funding_delta(&self.funding, &self.rules, &self.cfg, trade)
                    .is_some_and(|d| d >= converged_raw(&self.cfg));
                self.counters.entries_filled += 1;
                self.counters.entries_hedged += u64::from(trade.leg_outs > 0);
            }
            if outcome == StepOutcome::Working {
                i += 1;
            } else {
                self.retire(i, outcome, now_ns);
            }
        }
    }

    /// Removes trade `i`, which ended (`outcome` is not `Working`), and books it.
    fn retire(&mut self, i: usize, outcome: StepOutcome, now_ns: u64) {
        let t = self.trades.swap_remove(i);
        if outcome == StepOutcome::Closed {
            self.book_close(&t, now_ns);
            return;
        }
        self.counters.abandoned += 1;
        self.exec.outbox.push(GatewayRecord::Abandoned {
            trade: t.id,
            intent_id: t.intent_id,
            ts_ns: now_ns,
        });
    }

    /// Ends the run at `now`: after a last poll, every trade still executing or open is
    /// closed at the marks (a long leg at the best bid, a short leg at the best ask, the
    /// taker fee paid) with reason `END_OF_RUN`, without sending an order; working
    /// orders are cancelled and their reservations released; a trade that filled
    /// nothing is abandoned. Books the closes like any other, so the run's report,
    /// `edgeline trades` and the sweep see every position the run opened.
    pub fn close_at_end(&mut self, now: Now) {
        self.poll(now);
        while let Some(mut t) = self.trades.pop() {
            let marks = [0, 1].map(|i| {
                let leg = &t.legs[i].order_leg;
                let book = self.exec.venue.book(leg.instrument)?;
                let level = match leg.side {
                    OrderSide::Buy => book.best_bid(),
                    OrderSide::Sell => book.best_ask(),
                }?;
                Some(level.price)
            });
            let fees = [0, 1].map(|i| {
                let fees = self.exec.venue.fees(t.legs[i].order_leg.instrument);
                fees.taker_centi_bps
            });
            let unmarked = t.close_at_marks(marks, fees, now.ns, &mut self.exec);
            self.counters.end_marks_missing += u64::from(unmarked);
            let band = self.cfg.paper.market_band_bps;
            sync_reservation(
                &mut self.portfolio,
                band,
                &self.exec.venue,
                &self.rules,
                &mut t,
            );
            let outcome = if t.phase == Phase::Closed {
                self.counters.end_of_run_closed += 1;
                StepOutcome::Closed
            } else {
                StepOutcome::Abandoned
            };
            self.trades.push(t);
            let last = self.trades.len() - 1;
            self.retire(last, outcome, now.ns);
        }
    }

    fn book_close(&mut self, t: &Trade, now_ns: u64) {
        for leg in &t.legs {
            self.portfolio.release_split(
                leg.order_leg.instrument,
                leg.order_leg.venue,
                leg.locked_raw(),
                leg.cash_locked_raw,
            );
        }
        let result = TradeResult {
            locked_raw: t.locked_raw(),
            pnl_raw: t.pnl_raw(),
            funding_raw: t.funding_raw,
            leg_outs: t.leg_outs,
            leg_out_loss_raw: t.leg_out_loss_raw,
        };
        self.portfolio.close(result);
        self.sizer.record_trade(result.pnl_raw);
        self.counters.closed += 1;
        self.exec.outbox.push(GatewayRecord::Closed(ClosedTrade {
            id: t.id,
            intent_id: t.intent_id,
            strategy: t.strategy,
            reason: t.exit_reason.unwrap_or(ExitReason::KillSwitch),
            first_fill_ns: t.first_fill_ns.unwrap_or(now_ns),
            matched_ns: t.matched_ns.unwrap_or(now_ns),
            closed_ns: now_ns,
            locked_raw: result.locked_raw,
            pnl_raw: result.pnl_raw,
            funding_raw: t.funding_raw,
            leg_outs: t.leg_outs,
            leg_out_loss_raw: t.leg_out_loss_raw,
            legs: t.legs.map(|l| ClosedLeg {
                instrument: l.order_leg.instrument,
                side: l.order_leg.side,
                limit: l.order_leg.limit,
                contract_size: l.contract_size,
                entry: l.entry,
                exit: l.exit,
            }),
            entry_spread_bps: t.entry_spread_bps,
            expected_profit_bps: t.expected_profit_bps,
            confidence: t.confidence,
            decided_ns: t.decided_ns,
        }));
        self.update_breakers(now_ns);
    }

    /// Feeds the realised equity to the breakers; a daily loss trip with the flatten
    /// action flattens at the next poll.
    fn update_breakers(&mut self, now_ns: u64) {
        let event = self.risk.update_equity(now_ns, self.portfolio.equity_raw());
        if event == BreakerEvent::DailyLoss(BreakerAction::Flatten) {
            self.flatten_due = true;
        }
    }

    fn check_exits(&mut self, now_ns: u64) {
        for i in 0..self.trades.len() {
            if self.trades[i].phase != Phase::Open {
                continue;
            }
            let Some(reason) = self.exit_reason(&self.trades[i], now_ns) else {
                continue;
            };
            self.trades[i].begin_exit(reason, now_ns, &mut self.exec);
        }
    }

    /// Whether an open trade should close now, and why (stop first, then spread exit,
    /// profit target, funding convergence, then the maximum holding time, which needs
    /// no book).
    fn exit_reason(&self, t: &Trade, now_ns: u64) -> Option<ExitReason> {
        let timed_out = self.hold_deadline_ns(t).is_some_and(|d| now_ns >= d);
        self.priced_exit_reason(t)
            .or(timed_out.then_some(ExitReason::Timeout))
    }

    /// When an open trade reaches `exits.max_hold_ms`, if there is a limit.
    fn hold_deadline_ns(&self, t: &Trade) -> Option<u64> {
        let max = self.cfg.exits.max_hold_ns;
        let first = t
            .first_fill_ns
            .filter(|_| max > 0 && t.phase == Phase::Open)?;
        Some(first.saturating_add(max))
    }

    /// The exits that depend on the books: stop, spread exit, profit target, funding.
    fn priced_exit_reason(&self, t: &Trade) -> Option<ExitReason> {
        let x = &self.cfg.exits;
        let (buy, sell) = Self::buy_sell(t);
        let book = |i: usize| self.exec.venue.book(t.legs[i].order_leg.instrument);
        let (buy_book, sell_book) = (book(buy)?, book(sell)?);
        let (buy_mid, sell_mid) = (buy_book.mid()?, sell_book.mid()?);
        let spread = bps_of(sell_mid.raw() - buy_mid.raw(), buy_mid.raw());
        let widened = spread - t.entry_spread_bps;
        if widened >= Bps::from_num(x.spread_stop_bps) {
            return Some(ExitReason::SpreadStop);
        }
        if widened >= Bps::from_num(x.spread_exit_bps) {
            return Some(ExitReason::SpreadWidened);
        }
        let upnl = self.unrealised_raw(t)?;
        let notional = t.legs[buy].entry.notional_raw;
        let projected =
            notional * i128::from(t.expected_profit_bps.to_bits()) / (i128::from(BPS_ONE) << 32);
        if projected > 0
            && upnl * i128::from(BPS_ONE) >= projected * i128::from(x.profit_target_bps)
        {
            return Some(ExitReason::ProfitTarget);
        }
        let converged = funding_delta(&self.funding, &self.rules, &self.cfg, t)
            .is_some_and(|d| d < converged_raw(&self.cfg));
        (t.funding_driven && converged).then_some(ExitReason::FundingConverged)
    }
}

impl Gateway {
    /// Settles every funding payment due at or before `now_ns`: each open perp leg on
    /// the settling instrument receives or pays [`payment_raw`] at the mark (the feed's,
    /// else the book mid) into its trade's funding and the portfolio's cash.
    fn settle_funding(&mut self, now_ns: u64) {
        while let Some((id, state)) = self.funding.take_due(now_ns) {
            let Some(rate) = state.rate else { continue };
            let instrument = InstrumentId(u32::try_from(id).unwrap_or(u32::MAX));
            let mark = Some(state.mark)
                .filter(|m| *m > Price::ZERO)
                .or_else(|| self.exec.venue.book(instrument).and_then(|b| b.mid()));
            for t in &mut self.trades {
                for leg in &mut t.legs {
                    let net = leg.net();
                    if leg.order_leg.instrument != instrument || net.raw() <= 0 {
                        continue;
                    }
                    let Some(mark) = mark else {
                        self.counters.funding_unpriced += 1;
                        continue;
                    };
                    let amount = payment_raw(leg.order_leg.side, net, mark, rate);
                    t.funding_raw += amount;
                    leg.cash_locked_raw -= self.portfolio.fund(amount);
                    self.counters.funding_payments += 1;
                }
            }
        }
    }

    /// The highest correlated exposure of any instrument, in either direction, over the
    /// filled and working exposure now (what `risk.correlated_exposure_max` bounds at
    /// each entry; see [`crate::gateway::correlation`]).
    pub fn correlated_exposure_raw(&self) -> i128 {
        let n = self.rules.len();
        let mut worst = 0;
        for side in [OrderSide::Buy, OrderSide::Sell] {
            let exposure = |id: usize| -> i128 {
                let legs = self.trades.iter().flat_map(|t| t.legs.iter());
                legs.filter(|l| l.order_leg.instrument.index() == id && l.order_leg.side == side)
                    .map(|l| l.locked_raw() + l.reserved_raw)
                    .sum()
            };
            for k in (0..n).filter(|&k| exposure(k) > 0) {
                let weighted: i128 = (0..n)
                    .map(|j| i128::from(self.correlation.rho_bps(k, j).max(0)) * exposure(j))
                    .sum();
                worst = worst.max(weighted / i128::from(BPS_ONE));
            }
        }
        worst
    }

    /// The mark of an instrument: the feed's mark price, else the book mid.
    fn mark(&self, instrument: InstrumentId) -> Option<Price> {
        let feed = self
            .funding
            .get(instrument.index())
            .map(|s| s.mark)
            .filter(|m| *m > Price::ZERO);
        feed.or_else(|| self.exec.venue.book(instrument).and_then(|b| b.mid()))
    }

    /// The liquidation price of leg `leg` of trade `t`, while it is open in full and no
    /// order works for it (see [`crate::gateway::margin`]).
    pub fn liquidation_price(&self, t: &Trade, leg: usize) -> Option<Price> {
        let l = &t.legs[leg];
        if l.order.is_some() || !l.exit.qty.is_zero() || l.entry.qty.is_zero() {
            return None;
        }
        let rule = &self.rules.get(l.order_leg.instrument.index())?.margin;
        let margin = l.cash_locked_raw - l.entry.fees_raw;
        rule.liquidation_price(l.order_leg.side, l.net(), l.entry.notional_raw, margin)
    }

    /// Liquidates every perp leg whose mark crossed its liquidation price: the paper
    /// venue closes it there, and its trade is flattened (`LIQUIDATION`).
    fn check_liquidations(&mut self, now_ns: u64) {
        let mut any = false;
        for i in 0..self.trades.len() {
            for leg in 0..2 {
                let t = &self.trades[i];
                let Some(liq) = self.liquidation_price(t, leg) else {
                    continue;
                };
                let id = t.legs[leg].order_leg.instrument;
                let Some(mark) = self.mark(id) else { continue };
                if !crossed(t.legs[leg].order_leg.side, mark, liq) {
                    continue;
                }
                let taker = self.exec.venue.fees(id).taker_centi_bps;
                self.trades[i].liquidate_leg(leg, liq, taker, now_ns, &mut self.exec);
                self.counters.liquidations += 1;
                any = true;
            }
        }
        if any {
            self.step_all(now_ns);
        }
    }
}

impl Gateway {
    /// The buy and the sell leg's indexes.
    fn buy_sell(t: &Trade) -> (usize, usize) {
        if t.legs[0].order_leg.side == OrderSide::Buy {
            (0, 1)
        } else {
            (1, 0)
        }
    }

    /// PnL of an open trade if both legs were closed at the touch now, entry and exit
    /// taker fees off; `None` while a book has no touch.
    fn unrealised_raw(&self, t: &Trade) -> Option<i128> {
        let (buy, sell) = Self::buy_sell(t);
        let exit_value = |i: usize, side: Side| {
            let level = self
                .exec
                .venue
                .book(t.legs[i].order_leg.instrument)?
                .side(side)
                .best()?;
            Some(level.price.notional_raw(t.legs[i].net()))
        };
        let (long_exit, short_exit) = (exit_value(buy, Side::Bid)?, exit_value(sell, Side::Ask)?);
        let fees = |i: usize, v: i128| {
            fee_raw(
                v,
                self.exec
                    .venue
                    .fees(t.legs[i].order_leg.instrument)
                    .taker_centi_bps,
            )
        };
        Some(
            long_exit - t.legs[buy].entry.notional_raw + t.legs[sell].entry.notional_raw
                - short_exit
                - t.legs.iter().map(|l| l.entry.fees_raw).sum::<i128>()
                - fees(buy, long_exit)
                - fees(sell, short_exit),
        )
    }

    /// The portfolio as of `now_ns`: capital, open positions marked at the touch, the
    /// breakers.
    pub fn snapshot(&self, now_ns: u64) -> PortfolioSnapshot {
        let open = self.trades.iter().filter(|t| t.phase == Phase::Open);
        let unrealised_raw = open.clone().filter_map(|t| self.unrealised_raw(t)).sum();
        let p = &self.portfolio;
        let (mut margin_used_raw, mut maintenance_raw) = (0, 0);
        for t in &self.trades {
            for l in &t.legs {
                let rule = &self.rules[l.order_leg.instrument.index()].margin;
                if !rule.margined {
                    continue;
                }
                margin_used_raw += l.cash_locked_raw + l.reserved_cash_raw;
                if let Some(mark) = self.mark(l.order_leg.instrument) {
                    maintenance_raw += rule.maintenance_raw(mark.notional_raw(l.net()));
                }
            }
        }
        let (trades, wins) = p.trade_counts();
        let (leg_outs, leg_out_loss_raw) = p.leg_outs();
        PortfolioSnapshot {
            ts_ns: now_ns,
            equity_raw: p.equity_raw(),
            available_raw: p.available_raw(),
            open_value_raw: p.open_value_raw(),
            open_positions: open.count() as u64,
            realised_raw: p.realised_raw(),
            unrealised_raw,
            daily_pnl_raw: p.equity_raw() - self.risk.day_start_equity_raw(),
            peak_equity_raw: self.risk.peak_equity_raw(),
            daily_halt: self.risk.daily_halted(now_ns),
            killed: self.risk.kill_switch().is_engaged(),
            closed_trades: trades,
            wins,
            leg_outs,
            leg_out_loss_raw,
            funding_raw: p.funding_raw(),
            margin_used_raw,
            maintenance_raw,
            margin_utilisation_bps: if p.equity_raw() > 0 {
                i64::try_from(margin_used_raw * i128::from(BPS_ONE) / p.equity_raw())
                    .unwrap_or(i64::MAX)
            } else {
                0
            },
            liquidations: self.counters.liquidations,
        }
    }

    /// Hands pending records to `f` while it takes them (the stage's ring has room);
    /// the rest wait, in order, for the next call.
    pub fn forward_records(&mut self, f: impl FnMut(GatewayRecord) -> bool) {
        self.exec.outbox.forward(f);
    }

    /// Records waiting to be forwarded.
    pub fn records_pending(&self) -> usize {
        self.exec.outbox.len()
    }
}

/// What `qty` of an entry leg may lock when it fills: its notional at the reserve
/// price, the leg's limit moved `paper.market_band_bps` up (the most a market hedge
/// may walk past the touch; a sell that fills higher locks more too), plus the taker
/// fee; and the cash of it: the initial margin of that notional (all of it for a fully
/// funded leg) plus the fee.
fn reserve_costs(
    band_bps: i64,
    venue: &PaperVenue,
    margin: &MarginRule,
    leg: &TradeLeg,
    qty: Qty,
) -> (i128, i128) {
    let one = i128::from(BPS_ONE);
    let limit = leg.order_leg.limit.raw();
    let price = Price::from_raw(mul_div(limit, one + i128::from(band_bps), one));
    let notional = price.notional_raw(qty);
    let fees = venue.fees(leg.order_leg.instrument);
    let fee = fee_raw(notional, fees.taker_centi_bps.max(fees.maker_centi_bps));
    (notional + fee, margin.initial_raw(notional) + fee)
}

/// Brings a trade's reservations in line with what its entry may still fill: reserves
/// when an entry order is sent, releases on fill (the fill is locked instead), cancel,
/// reject, abandon or flatten.
fn sync_reservation(
    portfolio: &mut Portfolio,
    band_bps: i64,
    venue: &PaperVenue,
    rules: &[Rules],
    t: &mut Trade,
) {
    for i in 0..2 {
        let margin = &rules[t.legs[i].order_leg.instrument.index()].margin;
        let (target, cash) = reserve_costs(band_bps, venue, margin, &t.legs[i], t.entry_left(i));
        let leg = &mut t.legs[i];
        let delta = target - leg.reserved_raw;
        let cash_delta = cash - leg.reserved_cash_raw;
        if delta != 0 || cash_delta != 0 {
            let (id, v) = (leg.order_leg.instrument, leg.order_leg.venue);
            portfolio.reserve_split(id, v, delta, cash_delta);
            leg.reserved_raw = target;
            leg.reserved_cash_raw = cash;
        }
    }
}

/// The convergence threshold as a raw [`Rate`] per 8 h.
fn converged_raw(cfg: &GatewayConfig) -> i128 {
    i128::from(cfg.exits.funding_converged_centi_bps) * i128::from(Rate::SCALE) / 1_000_000
}

/// |funding(leg 0) - funding(leg 1)| per 8 h as raw [`Rate`], when both legs are perps
/// with a known rate.
fn funding_delta(
    funding: &FundingBook,
    rules: &[Rules],
    cfg: &GatewayConfig,
    t: &Trade,
) -> Option<i128> {
    let per_8h = |id: InstrumentId| -> Option<i128> {
        let r = rules.get(id.index())?;
        if r.kind != MarketKind::Perp {
            return None;
        }
        let hours = i128::from(cfg.exits.funding_interval_h[venue_index(r.venue)]);
        Some(i128::from(funding.rate(id.index())?.raw()) * 8 / hours)
    };
    let a = per_8h(t.legs[0].order_leg.instrument)?;
    let b = per_8h(t.legs[1].order_leg.instrument)?;
    Some((a - b).abs())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::gateway::config::{NS_PER_MS, usd};
    use crate::gateway::order::{Order, OrderState};
    use crate::gateway::record::TradeStage;
    use crate::types::{InstrumentSpec, IntentLeg, OrderSide, Price, Qty, Strategy};

    const BIN: InstrumentId = InstrumentId(0);
    const OKX: InstrumentId = InstrumentId(1);

    pub(crate) fn p(s: &str) -> Price {
        Price::from_decimal_str(s).unwrap()
    }

    fn q(s: &str) -> Qty {
        Qty::from_decimal_str(s).unwrap()
    }

    /// Binance and OKX BTC perps (ids 0 and 1).
    pub(crate) fn registry() -> InstrumentRegistry {
        let mut reg = InstrumentRegistry::default();
        for (venue, symbol) in [(Venue::Binance, "BTCUSDT"), (Venue::Okx, "BTC-USDT-SWAP")] {
            reg.insert(InstrumentSpec {
                venue,
                kind: MarketKind::Perp,
                symbol: symbol.into(),
                base: "BTC".into(),
                tick_size: p("0.1"),
                lot_size: q("0.001"),
                min_notional: p("5"),
                contract_size: q("1"),
            })
            .unwrap();
        }
        reg
    }

    struct Sim {
        gw: Gateway,
        kill: KillSwitch,
        records: Vec<GatewayRecord>,
        /// Quantity of the intents [`Sim::intent`] makes.
        qty: Qty,
        /// Intents made so far (their ids, from 1).
        intents: u64,
    }

    fn now(ms: u64) -> Now {
        Now {
            raw: ms * NS_PER_MS,
            ns: ms * NS_PER_MS,
        }
    }

    impl Sim {
        fn new(cfg: GatewayConfig) -> Self {
            let kill = KillSwitch::default();
            let gw = Gateway::new(cfg, &registry(), kill.clone()).unwrap();
            Self {
                gw,
                kill,
                records: Vec::new(),
                qty: q("0.05"),
                intents: 0,
            }
        }

        /// Runs every wake-up due up to `ms`, then polls at `ms`.
        fn run_to(&mut self, ms: u64) {
            while let Some(next) = self.gw.next_wakeup_ns().filter(|&n| n <= ms * NS_PER_MS) {
                self.gw.poll(Now {
                    raw: next,
                    ns: next,
                });
            }
            self.gw.poll(now(ms));
            let records = &mut self.records;
            self.gw.drain_records(|r| records.push(r));
        }

        fn book(&mut self, ms: u64, id: InstrumentId, bid: &str, ask: &str) {
            self.levels(ms, id, &[(Side::Bid, bid, "1"), (Side::Ask, ask, "1")]);
        }

        /// Replaces a book with `levels` (side, price, quantity) at `ms`.
        fn levels(&mut self, ms: u64, id: InstrumentId, levels: &[(Side, &str, &str)]) {
            self.run_to(ms);
            let begin = EventBody::DepthBegin {
                first_update_id: 0,
                last_update_id: 0,
                prev_update_id: 0,
                levels: 0,
                snapshot: true,
                checksum: None,
            };
            let bodies = levels
                .iter()
                .map(|&(side, price, qty)| EventBody::DepthLevel {
                    side,
                    price: p(price),
                    qty: q(qty),
                });
            for body in std::iter::once(begin).chain(bodies) {
                let event = MarketEvent {
                    ts_recv_raw: ms,
                    ts_venue_ms: 0,
                    instrument: id,
                    body,
                };
                self.gw.on_market(now(ms), &event);
            }
            self.run_to(ms);
        }

        fn intent(
            &mut self,
            ms: u64,
            buy: (&str, ExecStyle),
            sell: (&str, ExecStyle),
        ) -> Result<TradeId, RejectReason> {
            self.run_to(ms);
            let leg = |instrument, side, (limit, style): (&str, ExecStyle)| IntentLeg {
                instrument,
                side,
                limit: p(limit),
                style,
            };
            self.intents += 1;
            let intent = OrderIntent {
                id: self.intents,
                strategy: Strategy::CrossVenue,
                legs: [
                    leg(BIN, OrderSide::Buy, buy),
                    leg(OKX, OrderSide::Sell, sell),
                ],
                qty: self.qty,
                edge_bps: Bps::from_num(40),
                expected_profit_bps: Bps::from_num(30),
                confidence: 80,
                ts_recv_raw: 0,
                ts_decision_raw: 0,
                expires_raw: (ms + 1) * NS_PER_MS,
            };
            let r = self.gw.on_intent(now(ms), &intent);
            self.run_to(ms);
            r
        }

        fn conserved(&self) -> bool {
            let pf = self.gw.portfolio();
            pf.available_raw() + pf.open_value_raw() == pf.starting_raw() + pf.realised_raw()
        }

        fn closed(&self) -> Vec<ClosedTrade> {
            self.records
                .iter()
                .filter_map(|r| match r {
                    GatewayRecord::Closed(c) => Some(*c),
                    _ => None,
                })
                .collect()
        }

        fn orders_sent(&self) -> usize {
            self.records
                .iter()
                .filter(|r| matches!(r, GatewayRecord::OrderSent(_)))
                .count()
        }

        /// Binance asks 50,000, OKX bids 50,300.
        fn wide(cfg: GatewayConfig) -> Self {
            let mut sim = Sim::new(cfg);
            sim.book(0, BIN, "49990", "50000");
            sim.book(0, OKX, "50300", "50310");
            sim
        }
    }

    const IOC: ExecStyle = ExecStyle::Ioc;

    #[test]
    fn test_gateway_opens_hard_leg_first_then_exits_at_profit_target() {
        let mut sim = Sim::wide(GatewayConfig::default());
        sim.intent(1, ("50010", IOC), ("50290", IOC)).unwrap();
        let sent: Vec<_> = sim
            .records
            .iter()
            .filter_map(|r| match r {
                GatewayRecord::OrderSent(o) => Some(*o),
                _ => None,
            })
            .collect();
        assert_eq!(sent.len(), 1, "only the hard leg before its fill");
        assert_eq!(sent[0].instrument, OKX, "OKX ranks harder than Binance");
        sim.run_to(40);
        assert_eq!(sim.gw.trades()[0].phase, Phase::Open);
        assert!(sim.conserved());
        assert!(sim.gw.portfolio().open_value_raw() > usd(5_000));
        sim.book(50, OKX, "49990", "50000");
        sim.book(50, BIN, "50000", "50010");
        sim.run_to(200);
        let closed = sim.closed();
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].reason, ExitReason::ProfitTarget);
        assert_eq!(closed[0].leg_outs, 0);
        // 300 on 0.05 BTC less four taker fees of ~1.25.
        assert!(
            closed[0].pnl_raw > usd(9) && closed[0].pnl_raw < usd(10),
            "{}",
            closed[0].pnl_raw
        );
        assert_eq!(sim.gw.portfolio().realised_raw(), closed[0].pnl_raw);
        assert_eq!(sim.gw.portfolio().open_value_raw(), 0);
        assert!(sim.conserved());
    }

    #[test]
    fn test_gateway_easy_leg_unfilled_is_hedged_after_the_timeout() {
        let mut sim = Sim::wide(GatewayConfig::default());
        sim.intent(1, ("49990", ExecStyle::PostOnly), ("50290", IOC))
            .unwrap();
        sim.run_to(520);
        assert_eq!(sim.gw.trades()[0].phase, Phase::EntryEasy);
        sim.run_to(600);
        let legout = sim
            .records
            .iter()
            .find_map(|r| match r {
                GatewayRecord::LegOut(l) => Some(*l),
                _ => None,
            })
            .unwrap();
        assert_eq!(
            (legout.leg, legout.stage, legout.qty),
            (0, TradeStage::Entry, q("0.05"))
        );
        assert_eq!(legout.naked_since_ns, 21 * NS_PER_MS);
        assert_eq!(
            legout.hedge_sent_ns - legout.naked_since_ns,
            500 * NS_PER_MS
        );
        assert_eq!(legout.hedge_price, p("50000"));
        // 10 worse than the 49,990 limit on 0.05, plus the 5 bps taker fee on 2,500.
        assert_eq!(legout.loss_raw, usd(1) / 2 + usd(125) / 100);
        assert_eq!(sim.gw.trades()[0].phase, Phase::Open);
        assert!(sim.conserved());
    }

    #[test]
    fn test_gateway_unfilled_hard_leg_abandons_with_nothing_open() {
        let mut sim = Sim::wide(GatewayConfig::default());
        sim.intent(1, ("50010", IOC), ("50400", IOC)).unwrap();
        sim.run_to(100);
        assert!(sim.gw.trades().is_empty());
        assert_eq!(sim.orders_sent(), 1);
        assert!(
            sim.records
                .iter()
                .any(|r| matches!(r, GatewayRecord::Abandoned { .. }))
        );
        assert_eq!(sim.gw.portfolio().available_raw(), usd(20_000));
        assert_eq!(sim.gw.portfolio().reserved_raw(), 0, "released on abandon");
        assert_eq!(sim.gw.counters().abandoned, 1);
    }

    #[test]
    fn test_gateway_size_under_the_minimum_rounds_up_when_the_caps_allow() {
        let mut sim = Sim::wide(GatewayConfig::default());
        sim.qty = q("0.0004");
        sim.intent(1, ("50010", IOC), ("50290", IOC)).unwrap();
        assert_eq!(sim.gw.trades()[0].legs.map(|l| l.qty), [q("0.001"); 2]);
        assert!(sim.gw.trades()[0].sized_up);
        assert_eq!(sim.gw.counters().sized_up_to_minimum, 1);
        let mut cfg = GatewayConfig::default();
        cfg.risk.trade_notional_max_raw = usd(40);
        let mut sim = Sim::wide(cfg);
        sim.qty = q("0.0004");
        assert_eq!(
            sim.intent(1, ("50010", IOC), ("50290", IOC)),
            Err(RejectReason::MinSizeOverCaps)
        );
        assert_eq!(sim.gw.risk().counts().get(RejectReason::MinSizeOverCaps), 1);
        assert_eq!(sim.orders_sent(), 0);
    }

    #[test]
    fn test_gateway_max_hold_closes_with_timeout() {
        let mut cfg = GatewayConfig::default();
        cfg.exits.max_hold_ns = 1_000 * NS_PER_MS;
        let mut sim = open_wide(cfg);
        let first = sim.gw.trades()[0].first_fill_ns.unwrap();
        assert_eq!(sim.gw.next_wakeup_ns(), Some(first + 1_000 * NS_PER_MS));
        sim.run_to(first / NS_PER_MS + 999);
        assert_eq!(sim.gw.trades()[0].phase, Phase::Open);
        sim.run_to(first / NS_PER_MS + 1_100);
        let closed = sim.closed();
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].reason, ExitReason::Timeout);
        assert!(sim.conserved());
    }

    #[test]
    fn test_gateway_burst_in_one_ms_reserves_and_refuses_beyond_the_cap() {
        let mut cfg = GatewayConfig::default();
        cfg.risk.position_per_symbol_max_raw = usd(4_000);
        let mut sim = Sim::wide(cfg);
        sim.intent(1, ("50010", IOC), ("50290", IOC)).unwrap();
        // 0.05 at 50,010 moved up 50 bps (50,260.05) is 2,513.0025, plus 5 bps of it;
        // the sell at 50,290 moved up (50,541.45): 2,527.0725.
        let leg = usd(2_513) + usd(25) / 10_000;
        let per_leg = leg + leg * 5 / 10_000;
        let sell = usd(2_527) + usd(725) / 10_000;
        let sell = sell + sell * 5 / 10_000;
        assert_eq!(sim.gw.portfolio().reserved_raw(), per_leg + sell);
        assert_eq!(sim.gw.portfolio().exposure().instrument_raw[0], per_leg);
        assert_eq!(
            sim.intent(1, ("50010", IOC), ("50290", IOC)),
            Err(RejectReason::SymbolPosition),
            "the first intent's working orders count before any fill"
        );
        sim.run_to(40);
        assert_eq!(sim.gw.trades()[0].phase, Phase::Open);
        assert_eq!(
            sim.gw.portfolio().reserved_raw(),
            0,
            "fills became position"
        );
        let exposure = sim.gw.portfolio().exposure();
        assert!(exposure.instrument_raw[0] <= usd(4_000));
        assert_eq!(exposure.total_raw, sim.gw.portfolio().open_value_raw());
        assert!(sim.conserved());
    }

    #[test]
    fn test_gateway_kill_switch_flattens_refuses_until_rearmed() {
        let mut sim = Sim::wide(GatewayConfig::default());
        sim.intent(1, ("50010", IOC), ("50290", IOC)).unwrap();
        sim.run_to(40);
        sim.kill.engage();
        sim.run_to(41);
        sim.run_to(200);
        let closed = sim.closed();
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].reason, ExitReason::KillSwitch);
        assert!(sim.conserved());
        let sent = sim.orders_sent();
        assert_eq!(
            sim.intent(300, ("50010", IOC), ("50290", IOC)),
            Err(RejectReason::KillSwitch)
        );
        assert_eq!(sim.orders_sent(), sent);
        sim.kill.rearm();
        assert!(sim.intent(400, ("50010", IOC), ("50290", IOC)).is_ok());
    }

    #[test]
    fn test_gateway_slow_venue_blocks_or_downgrades() {
        let mut sim = Sim::wide(GatewayConfig::default());
        sim.gw
            .venue_mut()
            .set_latency_ns(Venue::Okx, 150 * NS_PER_MS);
        assert_eq!(
            sim.intent(1, ("50010", IOC), ("50290", IOC)),
            Err(RejectReason::VenueTooSlow)
        );
        assert_eq!(sim.orders_sent(), 0);
        let mut cfg = GatewayConfig::default();
        cfg.execution.latency_action = LatencyAction::Downgrade;
        let mut sim = Sim::wide(cfg);
        sim.gw
            .venue_mut()
            .set_latency_ns(Venue::Okx, 150 * NS_PER_MS);
        sim.intent(1, ("49990", ExecStyle::PostOnly), ("50290", IOC))
            .unwrap();
        let trade = sim.gw.trades()[0];
        assert_eq!(
            trade.legs.map(|l| (l.style, l.qty)),
            [(OrderStyle::Ioc, q("0.025")); 2]
        );
        assert_eq!(sim.gw.counters().downgraded, 1);
    }

    #[test]
    fn test_gateway_refusals_are_counted_and_send_nothing() {
        let mut sim = Sim::wide(GatewayConfig::default());
        let intent_expired = |sim: &mut Sim| {
            let leg = IntentLeg {
                instrument: BIN,
                side: OrderSide::Buy,
                limit: p("50010"),
                style: IOC,
            };
            let intent = OrderIntent {
                id: 9,
                strategy: Strategy::CrossVenue,
                legs: [
                    leg,
                    IntentLeg {
                        instrument: OKX,
                        side: OrderSide::Sell,
                        ..leg
                    },
                ],
                qty: q("0.05"),
                edge_bps: Bps::ZERO,
                expected_profit_bps: Bps::from_num(30),
                confidence: 80,
                ts_recv_raw: 0,
                ts_decision_raw: 0,
                expires_raw: 0,
            };
            sim.gw.on_intent(now(5), &intent)
        };
        assert_eq!(intent_expired(&mut sim), Err(RejectReason::Expired));
        sim.gw.risk_mut().blacklist_mut().insert(OKX);
        assert_eq!(
            sim.intent(6, ("50010", IOC), ("50290", IOC)),
            Err(RejectReason::Blacklisted)
        );
        sim.run_to(10);
        assert_eq!(sim.orders_sent(), 0);
        assert_eq!(sim.gw.risk().counts().total(), 2);
        assert_eq!(
            sim.records
                .iter()
                .filter(|r| matches!(r, GatewayRecord::Rejected { .. }))
                .count(),
            2
        );
        let filled = |r: &GatewayRecord| matches!(r, GatewayRecord::OrderDone(o) if o.state == OrderState::Filled);
        assert!(!sim.records.iter().any(filled));
    }

    fn open_wide(cfg: GatewayConfig) -> Sim {
        let mut sim = Sim::wide(cfg);
        sim.intent(1, ("50010", IOC), ("50290", IOC)).unwrap();
        sim.run_to(40);
        assert_eq!(sim.gw.trades()[0].phase, Phase::Open);
        // Sold 50,300, bought 50,000: 60 bps.
        assert_eq!(sim.gw.trades()[0].entry_spread_bps.to_num::<i64>(), 60);
        sim
    }

    fn sent_after(sim: &Sim, id: u64) -> Vec<Order> {
        let sent = sim.records.iter().filter_map(|r| match r {
            GatewayRecord::OrderSent(o) if o.id.0 > id => Some(*o),
            _ => None,
        });
        sent.collect()
    }

    #[test]
    fn test_gateway_spread_stop_closes_at_market_widening_exits_by_ioc() {
        let mut sim = open_wide(GatewayConfig::default());
        sim.book(50, OKX, "50900", "50910");
        sim.run_to(300);
        let closed = sim.closed();
        assert_eq!(closed[0].reason, ExitReason::SpreadStop);
        assert!(closed[0].pnl_raw < 0);
        assert!(
            sent_after(&sim, 2)
                .iter()
                .all(|o| o.style == OrderStyle::Market)
        );
        assert!(sim.conserved());
        let mut sim = open_wide(GatewayConfig::default());
        sim.book(50, OKX, "50665", "50675");
        sim.run_to(300);
        assert_eq!(sim.closed()[0].reason, ExitReason::SpreadWidened);
        let exits = sent_after(&sim, 2);
        assert_eq!(exits.len(), 2);
        assert_eq!(exits[0].instrument, OKX, "the hard leg closes first");
        assert!(exits.iter().all(|o| o.style == OrderStyle::Ioc));
    }

    fn funding(sim: &mut Sim, ms: u64, id: InstrumentId, rate: &str) {
        let body = EventBody::Funding {
            mark: Price::ZERO,
            index: Price::ZERO,
            rate: Rate::from_decimal_str(rate).unwrap(),
            next_funding_ms: 0,
            fields: FundingFields::RATE,
        };
        sim.gw.on_market(
            now(ms),
            &MarketEvent {
                ts_recv_raw: 0,
                ts_venue_ms: 0,
                instrument: id,
                body,
            },
        );
    }

    #[test]
    fn test_gateway_funding_converged_exit_only_for_funding_trades() {
        let mut sim = Sim::wide(GatewayConfig::default());
        funding(&mut sim, 0, BIN, "0.0003");
        funding(&mut sim, 0, OKX, "0.0001");
        sim.intent(1, ("50010", IOC), ("50290", IOC)).unwrap();
        sim.run_to(40);
        assert!(sim.gw.trades()[0].funding_driven);
        funding(&mut sim, 50, BIN, "0.00015");
        sim.run_to(60);
        assert_eq!(
            sim.gw.trades()[0].phase,
            Phase::Open,
            "a delta of exactly 0.005% is not under it"
        );
        funding(&mut sim, 70, BIN, "0.000104");
        sim.run_to(80);
        sim.run_to(300);
        assert_eq!(sim.closed()[0].reason, ExitReason::FundingConverged);
        let mut sim = open_wide(GatewayConfig::default());
        funding(&mut sim, 50, BIN, "0.0001");
        funding(&mut sim, 50, OKX, "0.0001");
        sim.run_to(300);
        assert!(!sim.gw.trades()[0].funding_driven);
        assert_eq!(sim.gw.trades()[0].phase, Phase::Open);
    }

    /// A funding event with mark, rate and next settlement at `next_ms`.
    fn funding_at(sim: &mut Sim, ms: u64, id: InstrumentId, rate: &str, mark: &str, next_ms: u64) {
        let body = EventBody::Funding {
            mark: p(mark),
            index: Price::ZERO,
            rate: Rate::from_decimal_str(rate).unwrap(),
            next_funding_ms: next_ms,
            fields: FundingFields::ALL,
        };
        let event = MarketEvent {
            ts_recv_raw: 0,
            ts_venue_ms: 0,
            instrument: id,
            body,
        };
        sim.gw.on_market(now(ms), &event);
    }

    #[test]
    fn test_gateway_funding_is_paid_into_cash_and_the_trade_pnl() {
        let mut sim = open_wide(GatewayConfig::default());
        let eight_h = 8 * 3_600 * 1_000;
        let before = sim.gw.portfolio().available_raw();
        // Long 0.05 on Binance pays 0.01% of 0.05 x 50,000 = 0.25; short 0.05 on OKX
        // receives 0.03% of 0.05 x 50,300 = 0.7545.
        funding_at(&mut sim, 50, BIN, "0.0001", "50000", eight_h);
        funding_at(&mut sim, 50, OKX, "0.0003", "50300", eight_h);
        sim.run_to(eight_h - 1);
        assert_eq!(sim.gw.trades()[0].funding_raw, 0, "nothing before 08:00");
        assert_eq!(sim.gw.next_wakeup_ns(), Some(eight_h * NS_PER_MS));
        sim.run_to(eight_h + 1);
        let received = usd(7_545) / 10_000 - usd(25) / 100;
        assert_eq!(sim.gw.trades()[0].funding_raw, received);
        assert_eq!(sim.gw.portfolio().available_raw(), before + received);
        assert_eq!(sim.gw.portfolio().funding_raw(), received);
        assert_eq!(sim.gw.counters().funding_payments, 2);
        assert!(sim.conserved());
        // Next settlement one interval later, at the last rate.
        sim.run_to(2 * eight_h + 1);
        assert_eq!(sim.gw.trades()[0].funding_raw, 2 * received);
        sim.kill.engage();
        sim.run_to(2 * eight_h + 2);
        sim.run_to(2 * eight_h + 100);
        let closed = sim.closed();
        assert_eq!(closed.len(), 1, "{:?}", sim.gw.trades());
        assert_eq!(closed[0].funding_raw, 2 * received);
        let legs: i128 = closed[0]
            .legs
            .iter()
            .map(|l| match l.side {
                OrderSide::Buy => l.exit.notional_raw - l.entry.notional_raw,
                OrderSide::Sell => l.entry.notional_raw - l.exit.notional_raw,
            } - l.entry.fees_raw - l.exit.fees_raw)
            .sum();
        assert_eq!(
            closed[0].pnl_raw,
            legs + 2 * received,
            "funding is part of PnL"
        );
        assert_eq!(sim.gw.portfolio().realised_raw(), closed[0].pnl_raw);
        assert!(sim.conserved());
    }

    #[test]
    fn test_gateway_leveraged_perp_is_liquidated_past_its_price() {
        let mut cfg = GatewayConfig::default();
        cfg.margin.leverage = 3;
        let mut sim = open_wide(cfg);
        let t = sim.gw.trades()[0];
        // Binance long 0.05 at 50,000 (2,500) posts ceil(2,500 / 3) = 833.33333334 and
        // the 1.25 fee; OKX short 0.05 at 50,300 (2,515): 838.33333334 and 1.2575.
        assert_eq!(t.legs[0].cash_locked_raw, 83_333_333_334 + usd(125) / 100);
        let locked = 83_333_333_334 + 83_833_333_334 + usd(125) / 100 + usd(12_575) / 10_000;
        assert_eq!(sim.gw.portfolio().open_value_raw(), locked);
        assert_eq!(sim.gw.portfolio().available_raw(), usd(20_000) - locked);
        // (2,500 - 833.33333334) / (0.05 x 0.996) and (2,515 + 838.33333334) /
        // (0.05 x 1.004), 0.4% maintenance on both venues.
        let long = sim.gw.liquidation_price(&t, 0);
        assert_eq!(long, Some(Price::from_raw(33_467_202_141_767_068)));
        let short = sim.gw.liquidation_price(&t, 1);
        assert_eq!(short, Some(Price::from_raw(66_799_468_791_633_466)));
        let s = sim.gw.snapshot(40 * NS_PER_MS);
        assert_eq!(s.margin_used_raw, locked);
        assert_eq!(s.margin_utilisation_bps, 837, "1,674.17 of 20,000 equity");
        // The venues liquidate on the mark price (Binance's markPriceUpdate `p`).
        funding_at(&mut sim, 50, BIN, "0", "33468", 0);
        sim.run_to(55);
        assert_eq!(
            sim.gw.trades()[0].phase,
            Phase::Open,
            "mark 33,468 is above"
        );
        funding_at(&mut sim, 60, BIN, "0", "33467", 0);
        sim.run_to(200);
        let closed = sim.closed();
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].reason, ExitReason::Liquidation);
        assert_eq!(sim.gw.counters().liquidations, 1);
        let exit = closed[0].legs[0].exit;
        assert_eq!(exit.notional_raw, long.unwrap().notional_raw(q("0.05")));
        // The long lost its margin less what maintenance kept, and the exit fee.
        let loss = closed[0].legs[0].entry.notional_raw - exit.notional_raw;
        assert!(loss < 83_333_333_334 && loss > usd(820), "{loss}");
        assert!(sim.gw.portfolio().available_raw() > 0);
        assert_eq!(sim.gw.portfolio().open_value_raw(), 0);
        assert!(sim.conserved());
    }

    #[test]
    fn test_gateway_refuses_entries_margin_cannot_cover_or_correlation_caps() {
        let mut cfg = GatewayConfig {
            starting_capital_raw: usd(3_000),
            ..GatewayConfig::default()
        };
        cfg.risk.balance_min_raw = 0;
        cfg.sizing.spread_capital_share_bps = 10_000;
        let mut sim = Sim::wide(cfg.clone());
        // Sized at all of the capital per leg: fully funded, two legs need twice it.
        assert_eq!(
            sim.intent(1, ("50010", IOC), ("50290", IOC)),
            Err(RejectReason::Margin)
        );
        assert_eq!(sim.gw.risk().counts().get(RejectReason::Margin), 1);
        assert_eq!(sim.orders_sent(), 0);
        cfg.margin.leverage = 3;
        let mut sim = Sim::wide(cfg);
        assert!(sim.intent(1, ("50010", IOC), ("50290", IOC)).is_ok());
        let mut cfg = GatewayConfig::default();
        cfg.risk.correlated_exposure_max_raw = usd(2_000);
        let mut sim = Sim::wide(cfg);
        assert_eq!(
            sim.intent(1, ("50010", IOC), ("50290", IOC)),
            Err(RejectReason::Correlation),
            "2,500 long on one instrument is over a 2,000 cap"
        );
    }

    #[test]
    fn test_gateway_daily_loss_halts_until_the_next_day() {
        let mut cfg = GatewayConfig::default();
        cfg.risk.daily_loss_max_raw = usd(1);
        let mut sim = open_wide(cfg);
        sim.book(50, OKX, "50900", "50910");
        sim.run_to(300);
        assert!(sim.closed()[0].pnl_raw < -usd(1));
        assert_eq!(sim.gw.counters().flattens, 1, "the breaker flattens");
        sim.book(400, OKX, "50300", "50310");
        assert_eq!(
            sim.intent(500, ("50010", IOC), ("50290", IOC)),
            Err(RejectReason::DailyLossHalt)
        );
        let next_day = crate::gateway::config::NS_PER_DAY / NS_PER_MS;
        sim.book(next_day, BIN, "49990", "50000");
        assert!(
            sim.intent(next_day + 1, ("50010", IOC), ("50290", IOC))
                .is_ok()
        );
    }

    #[test]
    fn test_gateway_post_only_hard_leg_waits_for_its_queue_share() {
        let mut sim = Sim::wide(GatewayConfig::default());
        sim.intent(1, ("50010", IOC), ("50310", ExecStyle::PostOnly))
            .unwrap();
        let trade_at = |sim: &mut Sim, ms: u64, qty: &str| {
            sim.run_to(ms);
            let body = EventBody::Trade {
                price: p("50310"),
                qty: q(qty),
                aggressor: Side::Bid,
                trade_id: 0,
            };
            sim.gw.on_market(
                now(ms),
                &MarketEvent {
                    ts_recv_raw: 0,
                    ts_venue_ms: 0,
                    instrument: OKX,
                    body,
                },
            );
            sim.run_to(ms);
        };
        // One unit rests ahead at 50,310: 0.2 must trade before us.
        trade_at(&mut sim, 30, "0.1");
        trade_at(&mut sim, 40, "0.1");
        assert_eq!(sim.gw.trades()[0].phase, Phase::EntryHard);
        trade_at(&mut sim, 50, "0.02");
        let fill = sim
            .records
            .iter()
            .find_map(|r| match r {
                GatewayRecord::Fill(f) => Some(*f),
                _ => None,
            })
            .unwrap();
        assert_eq!(
            (fill.qty, fill.liquidity, fill.ts_ns),
            (
                q("0.02"),
                crate::gateway::order::Liquidity::Maker,
                50 * NS_PER_MS
            )
        );
        let trade = sim.gw.trades()[0];
        assert_eq!(trade.phase, Phase::EntryEasy);
        assert_eq!(
            trade.legs[0].order.map(|_| ()),
            Some(()),
            "the easy leg works"
        );
        sim.run_to(100);
        let trade = sim.gw.trades()[0];
        assert_eq!(trade.phase, Phase::Open);
        assert_eq!(trade.legs.map(|l| l.entry.qty), [q("0.02"); 2]);
        assert!(sim.conserved());
    }

    #[test]
    fn test_gateway_exit_easy_leg_short_is_hedged_and_logged() {
        let mut sim = open_wide(GatewayConfig::default());
        // Only 0.02 within the exit IOC's 10 bps; the rest 18 bps below.
        let thin = [
            (Side::Bid, "49990", "0.02"),
            (Side::Bid, "49900", "1"),
            (Side::Ask, "50000", "1"),
        ];
        sim.levels(50, BIN, &thin);
        sim.book(50, OKX, "50665", "50675");
        sim.run_to(200);
        let legout = sim.records.iter().find_map(|r| match r {
            GatewayRecord::LegOut(l) => Some(*l),
            _ => None,
        });
        let legout = legout.expect("a leg-out on the exit");
        assert_eq!((legout.leg, legout.stage), (0, TradeStage::Exit));
        assert_eq!((legout.qty, legout.hedge_price), (q("0.03"), p("49900")));
        assert_eq!(
            (legout.naked_since_ns, legout.hedge_sent_ns),
            (70 * NS_PER_MS, 80 * NS_PER_MS)
        );
        // 40.01 below the 49,940.01 IOC limit on 0.03, plus 5 bps of 1,497.
        assert_eq!(legout.loss_raw, usd(12_003) / 10_000 + usd(7_485) / 10_000);
        let closed = sim.closed();
        assert_eq!(
            (closed[0].reason, closed[0].leg_outs),
            (ExitReason::SpreadWidened, 1)
        );
        assert_eq!(sim.gw.portfolio().leg_outs(), (1, legout.loss_raw));
        assert!(sim.conserved());
    }
}
