//! The edge stage: keeps the latest top of book per instrument, runs the basis tracker
//! of every perp/spot pair a change touches, and records opportunities.
//!
//! Runs on the hot-path thread; allocation-free after construction (tops, pairs and the
//! instrument → pairs index are sized from the registry at start-up). Records go to
//! telemetry through an SPSC ring; when it is full the record is dropped and counted,
//! never waited for. Never trades: `would_trade_current` only says whether it would have.

use crate::book::TopUpdate;
use crate::edge::basis::{BasisEval, BasisParams, BasisTracker};
use crate::edge::opportunity::{BasisOpportunity, Quad};
use crate::runtime::{RunReport, Stage, StageKind};
use crate::stage_io::StageIo;
use crate::telemetry::sample::Metric;
use crate::types::{InstrumentId, InstrumentRegistry};

/// Top-of-book updates handled per poll at most.
pub const UPDATES_PER_POLL_MAX: usize = 256;

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
}

/// The edge stage.
pub struct EdgeStage {
    tops: Vec<Option<TopUpdate>>,
    pairs: Vec<PairState>,
    pairs_of: Vec<Vec<usize>>,
    io: EdgeIo,
}

/// The edge stage's rings: top-of-book updates in, opportunity records out.
pub type EdgeIo = StageIo<TopUpdate, BasisOpportunity>;

impl EdgeStage {
    /// An edge stage tracking `pairs` with the same parameters each.
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
        Self {
            tops: vec![None; registry.len()],
            pairs: pairs
                .iter()
                .map(|&pair| PairState {
                    pair,
                    tracker: BasisTracker::new(params),
                })
                .collect(),
            pairs_of,
            io,
        }
    }

    fn on_update(&mut self, update: TopUpdate) {
        let start_raw = self.io.clock.raw();
        let index = update.instrument.index();
        let Some(slot) = self.tops.get_mut(index) else {
            return;
        };
        if !update.valid {
            // The book is invalid until resynced: no pair uses it meanwhile.
            *slot = None;
            self.io.stats.edge_suppressed_invalid.incr();
            return;
        }
        *slot = Some(update);
        for k in 0..self.pairs_of[index].len() {
            let pair_index = self.pairs_of[index][k];
            self.evaluate_pair(pair_index, update.ts_recv_raw, start_raw);
        }
    }

    fn evaluate_pair(&mut self, pair_index: usize, ts_recv_raw: u64, start_raw: u64) {
        let state = &mut self.pairs[pair_index];
        let (Some(spot), Some(perp)) = (
            self.tops[state.pair.spot.index()],
            self.tops[state.pair.perp.index()],
        ) else {
            return;
        };
        self.io.stats.edge_ticks.incr();
        let quad = Quad {
            perp_bid: perp.bid,
            perp_ask: perp.ask,
            spot_bid: spot.bid,
            spot_ask: spot.ask,
        };
        let eval = state.tracker.on_tick(quad);
        let decision_raw = self.io.clock.raw();
        if let Some(eval) = eval
            && eval.edge_bps >= state.tracker.params().tracker_threshold
        {
            let opportunity = record(
                state,
                &eval,
                perp.ts_venue_ms,
                [ts_recv_raw, start_raw, decision_raw],
            );
            self.io.stats.edge_opportunities.incr();
            if opportunity.would_trade_current {
                self.io.stats.edge_would_trade.incr();
            }
            if self.io.output.push(opportunity).is_err() {
                self.io.stats.edge_records_dropped.incr();
            }
        }
        self.io
            .samples
            .record(Metric::Edge, start_raw, decision_raw);
        self.io
            .samples
            .record(Metric::IngressToDecision, ts_recv_raw, decision_raw);
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
        let mut handled = 0;
        while handled < UPDATES_PER_POLL_MAX {
            let Ok(update) = self.io.input.pop() else {
                break;
            };
            self.on_update(update);
            handled += 1;
        }
        handled
    }

    fn finish(&mut self, _report: &mut RunReport) {
        while self.poll() > 0 {}
    }
}
