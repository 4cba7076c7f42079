//! The OKX fast path: a schema-specific scanner for the hot pushes, `books`,
//! `books-l2-tbt`, `books50-l2-tbt` (snapshot and update), `books5`, `bbo-tbt` and
//! `trades`, writing fixed-point events straight into the caller's [`EventBuf`].
//!
//! Accepts only what it fully understands and declines everything else (`None`), so the
//! generic decoder in [`super::decode`] stays the judge of every other message and of
//! every error: top-level keys `arg` (`channel`, `instId`), `action` and `data`, in any
//! order except that `arg` comes before `data` and, on the book channels with `action`,
//! `action` too; each key at most once; the element keys of the channel (`instId` inside
//! an element is skipped, as the generic decoder does), under the strict reading of
//! [`crate::feed::scan`] (a `trades` push, and each trade, are read first in the key
//! order the venue sends, as one literal sequence, then member by member when that
//! fails). What it accepts decodes to exactly the generic decoder's events,
//! sequencing fields included (`seqId`, `prevSeqId` with -1 read as 0, `checksum` as a
//! signed 32-bit integer); `tests/fast_paths.rs` checks that on every real OKX message in
//! `../shared/data`. Runs on the feed thread; no allocation.

use crate::feed::decode::Decoded;
use crate::feed::event_buf::EventBuf;
use crate::feed::json::{placeholder, stamp};
use crate::feed::scan::{Cursor, Stamp, first_time, keep_if_accepted};
use crate::feed::symbols::SymbolMap;
use crate::types::{EventBody, InstrumentId, MarketEvent, Price, Qty, Side};

/// Decodes `frame` if it is a push this scanner fully understands; `None` (with `out` as
/// it was) otherwise.
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

/// The channels this scanner reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    /// `books`, `books-l2-tbt`, `books50-l2-tbt`: `snapshot` from `action`.
    Books,
    /// `books5`: always a snapshot.
    Books5,
    /// `bbo-tbt`.
    Bbo,
    /// `trades`.
    Trades,
}

/// What every element of one push is read with.
#[derive(Clone, Copy)]
struct Push {
    channel: Channel,
    instrument: InstrumentId,
    ts_recv_raw: u64,
}

fn scan(
    symbols: &SymbolMap,
    frame: &[u8],
    ts_recv_raw: u64,
    out: &mut EventBuf,
    start: usize,
) -> Option<Decoded> {
    if let Some(decoded) = trades_in_order(symbols, frame, ts_recv_raw, out, start) {
        return Some(decoded);
    }
    out.truncate(start);
    scan_any_order(symbols, frame, ts_recv_raw, out, start)
}

/// A `trades` push in the venue's key order, exactly:
/// `{"arg":{"channel":"trades","instId":..},"data":[..]}`, read as one literal sequence
/// (each trade as [`trade`] reads it); `None` for anything else, with events of the frame
/// possibly left in `out` (the caller drops them).
fn trades_in_order(
    symbols: &SymbolMap,
    frame: &[u8],
    ts_recv_raw: u64,
    out: &mut EventBuf,
    start: usize,
) -> Option<Decoded> {
    let mut c = Cursor::new(frame);
    c.lit(b"{\"arg\":{\"channel\":\"trades\",\"instId\":")?;
    let instrument = symbols.get_bytes(c.string()?)?;
    c.lit(b"},\"data\":")?;
    c.items(|c| {
        let (ts_venue_ms, body) = trade(c)?;
        out.push(MarketEvent {
            ts_recv_raw,
            ts_venue_ms,
            instrument,
            body,
        })
        .ok()
    })?;
    c.lit(b"}")?;
    c.end()?;
    Some(Decoded::Events(out.len() - start))
}

/// The push member by member: its keys in any order (`arg` before `data`).
fn scan_any_order(
    symbols: &SymbolMap,
    frame: &[u8],
    ts_recv_raw: u64,
    out: &mut EventBuf,
    start: usize,
) -> Option<Decoded> {
    let mut c = Cursor::new(frame);
    let (mut seen, mut push, mut action) = (0u32, None, None);
    c.members(|c, key| {
        match key {
            b"arg" => {
                first_time(&mut seen, 1)?;
                let (channel, instrument) = arg(c, symbols)?;
                push = Some(Push {
                    channel,
                    instrument,
                    ts_recv_raw,
                });
            }
            b"action" => {
                first_time(&mut seen, 1 << 1)?;
                action = Some(c.string()?);
            }
            b"data" => {
                first_time(&mut seen, 1 << 2)?;
                let push = push?;
                let snapshot = match (push.channel, action) {
                    (Channel::Books, Some(b"snapshot")) => true,
                    (Channel::Books, Some(b"update")) => false,
                    (Channel::Books, _) => return None,
                    _ => true,
                };
                c.items(|c| element(c, push, snapshot, out))?;
            }
            _ => return None,
        }
        Some(())
    })?;
    c.end()?;
    (seen & (1 << 2) != 0).then(|| Decoded::Events(out.len() - start))
}

/// `arg`: `{"channel":..,"instId":..}` in either order, the channel one of this scanner's
/// and the instrument configured.
fn arg(c: &mut Cursor<'_>, symbols: &SymbolMap) -> Option<(Channel, InstrumentId)> {
    let (mut seen, mut channel, mut instrument) = (0u32, None, None);
    c.members(|c, key| {
        match key {
            b"channel" => {
                first_time(&mut seen, 1)?;
                channel = Some(match c.string()? {
                    b"books" | b"books-l2-tbt" | b"books50-l2-tbt" => Channel::Books,
                    b"books5" => Channel::Books5,
                    b"bbo-tbt" => Channel::Bbo,
                    b"trades" => Channel::Trades,
                    _ => return None,
                });
            }
            b"instId" => {
                first_time(&mut seen, 1 << 1)?;
                instrument = Some(symbols.get_bytes(c.string()?)?);
            }
            _ => return None,
        }
        Some(())
    })?;
    Some((channel?, instrument?))
}

/// One element of `data`, appended as its events and stamped with its own `ts`.
fn element(c: &mut Cursor<'_>, push: Push, snapshot: bool, out: &mut EventBuf) -> Option<()> {
    let at = out.len();
    let ts = match push.channel {
        Channel::Books | Channel::Books5 => book(c, snapshot, push.ts_recv_raw, out)?,
        Channel::Bbo => {
            let (ts, top) = bbo(c)?;
            if let Some(body) = top {
                push_body(out, body, push.ts_recv_raw)?;
            }
            ts
        }
        Channel::Trades => {
            let (ts, body) = trade(c)?;
            push_body(out, body, push.ts_recv_raw)?;
            ts
        }
    };
    stamp(out, at, push.ts_recv_raw, ts, push.instrument);
    Some(())
}

fn push_body(out: &mut EventBuf, body: EventBody, ts_recv_raw: u64) -> Option<()> {
    out.push(MarketEvent {
        body,
        ..placeholder(ts_recv_raw)
    })
    .ok()
}

/// A book element: `asks`, `bids` (levels pushed as sent), `ts`, `checksum`, `seqId`,
/// `prevSeqId`; the header is written in front of its levels. Returns `ts`.
fn book(c: &mut Cursor<'_>, snapshot: bool, ts_recv_raw: u64, out: &mut EventBuf) -> Option<u64> {
    let at = out.len();
    out.push(placeholder(ts_recv_raw)).ok()?;
    let mut seen = 0u32;
    let (mut ts, mut checksum, mut seq_id, mut prev_seq_id, mut levels) = (None, None, 0, 0, 0);
    c.members(|c, key| {
        match key {
            b"asks" => {
                first_time(&mut seen, 1)?;
                levels += c.levels(Side::Ask, true, Stamp::default(), out)?;
            }
            b"bids" => {
                first_time(&mut seen, 1 << 1)?;
                levels += c.levels(Side::Bid, true, Stamp::default(), out)?;
            }
            b"ts" => {
                first_time(&mut seen, 1 << 2)?;
                ts = Some(c.quoted_u64()?);
            }
            b"checksum" => {
                first_time(&mut seen, 1 << 3)?;
                checksum = Some(i32::try_from(c.int()?).ok()?);
            }
            b"seqId" => {
                first_time(&mut seen, 1 << 4)?;
                seq_id = c.uint()?;
            }
            b"prevSeqId" => {
                first_time(&mut seen, 1 << 5)?;
                // NB: OKX sends prevSeqId -1 on the first snapshot after subscribing.
                prev_seq_id = match c.int()? {
                    -1 => 0,
                    prev => u64::try_from(prev).ok()?,
                };
            }
            b"instId" => instrument_echo(c, &mut seen)?,
            _ => return None,
        }
        Some(())
    })?;
    out.tail_mut(at)[0].body = EventBody::DepthBegin {
        first_update_id: seq_id,
        last_update_id: seq_id,
        prev_update_id: prev_seq_id,
        levels: u16::try_from(levels).ok()?,
        snapshot,
        checksum,
    };
    ts
}

/// The element's own `instId`, which repeats `arg.instId` and is not read.
fn instrument_echo(c: &mut Cursor<'_>, seen: &mut u32) -> Option<()> {
    first_time(seen, 1 << 15)?;
    c.string().map(|_| ())
}

/// A `bbo-tbt` element: `ts`, and the top of book when both sides have a level.
fn bbo(c: &mut Cursor<'_>) -> Option<(u64, Option<EventBody>)> {
    let (mut seen, mut ts, mut bid, mut ask) = (0u32, None, None, None);
    c.members(|c, key| {
        match key {
            b"asks" => {
                first_time(&mut seen, 1)?;
                ask = Some(best(c)?);
            }
            b"bids" => {
                first_time(&mut seen, 1 << 1)?;
                bid = Some(best(c)?);
            }
            b"ts" => {
                first_time(&mut seen, 1 << 2)?;
                ts = Some(c.quoted_u64()?);
            }
            b"instId" => instrument_echo(c, &mut seen)?,
            _ => return None,
        }
        Some(())
    })?;
    let ts = ts?;
    let top = bid?
        .zip(ask?)
        .map(|((bid, bid_qty), (ask, ask_qty))| EventBody::TopOfBook {
            bid,
            bid_qty,
            ask,
            ask_qty,
            update_id: ts,
        });
    Some((ts, top))
}

/// A side of `bbo-tbt`: its first level (`None` when empty); every level must be valid.
fn best(c: &mut Cursor<'_>) -> Option<Option<(Price, Qty)>> {
    let mut first = None;
    c.items(|c| {
        let level = c.level(true)?;
        first.get_or_insert(level);
        Some(())
    })?;
    Some(first)
}

/// A `trades` element: `tradeId` (a non-numeric id is 0), `px`, `sz`, `side`, `ts`, and
/// the skipped `instId`. In the venue's key order (`instId`, `tradeId`, `px`, `sz`,
/// `side`, `ts`) read as one literal sequence ([`trade_in_order`]), else member by member
/// in any order. Returns `ts` and the trade.
fn trade(c: &mut Cursor<'_>) -> Option<(u64, EventBody)> {
    let saved = *c;
    trade_in_order(c).or_else(|| {
        *c = saved;
        trade_any_order(c)
    })
}

/// [`trade`] in the venue's key order, exactly; `None` for anything else.
#[inline]
fn trade_in_order(c: &mut Cursor<'_>) -> Option<(u64, EventBody)> {
    c.lit(b"{\"instId\":")?;
    c.string()?;
    c.lit(b",\"tradeId\":")?;
    let trade_id = trade_id(c)?;
    c.lit(b",\"px\":")?;
    let price = c.decimal::<Price>()?;
    c.lit(b",\"sz\":")?;
    let qty = c.decimal::<Qty>()?;
    c.lit(b",\"side\":")?;
    let aggressor = aggressor(c)?;
    c.lit(b",\"ts\":")?;
    let ts = c.quoted_u64()?;
    c.lit(b"}")?;
    let body = EventBody::Trade {
        price,
        qty,
        aggressor,
        trade_id,
    };
    Some((ts, body))
}

/// [`trade`] member by member, its keys in any order, each at most once.
fn trade_any_order(c: &mut Cursor<'_>) -> Option<(u64, EventBody)> {
    let mut seen = 0u32;
    let (mut ts, mut trade_id_read, mut price, mut qty, mut aggressor_read) =
        (None, None, None, None, None);
    c.members(|c, key| {
        match key {
            b"tradeId" => {
                first_time(&mut seen, 1)?;
                trade_id_read = Some(trade_id(c)?);
            }
            b"px" => {
                first_time(&mut seen, 1 << 1)?;
                price = Some(c.decimal::<Price>()?);
            }
            b"sz" => {
                first_time(&mut seen, 1 << 2)?;
                qty = Some(c.decimal::<Qty>()?);
            }
            b"side" => {
                first_time(&mut seen, 1 << 3)?;
                aggressor_read = Some(aggressor(c)?);
            }
            b"ts" => {
                first_time(&mut seen, 1 << 4)?;
                ts = Some(c.quoted_u64()?);
            }
            b"instId" => instrument_echo(c, &mut seen)?,
            _ => return None,
        }
        Some(())
    })?;
    let body = EventBody::Trade {
        price: price?,
        qty: qty?,
        aggressor: aggressor_read?,
        trade_id: trade_id_read?,
    };
    Some((ts?, body))
}

/// A trade's `tradeId` as the generic decoder reads it: a plain string, its value when
/// `str::parse::<u64>` reads it, else 0 ([`Cursor::quoted_u64`] first, which reads the
/// same, then the string).
fn trade_id(c: &mut Cursor<'_>) -> Option<u64> {
    let saved = *c;
    if let Some(id) = c.quoted_u64() {
        return Some(id);
    }
    *c = saved;
    let id = std::str::from_utf8(c.string()?).ok()?;
    Some(id.parse().unwrap_or(0))
}

/// A trade's `side`: `buy` (the buyer took) or `sell`.
fn aggressor(c: &mut Cursor<'_>) -> Option<Side> {
    match c.string()? {
        b"buy" => Some(Side::Bid),
        b"sell" => Some(Side::Ask),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::scan::{px, qty, run_fast};

    const SPOT: InstrumentId = InstrumentId(3);

    fn run(frame: &str) -> Option<Vec<MarketEvent>> {
        run_fast(decode, "BTC-USDT", SPOT, frame)
    }

    #[test]
    fn test_books_snapshot_with_sequence_and_checksum() {
        let events = run(r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[["8476.98","415","0","13"],["8477","7","0","2"]],"bids":[["8476.97","256","0","12"]],"ts":"1597026383085","checksum":-855196043,"prevSeqId":-1,"seqId":123456}]}"#).unwrap();
        assert_eq!(events.len(), 4);
        assert_eq!(
            events[0].body,
            EventBody::DepthBegin {
                first_update_id: 123456,
                last_update_id: 123456,
                prev_update_id: 0,
                levels: 3,
                snapshot: true,
                checksum: Some(-855196043),
            }
        );
        assert_eq!(
            events[3].body,
            EventBody::DepthLevel {
                side: Side::Bid,
                price: px("8476.97"),
                qty: qty("256")
            }
        );
        assert!(
            events.iter().all(|e| e.instrument == SPOT
                && e.ts_venue_ms == 1597026383085
                && e.ts_recv_raw == 4)
        );
    }

    #[test]
    fn test_bbo_trades_and_one_sided_bbo() {
        let events = run(r#"{"arg":{"channel":"bbo-tbt","instId":"BTC-USDT"},"data":[{"asks":[["31774.7","0.14368878","0","3"]],"bids":[["31774.6","0.3392211","0","3"]],"ts":"1654032991947"}]}"#).unwrap();
        assert_eq!(
            events[0].body,
            EventBody::TopOfBook {
                bid: px("31774.6"),
                bid_qty: qty("0.3392211"),
                ask: px("31774.7"),
                ask_qty: qty("0.14368878"),
                update_id: 1654032991947,
            }
        );
        let events = run(r#"{"arg":{"channel":"bbo-tbt","instId":"BTC-USDT"},"data":[{"asks":[["1","8","0","1"]],"bids":[],"ts":"1"}]}"#).unwrap();
        assert!(events.is_empty());
        let events = run(r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"314161276","px":"43474.1","sz":"0.00373695","side":"buy","ts":"1646311839593"},{"instId":"BTC-USDT","tradeId":"x","px":"1","sz":"1","side":"sell","ts":"1646311839594"}]}"#).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[1].body,
            EventBody::Trade {
                price: px("1"),
                qty: qty("1"),
                aggressor: Side::Ask,
                trade_id: 0
            }
        );
        assert_eq!(events[1].ts_venue_ms, 1646311839594);
    }

    #[test]
    fn test_trades_in_any_key_order() {
        let in_order = r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"338476307","px":"30236","sz":"0.0002","side":"buy","ts":"1652459224818"}]}"#;
        let want = run(in_order).unwrap();
        assert_eq!(
            want,
            [MarketEvent {
                ts_recv_raw: 4,
                ts_venue_ms: 1652459224818,
                instrument: SPOT,
                body: EventBody::Trade {
                    price: px("30236"),
                    qty: qty("0.0002"),
                    aggressor: Side::Bid,
                    trade_id: 338476307,
                },
            }]
        );
        for frame in [
            r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"ts":"1652459224818","side":"buy","sz":"0.0002","px":"30236","tradeId":"338476307","instId":"BTC-USDT"}]}"#,
            r#"{"arg":{"instId":"BTC-USDT","channel":"trades"},"data":[{"instId":"BTC-USDT","tradeId":"338476307","px":"30236","sz":"0.0002","side":"buy","ts":"1652459224818"}]}"#,
            r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"tradeId":"338476307","px":"30236","sz":"0.0002","side":"buy","ts":"1652459224818"}]}"#,
        ] {
            assert_eq!(run(frame).as_deref(), Some(&want[..]), "{frame}");
        }
        let odd_id = r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"+7","px":"1","sz":"1","side":"sell","ts":"1"},{"instId":"BTC-USDT","tradeId":"","px":"1","sz":"1","side":"sell","ts":"1"}]}"#;
        let ids: Vec<_> = run(odd_id)
            .unwrap()
            .iter()
            .map(|e| match e.body {
                EventBody::Trade { trade_id, .. } => trade_id,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(ids, [7, 0]);
    }

    #[test]
    fn test_declines_what_it_does_not_fully_understand() {
        let update = r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[["1","0","0","0"]],"ts":"1","checksum":5}]}"#;
        assert!(run(update).is_some());
        for frame in [
            r#"{"data":[{"asks":[],"bids":[],"ts":"1"}],"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update"}"#,
            r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"data":[{"asks":[],"bids":[],"ts":"1"}]}"#,
            r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"partial","data":[{"asks":[],"bids":[],"ts":"1"}]}"#,
            r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1","checksum":4294967295}]}"#,
            r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1","prevSeqId":-2}]}"#,
            r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1","checksum":-0}]}"#,
            r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[],"bids":[]}]}"#,
            r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[[1.5,"1"]],"bids":[],"ts":"1"}]}"#,
            r#"{"arg":{"channel":"books","instId":"ETH-USDT"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1"}]}"#,
            r#"{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"last":"1"}]}"#,
            r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"tradeId":"1","px":"1","sz":"1","side":"up","ts":"1"}]}"#,
            r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"1","px":"1","sz":"1","side":"buy","ts":"1","count":"1"}]}"#,
            r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"1\u0030","px":"1","sz":"1","side":"buy","ts":"1"}]}"#,
            r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"1","px":"1","sz":"1","side":"buy","ts":"1"}],"data":[]}"#,
            r#"{"arg":{"channel":"bbo-tbt","instId":"BTC-USDT"},"data":[{"asks":[["1","1"]],"ts":"1"}]}"#,
            r#"{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"}}"#,
            "pong",
        ] {
            assert_eq!(run(frame), None, "{frame}");
        }
    }
}
