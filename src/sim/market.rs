//! The simulated venue as a plain steppable struct: the price model, one synthetic book
//! per market, and the frames each step produces, in Binance's formats.
//!
//! Owned by the model thread (`runner`), or by a test that steps it by hand: no thread,
//! no socket, no clock. Allocates frame strings (cold path; a step makes at most five
//! frames). Deterministic: the frames of every step are a pure function of the
//! configuration (seed included) and the venue start time.
//!
//! Per step `k` (venue time `E = start_ms + k * step`):
//! - spot `bookTicker` when the spot top of book changed;
//! - spot `depthUpdate` at step 0 and then once per [`DEPTH_INTERVAL`] of sim time, with
//!   the levels changed since the previous one (none when nothing changed);
//! - perp `bookTicker` on every step, so its `E` always carries the venue time;
//! - perp `depthUpdate` like spot's, with `pu`;
//! - perp `markPriceUpdate` at step 0 and then once per [`MARK_PRICE_INTERVAL`].
//!
//! The first depth message of each market carries the whole initial book (every level is
//! new at step 0), so a client subscribed before the model starts can build its book
//! without a REST snapshot. NB: the simulator has no REST snapshot endpoint; a client
//! that subscribes later only sees diffs.

use super::binance_format::{
    self as fmt, Decimals, EventTimes, MarkPrice, SPOT_DECIMALS, sim_units,
};
use super::book::{BookSpec, SyntheticBook, Top};
use super::price::{Mids, PriceModel, f64_to_i64};
use super::rng::SimRng;
use super::{Dislocation, SimConfig, SimError};
use crate::types::Price;
use std::time::Duration;

/// Sim time between two depth messages of a market (`@depth@100ms`).
pub(crate) const DEPTH_INTERVAL: Duration = Duration::from_millis(100);
/// Sim time between two mark price messages (`@markPrice@1s`).
pub(crate) const MARK_PRICE_INTERVAL: Duration = Duration::from_secs(1);
/// Funding interval: `T` of a mark price message is the next multiple of it.
const FUNDING_INTERVAL_MS: u64 = 8 * 3_600 * 1_000;
/// Funding rate bound, raw 10^-8 (±0.75%, the cap Binance applies to BTCUSDT).
const FUNDING_RATE_CAP_RAW: i64 = 750_000;
/// Spot lot: 0.00001 (BTCUSDT's `stepSize`), raw.
const SPOT_LOT_RAW: i64 = 1_000;
/// Largest spot level: 2 BTC.
const SPOT_LOTS_MAX: u64 = 200_000;
/// Perp lot: 0.001, raw.
const PERP_LOT_RAW: i64 = 100_000;
/// Largest perp level: 5 BTC.
const PERP_LOTS_MAX: u64 = 5_000;
/// Futures quantity precision (BTCUSDT: 3 decimals).
const PERP_QTY_DECIMALS: u32 = 3;
/// Futures price precision at least this (BTCUSDT: 2 decimals with a 0.1 tick).
const PERP_PRICE_DECIMALS_MIN: u32 = 2;
/// Spacing of the book levels behind the touch, bps of the start price: 20 levels span
/// about 1 bps, so a fair price move replaces a few levels, not the whole book.
const LEVEL_GAP_BPS: f64 = 0.05;
/// First update ids: realistic magnitudes, plus a seeded offset below [`ID_JITTER`].
const SPOT_FIRST_ID: u64 = 40_000_000_000;
const PERP_FIRST_ID: u64 = 6_000_000_000_000;
const ID_JITTER: u64 = 1_000_000;

/// One of the two simulated markets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Market {
    /// The spot market, served on `/ws/spot`.
    Spot,
    /// The USD-M perpetual, served on `/ws/perp`.
    Perp,
}

impl Market {
    /// The market a WebSocket path serves, if any.
    pub(crate) fn from_path(path: &str) -> Option<Self> {
        match path {
            "/ws/spot" => Some(Self::Spot),
            "/ws/perp" => Some(Self::Perp),
            _ => None,
        }
    }
}

/// A stream kind a connection can subscribe to, as a bit of its subscription mask.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum StreamKind {
    /// `<symbol>@bookTicker`.
    BookTicker = 1,
    /// `<symbol>@depth@100ms` (and the futures aliases).
    Depth = 2,
    /// `<symbol>@markPrice@1s` / `<symbol>@markPrice` (perp only).
    MarkPrice = 4,
}

impl StreamKind {
    /// The kind's bit in a subscription mask.
    pub(crate) fn bit(self) -> u8 {
        self as u8
    }
}

/// One frame for the subscribers of `(market, stream)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Frame {
    pub(crate) market: Market,
    pub(crate) stream: StreamKind,
    pub(crate) text: String,
}

/// The whole simulated venue, stepped by hand.
#[derive(Clone, Debug)]
pub(crate) struct Model {
    rng: SimRng,
    step_index: u64,
    start_ms: u64,
    step_us: u64,
    price: PriceModel,
    spot: SyntheticBook,
    perp: SyntheticBook,
    last_spot_top: Option<Top>,
    spot_symbol: String,
    perp_symbol: String,
    perp_decimals: Decimals,
}

impl Model {
    /// A model at step 0 whose venue time starts at `start_ms` (unix ms).
    pub(crate) fn new(config: &SimConfig, start_ms: u64) -> Result<Self, SimError> {
        config.validate()?;
        let mut rng = SimRng::new(config.seed);
        let price = PriceModel::new(config, &mut rng);
        let spot_spec = BookSpec {
            tick_raw: sim_units(config.spot_tick),
            lot_raw: SPOT_LOT_RAW,
            lots_max: SPOT_LOTS_MAX,
            level_gap_ticks: level_gap_ticks(config.start_price, config.spot_tick),
        };
        let perp_spec = BookSpec {
            tick_raw: sim_units(config.perp_tick),
            lot_raw: PERP_LOT_RAW,
            lots_max: PERP_LOTS_MAX,
            level_gap_ticks: level_gap_ticks(config.start_price, config.perp_tick),
        };
        let spot = SyntheticBook::new(spot_spec, SPOT_FIRST_ID + rng.below(ID_JITTER));
        let perp = SyntheticBook::new(perp_spec, PERP_FIRST_ID + rng.below(ID_JITTER));
        Ok(Self {
            rng,
            step_index: 0,
            start_ms,
            step_us: config.step_us()?,
            price,
            spot,
            perp,
            last_spot_top: None,
            spot_symbol: config.spot_symbol.to_ascii_uppercase(),
            perp_symbol: config.perp_symbol.to_ascii_uppercase(),
            perp_decimals: Decimals {
                price: decimals_of(sim_units(config.perp_tick)).max(PERP_PRICE_DECIMALS_MIN),
                qty: PERP_QTY_DECIMALS,
            },
        })
    }

    /// Runs one step, appending its frames to `frames`; returns whether the dislocation
    /// list changed (one started or ended).
    pub(crate) fn step(&mut self, frames: &mut Vec<Frame>) -> bool {
        let k = self.step_index;
        let event_ms = self.venue_ms(k);
        let (mids, changed) = self.price.step(&mut self.rng, k, event_ms);
        self.spot.apply(&mut self.rng, mids.spot);
        self.perp.apply(&mut self.rng, mids.perp);
        let times = EventTimes {
            event_ms,
            transaction_ms: event_ms.saturating_sub(1),
        };
        self.emit_spot(k, times, frames);
        self.emit_perp(k, times, &mids, frames);
        self.step_index += 1;
        changed
    }

    /// Every dislocation injected so far, in order.
    pub(crate) fn dislocations(&self) -> &[Dislocation] {
        self.price.dislocations()
    }

    /// Closes a dislocation still in progress at the last step's venue time.
    pub(crate) fn finish(&mut self) {
        let last_ms = self.venue_ms(self.step_index.saturating_sub(1));
        self.price.finish(last_ms);
    }

    /// Tops of book `(spot, perp)` after the last step.
    #[cfg(test)]
    pub(crate) fn tops(&self) -> (Top, Top) {
        let none = Top {
            bid: 0,
            bid_qty: 0,
            ask: 0,
            ask_qty: 0,
        };
        (
            self.spot.top().unwrap_or(none),
            self.perp.top().unwrap_or(none),
        )
    }

    /// Venue time of step `k`, unix ms.
    fn venue_ms(&self, k: u64) -> u64 {
        self.start_ms + k.saturating_mul(self.step_us) / 1_000
    }

    /// Whether step `k` is the first one of a new `interval` of sim time (step 0 is).
    fn is_first_of_interval(&self, k: u64, interval: Duration) -> bool {
        let interval_us = u64::try_from(interval.as_micros()).unwrap_or(u64::MAX);
        let slot = |k: u64| k.saturating_mul(self.step_us) / interval_us;
        k == 0 || slot(k) != slot(k - 1)
    }

    fn emit_spot(&mut self, k: u64, times: EventTimes, frames: &mut Vec<Frame>) {
        let top = self.spot.top();
        if let Some(top) = top.filter(|_| top != self.last_spot_top) {
            let mut text = String::with_capacity(160);
            fmt::spot_book_ticker(&mut text, self.spot.update_id(), &self.spot_symbol, top);
            frames.push(frame(Market::Spot, StreamKind::BookTicker, text));
        }
        self.last_spot_top = top;
        frames.extend(self.depth_frame(Market::Spot, k, times));
    }

    /// The depth message of `market` if one is due at step `k` and its book changed.
    fn depth_frame(&mut self, market: Market, k: u64, times: EventTimes) -> Option<Frame> {
        if !self.is_first_of_interval(k, DEPTH_INTERVAL) {
            return None;
        }
        let (book, symbol, decimals) = match market {
            Market::Spot => (&mut self.spot, &self.spot_symbol, SPOT_DECIMALS),
            Market::Perp => (&mut self.perp, &self.perp_symbol, self.perp_decimals),
        };
        let diff = book.take_diff()?;
        let mut text = String::with_capacity(4_096);
        fmt::depth_update(&mut text, market, times, symbol, &diff, decimals);
        Some(frame(market, StreamKind::Depth, text))
    }

    fn emit_perp(&mut self, k: u64, times: EventTimes, mids: &Mids, frames: &mut Vec<Frame>) {
        if let Some(top) = self.perp.top() {
            let mut text = String::with_capacity(192);
            let id = self.perp.update_id();
            fmt::perp_book_ticker(
                &mut text,
                times,
                id,
                &self.perp_symbol,
                top,
                self.perp_decimals,
            );
            frames.push(frame(Market::Perp, StreamKind::BookTicker, text));
        }
        frames.extend(self.depth_frame(Market::Perp, k, times));
        if self.is_first_of_interval(k, MARK_PRICE_INTERVAL) {
            let mut text = String::with_capacity(192);
            fmt::mark_price(
                &mut text,
                &self.perp_symbol,
                &mark_price_of(times.event_ms, mids),
            );
            frames.push(frame(Market::Perp, StreamKind::MarkPrice, text));
        }
    }
}

fn frame(market: Market, stream: StreamKind, text: String) -> Frame {
    Frame {
        market,
        stream,
        text,
    }
}

/// The mark price message of a step: mark = perp mid to 0.01, index = the fair price,
/// funding = half the normal premium (2 bps of basis ≈ the usual 0.01%), capped.
fn mark_price_of(event_ms: u64, mids: &Mids) -> MarkPrice {
    let index = f64_to_i64(mids.index * 1e8);
    let rate = f64_to_i64(mids.basis_bps * 5_000.0);
    MarkPrice {
        event_ms,
        mark: f64_to_i64(mids.perp * 100.0).saturating_mul(1_000_000),
        index,
        settle_estimate: index,
        funding_rate: rate.clamp(-FUNDING_RATE_CAP_RAW, FUNDING_RATE_CAP_RAW),
        next_funding_ms: (event_ms / FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS,
    }
}

/// Ticks between book levels behind the touch: [`LEVEL_GAP_BPS`] of the start price
/// (30 spot ticks, 3 perp ticks at the defaults), at least one.
fn level_gap_ticks(start_price: Price, tick: Price) -> i64 {
    let gap = start_price.to_f64_lossy() * LEVEL_GAP_BPS * 1e-4 / tick.to_f64_lossy();
    f64_to_i64(gap).max(1)
}

/// Digits after the point needed to print `raw` (units of 10^-8) exactly.
fn decimals_of(raw: i64) -> u32 {
    let mut digits = 8;
    let mut rest = raw;
    while digits > 0 && rest % 10 == 0 {
        rest /= 10;
        digits -= 1;
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimLeg;
    use sonic_rs::{JsonContainerTrait, JsonValueTrait, Value};

    const START_MS: u64 = 1_700_000_000_000;

    fn model(config: &SimConfig) -> Model {
        Model::new(config, START_MS).unwrap()
    }

    /// The frames of the first `steps` steps, per market.
    fn frames_by_market(config: &SimConfig, steps: usize) -> (Vec<String>, Vec<String>) {
        let mut m = model(config);
        let mut frames = Vec::new();
        for _ in 0..steps {
            m.step(&mut frames);
        }
        let of = |market| {
            frames
                .iter()
                .filter(|f| f.market == market)
                .map(|f| f.text.clone())
                .collect::<Vec<_>>()
        };
        (of(Market::Spot), of(Market::Perp))
    }

    /// Edges in bps after the last step: (perp_bid - spot_ask, spot_bid - perp_ask) / mid.
    fn edges_bps(m: &Model) -> (f64, f64) {
        let (spot, perp) = m.tops();
        let mid = (spot.bid + spot.ask) as f64 / 2.0;
        let bps = |x: i64| x as f64 / mid * 1e4;
        (bps(perp.bid - spot.ask), bps(spot.bid - perp.ask))
    }

    #[test]
    fn test_model_same_seed_identical_frames() {
        let config = SimConfig::default();
        let (spot_a, perp_a) = frames_by_market(&config, 5_000);
        let (spot_b, perp_b) = frames_by_market(&config, 5_000);
        assert!(spot_a.len() > 1_000 && perp_a.len() > 5_000);
        assert_eq!(spot_a, spot_b);
        assert_eq!(perp_a, perp_b);
    }

    #[test]
    fn test_model_different_seeds_differ() {
        let a = frames_by_market(&SimConfig::default(), 200);
        let other = SimConfig {
            seed: 8,
            ..SimConfig::default()
        };
        let b = frames_by_market(&other, 200);
        assert_ne!(a.0, b.0);
        assert_ne!(a.1, b.1);
    }

    #[test]
    fn test_model_no_dislocation_edges_stay_under_8bps() {
        let config = SimConfig {
            dislocation_mean_interval: Duration::from_secs(1_000_000_000),
            ..SimConfig::default()
        };
        let mut m = model(&config);
        let mut frames = Vec::new();
        let mut worst: f64 = 0.0;
        for _ in 0..100_000 {
            m.step(&mut frames);
            frames.clear();
            let (rich, cheap) = edges_bps(&m);
            worst = worst.max(rich.abs()).max(cheap.abs());
        }
        assert!(worst < 8.0, "edge reached {worst} bps");
        assert!(m.dislocations().is_empty());
    }

    #[test]
    fn test_model_dislocation_peaks_in_range_and_visible() {
        let config = SimConfig::default();
        let mut m = model(&config);
        let mut frames = Vec::new();
        let mut seen = 0;
        let mut legs = [0; 2];
        for _ in 0..100_000 {
            m.step(&mut frames);
            frames.clear();
            if m.dislocations().len() == seen {
                continue;
            }
            seen = m.dislocations().len();
            let d = m.dislocations()[seen - 1].clone();
            assert!((10.0..=40.0).contains(&d.peak_bps.abs()), "{d:?}");
            let (rich, cheap) = edges_bps(&m);
            let edge = if d.peak_bps > 0.0 { rich } else { cheap };
            assert!(edge >= d.peak_bps.abs() - 2.0, "{d:?}: edge {edge}");
            legs[usize::from(d.leg == SimLeg::Spot)] += 1;
        }
        assert!(seen >= 20, "only {seen} dislocations in 100 s");
        assert!(legs[0] > 0 && legs[1] > 0, "legs {legs:?}");
        for d in &m.dislocations()[..seen - 1] {
            assert!(d.end_ms > d.start_ms);
        }
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

    /// Checks ids and field names of one parsed frame; `last_u` is the market's last `u`
    /// seen in a depth message, `last_ticker_u` in a bookTicker.
    /// Digits after the point of a decimal string field.
    fn decimals(v: &Value, key: &str) -> usize {
        let text = v.get(key).and_then(|x| x.as_str()).unwrap();
        text.split('.').nth(1).map_or(0, str::len)
    }

    /// Checks a frame's field names (in order) and decimal formats.
    fn check_fields(f: &Frame, v: &Value) {
        let names = keys(v);
        match (f.market, f.stream) {
            (Market::Spot, StreamKind::BookTicker) => {
                assert_eq!(names, ["u", "s", "b", "B", "a", "A"]);
                assert_eq!((decimals(v, "b"), decimals(v, "B")), (8, 8));
            }
            (Market::Perp, StreamKind::BookTicker) => {
                assert_eq!(names, ["e", "u", "E", "T", "s", "b", "B", "a", "A"]);
                assert_eq!((decimals(v, "b"), decimals(v, "B")), (2, 3));
            }
            (Market::Spot, StreamKind::Depth) => {
                assert_eq!(names, ["e", "E", "s", "U", "u", "b", "a"]);
            }
            (Market::Perp, StreamKind::Depth) => {
                assert_eq!(names, ["e", "E", "T", "s", "U", "u", "pu", "b", "a"]);
            }
            (_, StreamKind::MarkPrice) => {
                assert_eq!(names, ["e", "E", "s", "p", "i", "P", "r", "T"]);
                assert_eq!((decimals(v, "p"), decimals(v, "r")), (8, 8));
                let (e, t) = (u64_of(v, "E"), u64_of(v, "T"));
                assert!(t > e && t % FUNDING_INTERVAL_MS == 0);
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
                if f.market == Market::Perp {
                    assert_eq!(u64_of(v, "pu"), prev);
                }
            }
            *last_u = Some(last);
        }
    }

    #[test]
    fn test_model_update_ids_link_and_frames_parse() {
        let config = SimConfig::default();
        let mut m = model(&config);
        let mut frames = Vec::new();
        let mut last_u = [None, None];
        let mut last_ticker_u = [0, 0];
        let mut depth_count = 0;
        for k in 0..20_000u64 {
            m.step(&mut frames);
            for f in frames.drain(..) {
                let v: Value = sonic_rs::from_str(&f.text).unwrap();
                let i = usize::from(f.market == Market::Perp);
                check_fields(&f, &v);
                check_ids(&f, &v, &mut last_u[i], &mut last_ticker_u[i]);
                if f.market == Market::Perp && f.stream == StreamKind::BookTicker {
                    assert_eq!(u64_of(&v, "E"), START_MS + k);
                }
                depth_count += usize::from(f.stream == StreamKind::Depth);
            }
        }
        assert_eq!(depth_count, 2 * 200);
    }

    #[test]
    fn test_model_first_depth_carries_whole_book() {
        let mut m = model(&SimConfig::default());
        let mut frames = Vec::new();
        m.step(&mut frames);
        let kinds: Vec<_> = frames.iter().map(|f| (f.market, f.stream)).collect();
        assert_eq!(
            kinds,
            [
                (Market::Spot, StreamKind::BookTicker),
                (Market::Spot, StreamKind::Depth),
                (Market::Perp, StreamKind::BookTicker),
                (Market::Perp, StreamKind::Depth),
                (Market::Perp, StreamKind::MarkPrice),
            ]
        );
        let depth: Value = sonic_rs::from_str(&frames[1].text).unwrap();
        assert_eq!(depth.get("b").unwrap().as_array().unwrap().len(), 20);
        assert_eq!(depth.get("a").unwrap().as_array().unwrap().len(), 20);
    }
}
