//! Serde seeds for the `data` payload of each handled Hyperliquid channel: `l2Book` and
//! `bbo` objects of `{px, sz, n}` levels, the `trades` array, the `activeAssetCtx` object.
//!
//! Keys are matched in any order (the hftbacktest recorder re-sorted them alphabetically,
//! so `time` comes after `levels`). Book levels and trades are written straight into the
//! caller's [`EventBuf`]; the few scalar fields are collected into [`Data`] for the
//! decoder to finish. Allocation-free; errors serde cannot carry (bad decimal, unknown
//! coin, full buffer) are left in the [`Failure`] cell. Feed stage thread only.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::feed::decode::DecodeError;
use crate::feed::event_buf::EventBuf;
use crate::feed::json::{Failure, SeenKeys, StrSeed, decimal, fail, placeholder, push_level};
use crate::feed::symbols::SymbolMap;
use crate::types::{EventBody, InstrumentId, MarketEvent, Price, Qty, Rate, Side};

/// Where payloads are written and how coins resolve.
pub(super) struct Sink<'a> {
    /// The connection's wire names.
    pub symbols: &'a SymbolMap,
    /// The frame's events go here.
    pub out: &'a mut EventBuf,
    /// The precise reason of a failure.
    pub failure: &'a Failure,
    /// Receive time stamped on trades (the decoder stamps the other events).
    pub ts_recv_raw: u64,
}

impl Sink<'_> {
    fn instrument(&self, coin: &str) -> Option<InstrumentId> {
        self.symbols.get(coin)
    }
}

/// Which payload shape a channel carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Payload {
    /// `l2Book`: `{coin, time, levels: [[bids], [asks]]}`.
    Book,
    /// `bbo`: `{coin, time, bbo: [bid | null, ask | null]}`.
    Bbo,
    /// `trades`: `[{coin, side, px, sz, time, hash, tid, ..}, ..]`.
    Trades,
    /// `activeAssetCtx`: `{coin, ctx: {funding, openInterest, markPx, oraclePx, ..}}`.
    AssetCtx,
}

/// Best bid and best ask of a `bbo`, each absent when that side of the book is empty.
pub(super) type Bbo = [Option<(Price, Qty)>; 2];

/// The fields of `activeAssetCtx.ctx` that edgeline keeps.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct AssetCtx {
    /// `markPx`.
    pub mark: Option<Price>,
    /// `oraclePx`.
    pub oracle: Option<Price>,
    /// `funding`: the current hourly rate.
    pub funding: Option<Rate>,
    /// `openInterest`, in coins.
    pub open_interest: Option<Qty>,
}

/// What a payload carried besides the events already written.
#[derive(Debug, Default)]
pub(super) struct Data {
    /// `coin`, resolved.
    pub instrument: Option<InstrumentId>,
    /// `time`, unix milliseconds.
    pub time_ms: Option<u64>,
    /// `levels`: how many level events were written.
    pub levels: Option<usize>,
    /// `bbo`.
    pub bbo: Option<Bbo>,
    /// `ctx`.
    pub ctx: Option<AssetCtx>,
    /// `trades`: how many trade events were written.
    pub trades: usize,
}

/// The `data` value of a channel carrying `payload`. For [`Payload::Book`] a placeholder
/// header is pushed first, for the decoder to finish.
pub(super) struct DataSeed<'s, 'a> {
    /// The expected shape.
    pub payload: Payload,
    /// Where events go.
    pub sink: &'s mut Sink<'a>,
}

impl<'de> DeserializeSeed<'de> for DataSeed<'_, '_> {
    type Value = Data;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Data, D::Error> {
        match self.payload {
            Payload::Trades => d.deserialize_seq(self),
            Payload::Book => {
                let header = placeholder(self.sink.ts_recv_raw);
                let failure = self.sink.failure;
                self.sink
                    .out
                    .push(header)
                    .map_err(|full| fail::<D::Error>(failure, full.into()))?;
                d.deserialize_map(self)
            }
            Payload::Bbo | Payload::AssetCtx => d.deserialize_map(self),
        }
    }
}

/// Keys of the object payloads.
#[derive(Debug, Clone, Copy)]
enum DataKey {
    Coin,
    Time,
    Levels,
    Bbo,
    Ctx,
    Other,
}

fn data_key(key: &str) -> DataKey {
    match key {
        "coin" => DataKey::Coin,
        "time" => DataKey::Time,
        "levels" => DataKey::Levels,
        "bbo" => DataKey::Bbo,
        "ctx" => DataKey::Ctx,
        _ => DataKey::Other,
    }
}

/// Reads a `coin` value and resolves it; an unconfigured coin is a failure.
fn coin<'de, M: MapAccess<'de>>(sink: &Sink<'_>, map: &mut M) -> Result<InstrumentId, M::Error> {
    map.next_value_seed(StrSeed(|s: &str| sink.instrument(s)))?
        .ok_or_else(|| fail(sink.failure, DecodeError::UnknownSymbol))
}

impl<'de> Visitor<'de> for DataSeed<'_, '_> {
    type Value = Data;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "the data of a Hyperliquid {:?} message", self.payload)
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Data, M::Error> {
        let mut data = Data::default();
        let failure = self.sink.failure;
        // Keys read for this payload only: one skipped (`levels` of a `bbo`) may repeat.
        let mut seen = SeenKeys::default();
        while let Some(key) = map.next_key_seed(StrSeed(data_key))? {
            match (key, self.payload) {
                (DataKey::Coin, _) => {
                    seen.first::<M::Error>(key as u32, failure)?;
                    data.instrument = Some(coin(self.sink, &mut map)?);
                }
                (DataKey::Time, _) => {
                    seen.first::<M::Error>(key as u32, failure)?;
                    data.time_ms = Some(map.next_value()?);
                }
                (DataKey::Levels, Payload::Book) => {
                    seen.first::<M::Error>(key as u32, failure)?;
                    let seed = BookLevelsSeed {
                        out: &mut *self.sink.out,
                        failure,
                    };
                    data.levels = Some(map.next_value_seed(seed)?);
                }
                (DataKey::Bbo, Payload::Bbo) => {
                    seen.first::<M::Error>(key as u32, failure)?;
                    data.bbo = Some(map.next_value_seed(BboSeed { failure })?);
                }
                (DataKey::Ctx, Payload::AssetCtx) => {
                    seen.first::<M::Error>(key as u32, failure)?;
                    data.ctx = Some(map.next_value_seed(CtxSeed { failure })?);
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(data)
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Data, S::Error> {
        let mut trades = 0;
        while let Some(()) = seq.next_element_seed(TradeSeed {
            sink: &mut *self.sink,
        })? {
            trades += 1;
        }
        Ok(Data {
            trades,
            ..Data::default()
        })
    }
}

/// One `{"px":..,"sz":..,"n":..}` level (`n`, the order count, is not kept).
struct LevelSeed<'a> {
    failure: &'a Failure,
}

impl<'de> DeserializeSeed<'de> for LevelSeed<'_> {
    type Value = (Price, Qty);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(Price, Qty), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for LevelSeed<'_> {
    type Value = (Price, Qty);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a {px, sz, n} level")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(Price, Qty), M::Error> {
        let (mut price, mut qty) = (None, None);
        let mut seen = SeenKeys::default();
        while let Some(key) = map.next_key_seed(StrSeed(level_key))? {
            if !matches!(key, LevelKey::Other) {
                seen.first(key as u32, self.failure)?;
            }
            match key {
                LevelKey::Px => price = Some(read_price(&mut map, self.failure)?),
                LevelKey::Sz => qty = Some(read_qty(&mut map, self.failure)?),
                LevelKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let price = price.ok_or_else(|| fail(self.failure, DecodeError::MissingField("px")))?;
        let qty = qty.ok_or_else(|| fail(self.failure, DecodeError::MissingField("sz")))?;
        Ok((price, qty))
    }
}

#[derive(Debug, Clone, Copy)]
enum LevelKey {
    Px,
    Sz,
    Other,
}

fn level_key(key: &str) -> LevelKey {
    match key {
        "px" => LevelKey::Px,
        "sz" => LevelKey::Sz,
        _ => LevelKey::Other,
    }
}

fn read_price<'de, M: MapAccess<'de>>(map: &mut M, failure: &Failure) -> Result<Price, M::Error> {
    decimal(
        map.next_value_seed(StrSeed(Price::from_decimal_str))?,
        failure,
    )
}

fn read_qty<'de, M: MapAccess<'de>>(map: &mut M, failure: &Failure) -> Result<Qty, M::Error> {
    decimal(
        map.next_value_seed(StrSeed(Qty::from_decimal_str))?,
        failure,
    )
}

/// `levels`: exactly two arrays, bids then asks, each written as depth level events in
/// the order sent; the value is how many were written.
struct BookLevelsSeed<'a> {
    out: &'a mut EventBuf,
    failure: &'a Failure,
}

impl<'de> DeserializeSeed<'de> for BookLevelsSeed<'_> {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for BookLevelsSeed<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("[[bid levels], [ask levels]]")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<usize, S::Error> {
        let mut count = 0;
        for (index, side) in [Side::Bid, Side::Ask].into_iter().enumerate() {
            let seed = SideLevelsSeed {
                side,
                out: &mut *self.out,
                failure: self.failure,
            };
            count += seq
                .next_element_seed(seed)?
                .ok_or_else(|| de::Error::invalid_length(index, &self))?;
        }
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(3, &self));
        }
        Ok(count)
    }
}

/// One side's array of levels.
struct SideLevelsSeed<'a> {
    side: Side,
    out: &'a mut EventBuf,
    failure: &'a Failure,
}

impl<'de> DeserializeSeed<'de> for SideLevelsSeed<'_> {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for SideLevelsSeed<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of {px, sz, n} levels")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<usize, S::Error> {
        let mut count = 0;
        let failure = self.failure;
        while let Some((price, qty)) = seq.next_element_seed(LevelSeed { failure })? {
            push_level(self.out, failure, self.side, price, qty)?;
            count += 1;
        }
        Ok(count)
    }
}

/// `bbo`: `[bid, ask]`, each a level or `null` (that side of the book is empty). A
/// shorter array leaves the missing side absent; a longer one is malformed.
struct BboSeed<'a> {
    failure: &'a Failure,
}

impl<'de> DeserializeSeed<'de> for BboSeed<'_> {
    type Value = Bbo;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Bbo, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for BboSeed<'_> {
    type Value = Bbo;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("[bid level or null, ask level or null]")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Bbo, S::Error> {
        let failure = self.failure;
        let mut bbo: Bbo = [None, None];
        for side in &mut bbo {
            match seq.next_element_seed(NullableLevelSeed { failure })? {
                Some(level) => *side = level,
                None => return Ok(bbo),
            }
        }
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(3, &self));
        }
        Ok(bbo)
    }
}

/// A level or `null`.
struct NullableLevelSeed<'a> {
    failure: &'a Failure,
}

impl<'de> DeserializeSeed<'de> for NullableLevelSeed<'_> {
    type Value = Option<(Price, Qty)>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for NullableLevelSeed<'_> {
    type Value = Option<(Price, Qty)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a {px, sz, n} level or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        LevelSeed {
            failure: self.failure,
        }
        .deserialize(d)
        .map(Some)
    }
}

/// `activeAssetCtx.ctx`; the fields edgeline does not use (`prevDayPx`, `dayNtlVlm`,
/// `premium`, `midPx`, `impactPxs`, ..) are skipped.
struct CtxSeed<'a> {
    failure: &'a Failure,
}

impl<'de> DeserializeSeed<'de> for CtxSeed<'_> {
    type Value = AssetCtx;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<AssetCtx, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for CtxSeed<'_> {
    type Value = AssetCtx;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an asset context object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<AssetCtx, M::Error> {
        let failure = self.failure;
        let mut ctx = AssetCtx::default();
        let mut seen = SeenKeys::default();
        while let Some(key) = map.next_key_seed(StrSeed(ctx_key))? {
            if !matches!(key, CtxKey::Other) {
                seen.first(key as u32, failure)?;
            }
            match key {
                CtxKey::Mark => ctx.mark = Some(read_price(&mut map, failure)?),
                CtxKey::Oracle => ctx.oracle = Some(read_price(&mut map, failure)?),
                CtxKey::OpenInterest => ctx.open_interest = Some(read_qty(&mut map, failure)?),
                CtxKey::Funding => {
                    let parsed = map.next_value_seed(StrSeed(Rate::from_decimal_str))?;
                    ctx.funding = Some(decimal(parsed, failure)?);
                }
                CtxKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(ctx)
    }
}

#[derive(Debug, Clone, Copy)]
enum CtxKey {
    Mark,
    Oracle,
    Funding,
    OpenInterest,
    Other,
}

fn ctx_key(key: &str) -> CtxKey {
    match key {
        "markPx" => CtxKey::Mark,
        "oraclePx" => CtxKey::Oracle,
        "funding" => CtxKey::Funding,
        "openInterest" => CtxKey::OpenInterest,
        _ => CtxKey::Other,
    }
}

/// One element of `trades`, written as a stamped trade event once the whole object has
/// been read (its own `coin` and `time`; `hash` and `users` are skipped).
struct TradeSeed<'s, 'a> {
    sink: &'s mut Sink<'a>,
}

impl<'de> DeserializeSeed<'de> for TradeSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

#[derive(Debug, Clone, Copy)]
enum TradeKey {
    Coin,
    Side,
    Px,
    Sz,
    Time,
    Tid,
    Other,
}

fn trade_key(key: &str) -> TradeKey {
    match key {
        "coin" => TradeKey::Coin,
        "side" => TradeKey::Side,
        "px" => TradeKey::Px,
        "sz" => TradeKey::Sz,
        "time" => TradeKey::Time,
        "tid" => TradeKey::Tid,
        _ => TradeKey::Other,
    }
}

/// `side`: `B` when the taker bought (bid aggressor), `A` when it sold.
fn aggressor(side: &str) -> Option<Side> {
    match side {
        "B" => Some(Side::Bid),
        "A" => Some(Side::Ask),
        _ => None,
    }
}

/// The fields of one trade, as collected.
#[derive(Default)]
struct TradeFields {
    instrument: Option<InstrumentId>,
    aggressor: Option<Side>,
    price: Option<Price>,
    qty: Option<Qty>,
    time_ms: Option<u64>,
    trade_id: Option<u64>,
}

impl<'de> Visitor<'de> for TradeSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Hyperliquid trade object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<(), M::Error> {
        let failure = self.sink.failure;
        let mut t = TradeFields::default();
        let mut seen = SeenKeys::default();
        while let Some(key) = map.next_key_seed(StrSeed(trade_key))? {
            if !matches!(key, TradeKey::Other) {
                seen.first(key as u32, failure)?;
            }
            match key {
                TradeKey::Coin => t.instrument = Some(coin(self.sink, &mut map)?),
                TradeKey::Side => {
                    let side = map.next_value_seed(StrSeed(aggressor))?;
                    t.aggressor = Some(side.ok_or_else(|| fail(failure, DecodeError::Json))?);
                }
                TradeKey::Px => t.price = Some(read_price(&mut map, failure)?),
                TradeKey::Sz => t.qty = Some(read_qty(&mut map, failure)?),
                TradeKey::Time => t.time_ms = Some(map.next_value()?),
                TradeKey::Tid => t.trade_id = Some(map.next_value()?),
                TradeKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let event = trade_event(t, self.sink.ts_recv_raw).map_err(|e| fail(failure, e))?;
        self.sink
            .out
            .push(event)
            .map_err(|full| fail(failure, full.into()))
    }
}

fn trade_event(t: TradeFields, ts_recv_raw: u64) -> Result<MarketEvent, DecodeError> {
    let need = |name| DecodeError::MissingField(name);
    Ok(MarketEvent {
        ts_recv_raw,
        ts_venue_ms: t.time_ms.ok_or(need("time"))?,
        instrument: t.instrument.ok_or(need("coin"))?,
        body: EventBody::Trade {
            price: t.price.ok_or(need("px"))?,
            qty: t.qty.ok_or(need("sz"))?,
            aggressor: t.aggressor.ok_or(need("side"))?,
            trade_id: t.trade_id.ok_or(need("tid"))?,
        },
    })
}
