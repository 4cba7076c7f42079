//! One simulated venue's markets of one base: its price model (offset, basis,
//! dislocations), its spot and perp books (either may be absent), trades, perp
//! statistics, and which frames it sends at each step in its own wire format.
//!
//! Owned by the [`super::market::Model`] (model thread or a test). Allocates frame
//! strings and book copies for snapshots (cold path). Draws only from the venue's own
//! generator, in a fixed order per step: price model, spot book, perp book, spot trade,
//! perp trade, perp statistics.
//!
//! Per step `k` (venue time `E`), per market, in this order:
//! - top of book: Binance spot `bookTicker` / OKX `bbo-tbt` / Hyperliquid `bbo` when the
//!   top changed; Binance perp `bookTicker` on every step (so its `E` always carries the
//!   venue time); Bybit has none (clients derive the top from `orderbook.50`);
//! - book, once per [`depth_interval`] of sim time: Binance `depthUpdate` and Bybit
//!   `orderbook.50` delta and OKX `books` update with the levels changed since the last
//!   one (none when nothing changed), Hyperliquid an `l2Book` snapshot;
//! - a trade, on average [`TRADES_PER_SECOND`] per second, at the touch (buys at the
//!   ask, sells at the bid), a quantity up to the touch's;
//! - perp statistics once per [`funding_interval`]: Binance `markPriceUpdate`, Bybit
//!   `tickers` delta, OKX `funding-rate`, Hyperliquid `activeAssetCtx`.
//!
//! Snapshots for new subscribers (Bybit `orderbook.50` and `tickers`, OKX `books` with
//! `okx_snapshot_push`) are built at the stream's emission steps only, right after the
//! update of that step, so they link exactly with the next update: Bybit's next `u` is
//! the snapshot's + 1, OKX's next `prevSeqId` is the snapshot's `seqId`. OKX `books`
//! carry `checksum` 0 unless `okx_checksums` (OKX's 2026 form).
//!
//! REST books (Binance's depth, OKX's `GET /api/v5/market/books`) are the current book,
//! taken between two steps, so they may hold changes not yet sent in a diff. OKX's
//! carries the current update id as `seqId`: the next update then has
//! `prevSeqId <= seqId < its seqId` (and repeats those changes, which is harmless: its
//! levels are absolute), or, when nothing changed since, `seqId` equal to the book's and
//! is stale, the one after linking to it.

use super::binance_format::{self as binance, EventTimes};
use super::book::{BookSpec, DEPTH_LEVELS_MAX, Levels, SyntheticBook, Top};
use super::bybit_format as bybit;
use super::hyperliquid_format as hyperliquid;
use super::market::{Frame, Leg, Listing, Market, StepClock, StreamKind};
use super::okx_format as okx;
use super::price::{BASIS_MEAN_BPS, DislocationChange, Mids, PriceModel, f64_to_i64};
use super::rng::SimRng;
use super::text::{Decimals, decimals_of, sim_units};
use super::{SimConfig, SimMarket};
use crate::types::{MarketKind, Venue};
use std::time::Duration;

/// Average public trades per second per market.
pub(crate) const TRADES_PER_SECOND: f64 = 3.0;
/// Funding interval: the next funding time is the next multiple of it.
const FUNDING_INTERVAL_MS: u64 = 8 * 3_600 * 1_000;
/// Sim time between two Bybit `tickers` deltas carrying `fundingRate` and
/// `nextFundingTime` (the others carry mark, index and open interest only).
const FUNDING_FIELDS_INTERVAL: Duration = Duration::from_secs(1);
/// Funding rate bound, raw 10^-8 (±0.75%, the cap Binance applies to BTCUSDT).
const FUNDING_RATE_CAP_RAW: i64 = 750_000;
/// Spacing of the book levels behind the touch, bps of the start price: 20 levels span
/// about 1 bps, so a fair price move replaces a few levels, not the whole book.
const LEVEL_GAP_BPS: f64 = 0.05;
/// Open interest at the start, in lots of the perp, and its largest move per update.
const OPEN_INTEREST_START_LOTS: i64 = 50_000_000;
const OPEN_INTEREST_MOVE_LOTS: u64 = 10_000;
/// Levels per side of Bybit's `orderbook.50`.
pub(crate) const BYBIT_LEVELS: i64 = 50;
/// Levels per side of OKX's simulated `books` (the venue sends up to 400).
pub(crate) const OKX_LEVELS: i64 = 100;
/// Levels per side of Binance's and Hyperliquid's books (Hyperliquid sends 20).
pub(crate) const SHALLOW_LEVELS: i64 = 20;
const _: () = assert!(OKX_LEVELS <= DEPTH_LEVELS_MAX && BYBIT_LEVELS <= DEPTH_LEVELS_MAX);
/// Seeded offset range of the first update ids.
const ID_JITTER: u64 = 1_000_000;
/// The price the lot sizes of `market_spec` suit; a cheaper base gets lots 10^n times
/// larger, so its levels hold a similar notional.
const LOT_REFERENCE_PRICE: f64 = 60_000.0;
/// Largest lot scale.
const LOT_SCALE_MAX: i64 = 1_000_000_000;

/// The power of ten that brings `start` within a factor 10 below [`LOT_REFERENCE_PRICE`]
/// (1 at or above it).
fn lot_scale(start: f64) -> i64 {
    let (mut price, mut scale) = (start, 1i64);
    while price * 10.0 <= LOT_REFERENCE_PRICE && scale < LOT_SCALE_MAX {
        price *= 10.0;
        scale *= 10;
    }
    scale
}

/// Sim time between two book messages of a venue: Binance `@depth@100ms`, Bybit's
/// `orderbook.50` (20 ms), OKX `books` (100 ms), Hyperliquid `l2Book` (NB: the venue
/// sends on each block, about every 0.5 s; 250 ms keeps tests short).
pub(crate) fn depth_interval(venue: Venue) -> Duration {
    Duration::from_millis(match venue {
        Venue::Binance | Venue::Okx => 100,
        Venue::Bybit => 20,
        Venue::Hyperliquid => 250,
    })
}

/// Sim time between two perp statistics messages: Bybit `tickers` 100 ms, the others
/// 1 s (NB: OKX sends `funding-rate` every 30 to 90 s; Hyperliquid `activeAssetCtx` on
/// changes).
pub(crate) fn funding_interval(venue: Venue) -> Duration {
    Duration::from_millis(match venue {
        Venue::Bybit => 100,
        _ => 1_000,
    })
}

/// Static shape of one market: lot, level count, ids, decimals.
#[derive(Clone, Copy, Debug)]
struct MarketSpec {
    lot_raw: i64,
    lots_max: u64,
    levels: i64,
    id_step_min: u64,
    first_id: u64,
    qty_decimals: u32,
    price_decimals_min: u32,
}

fn market_spec(venue: Venue, kind: MarketKind) -> MarketSpec {
    let spec = |lot_raw, lots_max, levels, first_id, qty_decimals, price_decimals_min| MarketSpec {
        lot_raw,
        lots_max,
        levels,
        id_step_min: 1,
        first_id,
        qty_decimals,
        price_decimals_min,
    };
    match (venue, kind) {
        (Venue::Binance, MarketKind::Spot) => {
            spec(1_000, 200_000, SHALLOW_LEVELS, 40_000_000_000, 8, 8)
        }
        // Ids step by 2 or more: the REST snapshot reports the unused id after the
        // current one (see `rest_depth`).
        (Venue::Binance, MarketKind::Perp) => MarketSpec {
            id_step_min: 2,
            ..spec(100_000, 5_000, SHALLOW_LEVELS, 6_000_000_000_000, 3, 2)
        },
        (Venue::Bybit, MarketKind::Spot) => {
            spec(100, 2_000_000, BYBIT_LEVELS, 30_000_000_000, 6, 2)
        }
        (Venue::Bybit, MarketKind::Perp) => {
            spec(100_000, 5_000, BYBIT_LEVELS, 400_000_000_000, 3, 2)
        }
        (Venue::Okx, MarketKind::Spot) => spec(1, 200_000_000, OKX_LEVELS, 10_000_000_000, 0, 0),
        (Venue::Okx, MarketKind::Perp) => spec(1_000_000, 50_000, OKX_LEVELS, 20_000_000_000, 0, 0),
        (Venue::Hyperliquid, _) => spec(1_000, 500_000, SHALLOW_LEVELS, 0, 1, 1),
    }
}

/// A public trade, raw units of 10^-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Trade {
    /// Trade id.
    pub(crate) id: u64,
    /// Price.
    pub(crate) price: i64,
    /// Quantity.
    pub(crate) qty: i64,
    /// Whether the taker bought.
    pub(crate) buy: bool,
    /// Venue time, unix ms.
    pub(crate) ms: u64,
}

/// Perp statistics of one update, raw units of 10^-8 and unix ms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct PerpStats {
    /// Mark price (the perp mid to 0.01).
    pub(crate) mark: i64,
    /// Index price (the common fair price).
    pub(crate) index: i64,
    /// Funding rate: half the normal premium (2 bps of basis ≈ the usual 0.01%), capped.
    pub(crate) funding_rate: i64,
    /// Next funding time.
    pub(crate) next_funding_ms: u64,
    /// Open interest, in the perp's quantity unit.
    pub(crate) open_interest: i64,
}

/// One market's book and what its frames need.
#[derive(Clone, Debug)]
pub(crate) struct MarketState {
    kind: MarketKind,
    /// The symbol's index among the venue's symbols of its kind.
    index: usize,
    symbol: String,
    book: SyntheticBook,
    decimals: Decimals,
    lot_raw: i64,
    last_top: Option<Top>,
    trade_id: u64,
    last_trade_price: i64,
    /// Bybit's `u`: +1 per `orderbook` delta.
    message_id: u64,
    /// Whether the last step emitted (or could have emitted) this market's book.
    depth_step: bool,
}

impl MarketState {
    fn new(
        venue: Venue,
        kind: MarketKind,
        leg: (&SimMarket, usize),
        start: f64,
        rng: &mut SimRng,
    ) -> Self {
        let (market, index) = leg;
        let (symbol, tick) = (market.symbol.as_str(), market.tick);
        let mut spec = market_spec(venue, kind);
        spec.lot_raw = spec.lot_raw.saturating_mul(lot_scale(start));
        let tick_raw = sim_units(tick);
        let book_spec = BookSpec {
            tick_raw,
            lot_raw: spec.lot_raw,
            lots_max: spec.lots_max,
            level_gap_ticks: level_gap_ticks(start, tick.to_f64_lossy()),
            levels: spec.levels,
            id_step_min: spec.id_step_min,
        };
        let symbol = match venue {
            Venue::Binance => symbol.to_ascii_uppercase(),
            _ => symbol.to_owned(),
        };
        Self {
            kind,
            index,
            symbol,
            book: SyntheticBook::new(book_spec, spec.first_id + rng.below(ID_JITTER)),
            decimals: Decimals {
                price: decimals_of(tick_raw).max(spec.price_decimals_min),
                qty: spec.qty_decimals,
            },
            lot_raw: spec.lot_raw,
            last_top: None,
            trade_id: 1 + rng.below(ID_JITTER) * 1_000,
            last_trade_price: 0,
            message_id: 1 + rng.below(ID_JITTER),
            depth_step: false,
        }
    }

    /// The top of book, zeros before the book exists.
    fn top_or_zero(&self) -> Top {
        self.book.top().unwrap_or(Top {
            bid: 0,
            bid_qty: 0,
            ask: 0,
            ask_qty: 0,
        })
    }

    /// A trade at the touch with probability `chance`.
    fn maybe_trade(&mut self, rng: &mut SimRng, chance: f64, ms: u64) -> Option<Trade> {
        if !rng.chance(chance) {
            return None;
        }
        let buy = rng.chance(0.5);
        let top = self.book.top()?;
        let (price, touch_qty) = if buy {
            (top.ask, top.ask_qty)
        } else {
            (top.bid, top.bid_qty)
        };
        let touch_lots = u64::try_from(touch_qty / self.lot_raw).unwrap_or(1).max(1);
        let lots = 1 + rng.below(touch_lots);
        self.trade_id += 1 + rng.below(3);
        self.last_trade_price = price;
        Some(Trade {
            id: self.trade_id,
            price,
            qty: i64::try_from(lots)
                .unwrap_or(1)
                .saturating_mul(self.lot_raw),
            buy,
            ms,
        })
    }
}

/// One venue's markets of one base, stepped by the model.
#[derive(Clone, Debug)]
pub(crate) struct VenueModel {
    venue: Venue,
    base: String,
    rng: SimRng,
    price: PriceModel,
    spot: Option<MarketState>,
    perp: Option<MarketState>,
    trade_chance: f64,
    stats: PerpStats,
    /// Whether the last step emitted (or could have emitted) perp statistics.
    funding_step: bool,
    /// OKX `books` carry their real checksum (the form before June 2026), else 0.
    okx_checksums: bool,
}

impl VenueModel {
    /// A venue's `base` with its books (spot `legs[0]`, perp `legs[1]`, either may be
    /// absent) built around the base's start price (their initial levels are not part of
    /// any diff).
    pub(crate) fn new(
        config: &SimConfig,
        venue: Venue,
        base: &str,
        legs: [Leg<'_>; 2],
        mut rng: SimRng,
    ) -> Self {
        let price = PriceModel::new(config, &mut rng);
        let start = config.base_price(base).to_f64_lossy();
        let [spot_leg, perp_leg] = legs;
        let mut spot =
            spot_leg.map(|leg| MarketState::new(venue, MarketKind::Spot, leg, start, &mut rng));
        let mut perp =
            perp_leg.map(|leg| MarketState::new(venue, MarketKind::Perp, leg, start, &mut rng));
        let perp_start = start * (1.0 + BASIS_MEAN_BPS * 1e-4);
        for (state, mid) in [(&mut spot, start), (&mut perp, perp_start)] {
            let Some(state) = state else { continue };
            state.book.apply(&mut rng, mid);
            state.book.take_diff();
            state.last_top = state.book.top();
            state.last_trade_price = state.top_or_zero().bid;
        }
        let stats = PerpStats {
            open_interest: perp.as_ref().map_or(0, |p| {
                OPEN_INTEREST_START_LOTS.saturating_mul(p.lot_raw) / 1_000
            }),
            ..PerpStats::default()
        };
        Self {
            venue,
            base: base.to_owned(),
            rng,
            price,
            spot,
            perp,
            trade_chance: TRADES_PER_SECOND * config.step.as_secs_f64(),
            stats,
            funding_step: false,
            okx_checksums: config.okx_checksums,
        }
    }

    /// The venue.
    pub(crate) fn venue(&self) -> Venue {
        self.venue
    }

    /// The base.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// Whether `listing` is one of its symbols (the venue is not checked).
    pub(crate) fn has(&self, listing: Listing) -> bool {
        self.state(listing.market.kind)
            .is_some_and(|s| s.index == listing.index)
    }

    /// Runs step `k` with the base's `fair` price, appending its frames; returns what
    /// happened to its dislocations.
    pub(crate) fn step(
        &mut self,
        fair: f64,
        k: u64,
        clock: StepClock,
        frames: &mut Vec<Frame>,
    ) -> Option<DislocationChange> {
        let (mids, change) = self.price.step(&mut self.rng, fair, k);
        if let Some(spot) = &mut self.spot {
            spot.book.apply(&mut self.rng, mids.spot);
        }
        if let Some(perp) = &mut self.perp {
            perp.book.apply(&mut self.rng, mids.perp);
        }
        let event_ms = clock.venue_ms(k);
        let times = EventTimes {
            event_ms,
            transaction_ms: event_ms.saturating_sub(1),
        };
        let chance = self.trade_chance;
        let spot_trade = self
            .spot
            .as_mut()
            .and_then(|s| s.maybe_trade(&mut self.rng, chance, event_ms));
        let perp_trade = self
            .perp
            .as_mut()
            .and_then(|s| s.maybe_trade(&mut self.rng, chance, event_ms));
        let depth_step = clock.is_first_of(k, depth_interval(self.venue));
        self.funding_step =
            self.perp.is_some() && clock.is_first_of(k, funding_interval(self.venue));
        let funding_full = clock.is_first_of(k, FUNDING_FIELDS_INTERVAL);
        if self.funding_step {
            self.update_stats(event_ms, &mids);
        }
        let venue = self.venue;
        for (state, trade) in [(&mut self.spot, spot_trade), (&mut self.perp, perp_trade)] {
            let Some(state) = state else { continue };
            state.depth_step = depth_step;
            let listing = Listing {
                market: Market {
                    venue,
                    kind: state.kind,
                },
                index: state.index,
            };
            let mut push = |stream, text| {
                frames.push(Frame {
                    listing,
                    stream,
                    text,
                })
            };
            if let Some(text) = top_frame(venue, state, times) {
                push(StreamKind::BookTicker, text);
            }
            state.last_top = state.book.top();
            let okx_checksums = self.okx_checksums;
            if depth_step && let Some(text) = depth_frame(venue, state, times, okx_checksums) {
                push(StreamKind::Depth, text);
            }
            if let Some(trade) = trade {
                push(StreamKind::Trade, trade_frame(venue, state, times, &trade));
            }
        }
        if self.funding_step
            && let Some(perp) = &self.perp
        {
            let listing = Listing {
                market: Market {
                    venue,
                    kind: MarketKind::Perp,
                },
                index: perp.index,
            };
            let text = self.funding_frame(perp, times, funding_full);
            frames.push(Frame {
                listing,
                stream: StreamKind::Funding,
                text,
            });
        }
        change
    }

    /// Ends a dislocation in progress; returns whether one was.
    pub(crate) fn finish(&mut self) -> bool {
        self.price.finish()
    }

    fn update_stats(&mut self, event_ms: u64, mids: &Mids) {
        let lot = self.perp.as_ref().map_or(1, |p| p.lot_raw);
        let span = OPEN_INTEREST_MOVE_LOTS * 2 + 1;
        let step = i64::try_from(self.rng.below(span)).unwrap_or(0)
            - i64::try_from(OPEN_INTEREST_MOVE_LOTS).unwrap_or(0);
        let rate = f64_to_i64(mids.basis_bps * 5_000.0);
        self.stats = PerpStats {
            mark: f64_to_i64(mids.perp * 100.0).saturating_mul(1_000_000),
            index: f64_to_i64(mids.index * 1e8),
            funding_rate: rate.clamp(-FUNDING_RATE_CAP_RAW, FUNDING_RATE_CAP_RAW),
            next_funding_ms: (event_ms / FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS,
            open_interest: (self.stats.open_interest + step * lot).max(lot),
        };
    }

    /// The perp statistics frame; `with_funding`: whether Bybit's delta carries the
    /// funding fields.
    fn funding_frame(&self, perp: &MarketState, times: EventTimes, with_funding: bool) -> String {
        let mut text = String::with_capacity(512);
        let ms = times.event_ms;
        match self.venue {
            Venue::Binance => binance::mark_price(&mut text, &perp.symbol, ms, &self.stats),
            Venue::Bybit => {
                let ticker = bybit::TickerDelta {
                    stats: &self.stats,
                    with_funding,
                    decimals: perp.decimals,
                };
                bybit::ticker_delta(&mut text, &perp.symbol, ms, perp.book.update_id(), &ticker);
            }
            Venue::Okx => okx::funding_rate(&mut text, &perp.symbol, ms, &self.stats),
            Venue::Hyperliquid => {
                let top = perp.top_or_zero();
                hyperliquid::active_asset_ctx(&mut text, &perp.symbol, &self.stats, top);
            }
        }
        text
    }

    fn state(&self, kind: MarketKind) -> Option<&MarketState> {
        match kind {
            MarketKind::Spot => self.spot.as_ref(),
            MarketKind::Perp => self.perp.as_ref(),
        }
    }

    /// The snapshot of `stream` for a new subscriber at venue time `ms`, if the stream
    /// starts with one (Bybit `orderbook.50` and perp `tickers`, OKX `books`) and the
    /// last step was one of its emission steps.
    pub(crate) fn snapshot(&self, kind: MarketKind, stream: StreamKind, ms: u64) -> Option<String> {
        let state = self.state(kind)?;
        let mut text = String::with_capacity(16_384);
        match (self.venue, stream) {
            (Venue::Bybit, StreamKind::Depth) if state.depth_step => {
                let (bids, asks) = state.book.levels();
                let book = bybit::OrderBook {
                    snapshot: true,
                    ts: ms,
                    u: state.message_id,
                    seq: state.book.last_diff_id(),
                    bids: &bids,
                    asks: &asks,
                    decimals: state.decimals,
                };
                bybit::orderbook(&mut text, &state.symbol, &book);
            }
            (Venue::Bybit, StreamKind::Funding)
                if self.funding_step && kind == MarketKind::Perp =>
            {
                let ticker = bybit::TickerSnapshot {
                    stats: &self.stats,
                    top: state.top_or_zero(),
                    last_price: state.last_trade_price,
                    decimals: state.decimals,
                };
                bybit::ticker_snapshot(
                    &mut text,
                    &state.symbol,
                    ms,
                    state.book.update_id(),
                    &ticker,
                );
            }
            (Venue::Okx, StreamKind::Depth) if state.depth_step => {
                let (bids, asks) = state.book.levels();
                let seq = state.book.last_diff_id();
                let books = okx::Books {
                    snapshot: true,
                    ts: ms,
                    prev_seq_id: -1,
                    seq_id: seq,
                    bids: &bids,
                    asks: &asks,
                    checksum: okx_checksum(self.okx_checksums, &bids, &asks),
                    lot_raw: state.lot_raw,
                };
                okx::books(&mut text, &state.symbol, &books);
            }
            _ => return None,
        }
        Some(text)
    }

    /// The REST book of `kind`, at most `limit` levels a side, at venue time `ms`: OKX's
    /// order book at the current update id (see the module docs), or Binance's depth.
    /// Binance spot reports the current update id as `lastUpdateId` (the next diff has
    /// `U <= lastUpdateId + 1`); futures report the unused id just after it (ids step by
    /// at least 2 there), so the next diff always has `U <= lastUpdateId < u`, whichever
    /// of Binance's two dropping rules (`u < lastUpdateId` or `u <= lastUpdateId`) a
    /// client applies.
    pub(crate) fn rest_depth(&self, kind: MarketKind, limit: usize, ms: u64) -> Option<String> {
        let state = self.state(kind)?;
        let (mut bids, mut asks) = state.book.levels();
        bids.truncate(limit);
        asks.truncate(limit);
        let mut text = String::with_capacity(4_096);
        if self.venue == Venue::Okx {
            let book = okx::Books {
                snapshot: true,
                ts: ms,
                prev_seq_id: -1,
                seq_id: state.book.update_id(),
                bids: &bids,
                asks: &asks,
                checksum: 0,
                lot_raw: state.lot_raw,
            };
            okx::rest_books(&mut text, &book);
            return Some(text);
        }
        let (id, times) = match kind {
            MarketKind::Spot => (state.book.update_id(), None),
            MarketKind::Perp => {
                let times = EventTimes {
                    event_ms: ms,
                    transaction_ms: ms.saturating_sub(1),
                };
                (state.book.update_id() + 1, Some(times))
            }
        };
        binance::rest_depth(&mut text, id, times, &bids, &asks, state.decimals);
        Some(text)
    }

    /// Whether the last step was a depth step of its markets.
    pub(crate) fn depth_flushed(&self) -> bool {
        [&self.spot, &self.perp]
            .into_iter()
            .flatten()
            .all(|s| s.depth_step)
    }

    /// The current levels of `kind`'s book `(bids, asks)`, best first, raw.
    pub(crate) fn levels(&self, kind: MarketKind) -> Option<(Levels, Levels)> {
        Some(self.state(kind)?.book.levels())
    }

    /// The market of `kind`'s book, for tests.
    #[cfg(test)]
    pub(crate) fn book(&self, kind: MarketKind) -> &SyntheticBook {
        &self.state(kind).expect("a market of this kind").book
    }
}

/// The top-of-book frame of a market this step, if its venue sends one.
fn top_frame(venue: Venue, state: &MarketState, times: EventTimes) -> Option<String> {
    let top = state.book.top()?;
    let changed = state.last_top != Some(top);
    if !changed && (venue, state.kind) != (Venue::Binance, MarketKind::Perp) {
        return None;
    }
    let mut text = String::with_capacity(256);
    match (venue, state.kind) {
        (Venue::Binance, MarketKind::Perp) => {
            let id = state.book.update_id();
            binance::perp_book_ticker(&mut text, times, id, &state.symbol, top, state.decimals);
        }
        (Venue::Binance, MarketKind::Spot) if changed => {
            binance::spot_book_ticker(&mut text, state.book.update_id(), &state.symbol, top);
        }
        (Venue::Okx, _) if changed => {
            let seq = state.book.update_id();
            okx::bbo(
                &mut text,
                &state.symbol,
                times.event_ms,
                seq,
                top,
                state.lot_raw,
            );
        }
        (Venue::Hyperliquid, _) if changed => {
            hyperliquid::bbo(&mut text, &state.symbol, times.event_ms, top, state.lot_raw);
        }
        _ => return None,
    }
    Some(text)
}

/// OKX's `books` checksum: the real one, or 0 as OKX sends since June 2026.
fn okx_checksum(real: bool, bids: &[(i64, i64)], asks: &[(i64, i64)]) -> i32 {
    if real { okx::checksum(bids, asks) } else { 0 }
}

/// The book frame of a market at one of its depth steps, if there is one.
fn depth_frame(
    venue: Venue,
    state: &mut MarketState,
    times: EventTimes,
    okx_checksums: bool,
) -> Option<String> {
    let diff = state.book.take_diff();
    if diff.is_none() && venue != Venue::Hyperliquid {
        return None;
    }
    let mut text = String::with_capacity(4_096);
    match venue {
        Venue::Binance => {
            let diff = diff?;
            let kind = state.kind;
            binance::depth_update(&mut text, kind, times, &state.symbol, &diff, state.decimals);
        }
        Venue::Bybit => {
            let diff = diff?;
            state.message_id += 1;
            let book = bybit::OrderBook {
                snapshot: false,
                ts: times.event_ms,
                u: state.message_id,
                seq: diff.last_id,
                bids: &diff.bids,
                asks: &diff.asks,
                decimals: state.decimals,
            };
            bybit::orderbook(&mut text, &state.symbol, &book);
        }
        Venue::Okx => {
            let diff = diff?;
            let (bids, asks) = state.book.levels();
            let books = okx::Books {
                snapshot: false,
                ts: times.event_ms,
                prev_seq_id: i64::try_from(diff.prev_last_id).unwrap_or(i64::MAX),
                seq_id: diff.last_id,
                bids: &diff.bids,
                asks: &diff.asks,
                checksum: okx_checksum(okx_checksums, &bids, &asks),
                lot_raw: state.lot_raw,
            };
            okx::books(&mut text, &state.symbol, &books);
        }
        Venue::Hyperliquid => {
            let (bids, asks) = state.book.levels();
            let book = hyperliquid::L2Book {
                time: times.event_ms,
                bids: &bids,
                asks: &asks,
                lot_raw: state.lot_raw,
            };
            hyperliquid::l2_book(&mut text, &state.symbol, &book);
        }
    }
    Some(text)
}

fn trade_frame(venue: Venue, state: &MarketState, times: EventTimes, trade: &Trade) -> String {
    let mut text = String::with_capacity(320);
    let (symbol, decimals) = (state.symbol.as_str(), state.decimals);
    match venue {
        Venue::Binance => binance::trade(&mut text, state.kind, times, symbol, trade, decimals),
        Venue::Bybit => bybit::public_trade(&mut text, symbol, trade, decimals),
        Venue::Okx => okx::trade(&mut text, symbol, trade),
        Venue::Hyperliquid => hyperliquid::trade(&mut text, symbol, trade),
    }
    text
}

/// Ticks between book levels behind the touch: [`LEVEL_GAP_BPS`] of the start price
/// (30 ticks of 0.01, 3 of 0.1 at the defaults), at least one.
fn level_gap_ticks(start_price: f64, tick: f64) -> i64 {
    f64_to_i64(start_price * LEVEL_GAP_BPS * 1e-4 / tick).max(1)
}
