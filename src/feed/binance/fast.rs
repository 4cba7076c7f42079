//! The Binance fast path: a schema-specific scanner for the stream messages, `bookTicker`,
//! `depthUpdate`, `trade`, `aggTrade` and `markPriceUpdate` (spot and futures, raw or in
//! the combined-stream envelope), writing fixed-point events straight into the caller's
//! [`EventBuf`].
//!
//! It accepts only what it fully understands and declines everything else (returns
//! `None`), so the generic sonic-rs decoder in [`super::decode`] stays the one judge of
//! every other message and of every error. "Understands" is strict: an object of known
//! keys in any order, each at most once, no whitespace, strings of printable ASCII with no
//! escapes, JSON integers without leading zeros, nothing after the closing brace. A frame
//! it accepts is therefore valid JSON that the generic decoder reads to the same events;
//! `tests/fast_paths.rs` checks exactly that on every real Binance message in
//! `../shared/data`, and `tests/fuzz_binance.rs` on mutated ones. Runs on the feed thread; no allocation.

use crate::feed::decode::Decoded;
use crate::feed::event_buf::EventBuf;
use crate::feed::json::{placeholder, stamp};
use crate::feed::scan::{Cursor, first_time, keep_if_accepted};
use crate::feed::symbols::SymbolMap;
use crate::types::{EventBody, FundingFields, Price, Qty, Rate, Side};

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
    out.push(placeholder(ts_recv_raw)).ok()?;
    let mut c = Cursor::new(frame);
    let f = if frame.starts_with(b"{\"stream\":\"") {
        c.lit(b"{\"stream\":")?;
        c.string()?;
        c.lit(b",\"data\":")?;
        let f = message(&mut c, symbols, out)?;
        c.lit(b"}")?;
        f
    } else {
        message(&mut c, symbols, out)?
    };
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
        Kind::Trade | Kind::AggTrade if f.level_arrays == 0 => EventBody::Trade {
            price: f.p?,
            qty: f.q?,
            aggressor: if f.buyer_is_maker? {
                Side::Ask
            } else {
                Side::Bid
            },
            trade_id: if f.kind == Kind::Trade {
                f.trade_id?
            } else {
                // Old aggTrade messages carry no `a`; `f` (its first trade) stands in.
                f.agg_id.or(f.first_trade_id)?
            },
        },
        Kind::MarkPrice if f.level_arrays == 0 => {
            let mut fields = FundingFields::MARK;
            for (present, field) in [
                (f.index.is_some(), FundingFields::INDEX),
                (f.rate.is_some(), FundingFields::RATE),
                (f.t_upper.is_some(), FundingFields::NEXT_FUNDING),
            ] {
                if present {
                    fields = fields.with(field);
                }
            }
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
    stamp(
        out,
        start,
        ts_recv_raw,
        f.event_ms.unwrap_or(0),
        f.instrument?,
    );
    out.tail_mut(start)[0].body = body;
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
    instrument: Option<crate::types::InstrumentId>,
    first_id: Option<u64>,
    last_id: Option<u64>,
    prev_id: Option<u64>,
    bid: Option<Price>,
    bid_qty: Option<Qty>,
    ask: Option<Price>,
    ask_qty: Option<Qty>,
    levels: usize,
    level_arrays: u8,
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

/// Keys this scanner reads, each at most once: its bit in the seen-set.
fn key_bit(key: &[u8]) -> Option<u32> {
    let index = match key {
        b"e" => 0,
        b"E" => 1,
        b"T" => 2,
        b"s" => 3,
        b"U" => 4,
        b"u" => 5,
        b"pu" => 6,
        b"b" => 7,
        b"B" => 8,
        b"a" => 9,
        b"A" => 10,
        b"ps" => 11,
        b"t" => 12,
        b"p" => 13,
        b"q" => 14,
        b"m" => 15,
        b"M" => 16,
        b"f" => 17,
        b"l" => 18,
        b"i" => 19,
        b"r" => 20,
        b"P" => 21,
        b"X" => 22,
        _ => return None,
    };
    Some(1 << index)
}

/// One message object: `{"k":v,...}` with the keys of [`key_bit`], each at most once.
/// `b`/`a` are a price string (`bookTicker`) or a level array (`depthUpdate`), and `a`
/// is the aggregate trade id (a number) in `aggTrade`; as the generic decoder reads them.
fn message(c: &mut Cursor<'_>, symbols: &SymbolMap, out: &mut EventBuf) -> Option<Fields> {
    let mut f = Fields::default();
    let mut seen = 0u32;
    c.members(|c, key| {
        first_time(&mut seen, key_bit(key)?)?;
        match key {
            b"e" => {
                f.kind = match c.string()? {
                    b"depthUpdate" => Kind::DepthUpdate,
                    b"bookTicker" => Kind::BookTicker,
                    b"trade" => Kind::Trade,
                    b"aggTrade" => Kind::AggTrade,
                    b"markPriceUpdate" => Kind::MarkPrice,
                    _ => return None,
                }
            }
            b"E" => f.event_ms = Some(c.uint()?),
            b"T" => f.t_upper = Some(c.uint()?),
            b"s" => {
                let symbol = std::str::from_utf8(c.string()?).ok()?;
                f.instrument = Some(symbols.get(symbol)?);
            }
            b"U" => f.first_id = Some(c.uint()?),
            b"u" => f.last_id = Some(c.uint()?),
            b"pu" => f.prev_id = Some(c.uint()?),
            b"b" | b"a" => {
                let side = if key == b"b" { Side::Bid } else { Side::Ask };
                match c.peek()? {
                    b'[' => {
                        f.levels += c.levels(side, false, out)?;
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
            b"B" => f.bid_qty = Some(c.decimal::<Qty>()?),
            b"A" => f.ask_qty = Some(c.decimal::<Qty>()?),
            b"t" => f.trade_id = Some(c.uint()?),
            b"p" => f.p = Some(c.decimal::<Price>()?),
            b"q" => f.q = Some(c.decimal::<Qty>()?),
            b"m" => f.buyer_is_maker = Some(c.boolean()?),
            b"M" => {
                c.boolean()?;
            }
            b"f" => f.first_trade_id = Some(c.uint()?),
            b"l" => {
                c.uint()?;
            }
            b"i" => f.index = Some(c.decimal::<Price>()?),
            b"r" => f.rate = Some(c.decimal::<Rate>()?),
            _ => {
                // `ps` (futures pair), `P` (estimated settle price), `X` (futures trade
                // type): strings, not kept.
                c.string()?;
            }
        }
        Some(())
    })?;
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::scan::run_fast;
    use crate::types::{InstrumentId, MarketEvent};

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
