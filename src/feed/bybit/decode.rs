//! Bybit v5 spot and linear decoder: one WebSocket text frame → `MarketEvent`s.
//!
//! Handles, on `/v5/public/spot` and `/v5/public/linear`:
//! - `orderbook.{N}.{SYM}` for any depth N (the venue's 1, 50, 200, 1000; 500 in
//!   recordings from before late 2025; `orderbook.1` is snapshots only): one
//!   [`EventBody::DepthBegin`] then its levels, bids then asks as sent; size `"0"`
//!   deletes. Sequencing as the book stage expects it: `snapshot` = `type == "snapshot"`
//!   (a snapshot with `u == 1`, sent when the venue restarted its book, is just a
//!   snapshot); `first_update_id = last_update_id = u`; `prev_update_id = 0`;
//!   `ts_venue_ms = ts`. `seq` and `cts` are not read. Bybit's rule
//!   (<https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook>): "once you
//!   have subscribed successfully, you will receive a snapshot; after that you will
//!   receive delta messages"; `u` grows by one per message after the snapshot.
//! - `publicTrade.{SYM}`: one [`EventBody::Trade`] per element of `data`; aggressor
//!   `Bid` for `"S":"Buy"`; `ts_venue_ms` = the trade's own time `T`; `trade_id` = `i`
//!   when it is all digits and fits a `u64` (spot), else 0 (linear sends UUIDs).
//! - `tickers.{SYM}` on linear only (a [`BybitDecoder`] for spot reports spot tickers,
//!   which carry no funding, as [`Decoded::Unknown`]): snapshots and deltas carry the
//!   fields that changed, so [`EventBody::Funding`] has `fields` set to exactly those of
//!   `markPrice`, `indexPrice`, `fundingRate`, `nextFundingTime` (a string of unix ms)
//!   that are present (absent ones are zero), and is left out when none is; an
//!   [`EventBody::OpenInterest`] follows when `openInterest` is present. An empty string
//!   (dated futures send `"fundingRate":""`) counts as absent. A delta with none of the
//!   five is `Events(0)`. `ts_venue_ms` = `ts`.
//! - Control messages: `"success":true` answers (subscribe, unsubscribe) are
//!   [`Decoded::Ack`]; the pongs (spot `{"success":true,"ret_msg":"pong","op":"ping"}`,
//!   linear `{"op":"pong",..}`) are [`Decoded::Heartbeat`]; `"success":false` is
//!   [`DecodeError::VenueError`].
//!
//! Every other well-formed message is `Unknown`: klines, liquidations, and the retired
//! v1/v2/v3 formats (`trade.BTCUSD`, `orderBookL2_25.*`, `instrument_info.*`, spot v1
//! `"topic":"depth"`), whose topic names differ from v5's.
//!
//! Order book, trade and ticker messages take the schema-specific scanner in
//! [`super::fast`] first.
//! Otherwise: single pass with sonic-rs through serde visitors that parse decimal strings straight
//! into fixed point and write events into the caller's preallocated [`EventBuf`]: no
//! `f64`, independent of key order. Runs on the feed stage's thread; no allocation per
//! message. Owns only the connection's market kind and symbol map; writes nothing but
//! the caller's buffer, and never reads the clock (the receive time is passed in).
//!
//! NB: when `data` comes before `topic` (no real recording does this) the decoder cannot
//! know yet what `data` is: it skips it and reads the frame a second time with the
//! channel known.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::feed::bybit::fast;
pub use crate::feed::decode::{DecodeError, Decoded};
use crate::feed::event_buf::EventBuf;
use crate::feed::json::{
    Failure, LevelsSeed, SeenKeys, StrSeed, decimal, fail, placeholder, stamp,
};
use crate::feed::symbols::SymbolMap;
use crate::types::{
    EventBody, FundingFields, InstrumentId, MarketEvent, MarketKind, Price, Qty, Rate, Side,
};

/// Decoder for one Bybit connection (spot or linear, as given at construction).
#[derive(Debug, Clone)]
pub struct BybitDecoder {
    kind: MarketKind,
    symbols: SymbolMap,
}

impl BybitDecoder {
    /// A decoder for a connection to the `kind` market, resolving its wire symbols.
    pub fn new(kind: MarketKind, symbols: SymbolMap) -> Self {
        Self { kind, symbols }
    }

    /// Decodes one frame, appending its events (stamped with `ts_recv_raw`) to `out`.
    /// On error nothing is left in `out` from this frame. Order book, trade and ticker
    /// messages go through the schema-specific [`fast`] scanner; whatever it declines,
    /// through the generic path.
    #[inline]
    pub fn decode(
        &mut self,
        frame: &[u8],
        ts_recv_raw: u64,
        out: &mut EventBuf,
    ) -> Result<Decoded, DecodeError> {
        match fast::decode(self.kind, &self.symbols, frame, ts_recv_raw, out) {
            Some(decoded) => Ok(decoded),
            None => self.decode_generic(frame, ts_recv_raw, out),
        }
    }

    /// The generic sonic-rs path alone: every message type, and the judge of every
    /// error. [`BybitDecoder::decode`] tries the fast path first; this is public for the
    /// differential tests and the benchmark.
    pub fn decode_generic(
        &self,
        frame: &[u8],
        ts_recv_raw: u64,
        out: &mut EventBuf,
    ) -> Result<Decoded, DecodeError> {
        crate::feed::json::decode_frame(frame, out, |text, out, start| {
            self.decode_into(text, ts_recv_raw, out, start)
        })
    }

    fn decode_into(
        &self,
        text: &str,
        ts_recv_raw: u64,
        out: &mut EventBuf,
        start: usize,
    ) -> Result<Decoded, DecodeError> {
        let failure = Failure::default();
        let ctx = Ctx {
            kind: self.kind,
            symbols: &self.symbols,
            failure: &failure,
            ts_recv_raw,
        };
        let mut pass = |hint| {
            let mut de = sonic_rs::Deserializer::from_str(text);
            let seed = MessageSeed {
                ctx,
                hint,
                out: &mut *out,
            };
            seed.deserialize(&mut de)
                .and_then(|msg| de.end().map(|()| msg))
                .map_err(|_| failure.get().unwrap_or(DecodeError::Json))
        };
        let mut msg = pass(Channel::Absent)?;
        if msg.channel.is_handled() && matches!(msg.data, Some(Data::Skipped)) {
            // `data` came before `topic` and was skipped: read again, knowing the channel.
            msg = pass(msg.channel)?;
        }
        finish(msg, out, start, ts_recv_raw)
    }
}

/// What a decoder's visitors share: the market, the symbols, where errors go, and the
/// receive time stamped on every event.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    kind: MarketKind,
    symbols: &'a SymbolMap,
    failure: &'a Failure,
    ts_recv_raw: u64,
}

impl Ctx<'_> {
    fn instrument<E: de::Error>(&self, symbol: Option<InstrumentId>) -> Result<InstrumentId, E> {
        symbol.ok_or_else(|| fail(self.failure, DecodeError::UnknownSymbol))
    }
}

/// The channel named by `topic` (its part before the first `.`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Channel {
    #[default]
    Absent,
    Book,
    Trade,
    Ticker,
    Other,
}

impl Channel {
    fn of(kind: MarketKind, topic: &str) -> Self {
        match topic.split_once('.').map_or(topic, |(name, _)| name) {
            "orderbook" => Channel::Book,
            "publicTrade" => Channel::Trade,
            "tickers" if kind == MarketKind::Perp => Channel::Ticker,
            _ => Channel::Other,
        }
    }

    fn is_handled(self) -> bool {
        matches!(self, Channel::Book | Channel::Trade | Channel::Ticker)
    }
}

/// `type`: whether a book message replaces the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum BookType {
    #[default]
    Absent,
    Snapshot,
    Delta,
    Other,
}

impl BookType {
    fn of(kind: &str) -> Self {
        match kind {
            "snapshot" => BookType::Snapshot,
            "delta" => BookType::Delta,
            _ => BookType::Other,
        }
    }
}

/// `op` of a control message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Op {
    #[default]
    Absent,
    Ping,
    Pong,
    Other,
}

impl Op {
    fn of(op: &str) -> Self {
        match op {
            "ping" => Op::Ping,
            "pong" => Op::Pong,
            _ => Op::Other,
        }
    }
}

/// The envelope of any message, as collected in one pass.
#[derive(Default)]
struct Message {
    channel: Channel,
    book_type: BookType,
    ts_ms: Option<u64>,
    data: Option<Data>,
    success: Option<bool>,
    op: Op,
}

/// What `data` held; the events of books and trades are already in the buffer.
enum Data {
    Book(Book),
    Trades,
    Ticker(Ticker),
    Skipped,
}

/// A book message's own fields; its placeholder header and levels are in the buffer.
#[derive(Default)]
struct Book {
    instrument: Option<InstrumentId>,
    update_id: Option<u64>,
    levels: usize,
}

/// The ticker fields edgeline reads; `None` when absent (or an empty string).
#[derive(Default)]
struct Ticker {
    instrument: Option<InstrumentId>,
    mark: Option<Price>,
    index: Option<Price>,
    rate: Option<Rate>,
    next_funding_ms: Option<u64>,
    open_interest: Option<Qty>,
}

fn need<T>(value: Option<T>, name: &'static str) -> Result<T, DecodeError> {
    value.ok_or(DecodeError::MissingField(name))
}

/// Turns the collected envelope into events, an acknowledgement, or `Unknown`.
fn finish(
    msg: Message,
    out: &mut EventBuf,
    start: usize,
    ts_recv_raw: u64,
) -> Result<Decoded, DecodeError> {
    match (msg.channel, msg.data) {
        (Channel::Book, Some(Data::Book(book))) => {
            let snapshot = match msg.book_type {
                BookType::Snapshot => true,
                BookType::Delta => false,
                BookType::Absent => return Err(DecodeError::MissingField("type")),
                BookType::Other => return Err(DecodeError::Json),
            };
            let update_id = need(book.update_id, "u")?;
            let ts_ms = need(msg.ts_ms, "ts")?;
            let instrument = need(book.instrument, "s")?;
            stamp(out, start, ts_recv_raw, ts_ms, instrument);
            out.tail_mut(start)[0].body = EventBody::DepthBegin {
                first_update_id: update_id,
                last_update_id: update_id,
                prev_update_id: 0,
                levels: u16::try_from(book.levels).map_err(|_| DecodeError::TooManyEvents)?,
                snapshot,
                checksum: None,
            };
        }
        (Channel::Trade, Some(Data::Trades)) => {}
        (Channel::Ticker, Some(Data::Ticker(ticker))) => {
            push_ticker(&ticker, out)?;
            let ts_ms = need(msg.ts_ms, "ts")?;
            stamp(
                out,
                start,
                ts_recv_raw,
                ts_ms,
                need(ticker.instrument, "symbol")?,
            );
        }
        (channel, None) if channel.is_handled() => return Err(DecodeError::MissingField("data")),
        (Channel::Absent, _) => return control(msg.success, msg.op),
        _ => return Ok(Decoded::Unknown),
    }
    Ok(Decoded::Events(out.len() - start))
}

/// Pushes the `Funding` event of the fields present (if any) and the `OpenInterest`.
fn push_ticker(t: &Ticker, out: &mut EventBuf) -> Result<(), DecodeError> {
    let events = ticker_events(t.mark, t.index, t.rate, t.next_funding_ms, t.open_interest);
    for body in events.into_iter().flatten() {
        out.push(MarketEvent {
            body,
            ..placeholder(0)
        })?;
    }
    Ok(())
}

/// The bodies of a ticker's events from its fields present: `Funding` with exactly those
/// of the first four (none when none is), then `OpenInterest` (when present). Shared
/// with the fast path.
#[inline]
pub(super) fn ticker_events(
    mark: Option<Price>,
    index: Option<Price>,
    rate: Option<Rate>,
    next_funding_ms: Option<u64>,
    open_interest: Option<Qty>,
) -> [Option<EventBody>; 2] {
    let present = [
        (mark.is_some(), FundingFields::MARK),
        (index.is_some(), FundingFields::INDEX),
        (rate.is_some(), FundingFields::RATE),
        (next_funding_ms.is_some(), FundingFields::NEXT_FUNDING),
    ];
    let fields = present
        .iter()
        .filter(|(is, _)| *is)
        .fold(FundingFields::default(), |acc, &(_, f)| acc.with(f));
    let funding = (!fields.is_empty()).then(|| EventBody::Funding {
        mark: mark.unwrap_or(Price::ZERO),
        index: index.unwrap_or(Price::ZERO),
        rate: rate.unwrap_or(Rate::ZERO),
        next_funding_ms: next_funding_ms.unwrap_or(0),
        fields,
    });
    [
        funding,
        open_interest.map(|qty| EventBody::OpenInterest { qty }),
    ]
}

/// A message without `topic`: a request's answer or a pong.
fn control(success: Option<bool>, op: Op) -> Result<Decoded, DecodeError> {
    match (success, op) {
        (Some(false), _) => Err(DecodeError::VenueError),
        (_, Op::Ping | Op::Pong) => Ok(Decoded::Heartbeat),
        (Some(true), _) => Ok(Decoded::Ack),
        (None, _) => Ok(Decoded::Unknown),
    }
}

/// Envelope keys.
#[derive(Debug, Clone, Copy)]
enum Key {
    Topic,
    Type,
    Ts,
    Data,
    Success,
    Op,
    Other,
}

impl Key {
    fn of(key: &str) -> Self {
        match key {
            "topic" => Key::Topic,
            "type" => Key::Type,
            "ts" => Key::Ts,
            "data" => Key::Data,
            "success" => Key::Success,
            "op" => Key::Op,
            _ => Key::Other,
        }
    }
}

struct MessageSeed<'a> {
    ctx: Ctx<'a>,
    /// The channel, when a first pass found it only after `data` (else `Absent`).
    hint: Channel,
    out: &'a mut EventBuf,
}

impl<'de> DeserializeSeed<'de> for MessageSeed<'_> {
    type Value = Message;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Message, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MessageSeed<'_> {
    type Value = Message;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Bybit v5 message")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Message, M::Error> {
        let kind = self.ctx.kind;
        let mut msg = Message::default();
        let mut seen = SeenKeys::default();
        while let Some(key) = map.next_key_seed(StrSeed(Key::of))? {
            if !matches!(key, Key::Other) {
                seen.first(key as u32, self.ctx.failure)?;
            }
            match key {
                Key::Topic => {
                    msg.channel = map.next_value_seed(StrSeed(|t: &str| Channel::of(kind, t)))?;
                }
                Key::Type => msg.book_type = map.next_value_seed(StrSeed(BookType::of))?,
                Key::Ts => msg.ts_ms = Some(map.next_value()?),
                Key::Data => {
                    let channel = match msg.channel {
                        Channel::Absent => self.hint,
                        known => known,
                    };
                    msg.data = Some(map.next_value_seed(DataSeed {
                        channel,
                        ctx: self.ctx,
                        out: &mut *self.out,
                    })?);
                }
                Key::Success => msg.success = Some(map.next_value()?),
                Key::Op => msg.op = map.next_value_seed(StrSeed(Op::of))?,
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(msg)
    }
}

/// `data`, read as the message's channel says.
struct DataSeed<'a> {
    channel: Channel,
    ctx: Ctx<'a>,
    out: &'a mut EventBuf,
}

impl<'de> DeserializeSeed<'de> for DataSeed<'_> {
    type Value = Data;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Data, D::Error> {
        let Self { channel, ctx, out } = self;
        match channel {
            Channel::Book => {
                out.push(placeholder(ctx.ts_recv_raw))
                    .map_err(|full| fail::<D::Error>(ctx.failure, full.into()))?;
                d.deserialize_map(BookSeed { ctx, out }).map(Data::Book)
            }
            Channel::Trade => d
                .deserialize_seq(TradesSeed { ctx, out })
                .map(|()| Data::Trades),
            Channel::Ticker => d.deserialize_map(TickerSeed { ctx }).map(Data::Ticker),
            Channel::Absent | Channel::Other => d
                .deserialize_ignored_any(IgnoredAny)
                .map(|IgnoredAny| Data::Skipped),
        }
    }
}

/// `orderbook` data: `{s, b, a, u, seq}`; levels go straight to the buffer.
struct BookSeed<'a> {
    ctx: Ctx<'a>,
    out: &'a mut EventBuf,
}

impl<'de> Visitor<'de> for BookSeed<'_> {
    type Value = Book;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("orderbook data {s, b, a, u}")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Book, M::Error> {
        let mut book = Book::default();
        let mut seen = SeenKeys::default();
        while let Some(key) = map.next_key_seed(StrSeed(BookKey::of))? {
            if !matches!(key, BookKey::Other) {
                seen.first(key as u32, self.ctx.failure)?;
            }
            match key {
                BookKey::Symbol => {
                    let id = map.next_value_seed(StrSeed(|s: &str| self.ctx.symbols.get(s)))?;
                    book.instrument = Some(self.ctx.instrument(id)?);
                }
                BookKey::Bids | BookKey::Asks => {
                    book.levels += map.next_value_seed(LevelsSeed {
                        side: if matches!(key, BookKey::Bids) {
                            Side::Bid
                        } else {
                            Side::Ask
                        },
                        out: &mut *self.out,
                        failure: self.ctx.failure,
                        trailing: false,
                    })?;
                }
                BookKey::UpdateId => book.update_id = Some(map.next_value()?),
                BookKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(book)
    }
}

/// Keys of `orderbook` data.
#[derive(Debug, Clone, Copy)]
enum BookKey {
    Symbol,
    Bids,
    Asks,
    UpdateId,
    Other,
}

impl BookKey {
    fn of(key: &str) -> Self {
        match key {
            "s" => BookKey::Symbol,
            "b" => BookKey::Bids,
            "a" => BookKey::Asks,
            "u" => BookKey::UpdateId,
            _ => BookKey::Other,
        }
    }
}

/// `publicTrade` data: an array of trades, each pushed as it is read.
struct TradesSeed<'a> {
    ctx: Ctx<'a>,
    out: &'a mut EventBuf,
}

impl<'de> Visitor<'de> for TradesSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of trades")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
        let ctx = self.ctx;
        while let Some(event) = seq.next_element_seed(TradeSeed { ctx })? {
            self.out
                .push(event)
                .map_err(|full| fail::<S::Error>(ctx.failure, full.into()))?;
        }
        Ok(())
    }
}

/// One trade `{T, s, S, v, p, i, ..}` → a finished `Trade` event.
struct TradeSeed<'a> {
    ctx: Ctx<'a>,
}

impl<'de> DeserializeSeed<'de> for TradeSeed<'_> {
    type Value = MarketEvent;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<MarketEvent, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TradeSeed<'_> {
    type Value = MarketEvent;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a trade {T, s, S, v, p, i}")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<MarketEvent, M::Error> {
        let failure = self.ctx.failure;
        let (mut time, mut instrument, mut side, mut qty, mut price, mut id) =
            (None, None, None, None, None, None);
        let mut seen = SeenKeys::default();
        while let Some(key) = map.next_key_seed(StrSeed(TradeKey::of))? {
            if !matches!(key, TradeKey::Other) {
                seen.first(key as u32, failure)?;
            }
            match key {
                TradeKey::Time => time = Some(map.next_value::<u64>()?),
                TradeKey::Symbol => {
                    let id = map.next_value_seed(StrSeed(|s: &str| self.ctx.symbols.get(s)))?;
                    instrument = Some(self.ctx.instrument(id)?);
                }
                TradeKey::Side => side = Some(map.next_value_seed(StrSeed(taker_side))?),
                TradeKey::Qty => {
                    let parsed = map.next_value_seed(StrSeed(Qty::from_decimal_str))?;
                    qty = Some(decimal(parsed, failure)?);
                }
                TradeKey::Price => {
                    let parsed = map.next_value_seed(StrSeed(Price::from_decimal_str))?;
                    price = Some(decimal(parsed, failure)?);
                }
                TradeKey::Id => id = Some(map.next_value_seed(StrSeed(numeric_id))?),
                TradeKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let aggressor = required(side, failure, "S")?.ok_or_else(|| de::Error::custom("side"))?;
        Ok(MarketEvent {
            ts_recv_raw: self.ctx.ts_recv_raw,
            ts_venue_ms: required(time, failure, "T")?,
            instrument: required(instrument, failure, "s")?,
            body: EventBody::Trade {
                price: required(price, failure, "p")?,
                qty: required(qty, failure, "v")?,
                aggressor,
                trade_id: required(id, failure, "i")?,
            },
        })
    }
}

/// A required field, or `MissingField(name)` through `failure`.
fn required<T, E: de::Error>(
    value: Option<T>,
    failure: &Failure,
    name: &'static str,
) -> Result<T, E> {
    value.ok_or_else(|| fail(failure, DecodeError::MissingField(name)))
}

/// Keys of one trade.
#[derive(Debug, Clone, Copy)]
enum TradeKey {
    Time,
    Symbol,
    Side,
    Qty,
    Price,
    Id,
    Other,
}

impl TradeKey {
    fn of(key: &str) -> Self {
        match key {
            "T" => TradeKey::Time,
            "s" => TradeKey::Symbol,
            "S" => TradeKey::Side,
            "v" => TradeKey::Qty,
            "p" => TradeKey::Price,
            "i" => TradeKey::Id,
            _ => TradeKey::Other,
        }
    }
}

/// The taker's side: `Bid` when the taker bought.
fn taker_side(side: &str) -> Option<Side> {
    match side {
        "Buy" => Some(Side::Bid),
        "Sell" => Some(Side::Ask),
        _ => None,
    }
}

/// A trade id as a number when it is one (spot: `"2290000000050703789"`), else 0
/// (linear: UUIDs, or beyond `u64`).
pub(super) fn numeric_id(id: &str) -> u64 {
    numeric_id_bytes(id.as_bytes())
}

/// [`numeric_id`] of the id's bytes (shared with the fast path): decimal digits only,
/// stopping at the first other byte.
pub(super) fn numeric_id_bytes(id: &[u8]) -> u64 {
    id.iter()
        .try_fold(0u64, |value, &b| {
            if b.is_ascii_digit() {
                value.checked_mul(10)?.checked_add(u64::from(b - b'0'))
            } else {
                None
            }
        })
        .unwrap_or(0)
}

/// `tickers` data: the funding fields present, and open interest.
struct TickerSeed<'a> {
    ctx: Ctx<'a>,
}

impl<'de> Visitor<'de> for TickerSeed<'_> {
    type Value = Ticker;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("tickers data")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Ticker, M::Error> {
        let failure = self.ctx.failure;
        let mut t = Ticker::default();
        let mut seen = SeenKeys::default();
        while let Some(key) = map.next_key_seed(StrSeed(TickerKey::of))? {
            if !matches!(key, TickerKey::Other) {
                seen.first(key as u32, failure)?;
            }
            match key {
                TickerKey::Symbol => {
                    let id = map.next_value_seed(StrSeed(|s: &str| self.ctx.symbols.get(s)))?;
                    t.instrument = Some(self.ctx.instrument(id)?);
                }
                TickerKey::Mark => t.mark = optional(&mut map, failure, Price::from_decimal_str)?,
                TickerKey::Index => {
                    t.index = optional(&mut map, failure, Price::from_decimal_str)?;
                }
                TickerKey::Rate => t.rate = optional(&mut map, failure, Rate::from_decimal_str)?,
                TickerKey::OpenInterest => {
                    t.open_interest = optional(&mut map, failure, Qty::from_decimal_str)?;
                }
                TickerKey::NextFunding => {
                    t.next_funding_ms = map
                        .next_value_seed(StrSeed(millis))?
                        .map_err(|()| de::Error::custom("nextFundingTime"))?;
                }
                TickerKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(t)
    }
}

/// A decimal string value; the empty string is `None`.
fn optional<'de, M: MapAccess<'de>, T>(
    map: &mut M,
    failure: &Failure,
    parse: fn(&str) -> Result<T, crate::types::DecimalError>,
) -> Result<Option<T>, M::Error> {
    let parsed = map.next_value_seed(StrSeed(|s: &str| (!s.is_empty()).then(|| parse(s))))?;
    parsed.map(|p| decimal(p, failure)).transpose()
}

/// Unix milliseconds sent as a string of digits; the empty string is `None`.
fn millis(text: &str) -> Result<Option<u64>, ()> {
    match text {
        "" => Ok(None),
        digits if digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse().map(Some).map_err(|_| ())
        }
        _ => Err(()),
    }
}

/// Keys of `tickers` data edgeline reads.
#[derive(Debug, Clone, Copy)]
enum TickerKey {
    Symbol,
    Mark,
    Index,
    Rate,
    NextFunding,
    OpenInterest,
    Other,
}

impl TickerKey {
    fn of(key: &str) -> Self {
        match key {
            "symbol" => TickerKey::Symbol,
            "markPrice" => TickerKey::Mark,
            "indexPrice" => TickerKey::Index,
            "fundingRate" => TickerKey::Rate,
            "nextFundingTime" => TickerKey::NextFunding,
            "openInterest" => TickerKey::OpenInterest,
            _ => TickerKey::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::json::assert_duplicates_refused;

    const BTC: InstrumentId = InstrumentId(3);

    fn decoder(kind: MarketKind) -> BybitDecoder {
        let mut symbols = SymbolMap::default();
        symbols.insert("BTCUSDT", BTC);
        BybitDecoder::new(kind, symbols)
    }

    fn decode_on(
        kind: MarketKind,
        frame: &str,
    ) -> (Result<Decoded, DecodeError>, Vec<MarketEvent>) {
        let mut buf = EventBuf::with_capacity(16);
        let result = decoder(kind).decode(frame.as_bytes(), 77, &mut buf);
        (result, buf.as_slice().to_vec())
    }

    fn decode(frame: &str) -> (Result<Decoded, DecodeError>, Vec<MarketEvent>) {
        decode_on(MarketKind::Perp, frame)
    }

    fn px(s: &str) -> Price {
        Price::from_decimal_str(s).unwrap()
    }

    fn qty(s: &str) -> Qty {
        Qty::from_decimal_str(s).unwrap()
    }

    fn level(side: Side, price: &str, size: &str) -> EventBody {
        EventBody::DepthLevel {
            side,
            price: px(price),
            qty: qty(size),
        }
    }

    /// From <https://bybit-exchange.github.io/docs/v5/websocket/public/orderbook>.
    const BOOK_SNAPSHOT: &str = r#"{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1672304484978,"data":{"s":"BTCUSDT","b":[["16493.50","0.006"],["16493.00","0.100"]],"a":[["16611.00","0.029"],["16612.00","0.213"]],"u":18521288,"seq":7961638724},"cts":1672304484976}"#;

    #[test]
    fn test_duplicated_keys_of_hot_messages_are_refused() {
        const BOOK: &str = r#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1672304484978,"data":{"s":"BTCUSDT","b":[["16493.50","0.006"]],"a":[["16611.00","0.029"]],"u":18521288,"seq":7961638724}}"#;
        const TRADE: &str = r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":1672304486865,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick","i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false}]}"#;
        const TICKER: &str = r#"{"topic":"tickers.BTCUSDT","type":"snapshot","ts":1673272861686,"data":{"symbol":"BTCUSDT","markPrice":"17217.33","indexPrice":"17227.36","fundingRate":"-0.000212","nextFundingTime":"1673280000000","openInterest":"68744.761"}}"#;
        assert_duplicates_refused(
            decode,
            &[
                (BOOK, "b", r#"[["16493.00","1"]]"#),
                (BOOK, "a", r#"[["16612.00","1"]]"#),
                (BOOK, "u", "18521287"),
                (BOOK, "s", r#""BTCUSDT""#),
                (BOOK, "type", r#""snapshot""#),
                (BOOK, "ts", "1"),
                (BOOK, "data", r#"{"s":"BTCUSDT","b":[],"a":[],"u":1}"#),
                (TRADE, "p", r#""1""#),
                (TRADE, "v", r#""1""#),
                (TRADE, "S", r#""Sell""#),
                (TRADE, "T", "1"),
                (TICKER, "markPrice", r#""1""#),
                (TICKER, "fundingRate", r#""0.1""#),
                (TICKER, "openInterest", r#""1""#),
            ],
        );
    }

    #[test]
    fn test_decode_book_snapshot_header_then_levels_in_order() {
        let (r, ev) = decode(BOOK_SNAPSHOT);
        assert_eq!(r, Ok(Decoded::Events(5)));
        assert_eq!(
            ev[0].body,
            EventBody::DepthBegin {
                first_update_id: 18521288,
                last_update_id: 18521288,
                prev_update_id: 0,
                levels: 4,
                snapshot: true,
                checksum: None,
            }
        );
        let bodies: Vec<EventBody> = ev[1..].iter().map(|e| e.body).collect();
        assert_eq!(
            bodies,
            [
                level(Side::Bid, "16493.50", "0.006"),
                level(Side::Bid, "16493.00", "0.1"),
                level(Side::Ask, "16611", "0.029"),
                level(Side::Ask, "16612", "0.213"),
            ]
        );
        assert!(
            ev.iter().all(|e| e.instrument == BTC
                && e.ts_venue_ms == 1672304484978
                && e.ts_recv_raw == 77)
        );
    }

    #[test]
    fn test_decode_book_delta_any_depth_with_deletes() {
        let (r, ev) = decode_on(
            MarketKind::Spot,
            r#"{"topic":"orderbook.1.BTCUSDT","ts":1682092584425,"type":"delta","data":{"s":"BTCUSDT","b":[["27994.60","0"],["27991.70","0.777"]],"a":[],"u":1188472,"seq":11155892580}}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(3)));
        assert!(matches!(
            ev[0].body,
            EventBody::DepthBegin {
                first_update_id: 1188472,
                last_update_id: 1188472,
                levels: 2,
                snapshot: false,
                ..
            }
        ));
        assert_eq!(ev[1].body, level(Side::Bid, "27994.6", "0"));
        let deep = r#"{"topic":"orderbook.500.BTCUSDT","type":"snapshot","ts":5,"data":{"s":"BTCUSDT","b":[],"a":[["1.9532","100"]],"u":1,"seq":9},"cts":4}"#;
        let (r, ev) = decode(deep);
        assert_eq!(r, Ok(Decoded::Events(2)));
        assert!(
            matches!(
                ev[0].body,
                EventBody::DepthBegin {
                    snapshot: true,
                    last_update_id: 1,
                    ..
                }
            ),
            "u=1 (the venue restarted its book) is still just a snapshot"
        );
    }

    #[test]
    fn test_decode_is_independent_of_key_order() {
        let reordered = r#"{"cts":1672304484976,"data":{"seq":7961638724,"u":18521288,"a":[["16611.00","0.029"],["16612.00","0.213"]],"b":[["16493.50","0.006"],["16493.00","0.100"]],"s":"BTCUSDT"},"ts":1672304484978,"type":"snapshot","topic":"orderbook.50.BTCUSDT"}"#;
        let (r, ev) = decode(reordered);
        let (r0, ev0) = decode(BOOK_SNAPSHOT);
        assert_eq!(r, r0);
        assert_eq!(ev[0], ev0[0]);
        assert_eq!(
            ev[1].body, ev0[3].body,
            "asks first, as this frame sent them"
        );
        let trade_late_topic = r#"{"data":[{"T":1,"s":"BTCUSDT","S":"Buy","v":"1","p":"2","i":"7"}],"type":"snapshot","topic":"publicTrade.BTCUSDT"}"#;
        assert_eq!(decode(trade_late_topic).0, Ok(Decoded::Events(1)));
        let kline_late_topic = r#"{"data":[{"start":1}],"topic":"kline.1.BTCUSDT"}"#;
        assert_eq!(decode(kline_late_topic), (Ok(Decoded::Unknown), vec![]));
    }

    #[test]
    fn test_decode_linear_trades_one_event_each_uuid_id_is_zero() {
        // From <https://bybit-exchange.github.io/docs/v5/websocket/public/trade>, plus a sell.
        let (r, ev) = decode(
            r#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1672304486868,"data":[{"T":1672304486865,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"16578.50","L":"PlusTick","i":"20f43950-d8dd-5b31-9112-a178eb6023af","BT":false},{"T":1672304486866,"s":"BTCUSDT","S":"Sell","v":"0.25","p":"16578.00","L":"MinusTick","i":"2a2a0b8a-0d21-5b31-9112-a178eb6023af","BT":false}]}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(2)));
        assert_eq!(
            ev[0].body,
            EventBody::Trade {
                price: px("16578.5"),
                qty: qty("0.001"),
                aggressor: Side::Bid,
                trade_id: 0,
            }
        );
        assert_eq!(ev[0].ts_venue_ms, 1672304486865);
        assert_eq!(ev[1].ts_venue_ms, 1672304486866);
        assert!(matches!(
            ev[1].body,
            EventBody::Trade {
                aggressor: Side::Ask,
                ..
            }
        ));
        assert!(
            ev.iter()
                .all(|e| e.instrument == BTC && e.ts_recv_raw == 77)
        );
    }

    #[test]
    fn test_decode_spot_trade_numeric_id() {
        let (r, ev) = decode_on(
            MarketKind::Spot,
            r#"{"topic":"publicTrade.BTCUSDT","ts":1680652847526,"type":"snapshot","data":[{"i":"2290000000050703789","T":1680652847524,"p":"28165.38","v":"0.041732","S":"Sell","s":"BTCUSDT","BT":false}]}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(1)));
        assert_eq!(
            ev[0].body,
            EventBody::Trade {
                price: px("28165.38"),
                qty: qty("0.041732"),
                aggressor: Side::Ask,
                trade_id: 2290000000050703789,
            }
        );
        assert_eq!(numeric_id("99999999999999999999"), 0, "beyond u64");
        assert_eq!(numeric_id("+5"), 0);
    }

    /// From <https://bybit-exchange.github.io/docs/v5/websocket/public/ticker> (linear).
    const TICKER_SNAPSHOT: &str = r#"{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","tickDirection":"PlusTick","price24hPcnt":"0.017103","lastPrice":"17216.00","prevPrice24h":"16926.50","highPrice24h":"17281.50","lowPrice24h":"16915.00","prevPrice1h":"17238.00","markPrice":"17217.33","indexPrice":"17227.36","openInterest":"68744.761","openInterestValue":"1183601235.91","turnover24h":"1570383121.943499","volume24h":"91705.276","nextFundingTime":"1673280000000","fundingRate":"-0.000212","bid1Price":"17215.50","bid1Size":"84.489","ask1Price":"17216.00","ask1Size":"83.020"},"cs":24987956059,"ts":1673272861686}"#;

    #[test]
    fn test_decode_ticker_snapshot_funding_and_open_interest() {
        let (r, ev) = decode(TICKER_SNAPSHOT);
        assert_eq!(r, Ok(Decoded::Events(2)));
        assert_eq!(
            ev[0].body,
            EventBody::Funding {
                mark: px("17217.33"),
                index: px("17227.36"),
                rate: Rate::from_decimal_str("-0.000212").unwrap(),
                next_funding_ms: 1673280000000,
                fields: FundingFields::ALL,
            }
        );
        assert_eq!(
            ev[1].body,
            EventBody::OpenInterest {
                qty: qty("68744.761")
            }
        );
        assert!(
            ev.iter()
                .all(|e| e.ts_venue_ms == 1673272861686 && e.instrument == BTC)
        );
    }

    #[test]
    fn test_decode_ticker_delta_sets_only_present_fields() {
        let (r, ev) = decode(
            r#"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","markPrice":"65117.50","bid1Price":"65114.20"},"cs":1,"ts":1786310817883}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(1)));
        assert_eq!(
            ev[0].body,
            EventBody::Funding {
                mark: px("65117.5"),
                index: Price::ZERO,
                rate: Rate::ZERO,
                next_funding_ms: 0,
                fields: FundingFields::MARK,
            }
        );
        let (r, ev) = decode(
            r#"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","openInterest":"449736674","fundingRate":""},"cs":1,"ts":2}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(1)), "empty fundingRate is absent");
        assert_eq!(
            ev[0].body,
            EventBody::OpenInterest {
                qty: qty("449736674")
            }
        );
        let (r, ev) = decode(
            r#"{"topic":"tickers.BTCUSDT","type":"delta","data":{"symbol":"BTCUSDT","bid1Price":"65114.20","bid1Size":"6.054"},"cs":1,"ts":3}"#,
        );
        assert_eq!((r, ev.len()), (Ok(Decoded::Events(0)), 0));
    }

    #[test]
    fn test_decode_spot_tickers_are_unknown() {
        let spot = r#"{"topic":"tickers.BTCUSDT","ts":1786310819126,"type":"snapshot","cs":112488546160,"data":{"symbol":"BTCUSDT","lastPrice":"65140.5","usdIndexPrice":"65091.459221"}}"#;
        assert_eq!(
            decode_on(MarketKind::Spot, spot),
            (Ok(Decoded::Unknown), vec![])
        );
        assert_eq!(
            decode_on(MarketKind::Spot, TICKER_SNAPSHOT).0,
            Ok(Decoded::Unknown)
        );
    }

    #[test]
    fn test_decode_control_messages() {
        let cases: &[(&str, Result<Decoded, DecodeError>)] = &[
            (
                r#"{"success":true,"ret_msg":"","conn_id":"d8bu1olkndm7crnfs1e0-j6akw","req_id":"","op":"subscribe"}"#,
                Ok(Decoded::Ack),
            ),
            (
                r#"{"success":true,"ret_msg":"subscribe","conn_id":"d9avt8shteepr00gfc1g-4zd1x","op":"subscribe"}"#,
                Ok(Decoded::Ack),
            ),
            (
                r#"{"success":true,"ret_msg":"","conn_id":"a","req_id":"","op":"unsubscribe"}"#,
                Ok(Decoded::Ack),
            ),
            (
                r#"{"success":true,"ret_msg":"pong","conn_id":"0970e817-426e-429a-a679-ff7f55e0b16a","op":"ping"}"#,
                Ok(Decoded::Heartbeat),
            ),
            (
                r#"{"req_id":"100001","op":"pong","args":["1672916271846"],"conn_id":"cdfbp1o5bd0u6kq0tupg"}"#,
                Ok(Decoded::Heartbeat),
            ),
            (
                r#"{"success":false,"ret_msg":"error:handler not found","conn_id":"a","req_id":"","op":"subscribe"}"#,
                Err(DecodeError::VenueError),
            ),
            (r#"{"conn_id":"a"}"#, Ok(Decoded::Unknown)),
        ];
        for (frame, want) in cases {
            assert_eq!(decode(frame), (*want, vec![]), "{frame}");
        }
    }

    /// Retired v1/v2 formats are well formed but not v5: `Unknown`, never an error.
    #[test]
    fn test_decode_legacy_formats_are_unknown() {
        let legacy = [
            r#"{"topic":"trade.BTCUSDT","data":[{"symbol":"BTCUSDT","tick_direction":"MinusTick","price":"9452.00","size":0.001,"timestamp":"2020-05-28T16:31:02.000Z","trade_time_ms":"1590683462124","side":"Sell","trade_id":"bfbbb893-0971-5733-8eb2-aab164d0a552"}]}"#,
            r#"{"topic":"orderBookL2_25.BTCUSD","type":"snapshot","data":[{"price":"9462.50","symbol":"BTCUSD","id":94625000,"side":"Buy","size":35140}],"cross_seq":1628388493,"timestamp_e6":1590682503318949}"#,
            r#"{"topic":"depth","params":{"symbol":"BITBTC","binary":"false","symbolName":"BITBTC"},"data":{"s":"BITBTC","t":1659311999986,"v":"132777961_22362914_8","b":[["0.00002949","25862.5"]],"a":[["0.00002951","555.8"]]}}"#,
            r#"{"ret_code":0,"ret_msg":"OK","ext_code":"","ext_info":"","result":[],"time_now":"1654338598.173452"}"#,
        ];
        for frame in legacy {
            assert_eq!(decode(frame), (Ok(Decoded::Unknown), vec![]), "{frame}");
        }
    }

    #[test]
    fn test_decode_malformed_is_typed_and_leaves_nothing() {
        let book = |data: &str| {
            format!(r#"{{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1,"data":{data}}}"#)
        };
        let trade = |data: &str| format!(r#"{{"topic":"publicTrade.BTCUSDT","data":[{data}]}}"#);
        let cases: Vec<(String, DecodeError)> = vec![
            (String::new(), DecodeError::Json),
            ("{not json".into(), DecodeError::Json),
            ("[1,2,3]".into(), DecodeError::Json),
            (BOOK_SNAPSHOT[..BOOK_SNAPSHOT.len() - 1].into(), DecodeError::Json),
            (book(r#"{"s":"BTCUSDT","b":[],"a":[]}"#), DecodeError::MissingField("u")),
            (book(r#"{"b":[],"a":[],"u":1}"#), DecodeError::MissingField("s")),
            (book(r#"{"s":"ETHUSDT","b":[],"a":[],"u":1}"#), DecodeError::UnknownSymbol),
            (book(r#"{"s":"BTCUSDT","b":[["1","2","3"]],"a":[],"u":1}"#), DecodeError::Json),
            (book(r#"{"s":"BTCUSDT","b":[[1.5,"2"]],"a":[],"u":1}"#), DecodeError::Json),
            (
                r#"{"topic":"orderbook.50.BTCUSDT","ts":1,"data":{"s":"BTCUSDT","b":[],"a":[],"u":1}}"#.into(),
                DecodeError::MissingField("type"),
            ),
            (
                r#"{"topic":"orderbook.50.BTCUSDT","type":"delta","data":{"s":"BTCUSDT","b":[],"a":[],"u":1}}"#.into(),
                DecodeError::MissingField("ts"),
            ),
            (
                r#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1}"#.into(),
                DecodeError::MissingField("data"),
            ),
            (
                r#"{"topic":"orderbook.50.BTCUSDT","topic":"publicTrade.BTCUSDT","data":[]}"#.into(),
                DecodeError::DuplicateKey,
            ),
            (
                r#"{"topic":"publicTrade.BTCUSDT","data":[],"data":[]}"#.into(),
                DecodeError::DuplicateKey,
            ),
            (trade(r#"{"T":1,"s":"BTCUSDT","S":"Buy","v":"1","i":"1"}"#), DecodeError::MissingField("p")),
            (trade(r#"{"T":1,"s":"BTCUSDT","S":"Hold","v":"1","p":"1","i":"1"}"#), DecodeError::Json),
            (trade(r#"{"T":1,"s":"XRPUSDT","S":"Buy","v":"1","p":"1","i":"1"}"#), DecodeError::UnknownSymbol),
            (
                r#"{"topic":"tickers.BTCUSDT","type":"delta","ts":1,"data":{"symbol":"BTCUSDT","nextFundingTime":"soon"}}"#.into(),
                DecodeError::Json,
            ),
            (
                r#"{"topic":"tickers.BTCUSDT","type":"delta","data":{"markPrice":"1"},"ts":1}"#.into(),
                DecodeError::MissingField("symbol"),
            ),
        ];
        for (frame, want) in &cases {
            let (r, ev) = decode(frame);
            assert_eq!(r, Err(*want), "{frame}");
            assert!(ev.is_empty(), "{frame}");
        }
        let (r, ev) = decode(&book(r#"{"s":"BTCUSDT","b":[["1.0x","2"]],"a":[],"u":1}"#));
        assert!(matches!(r, Err(DecodeError::Decimal(e)) if e.input() == "1.0x"));
        assert!(ev.is_empty());
    }

    /// Found by `tests/fuzz_bybit.rs`: a byte flipped to invalid UTF-8 inside a value the
    /// decoder skips (here a kline's `data`, before `topic`) must still reject the frame.
    #[test]
    fn test_decode_invalid_utf8_anywhere_is_json_error() {
        let frames: [&[u8]; 2] = [
            b"{\"data\":[{\"x\":\"\xff\"}],\"topic\":\"kline.1.BTCUSDT\"}",
            b"{\"success\":true,\"ret_msg\":\"\xc3\",\"op\":\"subscribe\"}",
        ];
        for frame in frames {
            let mut buf = EventBuf::with_capacity(4);
            let r = decoder(MarketKind::Perp).decode(frame, 0, &mut buf);
            assert_eq!(r, Err(DecodeError::Json));
        }
    }

    #[test]
    fn test_decode_too_many_events_keeps_earlier_frames() {
        let mut buf = EventBuf::with_capacity(4);
        let mut d = decoder(MarketKind::Perp);
        let trade = r#"{"topic":"publicTrade.BTCUSDT","data":[{"T":1,"s":"BTCUSDT","S":"Buy","v":"1","p":"2","i":"3"}]}"#;
        assert_eq!(
            d.decode(trade.as_bytes(), 1, &mut buf),
            Ok(Decoded::Events(1))
        );
        assert_eq!(
            d.decode(BOOK_SNAPSHOT.as_bytes(), 2, &mut buf),
            Err(DecodeError::TooManyEvents)
        );
        assert_eq!(
            buf.len(),
            1,
            "the earlier frame's event stays, nothing of this one"
        );
        assert_eq!(
            d.decode(TICKER_SNAPSHOT.as_bytes(), 3, &mut buf),
            Ok(Decoded::Events(2))
        );
        assert_eq!(
            d.decode(TICKER_SNAPSHOT.as_bytes(), 4, &mut buf),
            Err(DecodeError::TooManyEvents)
        );
        assert_eq!(buf.len(), 3);
    }
}
