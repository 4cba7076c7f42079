//! The edge stage: keeps the latest top of book per instrument, runs the basis tracker
//! of every perp/spot pair a change touches and the cross-venue spread scanner, records
//! opportunities, and proposes trades.
//!
//! Runs on the hot-path thread; allocation-free after construction (tops, pairs, the
//! instrument → pairs index and the scanner are sized from the registry at start-up).
//! Records go to telemetry through SPSC rings (basis records, spread records with the
//! rejection counts flushed every [`REJECTION_FLUSH_INTERVAL`]); when one is full the
//! record is dropped and counted, never waited for (rejection counts are kept and sent
//! with the next flush instead). Order intents go to the gateway through an optional
//! ring (absent when trading is disabled), under the same drop-and-count rule.

use std::sync::Arc;
use std::time::Duration;

use crate::book::TopUpdate;
use crate::edge::basis::{BasisEval, BasisParams, BasisTracker};
use crate::edge::opportunity::{BasisOpportunity, Direction, Quad};
use crate::edge::scanner::Scanner;
use crate::edge::spread::SIZE_BASE_FLOOR;
use crate::edge::spread_opportunity::{
    RejectReason, RejectionCounts, SpreadOpportunity, SpreadRecord, describe,
};
use crate::runtime::{Clock, Control, RunReport, Stage, StageKind};
use crate::stage_io::StageIo;
use crate::stats::PipelineStats;
use crate::telemetry::sample::{Metric, SampleSink};
use crate::types::decimal::mul_div;
use crate::types::intent::{ExecStyle, IntentLeg, OrderIntent, OrderSide, Strategy};
use crate::types::{InstrumentId, InstrumentRegistry, Price, Qty};

/// Top-of-book updates handled per poll at most.
pub const UPDATES_PER_POLL_MAX: usize = 256;

/// How often the scanner's rejection counts go to telemetry (one row per reason).
pub const REJECTION_FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// A spot and a perp market of the same coin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BasisPair {
    /// Spot leg.
    pub spot: InstrumentId,
    /// Perp leg.
    pub perp: InstrumentId,
}

struct PairState {
    pair: BasisPair,
    tracker: BasisTracker,
    /// Smallest notional of an intent: the larger minimum notional of the two legs.
    notional: Price,
    /// Base units per perp contract (touch quantities are in contracts).
    perp_contract_size: Qty,
    /// Tick sizes of the perp and the spot leg (the IOC limits stay on their grids).
    ticks: [Price; 2],
    /// The opportunity this pair last proposed, while it lasts: its direction and its
    /// intent's expiry (raw). One opportunity is one intent: the ticks after it that
    /// would still trade in the same direction send nothing until the edge falls below
    /// the trade threshold, the direction flips or the intent expires.
    proposed: Option<(Direction, u64)>,
}

/// The scanner with its telemetry ring and flush state.
struct SpreadOut {
    scanner: Scanner,
    ring: rtrb::Producer<SpreadRecord>,
    expiry_raw: u64,
    flush_every_raw: u64,
    flushed: RejectionCounts,
    flushed_at_raw: u64,
}

/// The gateway ring and the intent id sequence.
struct IntentOut {
    ring: rtrb::Producer<OrderIntent>,
    next_seq: u64,
    basis_expiry_raw: u64,
}

/// What the basis tracker needs of an instrument's latest valid top (a copy of the
/// whole update, ladder included, would cost ten times more per update).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Touch {
    bid: Price,
    bid_qty: Qty,
    ask: Price,
    ask_qty: Qty,
    ts_venue_ms: u64,
}

impl Touch {
    fn of(u: &TopUpdate) -> Self {
        Self {
            bid: u.bid,
            bid_qty: u.bid_qty,
            ask: u.ask,
            ask_qty: u.ask_qty,
            ts_venue_ms: u.ts_venue_ms,
        }
    }

    /// The same prices and quantities (venue time aside).
    fn same_touch(&self, other: &Self) -> bool {
        (self.bid, self.bid_qty, self.ask, self.ask_qty)
            == (other.bid, other.bid_qty, other.ask, other.ask_qty)
    }
}

/// The edge stage: its input ring, read in place (an update is a few hundred bytes; each
/// copy out of the ring was a `memcpy` call), and the rest.
pub struct EdgeStage {
    input: rtrb::Consumer<TopUpdate>,
    state: EdgeState,
}

/// Everything of the edge stage but its input ring.
struct EdgeState {
    tops: Vec<Option<Touch>>,
    pairs: Vec<PairState>,
    pairs_of: Vec<Vec<usize>>,
    io: EdgeOut,
    spread: Option<SpreadOut>,
    intents: Option<IntentOut>,
    names: Vec<String>,
    control: Option<(Arc<Control>, u64)>,
}

/// The edge stage's output ring and shared handles: its [`EdgeIo`] but the input.
struct EdgeOut {
    output: rtrb::Producer<BasisOpportunity>,
    samples: SampleSink,
    stats: Arc<PipelineStats>,
    clock: Clock,
}

/// The edge stage's rings: top-of-book updates in, basis opportunity records out.
pub type EdgeIo = StageIo<TopUpdate, BasisOpportunity>;

impl EdgeStage {
    /// An edge stage tracking `pairs` with the same parameters each; no scanner and no
    /// intents until [`EdgeStage::with_scanner`] and [`EdgeStage::with_intents`].
    pub fn new(
        registry: &InstrumentRegistry,
        pairs: &[BasisPair],
        params: BasisParams,
        io: EdgeIo,
    ) -> Self {
        let mut pairs_of = vec![Vec::new(); registry.len()];
        for (i, pair) in pairs.iter().enumerate() {
            pairs_of[pair.spot.index()].push(i);
            pairs_of[pair.perp.index()].push(i);
        }
        let min_notional = |id: InstrumentId| registry.get(id).min_notional;
        let StageIo {
            input,
            output,
            samples,
            stats,
            clock,
        } = io;
        let state = EdgeState {
            tops: vec![None; registry.len()],
            pairs: pairs
                .iter()
                .map(|&pair| PairState {
                    pair,
                    tracker: BasisTracker::new(params),
                    notional: min_notional(pair.spot)
                        .max(min_notional(pair.perp))
                        .max(Price::from_raw(SIZE_BASE_FLOOR * Price::SCALE)),
                    perp_contract_size: registry.get(pair.perp).contract_size,
                    ticks: [
                        registry.get(pair.perp).tick_size,
                        registry.get(pair.spot).tick_size,
                    ],
                    proposed: None,
                })
                .collect(),
            pairs_of,
            io: EdgeOut {
                output,
                samples,
                stats,
                clock,
            },
            spread: None,
            intents: None,
            control: None,
            names: registry
                .iter()
                .map(|i| format!("{} {} {}", i.venue, i.kind.name(), i.symbol))
                .collect(),
        };
        Self { input, state }
    }

    /// Follows the thresholds an operator publishes in `control` (`/reload`): one atomic
    /// load per poll, the new values read only when their generation moved.
    #[must_use]
    pub fn with_control(mut self, control: Arc<Control>) -> Self {
        let seen = control.thresholds_generation();
        self.state.control = Some((control, seen));
        self
    }

    /// Adds the cross-venue scanner; its records go to `ring`.
    #[must_use]
    pub fn with_scanner(mut self, scanner: Scanner, ring: rtrb::Producer<SpreadRecord>) -> Self {
        let clock = &self.state.io.clock;
        let expiry = Duration::from_nanos(scanner.params().expiry_ns);
        self.state.spread = Some(SpreadOut {
            expiry_raw: clock.raw_ticks_for(expiry),
            flush_every_raw: clock.raw_ticks_for(REJECTION_FLUSH_INTERVAL),
            flushed: RejectionCounts::default(),
            flushed_at_raw: clock.raw(),
            scanner,
            ring,
        });
        self
    }

    /// Enables trading: intents of both strategies go to `ring` (basis intents expire
    /// after `basis_expiry`).
    #[must_use]
    pub fn with_intents(
        mut self,
        ring: rtrb::Producer<OrderIntent>,
        basis_expiry: Duration,
    ) -> Self {
        self.state.intents = Some(IntentOut {
            ring,
            next_seq: 1,
            basis_expiry_raw: self.state.io.clock.raw_ticks_for(basis_expiry),
        });
        self
    }

    /// The scanner, when enabled.
    pub fn scanner(&self) -> Option<&Scanner> {
        self.state.spread.as_ref().map(|s| &s.scanner)
    }
}

impl EdgeState {
    /// Applies newly published thresholds to every basis pair.
    fn reload_thresholds(&mut self) {
        let Some((control, seen)) = self.control.as_mut() else {
            return;
        };
        let generation = control.thresholds_generation();
        if generation == *seen {
            return;
        }
        *seen = generation;
        if let Some(t) = control.thresholds() {
            for state in &mut self.pairs {
                state.tracker.set_thresholds(t.tracker, t.trade);
            }
            log::info!(
                "edge: thresholds reloaded: tracker {} bps, trade {} bps",
                t.tracker,
                t.trade
            );
        }
    }

    fn on_update(&mut self, update: &TopUpdate) {
        let start_raw = self.io.clock.raw();
        let index = update.instrument.index();
        let Some(slot) = self.tops.get_mut(index) else {
            return;
        };
        let mut evaluated = false;
        if update.valid {
            // A basis tick is a change of the touch; depth, ladder or funding changes
            // alone reach the scanner only.
            let touch = Touch::of(update);
            let ticked = slot.is_none_or(|last| !last.same_touch(&touch));
            *slot = Some(touch);
            for k in 0..if ticked {
                self.pairs_of[index].len()
            } else {
                0
            } {
                let pair_index = self.pairs_of[index][k];
                evaluated |= self.evaluate_pair(pair_index, update.ts_recv_raw, start_raw);
            }
        } else {
            // The book is invalid until resynced: no pair uses it meanwhile.
            *slot = None;
            self.io.stats.edge_suppressed_invalid.incr();
        }
        evaluated |= self.scan(update, start_raw);
        if evaluated {
            let end_raw = self.io.clock.raw();
            self.io.samples.record(Metric::Edge, start_raw, end_raw);
            self.io
                .samples
                .record(Metric::IngressToDecision, update.ts_recv_raw, end_raw);
        }
    }

    /// Runs the basis tracker of one pair; true when it evaluated a tick.
    fn evaluate_pair(&mut self, pair_index: usize, ts_recv_raw: u64, start_raw: u64) -> bool {
        let state = &mut self.pairs[pair_index];
        let (Some(spot), Some(perp)) = (
            self.tops[state.pair.spot.index()],
            self.tops[state.pair.perp.index()],
        ) else {
            return false;
        };
        self.io.stats.edge_ticks.incr();
        let quad = Quad {
            perp_bid: perp.bid,
            perp_ask: perp.ask,
            spot_bid: spot.bid,
            spot_ask: spot.ask,
        };
        let threshold = state.tracker.params().tracker_threshold;
        let Some(eval) = state.tracker.on_tick_from(quad, threshold) else {
            state.proposed = None;
            return true;
        };
        let decision_raw = self.io.clock.raw();
        let opportunity = record(
            state,
            &eval,
            perp.ts_venue_ms,
            [ts_recv_raw, start_raw, decision_raw],
        );
        self.io.stats.edge_opportunities.incr();
        if !opportunity.would_trade_current {
            state.proposed = None;
        } else {
            self.io.stats.edge_would_trade.incr();
            let cap = IntentCap {
                notional: state.notional,
                touch_qty: touch_qty(&opportunity, &spot, &perp, state.perp_contract_size),
                ticks: state.ticks,
            };
            if let Some(intents) = self.intents.as_mut() {
                if is_proposed(state.proposed, opportunity.direction, decision_raw) {
                    self.io.stats.edge_intents_repeated.incr();
                } else {
                    let intent = basis_intent(&opportunity, cap, intents);
                    state.proposed = Some((opportunity.direction, intent.expires_raw));
                    push_intent(intents, intent, &self.io);
                }
            }
        }
        if self.io.output.push(opportunity).is_err() {
            self.io.stats.edge_records_dropped.incr();
        }
        true
    }

    /// Runs the scanner on one update; true when it evaluated a candidate.
    fn scan(&mut self, update: &TopUpdate, start_raw: u64) -> bool {
        let Some(spread) = self.spread.as_mut() else {
            return false;
        };
        let delay_ms = (update.ts_venue_ms != 0).then(|| {
            let recv_ms = self.io.clock.unix_ns(update.ts_recv_raw) / 1_000_000;
            u32::try_from(recv_ms.saturating_sub(update.ts_venue_ms)).unwrap_or(u32::MAX)
        });
        let before = spread.scanner.counts().candidates;
        let (io, intents) = (&self.io, &mut self.intents);
        let params = *spread.scanner.params();
        let expiry_raw = spread.expiry_raw;
        let ring = &mut spread.ring;
        spread.scanner.on_update(update, delay_ms, |opp| {
            let decision_raw = io.clock.raw();
            opp.ts_decision_raw = decision_raw;
            opp.expires_raw = decision_raw.saturating_add(expiry_raw);
            io.stats.edge_spread_accepted.incr();
            let best = opp.best_size();
            if let Some(intents) = intents.as_mut()
                && best.net_bps >= params.trade_threshold_bps
                && best.confidence >= params.confidence_min
            {
                let intent = spread_intent(opp, intents);
                push_intent(intents, intent, io);
            }
            if ring.push(SpreadRecord::Opportunity(*opp)).is_err() {
                io.stats.edge_spread_records_dropped.incr();
            }
        });
        let evaluated = spread.scanner.counts().candidates - before;
        self.io.stats.edge_spread_candidates.add(evaluated);
        if start_raw.saturating_sub(spread.flushed_at_raw) >= spread.flush_every_raw {
            flush_rejections(spread, start_raw);
        }
        evaluated > 0
    }
}

/// Whether a tick that would trade in `direction` at `now_raw` belongs to the opportunity
/// already `proposed` (same direction, its intent not expired).
fn is_proposed(proposed: Option<(Direction, u64)>, direction: Direction, now_raw: u64) -> bool {
    proposed.is_some_and(|(d, expires_raw)| d == direction && now_raw <= expires_raw)
}

/// Sends the rejections counted since the last flush, if any; when the ring is full
/// they stay counted for the next flush.
fn flush_rejections(spread: &mut SpreadOut, now_raw: u64) {
    spread.flushed_at_raw = now_raw;
    let total = spread.scanner.counts().rejections;
    let counts = total.since(&spread.flushed);
    if counts.total() == 0 {
        return;
    }
    let record = SpreadRecord::Rejections {
        ts_raw: now_raw,
        counts,
    };
    if spread.ring.push(record).is_ok() {
        spread.flushed = total;
    }
}

/// The next intent id: the strategy in the top byte, a run-wide sequence below.
fn next_id(intents: &mut IntentOut, strategy: Strategy) -> u64 {
    let tag: u64 = match strategy {
        Strategy::Basis => 1,
        Strategy::CrossVenue => 2,
    };
    let seq = intents.next_seq;
    intents.next_seq += 1;
    (tag << 56) | (seq & ((1 << 56) - 1))
}

fn push_intent(intents: &mut IntentOut, intent: OrderIntent, io: &EdgeOut) {
    if intents.ring.push(intent).is_ok() {
        io.stats.edge_intents.incr();
    } else {
        io.stats.edge_intents_dropped.incr();
    }
}

/// Buy at the buy leg's worst touched ask, sell at the sell leg's worst touched bid, IOC
/// both, the best size's quantity.
fn spread_intent(opp: &SpreadOpportunity, intents: &mut IntentOut) -> OrderIntent {
    let best = opp.best_size();
    OrderIntent {
        id: next_id(intents, Strategy::CrossVenue),
        strategy: Strategy::CrossVenue,
        legs: [
            IntentLeg {
                instrument: opp.buy,
                side: OrderSide::Buy,
                limit: best.worst_buy,
                style: ExecStyle::Ioc,
            },
            IntentLeg {
                instrument: opp.sell,
                side: OrderSide::Sell,
                limit: best.worst_sell,
                style: ExecStyle::Ioc,
            },
        ],
        qty: best.qty,
        edge_bps: opp.gross_bps,
        expected_profit_bps: best.net_bps,
        confidence: best.confidence,
        ts_recv_raw: opp.ts_recv_raw,
        ts_decision_raw: opp.ts_decision_raw,
        expires_raw: opp.expires_raw,
    }
}

/// What bounds a basis intent's quantity.
#[derive(Debug, Clone, Copy)]
struct IntentCap {
    /// The smallest notional both legs accept.
    notional: Price,
    /// Base quantity both touches show on the sides the intent takes.
    touch_qty: Qty,
    /// Tick sizes of the perp and the spot leg.
    ticks: [Price; 2],
}

/// Share of the expected IOC profit each leg's limit may give up from the touch: the
/// order reaches the venue a latency later, when the dislocated leg has already moved
/// back some way (a limit at the old touch then meets no liquidity). With one half per
/// leg, fills at both limits still break even by the cost model.
pub const IOC_LIMIT_PROFIT_SHARE_PER_LEG: (i128, i128) = (1, 2);

/// The IOC limit of a leg taking `touch`: `slip_bits` (bps, 32 fractional bits) worse,
/// rounded back towards the touch onto the `tick` grid.
fn ioc_limit(touch: Price, side: OrderSide, slip_bits: i128, tick: Price) -> Price {
    let slip = mul_div(touch.raw(), slip_bits, 10_000i128 << 32);
    let tick = tick.raw().max(1);
    let raw = match side {
        OrderSide::Buy => {
            let limit = touch.raw() + slip;
            limit - limit.rem_euclid(tick)
        }
        OrderSide::Sell => {
            let limit = touch.raw() - slip;
            limit + (tick - limit.rem_euclid(tick)) % tick
        }
    };
    Price::from_raw(raw)
}

/// The base quantity shown at the touch on both sides a basis trade takes (the perp's
/// contracts converted to base).
fn touch_qty(o: &BasisOpportunity, spot: &Touch, perp: &Touch, perp_contract_size: Qty) -> Qty {
    let (perp_qty, spot_qty) = match o.direction {
        Direction::ShortPerpLongSpot => (perp.bid_qty, spot.ask_qty),
        Direction::LongPerpShortSpot => (perp.ask_qty, spot.bid_qty),
    };
    let perp_base = mul_div(perp_qty.raw(), perp_contract_size.raw(), Qty::SCALE);
    Qty::from_raw(perp_base.min(spot_qty.raw()))
}

/// IOC both legs from the touch of the chosen direction, each limit giving up
/// [`IOC_LIMIT_PROFIT_SHARE_PER_LEG`] of the expected profit. The quantity is what both
/// touches show, and at least `notional` / spot ask (the gateway sizes within it). The
/// basis tracker has no confidence model: it proposes with confidence 100 and lets the
/// gateway's risk limits and sizing decide.
fn basis_intent(o: &BasisOpportunity, cap: IntentCap, intents: &mut IntentOut) -> OrderIntent {
    let notional = cap.notional;
    let (perp_side, perp_limit, spot_limit) = match o.direction {
        Direction::ShortPerpLongSpot => (OrderSide::Sell, o.prices.perp_bid, o.prices.spot_ask),
        Direction::LongPerpShortSpot => (OrderSide::Buy, o.prices.perp_ask, o.prices.spot_bid),
    };
    let qty_raw = mul_div(notional.raw(), Qty::SCALE, o.prices.spot_ask.raw().max(1));
    let (share, of) = IOC_LIMIT_PROFIT_SHARE_PER_LEG;
    let slip_bits = i128::from(o.expected_profit_ioc.to_bits()).max(0) * share / of;
    let spot_side = perp_side.opposite();
    OrderIntent {
        id: next_id(intents, Strategy::Basis),
        strategy: Strategy::Basis,
        legs: [
            IntentLeg {
                instrument: o.perp,
                side: perp_side,
                limit: ioc_limit(perp_limit, perp_side, slip_bits, cap.ticks[0]),
                style: ExecStyle::Ioc,
            },
            IntentLeg {
                instrument: o.spot,
                side: spot_side,
                limit: ioc_limit(spot_limit, spot_side, slip_bits, cap.ticks[1]),
                style: ExecStyle::Ioc,
            },
        ],
        qty: Qty::from_raw(qty_raw.max(cap.touch_qty.raw())),
        edge_bps: o.edge_bps,
        expected_profit_bps: o.expected_profit_ioc,
        confidence: 100,
        ts_recv_raw: o.ts_recv_raw,
        ts_decision_raw: o.ts_decision_raw,
        expires_raw: o.ts_decision_raw.saturating_add(intents.basis_expiry_raw),
    }
}

/// Builds the record; `times` = [ingress, analysis start, decision] raw ticks.
fn record(state: &PairState, e: &BasisEval, ts_venue_ms: u64, times: [u64; 3]) -> BasisOpportunity {
    let params = state.tracker.params();
    BasisOpportunity {
        spot: state.pair.spot,
        perp: state.pair.perp,
        ts_recv_raw: times[0],
        analysis_start_raw: times[1],
        ts_decision_raw: times[2],
        ts_venue_ms,
        prices: e.prices,
        mid_ref: e.mid_ref,
        baseline: e.baseline,
        deviation: e.deviation,
        perp_movement_bps: e.perp_movement_bps,
        spot_movement_bps: e.spot_movement_bps,
        volatility_source: e.source,
        volatility_ratio: e.ratio,
        direction: e.direction,
        edge_bps: e.edge_bps,
        would_trade_current: e.edge_bps >= params.trade_threshold,
        costs: params.costs,
        expected_profit_ioc: e.edge_bps - params.costs.ioc_both,
        expected_profit_hybrid: e.edge_bps - params.costs.ioc_perp_alo_spot,
    }
}

impl Stage for EdgeStage {
    fn kind(&self) -> StageKind {
        StageKind::Edge
    }

    fn poll(&mut self) -> usize {
        self.state.reload_thresholds();
        let take = self.input.slots().min(UPDATES_PER_POLL_MAX);
        if take == 0 {
            return 0;
        }
        let Ok(chunk) = self.input.read_chunk(take) else {
            return 0;
        };
        let (first, second) = chunk.as_slices();
        for update in first.iter().chain(second) {
            self.state.on_update(update);
        }
        chunk.commit_all();
        take
    }

    fn finish(&mut self, report: &mut RunReport) {
        while self.poll() > 0 {}
        let state = &mut self.state;
        let Some(spread) = state.spread.as_mut() else {
            return;
        };
        flush_rejections(spread, state.io.clock.raw());
        let counts = *spread.scanner.counts();
        report.set("scanner.instruments", spread.scanner.scanned() as u64);
        report.set("scanner.candidates", counts.candidates);
        report.set("scanner.accepted", counts.accepted);
        for reason in RejectReason::ALL {
            report.set(reason.report_key(), counts.rejections.get(reason));
        }
        let names = &state.names;
        report.notes.extend(
            spread
                .scanner
                .top()
                .iter()
                .enumerate()
                .map(|(rank, o)| format!("scanner top {}: {}", rank + 1, describe(o, names))),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::edge::scanner::tests::{registry, terms, update};
    use crate::edge::spread::ScannerParams;
    use crate::runtime::Clock;
    use crate::stats::PipelineStats;
    use crate::telemetry::sample::SampleSink;
    use crate::types::Venue;

    struct Rig {
        stage: EdgeStage,
        input: rtrb::Producer<TopUpdate>,
        spread: rtrb::Consumer<SpreadRecord>,
        intents: rtrb::Consumer<OrderIntent>,
        mock: Arc<quanta::Mock>,
        stats: Arc<PipelineStats>,
    }

    fn rig() -> Rig {
        let (clock, mock) = Clock::mock();
        mock.increment(Duration::from_secs(1));
        let registry = registry(&[Venue::Binance, Venue::Okx]);
        let stats = Arc::new(PipelineStats::default());
        let (input, input_rx) = rtrb::RingBuffer::new(64);
        let (out, _out_rx) = rtrb::RingBuffer::new(64);
        let (samples, _samples_rx) = rtrb::RingBuffer::new(64);
        let (spread_tx, spread) = rtrb::RingBuffer::new(64);
        let (intent_tx, intents) = rtrb::RingBuffer::new(64);
        let io = EdgeIo {
            input: input_rx,
            output: out,
            samples: SampleSink::new(samples, Arc::clone(&stats), |s| &s.edge_samples_dropped),
            stats: Arc::clone(&stats),
            clock,
        };
        let pair = BasisPair {
            spot: InstrumentId(0),
            perp: InstrumentId(2),
        };
        let basis = BasisParams {
            baseline_ticks: 1,
            ..BasisParams::default()
        };
        let scanner = Scanner::new(&registry, ScannerParams::default(), terms);
        let stage = EdgeStage::new(&registry, &[pair], basis, io)
            .with_scanner(scanner, spread_tx)
            .with_intents(intent_tx, Duration::from_millis(500));
        Rig {
            stage,
            input,
            spread,
            intents,
            mock,
            stats,
        }
    }

    fn px(cents: i64) -> Price {
        Price::from_raw(i128::from(cents) * Price::SCALE / 100)
    }

    #[test]
    fn test_published_thresholds_reach_every_pair_on_the_next_poll() {
        use crate::types::bps::Bps;
        let control = Arc::new(crate::runtime::Control::default());
        let mut stage = rig().stage.with_control(Arc::clone(&control));
        stage.poll();
        assert_eq!(
            stage.state.pairs[0].tracker.params().trade_threshold,
            Bps::from_num(20),
            "defaults until a reload"
        );
        control.publish_thresholds(crate::runtime::Thresholds {
            tracker: Bps::from_num(12),
            trade: Bps::from_num(25),
        });
        stage.poll();
        let params = stage.state.pairs[0].tracker.params();
        assert_eq!(params.tracker_threshold, Bps::from_num(12));
        assert_eq!(params.trade_threshold, Bps::from_num(25));
    }

    #[test]
    fn test_basis_and_spread_intents_with_their_expiry() {
        let mut r = rig();
        r.input.push(update(0, 9990, 10000)).unwrap();
        r.input.push(update(2, 10030, 10040)).unwrap();
        r.stage.poll();
        let basis = r.intents.pop().unwrap();
        assert_eq!(basis.strategy, Strategy::Basis);
        assert_eq!(basis.id >> 56, 1);
        assert_eq!(basis.legs[0].instrument, InstrumentId(2));
        // Edge 29.955 bps, expected IOC profit 11.755 bps: each limit gives up half of
        // it from the touch (tick 10^-8).
        let give_up = |touch: Price, limit: Price| {
            ((touch.raw() - limit.raw()).abs() as f64 / touch.raw() as f64) * 1e4
        };
        let half = (basis.expected_profit_bps.to_num::<f64>()) / 2.0;
        assert_eq!(basis.legs[0].side, OrderSide::Sell);
        assert!(basis.legs[0].limit < px(10030));
        assert!((give_up(px(10030), basis.legs[0].limit) - half).abs() < 1e-4);
        assert_eq!(basis.legs[1].side, OrderSide::Buy);
        assert!(basis.legs[1].limit > px(10000));
        assert!((give_up(px(10000), basis.legs[1].limit) - half).abs() < 1e-4);
        assert_eq!(
            basis.qty,
            Qty::from_raw(10 * Qty::SCALE),
            "both touches show 10, more than the minimum of 100 quote at 100"
        );
        assert_eq!(basis.expires_raw, basis.ts_decision_raw + 500_000_000);

        r.input.push(update(1, 10030, 10040)).unwrap();
        r.stage.poll();
        let intent = r.intents.pop().unwrap();
        assert_eq!(
            (intent.strategy, intent.id >> 56),
            (Strategy::CrossVenue, 2)
        );
        assert_eq!(intent.legs[0].instrument, InstrumentId(0));
        assert_eq!(
            (intent.legs[0].side, intent.legs[0].limit),
            (OrderSide::Buy, px(10000))
        );
        assert_eq!(
            (intent.legs[1].side, intent.legs[1].limit),
            (OrderSide::Sell, px(10030))
        );
        assert_eq!(
            intent.qty,
            Qty::from_raw(10 * Qty::SCALE),
            "1000 quote at 100"
        );
        assert_eq!(intent.confidence, 100);
        assert_eq!(intent.expires_raw, intent.ts_decision_raw + 2_000_000_000);
        let Ok(SpreadRecord::Opportunity(opp)) = r.spread.pop() else {
            panic!("an opportunity record");
        };
        assert_eq!((opp.ts_recv_raw, opp.expires_raw), (7, intent.expires_raw));
        assert_eq!(r.stats.edge_intents.get(), 2);
        assert_eq!(r.stats.edge_spread_accepted.get(), 1);
    }

    /// The intents popped so far: (direction of the perp leg, perp limit).
    fn drain(r: &mut Rig) -> Vec<(OrderSide, Price)> {
        std::iter::from_fn(|| r.intents.pop().ok())
            .filter(|i| i.strategy == Strategy::Basis)
            .map(|i| (i.legs[0].side, i.legs[0].limit))
            .collect()
    }

    #[test]
    fn test_one_opportunity_is_one_intent() {
        let mut r = rig();
        // Short perp / long spot at 30 bps, then the spot leg moving under a perp that
        // stays: every tick still trades, one intent only (issue 26: 32 entries at one
        // perp price within 5 ms).
        r.input.push(update(0, 9990, 10000)).unwrap();
        r.input.push(update(2, 10030, 10040)).unwrap();
        for k in 1..32 {
            r.input.push(update(0, 9990 - k, 10000 - k)).unwrap();
        }
        r.stage.poll();
        assert_eq!(drain(&mut r).len(), 1);
        assert_eq!(r.stats.edge_intents_repeated.get(), 31);
        // The edge falls under the trade threshold (still recorded): the opportunity
        // ended, the next one is proposed.
        r.input.push(update(2, 9985, 9995)).unwrap();
        r.input.push(update(2, 10031, 10041)).unwrap();
        r.stage.poll();
        assert_eq!(drain(&mut r).len(), 1);
        // The same opportunity after its intent expired (500 ms) is proposed again.
        r.mock.increment(Duration::from_millis(501));
        r.input.push(update(2, 10032, 10042)).unwrap();
        r.stage.poll();
        assert_eq!(drain(&mut r).len(), 1);
        // The direction flips: a new opportunity at once.
        r.input.push(update(2, 9900, 9910)).unwrap();
        r.stage.poll();
        let flipped = drain(&mut r);
        assert_eq!(flipped.len(), 1);
        assert_eq!(flipped[0].0, OrderSide::Buy);
        assert_eq!(r.stats.edge_intents.get(), 4);
    }

    #[test]
    fn test_ioc_limits_give_up_half_the_profit_per_leg_on_the_tick_grid() {
        let tick = px(5);
        let slip_bits = 10i128 << 32; // 10 bps of 100.00 = 0.10
        assert_eq!(
            ioc_limit(px(10000), OrderSide::Buy, slip_bits, tick),
            px(10010)
        );
        assert_eq!(
            ioc_limit(px(10000), OrderSide::Sell, slip_bits, tick),
            px(9990)
        );
        // 7 bps = 0.07: rounded back towards the touch onto the 0.05 grid.
        let slip_bits = 7i128 << 32;
        assert_eq!(
            ioc_limit(px(10000), OrderSide::Buy, slip_bits, tick),
            px(10005)
        );
        assert_eq!(
            ioc_limit(px(10000), OrderSide::Sell, slip_bits, tick),
            px(9995)
        );
        assert_eq!(ioc_limit(px(10000), OrderSide::Buy, 0, tick), px(10000));
    }

    #[test]
    fn test_rejections_are_flushed_as_counts() {
        let mut r = rig();
        r.input.push(update(0, 9990, 10000)).unwrap();
        r.input.push(update(1, 10001, 10040)).unwrap();
        r.input.push(update(1, 10002, 10040)).unwrap();
        r.stage.poll();
        assert!(r.spread.pop().is_err(), "nothing before the flush interval");
        r.mock.increment(REJECTION_FLUSH_INTERVAL);
        r.input.push(update(1, 10003, 10040)).unwrap();
        r.stage.poll();
        let Ok(SpreadRecord::Rejections { counts, .. }) = r.spread.pop() else {
            panic!("a rejection flush");
        };
        assert_eq!(counts.get(RejectReason::Unprofitable), 3);
        assert!(
            r.intents.pop().is_err(),
            "a rejected candidate never trades"
        );
        let mut report = RunReport::default();
        r.stage.finish(&mut report);
        assert_eq!(report.counter("scanner.candidates"), 3);
        assert_eq!(report.counter("scanner.rejected.unprofitable"), 3);
        assert_eq!(report.counter("scanner.instruments"), 2);
        assert!(report.notes.is_empty());
    }
}
