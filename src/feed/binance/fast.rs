//! The Binance fast path: a schema-specific scanner for the two hot message types,
//! `bookTicker` and `depthUpdate` (spot and futures, raw or in the combined-stream
//! envelope), writing fixed-point events straight into the caller's [`EventBuf`].
//!
//! It accepts only what it fully understands and declines everything else (returns
//! `None`), so the generic sonic-rs decoder in [`super::decode`] stays the one judge of
//! every other message and of every error. "Understands" is strict: an object of known
//! keys in any order, each at most once, no whitespace, strings of printable ASCII with no
//! escapes, JSON integers without leading zeros, nothing after the closing brace. A frame
//! it accepts is therefore valid JSON that the generic decoder reads to the same events;
//! `tests/binance_fast_path.rs` checks exactly that on every real Binance message in
//! `../shared/data` and on mutated ones. Runs on the feed thread; no allocation.

use crate::feed::decode::Decoded;
use crate::feed::event_buf::EventBuf;
use crate::feed::json::{placeholder, stamp};
use crate::feed::scan::{Cursor, first_time, keep_if_accepted};
use crate::feed::symbols::SymbolMap;
use crate::types::{EventBody, Price, Qty, Side};

/// Decodes `frame` if it is a `bookTicker` or `depthUpdate` this scanner fully
/// understands; `None` (with `out` as it was) otherwise.
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
}

#[derive(Default)]
struct Fields {
    kind: Kind,
    event_ms: Option<u64>,
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
}

/// Keys this scanner reads (bit positions of the seen-set).
const E_LOWER: u16 = 1;
const E_UPPER: u16 = 1 << 1;
const T_UPPER: u16 = 1 << 2;
const S_LOWER: u16 = 1 << 3;
const U_UPPER: u16 = 1 << 4;
const U_LOWER: u16 = 1 << 5;
const PU: u16 = 1 << 6;
const B_LOWER: u16 = 1 << 7;
const B_UPPER: u16 = 1 << 8;
const A_LOWER: u16 = 1 << 9;
const A_UPPER: u16 = 1 << 10;
const PS: u16 = 1 << 11;

/// One message object: `{"k":v,...}` with the keys above, each at most once.
fn message(c: &mut Cursor<'_>, symbols: &SymbolMap, out: &mut EventBuf) -> Option<Fields> {
    let mut f = Fields::default();
    let mut seen = 0u16;
    c.lit(b"{\"")?;
    loop {
        let key = c.key()?;
        let bit = match key {
            b"e" => E_LOWER,
            b"E" => E_UPPER,
            b"T" => T_UPPER,
            b"s" => S_LOWER,
            b"U" => U_UPPER,
            b"u" => U_LOWER,
            b"pu" => PU,
            b"b" => B_LOWER,
            b"B" => B_UPPER,
            b"a" => A_LOWER,
            b"A" => A_UPPER,
            b"ps" => PS,
            _ => return None,
        };
        first_time(&mut seen, bit)?;
        match bit {
            E_LOWER => {
                f.kind = match c.string()? {
                    b"depthUpdate" => Kind::DepthUpdate,
                    b"bookTicker" => Kind::BookTicker,
                    _ => return None,
                }
            }
            E_UPPER => f.event_ms = Some(c.uint()?),
            T_UPPER => {
                c.uint()?;
            }
            S_LOWER => {
                let symbol = std::str::from_utf8(c.string()?).ok()?;
                f.instrument = Some(symbols.get(symbol)?);
            }
            U_UPPER => f.first_id = Some(c.uint()?),
            U_LOWER => f.last_id = Some(c.uint()?),
            PU => f.prev_id = Some(c.uint()?),
            B_LOWER | A_LOWER => {
                let side = if bit == B_LOWER { Side::Bid } else { Side::Ask };
                if c.peek()? == b'[' {
                    f.levels += c.levels(side, out)?;
                    f.level_arrays += 1;
                } else {
                    let price = c.decimal(Price::from_decimal_bytes)?;
                    f.string_prices += 1;
                    match side {
                        Side::Bid => f.bid = Some(price),
                        Side::Ask => f.ask = Some(price),
                    }
                }
            }
            B_UPPER => f.bid_qty = Some(c.decimal(Qty::from_decimal_bytes)?),
            A_UPPER => f.ask_qty = Some(c.decimal(Qty::from_decimal_bytes)?),
            _ => {
                c.string()?;
            }
        }
        if !c.more_keys()? {
            return Some(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::scan::accepted_events;
    use crate::types::{InstrumentId, MarketEvent};

    fn symbols() -> SymbolMap {
        let mut s = SymbolMap::default();
        s.insert("BTCUSDT", InstrumentId(3));
        s
    }

    fn run(frame: &str) -> Option<Vec<MarketEvent>> {
        let mut out = EventBuf::with_capacity(16);
        let decoded = decode(&symbols(), frame.as_bytes(), 9, &mut out);
        accepted_events(decoded, &out)
    }

    #[test]
    fn test_spot_book_ticker_in_envelope() {
        let events = run(r#"{"stream":"btcusdt@bookTicker","data":{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}"#).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].instrument, InstrumentId(3));
        assert_eq!(events[0].ts_recv_raw, 9);
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
            r#"{"e":"trade","E":1,"s":"BTCUSDT","t":1,"p":"1","q":"1","m":true}"#,
            r#"{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":"1","a":[]}"#,
            r#"{"u":18446744073709551616,"s":"BTCUSDT","b":"1","B":"1","a":"2","A":"1"}"#,
            r#"{"result":null,"id":1}"#,
            "",
        ] {
            assert_eq!(run(frame), None, "{frame}");
        }
    }
}
