//! Criterion benchmarks of the order gateway; ids are `gateway/op/variant`. Run:
//! `cargo bench --bench gateway`. Figures go to LATENCY.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use edgeline::gateway::config::{GatewayConfig, PaperConfig};
use edgeline::gateway::engine::{Gateway, Now};
use edgeline::gateway::order::{Order, OrderId, OrderLeg, OrderStyle};
use edgeline::gateway::paper::{PaperVenue, VenueEvent};
use edgeline::gateway::risk::KillSwitch;
use edgeline::types::bps::Bps;
use edgeline::types::{
    EventBody, ExecStyle, InstrumentId, InstrumentRegistry, InstrumentSpec, IntentLeg, MarketEvent,
    MarketKind, OrderIntent, OrderSide, Price, Qty, Side, Strategy, Venue,
};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn price(units: i64) -> Price {
    Price::from_raw(i128::from(units) * Price::SCALE)
}

fn registry() -> InstrumentRegistry {
    let mut reg = InstrumentRegistry::default();
    for venue in [Venue::Binance, Venue::Okx] {
        reg.insert(InstrumentSpec {
            venue,
            kind: MarketKind::Perp,
            symbol: "BTCUSDT".into(),
            base: "BTC".into(),
            tick_size: Price::from_raw(Price::SCALE / 10),
            lot_size: Qty::from_raw(Qty::SCALE / 1_000),
            min_notional: price(5),
            contract_size: Qty::from_raw(Qty::SCALE),
        })
        .unwrap();
    }
    reg
}

/// Twenty levels a side around `mid`, one unit each.
fn depth(mid: i64) -> impl Iterator<Item = EventBody> {
    (1..=20).flat_map(move |k| {
        [(Side::Bid, mid - k), (Side::Ask, mid + k)].map(|(side, px)| EventBody::DepthLevel {
            side,
            price: price(px),
            qty: Qty::from_raw(Qty::SCALE),
        })
    })
}

fn event(id: u32, body: EventBody) -> MarketEvent {
    MarketEvent {
        ts_recv_raw: 0,
        ts_venue_ms: 0,
        instrument: InstrumentId(id),
        body,
    }
}

/// Measures intent → order built: every risk check, sizing (spread design) and the two
/// legs' orders, without sending (`Gateway::plan_entry`).
fn bench_plan_entry(c: &mut Criterion) {
    let mut gw =
        Gateway::new(GatewayConfig::default(), &registry(), KillSwitch::default()).unwrap();
    let now = Now {
        raw: 1_000,
        ns: 1_000,
    };
    for (id, mid) in [(0, 60_000), (1, 60_200)] {
        for body in depth(mid) {
            gw.on_market(now, &event(id, body));
        }
    }
    let leg = |id, side, limit| IntentLeg {
        instrument: InstrumentId(id),
        side,
        limit: price(limit),
        style: ExecStyle::Ioc,
    };
    let intent = OrderIntent {
        id: 1,
        strategy: Strategy::CrossVenue,
        legs: [
            leg(0, OrderSide::Buy, 60_010),
            leg(1, OrderSide::Sell, 60_190),
        ],
        qty: Qty::from_raw(Qty::SCALE / 20),
        edge_bps: Bps::from_num(30),
        expected_profit_bps: Bps::from_num(15),
        confidence: 75,
        ts_recv_raw: 1_000,
        ts_decision_raw: 1_000,
        expires_raw: 2_000,
    };
    c.bench_function("gateway/intent/plan_entry", |b| {
        b.iter(|| {
            let trade = gw.plan_entry(now, black_box(&intent)).unwrap();
            assert!(!trade.legs[0].qty.is_zero());
            trade
        })
    });
}

/// Measures one IOC order through the paper venue: submit, arrival, a walk of five
/// levels, fill and done.
fn bench_paper_ioc(c: &mut Criterion) {
    let cfg = PaperConfig {
        latency_ns: [1; 4],
        ..PaperConfig::default()
    };
    let mut venue = PaperVenue::new(&cfg, &[(Venue::Binance, MarketKind::Spot)]);
    for body in depth(60_000) {
        venue.on_market(0, &event(0, body), &mut |_| {});
    }
    let leg = OrderLeg {
        instrument: InstrumentId(0),
        venue: Venue::Binance,
        side: OrderSide::Buy,
        limit: price(60_010),
    };
    let mut id = 0;
    c.bench_function("gateway/paper/ioc_five_levels", |b| {
        b.iter(|| {
            id += 1;
            let order = Order::new(
                OrderId(id),
                leg,
                OrderStyle::Ioc,
                Qty::from_raw(5 * Qty::SCALE),
                0,
            );
            venue.submit(black_box(order), 0).unwrap();
            let mut filled = Qty::ZERO;
            venue.advance(1, &mut |e| {
                if let VenueEvent::Fill(f) = e {
                    filled = f.qty;
                }
            });
            assert_eq!(filled, Qty::from_raw(5 * Qty::SCALE));
        })
    });
}

criterion_group!(benches, bench_plan_entry, bench_paper_ioc);
criterion_main!(benches);
