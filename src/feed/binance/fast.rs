//! The Binance fast path: a schema-specific scanner for the stream messages, `bookTicker`,
//! `depthUpdate`, `trade`, `aggTrade` and `markPriceUpdate` (spot and futures, raw or in
//! the combined-stream envelope), writing fixed-point events straight into the caller's
//! [`EventBuf`].
//!
//! A `bookTicker`, `trade`, `aggTrade` or `depthUpdate` in the venue's own key order
//! (spot or futures) is read as one literal sequence; every other message (and those in
//! any other order) member by member, to the same events.
//!
//! It accepts only what it fully understands and declines everything else (returns
//! `None`), so the generic sonic-rs decoder in [`super::decode`] stays the one judge of
//! every other message and of every error. "Understands" is strict: an object of known
//! keys in any order, each at most once, no whitespace, strings of printable ASCII with no
//! escapes, JSON integers without leading zeros, nothing after the closing brace. A frame
//! it accepts is therefore valid JSON that the generic decoder reads to the same events;
//! `tests/fast_paths.rs` checks exactly that on every real Binance message in
//! `../shared/data`, and `tests/fuzz_binance.rs` on mutated ones. Runs on the feed thread; no allocation.

use crate::feed::binance::decode::mark_price_fields;
use crate::feed::decode::Decoded;
use crate::feed::event_buf::EventBuf;
use crate::feed::json::{placeholder, stamp};
use crate::feed::scan::{Cursor, Stamp, first_time, keep_if_accepted};
use crate::feed::symbols::SymbolMap;
use crate::types::{EventBody, InstrumentId, MarketEvent, Price, Qty, Rate, Side};

/// Decodes `frame` if it is a stream message this scanner fully understands; `None`
/// (with `out` as it was) otherwise.
#[inline]
pub fn decode(
    symbols: &SymbolMap,
    frame: &[u8],
    ts_recv_raw: u64,
    out: &mut EventBuf,
) -> Option<Decoded> {
    keep_if_accepted(out, |out, start| {
        scan(symbols, frame, ts_recv_raw, out, start)
    })
}

fn scan(
    symbols: &SymbolMap,
    frame: &[u8],
    ts_recv_raw: u64,
    out: &mut EventBuf,
    start: usize,
) -> Option<Decoded> {
    let mut c = Cursor::new(frame);
    let enveloped = frame.starts_with(b"{\"stream\":\"");
    if enveloped {
        c.lit(b"{\"stream\":")?;
        c.string()?;
        c.lit(b",\"data\":")?;
    }
    let saved = c;
    let usual = in_order(&mut c, symbols, ts_recv_raw, out, start).and_then(|decoded| {
        if enveloped {
            c.lit(b"}")?;
        }
        c.end()?;
        Some(decoded)
    });
    if usual.is_some() {
        return usual;
    }
    out.truncate(start);
    c = saved;
    let mut f = Fields {
        levels_stamped: true,
        ..Fields::default()
    };
    message(&mut c, symbols, ts_recv_raw, out, &mut f)?;
    if enveloped {
        c.lit(b"}")?;
    }
    c.end()?;
    let body = match f.kind {
        Kind::DepthUpdate if f.string_prices == 0 => EventBody::DepthBegin {
            first_update_id: f.first_id?,
            last_update_id: f.last_id?,
            prev_update_id: f.prev_id.unwrap_or(0),
            levels: u16::try_from(f.levels).ok()?,
            snapshot: false,
            checksum: None,
        },
        Kind::Absent | Kind::BookTicker if f.level_arrays == 0 => EventBody::TopOfBook {
            bid: f.bid?,
            bid_qty: f.bid_qty?,
            ask: f.ask?,
            ask_qty: f.ask_qty?,
            update_id: f.last_id?,
        },
        Kind::Trade | Kind::AggTrade if f.level_arrays == 0 => trade(
            f.p?,
            f.q?,
            f.buyer_is_maker?,
            if f.kind == Kind::Trade {
                f.trade_id?
            } else {
                // Old aggTrade messages carry no `a`; `f` (its first trade) stands in.
                f.agg_id.or(f.first_trade_id)?
            },
        ),
        Kind::MarkPrice if f.level_arrays == 0 => {
            let fields =
                mark_price_fields(f.index.is_some(), f.rate.is_some(), f.t_upper.is_some());
            EventBody::Funding {
                mark: f.p?,
                index: f.index.unwrap_or(Price::ZERO),
                rate: f.rate.unwrap_or(Rate::ZERO),
                next_funding_ms: f.t_upper.unwrap_or(0),
                fields,
            }
        }
        _ => return None,
    };
    let final_stamp = Stamp {
        ts_recv_raw,
        ts_venue_ms: f.event_ms.unwrap_or(0),
        instrument: f.instrument?,
    };
    let event = final_stamp.event(body);
    if f.level_arrays == 0 {
        out.push(event).ok()?;
    } else {
        // The header pushed before the first level array.
        out.tail_mut(start)[0] = event;
        if !f.levels_stamped {
            stamp(
                out,
                start + 1,
                ts_recv_raw,
                final_stamp.ts_venue_ms,
                final_stamp.instrument,
            );
        }
    }
    Some(Decoded::Events(out.len() - start))
}

/// A hot message in the key order Binance sends it, read as one literal sequence and
/// written to `out`: `bookTicker` ([`book_ticker_in_order`]), `trade`
/// ([`trade_in_order`]), `aggTrade` ([`agg_trade_in_order`]) and `depthUpdate`
/// ([`depth_in_order`]), spot and futures. `None` for anything else (`out` may then hold
/// part of a depth update: the caller truncates it), which [`message`] then reads member
/// by member in any order (to the same events).
///
/// It and the single-event readers are always inlined into [`scan`]: left to the compiler
/// they became calls, each event coming back through memory.
#[inline(always)]
fn in_order(
    c: &mut Cursor<'_>,
    symbols: &SymbolMap,
    ts_recv_raw: u64,
    out: &mut EventBuf,
    start: usize,
) -> Option<Decoded> {
    let event = if c.lit(b"{\"u\":").is_some() {
        book_ticker_in_order(c, symbols, ts_recv_raw, false)?
    } else {
        c.lit(b"{\"e\":\"")?;
        match c.peek()? {
            b't' => {
                c.lit(b"trade\",\"E\":")?;
                trade_in_order(c, symbols, ts_recv_raw)?
            }
            b'a' => {
                c.lit(b"aggTrade\",\"E\":")?;
                agg_trade_in_order(c, symbols, ts_recv_raw)?
            }
            b'd' => {
                c.lit(b"depthUpdate\",\"E\":")?;
                return depth_in_order(c, symbols, ts_recv_raw, out, start);
            }
            _ => {
                c.lit(b"bookTicker\",\"u\":")?;
                book_ticker_in_order(c, symbols, ts_recv_raw, true)?
            }
        }
    };
    out.push(event).ok()?;
    Some(Decoded::Events(1))
}

/// A `bookTicker` after its `"u":` in the key order Binance sends it: spot
/// `{"u":..,"s":..,"b":..,"B":..,"a":..,"A":..}`, `futures` the same with
/// `"e":"bookTicker"` first and `"T"`, `"E"` last.
#[inline(always)]
fn book_ticker_in_order(
    c: &mut Cursor<'_>,
    symbols: &SymbolMap,
    ts_recv_raw: u64,
    futures: bool,
) -> Option<MarketEvent> {
    let update_id = c.uint()?;
    c.lit(b",\"s\":")?;
    let instrument = symbols.get_bytes(c.string()?)?;
    c.lit(b",\"b\":")?;
    let bid = c.decimal::<Price>()?;
    c.lit(b",\"B\":")?;
    let bid_qty = c.decimal::<Qty>()?;
    c.lit(b",\"a\":")?;
    let ask = c.decimal::<Price>()?;
    c.lit(b",\"A\":")?;
    let ask_qty = c.decimal::<Qty>()?;
    let mut ts_venue_ms = 0;
    if futures {
        c.lit(b",\"T\":")?;
        c.uint()?;
        c.lit(b",\"E\":")?;
        ts_venue_ms = c.uint()?;
    }
    c.lit(b"}")?;
    let stamp = Stamp {
        ts_recv_raw,
        ts_venue_ms,
        instrument,
    };
    Some(stamp.event(EventBody::TopOfBook {
        bid,
        bid_qty,
        ask,
        ask_qty,
        update_id,
    }))
}

/// A `trade` after its `"e":"trade","E":` in the key order Binance sends it: spot
/// `..,"s","t","p","q","T","m","M"}`, futures `..,"T","s","t","p","q","X","m"}` (`X`
/// absent from older messages).
#[inline(always)]
fn trade_in_order(
    c: &mut Cursor<'_>,
    symbols: &SymbolMap,
    ts_recv_raw: u64,
) -> Option<MarketEvent> {
    let ts_venue_ms = c.uint()?;
    let futures = c.lit(b",\"T\":").is_some();
    if futures {
        c.uint()?;
    }
    c.lit(b",\"s\":")?;
    let instrument = symbols.get_bytes(c.string()?)?;
    c.lit(b",\"t\":")?;
    let trade_id = c.uint()?;
    let (price, qty) = price_qty(c)?;
    if !futures {
        c.lit(b",\"T\":")?;
        c.uint()?;
    } else if c.lit(b",\"X\":").is_some() {
        c.string()?;
    }
    let buyer_is_maker = maker(c, !futures)?;
    let stamp = Stamp {
        ts_recv_raw,
        ts_venue_ms,
        instrument,
    };
    Some(stamp.event(trade(price, qty, buyer_is_maker, trade_id)))
}

/// An `aggTrade` after its `"e":"aggTrade","E":` in the key order Binance sends it: spot
/// `..,"s","a","p","q","f","l","T","m","M"}`, futures `..,"a","s","p","q","f","l","T","m"}`.
#[inline(always)]
fn agg_trade_in_order(
    c: &mut Cursor<'_>,
    symbols: &SymbolMap,
    ts_recv_raw: u64,
) -> Option<MarketEvent> {
    let ts_venue_ms = c.uint()?;
    let futures = c.lit(b",\"a\":").is_some();
    let mut agg_id = 0;
    if futures {
        agg_id = c.uint()?;
    }
    c.lit(b",\"s\":")?;
    let instrument = symbols.get_bytes(c.string()?)?;
    if !futures {
        c.lit(b",\"a\":")?;
        agg_id = c.uint()?;
    }
    let (price, qty) = price_qty(c)?;
    c.lit(b",\"f\":")?;
    c.uint()?;
    c.lit(b",\"l\":")?;
    c.uint()?;
    c.lit(b",\"T\":")?;
    c.uint()?;
    let buyer_is_maker = maker(c, !futures)?;
    let stamp = Stamp {
        ts_recv_raw,
        ts_venue_ms,
        instrument,
    };
    Some(stamp.event(trade(price, qty, buyer_is_maker, agg_id)))
}

/// `,"p":"price","q":"qty"`.
#[inline(always)]
fn price_qty(c: &mut Cursor<'_>) -> Option<(Price, Qty)> {
    c.lit(b",\"p\":")?;
    let price = c.decimal::<Price>()?;
    c.lit(b",\"q\":")?;
    let qty = c.decimal::<Qty>()?;
    Some((price, qty))
}

/// `,"m":bool` and, with `best_match` (spot), `,"M":bool`, then the closing `}`: whether
/// the buyer was the maker.
#[inline(always)]
fn maker(c: &mut Cursor<'_>, best_match: bool) -> Option<bool> {
    c.lit(b",\"m\":")?;
    let buyer_is_maker = c.boolean()?;
    if best_match {
        c.lit(b",\"M\":")?;
        c.boolean()?;
    }
    c.lit(b"}")?;
    Some(buyer_is_maker)
}

/// A trade's body: the buyer as maker means the seller was the aggressor.
#[inline]
fn trade(price: Price, qty: Qty, buyer_is_maker: bool, trade_id: u64) -> EventBody {
    EventBody::Trade {
        price,
        qty,
        aggressor: if buyer_is_maker { Side::Ask } else { Side::Bid },
        trade_id,
    }
}

/// A `depthUpdate` after its `"e":"depthUpdate","E":` in the key order Binance sends it:
/// spot `..,"s","U","u","b","a"}`, futures `..,"T","s",("ps",)"U","u","pu","b","a"}`
/// (`ps` on COIN-M). Its header (a placeholder until the level count is known) and its
/// levels, stamped as they are written, go to `out` from `start`.
#[inline]
fn depth_in_order(
    c: &mut Cursor<'_>,
    symbols: &SymbolMap,
    ts_recv_raw: u64,
    out: &mut EventBuf,
    start: usize,
) -> Option<Decoded> {
    let ts_venue_ms = c.uint()?;
    if c.lit(b",\"T\":").is_some() {
        c.uint()?;
    }
    c.lit(b",\"s\":")?;
    let instrument = symbols.get_bytes(c.string()?)?;
    if c.lit(b",\"ps\":").is_some() {
        c.string()?;
    }
    c.lit(b",\"U\":")?;
    let first_update_id = c.uint()?;
    c.lit(b",\"u\":")?;
    let last_update_id = c.uint()?;
    let prev_update_id = match c.lit(b",\"pu\":") {
        Some(()) => c.uint()?,
        None => 0,
    };
    let stamp = Stamp {
        ts_recv_raw,
        ts_venue_ms,
        instrument,
    };
    out.push(placeholder(ts_recv_raw)).ok()?;
    c.lit(b",\"b\":")?;
    let bids = c.levels(Side::Bid, false, stamp, out)?;
    c.lit(b",\"a\":")?;
    let asks = c.levels(Side::Ask, false, stamp, out)?;
    c.lit(b"}")?;
    out.tail_mut(start)[0] = stamp.event(EventBody::DepthBegin {
        first_update_id,
        last_update_id,
        prev_update_id,
        levels: u16::try_from(bids + asks).ok()?,
        snapshot: false,
        checksum: None,
    });
    Some(Decoded::Events(out.len() - start))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Kind {
    #[default]
    Absent,
    DepthUpdate,
    BookTicker,
    Trade,
    AggTrade,
    MarkPrice,
}

#[derive(Default)]
struct Fields {
    kind: Kind,
    event_ms: Option<u64>,
    t_upper: Option<u64>,
    instrument: Option<InstrumentId>,
    first_id: Option<u64>,
    last_id: Option<u64>,
    prev_id: Option<u64>,
    bid: Option<Price>,
    bid_qty: Option<Qty>,
    ask: Option<Price>,
    ask_qty: Option<Qty>,
    levels: usize,
    level_arrays: u8,
    /// Whether every level array was written with the final stamp (`E` and `s` came
    /// before it; each is read at most once, so its value was final).
    levels_stamped: bool,
    string_prices: u8,
    p: Option<Price>,
    q: Option<Qty>,
    buyer_is_maker: Option<bool>,
    trade_id: Option<u64>,
    agg_id: Option<u64>,
    first_trade_id: Option<u64>,
    index: Option<Price>,
    rate: Option<Rate>,
}

/// The keys this scanner reads, each at most once: its bit in the seen-set.
mod key {
    pub const EVENT: u32 = 1;
    pub const EVENT_TIME: u32 = 1 << 1;
    pub const TIME: u32 = 1 << 2;
    pub const SYMBOL: u32 = 1 << 3;
    pub const FIRST_ID: u32 = 1 << 4;
    pub const LAST_ID: u32 = 1 << 5;
    pub const PREV_ID: u32 = 1 << 6;
    pub const BID: u32 = 1 << 7;
    pub const BID_QTY: u32 = 1 << 8;
    pub const ASK: u32 = 1 << 9;
    pub const ASK_QTY: u32 = 1 << 10;
    pub const PAIR: u32 = 1 << 11;
    pub const TRADE_ID: u32 = 1 << 12;
    pub const PRICE: u32 = 1 << 13;
    pub const QTY: u32 = 1 << 14;
    pub const MAKER: u32 = 1 << 15;
    pub const BEST_MATCH: u32 = 1 << 16;
    pub const FIRST_TRADE: u32 = 1 << 17;
    pub const LAST_TRADE: u32 = 1 << 18;
    pub const INDEX: u32 = 1 << 19;
    pub const RATE: u32 = 1 << 20;
    pub const SETTLE: u32 = 1 << 21;
    pub const TRADE_TYPE: u32 = 1 << 22;
}

/// The bit of a key this scanner reads (see [`key`]).
#[inline]
fn key_bit(key: &[u8]) -> Option<u32> {
    Some(match key {
        b"e" => key::EVENT,
        b"E" => key::EVENT_TIME,
        b"T" => key::TIME,
        b"s" => key::SYMBOL,
        b"U" => key::FIRST_ID,
        b"u" => key::LAST_ID,
        b"pu" => key::PREV_ID,
        b"b" => key::BID,
        b"B" => key::BID_QTY,
        b"a" => key::ASK,
        b"A" => key::ASK_QTY,
        b"ps" => key::PAIR,
        b"t" => key::TRADE_ID,
        b"p" => key::PRICE,
        b"q" => key::QTY,
        b"m" => key::MAKER,
        b"M" => key::BEST_MATCH,
        b"f" => key::FIRST_TRADE,
        b"l" => key::LAST_TRADE,
        b"i" => key::INDEX,
        b"r" => key::RATE,
        b"P" => key::SETTLE,
        b"X" => key::TRADE_TYPE,
        _ => return None,
    })
}

/// One message object: `{"k":v,...}` with the keys of [`key_bit`], each at most once.
/// `b`/`a` are a price string (`bookTicker`) or a level array (`depthUpdate`), and `a`
/// is the aggregate trade id (a number) in `aggTrade`; as the generic decoder reads them.
/// A depth update's header is pushed (a placeholder) before its first level array, its
/// levels stamped as they are written when `E` and `s` came before them. Fills `f`.
fn message(
    c: &mut Cursor<'_>,
    symbols: &SymbolMap,
    ts_recv_raw: u64,
    out: &mut EventBuf,
    f: &mut Fields,
) -> Option<()> {
    let mut seen = 0u32;
    c.members(|c, name| {
        let bit = key_bit(name)?;
        first_time(&mut seen, bit)?;
        match bit {
            key::EVENT => {
                f.kind = match c.string()? {
                    b"depthUpdate" => Kind::DepthUpdate,
                    b"bookTicker" => Kind::BookTicker,
                    b"trade" => Kind::Trade,
                    b"aggTrade" => Kind::AggTrade,
                    b"markPriceUpdate" => Kind::MarkPrice,
                    _ => return None,
                }
            }
            key::EVENT_TIME => f.event_ms = Some(c.uint()?),
            key::TIME => f.t_upper = Some(c.uint()?),
            key::SYMBOL => f.instrument = Some(symbols.get_bytes(c.string()?)?),
            key::FIRST_ID => f.first_id = Some(c.uint()?),
            key::LAST_ID => f.last_id = Some(c.uint()?),
            key::PREV_ID => f.prev_id = Some(c.uint()?),
            key::BID | key::ASK => {
                let side = if bit == key::BID {
                    Side::Bid
                } else {
                    Side::Ask
                };
                match c.peek()? {
                    b'[' => {
                        if f.level_arrays == 0 {
                            out.push(placeholder(ts_recv_raw)).ok()?;
                        }
                        let stamp = match (f.event_ms, f.instrument) {
                            (Some(ts_venue_ms), Some(instrument)) => Stamp {
                                ts_recv_raw,
                                ts_venue_ms,
                                instrument,
                            },
                            _ => {
                                f.levels_stamped = false;
                                Stamp::default()
                            }
                        };
                        f.levels += c.levels(side, false, stamp, out)?;
                        f.level_arrays += 1;
                    }
                    b'"' => {
                        let price = c.decimal::<Price>()?;
                        f.string_prices += 1;
                        match side {
                            Side::Bid => f.bid = Some(price),
                            Side::Ask => f.ask = Some(price),
                        }
                    }
                    _ if side == Side::Ask => f.agg_id = Some(c.uint()?),
                    _ => return None,
                }
            }
            key::BID_QTY => f.bid_qty = Some(c.decimal::<Qty>()?),
            key::ASK_QTY => f.ask_qty = Some(c.decimal::<Qty>()?),
            key::TRADE_ID => f.trade_id = Some(c.uint()?),
            key::PRICE => f.p = Some(c.decimal::<Price>()?),
            key::QTY => f.q = Some(c.decimal::<Qty>()?),
            key::MAKER => f.buyer_is_maker = Some(c.boolean()?),
            key::BEST_MATCH => {
                c.boolean()?;
            }
            key::FIRST_TRADE => f.first_trade_id = Some(c.uint()?),
            key::LAST_TRADE => {
                c.uint()?;
            }
            key::INDEX => f.index = Some(c.decimal::<Price>()?),
            key::RATE => f.rate = Some(c.decimal::<Rate>()?),
            _ => {
                // `ps` (futures pair), `P` (estimated settle price), `X` (futures trade
                // type): strings, not kept.
                c.string()?;
            }
        }
        Some(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::scan::run_fast;
    use crate::types::{FundingFields, InstrumentId, MarketEvent};

    fn run(frame: &str) -> Option<Vec<MarketEvent>> {
        run_fast(decode, "BTCUSDT", InstrumentId(3), frame)
    }

    #[test]
    fn test_spot_book_ticker_in_envelope() {
        let events = run(r#"{"stream":"btcusdt@bookTicker","data":{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}"#).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].instrument, InstrumentId(3));
        assert_eq!(events[0].ts_recv_raw, 4);
        assert_eq!(events[0].ts_venue_ms, 0);
        assert_eq!(
            events[0].body,
            EventBody::TopOfBook {
                bid: "61837.63".parse().unwrap(),
                bid_qty: "3.78826".parse().unwrap(),
                ask: "61837.64".parse().unwrap(),
                ask_qty: "1.54698".parse().unwrap(),
                update_id: 50_093_239_212,
            }
        );
    }

    #[test]
    fn test_book_ticker_in_any_key_order_is_the_same_event() {
        let usual = r#"{"e":"bookTicker","u":5123107839020,"s":"BTCUSDT","b":"61800.20","B":"2.507","a":"61800.30","A":"2.510","T":1723161256313,"E":1723161256314}"#;
        let shuffled = r#"{"E":1723161256314,"A":"2.510","s":"BTCUSDT","e":"bookTicker","b":"61800.20","T":1723161256313,"u":5123107839020,"a":"61800.30","B":"2.507"}"#;
        let events = run(usual).unwrap();
        assert_eq!(events, run(shuffled).unwrap());
        assert_eq!(events[0].ts_venue_ms, 1_723_161_256_314);
        let spot = r#"{"u":7,"s":"BTCUSDT","b":"1.5","B":"2","a":"1.6","A":"3"}"#;
        let spot_shuffled = r#"{"b":"1.5","B":"2","a":"1.6","A":"3","u":7,"s":"BTCUSDT"}"#;
        assert_eq!(run(spot).unwrap(), run(spot_shuffled).unwrap());
        // Cut short, an unknown symbol or a key too many: declined either way.
        assert!(run(&usual[..usual.len() - 1]).is_none());
        assert!(run(&usual.replace("BTCUSDT", "ETHUSDT")).is_none());
        assert!(run(&spot.replace("}", r#","x":1}"#)).is_none());
    }

    #[test]
    fn test_futures_depth_update_raw() {
        let events = run(r#"{"e":"depthUpdate","E":1723161256299,"T":1723161256298,"s":"BTCUSDT","U":5,"u":7,"pu":4,"b":[["58710.20","0.014"]],"a":[["61800.30","0"],["61800.40","1.5"]]}"#).unwrap();
        assert_eq!(events.len(), 4);
        assert_eq!(
            events[0].body,
            EventBody::DepthBegin {
                first_update_id: 5,
                last_update_id: 7,
                prev_update_id: 4,
                levels: 3,
                snapshot: false,
                checksum: None
            }
        );
        assert!(events.iter().all(|e| e.ts_venue_ms == 1_723_161_256_299));
        assert_eq!(
            events[3].body,
            EventBody::DepthLevel {
                side: Side::Ask,
                price: "61800.4".parse().unwrap(),
                qty: "1.5".parse().unwrap()
            }
        );
    }

    #[test]
    fn test_trade_agg_trade_and_mark_price() {
        let events = run(r#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}"#).unwrap();
        assert_eq!(
            events[0].body,
            EventBody::Trade {
                price: "61837.63".parse().unwrap(),
                qty: "0.02".parse().unwrap(),
                aggressor: Side::Ask,
                trade_id: 3_735_683_259,
            }
        );
        assert_eq!(events[0].ts_venue_ms, 1_723_161_255_343);
        let events = run(r#"{"e":"aggTrade","E":1626992741575,"a":16599292,"s":"BTCUSDT","p":"1.01100","q":"10","f":23961322,"l":23961322,"T":1626992741421,"m":false}"#).unwrap();
        assert!(matches!(
            events[0].body,
            EventBody::Trade {
                aggressor: Side::Bid,
                trade_id: 16_599_292,
                ..
            }
        ));
        let events = run(r#"{"e":"markPriceUpdate","E":1597536008000,"s":"BTCUSDT","p":"11857.56000000","i":"11851.86949091","r":"0.00015640","T":1597564800000}"#).unwrap();
        assert_eq!(
            events[0].body,
            EventBody::Funding {
                mark: "11857.56".parse().unwrap(),
                index: "11851.86949091".parse().unwrap(),
                rate: "0.0001564".parse().unwrap(),
                next_funding_ms: 1_597_564_800_000,
                fields: FundingFields::MARK
                    .with(FundingFields::INDEX)
                    .with(FundingFields::RATE)
                    .with(FundingFields::NEXT_FUNDING),
            }
        );
    }

    /// `usual` (a real message's key order) and `shuffled` (the same members in another
    /// order) decode to the same events; those events.
    fn same_in_any_order(usual: &str, shuffled: &str) -> Vec<MarketEvent> {
        let events = run(usual).unwrap();
        assert_eq!(events, run(shuffled).unwrap(), "{shuffled}");
        events
    }

    #[test]
    fn test_trade_in_any_key_order_is_the_same_event() {
        let spot = r#"{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}"#;
        let spot_shuffled = r#"{"M":true,"m":true,"T":1723161255342,"q":"0.02000000","p":"61837.63000000","t":3735683259,"s":"BTCUSDT","E":1723161255343,"e":"trade"}"#;
        let events = same_in_any_order(spot, spot_shuffled);
        assert_eq!(events[0].ts_venue_ms, 1_723_161_255_343);
        let usdm = r#"{"e":"trade","E":1723161256322,"T":1723161256322,"s":"BTCUSDT","t":5266583935,"p":"61800.30","q":"0.006","X":"MARKET","m":false}"#;
        let usdm_shuffled = r#"{"s":"BTCUSDT","e":"trade","X":"MARKET","E":1723161256322,"m":false,"T":1723161256322,"t":5266583935,"q":"0.006","p":"61800.30"}"#;
        let events = same_in_any_order(usdm, usdm_shuffled);
        assert_eq!(
            events[0].body,
            EventBody::Trade {
                price: "61800.3".parse().unwrap(),
                qty: "0.006".parse().unwrap(),
                aggressor: Side::Bid,
                trade_id: 5_266_583_935,
            }
        );
        // Older futures trades carry no `X`.
        let no_x = usdm.replace(r#","X":"MARKET""#, "");
        assert_eq!(run(&no_x), Some(events));
        for frame in [
            spot.replace(r#""M":true"#, r#""M":1"#),
            usdm.replace("5266583935", "05266583935"),
            usdm.replace(r#""m":false}"#, r#""m":false,"m":true}"#),
            spot.replace("}", r#","x":1}"#),
        ] {
            assert_eq!(run(&frame), None, "{frame}");
        }
    }

    #[test]
    fn test_agg_trade_in_any_key_order_is_the_same_event() {
        let spot = r#"{"e":"aggTrade","E":1628952396573,"s":"BTCUSDT","a":31718372,"p":"0.33993000","q":"99.90000000","f":38248910,"l":38248910,"T":1628952396572,"m":true,"M":true}"#;
        let spot_shuffled = r#"{"a":31718372,"e":"aggTrade","s":"BTCUSDT","M":true,"E":1628952396573,"q":"99.90000000","p":"0.33993000","l":38248910,"f":38248910,"m":true,"T":1628952396572}"#;
        let events = same_in_any_order(spot, spot_shuffled);
        assert_eq!(
            events[0].body,
            EventBody::Trade {
                price: "0.33993".parse().unwrap(),
                qty: "99.9".parse().unwrap(),
                aggressor: Side::Ask,
                trade_id: 31_718_372,
            }
        );
        let usdm = r#"{"e":"aggTrade","E":1626992741575,"a":16599292,"s":"BTCUSDT","p":"1.01100","q":"10","f":23961322,"l":23961322,"T":1626992741421,"m":false}"#;
        let usdm_shuffled = r#"{"e":"aggTrade","s":"BTCUSDT","E":1626992741575,"a":16599292,"p":"1.01100","q":"10","f":23961322,"l":23961322,"T":1626992741421,"m":false}"#;
        let events = same_in_any_order(usdm, usdm_shuffled);
        assert_eq!(events[0].ts_venue_ms, 1_626_992_741_575);
        // Old aggTrade messages carry no `a`: their first trade id stands in.
        let no_a = usdm.replace(r#""a":16599292,"#, "");
        assert!(matches!(
            run(&no_a).unwrap()[0].body,
            EventBody::Trade {
                trade_id: 23_961_322,
                ..
            }
        ));
        for frame in [
            usdm.replace(r#""m":false"#, r#""m":"false""#),
            spot.replace(r#""f":38248910"#, r#""f":-1"#),
            usdm.replace("}", "}}"),
        ] {
            assert_eq!(run(&frame), None, "{frame}");
        }
    }

    #[test]
    fn test_depth_update_in_any_key_order_is_the_same_events() {
        let usdm = r#"{"e":"depthUpdate","E":1723161256299,"T":1723161256298,"s":"BTCUSDT","U":5,"u":7,"pu":4,"b":[["58710.20","0.014"]],"a":[["61800.30","0"],["61800.40","1.5"]]}"#;
        // Levels are events in the order they come: the bids stay before the asks.
        let usdm_shuffled = r#"{"b":[["58710.20","0.014"]],"pu":4,"e":"depthUpdate","a":[["61800.30","0"],["61800.40","1.5"]],"u":7,"U":5,"E":1723161256299,"s":"BTCUSDT","T":1723161256298}"#;
        let events = same_in_any_order(usdm, usdm_shuffled);
        assert_eq!(events.len(), 4);
        assert!(events.iter().all(|e| e.ts_venue_ms == 1_723_161_256_299));
        let coinm = usdm.replace(r#""s":"BTCUSDT","#, r#""s":"BTCUSDT","ps":"BTCUSD","#);
        assert_eq!(run(&coinm), Some(events));
        let spot = r#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255308,"s":"BTCUSDT","U":50093239203,"u":50093239207,"b":[["55653.87000000","0.00000000"]],"a":[]}}"#;
        let spot_shuffled = r#"{"stream":"btcusdt@depth@100ms","data":{"b":[["55653.87000000","0.00000000"]],"e":"depthUpdate","a":[],"s":"BTCUSDT","E":1723161255308,"u":50093239207,"U":50093239203}}"#;
        let events = same_in_any_order(spot, spot_shuffled);
        assert_eq!(
            events[0].body,
            EventBody::DepthBegin {
                first_update_id: 50_093_239_203,
                last_update_id: 50_093_239_207,
                prev_update_id: 0,
                levels: 1,
                snapshot: false,
                checksum: None
            }
        );
        // A key after the level arrays: the literal reading fails once its levels are
        // written, and the member reading starts again from an empty buffer.
        let late_pu = r#"{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":5,"u":7,"b":[["1.5","2"]],"a":[],"pu":4}"#;
        let events = run(late_pu).unwrap();
        assert_eq!(events.len(), 2);
        assert!(matches!(
            events[0].body,
            EventBody::DepthBegin {
                prev_update_id: 4,
                levels: 1,
                ..
            }
        ));
        for frame in [
            usdm.replace(
                r#""b":[["58710.20","0.014"]]"#,
                r#""b":[["58710.20","0.014"],]"#,
            ),
            usdm.replace(r#"["61800.30","0"]"#, r#"["61800.30","0","1"]"#),
            usdm.replace(r#""pu":4,"#, r#""pu":4,"pu":4,"#),
            spot.replace("}}", "}"),
        ] {
            assert_eq!(run(&frame), None, "{frame}");
        }
    }

    #[test]
    fn test_declines_what_it_does_not_fully_understand() {
        let ticker = r#"{"u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}"#;
        assert!(run(ticker).is_some());
        for frame in [
            r#"{"u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"} "#,
            r#"{"u":1, "s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}"#,
            r#"{"u":01,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}"#,
            r#"{"u":1,"u":2,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}"#,
            r#"{"u":1,"s":"ETHUSDT","b":"1","B":"1","a":"2","A":"1"}"#,
            r#"{"u":1,"s":"BTCUSDT","b":"1","B":"1","a":"2"}"#,
            r#"{"u":1,"s":"BTCUSDT","b":"1e3","B":"1","a":"2","A":"1"}"#,
            r#"{"u":1,"s":"BTC\u0055SDT","b":"1","B":"1","a":"2","A":"1"}"#,
            r#"{"e":"kline","E":1,"s":"BTCUSDT","t":1,"p":"1","q":"1","m":true}"#,
            r#"{"e":"trade","E":1,"s":"BTCUSDT","t":1,"p":"1","q":"1","m":1}"#,
            r#"{"e":"aggTrade","E":1,"s":"BTCUSDT","b":2,"p":"1","q":"1","m":true}"#,
            r#"{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":"1","a":[]}"#,
            r#"{"u":18446744073709551616,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}"#,
            r#"{"result":null,"id":1}"#,
            "",
        ] {
            assert_eq!(run(frame), None, "{frame}");
        }
    }
}
