//! The gateway stage: drives the [`Gateway`] from two rings and reports to telemetry
//! through two more.
//!
//! Inputs: the market events the book stage applied (the paper venue keeps its own
//! books from them) and the edge stage's [`OrderIntent`]s. Each poll takes the market
//! events first, then the intents (an intent was decided on a book whose events are
//! already in the market ring, so the paper venue never trades on an older book than
//! the strategy saw), then runs [`Gateway::poll`] for arrivals, leg deadlines, exits,
//! the kill switch and the breakers. Time: a market event counts at its receive time, an
//! intent at its decision time, a poll at the clock; the gateway sees the running
//! maximum, so its time never goes back.
//!
//! Outputs: every [`GatewayRecord`] (orders, fills, leg-outs, trades, refusals) and a
//! [`PortfolioSnapshot`] every `snapshot_interval` go to the telemetry sidecar. A record
//! waits in the gateway's bounded outbox while the ring is full (nothing is dropped
//! unless the outbox overflows, which is counted); a snapshot that finds the ring full
//! is skipped and counted (the next one supersedes it). Latency: `gateway` is intent
//! popped to its entry order sent; `ingress_to_order` is the triggering frame's ingress
//! to the same instant.
//!
//! Runs on the hot-path thread; allocation-free after construction. It may not touch
//! the books of the book stage or any other stage's state.

use std::sync::Arc;

use crate::gateway::engine::{Gateway, Now};
use crate::gateway::portfolio::PortfolioSnapshot;
use crate::gateway::record::GatewayRecord;
use crate::gateway::risk::RejectReason;
use crate::runtime::{Clock, RunReport, Stage, StageKind};
use crate::stats::PipelineStats;
use crate::telemetry::sample::{Metric, SampleSink};
use crate::types::{MarketEvent, OrderIntent};

/// Market events handled per poll at most.
pub const MARKET_EVENTS_PER_POLL_MAX: usize = 256;
/// Intents handled per poll at most.
pub const INTENTS_PER_POLL_MAX: usize = 64;

/// The rings and handles the gateway stage is built with.
pub struct GatewayIo {
    /// Market events from the book stage.
    pub market: rtrb::Consumer<MarketEvent>,
    /// Order intents from the edge stage.
    pub intents: rtrb::Consumer<OrderIntent>,
    /// Records to telemetry.
    pub records: rtrb::Producer<GatewayRecord>,
    /// Portfolio snapshots to telemetry.
    pub snapshots: rtrb::Producer<PortfolioSnapshot>,
    /// Latency samples to telemetry.
    pub samples: SampleSink,
    /// Pipeline counters.
    pub stats: Arc<PipelineStats>,
    /// The clock.
    pub clock: Clock,
}

/// The gateway stage.
pub struct GatewayStage {
    gateway: Gateway,
    io: GatewayIo,
    snapshot_every_raw: u64,
    next_snapshot_raw: u64,
    /// The gateway's time so far (raw ticks); never decreases.
    now_raw: u64,
    /// Outbox overflows already copied to the counters.
    overflow_seen: u64,
}

impl GatewayStage {
    /// A stage around `gateway`, sending a snapshot every `snapshot_every` at most.
    pub fn new(gateway: Gateway, io: GatewayIo, snapshot_every: std::time::Duration) -> Self {
        let snapshot_every_raw = io.clock.raw_ticks_for(snapshot_every).max(1);
        let now_raw = io.clock.raw();
        Self {
            gateway,
            snapshot_every_raw,
            next_snapshot_raw: now_raw,
            now_raw,
            overflow_seen: 0,
            io,
        }
    }

    /// The gateway (read-only: portfolio, counters).
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// Advances the gateway's time to `raw` (or keeps it, if `raw` is older).
    fn at(&mut self, raw: u64) -> Now {
        self.now_raw = self.now_raw.max(raw);
        Now {
            raw: self.now_raw,
            ns: self.io.clock.unix_ns(self.now_raw),
        }
    }

    fn on_intent(&mut self, intent: &OrderIntent) {
        let popped_raw = self.io.clock.raw();
        let now = self.at(intent.ts_decision_raw);
        let stats = &self.io.stats;
        stats.gateway_intents.incr();
        match self.gateway.on_intent(now, intent) {
            Ok(_) => {
                let sent_raw = self.io.clock.raw();
                stats.gateway_accepted.incr();
                self.io
                    .samples
                    .record(Metric::Gateway, popped_raw, sent_raw);
                self.io
                    .samples
                    .record(Metric::IngressToOrder, intent.ts_recv_raw, sent_raw);
            }
            Err(reason) => stats.gateway_rejections[reason.index()].incr(),
        }
    }

    /// Counts and forwards pending records while the ring has room.
    fn forward_records(&mut self) {
        let (ring, stats) = (&mut self.io.records, &self.io.stats);
        self.gateway.forward_records(|record| {
            if ring.push(record).is_err() {
                return false;
            }
            match record {
                GatewayRecord::OrderSent(_) => stats.gateway_orders.incr(),
                GatewayRecord::Fill(_) => stats.gateway_fills.incr(),
                GatewayRecord::LegOut(_) => stats.gateway_leg_outs.incr(),
                GatewayRecord::Closed(_) => stats.gateway_trades_closed.incr(),
                GatewayRecord::Abandoned { .. } => stats.gateway_trades_abandoned.incr(),
                GatewayRecord::OrderDone(_) | GatewayRecord::Rejected { .. } => {}
            }
            true
        });
        let overflow = self.gateway.records_dropped();
        if overflow > self.overflow_seen {
            stats
                .gateway_records_dropped
                .add(overflow - self.overflow_seen);
            self.overflow_seen = overflow;
        }
    }

    fn send_snapshot(&mut self, now: Now) {
        let snapshot = self.gateway.snapshot(now.ns);
        if self.io.snapshots.push(snapshot).is_err() {
            self.io.stats.gateway_snapshots_skipped.incr();
        }
    }
}

impl Stage for GatewayStage {
    fn kind(&self) -> StageKind {
        StageKind::Gateway
    }

    fn poll(&mut self) -> usize {
        let mut handled = 0;
        while handled < MARKET_EVENTS_PER_POLL_MAX {
            let Ok(event) = self.io.market.pop() else {
                break;
            };
            let now = self.at(event.ts_recv_raw);
            self.gateway.on_market(now, &event);
            handled += 1;
        }
        self.io.stats.gateway_market_events.add(handled as u64);
        let mut intents = 0;
        while intents < INTENTS_PER_POLL_MAX {
            let Ok(intent) = self.io.intents.pop() else {
                break;
            };
            self.on_intent(&intent);
            intents += 1;
        }
        let now = self.at(self.io.clock.raw());
        self.gateway.poll(now);
        self.forward_records();
        if now.raw >= self.next_snapshot_raw {
            self.next_snapshot_raw = now.raw.saturating_add(self.snapshot_every_raw);
            self.send_snapshot(now);
        }
        handled + intents
    }

    fn finish(&mut self, report: &mut RunReport) {
        while self.poll() > 0 {}
        let now = self.at(self.io.clock.raw());
        self.gateway.close_at_end(now);
        self.send_snapshot(now);
        self.forward_records();
        let pending = self.gateway.records_pending() as u64;
        if pending > 0 {
            log::warn!("gateway: {pending} records could not reach telemetry at the end");
        }
        report.set("gateway.records_unsent", pending);
        let c = self.gateway.counters();
        report.set("gateway.downgraded", c.downgraded);
        report.set("gateway.flattens", c.flattens);
        report.set("gateway.reservation_overruns", c.reservation_overruns);
        report.set("gateway.entries_filled", c.entries_filled);
        report.set("gateway.sized_up_to_minimum", c.sized_up_to_minimum);
        report.set("gateway.entries_hedged", c.entries_hedged);
        report.set("gateway.end_of_run_closed", c.end_of_run_closed);
        report.set("gateway.end_marks_missing", c.end_marks_missing);
        report.set("gateway.funding_payments", c.funding_payments);
        report.set("gateway.funding_unpriced", c.funding_unpriced);
        report.set("gateway.liquidations", c.liquidations);
        let counts = self.gateway.risk().counts();
        let mut refused = Vec::new();
        for reason in RejectReason::ALL {
            let n = counts.get(reason);
            report.set(reason.report_key(), n);
            if n > 0 {
                refused.push(format!("{} {n}", reason.as_str()));
            }
        }
        if !refused.is_empty() {
            report
                .notes
                .push(format!("gateway refusals: {}", refused.join(", ")));
        }
        let s = self.gateway.snapshot(now.ns);
        let m = self.gateway.portfolio().metrics();
        let usd = |raw: i128| raw as f64 / crate::gateway::config::QUOTE_SCALE as f64;
        report.notes.push(format!(
            "portfolio: equity {:.2} USD (start {:.2}), realised PnL {:+.2}, unrealised {:+.2}, {} open",
            usd(s.equity_raw),
            usd(self.gateway.portfolio().starting_raw()),
            usd(s.realised_raw),
            usd(s.unrealised_raw),
            s.open_positions,
        ));
        report.notes.push(format!(
            "portfolio: {} trades closed, win rate {:.1}%, avg profit {:+.4} USD, profit factor {:.2}, Sharpe {:.2}, max drawdown {:.2} USD",
            m.trades,
            m.win_rate * 100.0,
            m.avg_profit,
            m.profit_factor,
            m.sharpe,
            m.max_drawdown,
        ));
        let peaks = self.gateway.portfolio().peaks();
        let caps = &self.gateway.config().risk;
        let figures = [
            (risk_keys::PEAK_INSTRUMENT, peaks.instrument_raw),
            (risk_keys::PEAK_VENUE, peaks.venue_raw),
            (risk_keys::PEAK_TOTAL, peaks.total_raw),
            (risk_keys::CAP_INSTRUMENT, caps.position_per_symbol_max_raw),
            (risk_keys::CAP_VENUE, caps.position_per_venue_max_raw),
            (risk_keys::CAP_TOTAL, caps.exposure_total_max_raw),
            (risk_keys::BALANCE_MIN, caps.balance_min_raw),
            (risk_keys::CASH_MIN, peaks.cash_min_raw),
            (risk_keys::FREE_CASH_MIN, peaks.free_cash_min_raw),
        ];
        for (keys, raw) in figures {
            set_money(report, keys, raw);
        }
        set_money(report, risk_keys::FUNDING, s.funding_raw);
        let gross: i128 = s.realised_raw.abs().max(1);
        report.notes.push(format!(
            "perps: funding {:+.4} USD over {} payments ({:.1}% of |realised PnL|), margin used {:.2} USD ({:.2}% of equity) at the end, {} liquidations",
            usd(s.funding_raw),
            c.funding_payments,
            s.funding_raw.abs() as f64 * 100.0 / gross as f64,
            usd(s.margin_used_raw),
            s.margin_utilisation_bps as f64 / 100.0,
            c.liquidations,
        ));
        report.notes.push(format!(
            "risk peaks (filled + working): instrument {:.2} USD (cap {:.2}), venue {:.2} (cap {:.2}), total {:.2} (cap {:.2}); lowest cash {:.2}, after reservations {:.2} (minimum balance {:.2}); {} fills over their reservation",
            usd(peaks.instrument_raw),
            usd(caps.position_per_symbol_max_raw),
            usd(peaks.venue_raw),
            usd(caps.position_per_venue_max_raw),
            usd(peaks.total_raw),
            usd(caps.exposure_total_max_raw),
            usd(peaks.cash_min_raw),
            usd(peaks.free_cash_min_raw),
            usd(caps.balance_min_raw),
            c.reservation_overruns,
        ));
        report.notes.push(format!(
            "gateway entries: {} sent, {} filled ({} by a hedge), {} abandoned; {} closed at the end of the run (END_OF_RUN)",
            c.accepted, c.entries_filled, c.entries_hedged, c.abandoned, c.end_of_run_closed,
        ));
        report.notes.push(format!(
            "portfolio: {} leg-outs ({:.4} USD lost), capital utilisation {:.2}%, realised APR {:.2}%, {} intents refused",
            s.leg_outs,
            usd(s.leg_out_loss_raw),
            m.capital_utilization * 100.0,
            m.realised_apr * 100.0,
            counts.total(),
        ));
    }
}

/// Signed money figures in the run report: report counters are unsigned, so each
/// figure (raw 10^-8 quote units) is two keys, its positive part and its negative
/// part; the figure is the first less the second ([`report_money_raw`]).
pub mod risk_keys {
    /// Highest exposure of one instrument (filled plus working).
    pub const PEAK_INSTRUMENT: [&str; 2] = [
        "gateway.peak_instrument_raw",
        "gateway.peak_instrument_neg_raw",
    ];
    /// Highest exposure of one venue.
    pub const PEAK_VENUE: [&str; 2] = ["gateway.peak_venue_raw", "gateway.peak_venue_neg_raw"];
    /// Highest total exposure.
    pub const PEAK_TOTAL: [&str; 2] = ["gateway.peak_total_raw", "gateway.peak_total_neg_raw"];
    /// `risk.position_per_symbol_max`.
    pub const CAP_INSTRUMENT: [&str; 2] = [
        "gateway.cap_instrument_raw",
        "gateway.cap_instrument_neg_raw",
    ];
    /// `risk.position_per_venue_max`.
    pub const CAP_VENUE: [&str; 2] = ["gateway.cap_venue_raw", "gateway.cap_venue_neg_raw"];
    /// `risk.exposure_total_max`.
    pub const CAP_TOTAL: [&str; 2] = ["gateway.cap_total_raw", "gateway.cap_total_neg_raw"];
    /// `risk.balance_min`.
    pub const BALANCE_MIN: [&str; 2] = ["gateway.balance_min_raw", "gateway.balance_min_neg_raw"];
    /// Lowest available capital.
    pub const CASH_MIN: [&str; 2] = ["gateway.cash_min_raw", "gateway.cash_min_neg_raw"];
    /// Lowest available capital less reservations.
    pub const FREE_CASH_MIN: [&str; 2] =
        ["gateway.free_cash_min_raw", "gateway.free_cash_min_neg_raw"];
    /// Funding received (positive) or paid over the run.
    pub const FUNDING: [&str; 2] = ["gateway.funding_raw", "gateway.funding_neg_raw"];
}

/// Writes a signed money figure under its two keys (see [`risk_keys`]).
fn set_money(report: &mut RunReport, keys: [&'static str; 2], raw: i128) {
    report.set(keys[0], u64::try_from(raw.max(0)).unwrap_or(u64::MAX));
    report.set(keys[1], u64::try_from((-raw).max(0)).unwrap_or(u64::MAX));
}

/// Reads a signed money figure written by [`set_money`], raw 10^-8 quote units.
pub fn report_money_raw(report: &RunReport, keys: [&str; 2]) -> i128 {
    i128::from(report.counter(keys[0])) - i128::from(report.counter(keys[1]))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::gateway::GatewayConfig;
    use crate::gateway::engine::tests::{p, registry};
    use crate::gateway::record::ExitReason;
    use crate::gateway::risk::KillSwitch;
    use crate::runtime::Control;
    use crate::telemetry::sample::LatencySample;
    use crate::types::{EventBody, ExecStyle, InstrumentId, IntentLeg, OrderSide, Qty, Strategy};

    const BIN: InstrumentId = InstrumentId(0);
    const OKX: InstrumentId = InstrumentId(1);

    struct Rig {
        stage: GatewayStage,
        market: rtrb::Producer<MarketEvent>,
        intents: rtrb::Producer<OrderIntent>,
        records: rtrb::Consumer<GatewayRecord>,
        snapshots: rtrb::Consumer<PortfolioSnapshot>,
        samples: rtrb::Consumer<LatencySample>,
        control: Arc<Control>,
        mock: Arc<quanta::Mock>,
        stats: Arc<PipelineStats>,
    }

    fn rig(records_ring: usize) -> Rig {
        let (clock, mock) = Clock::mock();
        mock.increment(Duration::from_secs(1));
        let control = Arc::new(Control::default());
        let stats = Arc::new(PipelineStats::default());
        let gateway = Gateway::new(
            GatewayConfig::default(),
            &registry(),
            KillSwitch::new(Arc::clone(&control)),
        )
        .unwrap();
        let (market, market_rx) = rtrb::RingBuffer::new(64);
        let (intents, intents_rx) = rtrb::RingBuffer::new(8);
        let (records_tx, records) = rtrb::RingBuffer::new(records_ring);
        let (snapshots_tx, snapshots) = rtrb::RingBuffer::new(8);
        let (samples_tx, samples) = rtrb::RingBuffer::new(64);
        let io = GatewayIo {
            market: market_rx,
            intents: intents_rx,
            records: records_tx,
            snapshots: snapshots_tx,
            samples: SampleSink::new(samples_tx, Arc::clone(&stats), |s| {
                &s.gateway_samples_dropped
            }),
            stats: Arc::clone(&stats),
            clock,
        };
        Rig {
            stage: GatewayStage::new(gateway, io, Duration::from_secs(1)),
            market,
            intents,
            records,
            snapshots,
            samples,
            control,
            mock,
            stats,
        }
    }

    impl Rig {
        fn now_raw(&self) -> u64 {
            self.stage.io.clock.raw()
        }

        /// Both books: one BTC at each touch.
        fn books(&mut self, bin: (&str, &str), okx: (&str, &str)) {
            let now = self.now_raw();
            for (id, (bid, ask)) in [(BIN, bin), (OKX, okx)] {
                let body = EventBody::TopOfBook {
                    bid: p(bid),
                    bid_qty: Qty::from_raw(Qty::SCALE),
                    ask: p(ask),
                    ask_qty: Qty::from_raw(Qty::SCALE),
                    update_id: 1,
                };
                let event = MarketEvent {
                    ts_recv_raw: now,
                    ts_venue_ms: 0,
                    instrument: id,
                    body,
                };
                self.market.push(event).unwrap();
            }
        }

        /// Buy 0.04 BTC on Binance at `buy`, sell on OKX at `sell`, both IOC.
        fn intent(&mut self, id: u64, buy: &str, sell: &str) {
            let now = self.now_raw();
            let leg = |instrument, side, limit: &str| IntentLeg {
                instrument,
                side,
                limit: p(limit),
                style: ExecStyle::Ioc,
            };
            self.intents
                .push(OrderIntent {
                    id,
                    strategy: Strategy::CrossVenue,
                    legs: [
                        leg(BIN, OrderSide::Buy, buy),
                        leg(OKX, OrderSide::Sell, sell),
                    ],
                    qty: Qty::from_decimal_str("0.04").unwrap(),
                    edge_bps: crate::types::bps::Bps::from_num(50),
                    expected_profit_bps: crate::types::bps::Bps::from_num(40),
                    confidence: 80,
                    ts_recv_raw: now.saturating_sub(1_000),
                    ts_decision_raw: now,
                    expires_raw: now + 2_000_000_000,
                })
                .unwrap();
        }

        /// Advances the clock by `ms` and polls.
        fn step(&mut self, ms: u64) {
            self.mock.increment(Duration::from_millis(ms));
            self.stage.poll();
        }

        fn drain(&mut self) -> Vec<GatewayRecord> {
            let mut out = Vec::new();
            while let Ok(r) = self.records.pop() {
                out.push(r);
            }
            out
        }
    }

    #[test]
    fn test_gateway_stage_sends_both_legs_records_latency_and_snapshots() {
        let mut r = rig(64);
        r.books(("100000", "100000.1"), ("100060", "100060.1"));
        r.step(1);
        r.intent(1, "100000.1", "100060");
        r.step(1);
        assert_eq!(r.stats.gateway_accepted.get(), 1);
        let metrics: Vec<Metric> = std::iter::from_fn(|| r.samples.pop().ok())
            .map(|s| s.metric)
            .collect();
        assert_eq!(metrics, [Metric::Gateway, Metric::IngressToOrder]);
        // Binance's 10 ms and OKX's 20 ms order latency pass; both IOC legs fill.
        for _ in 0..10 {
            r.step(10);
        }
        let records = r.drain();
        let sent = records
            .iter()
            .filter(|x| matches!(x, GatewayRecord::OrderSent(_)))
            .count();
        let fills = records
            .iter()
            .filter(|x| matches!(x, GatewayRecord::Fill(_)))
            .count();
        assert_eq!((sent, fills), (2, 2), "{records:?}");
        assert_eq!(r.stats.gateway_orders.get(), 2);
        assert_eq!(r.stats.gateway_fills.get(), 2);
        let first = r.snapshots.pop().unwrap();
        assert_eq!(
            first.open_positions, 0,
            "the first snapshot is taken at start"
        );
        r.step(1_000);
        let snapshot = r.snapshots.pop().unwrap();
        assert_eq!(snapshot.open_positions, 1);
        assert!(snapshot.open_value_raw > 0);
    }

    #[test]
    fn test_gateway_stage_kill_switch_from_control_flattens_and_refuses() {
        let mut r = rig(64);
        r.books(("100000", "100000.1"), ("100060", "100060.1"));
        r.step(1);
        r.intent(1, "100000.1", "100060");
        for _ in 0..10 {
            r.step(10);
        }
        r.control.kill();
        for _ in 0..10 {
            r.step(10);
        }
        let closed: Vec<ExitReason> = r
            .drain()
            .iter()
            .filter_map(|x| match x {
                GatewayRecord::Closed(t) => Some(t.reason),
                _ => None,
            })
            .collect();
        assert_eq!(closed, [ExitReason::KillSwitch]);
        r.intent(2, "100000.1", "100060");
        r.step(1);
        assert_eq!(
            r.stats.gateway_rejections[RejectReason::KillSwitch.index()].get(),
            1
        );
        r.control.rearm();
        r.intent(3, "100000.1", "100060");
        r.step(1);
        assert_eq!(r.stats.gateway_accepted.get(), 2);
    }

    #[test]
    fn test_gateway_stage_finish_closes_open_trades_at_the_marks() {
        let mut r = rig(64);
        r.books(("100000", "100000.1"), ("100060", "100060.1"));
        r.step(1);
        r.intent(1, "100000.1", "100060");
        for _ in 0..10 {
            r.step(10);
        }
        r.intent(2, "100000.1", "100060");
        r.step(1);
        let mut report = RunReport::default();
        r.stage.finish(&mut report);
        let closed: Vec<_> = r
            .drain()
            .into_iter()
            .filter_map(|x| match x {
                GatewayRecord::Closed(t) => Some(t),
                _ => None,
            })
            .collect();
        assert_eq!(
            closed.len(),
            1,
            "the open trade closes, the unfilled one is abandoned"
        );
        let t = closed[0];
        assert_eq!(t.reason, ExitReason::EndOfRun);
        // Long 0.04 exits at the 100,000 bid, short at the 100,060.1 ask.
        assert_eq!(
            t.legs[0].exit.notional_raw,
            p("100000").notional_raw(t.legs[0].entry.qty)
        );
        assert_eq!(
            t.legs[1].exit.notional_raw,
            p("100060.1").notional_raw(t.legs[1].entry.qty)
        );
        let fees: i128 = t
            .legs
            .iter()
            .map(|l| l.entry.fees_raw + l.exit.fees_raw)
            .sum();
        let gross =
            (p("100000").raw() - p("100000.1").raw() + p("100060").raw() - p("100060.1").raw()) * 4
                / 100;
        assert_eq!(t.pnl_raw, gross / 10_000 - fees);
        let pf = r.stage.gateway().portfolio();
        assert_eq!((pf.open_value_raw(), pf.reserved_raw()), (0, 0));
        assert_eq!(pf.realised_raw(), t.pnl_raw);
        assert_eq!(report.counter("gateway.end_of_run_closed"), 1);
        let peak = report_money_raw(&report, risk_keys::PEAK_INSTRUMENT);
        assert!(peak >= t.legs[0].entry.notional_raw, "{peak}");
        assert_eq!(
            report_money_raw(&report, risk_keys::CAP_INSTRUMENT),
            crate::gateway::config::usd(10_000)
        );
        assert!(report_money_raw(&report, risk_keys::FREE_CASH_MIN) > 0);
        assert_eq!(report.counter("gateway.entries_filled"), 1);
        assert_eq!(r.stats.gateway_trades_abandoned.get(), 1);
        assert_eq!(r.stats.gateway_trades_closed.get(), 1);
    }

    #[test]
    fn test_gateway_stage_full_ring_delays_records_in_order() {
        let mut r = rig(1);
        r.books(("100000", "100000.1"), ("100060", "100060.1"));
        r.step(1);
        r.intent(1, "100000.1", "100060");
        let mut got = Vec::new();
        for _ in 0..40 {
            r.step(10);
            got.extend(r.drain());
        }
        let orders: Vec<u64> = got
            .iter()
            .filter_map(|x| match x {
                GatewayRecord::OrderSent(o) => Some(o.id.0),
                _ => None,
            })
            .collect();
        assert_eq!(orders, [1, 2], "one record per poll, none lost: {got:?}");
        assert_eq!(r.stats.gateway_records_dropped.get(), 0);
        assert_eq!(r.stats.gateway_fills.get(), 2);
    }
}
