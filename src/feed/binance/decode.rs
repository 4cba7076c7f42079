//! Binance spot and USD-M futures decoder: one WebSocket text frame → `MarketEvent`s.
//!
//! Handles `bookTicker` (spot: no event type, no event time; futures: `"e":"bookTicker"`),
//! diff depth `depthUpdate` (spot `U`/`u`, futures `U`/`u`/`pu`), `markPriceUpdate` and
//! the subscription acknowledgement `{"result":null,"id":N}`, raw or wrapped in the
//! combined-stream envelope `{"stream":..,"data":{..}}`. Single pass with sonic-rs
//! through serde visitors that parse decimal strings straight into fixed point and write
//! levels into the caller's preallocated [`EventBuf`]: no allocation per message, no `f64`,
//! independent of key order. Runs on the feed stage's thread.
//!
//! Wire formats: <https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams>
//! and <https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams>.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::feed::event_buf::{EventBuf, EventBufFull};
use crate::feed::symbols::SymbolMap;
use crate::types::{DecimalError, EventBody, InstrumentId, MarketEvent, Price, Qty, Rate, Side};

/// What a frame turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    /// Market data: this many events were appended to the buffer.
    Events(usize),
    /// The venue acknowledged a subscription.
    Ack,
    /// A well-formed message of a type this decoder does not handle (skipped).
    Unknown,
}

/// Why a frame could not be decoded. `Copy`, so the hot path can count and keep it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON, or JSON of an unexpected shape.
    #[error("malformed JSON or unexpected shape")]
    Json,
    /// A price or quantity string that is not an exact decimal in range.
    #[error("bad decimal: {0}")]
    Decimal(DecimalError),
    /// A field this message type requires is absent.
    #[error("missing field `{0}`")]
    MissingField(&'static str),
    /// A symbol that is not configured on this connection.
    #[error("symbol not configured on this connection")]
    UnknownSymbol,
    /// More levels than the event buffer holds.
    #[error("more events in one frame than the configured maximum")]
    TooManyEvents,
}

impl From<EventBufFull> for DecodeError {
    fn from(_: EventBufFull) -> Self {
        DecodeError::TooManyEvents
    }
}

/// Decoder for one Binance connection (spot or futures: the format tells them apart).
#[derive(Debug, Clone)]
pub struct BinanceDecoder {
    symbols: SymbolMap,
}

impl BinanceDecoder {
    /// A decoder resolving the connection's wire symbols to instrument ids.
    pub fn new(symbols: SymbolMap) -> Self {
        Self { symbols }
    }

    /// Decodes one frame, appending its events (stamped with `ts_recv_raw`) to `out`.
    /// On error nothing is left in `out` from this frame.
    pub fn decode(
        &self,
        frame: &[u8],
        ts_recv_raw: u64,
        out: &mut EventBuf,
    ) -> Result<Decoded, DecodeError> {
        let start = out.len();
        let result = self.decode_into(frame, ts_recv_raw, out, start);
        if !matches!(result, Ok(Decoded::Events(_))) {
            out.truncate(start);
        }
        result
    }

    fn decode_into(
        &self,
        frame: &[u8],
        ts_recv_raw: u64,
        out: &mut EventBuf,
        start: usize,
    ) -> Result<Decoded, DecodeError> {
        out.push(placeholder(ts_recv_raw))?;
        let failure = Cell::new(None);
        let mut de = sonic_rs::Deserializer::from_slice(frame);
        let fields = MessageSeed {
            symbols: &self.symbols,
            out,
            failure: &failure,
        }
        .deserialize(&mut de)
        .and_then(|fields| de.end().map(|()| fields))
        .map_err(|_| failure.get().unwrap_or(DecodeError::Json))?;
        finish(fields, out, start, ts_recv_raw)
    }
}

fn placeholder(ts_recv_raw: u64) -> MarketEvent {
    MarketEvent {
        ts_recv_raw,
        ts_venue_ms: 0,
        instrument: InstrumentId::default(),
        body: EventBody::DepthBegin {
            first_update_id: 0,
            last_update_id: 0,
            prev_update_id: 0,
            levels: 0,
        },
    }
}

/// Message type from the `e` field (spot `bookTicker` has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Kind {
    #[default]
    Absent,
    DepthUpdate,
    BookTicker,
    MarkPrice,
    Other,
}

/// Every field of every handled message, as collected in one pass.
#[derive(Debug, Default)]
struct Fields {
    kind: Kind,
    event_ms: Option<u64>,
    t: Option<u64>,
    instrument: Option<InstrumentId>,
    first_id: Option<u64>,
    last_id: Option<u64>,
    prev_id: Option<u64>,
    bid: Option<Price>,
    bid_qty: Option<Qty>,
    ask: Option<Price>,
    ask_qty: Option<Qty>,
    levels: usize,
    mark: Option<Price>,
    index: Option<Price>,
    rate: Option<Rate>,
    is_ack: bool,
}

fn need<T>(value: Option<T>, name: &'static str) -> Result<T, DecodeError> {
    value.ok_or(DecodeError::MissingField(name))
}

/// Turns the collected fields into the header event at `start` and stamps every event.
fn finish(
    f: Fields,
    out: &mut EventBuf,
    start: usize,
    ts_recv_raw: u64,
) -> Result<Decoded, DecodeError> {
    let body = match f.kind {
        Kind::Absent if f.is_ack => return Ok(Decoded::Ack),
        Kind::Absent | Kind::BookTicker if f.bid.is_some() => EventBody::TopOfBook {
            bid: need(f.bid, "b")?,
            bid_qty: need(f.bid_qty, "B")?,
            ask: need(f.ask, "a")?,
            ask_qty: need(f.ask_qty, "A")?,
            update_id: need(f.last_id, "u")?,
        },
        Kind::DepthUpdate => EventBody::DepthBegin {
            first_update_id: need(f.first_id, "U")?,
            last_update_id: need(f.last_id, "u")?,
            prev_update_id: f.prev_id.unwrap_or(0),
            levels: u16::try_from(f.levels).map_err(|_| DecodeError::TooManyEvents)?,
        },
        Kind::MarkPrice => EventBody::Funding {
            mark: need(f.mark, "p")?,
            index: need(f.index, "i")?,
            rate: need(f.rate, "r")?,
            next_funding_ms: need(f.t, "T")?,
        },
        _ => return Ok(Decoded::Unknown),
    };
    let instrument = need(f.instrument, "s")?;
    let ts_venue_ms = f.event_ms.unwrap_or(0);
    let events = out.tail_mut(start);
    for event in events.iter_mut() {
        event.ts_recv_raw = ts_recv_raw;
        event.ts_venue_ms = ts_venue_ms;
        event.instrument = instrument;
    }
    events[0].body = body;
    Ok(Decoded::Events(events.len()))
}

/// Keys of every handled message. Binance keys are case-sensitive (`b` vs `B`).
#[derive(Debug, Clone, Copy)]
enum Key {
    EventType,
    EventTime,
    T,
    Symbol,
    FirstId,
    LastId,
    PrevId,
    Bid,
    BidQty,
    Ask,
    AskQty,
    Mark,
    Index,
    Rate,
    Result,
    Data,
    Other,
}

impl Key {
    fn from_bytes(key: &str) -> Self {
        match key {
            "e" => Key::EventType,
            "E" => Key::EventTime,
            "T" => Key::T,
            "s" => Key::Symbol,
            "U" => Key::FirstId,
            "u" => Key::LastId,
            "pu" => Key::PrevId,
            "b" => Key::Bid,
            "B" => Key::BidQty,
            "a" => Key::Ask,
            "A" => Key::AskQty,
            "p" => Key::Mark,
            "i" => Key::Index,
            "r" => Key::Rate,
            "result" => Key::Result,
            "data" => Key::Data,
            _ => Key::Other,
        }
    }
}

/// A borrowed-or-transient string handed to a closure, never stored.
struct StrSeed<F>(F);

impl<'de, T, F: FnOnce(&str) -> T> DeserializeSeed<'de> for StrSeed<F> {
    type Value = T;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, T, F: FnOnce(&str) -> T> Visitor<'de> for StrSeed<F> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        Ok((self.0)(v))
    }
}

/// Records a decimal failure for the caller and turns it into a serde error.
fn decimal<T, E: de::Error>(
    parsed: Result<T, DecimalError>,
    failure: &Cell<Option<DecodeError>>,
) -> Result<T, E> {
    parsed.map_err(|e| {
        failure.set(Some(DecodeError::Decimal(e)));
        E::custom("decimal")
    })
}

struct MessageSeed<'a> {
    symbols: &'a SymbolMap,
    out: &'a mut EventBuf,
    failure: &'a Cell<Option<DecodeError>>,
}

impl<'de> DeserializeSeed<'de> for MessageSeed<'_> {
    type Value = Fields;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Fields, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MessageSeed<'_> {
    type Value = Fields;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Binance stream message")
    }

    fn visit_map<M: MapAccess<'de>>(mut self, mut map: M) -> Result<Fields, M::Error> {
        let mut f = Fields::default();
        while let Some(key) = map.next_key_seed(StrSeed(Key::from_bytes))? {
            self.field(key, &mut f, &mut map)?;
        }
        Ok(f)
    }
}

impl MessageSeed<'_> {
    fn field<'de, M: MapAccess<'de>>(
        &mut self,
        key: Key,
        f: &mut Fields,
        map: &mut M,
    ) -> Result<(), M::Error> {
        let failure = self.failure;
        let price = |map: &mut M| -> Result<Price, M::Error> {
            decimal(
                map.next_value_seed(StrSeed(Price::from_decimal_str))?,
                failure,
            )
        };
        let qty = |map: &mut M| -> Result<Qty, M::Error> {
            decimal(
                map.next_value_seed(StrSeed(Qty::from_decimal_str))?,
                failure,
            )
        };
        match key {
            Key::EventType => f.kind = map.next_value_seed(StrSeed(kind_of))?,
            Key::EventTime => f.event_ms = Some(map.next_value()?),
            Key::T => f.t = Some(map.next_value()?),
            Key::Symbol => f.instrument = Some(self.symbol(map)?),
            Key::FirstId => f.first_id = Some(map.next_value()?),
            Key::LastId => f.last_id = Some(map.next_value()?),
            Key::PrevId => f.prev_id = Some(map.next_value()?),
            Key::Bid | Key::Ask => self.bid_or_ask(key, f, map)?,
            Key::BidQty => f.bid_qty = Some(qty(map)?),
            Key::AskQty => f.ask_qty = Some(qty(map)?),
            Key::Mark => f.mark = Some(price(map)?),
            Key::Index => f.index = Some(price(map)?),
            Key::Rate => {
                let parsed = map.next_value_seed(StrSeed(Rate::from_decimal_str))?;
                f.rate = Some(decimal(parsed, failure)?);
            }
            Key::Result => {
                map.next_value::<IgnoredAny>()?;
                f.is_ack = true;
            }
            Key::Data => {
                *f = map.next_value_seed(MessageSeed {
                    symbols: self.symbols,
                    out: &mut *self.out,
                    failure: self.failure,
                })?;
            }
            Key::Other => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    fn symbol<'de, M: MapAccess<'de>>(&self, map: &mut M) -> Result<InstrumentId, M::Error> {
        map.next_value_seed(StrSeed(|s: &str| self.symbols.get(s)))?
            .ok_or_else(|| {
                self.failure.set(Some(DecodeError::UnknownSymbol));
                de::Error::custom("symbol")
            })
    }

    /// `b`/`a` are a price string in `bookTicker` and a level array in `depthUpdate`.
    fn bid_or_ask<'de, M: MapAccess<'de>>(
        &mut self,
        key: Key,
        f: &mut Fields,
        map: &mut M,
    ) -> Result<(), M::Error> {
        let side = if matches!(key, Key::Bid) {
            Side::Bid
        } else {
            Side::Ask
        };
        let seed = PriceOrLevels {
            side,
            out: self.out,
            failure: self.failure,
        };
        match map.next_value_seed(seed)? {
            PriceOrCount::Price(p) if side == Side::Bid => f.bid = Some(p),
            PriceOrCount::Price(p) => f.ask = Some(p),
            PriceOrCount::Levels(n) => f.levels += n,
        }
        Ok(())
    }
}

/// `b`/`a` value: a price (top of book) or the number of levels written (depth).
enum PriceOrCount {
    Price(Price),
    Levels(usize),
}

struct PriceOrLevels<'a> {
    side: Side,
    out: &'a mut EventBuf,
    failure: &'a Cell<Option<DecodeError>>,
}

impl<'de> DeserializeSeed<'de> for PriceOrLevels<'_> {
    type Value = PriceOrCount;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<PriceOrCount, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PriceOrLevels<'_> {
    type Value = PriceOrCount;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a price string or an array of [price, qty] levels")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<PriceOrCount, E> {
        decimal(Price::from_decimal_str(v), self.failure).map(PriceOrCount::Price)
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<PriceOrCount, S::Error> {
        let mut count = 0;
        while let Some((price, qty)) = seq.next_element_seed(LevelSeed(self.failure))? {
            let level = EventBody::DepthLevel {
                side: self.side,
                price,
                qty,
            };
            let event = MarketEvent {
                body: level,
                ..placeholder(0)
            };
            self.out.push(event).map_err(|full| {
                self.failure.set(Some(full.into()));
                de::Error::custom("full")
            })?;
            count += 1;
        }
        Ok(PriceOrCount::Levels(count))
    }
}

/// One `["price","qty"]` pair.
struct LevelSeed<'a>(&'a Cell<Option<DecodeError>>);

impl<'de> DeserializeSeed<'de> for LevelSeed<'_> {
    type Value = (Price, Qty);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(Price, Qty), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for LevelSeed<'_> {
    type Value = (Price, Qty);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a [price, qty] pair of decimal strings")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(Price, Qty), S::Error> {
        let price = seq.next_element_seed(StrSeed(Price::from_decimal_str))?;
        let qty = seq.next_element_seed(StrSeed(Qty::from_decimal_str))?;
        let (Some(price), Some(qty)) = (price, qty) else {
            return Err(de::Error::invalid_length(0, &self));
        };
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(3, &self));
        }
        Ok((decimal(price, self.0)?, decimal(qty, self.0)?))
    }
}

fn kind_of(e: &str) -> Kind {
    match e {
        "depthUpdate" => Kind::DepthUpdate,
        "bookTicker" => Kind::BookTicker,
        "markPriceUpdate" => Kind::MarkPrice,
        _ => Kind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPOT: InstrumentId = InstrumentId(0);

    fn decoder() -> BinanceDecoder {
        let mut symbols = SymbolMap::default();
        symbols.insert("BNBUSDT", SPOT);
        BinanceDecoder::new(symbols)
    }

    fn decode(frame: &str) -> (Result<Decoded, DecodeError>, Vec<MarketEvent>) {
        let mut buf = EventBuf::with_capacity(16);
        let result = decoder().decode(frame.as_bytes(), 77, &mut buf);
        (result, buf.as_slice().to_vec())
    }

    fn px(s: &str) -> Price {
        Price::from_decimal_str(s).unwrap()
    }

    #[test]
    fn test_decode_spot_book_ticker() {
        let (r, ev) = decode(
            r#"{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(1)));
        assert_eq!(ev[0].ts_recv_raw, 77);
        assert_eq!(ev[0].ts_venue_ms, 0);
        assert_eq!(
            ev[0].body,
            EventBody::TopOfBook {
                bid: px("25.3519"),
                bid_qty: Qty::from_decimal_str("31.21").unwrap(),
                ask: px("25.3652"),
                ask_qty: Qty::from_decimal_str("40.66").unwrap(),
                update_id: 400900217,
            }
        );
    }

    #[test]
    fn test_decode_futures_book_ticker_keeps_event_time() {
        let (r, ev) = decode(
            r#"{"e":"bookTicker","u":400900217,"E":1568014460893,"T":1568014460891,"s":"BNBUSDT","b":"25.35190","B":"31.21","a":"25.36520","A":"40.66"}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(1)));
        assert_eq!(ev[0].ts_venue_ms, 1568014460893);
    }

    #[test]
    fn test_decode_futures_depth_update_levels_in_order() {
        let (r, ev) = decode(
            r#"{"e":"depthUpdate","E":123456789,"T":123456788,"s":"BNBUSDT","U":157,"u":160,"pu":149,"b":[["0.0024","10"]],"a":[["0.0026","100"],["0.0027","0"]]}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(4)));
        assert_eq!(
            ev[0].body,
            EventBody::DepthBegin {
                first_update_id: 157,
                last_update_id: 160,
                prev_update_id: 149,
                levels: 3
            }
        );
        assert_eq!(
            ev[3].body,
            EventBody::DepthLevel {
                side: Side::Ask,
                price: px("0.0027"),
                qty: Qty::ZERO
            }
        );
        assert!(
            ev.iter()
                .all(|e| e.instrument == SPOT && e.ts_venue_ms == 123456789)
        );
    }

    #[test]
    fn test_decode_mark_price_and_combined_envelope() {
        let (r, ev) = decode(
            r#"{"stream":"bnbusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1562305380000,"s":"BNBUSDT","p":"11794.15000000","i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(1)));
        assert_eq!(
            ev[0].body,
            EventBody::Funding {
                mark: px("11794.15"),
                index: px("11784.62659091"),
                rate: Rate::from_decimal_str("0.00038167").unwrap(),
                next_funding_ms: 1562306400000,
            }
        );
    }

    #[test]
    fn test_decode_ack_and_unknown() {
        assert_eq!(decode(r#"{"result":null,"id":1}"#).0, Ok(Decoded::Ack));
        let trade = r#"{"e":"trade","E":1,"s":"BNBUSDT","t":1,"p":"1.0","q":"2.0","T":1,"m":true}"#;
        let (r, ev) = decode(trade);
        assert_eq!(r, Ok(Decoded::Unknown));
        assert!(ev.is_empty());
    }

    #[test]
    fn test_decode_malformed_is_typed_and_leaves_nothing() {
        let cases: &[(&str, DecodeError)] = &[
            ("", DecodeError::Json),
            ("{not json", DecodeError::Json),
            (
                r#"{"u":1,"s":"BNBUSDT","b":"1.0","B":"1","a":"1.1""#,
                DecodeError::Json,
            ),
            (r#"[1,2,3]"#, DecodeError::Json),
            (
                r#"{"u":1,"s":"XRPUSDT","b":"1","B":"1","a":"1","A":"1"}"#,
                DecodeError::UnknownSymbol,
            ),
            (
                r#"{"u":1,"s":"BNBUSDT","b":"1","B":"1","a":"1"}"#,
                DecodeError::MissingField("A"),
            ),
            (
                r#"{"e":"depthUpdate","s":"BNBUSDT","u":2,"b":[],"a":[]}"#,
                DecodeError::MissingField("U"),
            ),
            (
                r#"{"e":"depthUpdate","s":"BNBUSDT","U":1,"u":2,"b":[["1","2","3"]],"a":[]}"#,
                DecodeError::Json,
            ),
            (
                r#"{"e":"depthUpdate","s":"BNBUSDT","U":1,"u":2,"b":[[1.5,"2"]],"a":[]}"#,
                DecodeError::Json,
            ),
        ];
        for (frame, want) in cases {
            let (r, ev) = decode(frame);
            assert_eq!(r, Err(*want), "{frame}");
            assert!(ev.is_empty(), "{frame}");
        }
        let (r, _) = decode(r#"{"u":1,"s":"BNBUSDT","b":"1.0x","B":"1","a":"1","A":"1"}"#);
        assert!(matches!(r, Err(DecodeError::Decimal(e)) if e.input() == "1.0x"));
    }

    #[test]
    fn test_decode_too_many_levels_is_refused() {
        let mut buf = EventBuf::with_capacity(2);
        let frame =
            r#"{"e":"depthUpdate","s":"BNBUSDT","U":1,"u":2,"b":[["1","2"],["2","2"]],"a":[]}"#;
        let r = decoder().decode(frame.as_bytes(), 0, &mut buf);
        assert_eq!(r, Err(DecodeError::TooManyEvents));
        assert!(buf.is_empty());
    }
}
