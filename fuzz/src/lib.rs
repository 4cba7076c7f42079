//! What the fuzz targets share: the decoders of each venue with the symbols of the real
//! recordings configured (so inputs mutated from the seed corpus reach the decoders'
//! market-data paths), the properties every decoded frame must have, and the book target's
//! run of frames through the book engine.
//!
//! Properties of one frame (any bytes):
//! - no panic, whatever the bytes (libFuzzer reports a panic or an abort as a crash);
//! - events only on `Ok(Events(n))`, exactly `n` of them; nothing left on any other outcome;
//! - every decoded price above zero, every quantity at or above zero, no crossed top of book;
//! - the venue's full decoder (fast path first) and its generic path alone agree on the
//!   outcome and the events: a fast path may decline, never disagree.
//!
//! Properties of the book (a run of frames): after each frame, a valid book is not crossed
//! or locked, holds no level of zero or negative quantity or of a price at or below zero,
//! and its view (when it has one) has its bid below its ask.

use edgeline::book::engine::BookEngine;
use edgeline::book::l2::Crossing;
use edgeline::book::stage::BookParams;
use edgeline::feed::venues::VenueDecoder;
use edgeline::feed::{DecodeError, Decoded, EventBuf, SymbolMap};
use edgeline::types::{
    EventBody, InstrumentId, InstrumentRegistry, InstrumentSpec, MarketEvent, MarketKind, Price,
    Qty, Side, Venue,
};

/// Events one frame may carry (a 5,000-level snapshot of each side, and some).
pub const EVENTS_MAX: usize = 16_384;

/// The symbols of the recordings in `../shared/data`, per venue.
pub fn symbols_of(venue: Venue) -> &'static [&'static str] {
    match venue {
        Venue::Binance => &[
            "BTCUSDT",
            "BTCUSD_PERP",
            "NKNUSDT",
            "BLZETH",
            "LRCBTC",
            "RUNEEUR",
            "FTMUSDT",
            "XMRBTC",
            "SXPBTC",
            "BADGERBTC",
            "SUSHIUSDT",
            "AKROUSDT",
            "KEEPUSDT",
            "CTKUSDT",
            "ETCUSD_PERP",
            "XRPUSD_PERP",
            "BNBUSDT",
            "ETHUSDT",
        ],
        Venue::Bybit => &["BTCUSDT", "ETHUSDT", "SOLUSDT", "DOGEUSDT", "XRPUSDT"],
        Venue::Okx => &[
            "BTC-USDT",
            "BTC-USD-220527",
            "UNI-USD-SWAP",
            "ONT-USDT",
            "XMR-USDT-SWAP",
            "TRX-USDT-210924",
            "OKT-BTC",
            "BTC-USDT-SWAP",
            "ETH-USDT",
            "BTC-USD-SWAP",
        ],
        Venue::Hyperliquid => &["BTC", "ETH", "SOL", "@107", "@142", "PURR/USDC"],
    }
}

/// A registry of every venue's symbols on both market kinds, and each venue-and-kind's
/// symbol map into it.
pub struct Markets {
    /// All instruments.
    pub registry: InstrumentRegistry,
    maps: Vec<(Venue, MarketKind, SymbolMap)>,
}

impl Markets {
    /// Every symbol of [`symbols_of`], spot and perp, on every venue.
    pub fn new() -> Self {
        let mut all = Vec::new();
        for venue in [Venue::Binance, Venue::Bybit, Venue::Okx, Venue::Hyperliquid] {
            for kind in [MarketKind::Spot, MarketKind::Perp] {
                all.push((venue, kind));
            }
        }
        Self::of(&all)
    }

    /// The symbols of [`symbols_of`] on the given markets only.
    pub fn of(markets: &[(Venue, MarketKind)]) -> Self {
        let mut registry = InstrumentRegistry::default();
        let mut maps = Vec::new();
        for &(venue, kind) in markets {
            {
                let mut map = SymbolMap::default();
                for &symbol in symbols_of(venue) {
                    let id = registry
                        .insert(InstrumentSpec {
                            venue,
                            kind,
                            symbol: symbol.into(),
                            base: "BTC".into(),
                            tick_size: Price::from_raw(1),
                            lot_size: Qty::from_raw(1),
                            min_notional: Price::ZERO,
                            contract_size: Qty::from_raw(Qty::SCALE),
                        })
                        .expect("distinct symbols");
                    map.insert(symbol, id);
                }
                maps.push((venue, kind, map));
            }
        }
        Self { registry, maps }
    }

    /// The symbol map of a venue's market.
    pub fn symbols(&self, venue: Venue, kind: MarketKind) -> SymbolMap {
        self.maps
            .iter()
            .find(|(v, k, _)| *v == venue && *k == kind)
            .map(|(_, _, m)| m.clone())
            .expect("every market has a map")
    }

    /// The first instrument of a venue's market (REST snapshots name none).
    pub fn first(&self, venue: Venue, kind: MarketKind) -> InstrumentId {
        self.registry
            .find(venue, kind, symbols_of(venue)[0])
            .expect("registered")
    }
}

impl Default for Markets {
    fn default() -> Self {
        Self::new()
    }
}

/// Checks the events of one decoded frame: positive prices, non-negative quantities, an
/// uncrossed top of book.
pub fn check_events(events: &[MarketEvent]) {
    for event in events {
        match event.body {
            EventBody::DepthLevel { price, qty, .. } => {
                assert!(price > Price::ZERO, "level price {price:?}");
                assert!(qty >= Qty::ZERO, "level qty {qty:?}");
            }
            EventBody::TopOfBook {
                bid,
                bid_qty,
                ask,
                ask_qty,
                ..
            } => {
                assert!(
                    bid > Price::ZERO && ask > Price::ZERO,
                    "top {bid:?} {ask:?}"
                );
                assert!(bid_qty >= Qty::ZERO && ask_qty >= Qty::ZERO, "top qty");
                assert!(bid < ask, "crossed top {bid:?} >= {ask:?}");
            }
            EventBody::Trade { price, qty, .. } => {
                assert!(price > Price::ZERO, "trade price {price:?}");
                assert!(qty >= Qty::ZERO, "trade qty {qty:?}");
            }
            _ => {}
        }
    }
}

/// Decodes `frame` with `decode` into a fresh buffer: the outcome and the events left.
fn run(
    frame: &[u8],
    decode: impl FnOnce(&[u8], &mut EventBuf) -> Result<Decoded, DecodeError>,
) -> (Result<Decoded, DecodeError>, Vec<MarketEvent>) {
    let mut out = EventBuf::with_capacity(EVENTS_MAX);
    let result = decode(frame, &mut out);
    let events = out.as_slice().to_vec();
    match result {
        Ok(Decoded::Events(n)) => assert_eq!(n, events.len(), "events counted"),
        _ => assert!(events.is_empty(), "{result:?} left {} events", events.len()),
    }
    (result, events)
}

/// The per-frame properties of one venue's decoders, on both market kinds: the dispatch
/// decoder (bounds and sanity checks), and the venue decoder against its generic path.
pub fn check_frame(markets: &Markets, venue: Venue, frame: &[u8]) {
    for kind in [MarketKind::Spot, MarketKind::Perp] {
        let symbols = markets.symbols(venue, kind);
        let mut dispatch = VenueDecoder::new(venue, kind, symbols.clone());
        let (result, events) = run(frame, |f, out| dispatch.decode(f, 1, out));
        if matches!(result, Ok(Decoded::Events(_))) {
            check_events(&events);
        }
        let (full, generic) = match venue {
            Venue::Binance => {
                let d = edgeline::feed::binance::BinanceDecoder::new(symbols);
                (
                    run(frame, |f, out| d.decode(f, 1, out)),
                    run(frame, |f, out| d.decode_generic(f, 1, out)),
                )
            }
            Venue::Bybit => {
                let mut d = edgeline::feed::bybit::BybitDecoder::new(kind, symbols);
                (
                    run(frame, |f, out| d.decode(f, 1, out)),
                    run(frame, |f, out| d.decode_generic(f, 1, out)),
                )
            }
            Venue::Okx => {
                let mut d = edgeline::feed::okx::OkxDecoder::new(kind, symbols);
                (
                    run(frame, |f, out| d.decode(f, 1, out)),
                    run(frame, |f, out| d.decode_generic(f, 1, out)),
                )
            }
            Venue::Hyperliquid => {
                let mut d = edgeline::feed::hyperliquid::HyperliquidDecoder::new(kind, symbols);
                (
                    run(frame, |f, out| d.decode(f, 1, out)),
                    run(frame, |f, out| d.decode_generic(f, 1, out)),
                )
            }
        };
        assert_eq!(full, generic, "fast path and generic path disagree");
    }
}

/// The venue and market kind a book input is for: its first byte.
pub fn market_of(selector: u8) -> (Venue, MarketKind) {
    let venue = match selector % 4 {
        0 => Venue::Binance,
        1 => Venue::Bybit,
        2 => Venue::Okx,
        _ => Venue::Hyperliquid,
    };
    let kind = if selector & 4 == 0 {
        MarketKind::Spot
    } else {
        MarketKind::Perp
    };
    (venue, kind)
}

/// The book target: `input`'s first byte picks the venue and kind ([`market_of`]), the
/// rest is frames, one a line; a Binance REST snapshot (`{"lastUpdateId"`) or OKX REST
/// book (`{"code"`) line is the first instrument's snapshot. Every frame's events go to
/// a fresh book engine over that market's instruments; after each frame every book is
/// checked.
pub fn check_book_run(input: &[u8]) {
    let Some((&selector, frames)) = input.split_first() else {
        return;
    };
    let (venue, kind) = market_of(selector);
    let markets = Markets::of(&[(venue, kind)]);
    let mut engine = engine(&markets);
    let mut decoder = VenueDecoder::new(venue, kind, markets.symbols(venue, kind));
    let binance = edgeline::feed::binance::BinanceDecoder::new(markets.symbols(venue, kind));
    let first = markets.first(venue, kind);
    let mut out = EventBuf::with_capacity(EVENTS_MAX);
    for frame in frames.split(|&b| b == b'\n') {
        out.clear();
        let decoded = if frame.starts_with(b"{\"lastUpdateId\"") && venue == Venue::Binance {
            binance.decode_snapshot(frame, first, 1, &mut out)
        } else if frame.starts_with(b"{\"code\"") && venue == Venue::Okx {
            edgeline::feed::okx::rest::decode_book(frame, first, 1, &mut out)
        } else {
            decoder.decode(frame, 1, &mut out)
        };
        if !matches!(decoded, Ok(Decoded::Events(_))) {
            continue;
        }
        check_events(out.as_slice());
        // An invalidated book stays so here (the book stage would resync it).
        for event in out.as_slice() {
            engine.apply(event);
        }
        check_books(&markets, &engine);
    }
}

/// Every valid book: not crossed or locked, no level at or below zero, its view's bid
/// below its ask.
pub fn check_books(markets: &Markets, engine: &BookEngine) {
    for instrument in markets.registry.iter() {
        let id = instrument.id;
        if !engine.is_valid(id) {
            continue;
        }
        let l2 = engine.l2(id);
        assert_eq!(
            l2.crossing(),
            Crossing::Normal,
            "valid book crossed: {id:?}"
        );
        for side in [Side::Bid, Side::Ask] {
            for level in l2.side(side).iter() {
                assert!(
                    level.qty > Qty::ZERO,
                    "level qty {:?} in the book",
                    level.qty
                );
                assert!(level.price > Price::ZERO, "level price {:?}", level.price);
            }
        }
        if let Some(view) = engine.view(id) {
            assert!(view.bid < view.ask, "view crossed: {view:?}");
        }
    }
}

/// A book engine over `markets`' instruments: 1,000 levels a side (the recordings'
/// REST snapshots hold at most that many) and a 4,096-event resync buffer, so that a
/// fresh engine per input stays cheap.
pub fn engine(markets: &Markets) -> BookEngine {
    let params = BookParams {
        levels_max: 1000,
        resync_buffer_events: 4096,
        ..BookParams::default()
    };
    BookEngine::new(&markets.registry, params)
}
