//! The `data` array of one OKX v5 push, once its channel and instrument are known: each
//! element becomes its events, written straight into the caller's [`EventBuf`] and
//! stamped with the element's own `ts`.
//!
//! Used by [`super::decode`] on the feed stage's thread: no allocation, no `f64`,
//! independent of key order inside an element. Books get their `snapshot` flag from the
//! envelope afterwards (the `action` key may follow `data`); everything else is final here.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::feed::decode::DecodeError;
use crate::feed::event_buf::EventBuf;
use crate::feed::json::{
    Failure, LevelSeed, LevelsSeed, SeenKeys, StrSeed, decimal, fail, placeholder, stamp,
};
use crate::types::{EventBody, FundingFields, InstrumentId, MarketEvent, Price, Qty, Rate, Side};

/// The channels this decoder turns into events (from `arg.channel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// `books`, `books-l2-tbt`, `books50-l2-tbt`: updates chained by `seqId`, a snapshot
    /// first while OKX still pushes one, a checksum (0 since June 2026).
    Books,
    /// `books5`: five levels a side, each message a full snapshot, no `action`.
    Books5,
    /// The REST order book (`GET /api/v5/market/books`): a snapshot whose `seqId` is
    /// required (the updates are bridged to it) and which has no checksum.
    RestBook,
    /// `bbo-tbt`: best bid and offer.
    Bbo,
    /// `trades`: one trade per element.
    Trades,
    /// `funding-rate`: current rate and the next settlement time.
    FundingRate,
    /// `mark-price`: the mark price.
    MarkPrice,
    /// `open-interest`: open interest in contracts.
    OpenInterest,
    /// Any other channel (`tickers`, candles, ..): skipped.
    Other,
}

impl Channel {
    /// The channel of an `arg.channel` name.
    pub fn from_name(name: &str) -> Self {
        match name {
            "books" | "books-l2-tbt" | "books50-l2-tbt" => Channel::Books,
            "books5" => Channel::Books5,
            "bbo-tbt" => Channel::Bbo,
            "trades" => Channel::Trades,
            "funding-rate" => Channel::FundingRate,
            "mark-price" => Channel::MarkPrice,
            "open-interest" => Channel::OpenInterest,
            _ => Channel::Other,
        }
    }

    /// Whether the channel carries depth (one `DepthBegin` and its levels per element).
    pub fn is_book(self) -> bool {
        matches!(self, Channel::Books | Channel::Books5 | Channel::RestBook)
    }
}

/// The whole `data` array; the value is how many events were appended.
pub struct DataSeed<'a> {
    /// Channel of the push.
    pub channel: Channel,
    /// Instrument of the push (`arg.instId`).
    pub instrument: InstrumentId,
    /// Stamped on every event.
    pub ts_recv_raw: u64,
    /// Where the events go.
    pub out: &'a mut EventBuf,
    /// Where a precise failure reason is left.
    pub failure: &'a Failure,
}

impl<'de> DeserializeSeed<'de> for DataSeed<'_> {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for DataSeed<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an OKX data array")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<usize, S::Error> {
        let start = self.out.len();
        while seq
            .next_element_seed(ItemSeed {
                channel: self.channel,
                instrument: self.instrument,
                ts_recv_raw: self.ts_recv_raw,
                out: &mut *self.out,
                failure: self.failure,
            })?
            .is_some()
        {}
        Ok(self.out.len() - start)
    }
}

/// The fields of one element, as collected in one pass (books' levels go straight out).
#[derive(Debug, Default)]
struct Item {
    ts: Option<u64>,
    checksum: Option<i32>,
    seq_id: Option<u64>,
    prev_seq_id: Option<u64>,
    levels: usize,
    best_bid: Option<Option<(Price, Qty)>>,
    best_ask: Option<Option<(Price, Qty)>>,
    trade_id: Option<u64>,
    px: Option<Price>,
    sz: Option<Qty>,
    side: Option<Side>,
    rate: Option<Rate>,
    funding_ms: Option<u64>,
    mark: Option<Price>,
    oi: Option<Qty>,
}

#[derive(Debug, Clone, Copy)]
enum Key {
    Asks,
    Bids,
    Ts,
    Checksum,
    SeqId,
    PrevSeqId,
    TradeId,
    Px,
    Sz,
    Side,
    FundingRate,
    FundingTime,
    MarkPx,
    Oi,
    Other,
}

impl Key {
    fn from_name(key: &str) -> Self {
        match key {
            "asks" => Key::Asks,
            "bids" => Key::Bids,
            "ts" => Key::Ts,
            "checksum" => Key::Checksum,
            "seqId" => Key::SeqId,
            "prevSeqId" => Key::PrevSeqId,
            "tradeId" => Key::TradeId,
            "px" => Key::Px,
            "sz" => Key::Sz,
            "side" => Key::Side,
            "fundingRate" => Key::FundingRate,
            "fundingTime" => Key::FundingTime,
            "markPx" => Key::MarkPx,
            "oi" => Key::Oi,
            _ => Key::Other,
        }
    }
}

struct ItemSeed<'a> {
    channel: Channel,
    instrument: InstrumentId,
    ts_recv_raw: u64,
    out: &'a mut EventBuf,
    failure: &'a Failure,
}

impl<'de> DeserializeSeed<'de> for ItemSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ItemSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an OKX data element")
    }

    fn visit_map<M: MapAccess<'de>>(mut self, mut map: M) -> Result<(), M::Error> {
        let start = self.out.len();
        if self.channel.is_book() {
            self.push(placeholder(self.ts_recv_raw))?;
        }
        let mut item = Item::default();
        let mut seen = SeenKeys::default();
        while let Some(key) = map.next_key_seed(StrSeed(Key::from_name))? {
            if !matches!(key, Key::Other) {
                seen.first(key as u32, self.failure)?;
            }
            self.field(key, &mut item, &mut map)?;
        }
        let result = self.finish(item, start);
        result.map_err(|e| fail(self.failure, e))
    }
}

fn need<T>(value: Option<T>, name: &'static str) -> Result<T, DecodeError> {
    value.ok_or(DecodeError::MissingField(name))
}

impl ItemSeed<'_> {
    fn push<E: de::Error>(&mut self, event: MarketEvent) -> Result<(), E> {
        self.out
            .push(event)
            .map_err(|full| fail(self.failure, full.into()))
    }

    fn field<'de, M: MapAccess<'de>>(
        &mut self,
        key: Key,
        item: &mut Item,
        map: &mut M,
    ) -> Result<(), M::Error> {
        let failure = self.failure;
        match key {
            Key::Asks | Key::Bids => self.side_levels(key, item, map)?,
            Key::Ts => item.ts = Some(millis(map, failure)?),
            Key::Checksum => item.checksum = Some(map.next_value()?),
            // NB: the REST book's `seqId` is read as a number or a decimal string (the
            // changelog names the field, not its type; OKX's REST bodies quote most
            // numbers). The WebSocket pushes send a number.
            Key::SeqId if self.channel == Channel::RestBook => {
                item.seq_id = Some(map.next_value_seed(SeqIdSeed(failure))?);
            }
            Key::SeqId => item.seq_id = Some(map.next_value()?),
            Key::PrevSeqId => {
                // NB: OKX sends prevSeqId -1 on the first snapshot after subscribing.
                let prev: i64 = map.next_value()?;
                let prev = if prev == -1 {
                    Ok(0)
                } else {
                    u64::try_from(prev)
                };
                item.prev_seq_id = Some(prev.map_err(|_| fail(failure, DecodeError::Json))?);
            }
            Key::TradeId => {
                // A non-numeric id is 0, as `EventBody::Trade` documents.
                let id = map.next_value_seed(StrSeed(|s: &str| s.parse::<u64>().unwrap_or(0)))?;
                item.trade_id = Some(id);
            }
            Key::Px => item.px = Some(decimal_value(map, Price::from_decimal_str, failure)?),
            Key::Sz => item.sz = Some(decimal_value(map, Qty::from_decimal_str, failure)?),
            Key::Side => {
                let side = map.next_value_seed(StrSeed(|s: &str| match s {
                    "buy" => Some(Side::Bid),
                    "sell" => Some(Side::Ask),
                    _ => None,
                }))?;
                item.side = Some(side.ok_or_else(|| fail(failure, DecodeError::Json))?);
            }
            Key::FundingRate => {
                item.rate = Some(decimal_value(map, Rate::from_decimal_str, failure)?);
            }
            Key::FundingTime => item.funding_ms = Some(millis(map, failure)?),
            Key::MarkPx => item.mark = Some(decimal_value(map, Price::from_decimal_str, failure)?),
            Key::Oi => item.oi = Some(decimal_value(map, Qty::from_decimal_str, failure)?),
            Key::Other => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    /// `asks`/`bids`: depth levels pushed as they come (books), or the best level kept
    /// (`bbo-tbt`); ignored on other channels.
    fn side_levels<'de, M: MapAccess<'de>>(
        &mut self,
        key: Key,
        item: &mut Item,
        map: &mut M,
    ) -> Result<(), M::Error> {
        let side = if matches!(key, Key::Bids) {
            Side::Bid
        } else {
            Side::Ask
        };
        match self.channel {
            Channel::Books | Channel::Books5 | Channel::RestBook => {
                item.levels += map.next_value_seed(LevelsSeed {
                    side,
                    out: &mut *self.out,
                    failure: self.failure,
                    trailing: true,
                })?;
            }
            Channel::Bbo => {
                let best = map.next_value_seed(BestSeed(self.failure))?;
                match side {
                    Side::Bid => item.best_bid = Some(best),
                    Side::Ask => item.best_ask = Some(best),
                }
            }
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    /// The element's events: the book header is finished in place, the others pushed.
    fn finish(&mut self, item: Item, start: usize) -> Result<(), DecodeError> {
        let ts = item.ts;
        let body = match self.channel {
            Channel::Books | Channel::Books5 => {
                let seq = item.seq_id.unwrap_or(0);
                self.out.tail_mut(start)[0].body = EventBody::DepthBegin {
                    first_update_id: seq,
                    last_update_id: seq,
                    prev_update_id: item.prev_seq_id.unwrap_or(0),
                    levels: u16::try_from(item.levels).map_err(|_| DecodeError::TooManyEvents)?,
                    snapshot: self.channel == Channel::Books5,
                    checksum: item.checksum,
                };
                need(ts, "ts")?;
                None
            }
            Channel::RestBook => {
                let seq = need(item.seq_id, "seqId")?;
                self.out.tail_mut(start)[0].body = EventBody::DepthBegin {
                    first_update_id: seq,
                    last_update_id: seq,
                    prev_update_id: 0,
                    levels: u16::try_from(item.levels).map_err(|_| DecodeError::TooManyEvents)?,
                    snapshot: true,
                    checksum: None,
                };
                need(ts, "ts")?;
                None
            }
            Channel::Bbo => top_of_book(&item)?,
            Channel::Trades => Some(EventBody::Trade {
                price: need(item.px, "px")?,
                qty: need(item.sz, "sz")?,
                aggressor: need(item.side, "side")?,
                trade_id: need(item.trade_id, "tradeId")?,
            }),
            Channel::FundingRate => Some(EventBody::Funding {
                mark: Price::ZERO,
                index: Price::ZERO,
                rate: need(item.rate, "fundingRate")?,
                next_funding_ms: need(item.funding_ms, "fundingTime")?,
                fields: FundingFields::RATE.with(FundingFields::NEXT_FUNDING),
            }),
            Channel::MarkPrice => Some(EventBody::Funding {
                mark: need(item.mark, "markPx")?,
                index: Price::ZERO,
                rate: Rate::ZERO,
                next_funding_ms: 0,
                fields: FundingFields::MARK,
            }),
            Channel::OpenInterest => Some(EventBody::OpenInterest {
                qty: need(item.oi, "oi")?,
            }),
            Channel::Other => None,
        };
        if let Some(body) = body {
            self.out.push(MarketEvent {
                body,
                ..placeholder(self.ts_recv_raw)
            })?;
        }
        let ts_venue_ms = match self.channel {
            // `funding-rate` pushes carry no `ts` in older recordings: 0 then.
            Channel::FundingRate => ts.unwrap_or(0),
            _ => need(ts, "ts")?,
        };
        stamp(
            self.out,
            start,
            self.ts_recv_raw,
            ts_venue_ms,
            self.instrument,
        );
        Ok(())
    }
}

/// `bbo-tbt` with both sides; a side that is empty (`[]`, an illiquid option) gives no
/// event, since a top of book needs both (see the decoder's docs).
fn top_of_book(item: &Item) -> Result<Option<EventBody>, DecodeError> {
    let bid = need(item.best_bid, "bids")?;
    let ask = need(item.best_ask, "asks")?;
    let update_id = need(item.ts, "ts")?;
    Ok(bid
        .zip(ask)
        .map(|((bid, bid_qty), (ask, ask_qty))| EventBody::TopOfBook {
            bid,
            bid_qty,
            ask,
            ask_qty,
            update_id,
        }))
}

/// A unix-milliseconds timestamp sent as a decimal string (`"1646313944551"`).
fn millis<'de, M: MapAccess<'de>>(map: &mut M, failure: &Failure) -> Result<u64, M::Error> {
    map.next_value_seed(StrSeed(|s: &str| s.parse::<u64>().ok()))?
        .ok_or_else(|| fail(failure, DecodeError::Json))
}

fn decimal_value<'de, M: MapAccess<'de>, T>(
    map: &mut M,
    parse: fn(&str) -> Result<T, crate::types::DecimalError>,
    failure: &Failure,
) -> Result<T, M::Error> {
    decimal(map.next_value_seed(StrSeed(parse))?, failure)
}

/// `seqId`: a non-negative integer, or one written as a decimal string.
struct SeqIdSeed<'a>(&'a Failure);

impl<'de> DeserializeSeed<'de> for SeqIdSeed<'_> {
    type Value = u64;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u64, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for SeqIdSeed<'_> {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sequence id")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| fail(self.0, DecodeError::Json))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        v.parse().map_err(|_| fail(self.0, DecodeError::Json))
    }
}

/// A side of `bbo-tbt`: the first `[px, sz, ..]` level, `None` when the array is empty.
struct BestSeed<'a>(&'a Failure);

impl<'de> DeserializeSeed<'de> for BestSeed<'_> {
    type Value = Option<(Price, Qty)>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for BestSeed<'_> {
    type Value = Option<(Price, Qty)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of [price, qty, ..] levels")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
        let level = LevelSeed {
            failure: self.0,
            trailing: true,
        };
        let best = seq.next_element_seed(LevelSeed { ..level })?;
        while seq.next_element_seed(LevelSeed { ..level })?.is_some() {}
        Ok(best)
    }
}
