//! Properties of the order gateway (issue 7) over random market paths and intents:
//! capital conservation, no order after a failing hard constraint, no naked leg beyond
//! the leg timeout, queue-position fills, slippage bounds, leg-outs logged and counted,
//! cumulative PnL = sum of closed trades, and the venue latency limit; and (issue 20)
//! every cap against filled plus working exposure, with cash never negative, over
//! bursts of intents in the same instant; and with perpetuals costing money (funding
//! settled every few milliseconds, leveraged legs liquidated on mark jumps), cash and
//! free margin never negative, every liquidation booked, and the leverage and
//! correlated exposure caps kept at every entry. Simulated time only; case counts keep
//! the file to a few seconds.

use std::collections::HashMap;

use edgeline::book::L2Book;
use edgeline::gateway::config::{GatewayConfig, LatencyAction, NS_PER_MS, PaperConfig, usd};
use edgeline::gateway::engine::{Gateway, Now};
use edgeline::gateway::order::{Fill, Liquidity, Order, OrderId, OrderLeg, OrderStyle};
use edgeline::gateway::paper::{PaperVenue, VenueEvent, band_limit};
use edgeline::gateway::record::{ExitReason, GatewayRecord};
use edgeline::gateway::risk::{KillSwitch, RejectReason};
use edgeline::types::bps::Bps;
use edgeline::types::{
    EventBody, ExecStyle, FundingFields, InstrumentId, InstrumentRegistry, InstrumentSpec,
    IntentLeg, MarketEvent, MarketKind, OrderIntent, OrderSide, Price, Qty, Rate, Side, Venue,
};
use proptest::prelude::*;

/// Instruments: BTC perps on Binance, Bybit and OKX.
const VENUES: [Venue; 3] = [Venue::Binance, Venue::Bybit, Venue::Okx];
/// Price of one tick (0.1) in raw units.
const TICK: i128 = Price::SCALE / 10;

fn price(ticks: i64) -> Price {
    Price::from_raw(i128::from(ticks) * TICK)
}

fn registry() -> InstrumentRegistry {
    let mut reg = InstrumentRegistry::default();
    for venue in VENUES {
        reg.insert(InstrumentSpec {
            venue,
            kind: MarketKind::Perp,
            symbol: "BTCUSDT".into(),
            base: "BTC".into(),
            tick_size: price(1),
            lot_size: Qty::from_raw(Qty::SCALE / 1_000),
            min_notional: Price::from_raw(5 * Price::SCALE),
            contract_size: Qty::from_raw(Qty::SCALE),
        })
        .unwrap();
    }
    reg
}

fn event(instrument: usize, body: EventBody) -> MarketEvent {
    let id = u32::try_from(instrument).unwrap();
    MarketEvent {
        ts_recv_raw: 0,
        ts_venue_ms: 0,
        instrument: InstrumentId(id),
        body,
    }
}

/// One step of a random path.
#[derive(Debug, Clone)]
enum Action {
    /// A new book: mid in ticks, half-spread in ticks, level quantities (thousandths).
    Book {
        instrument: usize,
        mid: i64,
        half: i64,
        qty: [i64; 3],
    },
    /// A trade at the touch (`buy`: a buyer lifts the ask).
    Trade {
        instrument: usize,
        buy: bool,
        qty: i64,
    },
    /// An intent: buy leg, sell leg, limit offsets from the touch in ticks, styles,
    /// quantity (thousandths), expected profit bps, expiry offset ms (negative: expired).
    Intent {
        buy: usize,
        sell: usize,
        offset: [i64; 2],
        post: [bool; 2],
        qty: i64,
        profit: i64,
        expiry: i64,
    },
    /// Funding rate (raw 10^-8 units) on one instrument.
    Funding { instrument: usize, rate: i64 },
    /// A full funding event: rate (raw 10^-8 units), the mark `jump` per mille away
    /// from the book mid, and the next settlement `next_ms` from now.
    Settle {
        instrument: usize,
        rate: i64,
        jump: i64,
        next_ms: u64,
    },
    /// Kill switch engaged (true) or re-armed.
    Kill(bool),
    /// Several intents in the same instant (before any of them can fill).
    Burst(Vec<Action>),
}

fn intent_action(qty_max: i64) -> impl Strategy<Value = Action> {
    (
        0..3usize,
        1..3usize,
        [-20..40i64, -20..40i64],
        [any::<bool>(), any::<bool>()],
        1..qty_max,
        -5..60i64,
        -3..50i64,
    )
        .prop_map(
            |(buy, shift, offset, post, qty, profit, expiry)| Action::Intent {
                buy,
                sell: (buy + shift) % 3,
                offset,
                post,
                qty,
                profit,
                expiry,
            },
        )
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => (0..3usize, 499_000..501_000i64, 1..20i64, [1..3_000i64, 1..3_000i64, 1..3_000i64])
            .prop_map(|(instrument, mid, half, qty)| Action::Book { instrument, mid, half, qty }),
        4 => (0..3usize, any::<bool>(), 1..2_000i64)
            .prop_map(|(instrument, buy, qty)| Action::Trade { instrument, buy, qty }),
        3 => intent_action(300),
        1 => (0..3usize, -10_000..10_000i64).prop_map(|(instrument, rate)| Action::Funding { instrument, rate }),
        1 => prop::bool::weighted(0.3).prop_map(Action::Kill),
    ]
}

fn config() -> impl Strategy<Value = GatewayConfig> {
    (
        [1..150u64, 1..150u64, 1..150u64],
        any::<bool>(),
        0..=10_000i64,
        1..20u32,
    )
        .prop_map(
            |(latency_ms, downgrade, queue_share_bps, trades_per_hour)| {
                let mut cfg = GatewayConfig::default();
                for (i, ms) in latency_ms.into_iter().enumerate() {
                    cfg.paper.latency_ns[i] = ms * NS_PER_MS;
                }
                cfg.paper.queue_share_bps = queue_share_bps;
                cfg.risk.trades_per_hour_max = trades_per_hour;
                if downgrade {
                    cfg.execution.latency_action = LatencyAction::Downgrade;
                }
                cfg
            },
        )
}

/// Paths for the caps: the same actions plus bursts of up to 12 intents in one instant.
fn burst_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => action(),
        3 => prop::collection::vec(intent_action(120), 2..12).prop_map(Action::Burst),
    ]
}

/// Paths for money: the burst paths plus funding settlements and mark jumps.
fn money_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => burst_action(),
        3 => (0..3usize, -8_000_000..8_000_000i64, -350..350i64, 1..40u64).prop_map(
            |(instrument, rate, jump, next_ms)| Action::Settle { instrument, rate, jump, next_ms }
        ),
    ]
}

/// The caps configuration with leverage, a leverage limit and a correlated cap.
fn money_config() -> impl Strategy<Value = GatewayConfig> {
    (caps_config(), 1..=5u32, 0..=4u32, 500..20_000i64, 2..6usize).prop_map(
        |(mut cfg, max_leverage, lower, correlated, min_bars)| {
            cfg.risk.max_leverage = max_leverage;
            cfg.margin.leverage = max_leverage.saturating_sub(lower).max(1);
            cfg.risk.correlated_exposure_max_raw = usd(correlated);
            cfg.risk.correlation_bar_ms = 20;
            cfg.risk.correlation_window = 16;
            cfg.risk.correlation_min_bars = min_bars;
            cfg
        },
    )
}

/// Tight, random caps and capital, a trade rate that does not hide them, and latencies
/// long enough for bursts to be in flight together.
fn caps_config() -> impl Strategy<Value = GatewayConfig> {
    (
        [1..150u64, 1..150u64, 1..150u64],
        0..=10_000i64,
        (2_000..40_000i64, 0..1_000i64),
        (
            500..12_000i64,
            500..20_000i64,
            1_000..30_000i64,
            300..6_000i64,
        ),
    )
        .prop_map(
            |(
                latency_ms,
                queue_share_bps,
                (capital, balance_min),
                (symbol, venue, total, trade),
            )| {
                let mut cfg = GatewayConfig::default();
                for (i, ms) in latency_ms.into_iter().enumerate() {
                    cfg.paper.latency_ns[i] = ms * NS_PER_MS;
                }
                cfg.paper.queue_share_bps = queue_share_bps;
                cfg.starting_capital_raw = usd(capital);
                let r = &mut cfg.risk;
                r.balance_min_raw = usd(balance_min);
                r.position_per_symbol_max_raw = usd(symbol);
                r.position_per_venue_max_raw = usd(venue);
                r.exposure_total_max_raw = usd(total);
                r.trade_notional_max_raw = usd(trade);
                r.trades_per_hour_max = 4_000;
                r.daily_loss_max_raw = usd(1_000_000);
                cfg.execution.latency_limit_ns = 200 * NS_PER_MS;
                cfg
            },
        )
}

/// The gateway, its records, and what the checks need to remember.
struct Sim {
    gw: Gateway,
    kill: KillSwitch,
    cfg: GatewayConfig,
    now_ns: u64,
    sent: HashMap<OrderId, Order>,
    legouts: u64,
    legout_loss: i128,
    closed_pnl: i128,
    liquidated_closes: u64,
}

impl Sim {
    fn new(cfg: GatewayConfig) -> Self {
        let kill = KillSwitch::default();
        let gw = Gateway::new(cfg.clone(), &registry(), kill.clone()).unwrap();
        Self {
            gw,
            kill,
            cfg,
            now_ns: 0,
            sent: HashMap::new(),
            legouts: 0,
            legout_loss: 0,
            closed_pnl: 0,
            liquidated_closes: 0,
        }
    }

    fn now(&self) -> Now {
        Now {
            raw: self.now_ns,
            ns: self.now_ns,
        }
    }

    /// Advances to `ns`, polling at every wake-up on the way (as the stage would).
    fn advance_to(&mut self, ns: u64) -> Result<(), TestCaseError> {
        while let Some(next) = self.gw.next_wakeup_ns().filter(|&n| n <= ns) {
            self.now_ns = self.now_ns.max(next);
            self.gw.poll(self.now());
            self.check()?;
        }
        self.now_ns = ns;
        self.gw.poll(self.now());
        self.check()
    }

    fn touch(&self, instrument: usize, side: Side) -> Option<Price> {
        let book = self
            .gw
            .venue()
            .book(InstrumentId(u32::try_from(instrument).unwrap()))?;
        book.side(side).best().map(|l| l.price)
    }

    fn apply(&mut self, action: &Action) -> Result<(), TestCaseError> {
        match *action {
            Action::Book {
                instrument,
                mid,
                half,
                qty,
            } => self.book(instrument, mid, half, qty),
            Action::Trade {
                instrument,
                buy,
                qty,
            } => {
                let side = if buy { Side::Ask } else { Side::Bid };
                let Some(px) = self.touch(instrument, side) else {
                    return Ok(());
                };
                let aggressor = if buy { Side::Bid } else { Side::Ask };
                let body = EventBody::Trade {
                    price: px,
                    qty: Qty::from_raw(i128::from(qty * 100_000)),
                    aggressor,
                    trade_id: 0,
                };
                self.gw.on_market(self.now(), &event(instrument, body));
            }
            Action::Intent { .. } => self.intent(action)?,
            Action::Funding { instrument, rate } => {
                let body = EventBody::Funding {
                    mark: Price::ZERO,
                    index: Price::ZERO,
                    rate: Rate::from_raw(rate * 100_000_000),
                    next_funding_ms: 0,
                    fields: FundingFields::RATE,
                };
                self.gw.on_market(self.now(), &event(instrument, body));
            }
            Action::Settle {
                instrument,
                rate,
                jump,
                next_ms,
            } => {
                let id = InstrumentId(u32::try_from(instrument).unwrap());
                let Some(mid) = self.gw.venue().book(id).and_then(|b| b.mid()) else {
                    return Ok(());
                };
                let mark = Price::from_raw(mid.raw() + mid.raw() * i128::from(jump) / 1_000);
                let body = EventBody::Funding {
                    mark,
                    index: Price::ZERO,
                    rate: Rate::from_raw(rate * 100_000_000),
                    next_funding_ms: self.now_ns / NS_PER_MS + next_ms,
                    fields: FundingFields::ALL,
                };
                self.gw.on_market(self.now(), &event(instrument, body));
            }
            Action::Kill(true) => self.kill.engage(),
            Action::Kill(false) => self.kill.rearm(),
            Action::Burst(ref intents) => {
                for intent in intents {
                    self.intent(intent)?;
                }
            }
        }
        self.check()
    }

    fn book(&mut self, instrument: usize, mid: i64, half: i64, qty: [i64; 3]) {
        let begin = EventBody::DepthBegin {
            first_update_id: 0,
            last_update_id: 0,
            prev_update_id: 0,
            levels: 6,
            snapshot: true,
            checksum: None,
        };
        self.gw.on_market(self.now(), &event(instrument, begin));
        for (k, q) in qty.into_iter().enumerate() {
            let k = i64::try_from(k).unwrap();
            for (side, px) in [(Side::Bid, mid - half - k), (Side::Ask, mid + half + k)] {
                let body = EventBody::DepthLevel {
                    side,
                    price: price(px),
                    qty: Qty::from_raw(i128::from(q * 100_000)),
                };
                self.gw.on_market(self.now(), &event(instrument, body));
            }
        }
    }

    fn intent(&mut self, action: &Action) -> Result<(), TestCaseError> {
        let Action::Intent {
            buy,
            sell,
            offset,
            post,
            qty,
            profit,
            expiry,
        } = *action
        else {
            return Ok(());
        };
        let (Some(ask), Some(bid)) = (self.touch(buy, Side::Ask), self.touch(sell, Side::Bid))
        else {
            return Ok(());
        };
        let style = |post: bool| {
            if post {
                ExecStyle::PostOnly
            } else {
                ExecStyle::Ioc
            }
        };
        let leg = |i: usize, side, limit: Price, post| IntentLeg {
            instrument: InstrumentId(u32::try_from(i).unwrap()),
            side,
            limit,
            style: style(post),
        };
        let intent = OrderIntent {
            id: self.now_ns,
            strategy: edgeline::types::Strategy::CrossVenue,
            legs: [
                leg(
                    buy,
                    OrderSide::Buy,
                    Price::from_raw(ask.raw() + i128::from(offset[0]) * TICK),
                    post[0],
                ),
                leg(
                    sell,
                    OrderSide::Sell,
                    Price::from_raw(bid.raw() - i128::from(offset[1]) * TICK),
                    post[1],
                ),
            ],
            qty: Qty::from_raw(i128::from(qty * 100_000)),
            edge_bps: Bps::from_num(profit),
            expected_profit_bps: Bps::from_num(profit),
            confidence: 80,
            ts_recv_raw: self.now_ns,
            ts_decision_raw: self.now_ns,
            expires_raw: self.now_ns.saturating_add_signed(expiry * 1_000_000),
        };
        let working = self.gw.venue().working_len();
        let sent_before = self.sent.len();
        let result = self.gw.on_intent(self.now(), &intent);
        self.check()?;
        let expired = intent.is_expired(self.now_ns);
        let slow = [buy, sell]
            .iter()
            .any(|&i| self.gw.venue().latency_ns(VENUES[i]) > self.cfg.execution.latency_limit_ns);
        match result {
            // Property 2: a failing hard constraint means no order.
            Err(_) => {
                prop_assert_eq!(self.sent.len(), sent_before);
                prop_assert_eq!(self.gw.venue().working_len(), working);
            }
            Ok(id) => {
                prop_assert!(!expired, "an expired intent was accepted");
                prop_assert!(!self.kill.is_engaged());
                // Property 8: a slow venue blocks, or downgrades to IOC at reduced size.
                prop_assert!(
                    !slow || self.cfg.execution.latency_action == LatencyAction::Downgrade
                );
                let trade = self.gw.trades().iter().find(|t| t.id == id).unwrap();
                if slow {
                    prop_assert!(trade.legs.iter().all(|l| l.style == OrderStyle::Ioc));
                    prop_assert!(trade.legs[0].qty.raw() * 2 <= intent.qty.raw());
                }
                for leg in &trade.legs {
                    prop_assert!(
                        leg.order_leg.limit.notional_raw(leg.qty)
                            <= self.cfg.risk.trade_notional_max_raw
                    );
                }
                // Property 11: at the entry, exposure within max_leverage x equity and
                // the correlated exposure within its cap.
                let pf = self.gw.portfolio();
                let r = &self.cfg.risk;
                let total = pf.exposure().total_raw;
                prop_assert!(
                    total <= i128::from(r.max_leverage) * pf.equity_raw(),
                    "exposure {} over {}x equity {}",
                    total,
                    r.max_leverage,
                    pf.equity_raw()
                );
                let correlated = self.gw.correlated_exposure_raw();
                prop_assert!(
                    correlated <= r.correlated_exposure_max_raw,
                    "correlated exposure {} over its cap",
                    correlated
                );
            }
        }
        if slow
            && self.cfg.execution.latency_action == LatencyAction::Block
            && !expired
            && !self.kill.is_engaged()
        {
            prop_assert!(result.is_err());
        }
        Ok(())
    }

    /// Drains records and checks the invariants that hold after every call.
    fn check(&mut self) -> Result<(), TestCaseError> {
        let mut records = Vec::new();
        self.gw.drain_records(|r| records.push(r));
        for r in records {
            self.record(r)?;
        }
        let pf = self.gw.portfolio();
        // Property 1: capital is conserved.
        prop_assert_eq!(
            pf.available_raw() + pf.open_value_raw(),
            pf.starting_raw() + pf.realised_raw()
        );
        // Property 7: cumulative PnL is the sum of closed trades' PnL (funding is
        // realised when paid: open trades' funding counts too).
        let open_funding: i128 = self.gw.trades().iter().map(|t| t.funding_raw).sum();
        prop_assert_eq!(pf.realised_raw(), self.closed_pnl + open_funding);
        // Property 10: every liquidation is booked: its trade flattens and closes
        // `LIQUIDATION` (a trade may lose both legs).
        let flattening = self
            .gw
            .trades()
            .iter()
            .filter(|t| t.exit_reason == Some(ExitReason::Liquidation))
            .count() as u64;
        let liquidations = self.gw.counters().liquidations;
        prop_assert!(self.liquidated_closes + flattening <= liquidations);
        prop_assert!(liquidations <= 2 * (self.liquidated_closes + flattening));
        // Property 6: every leg-out is logged and counted (open trades hold theirs).
        let open_legouts: u64 = self.gw.trades().iter().map(|t| u64::from(t.leg_outs)).sum();
        let open_loss: i128 = self.gw.trades().iter().map(|t| t.leg_out_loss_raw).sum();
        prop_assert_eq!(pf.leg_outs().0 + open_legouts, self.legouts);
        prop_assert_eq!(pf.leg_outs().1 + open_loss, self.legout_loss);
        // Property 3: no leg stays naked beyond the timeout (the driver polls at every
        // deadline, so a hard-leg fill is matched or hedged by first fill + timeout).
        let timeout = self.cfg.execution.leg_timeout_ns;
        for t in self.gw.trades() {
            if let (Some(first), None) = (t.first_fill_ns, t.matched_ns) {
                prop_assert!(
                    self.now_ns - first <= timeout,
                    "naked for {} ns",
                    self.now_ns - first
                );
            }
        }
        prop_assert_eq!(self.gw.records_dropped(), 0);
        self.check_caps()
    }

    /// Property 9 (issue 20): filled plus working exposure within every cap, and cash
    /// (also after what working orders reserved) never negative.
    fn check_caps(&self) -> Result<(), TestCaseError> {
        let pf = self.gw.portfolio();
        let r = &self.cfg.risk;
        let ex = pf.exposure();
        for (i, &v) in ex.instrument_raw.iter().enumerate() {
            prop_assert!(
                v <= r.position_per_symbol_max_raw,
                "instrument {}: {} over its cap",
                i,
                v
            );
        }
        for (i, &v) in ex.venue_raw.iter().enumerate() {
            prop_assert!(
                v <= r.position_per_venue_max_raw,
                "venue {}: {} over its cap",
                i,
                v
            );
        }
        prop_assert!(
            ex.total_raw <= r.exposure_total_max_raw,
            "total {} over its cap",
            ex.total_raw
        );
        prop_assert!(pf.available_raw() >= 0, "cash {}", pf.available_raw());
        prop_assert!(
            ex.available_raw >= 0,
            "cash after reservations {}",
            ex.available_raw
        );
        prop_assert_eq!(self.gw.counters().reservation_overruns, 0);
        Ok(())
    }

    fn record(&mut self, r: GatewayRecord) -> Result<(), TestCaseError> {
        let timeout = self.cfg.execution.leg_timeout_ns;
        match r {
            GatewayRecord::OrderSent(o) => {
                self.sent.insert(o.id, o);
            }
            GatewayRecord::Fill(f) => self.check_slippage(&f)?,
            GatewayRecord::LegOut(l) => {
                self.legouts += 1;
                self.legout_loss += l.loss_raw;
                prop_assert!(l.hedge_sent_ns - l.naked_since_ns <= timeout);
            }
            GatewayRecord::Closed(c) => {
                self.closed_pnl += c.pnl_raw;
                self.liquidated_closes += u64::from(c.reason == ExitReason::Liquidation);
                prop_assert!(c.matched_ns - c.first_fill_ns <= timeout);
            }
            _ => {}
        }
        Ok(())
    }

    /// Property 5: IOC fills within their limit, market fills within the band from the
    /// touch, maker fills at their price.
    fn check_slippage(&self, f: &Fill) -> Result<(), TestCaseError> {
        let o = self
            .sent
            .get(&f.order)
            .expect("fill of an order never sent");
        let within = |limit: Price| match f.side {
            OrderSide::Buy => f.price <= limit && f.price >= f.touch,
            OrderSide::Sell => f.price >= limit && f.price <= f.touch,
        };
        match (f.liquidity, o.style) {
            (Liquidity::Maker, _) => prop_assert_eq!(f.price, o.limit),
            (Liquidity::Taker, OrderStyle::Market) => {
                let band = band_limit(f.touch, self.cfg.paper.market_band_bps, f.side);
                prop_assert!(within(band), "{:?} outside the band {:?}", f, band);
            }
            (Liquidity::Taker, _) => {
                prop_assert!(within(o.limit), "{:?} beyond limit {:?}", f, o.limit)
            }
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Properties 1, 2, 3, 5, 6, 7 and 8 over random paths of books, trades, funding,
    /// intents and kill-switch toggles.
    #[test]
    fn prop_gateway_invariants_over_random_paths(
        cfg in config(),
        steps in prop::collection::vec((1..300u64, action()), 1..80),
    ) {
        let mut sim = Sim::new(cfg);
        for (dt_ms, action) in &steps {
            sim.advance_to(sim.now_ns + dt_ms * NS_PER_MS)?;
            sim.apply(action)?;
        }
        // The kill switch flattens everything: nothing stays open.
        sim.kill.engage();
        sim.advance_to(sim.now_ns + NS_PER_MS)?;
        sim.advance_to(sim.now_ns + 10_000 * NS_PER_MS)?;
        prop_assert!(sim.gw.trades().is_empty(), "{:?}", sim.gw.trades());
        prop_assert_eq!(sim.gw.portfolio().open_value_raw(), 0);
        prop_assert_eq!(sim.gw.venue().working_len(), 0);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Property 9 over bursts (many intents in one instant, before any fill), partial
    /// fills, cancels, leg-outs and hedges, with tight random caps: at every step no cap
    /// is exceeded and cash stays at or above zero; at the end the reservations are all
    /// released.
    #[test]
    fn prop_gateway_caps_and_cash_hold_over_bursts(
        cfg in caps_config(),
        steps in prop::collection::vec((0..60u64, burst_action()), 1..80),
    ) {
        let mut sim = Sim::new(cfg);
        for (dt_ms, action) in &steps {
            sim.advance_to(sim.now_ns + dt_ms * NS_PER_MS)?;
            sim.apply(action)?;
        }
        sim.kill.engage();
        sim.advance_to(sim.now_ns + NS_PER_MS)?;
        sim.advance_to(sim.now_ns + 10_000 * NS_PER_MS)?;
        prop_assert!(sim.gw.trades().is_empty());
        prop_assert_eq!(sim.gw.portfolio().reserved_raw(), 0);
        prop_assert_eq!(sim.gw.portfolio().exposure().total_raw, 0);
        // The peaks follow every lock and reservation inside a call, not only between
        // calls: no intermediate state passed a cap either.
        let peaks = sim.gw.portfolio().peaks();
        let r = &sim.cfg.risk;
        prop_assert!(peaks.instrument_raw <= r.position_per_symbol_max_raw, "{:?}", peaks);
        prop_assert!(peaks.venue_raw <= r.position_per_venue_max_raw, "{:?}", peaks);
        prop_assert!(peaks.total_raw <= r.exposure_total_max_raw, "{:?}", peaks);
        prop_assert!(peaks.cash_min_raw >= 0 && peaks.free_cash_min_raw >= 0, "{:?}", peaks);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 320, ..ProptestConfig::default() })]

    /// Properties 9, 10 and 11 with perpetuals costing money: bursts, partial fills,
    /// cancels and hedges interleaved with funding settled every few milliseconds at
    /// rates up to 8% (a stress: payments that drain the cash) and mark jumps up to 35% that liquidate leveraged legs. At every
    /// step cash and free margin (cash less working orders' reserved margin) stay at or
    /// above zero and no exposure cap is exceeded; at every entry the leverage and
    /// correlated caps hold; every liquidation is booked.
    #[test]
    fn prop_gateway_money_holds_with_funding_and_liquidations(
        cfg in money_config(),
        steps in prop::collection::vec((0..30u64, money_action()), 20..120),
    ) {
        let mut sim = Sim::new(cfg);
        for (dt_ms, action) in &steps {
            sim.advance_to(sim.now_ns + dt_ms * NS_PER_MS)?;
            sim.apply(action)?;
        }
        sim.kill.engage();
        sim.advance_to(sim.now_ns + NS_PER_MS)?;
        sim.advance_to(sim.now_ns + 10_000 * NS_PER_MS)?;
        prop_assert!(sim.gw.trades().is_empty());
        prop_assert_eq!(sim.gw.portfolio().reserved_cash_raw(), 0);
        prop_assert_eq!(sim.gw.portfolio().open_value_raw(), 0);
        let peaks = sim.gw.portfolio().peaks();
        prop_assert!(peaks.cash_min_raw >= 0 && peaks.free_cash_min_raw >= 0, "{:?}", peaks);
        let r = &sim.cfg.risk;
        prop_assert!(peaks.total_raw <= r.exposure_total_max_raw, "{:?}", peaks);
    }
}

/// A paper venue over one Binance instrument with latency 1 ns.
fn paper(queue_share_bps: i64) -> PaperVenue {
    let cfg = PaperConfig {
        latency_ns: [1; 4],
        queue_share_bps,
        ..PaperConfig::default()
    };
    PaperVenue::new(&cfg, &[(Venue::Binance, MarketKind::Spot)])
}

fn order(id: u64, side: OrderSide, style: OrderStyle, limit: Price, qty: Qty) -> Order {
    let leg = OrderLeg {
        instrument: InstrumentId(0),
        venue: Venue::Binance,
        side,
        limit,
    };
    Order::new(OrderId(id), leg, style, qty, 0)
}

fn load(venue: &mut PaperVenue, bids: &[(i64, i64)], asks: &[(i64, i64)]) {
    let mut sink = |_| {};
    for (side, levels) in [(Side::Bid, bids), (Side::Ask, asks)] {
        for &(px, q) in levels {
            let body = EventBody::DepthLevel {
                side,
                price: price(px),
                qty: Qty::from_raw(i128::from(q)),
            };
            venue.on_market(0, &event(0, body), &mut sink);
        }
    }
}

/// Levels of one side: (price in ticks, quantity raw).
type Levels = Vec<(i64, i64)>;

fn levels(mid: i64) -> impl Strategy<Value = (Levels, Levels)> {
    // Quantities in whole lots of 0.00001, so every notional is exact at 10^-8.
    let side = || prop::collection::btree_map(1..30i64, 1..1_000i64, 1..8);
    (side(), side()).prop_map(move |(b, a)| {
        let lots = |(d, q): (i64, i64), sign: i64| (mid + sign * d, q * 1_000);
        (
            b.into_iter().map(|l| lots(l, -1)).collect(),
            a.into_iter().map(|l| lots(l, 1)).collect(),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Property 4: a resting order fills only after its queue share has traded at (or
    /// through) its price, and then by exactly the volume beyond it.
    #[test]
    fn prop_limit_fills_only_after_queue_share_traded(
        share in 0..=10_000i64,
        (bids, asks) in levels(1_000),
        at in 1..30i64,
        qty in 1..2_000_000i64,
        trades in prop::collection::vec((-3..3i64, 1..800_000i64, any::<bool>()), 0..40),
    ) {
        let mut venue = paper(share);
        load(&mut venue, &bids, &asks);
        let limit = price(1_000 - at);
        let ahead: i64 = bids.iter().filter(|(px, _)| price(*px) == limit).map(|(_, q)| q).sum();
        let required = (i128::from(ahead) * i128::from(share) + 9_999) / 10_000;
        let mut fills = Vec::new();
        venue.submit(order(1, OrderSide::Buy, OrderStyle::PostOnly, limit, Qty::from_raw(i128::from(qty))), 0).unwrap();
        venue.advance(1, &mut |e| fills.push(e));
        prop_assert!(fills.is_empty());
        let mut traded: i128 = 0;
        for (dp, q, seller) in trades {
            let px = Price::from_raw(limit.raw() + i128::from(dp) * TICK);
            let aggressor = if seller { Side::Ask } else { Side::Bid };
            if seller && px <= limit {
                traded += i128::from(q);
            }
            let body = EventBody::Trade { price: px, qty: Qty::from_raw(i128::from(q)), aggressor, trade_id: 0 };
            venue.on_market(2, &event(0, body), &mut |e| fills.push(e));
            let filled: i128 = fills.iter().map(|e| match e { VenueEvent::Fill(f) => f.qty.raw(), VenueEvent::Done(_) => 0 }).sum();
            prop_assert_eq!(filled, (traded - required).clamp(0, i128::from(qty)));
        }
    }

    /// Property 5 at the venue: an IOC never fills beyond its limit, a market order
    /// never beyond the band from the touch, and neither takes more than the book holds
    /// within that price.
    #[test]
    fn prop_taker_fills_within_model_bounds(
        (bids, asks) in levels(10_000),
        buy in any::<bool>(),
        market in any::<bool>(),
        offset in -5..40i64,
        lots in 1..5_000i64,
    ) {
        let qty = lots * 1_000;
        let mut venue = paper(2_000);
        load(&mut venue, &bids, &asks);
        let side = if buy { OrderSide::Buy } else { OrderSide::Sell };
        let book: L2Book = venue.book(InstrumentId(0)).unwrap().clone();
        let touch = if buy { book.best_ask().unwrap().price } else { book.best_bid().unwrap().price };
        let limit = if market {
            band_limit(touch, venue.band_bps(), side)
        } else if buy {
            price(10_000 + offset)
        } else {
            price(10_000 - offset)
        };
        let style = if market { OrderStyle::Market } else { OrderStyle::Ioc };
        venue.submit(order(1, side, style, limit, Qty::from_raw(i128::from(qty))), 0).unwrap();
        let mut events = Vec::new();
        venue.advance(1, &mut |e| events.push(e));
        let reachable: i64 = (if buy { &asks } else { &bids })
            .iter()
            .filter(|(px, _)| if buy { price(*px) <= limit } else { price(*px) >= limit })
            .map(|(_, q)| q)
            .sum();
        let fill = events.iter().find_map(|e| match e { VenueEvent::Fill(f) => Some(*f), VenueEvent::Done(_) => None });
        prop_assert_eq!(fill.map_or(0, |f| f.qty.raw()), i128::from(reachable.min(qty)));
        if let Some(f) = fill {
            prop_assert_eq!(f.touch, touch);
            if buy {
                prop_assert!(f.price >= touch && f.price <= limit);
            } else {
                prop_assert!(f.price <= touch && f.price >= limit);
            }
        }
        prop_assert!(matches!(events.last(), Some(VenueEvent::Done(_))));
        prop_assert_eq!(venue.working_len(), 0);
    }
}

#[test]
fn test_rejections_counted_by_reason() {
    let mut sim = Sim::new(GatewayConfig::default());
    sim.book(0, 1_000_000, 1, [100, 100, 100]);
    sim.book(1, 1_000_100, 1, [100, 100, 100]);
    let expired = Action::Intent {
        buy: 0,
        sell: 1,
        offset: [0, 0],
        post: [false, false],
        qty: 10,
        profit: 30,
        expiry: -1,
    };
    sim.now_ns = 5 * NS_PER_MS;
    sim.intent(&expired).unwrap();
    assert_eq!(sim.gw.risk().counts().get(RejectReason::Expired), 1);
    assert!(sim.sent.is_empty());
}
