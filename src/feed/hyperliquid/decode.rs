//! Hyperliquid perpetuals and spot decoder: one WebSocket text frame → `MarketEvent`s.
//!
//! Every message is `{"channel":..,"data":..}`. Handled:
//! - `l2Book` → a snapshot [`EventBody::DepthBegin`] then its levels, bids then asks as
//!   sent. Hyperliquid sends whole books (the top 20 levels per side), never diffs, so
//!   `snapshot` is always true; `first_update_id` = `last_update_id` = `time` (ms),
//!   `prev_update_id` = 0, no checksum; `ts_venue_ms` = `time`. There is no sequence to
//!   check: every message replaces the book.
//! - `bbo` → [`EventBody::TopOfBook`], `update_id` = `ts_venue_ms` = `time`. NB: a side is
//!   `null` when that side of the book is empty; such a message yields no event and
//!   `Ok(Decoded::Events(0))` (handled, nothing to apply): `TopOfBook` cannot say "no ask",
//!   and a zero price would read as a price. The `l2Book` of the same coin carries the
//!   empty side.
//! - `trades` → one [`EventBody::Trade`] per element, each with its own `coin` and `time`;
//!   `side` `B` (the taker bought) → aggressor [`Side::Bid`](crate::types::Side::Bid),
//!   `A` → `Side::Ask`; `trade_id` = `tid`.
//! - `activeAssetCtx` (perpetual connections only) → [`EventBody::Funding`] with `mark` =
//!   `markPx`, `index` = `oraclePx`, `rate` = `funding` (an hourly rate), fields
//!   MARK|INDEX|RATE: Hyperliquid funds every hour on the hour and sends no next funding
//!   time, so `next_funding_ms` = 0; then [`EventBody::OpenInterest`] (`openInterest`, in
//!   coins). The message has no time: `ts_venue_ms` = 0. NB: the venue prints open
//!   interest from a float, sometimes with more decimals than [`crate::types::Qty`] holds
//!   (`"605822.2557999999"`, ETH, in `../shared/data/hyperliquid`'s `allDexsAssetCtxs`:
//!   50 of 412 contexts); such a message is `Err(Decimal)` as a whole, never rounded.
//! - `subscriptionResponse` → `Ack`; the server hello `Websocket connection established.`
//!   (plain text, not JSON, sent on connect) → `Ack`; `pong` → `Heartbeat`; `error`
//!   (`{"channel":"error","data":"<reason>"}`) → `Err(VenueError)`.
//! - Everything else is `Unknown`, notably `activeSpotAssetCtx` (spot has no funding and
//!   edgeline does not subscribe it; its `markPx` is not kept), `activeAssetCtx` on a spot
//!   connection, and `allDexsAssetCtxs` (positional: its contexts map to coins only
//!   through the venue's `meta` universe, which the decoder does not hold).
//!
//! Coins are wire names, looked up in the connection's [`SymbolMap`] (`BTC`, `PURR/USDC`,
//! `@107`). `l2Book`, `bbo`, `trades` and `activeAssetCtx` take the schema-specific
//! scanner in [`super::fast`] first; otherwise: single pass with sonic-rs through serde visitors, key order independent:
//! `data` is read as it streams when `channel` came first (the venue and every recording
//! send it first); otherwise it is kept as a borrowed raw slice and read once `channel`
//! is known. No allocation per message (except a `data` that precedes `channel` and holds
//! escaped strings), no `f64`; on error nothing of the frame stays in the buffer. Runs on
//! the feed stage's thread.
//!
//! Wire format: <https://hyperliquid.gitbook.io/hyperliquid-docs/for-developers/api/websocket/subscriptions>.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use sonic_rs::LazyValue;

use super::data::{Data, DataSeed, Payload, Sink};
use super::fast;
pub use crate::feed::decode::{DecodeError, Decoded};
use crate::feed::event_buf::EventBuf;
use crate::feed::json::{Failure, SeenKeys, StrSeed, placeholder, stamp};
use crate::feed::symbols::SymbolMap;
use crate::types::{EventBody, FundingFields, MarketEvent, MarketKind};

/// The text frame the venue sends when a connection opens.
pub const SERVER_HELLO: &str = "Websocket connection established.";

/// Decoder for one Hyperliquid connection (perpetuals or spot).
#[derive(Debug, Clone)]
pub struct HyperliquidDecoder {
    kind: MarketKind,
    symbols: SymbolMap,
}

impl HyperliquidDecoder {
    /// A decoder for one market kind, resolving the connection's wire names (`BTC`;
    /// `PURR/USDC`, `@107`) to instrument ids.
    pub fn new(kind: MarketKind, symbols: SymbolMap) -> Self {
        Self { kind, symbols }
    }

    /// Decodes one frame, appending its events (stamped with `ts_recv_raw`) to `out`.
    /// On error nothing is left in `out` from this frame. `l2Book`, `bbo`, `trades` and
    /// `activeAssetCtx` go through the schema-specific [`fast`] scanner; whatever it
    /// declines, through the generic path.
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
    /// error. [`HyperliquidDecoder::decode`] tries the fast path first; this is public
    /// for the differential test and the benchmark.
    pub fn decode_generic(
        &self,
        frame: &[u8],
        ts_recv_raw: u64,
        out: &mut EventBuf,
    ) -> Result<Decoded, DecodeError> {
        if frame == SERVER_HELLO.as_bytes() {
            return Ok(Decoded::Ack);
        }
        crate::feed::json::decode_frame(frame, out, |_, out, start| {
            self.decode_into(frame, ts_recv_raw, out, start)
        })
    }

    fn decode_into(
        &self,
        frame: &[u8],
        ts_recv_raw: u64,
        out: &mut EventBuf,
        start: usize,
    ) -> Result<Decoded, DecodeError> {
        let failure = Failure::default();
        let mut sink = Sink {
            symbols: &self.symbols,
            out,
            failure: &failure,
            ts_recv_raw,
        };
        let mut de = sonic_rs::Deserializer::from_slice(frame);
        let message = MessageSeed {
            kind: self.kind,
            sink: &mut sink,
        }
        .deserialize(&mut de)
        .and_then(|message| de.end().map(|()| message))
        .map_err(|_| failure.get().unwrap_or(DecodeError::Json))?;
        let channel = message
            .channel
            .ok_or(DecodeError::MissingField("channel"))?;
        let payload = match channel.payload(self.kind) {
            Some(payload) => payload,
            None => return channel.outcome(),
        };
        let data = match message.data {
            DataState::Read(data) => data,
            DataState::Deferred(raw) => {
                let mut de = sonic_rs::Deserializer::from_str(raw.as_raw_str());
                DataSeed {
                    payload,
                    sink: &mut sink,
                }
                .deserialize(&mut de)
                .and_then(|data| de.end().map(|()| data))
                .map_err(|_| failure.get().unwrap_or(DecodeError::Json))?
            }
            DataState::Absent => return Err(DecodeError::MissingField("data")),
        };
        finish(payload, data, sink.out, start, ts_recv_raw)
    }
}

/// The `channel` of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    L2Book,
    Bbo,
    Trades,
    ActiveAssetCtx,
    SubscriptionResponse,
    Pong,
    Error,
    Other,
}

fn channel_of(name: &str) -> Channel {
    match name {
        "l2Book" => Channel::L2Book,
        "bbo" => Channel::Bbo,
        "trades" => Channel::Trades,
        "activeAssetCtx" => Channel::ActiveAssetCtx,
        "subscriptionResponse" => Channel::SubscriptionResponse,
        "pong" => Channel::Pong,
        "error" => Channel::Error,
        _ => Channel::Other,
    }
}

impl Channel {
    /// The payload to read, for the channels that carry market data on `kind`.
    fn payload(self, kind: MarketKind) -> Option<Payload> {
        match self {
            Channel::L2Book => Some(Payload::Book),
            Channel::Bbo => Some(Payload::Bbo),
            Channel::Trades => Some(Payload::Trades),
            Channel::ActiveAssetCtx if kind == MarketKind::Perp => Some(Payload::AssetCtx),
            _ => None,
        }
    }

    /// What a channel without market data amounts to.
    fn outcome(self) -> Result<Decoded, DecodeError> {
        match self {
            Channel::SubscriptionResponse => Ok(Decoded::Ack),
            Channel::Pong => Ok(Decoded::Heartbeat),
            Channel::Error => Err(DecodeError::VenueError),
            _ => Ok(Decoded::Unknown),
        }
    }
}

/// The `data` of a message: read already, kept raw until `channel` is known, or absent.
// NB: `Read` outgrew the others (256 bytes) when prices and quantities became 16 bytes;
// it lives on the stack for one message, and boxing it would allocate per message.
#[allow(clippy::large_enum_variant)]
enum DataState<'de> {
    Absent,
    Read(Data),
    Deferred(LazyValue<'de>),
}

/// The top-level object, as collected in one pass.
struct Message<'de> {
    channel: Option<Channel>,
    data: DataState<'de>,
}

struct MessageSeed<'s, 'a> {
    kind: MarketKind,
    sink: &'s mut Sink<'a>,
}

impl<'de> DeserializeSeed<'de> for MessageSeed<'_, '_> {
    type Value = Message<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Message<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for MessageSeed<'_, '_> {
    type Value = Message<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Hyperliquid {channel, data} message")
    }

    fn visit_map<M: MapAccess<'de>>(mut self, mut map: M) -> Result<Message<'de>, M::Error> {
        let mut message = Message {
            channel: None,
            data: DataState::Absent,
        };
        let mut seen = SeenKeys::default();
        while let Some(key) = map.next_key_seed(StrSeed(top_key))? {
            if !matches!(key, TopKey::Other) {
                seen.first(key as u32, self.sink.failure)?;
            }
            match key {
                TopKey::Channel => {
                    message.channel = Some(map.next_value_seed(StrSeed(channel_of))?)
                }
                TopKey::Data => {
                    message.data = self.data(message.channel, &mut map)?;
                }
                TopKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(message)
    }
}

impl MessageSeed<'_, '_> {
    /// Reads `data` now when the channel is known (skipping it when it carries nothing
    /// handled), or keeps it raw for later.
    fn data<'de, M: MapAccess<'de>>(
        &mut self,
        channel: Option<Channel>,
        map: &mut M,
    ) -> Result<DataState<'de>, M::Error> {
        let Some(channel) = channel else {
            return Ok(DataState::Deferred(map.next_value()?));
        };
        match channel.payload(self.kind) {
            Some(payload) => map
                .next_value_seed(DataSeed {
                    payload,
                    sink: &mut *self.sink,
                })
                .map(DataState::Read),
            None => map.next_value::<IgnoredAny>().map(|_| DataState::Absent),
        }
    }
}

/// Keys of the top-level object.
#[derive(Debug, Clone, Copy)]
enum TopKey {
    Channel,
    Data,
    Other,
}

fn top_key(key: &str) -> TopKey {
    match key {
        "channel" => TopKey::Channel,
        "data" => TopKey::Data,
        _ => TopKey::Other,
    }
}

fn need<T>(value: Option<T>, name: &'static str) -> Result<T, DecodeError> {
    value.ok_or(DecodeError::MissingField(name))
}

/// Turns a read payload into its events: finishes the book header at `start`, or pushes
/// the top of book / funding events; trades are complete already.
fn finish(
    payload: Payload,
    data: Data,
    out: &mut EventBuf,
    start: usize,
    ts_recv_raw: u64,
) -> Result<Decoded, DecodeError> {
    if payload == Payload::Trades {
        return Ok(Decoded::Events(data.trades));
    }
    let instrument = need(data.instrument, "coin")?;
    let time_ms = match payload {
        Payload::AssetCtx => 0,
        _ => need(data.time_ms, "time")?,
    };
    match payload {
        Payload::Book => {
            let levels = need(data.levels, "levels")?;
            out.tail_mut(start)[0].body = EventBody::DepthBegin {
                first_update_id: time_ms,
                last_update_id: time_ms,
                prev_update_id: 0,
                levels: u16::try_from(levels).map_err(|_| DecodeError::TooManyEvents)?,
                snapshot: true,
                checksum: None,
            };
        }
        Payload::Bbo => match need(data.bbo, "bbo")? {
            [Some((bid, bid_qty)), Some((ask, ask_qty))] => out.push(MarketEvent {
                body: EventBody::TopOfBook {
                    bid,
                    bid_qty,
                    ask,
                    ask_qty,
                    update_id: time_ms,
                },
                ..placeholder(ts_recv_raw)
            })?,
            _ => return Ok(Decoded::Events(0)),
        },
        Payload::AssetCtx => {
            let ctx = need(data.ctx, "ctx")?;
            let funding = EventBody::Funding {
                mark: need(ctx.mark, "markPx")?,
                index: need(ctx.oracle, "oraclePx")?,
                rate: need(ctx.funding, "funding")?,
                next_funding_ms: 0,
                fields: FUNDING_FIELDS,
            };
            let qty = need(ctx.open_interest, "openInterest")?;
            for body in [funding, EventBody::OpenInterest { qty }] {
                out.push(MarketEvent {
                    body,
                    ..placeholder(ts_recv_raw)
                })?;
            }
        }
        Payload::Trades => {}
    }
    stamp(out, start, ts_recv_raw, time_ms, instrument);
    Ok(Decoded::Events(out.len() - start))
}

/// What `activeAssetCtx` carries: no next funding time.
pub(super) const FUNDING_FIELDS: FundingFields = FundingFields::MARK
    .with(FundingFields::INDEX)
    .with(FundingFields::RATE);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::json::assert_duplicates_refused;
    use crate::types::{InstrumentId, Price, Qty, Rate, Side};

    const BTC: InstrumentId = InstrumentId(1);
    const PURR: InstrumentId = InstrumentId(2);
    const HYPE: InstrumentId = InstrumentId(3);
    const XYZ100: InstrumentId = InstrumentId(4);

    fn decoder(kind: MarketKind) -> HyperliquidDecoder {
        let mut symbols = SymbolMap::default();
        symbols.insert("BTC", BTC);
        symbols.insert("PURR/USDC", PURR);
        symbols.insert("@107", HYPE);
        symbols.insert("xyz:XYZ100", XYZ100);
        HyperliquidDecoder::new(kind, symbols)
    }

    fn decode_as(
        kind: MarketKind,
        frame: &str,
        capacity: usize,
    ) -> (Result<Decoded, DecodeError>, Vec<MarketEvent>) {
        let mut buf = EventBuf::with_capacity(capacity);
        let result = decoder(kind).decode(frame.as_bytes(), 77, &mut buf);
        (result, buf.as_slice().to_vec())
    }

    fn decode(frame: &str) -> (Result<Decoded, DecodeError>, Vec<MarketEvent>) {
        decode_as(MarketKind::Perp, frame, 16)
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

    #[test]
    fn test_duplicated_keys_of_hot_messages_are_refused() {
        const BOOK: &str = r#"{"channel":"l2Book","data":{"coin":"BTC","time":1700000000000,"levels":[[{"px":"1.5","sz":"2","n":5}],[{"px":"1.6","sz":"3","n":1}]]}}"#;
        const BBO: &str = r#"{"channel":"bbo","data":{"coin":"BTC","time":1700000000000,"bbo":[{"px":"1.5","sz":"2","n":5},{"px":"1.6","sz":"3","n":1}]}}"#;
        const TRADES: &str = r#"{"channel":"trades","data":[{"coin":"BTC","side":"B","px":"1.5","sz":"1","time":1700000000000,"hash":"0x1","tid":7}]}"#;
        const CTX: &str = r#"{"channel":"activeAssetCtx","data":{"coin":"BTC","ctx":{"funding":"0.0000125","openInterest":"100","oraclePx":"100000","markPx":"100001"}}}"#;
        assert_duplicates_refused(
            decode,
            &[
                (BOOK, "levels", "[[],[]]"),
                (BOOK, "coin", r#""BTC""#),
                (BOOK, "time", "2"),
                (BOOK, "px", r#""1.4""#),
                (BOOK, "sz", r#""9""#),
                (BOOK, "channel", r#""l2Book""#),
                (BBO, "bbo", "[null,null]"),
                (TRADES, "side", r#""A""#),
                (TRADES, "px", r#""1""#),
                (TRADES, "tid", "8"),
                (CTX, "markPx", r#""1""#),
                (CTX, "funding", r#""0.1""#),
                (CTX, "ctx", r#"{"markPx":"1"}"#),
            ],
        );
    }

    #[test]
    fn test_decode_l2book_snapshot_bids_then_asks() {
        let (r, ev) = decode(
            r#"{"channel":"l2Book","data":{"coin":"BTC","time":1737918843542,"levels":[[{"px":"105055.0","sz":"3.03622","n":5},{"px":"105054.0","sz":"0.1428","n":1}],[{"px":"105056.0","sz":"6.34472","n":13}]]}}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(4)));
        assert_eq!(
            ev[0].body,
            EventBody::DepthBegin {
                first_update_id: 1737918843542,
                last_update_id: 1737918843542,
                prev_update_id: 0,
                levels: 3,
                snapshot: true,
                checksum: None,
            }
        );
        assert_eq!(ev[1].body, level(Side::Bid, "105055", "3.03622"));
        assert_eq!(ev[2].body, level(Side::Bid, "105054", "0.1428"));
        assert_eq!(ev[3].body, level(Side::Ask, "105056", "6.34472"));
        assert!(
            ev.iter().all(|e| e.instrument == BTC
                && e.ts_venue_ms == 1737918843542
                && e.ts_recv_raw == 77)
        );
    }

    #[test]
    fn test_decode_l2book_keys_in_any_order_and_empty_book() {
        let sorted = r#"{"channel":"l2Book","data":{"coin":"BTC","levels":[[{"n":5,"px":"1.5","sz":"2"}],[{"n":1,"sz":"3","px":"1.6"}]],"time":9}}"#;
        let data_first = r#"{"data":{"levels":[[{"n":5,"px":"1.5","sz":"2"}],[{"n":1,"sz":"3","px":"1.6"}]],"time":9,"coin":"BTC"},"channel":"l2Book"}"#;
        let (r, ev) = decode(sorted);
        assert_eq!(r, Ok(Decoded::Events(3)));
        assert_eq!(ev[2].body, level(Side::Ask, "1.6", "3"));
        assert_eq!(decode(data_first), (r, ev));
        let (r, ev) =
            decode(r#"{"channel":"l2Book","data":{"coin":"BTC","time":1,"levels":[[],[]]}}"#);
        assert_eq!(r, Ok(Decoded::Events(1)));
        assert!(matches!(
            ev[0].body,
            EventBody::DepthBegin {
                levels: 0,
                snapshot: true,
                ..
            }
        ));
    }

    #[test]
    fn test_decode_bbo_both_sides_and_spot_index_name() {
        let (r, ev) = decode_as(
            MarketKind::Spot,
            r#"{"channel":"bbo","data":{"coin":"@107","time":1750948919838,"bbo":[{"px":"0.97925","sz":"4144.6","n":1},{"px":"0.97934","sz":"50.0","n":1}]}}"#,
            4,
        );
        assert_eq!(r, Ok(Decoded::Events(1)));
        assert_eq!(
            ev[0].body,
            EventBody::TopOfBook {
                bid: px("0.97925"),
                bid_qty: qty("4144.6"),
                ask: px("0.97934"),
                ask_qty: qty("50"),
                update_id: 1750948919838,
            }
        );
        assert_eq!((ev[0].instrument, ev[0].ts_venue_ms), (HYPE, 1750948919838));
    }

    #[test]
    fn test_decode_bbo_with_an_empty_side_yields_no_event() {
        for frame in [
            r#"{"channel":"bbo","data":{"coin":"BTC","time":1,"bbo":[{"px":"1","sz":"1","n":1},null]}}"#,
            r#"{"channel":"bbo","data":{"coin":"BTC","time":1,"bbo":[null,{"px":"1","sz":"1","n":1}]}}"#,
            r#"{"channel":"bbo","data":{"coin":"BTC","time":1,"bbo":[null,null]}}"#,
            r#"{"channel":"bbo","data":{"coin":"BTC","time":1750948919838,"bbo":[{"px":"107575.0","sz":"3.87947","n":17}]}}"#,
        ] {
            let (r, ev) = decode(frame);
            assert_eq!(r, Ok(Decoded::Events(0)), "{frame}");
            assert!(ev.is_empty(), "{frame}");
        }
    }

    #[test]
    fn test_decode_trades_one_event_each_with_own_time() {
        let (r, ev) = decode(
            r#"{"channel":"trades","data":[{"coin":"BTC","side":"B","px":"69997.0","sz":"0.38111","time":1730160006192,"hash":"0x40","tid":1016375172059570},{"coin":"BTC","hash":"0x00","px":"105055.0","side":"A","sz":"0.00035","tid":199015583806854,"time":1737918797023,"users":["0x6f","0xe0"]}]}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(2)));
        assert_eq!(
            ev[0].body,
            EventBody::Trade {
                price: px("69997"),
                qty: qty("0.38111"),
                aggressor: Side::Bid,
                trade_id: 1016375172059570,
            }
        );
        assert_eq!(ev[0].ts_venue_ms, 1730160006192);
        assert!(matches!(
            ev[1].body,
            EventBody::Trade {
                aggressor: Side::Ask,
                trade_id: 199015583806854,
                ..
            }
        ));
        assert_eq!((ev[1].ts_venue_ms, ev[1].instrument), (1737918797023, BTC));
        assert_eq!(
            decode(r#"{"channel":"trades","data":[]}"#).0,
            Ok(Decoded::Events(0))
        );
    }

    #[test]
    fn test_decode_builder_dex_perp_name_every_channel() {
        for frame in [
            r#"{"channel":"l2Book","data":{"coin":"xyz:XYZ100","time":9,"levels":[[{"px":"25000.5","sz":"1.2","n":3}],[{"px":"25001.0","sz":"0.4","n":1}]]}}"#,
            r#"{"channel":"bbo","data":{"coin":"xyz:XYZ100","time":9,"bbo":[{"px":"25000.5","sz":"1.2","n":3},{"px":"25001.0","sz":"0.4","n":1}]}}"#,
            r#"{"channel":"trades","data":[{"coin":"xyz:XYZ100","side":"B","px":"25001.0","sz":"0.1","time":9,"hash":"0x2","tid":11}]}"#,
        ] {
            let (r, ev) = decode(frame);
            assert!(
                matches!(r, Ok(Decoded::Events(n)) if n > 0),
                "{frame}: {r:?}"
            );
            assert!(ev.iter().all(|e| e.instrument == XYZ100), "{frame}");
        }
    }

    #[test]
    fn test_decode_spot_pair_name_trade() {
        let (r, ev) = decode_as(
            MarketKind::Spot,
            r#"{"channel":"trades","data":[{"coin":"PURR/USDC","side":"A","px":"0.21","sz":"100","time":5,"hash":"0x1","tid":7}]}"#,
            4,
        );
        assert_eq!(r, Ok(Decoded::Events(1)));
        assert_eq!(ev[0].instrument, PURR);
    }

    #[test]
    fn test_decode_active_asset_ctx_funding_and_open_interest() {
        let frame = r#"{"channel":"activeAssetCtx","data":{"coin":"BTC","ctx":{"funding":"0.00004863","openInterest":"18617460.0","prevDayPx":"0.20296","dayNtlVlm":"7665220.55613","premium":"0.00008521","oraclePx":"0.1995","markPx":"0.19963","midPx":"0.19957","impactPxs":["0.199517","0.199725"]}}}"#;
        let (r, ev) = decode(frame);
        assert_eq!(r, Ok(Decoded::Events(2)));
        assert_eq!(
            ev[0].body,
            EventBody::Funding {
                mark: px("0.19963"),
                index: px("0.1995"),
                rate: Rate::from_decimal_str("0.00004863").unwrap(),
                next_funding_ms: 0,
                fields: FUNDING_FIELDS,
            }
        );
        assert!(!FUNDING_FIELDS.contains(FundingFields::NEXT_FUNDING));
        assert_eq!(
            ev[1].body,
            EventBody::OpenInterest {
                qty: qty("18617460")
            }
        );
        assert!(ev.iter().all(|e| e.instrument == BTC && e.ts_venue_ms == 0));
        assert_eq!(
            decode_as(MarketKind::Spot, frame, 4).0,
            Ok(Decoded::Unknown)
        );
        let (r, ev) = decode(
            r#"{"channel":"activeAssetCtx","data":{"coin":"BTC","ctx":{"funding":"0.0001","oraclePx":"1","markPx":"1"}}}"#,
        );
        assert_eq!(r, Err(DecodeError::MissingField("openInterest")));
        assert!(ev.is_empty());
    }

    #[test]
    fn test_decode_float_printed_open_interest_is_refused_not_rounded() {
        let (r, ev) = decode(
            r#"{"channel":"activeAssetCtx","data":{"coin":"BTC","ctx":{"funding":"0.0000125","openInterest":"605822.2557999999","oraclePx":"2124.6","markPx":"2123.7"}}}"#,
        );
        assert!(
            matches!(r, Err(DecodeError::Decimal(e)) if e.kind == crate::types::DecimalErrorKind::TooPrecise)
        );
        assert!(ev.is_empty());
    }

    #[test]
    fn test_decode_control_messages() {
        let cases: &[(&str, Result<Decoded, DecodeError>)] = &[
            (SERVER_HELLO, Ok(Decoded::Ack)),
            (
                r#"{"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":{"type":"l2Book","coin":"BTC"}}}"#,
                Ok(Decoded::Ack),
            ),
            (r#"{"channel":"pong"}"#, Ok(Decoded::Heartbeat)),
            (
                r#"{"channel":"error","data":"Invalid subscription {\"type\":\"l2Book\",\"coin\":\"NOPE\"}"}"#,
                Err(DecodeError::VenueError),
            ),
            (
                r#"{"channel":"activeSpotAssetCtx","data":{"coin":"@2","ctx":{"markPx":"0.00005299","coin":"@2"}}}"#,
                Ok(Decoded::Unknown),
            ),
            (
                r#"{"channel":"allDexsAssetCtxs","data":{"ctxs":[["",[{"funding":"0.0000125"}]]]}}"#,
                Ok(Decoded::Unknown),
            ),
            (
                r#"{"channel":"allMids","data":{"mids":{"ZZZ":"1.0"}}}"#,
                Ok(Decoded::Unknown),
            ),
            (
                r#"{"data":{"mids":{"ZZZ":"1.0"}},"channel":"allMids"}"#,
                Ok(Decoded::Unknown),
            ),
        ];
        for (frame, want) in cases {
            let (r, ev) = decode(frame);
            assert_eq!(r, *want, "{frame}");
            assert!(ev.is_empty(), "{frame}");
        }
    }

    #[test]
    fn test_decode_malformed_is_typed_and_leaves_nothing() {
        let cases: &[(&str, DecodeError)] = &[
            ("", DecodeError::Json),
            ("{not json", DecodeError::Json),
            (r#"[1,2]"#, DecodeError::Json),
            (r#"{"data":{}}"#, DecodeError::MissingField("channel")),
            (r#"{"channel":"l2Book"}"#, DecodeError::MissingField("data")),
            (
                r#"{"channel":"l2Book","data":{"coin":"BTC","time":1,"levels":[[{"px":"1","sz":"1"}],[]]}"#,
                DecodeError::Json,
            ),
            (
                r#"{"channel":"l2Book","data":{"coin":"BTC","levels":[[],[]]}}"#,
                DecodeError::MissingField("time"),
            ),
            (
                r#"{"channel":"l2Book","data":{"coin":"BTC","time":1}}"#,
                DecodeError::MissingField("levels"),
            ),
            (
                r#"{"channel":"l2Book","data":{"coin":"BTC","time":1,"levels":[[{"sz":"1","n":1}],[]]}}"#,
                DecodeError::MissingField("px"),
            ),
            (
                r#"{"channel":"l2Book","data":{"coin":"BTC","time":1,"levels":[[],[],[]]}}"#,
                DecodeError::Json,
            ),
            (
                r#"{"channel":"l2Book","data":{"coin":"BTC","time":1,"levels":[[]]}}"#,
                DecodeError::Json,
            ),
            (
                r#"{"channel":"l2Book","data":{"coin":"BTC","time":1,"levels":[[{"px":1.5,"sz":"1"}],[]]}}"#,
                DecodeError::Json,
            ),
            (
                r#"{"channel":"l2Book","data":{"coin":"ETH","time":1,"levels":[[],[]]}}"#,
                DecodeError::UnknownSymbol,
            ),
            (
                r#"{"channel":"l2Book","data":{"coin":"BTC","time":1,"levels":[[],[]]},"data":{}}"#,
                DecodeError::DuplicateKey,
            ),
            (
                r#"{"channel":"bbo","data":{"coin":"BTC","time":1,"bbo":[null,null,null]}}"#,
                DecodeError::Json,
            ),
            (
                r#"{"channel":"trades","data":[{"coin":"BTC","side":"B","px":"1","sz":"1","time":1,"tid":1},{"coin":"ETH","side":"B","px":"1","sz":"1","time":1,"tid":2}]}"#,
                DecodeError::UnknownSymbol,
            ),
            (
                r#"{"channel":"trades","data":[{"coin":"BTC","side":"X","px":"1","sz":"1","time":1,"tid":1}]}"#,
                DecodeError::Json,
            ),
            (
                r#"{"channel":"trades","data":[{"coin":"BTC","side":"B","px":"1","sz":"1","time":1}]}"#,
                DecodeError::MissingField("tid"),
            ),
            (
                r#"{"channel":"trades","data":{"coin":"BTC"}}"#,
                DecodeError::Json,
            ),
        ];
        for (frame, want) in cases {
            let (r, ev) = decode(frame);
            assert_eq!(r, Err(*want), "{frame}");
            assert!(ev.is_empty(), "{frame}");
        }
        let (r, _) = decode(
            r#"{"channel":"trades","data":[{"coin":"BTC","side":"B","px":"1.0x","sz":"1","time":1,"tid":1}]}"#,
        );
        assert!(matches!(r, Err(DecodeError::Decimal(e)) if e.input() == "1.0x"));
        let (r, _) = decode(
            r#"{"channel":"l2Book","data":{"coin":"BTC","time":1,"levels":[[{"px":"1","sz":"0.000000001"}],[]]}}"#,
        );
        assert!(matches!(r, Err(DecodeError::Decimal(_))));
    }

    #[test]
    fn test_decode_too_many_events_is_refused_and_earlier_events_kept() {
        let frame = r#"{"channel":"l2Book","data":{"coin":"BTC","time":1,"levels":[[{"px":"1","sz":"1"}],[{"px":"2","sz":"1"}]]}}"#;
        let mut dec = decoder(MarketKind::Perp);
        let mut buf = EventBuf::with_capacity(3);
        let trade = r#"{"channel":"trades","data":[{"coin":"BTC","side":"B","px":"1","sz":"1","time":1,"tid":1}]}"#;
        assert_eq!(
            dec.decode(trade.as_bytes(), 1, &mut buf),
            Ok(Decoded::Events(1))
        );
        assert_eq!(
            dec.decode(frame.as_bytes(), 2, &mut buf),
            Err(DecodeError::TooManyEvents)
        );
        assert_eq!(buf.len(), 1);
        buf.clear();
        assert_eq!(
            dec.decode(frame.as_bytes(), 2, &mut buf),
            Ok(Decoded::Events(3))
        );
        let mut full = EventBuf::with_capacity(1);
        let ctx = r#"{"channel":"activeAssetCtx","data":{"coin":"BTC","ctx":{"funding":"0","openInterest":"1","oraclePx":"1","markPx":"1"}}}"#;
        assert_eq!(
            dec.decode(ctx.as_bytes(), 3, &mut full),
            Err(DecodeError::TooManyEvents)
        );
        assert!(full.is_empty());
    }
}
