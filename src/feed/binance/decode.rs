//! Binance spot and USD-M futures decoder: one WebSocket text frame → `MarketEvent`s.
//!
//! Handles `bookTicker` (spot: no event type, no event time; futures: `"e":"bookTicker"`),
//! diff depth `depthUpdate` (spot `U`/`u`, futures `U`/`u`/`pu`), `trade` and `aggTrade`,
//! `markPriceUpdate` and the subscription acknowledgement `{"result":null,"id":N}`, raw or
//! wrapped in the combined-stream envelope `{"stream":..,"data":{..}}`; and the REST depth
//! snapshot (`{"lastUpdateId":..}`, which names no symbol) through
//! [`BinanceDecoder::decode_snapshot`]. Stream messages take the schema-specific scanner
//! in [`super::fast`] first. Otherwise: single pass with sonic-rs
//! through serde visitors that parse decimal strings straight into fixed point and write
//! levels into the caller's preallocated [`EventBuf`]: no allocation per message, no `f64`,
//! independent of key order. Runs on the feed stage's thread.
//!
//! Wire formats: <https://developers.binance.com/docs/binance-spot-api-docs/web-socket-streams>
//! and <https://developers.binance.com/docs/derivatives/usds-margined-futures/websocket-market-streams>.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::feed::binance::fast;
pub use crate::feed::decode::{DecodeError, Decoded};
use crate::feed::event_buf::EventBuf;
use crate::feed::json::{
    Failure, LevelsSeed, SeenKeys, StrSeed, decimal, decode_frame, fail, placeholder, push_level,
    stamp,
};
use crate::feed::symbols::SymbolMap;
use crate::types::{EventBody, FundingFields, InstrumentId, MarketEvent, Price, Qty, Rate, Side};

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
    /// On error nothing is left in `out` from this frame. Stream messages go through the
    /// schema-specific [`fast`] scanner; whatever it declines, through the generic path.
    #[inline]
    pub fn decode(
        &self,
        frame: &[u8],
        ts_recv_raw: u64,
        out: &mut EventBuf,
    ) -> Result<Decoded, DecodeError> {
        match fast::decode(&self.symbols, frame, ts_recv_raw, out) {
            Some(decoded) => Ok(decoded),
            None => self.decode_generic(frame, ts_recv_raw, out),
        }
    }

    /// The generic sonic-rs path alone: every message type, and the judge of every
    /// error. [`BinanceDecoder::decode`] tries the fast path first; this is public for
    /// the differential test and the benchmark.
    pub fn decode_generic(
        &self,
        frame: &[u8],
        ts_recv_raw: u64,
        out: &mut EventBuf,
    ) -> Result<Decoded, DecodeError> {
        decode_frame(frame, out, |_, out, start| {
            self.decode_into(frame, ts_recv_raw, out, start, None)
        })
    }

    /// Decodes a REST depth snapshot (`GET /api/v3/depth`, `GET /fapi/v1/depth`) of
    /// `instrument` into a snapshot [`EventBody::DepthBegin`] whose update ids are both
    /// `lastUpdateId`, and its levels.
    pub fn decode_snapshot(
        &self,
        body: &[u8],
        instrument: InstrumentId,
        ts_recv_raw: u64,
        out: &mut EventBuf,
    ) -> Result<Decoded, DecodeError> {
        decode_frame(body, out, |_, out, start| {
            match self.decode_into(body, ts_recv_raw, out, start, Some(instrument)) {
                Ok(Decoded::Events(n)) if is_snapshot(&out.as_slice()[start]) => {
                    crate::feed::sanity::check_events(&out.as_slice()[start..])?;
                    Ok(Decoded::Events(n))
                }
                Ok(_) => Err(DecodeError::MissingField("lastUpdateId")),
                Err(e) => Err(e),
            }
        })
    }

    fn decode_into(
        &self,
        frame: &[u8],
        ts_recv_raw: u64,
        out: &mut EventBuf,
        start: usize,
        instrument: Option<InstrumentId>,
    ) -> Result<Decoded, DecodeError> {
        out.push(placeholder(ts_recv_raw))?;
        let failure = Failure::default();
        let mut de = sonic_rs::Deserializer::from_slice(frame);
        let mut fields = MessageSeed {
            symbols: &self.symbols,
            out,
            failure: &failure,
        }
        .deserialize(&mut de)
        .and_then(|fields| de.end().map(|()| fields))
        .map_err(|_| failure.get().unwrap_or(DecodeError::Json))?;
        if instrument.is_some() {
            fields.instrument = instrument;
        }
        finish(fields, out, start, ts_recv_raw)
    }
}

fn is_snapshot(event: &MarketEvent) -> bool {
    matches!(event.body, EventBody::DepthBegin { snapshot: true, .. })
}

/// Message type from the `e` field (spot `bookTicker` has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Kind {
    #[default]
    Absent,
    DepthUpdate,
    BookTicker,
    MarkPrice,
    Trade,
    AggTrade,
    Other,
}

/// Every field of every handled message, as collected in one pass.
#[derive(Debug, Default)]
struct Fields {
    kind: Kind,
    event_ms: Option<u64>,
    t_upper: Option<u64>,
    t_lower: Option<u64>,
    agg_id: Option<u64>,
    first_trade_id: Option<u64>,
    all_market: bool,
    instrument: Option<InstrumentId>,
    first_id: Option<u64>,
    last_id: Option<u64>,
    prev_id: Option<u64>,
    snapshot_id: Option<u64>,
    bid: Option<Price>,
    bid_qty: Option<Qty>,
    ask: Option<Price>,
    ask_qty: Option<Qty>,
    levels: usize,
    p: Option<Price>,
    q: Option<Qty>,
    buyer_is_maker: Option<bool>,
    index: Option<Price>,
    rate: Option<Rate>,
    is_ack: bool,
}

/// The fields a `markPriceUpdate` carries: the mark always, then the index (`i`), the
/// funding rate (`r`) and the next funding time (`T`) where present. Shared by the
/// generic path and the fast path, so both say the same.
pub(crate) fn mark_price_fields(index: bool, rate: bool, next_funding: bool) -> FundingFields {
    let mut fields = FundingFields::MARK;
    for (present, field) in [
        (index, FundingFields::INDEX),
        (rate, FundingFields::RATE),
        (next_funding, FundingFields::NEXT_FUNDING),
    ] {
        if present {
            fields = fields.with(field);
        }
    }
    fields
}

fn need<T>(value: Option<T>, name: &'static str) -> Result<T, DecodeError> {
    value.ok_or(DecodeError::MissingField(name))
}

fn level_count(levels: usize) -> Result<u16, DecodeError> {
    u16::try_from(levels).map_err(|_| DecodeError::TooManyEvents)
}

/// Turns the collected fields into the header event at `start` and stamps every event.
fn finish(
    f: Fields,
    out: &mut EventBuf,
    start: usize,
    ts_recv_raw: u64,
) -> Result<Decoded, DecodeError> {
    let body = match f.kind {
        _ if f.all_market => return Ok(Decoded::Unknown),
        Kind::Absent if f.is_ack => return Ok(Decoded::Ack),
        Kind::Absent if f.snapshot_id.is_some() && f.instrument.is_some() => {
            let id = need(f.snapshot_id, "lastUpdateId")?;
            EventBody::DepthBegin {
                first_update_id: id,
                last_update_id: id,
                prev_update_id: 0,
                levels: level_count(f.levels)?,
                snapshot: true,
                checksum: None,
            }
        }
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
            levels: level_count(f.levels)?,
            snapshot: false,
            checksum: None,
        },
        Kind::MarkPrice => {
            let fields =
                mark_price_fields(f.index.is_some(), f.rate.is_some(), f.t_upper.is_some());
            EventBody::Funding {
                mark: need(f.p, "p")?,
                index: f.index.unwrap_or(Price::ZERO),
                rate: f.rate.unwrap_or(Rate::ZERO),
                next_funding_ms: f.t_upper.unwrap_or(0),
                fields,
            }
        }
        Kind::Trade | Kind::AggTrade => EventBody::Trade {
            price: need(f.p, "p")?,
            qty: need(f.q, "q")?,
            aggressor: if need(f.buyer_is_maker, "m")? {
                Side::Ask
            } else {
                Side::Bid
            },
            trade_id: if f.kind == Kind::Trade {
                need(f.t_lower, "t")?
            } else {
                // Old aggTrade messages carry no `a`; `f` (its first trade) stands in.
                need(f.agg_id.or(f.first_trade_id), "a")?
            },
        },
        _ => return Ok(Decoded::Unknown),
    };
    let instrument = need(f.instrument, "s")?;
    stamp(out, start, ts_recv_raw, f.event_ms.unwrap_or(0), instrument);
    out.tail_mut(start)[0].body = body;
    Ok(Decoded::Events(out.len() - start))
}

/// Keys of every handled message. Binance keys are case-sensitive (`b` vs `B`).
#[derive(Debug, Clone, Copy)]
enum Key {
    EventType,
    EventTime,
    TUpper,
    TLower,
    Symbol,
    FirstId,
    LastId,
    PrevId,
    SnapshotId,
    Bid,
    BidQty,
    Ask,
    AskQty,
    P,
    Q,
    BuyerIsMaker,
    FirstTradeId,
    Index,
    Rate,
    Bids,
    Asks,
    Result,
    Data,
    Other,
}

impl Key {
    fn from_bytes(key: &str) -> Self {
        match key {
            "e" => Key::EventType,
            "E" => Key::EventTime,
            "T" => Key::TUpper,
            "t" => Key::TLower,
            "s" => Key::Symbol,
            "U" => Key::FirstId,
            "u" => Key::LastId,
            "pu" => Key::PrevId,
            "lastUpdateId" => Key::SnapshotId,
            "b" => Key::Bid,
            "B" => Key::BidQty,
            "a" => Key::Ask,
            "A" => Key::AskQty,
            "p" => Key::P,
            "q" => Key::Q,
            "m" => Key::BuyerIsMaker,
            "f" => Key::FirstTradeId,
            "i" => Key::Index,
            "r" => Key::Rate,
            "bids" => Key::Bids,
            "asks" => Key::Asks,
            "result" => Key::Result,
            "data" => Key::Data,
            _ => Key::Other,
        }
    }
}

struct MessageSeed<'a> {
    symbols: &'a SymbolMap,
    out: &'a mut EventBuf,
    failure: &'a Failure,
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
        let mut seen = SeenKeys::default();
        while let Some(key) = map.next_key_seed(StrSeed(Key::from_bytes))? {
            if !matches!(key, Key::Other) {
                seen.first(key as u32, self.failure)?;
            }
            self.field(key, &mut f, &mut map)?;
        }
        Ok(f)
    }
}

/// The `data` of a combined-stream envelope: one message, or the array of an
/// all-market stream (`!markPrice@arr`, `!ticker@arr`), which is skipped (`None`).
struct DataSeed<'a>(MessageSeed<'a>);

impl<'de> DeserializeSeed<'de> for DataSeed<'_> {
    type Value = Option<Fields>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Fields>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DataSeed<'_> {
    type Value = Option<Fields>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a stream message or an array of them")
    }

    fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Option<Fields>, M::Error> {
        self.0.visit_map(map).map(Some)
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Option<Fields>, S::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
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
            Key::TUpper => f.t_upper = Some(map.next_value()?),
            Key::TLower => f.t_lower = Some(map.next_value()?),
            Key::Symbol => f.instrument = Some(self.symbol(map)?),
            Key::FirstId => f.first_id = Some(map.next_value()?),
            Key::LastId => f.last_id = Some(map.next_value()?),
            Key::PrevId => f.prev_id = Some(map.next_value()?),
            Key::SnapshotId => f.snapshot_id = Some(map.next_value()?),
            Key::Bid | Key::Ask => self.bid_or_ask(key, f, map)?,
            Key::BidQty => f.bid_qty = Some(qty(map)?),
            Key::AskQty => f.ask_qty = Some(qty(map)?),
            Key::P => f.p = Some(price(map)?),
            Key::Q => f.q = Some(qty(map)?),
            Key::BuyerIsMaker => f.buyer_is_maker = Some(map.next_value()?),
            Key::FirstTradeId => f.first_trade_id = Some(map.next_value()?),
            Key::Index => f.index = Some(price(map)?),
            Key::Rate => {
                let parsed = map.next_value_seed(StrSeed(Rate::from_decimal_str))?;
                f.rate = Some(decimal(parsed, failure)?);
            }
            Key::Bids | Key::Asks => {
                let side = if matches!(key, Key::Bids) {
                    Side::Bid
                } else {
                    Side::Ask
                };
                f.levels += map.next_value_seed(LevelsSeed {
                    side,
                    out: &mut *self.out,
                    failure,
                    trailing: false,
                })?;
            }
            Key::Result => {
                map.next_value::<IgnoredAny>()?;
                f.is_ack = true;
            }
            Key::Data => {
                let inner = map.next_value_seed(DataSeed(MessageSeed {
                    symbols: self.symbols,
                    out: &mut *self.out,
                    failure: self.failure,
                }))?;
                match inner {
                    Some(inner) => *f = inner,
                    None => f.all_market = true,
                }
            }
            Key::Other => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    fn symbol<'de, M: MapAccess<'de>>(&self, map: &mut M) -> Result<InstrumentId, M::Error> {
        map.next_value_seed(StrSeed(|s: &str| self.symbols.get(s)))?
            .ok_or_else(|| fail(self.failure, DecodeError::UnknownSymbol))
    }

    /// `b`/`a` are a price string in `bookTicker`, a level array in `depthUpdate`, and
    /// `a` is the aggregate trade id (a number) in `aggTrade`.
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
            PriceOrCount::Id(id) => f.agg_id = Some(id),
        }
        Ok(())
    }
}

/// `b`/`a` value: a price (top of book), the number of levels written (depth), or an
/// aggregate trade id.
enum PriceOrCount {
    Price(Price),
    Levels(usize),
    Id(u64),
}

struct PriceOrLevels<'a> {
    side: Side,
    out: &'a mut EventBuf,
    failure: &'a Failure,
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
        f.write_str("a price string, an array of [price, qty] levels or a trade id")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<PriceOrCount, E> {
        decimal(Price::from_decimal_str(v), self.failure).map(PriceOrCount::Price)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<PriceOrCount, E> {
        Ok(PriceOrCount::Id(v))
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<PriceOrCount, S::Error> {
        let mut count = 0;
        while let Some((price, qty)) = seq.next_element_seed(crate::feed::json::LevelSeed {
            failure: self.failure,
            trailing: false,
        })? {
            push_level(self.out, self.failure, self.side, price, qty)?;
            count += 1;
        }
        Ok(PriceOrCount::Levels(count))
    }
}

fn kind_of(e: &str) -> Kind {
    match e {
        "depthUpdate" => Kind::DepthUpdate,
        "bookTicker" => Kind::BookTicker,
        "markPriceUpdate" => Kind::MarkPrice,
        "trade" => Kind::Trade,
        "aggTrade" => Kind::AggTrade,
        _ => Kind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::json::assert_duplicates_refused;

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
    fn test_duplicated_keys_of_hot_messages_are_refused() {
        const TICKER: &str = r#"{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#;
        const FUT_TICKER: &str = r#"{"e":"bookTicker","u":400900217,"E":1568014460893,"T":1568014460891,"s":"BNBUSDT","b":"25.3519","B":"31.21","a":"25.3652","A":"40.66"}"#;
        const DEPTH: &str = r#"{"e":"depthUpdate","E":123456789,"s":"BNBUSDT","U":157,"u":160,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}"#;
        const TRADE: &str = r#"{"e":"trade","E":123456789,"s":"BNBUSDT","t":12345,"p":"0.001","q":"100","T":123456785,"m":true,"M":true}"#;
        const MARK: &str = r#"{"e":"markPriceUpdate","E":1562305380000,"s":"BNBUSDT","p":"11794.15","i":"11784.62","P":"11784.25","r":"0.00038167","T":1562306400000}"#;
        const COMBINED: &str = r#"{"stream":"bnbusdt@bookTicker","data":{"u":400900217,"s":"BNBUSDT","b":"25.3519","B":"31.21","a":"25.3652","A":"40.66"}}"#;
        assert_duplicates_refused(
            decode,
            &[
                (TICKER, "b", r#""25.1""#),
                (TICKER, "a", r#""25.9""#),
                (TICKER, "u", "400900216"),
                (TICKER, "B", r#""1""#),
                (TICKER, "s", r#""BNBUSDT""#),
                (FUT_TICKER, "e", r#""bookTicker""#),
                (FUT_TICKER, "E", "1"),
                (DEPTH, "b", r#"[["0.0023","5"]]"#),
                (DEPTH, "a", r#"[["0.0027","5"]]"#),
                (DEPTH, "u", "159"),
                (DEPTH, "U", "156"),
                (TRADE, "p", r#""0.002""#),
                (TRADE, "q", r#""1""#),
                (TRADE, "t", "12344"),
                (TRADE, "m", "false"),
                (MARK, "p", r#""1""#),
                (MARK, "r", r#""0.1""#),
                (
                    COMBINED,
                    "data",
                    r#"{"u":1,"s":"BNBUSDT","b":"1","B":"1","a":"2","A":"1"}"#,
                ),
            ],
        );
        // A key no decoder reads may repeat (it changes nothing).
        let (r, _) = decode(&crate::feed::json::with_duplicate(MARK, "P", r#""1""#));
        assert_eq!(r, Ok(Decoded::Events(1)));
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
                levels: 3,
                snapshot: false,
                checksum: None,
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
                fields: FundingFields::ALL,
            }
        );
    }

    #[test]
    fn test_decode_ack_and_unknown() {
        assert_eq!(decode(r#"{"result":null,"id":1}"#).0, Ok(Decoded::Ack));
        let kline = r#"{"e":"kline","E":1,"s":"BNBUSDT","k":{"t":1,"o":"1.0"}}"#;
        let (r, ev) = decode(kline);
        assert_eq!(r, Ok(Decoded::Unknown));
        assert!(ev.is_empty());
    }

    #[test]
    fn test_decode_trade_and_agg_trade_aggressor() {
        let (r, ev) = decode(
            r#"{"e":"trade","E":123456789,"s":"BNBUSDT","t":12345,"p":"0.001","q":"100","T":123456785,"m":true,"M":true}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(1)));
        assert_eq!(
            ev[0].body,
            EventBody::Trade {
                price: px("0.001"),
                qty: Qty::from_decimal_str("100").unwrap(),
                aggressor: Side::Ask,
                trade_id: 12345
            }
        );
        let (r, ev) = decode(
            r#"{"e":"aggTrade","E":123456789,"s":"BNBUSDT","a":5933014,"p":"0.001","q":"100","f":100,"l":105,"T":123456785,"m":false}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(1)));
        assert!(matches!(
            ev[0].body,
            EventBody::Trade {
                aggressor: Side::Bid,
                trade_id: 5933014,
                ..
            }
        ));
        assert_eq!(ev[0].ts_venue_ms, 123456789);
    }

    #[test]
    fn test_decode_old_formats_and_all_market_streams() {
        let (r, ev) = decode(
            r#"{"stream":"bnbusdt@markPrice","data":{"e":"markPriceUpdate","E":1569888003001,"s":"BNBUSDT","p":"8291.34697815","r":"0.00010000","T":1569916800000}}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(1)));
        assert!(matches!(
            ev[0].body,
            EventBody::Funding { fields, index: Price::ZERO, .. }
                if fields == FundingFields::MARK.with(FundingFields::RATE).with(FundingFields::NEXT_FUNDING)
        ));
        let (r, ev) = decode(
            r#"{"e":"aggTrade","E":1568693103463,"s":"BNBUSDT","p":"10223.74","q":"0.236","f":181349,"l":181349,"T":1568693103463,"m":false}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(1)));
        assert!(matches!(
            ev[0].body,
            EventBody::Trade {
                trade_id: 181349,
                ..
            }
        ));
        let all =
            r#"{"stream":"!markPrice@arr","data":[{"e":"markPriceUpdate","s":"XRPUSDT","p":"1"}]}"#;
        assert_eq!(decode(all).0, Ok(Decoded::Unknown));
        let partial = r#"{"stream":"bnbusdt@depth20","data":{"lastUpdateId":1,"bids":[["1","1"]],"asks":[]}}"#;
        let (r, ev) = decode(partial);
        assert_eq!(r, Ok(Decoded::Unknown));
        assert!(ev.is_empty());
    }

    #[test]
    fn test_decode_rest_snapshot_names_no_symbol() {
        let mut buf = EventBuf::with_capacity(8);
        let body = br#"{"lastUpdateId":1027024,"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"],["4.1","1"]]}"#;
        let r = decoder().decode_snapshot(body, SPOT, 9, &mut buf);
        assert_eq!(r, Ok(Decoded::Events(4)));
        assert_eq!(
            buf.as_slice()[0].body,
            EventBody::DepthBegin {
                first_update_id: 1027024,
                last_update_id: 1027024,
                prev_update_id: 0,
                levels: 3,
                snapshot: true,
                checksum: None,
            }
        );
        let mut buf = EventBuf::with_capacity(8);
        let r = decoder().decode_snapshot(
            br#"{"code":-1121,"msg":"Invalid symbol."}"#,
            SPOT,
            9,
            &mut buf,
        );
        assert_eq!(r, Err(DecodeError::MissingField("lastUpdateId")));
        assert!(buf.is_empty());
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
