//! The Bybit fast path: a schema-specific scanner for the hot topics, `orderbook.{N}.{SYM}`
//! snapshots and deltas (the venue's hot stream, and its top of book by default),
//! `publicTrade.{SYM}` and `tickers.{SYM}`, writing fixed-point events straight into the
//! caller's [`EventBuf`].
//!
//! Accepts only what it fully understands and declines everything else (`None`), so the
//! generic decoder in [`super::decode`] stays the judge of every other message and of
//! every error: keys `topic`, `type` (`snapshot` or `delta`), `ts`, `cts`, `cs` and
//! `data` in any order, each at most once, `topic` before `data`, under the strict
//! reading of [`crate::feed::scan`] (the envelope, and each trade, are read first in the
//! key order the venue sends, as one literal sequence, then member by member when that
//! fails). `data` of `orderbook`: `s`, `b`, `a`, `u`, `seq`; of
//! `publicTrade`: an array of trades with `T`, `s`, `S`, `v`, `p`, `i` and the skipped
//! `L`, `BT`, `RPI`, `seq`; of `tickers`: `symbol` and the five fields the generic
//! decoder reads, every other member a plain string, skipped (each key matched first
//! as a literal among the keys the venue sends, then read and checked; on a spot
//! connection, whose tickers carry no funding, the whole message is read and is
//! `Unknown`, as the generic decoder has it). What it accepts decodes to exactly the
//! generic decoder's outcome and events (checked on every real Bybit message in
//! `../shared/data`, and by fuzzing). Runs on the feed thread; no allocation.

use crate::feed::bybit::decode::{numeric_id_bytes, ticker_events};
use crate::feed::decode::Decoded;
use crate::feed::event_buf::EventBuf;
use crate::feed::json::{placeholder, stamp};
use crate::feed::scan::{Cursor, Stamp, first_time, is_plain, keep_if_accepted};
use crate::feed::symbols::SymbolMap;
use crate::types::{EventBody, InstrumentId, MarketEvent, MarketKind, Price, Qty, Rate, Side};

/// Decodes `frame`, received on a `kind` connection, if it is an order book, trade or
/// ticker message this scanner fully understands; `None` (with `out` as it was)
/// otherwise.
#[inline]
pub fn decode(
    kind: MarketKind,
    symbols: &SymbolMap,
    frame: &[u8],
    ts_recv_raw: u64,
    out: &mut EventBuf,
) -> Option<Decoded> {
    keep_if_accepted(out, |out, start| {
        scan(kind, symbols, frame, ts_recv_raw, out, start)
    })
}

const TOPIC: u32 = 1;
const TYPE: u32 = 1 << 1;
const TS: u32 = 1 << 2;
const CTS: u32 = 1 << 3;
const CS: u32 = 1 << 4;
const DATA: u32 = 1 << 5;

/// The channel a `topic` names (its part before the first `.`), as the generic decoder
/// reads it on a `kind` connection; `None` for the channels this scanner leaves alone.
fn channel(kind: MarketKind, topic: &[u8]) -> Option<Channel> {
    let names =
        |name: &[u8]| topic.starts_with(name) && topic.get(name.len()).is_none_or(|&b| b == b'.');
    if names(b"orderbook") {
        Some(Channel::Book)
    } else if names(b"publicTrade") {
        Some(Channel::Trade)
    } else if names(b"tickers") {
        Some(if kind == MarketKind::Perp {
            Channel::Ticker
        } else {
            Channel::SpotTicker
        })
    } else {
        None
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Book,
    Trade,
    Ticker,
    /// `tickers` on a spot connection: read, then `Unknown`.
    SpotTicker,
}

/// What `data` held, by channel.
enum Data {
    /// The book's own fields (header at `start`, levels after it).
    Book(Book),
    /// Every trade is in the buffer, complete.
    Trades,
    Ticker(Ticker),
    SpotTicker,
}

fn scan(
    kind: MarketKind,
    symbols: &SymbolMap,
    frame: &[u8],
    ts_recv_raw: u64,
    out: &mut EventBuf,
    start: usize,
) -> Option<Decoded> {
    let ctx = Ctx {
        kind,
        symbols,
        ts_recv_raw,
    };
    let envelope = match envelope_in_order(ctx, frame, out) {
        Some(envelope) => envelope,
        None => {
            out.truncate(start);
            envelope_any_order(ctx, frame, out)?
        }
    };
    finish(envelope, ts_recv_raw, out, start)
}

/// What every part of a message is read with.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    kind: MarketKind,
    symbols: &'a SymbolMap,
    ts_recv_raw: u64,
}

/// A whole message, read: its `type` (`snapshot`: `true`), `ts` and `data`.
struct Envelope {
    snapshot: Option<bool>,
    ts_ms: Option<u64>,
    data: Data,
}

/// The frame in the key orders the venue sends for its channel, exactly: `topic`,
/// `type` and `ts` (either first: linear and spot differ), `data`, `cts` (`orderbook`);
/// `topic`, `type` and `ts` (either first), `data` (`publicTrade`); `topic`, `type`,
/// `data`, `cs`, `ts` (linear `tickers`). `None` for anything else, with
/// events of the frame possibly left in `out` (the caller drops them).
fn envelope_in_order(ctx: Ctx<'_>, frame: &[u8], out: &mut EventBuf) -> Option<Envelope> {
    let mut c = Cursor::new(frame);
    c.lit(b"{\"topic\":")?;
    let channel_read = channel(ctx.kind, c.string()?)?;
    let (snapshot, ts_ms, data) = match channel_read {
        Channel::Book => {
            let (snapshot, ts_ms) = type_and_ts(&mut c)?;
            c.lit(b",\"data\":")?;
            let data = data(&mut c, ctx, channel_read, Some(ts_ms), out)?;
            c.lit(b",\"cts\":")?;
            c.uint()?;
            (snapshot, ts_ms, data)
        }
        Channel::Trade => {
            let (snapshot, ts_ms) = type_and_ts(&mut c)?;
            c.lit(b",\"data\":")?;
            (
                snapshot,
                ts_ms,
                data(&mut c, ctx, channel_read, Some(ts_ms), out)?,
            )
        }
        Channel::Ticker | Channel::SpotTicker => {
            c.lit(b",\"type\":")?;
            let snapshot = message_type(&mut c)?;
            c.lit(b",\"data\":")?;
            let data = data(&mut c, ctx, channel_read, None, out)?;
            c.lit(b",\"cs\":")?;
            c.uint()?;
            c.lit(b",\"ts\":")?;
            (snapshot, c.uint()?, data)
        }
    };
    c.lit(b"}")?;
    c.end()?;
    Some(Envelope {
        snapshot: Some(snapshot),
        ts_ms: Some(ts_ms),
        data,
    })
}

/// The frame member by member: the envelope keys in any order, each at most once,
/// `topic` before `data`.
fn envelope_any_order(ctx: Ctx<'_>, frame: &[u8], out: &mut EventBuf) -> Option<Envelope> {
    let mut c = Cursor::new(frame);
    let (mut seen, mut channel_read, mut snapshot, mut ts_ms, mut data_read) =
        (0u32, None, None, None, None);
    c.lit(b"{\"")?;
    loop {
        match c.key()? {
            b"topic" => {
                first_time(&mut seen, TOPIC)?;
                channel_read = Some(channel(ctx.kind, c.string()?)?);
            }
            b"type" => {
                first_time(&mut seen, TYPE)?;
                snapshot = Some(message_type(&mut c)?);
            }
            b"ts" => {
                first_time(&mut seen, TS)?;
                ts_ms = Some(c.uint()?);
            }
            b"cts" => {
                first_time(&mut seen, CTS)?;
                c.uint()?;
            }
            b"cs" => {
                first_time(&mut seen, CS)?;
                c.uint()?;
            }
            b"data" => {
                first_time(&mut seen, DATA)?;
                data_read = Some(data(&mut c, ctx, channel_read?, ts_ms, out)?);
            }
            _ => return None,
        }
        if !c.more_keys()? {
            break;
        }
    }
    c.end()?;
    Some(Envelope {
        snapshot,
        ts_ms,
        data: data_read?,
    })
}

/// `,"type":..,"ts":..` or `,"ts":..,"type":..`: whether a snapshot, and the time.
fn type_and_ts(c: &mut Cursor<'_>) -> Option<(bool, u64)> {
    if c.lit(b",\"type\":").is_some() {
        let snapshot = message_type(c)?;
        c.lit(b",\"ts\":")?;
        Some((snapshot, c.uint()?))
    } else {
        c.lit(b",\"ts\":")?;
        let ts_ms = c.uint()?;
        c.lit(b",\"type\":")?;
        Some((message_type(c)?, ts_ms))
    }
}

/// `type`: `snapshot` (`true`) or `delta`, each read as its literal (no search for the
/// string's end).
#[inline]
fn message_type(c: &mut Cursor<'_>) -> Option<bool> {
    if c.lit(b"\"delta\"").is_some() {
        return Some(false);
    }
    c.lit(b"\"snapshot\"").map(|()| true)
}

/// `data` of `channel_read`, `ts_ms` the venue time when `ts` came before it.
fn data(
    c: &mut Cursor<'_>,
    ctx: Ctx<'_>,
    channel_read: Channel,
    ts_ms: Option<u64>,
    out: &mut EventBuf,
) -> Option<Data> {
    Some(match channel_read {
        Channel::Book => {
            out.push(placeholder(ctx.ts_recv_raw)).ok()?;
            let known = ts_ms.map(|ts_venue_ms| Stamp {
                ts_recv_raw: ctx.ts_recv_raw,
                ts_venue_ms,
                instrument: InstrumentId::default(),
            });
            Data::Book(book(c, ctx.symbols, known, out)?)
        }
        Channel::Trade => {
            c.items(|c| trade(c, ctx.symbols, ctx.ts_recv_raw, out))?;
            Data::Trades
        }
        Channel::Ticker => Data::Ticker(ticker(c, Some(ctx.symbols))?),
        Channel::SpotTicker => {
            ticker(c, None)?;
            Data::SpotTicker
        }
    })
}

/// The frame's events completed from what `envelope` held.
fn finish(
    envelope: Envelope,
    ts_recv_raw: u64,
    out: &mut EventBuf,
    start: usize,
) -> Option<Decoded> {
    let Envelope {
        snapshot,
        ts_ms,
        data,
    } = envelope;
    match data {
        Data::Book(book) => {
            let (ts_venue_ms, instrument) = (ts_ms?, book.instrument);
            if !book.levels_stamped {
                stamp(out, start + 1, ts_recv_raw, ts_venue_ms, instrument);
            }
            let header = Stamp {
                ts_recv_raw,
                ts_venue_ms,
                instrument,
            };
            out.tail_mut(start)[0] = header.event(EventBody::DepthBegin {
                first_update_id: book.update_id,
                last_update_id: book.update_id,
                prev_update_id: 0,
                levels: u16::try_from(book.levels).ok()?,
                snapshot: snapshot?,
                checksum: None,
            });
        }
        Data::Trades => {}
        Data::Ticker(t) => {
            let (ts_venue_ms, instrument) = (ts_ms?, t.instrument?);
            for body in ticker_events(t.mark, t.index, t.rate, t.next_funding_ms, t.open_interest)
                .into_iter()
                .flatten()
            {
                out.push(MarketEvent {
                    ts_recv_raw,
                    ts_venue_ms,
                    instrument,
                    body,
                })
                .ok()?;
            }
        }
        Data::SpotTicker => return Some(Decoded::Unknown),
    }
    Some(Decoded::Events(out.len() - start))
}

/// An `orderbook` message's own fields.
struct Book {
    instrument: InstrumentId,
    /// `u`.
    update_id: u64,
    levels: usize,
    /// Whether every level was written with its final stamp.
    levels_stamped: bool,
}

/// `orderbook` data: `{"s":..,"b":[..],"a":[..],"u":..,"seq":..}` in any order; the
/// levels are pushed as they come, stamped when `known` (the receive and venue times,
/// when `ts` came before `data`) and `s` came before them.
fn book(
    c: &mut Cursor<'_>,
    symbols: &SymbolMap,
    known: Option<Stamp>,
    out: &mut EventBuf,
) -> Option<Book> {
    const S: u32 = 1;
    const B: u32 = 1 << 1;
    const A: u32 = 1 << 2;
    const U: u32 = 1 << 3;
    const SEQ: u32 = 1 << 4;
    let (mut seen, mut instrument, mut update_id, mut levels) = (0u32, None, None, 0);
    let mut levels_stamped = true;
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
            S => instrument = Some(symbol(c, symbols)?),
            B | A => {
                let stamp = match (known, instrument) {
                    (Some(known), Some(instrument)) => Stamp {
                        instrument,
                        ..known
                    },
                    _ => {
                        levels_stamped = false;
                        Stamp::default()
                    }
                };
                let side = if bit == B { Side::Bid } else { Side::Ask };
                levels += c.levels(side, false, stamp, out)?;
            }
            U => update_id = Some(c.uint()?),
            _ => {
                c.uint()?;
            }
        }
        if !c.more_keys()? {
            return Some(Book {
                instrument: instrument?,
                update_id: update_id?,
                levels,
                levels_stamped,
            });
        }
    }
}

/// A symbol string, resolved.
fn symbol(c: &mut Cursor<'_>, symbols: &SymbolMap) -> Option<InstrumentId> {
    symbols.get_bytes(c.string()?)
}

/// One trade of `publicTrade`, `{"T":..,"s":..,"S":..,"v":..,"p":..,"i":..}` plus the
/// skipped `L`, `BT`, `RPI` and `seq`, pushed complete (its own time `T`): in the linear
/// stream's key order read as one literal sequence ([`trade_in_order`]), else member by
/// member in any order.
fn trade(
    c: &mut Cursor<'_>,
    symbols: &SymbolMap,
    ts_recv_raw: u64,
    out: &mut EventBuf,
) -> Option<()> {
    let saved = *c;
    let trade = match trade_in_order(c, symbols) {
        Some(trade) => trade,
        None => {
            *c = saved;
            trade_any_order(c, symbols)?
        }
    };
    out.push(MarketEvent {
        ts_recv_raw,
        ts_venue_ms: trade.time_ms,
        instrument: trade.instrument,
        body: EventBody::Trade {
            price: trade.price,
            qty: trade.qty,
            aggressor: trade.aggressor,
            trade_id: trade.trade_id,
        },
    })
    .ok()
}

/// What a trade carries.
struct Trade {
    time_ms: u64,
    instrument: InstrumentId,
    aggressor: Side,
    qty: Qty,
    price: Price,
    trade_id: u64,
}

/// [`trade`] in the linear stream's key order, exactly: `T`, `s`, `S`, `v`, `p`, `L`,
/// `i`, `BT`, then `RPI` and `seq` or not; `None` for anything else.
#[inline]
fn trade_in_order(c: &mut Cursor<'_>, symbols: &SymbolMap) -> Option<Trade> {
    c.lit(b"{\"T\":")?;
    let time_ms = c.uint()?;
    c.lit(b",\"s\":")?;
    let instrument = symbol(c, symbols)?;
    c.lit(b",\"S\":")?;
    let aggressor = aggressor(c)?;
    c.lit(b",\"v\":")?;
    let qty = c.decimal::<Qty>()?;
    c.lit(b",\"p\":")?;
    let price = c.decimal::<Price>()?;
    c.lit(b",\"L\":")?;
    c.string()?;
    c.lit(b",\"i\":")?;
    let trade_id = trade_id(c)?;
    c.lit(b",\"BT\":")?;
    c.boolean()?;
    if c.lit(b",\"RPI\":").is_some() {
        c.boolean()?;
    }
    if c.lit(b",\"seq\":").is_some() {
        c.uint()?;
    }
    c.lit(b"}")?;
    Some(Trade {
        time_ms,
        instrument,
        aggressor,
        qty,
        price,
        trade_id,
    })
}

/// [`trade`] member by member, its keys in any order, each at most once.
fn trade_any_order(c: &mut Cursor<'_>, symbols: &SymbolMap) -> Option<Trade> {
    let mut seen = 0u32;
    let (mut time_ms, mut instrument, mut aggressor_read, mut qty, mut price, mut id) =
        (None, None, None, None, None, None);
    c.members(|c, key| {
        match key {
            b"T" => {
                first_time(&mut seen, 1)?;
                time_ms = Some(c.uint()?);
            }
            b"s" => {
                first_time(&mut seen, 1 << 1)?;
                instrument = Some(symbol(c, symbols)?);
            }
            b"S" => {
                first_time(&mut seen, 1 << 2)?;
                aggressor_read = Some(aggressor(c)?);
            }
            b"v" => {
                first_time(&mut seen, 1 << 3)?;
                qty = Some(c.decimal::<Qty>()?);
            }
            b"p" => {
                first_time(&mut seen, 1 << 4)?;
                price = Some(c.decimal::<Price>()?);
            }
            b"i" => {
                first_time(&mut seen, 1 << 5)?;
                id = Some(trade_id(c)?);
            }
            b"L" => {
                first_time(&mut seen, 1 << 6)?;
                c.string()?;
            }
            b"BT" => {
                first_time(&mut seen, 1 << 7)?;
                c.boolean()?;
            }
            b"RPI" => {
                first_time(&mut seen, 1 << 8)?;
                c.boolean()?;
            }
            b"seq" => {
                first_time(&mut seen, 1 << 9)?;
                c.uint()?;
            }
            _ => return None,
        }
        Some(())
    })?;
    Some(Trade {
        time_ms: time_ms?,
        instrument: instrument?,
        aggressor: aggressor_read?,
        qty: qty?,
        price: price?,
        trade_id: id?,
    })
}

/// A trade's `S`: `Buy` (the buyer took) or `Sell`.
fn aggressor(c: &mut Cursor<'_>) -> Option<Side> {
    match c.string()? {
        b"Buy" => Some(Side::Bid),
        b"Sell" => Some(Side::Ask),
        _ => None,
    }
}

/// A trade's `i`, as the generic decoder reads it ([`numeric_id_bytes`]).
fn trade_id(c: &mut Cursor<'_>) -> Option<u64> {
    Some(numeric_id_bytes(c.string()?))
}

/// The `tickers` fields the generic decoder reads; `None` when absent or `""`.
#[derive(Default)]
struct Ticker {
    instrument: Option<InstrumentId>,
    mark: Option<Price>,
    index: Option<Price>,
    rate: Option<Rate>,
    next_funding_ms: Option<u64>,
    open_interest: Option<Qty>,
}

/// `tickers` data: an object whose members are all strings. `symbol` is resolved
/// through `symbols` (not at all when `None`: a spot connection's ticker is only read);
/// the five fields the generic decoder reads are kept, every other member is skipped
/// (its key must be plain, as an escaped key could spell a field the generic decoder
/// reads). Each key is first matched against the keys the venue sends
/// ([`venue_ticker_key`]), then, when it is none of them, read and classified
/// ([`TickerKey::of`]).
fn ticker(c: &mut Cursor<'_>, symbols: Option<&SymbolMap>) -> Option<Ticker> {
    let mut seen = 0u32;
    let mut t = Ticker::default();
    c.lit(b"{\"")?;
    loop {
        let key = match venue_ticker_key(c) {
            Some(key) => key,
            None => TickerKey::of(c.key()?)?,
        };
        ticker_member(c, key, symbols, &mut seen, &mut t)?;
        if !c.more_keys()? {
            return Some(t);
        }
    }
}

/// The value of the `tickers` member `key` into `t`, each read key at most once.
#[inline]
fn ticker_member(
    c: &mut Cursor<'_>,
    key: TickerKey,
    symbols: Option<&SymbolMap>,
    seen: &mut u32,
    t: &mut Ticker,
) -> Option<()> {
    match key {
        TickerKey::Symbol => {
            first_time(seen, 1)?;
            match symbols {
                Some(symbols) => t.instrument = Some(symbol(c, symbols)?),
                None => {
                    c.string()?;
                }
            }
        }
        TickerKey::Mark => {
            first_time(seen, 1 << 1)?;
            t.mark = optional(c)?;
        }
        TickerKey::Index => {
            first_time(seen, 1 << 2)?;
            t.index = optional(c)?;
        }
        TickerKey::Rate => {
            first_time(seen, 1 << 3)?;
            t.rate = optional(c)?;
        }
        TickerKey::OpenInterest => {
            first_time(seen, 1 << 4)?;
            t.open_interest = optional(c)?;
        }
        TickerKey::NextFunding => {
            first_time(seen, 1 << 5)?;
            t.next_funding_ms = next_funding(c.string()?)?;
        }
        TickerKey::Skipped => {
            c.string()?;
        }
    }
    Some(())
}

/// A `tickers` data key: one of the five fields the generic decoder reads, `symbol`, or
/// a member it skips.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TickerKey {
    Symbol,
    Mark,
    Index,
    Rate,
    OpenInterest,
    NextFunding,
    Skipped,
}

impl TickerKey {
    /// The key `key` (its bytes as sent); `None` for a key that is not plain (an escape
    /// could spell a read field).
    fn of(key: &[u8]) -> Option<Self> {
        Some(match key {
            b"symbol" => Self::Symbol,
            b"markPrice" => Self::Mark,
            b"indexPrice" => Self::Index,
            b"fundingRate" => Self::Rate,
            b"openInterest" => Self::OpenInterest,
            b"nextFundingTime" => Self::NextFunding,
            other if is_plain(other) => Self::Skipped,
            _ => return None,
        })
    }
}

/// The key at `c` (after its opening quote), with its `":`, when it is one of the keys
/// of Bybit's linear and spot tickers (as of 2026-08: `../shared/data/bybit`), matched
/// as literals picked by its first byte: no search for its end, no check of its bytes.
/// `None`, with nothing consumed, for any other key.
#[inline]
fn venue_ticker_key(c: &mut Cursor<'_>) -> Option<TickerKey> {
    use TickerKey::{Index, Mark, NextFunding, OpenInterest, Rate, Skipped, Symbol};
    let first = c.peek()?;
    let mut is = |literal: &[u8], key: TickerKey| c.lit(literal).map(|()| key);
    match first {
        b'a' => is(b"ask1Price\":", Skipped).or_else(|| is(b"ask1Size\":", Skipped)),
        b'b' => is(b"bid1Price\":", Skipped).or_else(|| is(b"bid1Size\":", Skipped)),
        b'c' => is(b"curPreListingPhase\":", Skipped),
        b'f' => is(b"fundingRate\":", Rate)
            .or_else(|| is(b"fundingIntervalHour\":", Skipped))
            .or_else(|| is(b"fundingCap\":", Skipped)),
        b'h' => is(b"highPrice24h\":", Skipped),
        b'i' => is(b"indexPrice\":", Index),
        b'l' => is(b"lastPrice\":", Skipped).or_else(|| is(b"lowPrice24h\":", Skipped)),
        b'm' => is(b"markPrice\":", Mark),
        b'n' => is(b"nextFundingTime\":", NextFunding),
        b'o' => {
            is(b"openInterest\":", OpenInterest).or_else(|| is(b"openInterestValue\":", Skipped))
        }
        b'p' => is(b"price24hPcnt\":", Skipped)
            .or_else(|| is(b"prevPrice24h\":", Skipped))
            .or_else(|| is(b"prevPrice1h\":", Skipped))
            .or_else(|| is(b"preOpenPrice\":", Skipped))
            .or_else(|| is(b"preQty\":", Skipped)),
        b's' => is(b"symbol\":", Symbol)
            .or_else(|| is(b"singleOpenInterest\":", Skipped))
            .or_else(|| is(b"singleOpenInterestValue\":", Skipped)),
        b't' => is(b"tickDirection\":", Skipped).or_else(|| is(b"turnover24h\":", Skipped)),
        b'u' => is(b"usdIndexPrice\":", Skipped),
        b'v' => is(b"volume24h\":", Skipped),
        _ => None,
    }
}

/// `nextFundingTime` as the generic decoder reads it: `""` is absent, else digits only.
fn next_funding(text: &[u8]) -> Option<Option<u64>> {
    match text {
        b"" => Some(None),
        digits if digits.iter().all(u8::is_ascii_digit) => {
            Some(Some(std::str::from_utf8(digits).ok()?.parse().ok()?))
        }
        _ => None,
    }
}

/// A decimal string value; `""` is absent (`Some(None)`).
fn optional<T: crate::feed::scan::Fixed>(c: &mut Cursor<'_>) -> Option<Option<T>> {
    if c.lit(b"\"\"").is_some() {
        return Some(None);
    }
    c.decimal::<T>().map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::scan::{px, qty, run_fast};
    use crate::types::FundingFields;

    fn run(frame: &str) -> Option<Vec<MarketEvent>> {
        run_fast(
            |s, f, t, o| decode(MarketKind::Perp, s, f, t, o),
            "BTCUSDT",
            InstrumentId(2),
            frame,
        )
    }

    fn run_spot(frame: &str) -> Option<Decoded> {
        let mut symbols = SymbolMap::default();
        symbols.insert("BTCUSDT", InstrumentId(2));
        let mut out = EventBuf::with_capacity(4);
        let decoded = decode(MarketKind::Spot, &symbols, frame.as_bytes(), 4, &mut out);
        assert!(out.is_empty());
        decoded
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
                    price: px("65114.3"),
                    qty: qty("1.5")
                }
            );
        }
    }

    #[test]
    fn test_trades_linear_and_spot_shapes() {
        let events = run(r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1786310820347,"data":[{"T":1786310820346,"s":"BTCUSDT","S":"Buy","v":"0.01","p":"1922.50","L":"PlusTick","i":"19d7df56-4f10-5290-a969-d9d9f2c74cc3","BT":false,"RPI":false,"seq":430879434439},{"T":1786310820347,"s":"BTCUSDT","S":"Sell","v":"1.30","p":"1922.4","L":"MinusTick","i":"4d4ad26c","BT":false,"RPI":false,"seq":430879434440}]}"#).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[1],
            MarketEvent {
                ts_recv_raw: 4,
                ts_venue_ms: 1786310820347,
                instrument: InstrumentId(2),
                body: EventBody::Trade {
                    price: px("1922.4"),
                    qty: qty("1.3"),
                    aggressor: Side::Ask,
                    trade_id: 0,
                },
            }
        );
        assert_eq!(events[0].ts_venue_ms, 1786310820346);
        let spot = run(r#"{"topic":"publicTrade.BTCUSDT","ts":1680652847526,"type":"snapshot","data":[{"i":"2290000000050703789","T":1680652847524,"p":"28165.38","v":"0.041732","S":"Buy","s":"BTCUSDT","BT":false}]}"#).unwrap();
        assert_eq!(
            spot[0].body,
            EventBody::Trade {
                price: px("28165.38"),
                qty: qty("0.041732"),
                aggressor: Side::Bid,
                trade_id: 2290000000050703789,
            }
        );
        let none = r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[]}"#;
        assert_eq!(run(none), Some(Vec::new()));
    }

    #[test]
    fn test_tickers_fields_present_and_spot_unknown() {
        let snapshot = r#"{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","lastPrice":"65114.30","markPrice":"65117.44","indexPrice":"65137.76","openInterest":"59891.732","nextFundingTime":"1786320000000","fundingRate":"0.0001","preOpenPrice":""},"cs":753843900397,"ts":1786310817583}"#;
        let events = run(snapshot).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[0].body,
            EventBody::Funding {
                mark: px("65117.44"),
                index: px("65137.76"),
                rate: Rate::from_decimal_str("0.0001").unwrap(),
                next_funding_ms: 1786320000000,
                fields: FundingFields::ALL,
            }
        );
        assert_eq!(
            events[1].body,
            EventBody::OpenInterest {
                qty: qty("59891.732")
            }
        );
        assert!(events.iter().all(|e| e.ts_venue_ms == 1786310817583
            && e.instrument == InstrumentId(2)
            && e.ts_recv_raw == 4));
        let empty_rate = run(r#"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","markPrice":"1.5","fundingRate":""},"cs":1,"ts":2}"#).unwrap();
        assert!(matches!(
            empty_rate[..],
            [MarketEvent {
                body: EventBody::Funding {
                    fields: FundingFields::MARK,
                    ..
                },
                ..
            }]
        ));
        let nothing = r#"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","bid1Price":"65114.20"},"cs":1,"ts":3}"#;
        assert_eq!(run(nothing), Some(Vec::new()));
        assert_eq!(run_spot(snapshot), Some(Decoded::Unknown));
        let unknown_coin =
            r#"{"topic":"tickers.XRPUSDT","type":"delta","data":{"symbol":"XRPUSDT"},"ts":3}"#;
        assert_eq!(run_spot(unknown_coin), Some(Decoded::Unknown));
        assert_eq!(run(unknown_coin), None);
    }

    #[test]
    fn test_tickers_in_any_key_order_and_unlisted_keys() {
        let venue = r#"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","markPrice":"65117.43","openInterestValue":"3899995666.09","ask1Price":"65114.30","ask1Size":"10.488","singleOpenInterestValue":"1949997833.04","fundingRate":"-0.0001","nextFundingTime":"1786320000000","indexPrice":"65137.76","openInterest":"59891.732"},"cs":753843915209,"ts":1786310818183}"#;
        let want = run(venue).unwrap();
        assert_eq!(want.len(), 2);
        assert_eq!(
            want[0].body,
            EventBody::Funding {
                mark: px("65117.43"),
                index: px("65137.76"),
                rate: Rate::from_decimal_str("-0.0001").unwrap(),
                next_funding_ms: 1786320000000,
                fields: FundingFields::ALL,
            }
        );
        for frame in [
            r#"{"topic":"tickers.BTCUSDT","type":"delta","data":{"openInterest":"59891.732","indexPrice":"65137.76","nextFundingTime":"1786320000000","fundingRate":"-0.0001","singleOpenInterestValue":"1949997833.04","ask1Size":"10.488","ask1Price":"65114.30","openInterestValue":"3899995666.09","markPrice":"65117.43","symbol":"BTCUSDT"},"cs":753843915209,"ts":1786310818183}"#,
            r#"{"topic":"tickers.BTCUSDT","ts":1786310818183,"cs":753843915209,"data":{"symbol":"BTCUSDT","newField":"x","markPrice":"65117.43","fundingRate":"-0.0001","nextFundingTime":"1786320000000","indexPrice":"65137.76","openInterest":"59891.732","preQty":""},"type":"delta"}"#,
        ] {
            assert_eq!(run(frame).as_deref(), Some(&want[..]), "{frame}");
        }
        for (key, want) in [
            ("symbol", TickerKey::Symbol),
            ("markPrice", TickerKey::Mark),
            ("indexPrice", TickerKey::Index),
            ("fundingRate", TickerKey::Rate),
            ("openInterest", TickerKey::OpenInterest),
            ("openInterestValue", TickerKey::Skipped),
            ("nextFundingTime", TickerKey::NextFunding),
            ("bid1Size", TickerKey::Skipped),
        ] {
            let quoted = format!("{key}\":");
            let mut c = Cursor::new(quoted.as_bytes());
            assert_eq!(venue_ticker_key(&mut c), Some(want), "{key}");
            assert_eq!(c.end(), Some(()));
            assert_eq!(TickerKey::of(key.as_bytes()), Some(want), "{key}");
        }
        let mut unlisted = Cursor::new(b"markPriceX\":");
        assert_eq!(venue_ticker_key(&mut unlisted), None);
        assert_eq!(unlisted.key(), Some(&b"markPriceX"[..]));
    }

    #[test]
    fn test_declines_what_it_does_not_fully_understand() {
        for frame in [
            r#"{"data":{"s":"BTCUSDT","b":[],"a":[],"u":1,"seq":9},"topic":"orderbook.1.BTCUSDT","type":"delta","ts":1}"#,
            r#"{"topic":"kline.1.BTCUSDT","type":"snapshot","ts":1,"data":[]}"#,
            r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{"T":1,"s":"BTCUSDT","S":"Buy","v":"1","p":"2"}]}"#,
            r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{"T":1,"s":"BTCUSDT","S":"Hold","v":"1","p":"2","i":"3"}]}"#,
            r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1,"data":[{"T":1,"s":"BTCUSDT","S":"Buy","v":"1","p":"2","i":"3","mP":"4"}]}"#,
            r#"{"topic":"tickers.BTCUSDT","type":"delta","ts":1,"data":{"symbol":"BTCUSDT","mark\u0050rice":"1"}}"#,
            r#"{"topic":"tickers.BTCUSDT","type":"delta","ts":1,"data":{"symbol":"BTCUSDT","markPrice":"1","markPrice":"2"}}"#,
            r#"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","markPrice":"1","mark\u0050rice":"2"},"cs":1,"ts":2}"#,
            r#"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","bid1Price":1},"cs":1,"ts":2}"#,
            r#"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","bid1Price":"1\u0030"},"cs":1,"ts":2}"#,
            r#"{"topic":"tickers.BTCUSDT","type":"delta","ts":1,"data":{"symbol":"BTCUSDT","nextFundingTime":"+5"}}"#,
            r#"{"topic":"tickers.BTCUSDT","type":"delta","ts":1,"data":{"symbol":"BTCUSDT","volume24h":1}}"#,
            r#"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","markPrice":"1"}}"#,
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
