//! Criterion benchmark of the edge stage's work per top-of-book change: 4 venues × 50
//! instruments (25 bases, spot and perp each: 100 basis pairs, 50 scanner groups of four
//! venues), the basis tracker and the cross-venue scanner with intents enabled, through
//! the real rings. The target is under 500 ns per change (`LATENCY.md`).
//!
//! Smoke run: `cargo bench --bench edge_scan -- --warm-up-time 1 --measurement-time 2`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use edgeline::book::TopUpdate;
use edgeline::book::top::{Ladder, LadderLevel, LadderSide, PerpInfo};
use edgeline::edge::spread_opportunity::SpreadRecord;
use edgeline::edge::{
    BasisPair, BasisParams, EdgeIo, EdgeStage, MarketTerms, Scanner, ScannerParams,
};
use edgeline::runtime::{Clock, Stage};
use edgeline::stats::PipelineStats;
use edgeline::telemetry::sample::SampleSink;
use edgeline::types::bps::Bps;
use edgeline::types::intent::OrderIntent;
use edgeline::types::{
    InstrumentId, InstrumentRegistry, InstrumentSpec, MarketKind, Price, Qty, Rate, Venue,
};

/// Bases per venue; each has a spot and a perp market.
const BASES: usize = 25;
/// Updates in the replayed sequence.
const UPDATES: usize = 4096;

fn registry() -> (InstrumentRegistry, Vec<BasisPair>) {
    let mut r = InstrumentRegistry::default();
    let mut pairs = Vec::new();
    for venue in Venue::ALL {
        for base in 0..BASES {
            let spec = |kind| InstrumentSpec {
                venue,
                kind,
                symbol: format!("C{base}USDT"),
                base: format!("C{base}"),
                tick_size: Price::from_raw(Price::SCALE / 100),
                lot_size: Qty::from_raw(Qty::SCALE / 1000),
                min_notional: Price::from_raw(10 * Price::SCALE),
                contract_size: Qty::from_raw(Qty::SCALE),
            };
            let spot = r.insert(spec(MarketKind::Spot)).unwrap();
            let perp = r.insert(spec(MarketKind::Perp)).unwrap();
            pairs.push(BasisPair { spot, perp });
        }
    }
    (r, pairs)
}

/// An update of instrument `id` with its bid at `bid_cents` and a one-cent spread, a
/// ladder of 8 one-cent levels behind each side, and funding on perps.
fn update(id: usize, bid_cents: i64, perp: bool) -> TopUpdate {
    let px = |cents: i64| Price::from_raw(i128::from(cents) * Price::SCALE / 100);
    let qty = Qty::from_raw(5 * Qty::SCALE);
    let side = |first: i64, step: i64| {
        LadderSide::from_levels((0..8).map(|k| LadderLevel {
            price: px(first + step * k),
            qty,
        }))
    };
    TopUpdate {
        instrument: InstrumentId(u32::try_from(id).unwrap()),
        bid: px(bid_cents),
        bid_qty: qty,
        ask: px(bid_cents + 1),
        ask_qty: qty,
        bid_depth_quote: 200_000 * 100_000_000,
        ask_depth_quote: 180_000 * 100_000_000,
        ladder: Ladder {
            bids: side(bid_cents, -1),
            asks: side(bid_cents + 1, 1),
        },
        perp: PerpInfo {
            funding_rate: perp.then(|| Rate::from_raw(Rate::SCALE / 10_000)),
            open_interest: perp.then(|| Qty::from_raw(1_000 * Qty::SCALE)),
        },
        valid: true,
        ts_recv_raw: 0,
        ts_venue_ms: 0,
    }
}

/// How the replayed updates cross between venues.
#[derive(Clone, Copy)]
enum Crossing {
    /// One update in 16 lifts its market 30 bps above the other venues (a candidate with
    /// every size evaluated); the rest move by cents (candidates rejected early).
    Mixed,
    /// The last venue always sits 30 bps above the others: every change is crossed.
    Always,
}

/// Updates over every instrument in turn around 100.00.
fn sequence(crossing: Crossing) -> Vec<TopUpdate> {
    let instruments = Venue::ALL.len() * BASES * 2;
    let last_venue = (Venue::ALL.len() - 1) * BASES * 2;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    (0..UPDATES)
        .map(|i| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let id = i % instruments;
            let noise = i64::try_from(seed % 5).unwrap();
            let lifted = match crossing {
                Crossing::Mixed => i.is_multiple_of(16),
                Crossing::Always => id >= last_venue,
            };
            update(
                id,
                10_000 + noise + if lifted { 30 } else { 0 },
                id % 2 == 1,
            )
        })
        .collect()
}

struct Rig {
    edge: EdgeStage,
    input: rtrb::Producer<TopUpdate>,
    drains: (
        rtrb::Consumer<edgeline::edge::BasisOpportunity>,
        rtrb::Consumer<SpreadRecord>,
        rtrb::Consumer<OrderIntent>,
        rtrb::Consumer<edgeline::telemetry::sample::LatencySample>,
    ),
    clock: Clock,
}

fn rig(scanner_enabled: bool) -> Rig {
    let (registry, pairs) = registry();
    let clock = Clock::new();
    let stats = Arc::new(PipelineStats::default());
    let (input, input_rx) = rtrb::RingBuffer::new(64);
    let (opp_tx, opp_rx) = rtrb::RingBuffer::new(1024);
    let (sample_tx, sample_rx) = rtrb::RingBuffer::new(1024);
    let (spread_tx, spread_rx) = rtrb::RingBuffer::new(1024);
    let (intent_tx, intent_rx) = rtrb::RingBuffer::new(1024);
    let io = EdgeIo {
        input: input_rx,
        output: opp_tx,
        samples: SampleSink::new(sample_tx, Arc::clone(&stats), |s| &s.edge_samples_dropped),
        stats,
        clock: clock.clone(),
    };
    let params = ScannerParams {
        enabled: scanner_enabled,
        ..ScannerParams::default()
    };
    let scanner = Scanner::new(&registry, params, |_| MarketTerms {
        taker_fee: Bps::from_num(4),
        stale_after: Duration::from_millis(200),
    });
    let basis = BasisParams {
        baseline_ticks: 5,
        ..BasisParams::default()
    };
    let edge = EdgeStage::new(&registry, &pairs, basis, io)
        .with_scanner(scanner, spread_tx)
        .with_intents(intent_tx, Duration::from_secs(2));
    Rig {
        edge,
        input,
        drains: (opp_rx, spread_rx, intent_rx, sample_rx),
        clock,
    }
}

/// Measures one top-of-book change through the edge stage: ring pop, basis pairs,
/// scanner candidates (unless disabled: the basis-only baseline), records and intents
/// pushed (output rings drained every update).
fn run(c: &mut Criterion, id: &str, crossing: Crossing, scanner_enabled: bool) {
    let updates = sequence(crossing);
    let mut rig = rig(scanner_enabled);
    let mut now_ms = rig.clock.unix_ms_now();
    let mut i = 0usize;
    c.bench_function(id, |b| {
        b.iter(|| {
            if i.is_multiple_of(1024) {
                now_ms = rig.clock.unix_ms_now();
            }
            let mut update = updates[i % UPDATES];
            update.ts_recv_raw = rig.clock.raw();
            update.ts_venue_ms = now_ms - 3;
            i += 1;
            rig.input.push(update).unwrap();
            assert_eq!(rig.edge.poll(), 1);
            while rig.drains.0.pop().is_ok() {}
            while rig.drains.1.pop().is_ok() {}
            while rig.drains.2.pop().is_ok() {}
            while rig.drains.3.pop().is_ok() {}
            black_box(&rig.edge);
        });
    });
    let counts = rig.edge.scanner().unwrap().counts();
    assert_eq!(
        counts.candidates > 0,
        scanner_enabled,
        "{id}: scanner candidates"
    );
}

fn bench_edge_scan(c: &mut Criterion) {
    run(c, "edge/top_change/4x50_mixed", Crossing::Mixed, true);
    run(
        c,
        "edge/top_change/4x50_every_change_crossed",
        Crossing::Always,
        true,
    );
    run(c, "edge/top_change/4x50_basis_only", Crossing::Mixed, false);
}

criterion_group! {
    name = edge_scan;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench_edge_scan
}
criterion_main!(edge_scan);
