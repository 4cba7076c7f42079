//! The Bybit fast path: a schema-specific scanner for `orderbook.{N}.{SYM}` snapshots and
//! deltas (the venue's hot stream, and its top of book by default), writing fixed-point
//! events straight into the caller's [`EventBuf`].
//!
//! Accepts only what it fully understands and declines everything else (`None`), so the
//! generic decoder in [`super::decode`] stays the judge of every other message and of
//! every error: keys `topic`, `type`, `ts`, `cts` and `data` (`s`, `b`, `a`, `u`, `seq`)
//! in any order, each at most once, `topic` before `data`, under the strict reading of
//! [`crate::feed::scan`]. What it accepts decodes to exactly the generic decoder's events
//! (checked on every real Bybit book message in `../shared/data`, and by fuzzing). Runs on
//! the feed thread; no allocation.

use crate::feed::decode::Decoded;
use crate::feed::event_buf::EventBuf;
use crate::feed::json::{placeholder, stamp};
use crate::feed::scan::{Cursor, first_time, keep_if_accepted};
use crate::feed::symbols::SymbolMap;
use crate::types::{EventBody, InstrumentId, Side};

/// Decodes `frame` if it is an order book message this scanner fully understands;
/// `None` (with `out` as it was) otherwise.
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

const TOPIC: u32 = 1;
const TYPE: u32 = 1 << 1;
const TS: u32 = 1 << 2;
const CTS: u32 = 1 << 3;
const DATA: u32 = 1 << 4;

fn scan(
    symbols: &SymbolMap,
    frame: &[u8],
    ts_recv_raw: u64,
    out: &mut EventBuf,
    start: usize,
) -> Option<Decoded> {
    out.push(placeholder(ts_recv_raw)).ok()?;
    let mut c = Cursor::new(frame);
    let (mut seen, mut snapshot, mut ts_ms, mut book) = (0u32, None, None, None);
    c.lit(b"{\"")?;
    loop {
        let bit = match c.key()? {
            b"topic" => TOPIC,
            b"type" => TYPE,
            b"ts" => TS,
            b"cts" => CTS,
            b"data" => DATA,
            _ => return None,
        };
        if bit == DATA && seen & TOPIC == 0 {
            return None;
        }
        first_time(&mut seen, bit)?;
        match bit {
            TOPIC => {
                let topic = c.string()?;
                if !(topic == b"orderbook" || topic.starts_with(b"orderbook.")) {
                    return None;
                }
            }
            TYPE => {
                snapshot = Some(match c.string()? {
                    b"snapshot" => true,
                    b"delta" => false,
                    _ => return None,
                });
            }
            TS => ts_ms = Some(c.uint()?),
            CTS => {
                c.uint()?;
            }
            _ => book = Some(data(&mut c, symbols, out)?),
        }
        if !c.more_keys()? {
            break;
        }
    }
    c.end()?;
    let (instrument, update_id, levels) = book?;
    stamp(out, start, ts_recv_raw, ts_ms?, instrument);
    out.tail_mut(start)[0].body = EventBody::DepthBegin {
        first_update_id: update_id,
        last_update_id: update_id,
        prev_update_id: 0,
        levels: u16::try_from(levels).ok()?,
        snapshot: snapshot?,
        checksum: None,
    };
    Some(Decoded::Events(out.len() - start))
}

/// `data`: `{"s":..,"b":[..],"a":[..],"u":..,"seq":..}` in any order; the levels are
/// pushed as they come. Returns the instrument, `u` and the level count.
fn data(
    c: &mut Cursor<'_>,
    symbols: &SymbolMap,
    out: &mut EventBuf,
) -> Option<(InstrumentId, u64, usize)> {
    const S: u32 = 1;
    const B: u32 = 1 << 1;
    const A: u32 = 1 << 2;
    const U: u32 = 1 << 3;
    const SEQ: u32 = 1 << 4;
    let (mut seen, mut instrument, mut update_id, mut levels) = (0u32, None, None, 0);
    c.lit(b"{\"")?;
    loop {
        let bit = match c.key()? {
            b"s" => S,
            b"b" => B,
            b"a" => A,
            b"u" => U,
            b"seq" => SEQ,
            _ => return None,
        };
        first_time(&mut seen, bit)?;
        match bit {
            S => instrument = Some(symbols.get(std::str::from_utf8(c.string()?).ok()?)?),
            B => levels += c.levels(Side::Bid, false, out)?,
            A => levels += c.levels(Side::Ask, false, out)?,
            U => update_id = Some(c.uint()?),
            _ => {
                c.uint()?;
            }
        }
        if !c.more_keys()? {
            return Some((instrument?, update_id?, levels));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::scan::run_fast;
    use crate::types::{MarketEvent, Price, Qty};

    fn run(frame: &str) -> Option<Vec<MarketEvent>> {
        run_fast(decode, "BTCUSDT", InstrumentId(2), frame)
    }

    #[test]
    fn test_delta_in_either_key_order() {
        for frame in [
            r#"{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1786310818129,"data":{"s":"BTCUSDT","b":[["65114.2","0"]],"a":[["65114.3","1.5"]],"u":42,"seq":9},"cts":1786310818120}"#,
            r#"{"topic":"orderbook.200.BTCUSDT","ts":1786310818129,"type":"delta","data":{"s":"BTCUSDT","b":[["65114.2","0"]],"a":[["65114.3","1.5"]],"u":42,"seq":9},"cts":1786310818120}"#,
        ] {
            let events = run(frame).unwrap();
            assert_eq!(events.len(), 3);
            assert_eq!(
                events[0].body,
                EventBody::DepthBegin {
                    first_update_id: 42,
                    last_update_id: 42,
                    prev_update_id: 0,
                    levels: 2,
                    snapshot: false,
                    checksum: None
                }
            );
            assert!(events.iter().all(|e| e.ts_venue_ms == 1_786_310_818_129
                && e.instrument == InstrumentId(2)
                && e.ts_recv_raw == 4));
            assert_eq!(
                events[2].body,
                EventBody::DepthLevel {
                    side: Side::Ask,
                    price: Price::from_decimal_str("65114.3").unwrap(),
                    qty: Qty::from_decimal_str("1.5").unwrap()
                }
            );
        }
    }

    #[test]
    fn test_declines_what_it_does_not_fully_understand() {
        for frame in [
            r#"{"data":{"s":"BTCUSDT","b":[],"a":[],"u":1,"seq":9},"topic":"orderbook.1.BTCUSDT","type":"delta","ts":1}"#,
            r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[]}"#,
            r#"{"topic":"orderbook.1.BTCUSDT","type":"partial","ts":1,"data":{"s":"BTCUSDT","b":[],"a":[],"u":1}}"#,
            r#"{"topic":"orderbook.1.BTCUSDT","type":"delta","data":{"s":"BTCUSDT","b":[],"a":[],"u":1}}"#,
            r#"{"topic":"orderbook.1.BTCUSDT","type":"delta","ts":1,"data":{"s":"BTCUSDT","b":[["1","2","3"]],"a":[],"u":1}}"#,
            r#"{"topic":"orderbook.1.BTCUSDT","type":"delta","ts":1,"data":{"s":"ETHUSDT","b":[],"a":[],"u":1}}"#,
            r#"{"success":true,"ret_msg":"","op":"subscribe","conn_id":"x"}"#,
        ] {
            assert_eq!(run(frame), None, "{frame}");
        }
    }
}
