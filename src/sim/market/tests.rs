//! Tests of the steppable model: determinism, price bounds, dislocations, and the
//! Binance frames' fields and ids (the other venues' frames are checked over loopback in
//! `sim::tests`).

use super::*;
use crate::sim::{SimLeg, SimVenue};
use crate::types::{MarketKind, Price};
use sonic_rs::{JsonContainerTrait, JsonValueTrait, Value};

const START_MS: u64 = 1_700_000_000_000;
const BINANCE_SPOT: Market = Market {
    venue: Venue::Binance,
    kind: MarketKind::Spot,
};
const BINANCE_PERP: Market = Market {
    venue: Venue::Binance,
    kind: MarketKind::Perp,
};

fn model(config: &SimConfig) -> Model {
    Model::new(config, START_MS).unwrap()
}

fn all_venues() -> SimConfig {
    SimConfig {
        venues: Venue::ALL.into_iter().map(SimVenue::btc).collect(),
        ..SimConfig::default()
    }
}

/// The frames of the first `steps` steps.
fn frames_of(config: &SimConfig, steps: usize) -> Vec<Frame> {
    let mut m = model(config);
    let mut frames = Vec::new();
    for _ in 0..steps {
        m.step(&mut frames);
    }
    frames
}

fn texts(frames: &[Frame], market: Market) -> Vec<&str> {
    frames
        .iter()
        .filter(|f| f.listing.market == market)
        .map(|f| f.text.as_str())
        .collect()
}

/// Tops `(spot, perp)` of a venue after the last step.
fn tops(m: &Model, venue: usize) -> (Top, Top) {
    let v = &m.venues()[venue];
    let top = |kind| v.book(kind).top().unwrap();
    (top(MarketKind::Spot), top(MarketKind::Perp))
}

/// Edges in bps: (perp_bid - spot_ask, spot_bid - perp_ask) / mid.
fn edges_bps(m: &Model, venue: usize) -> (f64, f64) {
    let (spot, perp) = tops(m, venue);
    let mid = (spot.bid + spot.ask) as f64 / 2.0;
    let bps = |x: i64| x as f64 / mid * 1e4;
    (bps(perp.bid - spot.ask), bps(spot.bid - perp.ask))
}

use crate::sim::book::Top;

#[test]
fn test_model_same_seed_identical_frames() {
    let config = all_venues();
    let a = frames_of(&config, 3_000);
    let b = frames_of(&config, 3_000);
    assert_eq!(a, b);
    for venue in Venue::ALL {
        for kind in [MarketKind::Spot, MarketKind::Perp] {
            let n = texts(&a, Market { venue, kind }).len();
            assert!(n > 12, "{venue} {kind:?}: {n} frames");
        }
    }
}

#[test]
fn test_model_venue_frames_independent_of_mix() {
    let alone = frames_of(&SimConfig::default(), 2_000);
    let mixed = frames_of(&all_venues(), 2_000);
    assert_eq!(texts(&alone, BINANCE_PERP), texts(&mixed, BINANCE_PERP));
    assert_eq!(texts(&alone, BINANCE_SPOT), texts(&mixed, BINANCE_SPOT));
}

#[test]
fn test_model_different_seeds_differ() {
    let a = frames_of(&SimConfig::default(), 200);
    let other = SimConfig {
        seed: 8,
        ..SimConfig::default()
    };
    let b = frames_of(&other, 200);
    assert_ne!(texts(&a, BINANCE_SPOT), texts(&b, BINANCE_SPOT));
    assert_ne!(texts(&a, BINANCE_PERP), texts(&b, BINANCE_PERP));
}

#[test]
fn test_model_no_dislocation_edges_and_cross_venue_spreads_bounded() {
    let config = SimConfig {
        dislocation_mean_interval: Duration::from_secs(1_000_000_000),
        ..all_venues()
    };
    let mut m = model(&config);
    let mut frames = Vec::new();
    let (mut worst_edge, mut worst_cross): (f64, f64) = (0.0, 0.0);
    for _ in 0..10_000 {
        m.step(&mut frames);
        frames.clear();
        let mids: Vec<f64> = (0..4)
            .map(|v| {
                let (rich, cheap) = edges_bps(&m, v);
                worst_edge = worst_edge.max(rich.abs()).max(cheap.abs());
                let (spot, _) = tops(&m, v);
                (spot.bid + spot.ask) as f64 / 2.0
            })
            .collect();
        for a in &mids {
            for b in &mids {
                worst_cross = worst_cross.max((a / b - 1.0).abs() * 1e4);
            }
        }
    }
    assert!(worst_edge < 8.0, "edge reached {worst_edge} bps");
    assert!(
        worst_cross < 3.0,
        "cross-venue spread reached {worst_cross} bps"
    );
    assert!(m.dislocations().is_empty());
}

#[test]
fn test_model_dislocation_peaks_in_range_and_visible() {
    let config = SimConfig {
        dislocation_mean_interval: Duration::from_millis(700),
        ..all_venues()
    };
    let mut m = model(&config);
    let mut frames = Vec::new();
    let mut seen = 0;
    let mut legs = [0; 2];
    let mut venues = [0; 4];
    for _ in 0..8_000 {
        m.step(&mut frames);
        frames.clear();
        let record = m.dislocations();
        for d in &record[seen..] {
            assert!((10.0..=40.0).contains(&d.peak_bps.abs()), "{d:?}");
            let v = Venue::ALL.iter().position(|v| *v == d.venue).unwrap();
            let (rich, cheap) = edges_bps(&m, v);
            let edge = if d.peak_bps > 0.0 { rich } else { cheap };
            assert!(edge >= d.peak_bps.abs() - 2.0, "{d:?}: edge {edge}");
            legs[usize::from(d.leg == SimLeg::Spot)] += 1;
            venues[v] += 1;
        }
        seen = record.len();
    }
    assert!(seen >= 12, "only {seen} dislocations in 8 s");
    assert!(legs[0] > 0 && legs[1] > 0, "legs {legs:?}");
    assert!(venues.iter().all(|n| *n > 0), "venues {venues:?}");
    m.finish();
    for d in m.dislocations() {
        assert!(d.end_ms > d.start_ms, "{d:?}");
    }
}

#[test]
fn test_model_dislocation_changes_cover_every_update() {
    let mut m = model(&all_venues());
    let mut mirror: Vec<Dislocation> = Vec::new();
    let mut frames = Vec::new();
    for _ in 0..6_000 {
        if m.step(&mut frames) {
            let (from, record) = m.take_dislocation_changes();
            mirror.truncate(from.min(mirror.len()));
            mirror.extend_from_slice(&record[mirror.len()..]);
        }
        frames.clear();
    }
    assert!(!mirror.is_empty());
    assert_eq!(mirror, m.dislocations());
}

/// The keys of a JSON object, in order.
fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, _)| k.to_string())
        .collect()
}

fn u64_of(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(|x| x.as_u64()).unwrap()
}

/// Digits after the point of a decimal string field.
fn decimals(v: &Value, key: &str) -> usize {
    let text = v.get(key).and_then(|x| x.as_str()).unwrap();
    text.split('.').nth(1).map_or(0, str::len)
}

/// Checks a Binance frame's field names (in order) and decimal formats.
fn check_fields(f: &Frame, v: &Value) {
    let names = keys(v);
    match (f.listing.market.kind, f.stream) {
        (MarketKind::Spot, StreamKind::BookTicker) => {
            assert_eq!(names, ["u", "s", "b", "B", "a", "A"]);
            assert_eq!((decimals(v, "b"), decimals(v, "B")), (8, 8));
        }
        (MarketKind::Perp, StreamKind::BookTicker) => {
            assert_eq!(names, ["e", "u", "E", "T", "s", "b", "B", "a", "A"]);
            assert_eq!((decimals(v, "b"), decimals(v, "B")), (2, 3));
        }
        (MarketKind::Spot, StreamKind::Depth) => {
            assert_eq!(names, ["e", "E", "s", "U", "u", "b", "a"]);
        }
        (MarketKind::Perp, StreamKind::Depth) => {
            assert_eq!(names, ["e", "E", "T", "s", "U", "u", "pu", "b", "a"]);
        }
        (MarketKind::Spot, StreamKind::Trade) => {
            assert_eq!(names, ["e", "E", "s", "t", "p", "q", "T", "m", "M"]);
        }
        (MarketKind::Perp, StreamKind::Trade) => {
            assert_eq!(names, ["e", "E", "T", "s", "t", "p", "q", "X", "m"]);
        }
        (_, StreamKind::Funding) => {
            assert_eq!(names, ["e", "E", "s", "p", "i", "P", "r", "T"]);
            assert_eq!((decimals(v, "p"), decimals(v, "r")), (8, 8));
            let (e, t) = (u64_of(v, "E"), u64_of(v, "T"));
            assert!(t > e && t % (8 * 3_600 * 1_000) == 0);
        }
    }
}

/// Checks update ids: `last_u` is the market's last depth `u`, `last_ticker_u` its
/// last bookTicker `u`.
fn check_ids(f: &Frame, v: &Value, last_u: &mut Option<u64>, last_ticker_u: &mut u64) {
    if f.stream == StreamKind::BookTicker {
        let u = u64_of(v, "u");
        assert!(u >= *last_ticker_u);
        *last_ticker_u = u;
    }
    if f.stream == StreamKind::Depth {
        let (first, last) = (u64_of(v, "U"), u64_of(v, "u"));
        assert!(last >= first);
        if let Some(prev) = *last_u {
            assert_eq!(first, prev + 1);
            if f.listing.market.kind == MarketKind::Perp {
                assert_eq!(u64_of(v, "pu"), prev);
            }
        }
        *last_u = Some(last);
    }
}

#[test]
fn test_model_binance_update_ids_link_and_frames_parse() {
    let mut m = model(&SimConfig::default());
    let mut frames = Vec::new();
    let mut last_u = [None, None];
    let mut last_ticker_u = [0, 0];
    let mut counts = [0; 2];
    for k in 0..20_000u64 {
        m.step(&mut frames);
        for f in frames.drain(..) {
            let v: Value = sonic_rs::from_str(&f.text).unwrap();
            let i = usize::from(f.listing.market.kind == MarketKind::Perp);
            check_fields(&f, &v);
            check_ids(&f, &v, &mut last_u[i], &mut last_ticker_u[i]);
            if f.listing.market.kind == MarketKind::Perp && f.stream == StreamKind::BookTicker {
                assert_eq!(u64_of(&v, "E"), START_MS + k);
            }
            counts[0] += usize::from(f.stream == StreamKind::Depth);
            counts[1] += usize::from(f.stream == StreamKind::Trade);
        }
    }
    assert!(counts[0] > 2 * 190, "{counts:?}");
    assert!(
        (60..=240).contains(&counts[1]),
        "trades in 20 s: {}",
        counts[1]
    );
}

#[test]
fn test_model_first_depth_carries_only_changes() {
    let mut m = model(&SimConfig::default());
    let mut frames = Vec::new();
    m.step(&mut frames);
    let kinds: Vec<_> = frames
        .iter()
        .map(|f| (f.listing.market.kind, f.stream))
        .collect();
    assert!(kinds.contains(&(MarketKind::Perp, StreamKind::BookTicker)));
    assert!(kinds.contains(&(MarketKind::Perp, StreamKind::Funding)));
    for f in frames.iter().filter(|f| f.stream == StreamKind::Depth) {
        let depth: Value = sonic_rs::from_str(&f.text).unwrap();
        let n = depth.get("b").unwrap().as_array().unwrap().len()
            + depth.get("a").unwrap().as_array().unwrap().len();
        assert!(n < 40, "first diff has {n} levels");
    }
}

#[test]
fn test_many_symbols_each_follow_their_base_and_keep_btc_frames_unchanged() {
    let price = |s: &str| Price::from_decimal_str(s).unwrap();
    let market = |kind, symbol: &str, base: &str, tick: &str| crate::sim::SimMarket {
        kind,
        symbol: symbol.to_owned(),
        base: base.to_owned(),
        tick: price(tick),
    };
    let mut okx = SimVenue::btc(Venue::Okx);
    okx.markets
        .push(market(MarketKind::Spot, "ETH-USDT", "ETH", "0.01"));
    okx.markets.push(market(
        MarketKind::Perp,
        "DOGE-USDT-SWAP",
        "DOGE",
        "0.00001",
    ));
    let config = SimConfig {
        venues: vec![okx],
        start_prices: vec![
            ("ETH".to_owned(), price("3000")),
            ("DOGE".to_owned(), price("0.15")),
        ],
        ..SimConfig::default()
    };
    let frames = frames_of(&config, 300);
    let okx_spot = Market {
        venue: Venue::Okx,
        kind: MarketKind::Spot,
    };
    let okx_perp = Market {
        venue: Venue::Okx,
        kind: MarketKind::Perp,
    };
    let of = |market, index| {
        frames
            .iter()
            .filter(move |f| f.listing == Listing { market, index })
            .map(|f| f.text.as_str())
    };
    assert!(of(okx_spot, 1).count() > 10);
    assert!(of(okx_spot, 1).all(|t| t.contains("\"ETH-USDT\"")));
    assert!(of(okx_perp, 1).all(|t| t.contains("\"DOGE-USDT-SWAP\"")));
    let m = {
        let mut m = model(&config);
        let mut sink = Vec::new();
        for _ in 0..300 {
            m.step(&mut sink);
        }
        m
    };
    let mid = |listing| {
        let (bids, asks) = m.book_levels(listing).unwrap();
        (bids[0].0 + asks[0].0) as f64 / 2e8
    };
    let eth = mid(Listing {
        market: okx_spot,
        index: 1,
    });
    let doge = mid(Listing {
        market: okx_perp,
        index: 1,
    });
    assert!((2_900.0..3_100.0).contains(&eth), "{eth}");
    assert!((0.14..0.16).contains(&doge), "{doge}");
    // Adding other bases leaves the BTC symbols' frames as they were.
    let btc_only = SimConfig {
        venues: vec![SimVenue::btc(Venue::Okx)],
        ..SimConfig::default()
    };
    let alone = frames_of(&btc_only, 300);
    let btc = |frames: &[Frame]| -> Vec<String> {
        frames
            .iter()
            .filter(|f| f.listing.index == 0)
            .map(|f| f.text.clone())
            .collect()
    };
    assert_eq!(btc(&frames), btc(&alone));
}
