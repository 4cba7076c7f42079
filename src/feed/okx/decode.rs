//! OKX v5 public WebSocket decoder (spot and swaps share one format): one text frame →
//! `MarketEvent`s. Runs on the feed stage's thread: single pass with sonic-rs through serde
//! visitors, decimal strings parsed straight into fixed point, events written into the
//! caller's preallocated [`EventBuf`]; no allocation per message, no `f64`.
//!
//! A push is `{"arg":{"channel":..,"instId":..},"action":..,"data":[{..},..]}`; the
//! instrument is `arg.instId`, each element of `data` is stamped with its own `ts`.
//! OKX sends `arg` first; should `data` come before it, its raw text is kept (borrowed,
//! no copy) and decoded once the envelope is read, so key order never matters.
//!
//! | channel | events per element |
//! |---|---|
//! | `books`, `books-l2-tbt`, `books50-l2-tbt` | `DepthBegin` + its levels, asks then bids as sent |
//! | `books5` | the same, always `snapshot` (it has no `action`) |
//! | `bbo-tbt` | `TopOfBook`, `update_id` = `ts`; none when a side is empty |
//! | `trades` | `Trade` (`side` `buy` = taker bought = `Side::Bid`), `tradeId` parsed as u64 |
//! | `funding-rate` | `Funding` with `RATE` and `NEXT_FUNDING` |
//! | `mark-price` | `Funding` with `MARK` |
//! | `open-interest` | `OpenInterest` = `oi`, in contracts (not `oiCcy`, in coin) |
//!
//! Sequencing conventions in `DepthBegin` (the book stage applies the rules):
//! `snapshot` = `action == "snapshot"`; `first_update_id = last_update_id = seqId` (0 when
//! absent, as in recordings older than `seqId`); `prev_update_id = prevSeqId` (0 when absent
//! or -1, which OKX sends on the first snapshot); `checksum = Some(checksum)` read as a
//! signed 32-bit integer (CRC32 of the top 25 levels a side, see
//! `L2Book::okx_checksum`), `None` when absent (`books5`); `ts_venue_ms = ts`.
//!
//! Decisions, documented here because the venue leaves them open:
//! - `bbo-tbt` with an empty side (`"bids":[]`, seen on illiquid options) is well-formed
//!   but has no top of book: `Ok(Decoded::Events(0))`, no event, not an error. The
//!   previous top stays until the next two-sided message; the book channel carries the
//!   one-sided state.
//! - `funding-rate`: `fundingTime` is the next settlement (the one `fundingRate` applies
//!   to), so it is `next_funding_ms`; `nextFundingTime` (the one after) is not kept.
//!   `ts_venue_ms` is `ts` when present, 0 otherwise (older pushes have none).
//!
//! Control: `{"event":"subscribe"|"unsubscribe",..}` → `Ack`; `{"event":"error",..}` →
//! `Err(VenueError)`; other events (`notice`, `channel-conn-count`) → `Unknown`; the bare
//! text `pong` → `Heartbeat`. Pushes of other channels (`tickers`, candles) and messages
//! without `arg` (REST bodies) → `Unknown`. A configured channel whose `instId` is not in
//! the symbol map → `Err(UnknownSymbol)`.
//!
//! Wire formats: <https://www.okx.com/docs-v5/en/#order-book-trading-market-data-ws-order-book-channel>
//! and the neighbouring public channels.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use sonic_rs::LazyValue;

use super::data::{Channel, DataSeed};
pub use crate::feed::decode::{DecodeError, Decoded};
use crate::feed::event_buf::EventBuf;
use crate::feed::json::{Failure, StrSeed, fail};
use crate::feed::symbols::SymbolMap;
use crate::types::{EventBody, InstrumentId, MarketKind};

/// The text OKX answers to our `ping`.
const PONG: &[u8] = b"pong";

/// Decoder for one OKX connection.
#[derive(Debug, Clone)]
pub struct OkxDecoder {
    symbols: SymbolMap,
}

impl OkxDecoder {
    /// A decoder resolving the connection's `instId`s to instrument ids. Spot and swap
    /// pushes share one format, so `kind` changes nothing in decoding; it is taken for
    /// the interface every venue decoder shares.
    pub fn new(kind: MarketKind, symbols: SymbolMap) -> Self {
        let _ = kind;
        Self { symbols }
    }

    /// Decodes one frame, appending its events (stamped with `ts_recv_raw`) to `out`.
    /// On error nothing is left in `out` from this frame.
    pub fn decode(
        &mut self,
        frame: &[u8],
        ts_recv_raw: u64,
        out: &mut EventBuf,
    ) -> Result<Decoded, DecodeError> {
        if frame == PONG {
            return Ok(Decoded::Heartbeat);
        }
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
        let failure = Failure::default();
        let mut de = sonic_rs::Deserializer::from_slice(frame);
        let envelope = EnvelopeSeed {
            symbols: &self.symbols,
            ts_recv_raw,
            out: &mut *out,
            failure: &failure,
        }
        .deserialize(&mut de)
        .and_then(|envelope| de.end().map(|()| envelope))
        .map_err(|_| failure.get().unwrap_or(DecodeError::Json))?;
        finish(envelope, ts_recv_raw, out, start)
    }
}

/// The `event` of a control message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Ack,
    Error,
    Other,
}

/// The `action` of a book push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Snapshot,
    Update,
    Other,
}

/// `arg.instId` resolved: absent, configured, or not configured on this connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Lookup {
    #[default]
    Absent,
    Known(InstrumentId),
    Unknown,
}

impl Lookup {
    fn instrument(self) -> Result<InstrumentId, DecodeError> {
        match self {
            Lookup::Absent => Err(DecodeError::MissingField("instId")),
            Lookup::Known(id) => Ok(id),
            Lookup::Unknown => Err(DecodeError::UnknownSymbol),
        }
    }
}

/// `data`: not seen, decoded in the pass (this many events), or kept raw because it
/// came before `arg`.
#[derive(Debug, Default)]
enum Data<'de> {
    #[default]
    Absent,
    Decoded,
    Raw(LazyValue<'de>),
}

/// The envelope of one message, as collected in one pass.
#[derive(Debug, Default)]
struct Envelope<'de> {
    event: Option<Event>,
    channel: Option<Channel>,
    instrument: Lookup,
    action: Option<Action>,
    data: Data<'de>,
}

/// Turns the envelope into the outcome: decodes a `data` kept raw, sets the books'
/// `snapshot` flag from `action`.
fn finish(
    envelope: Envelope<'_>,
    ts_recv_raw: u64,
    out: &mut EventBuf,
    start: usize,
) -> Result<Decoded, DecodeError> {
    match envelope.event {
        Some(Event::Ack) => return Ok(Decoded::Ack),
        Some(Event::Error) => return Err(DecodeError::VenueError),
        Some(Event::Other) => return Ok(Decoded::Unknown),
        None => {}
    }
    let channel = match envelope.channel {
        None | Some(Channel::Other) => return Ok(Decoded::Unknown),
        Some(channel) => channel,
    };
    match envelope.data {
        Data::Absent => return Err(DecodeError::MissingField("data")),
        Data::Decoded => {}
        Data::Raw(raw) => {
            let failure = Failure::default();
            let mut de = sonic_rs::Deserializer::from_slice(raw.as_raw_str().as_bytes());
            DataSeed {
                channel,
                instrument: envelope.instrument.instrument()?,
                ts_recv_raw,
                out: &mut *out,
                failure: &failure,
            }
            .deserialize(&mut de)
            .map_err(|_| failure.get().unwrap_or(DecodeError::Json))?;
        }
    }
    if channel == Channel::Books {
        let snapshot = match envelope.action {
            Some(Action::Snapshot) => true,
            Some(Action::Update) => false,
            Some(Action::Other) => return Err(DecodeError::Json),
            None => return Err(DecodeError::MissingField("action")),
        };
        mark_snapshot(out, start, snapshot);
    }
    Ok(Decoded::Events(out.len() - start))
}

fn mark_snapshot(out: &mut EventBuf, start: usize, value: bool) {
    for event in out.tail_mut(start) {
        if let EventBody::DepthBegin { snapshot, .. } = &mut event.body {
            *snapshot = value;
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Key {
    Event,
    Arg,
    Action,
    Data,
    Other,
}

impl Key {
    fn from_name(key: &str) -> Self {
        match key {
            "event" => Key::Event,
            "arg" => Key::Arg,
            "action" => Key::Action,
            "data" => Key::Data,
            _ => Key::Other,
        }
    }
}

struct EnvelopeSeed<'a> {
    symbols: &'a SymbolMap,
    ts_recv_raw: u64,
    out: &'a mut EventBuf,
    failure: &'a Failure,
}

impl<'de> DeserializeSeed<'de> for EnvelopeSeed<'_> {
    type Value = Envelope<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Envelope<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EnvelopeSeed<'_> {
    type Value = Envelope<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an OKX v5 message")
    }

    fn visit_map<M: MapAccess<'de>>(mut self, mut map: M) -> Result<Envelope<'de>, M::Error> {
        let mut envelope = Envelope::default();
        while let Some(key) = map.next_key_seed(StrSeed(Key::from_name))? {
            match key {
                Key::Event => envelope.event = Some(map.next_value_seed(StrSeed(event_of))?),
                Key::Arg => {
                    let (channel, instrument) = map.next_value_seed(ArgSeed(self.symbols))?;
                    envelope.channel = channel;
                    envelope.instrument = instrument;
                }
                Key::Action => envelope.action = Some(map.next_value_seed(StrSeed(action_of))?),
                Key::Data => envelope.data = self.data(&envelope, &mut map)?,
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(envelope)
    }
}

impl EnvelopeSeed<'_> {
    /// Decodes `data` now when `arg` came first, keeps it raw otherwise.
    fn data<'de, M: MapAccess<'de>>(
        &mut self,
        envelope: &Envelope<'de>,
        map: &mut M,
    ) -> Result<Data<'de>, M::Error> {
        let channel = match envelope.channel {
            None => return Ok(Data::Raw(map.next_value()?)),
            Some(Channel::Other) => {
                map.next_value::<IgnoredAny>()?;
                return Ok(Data::Decoded);
            }
            Some(channel) => channel,
        };
        let instrument = envelope
            .instrument
            .instrument()
            .map_err(|e| fail(self.failure, e))?;
        map.next_value_seed(DataSeed {
            channel,
            instrument,
            ts_recv_raw: self.ts_recv_raw,
            out: &mut *self.out,
            failure: self.failure,
        })?;
        Ok(Data::Decoded)
    }
}

fn event_of(event: &str) -> Event {
    match event {
        "subscribe" | "unsubscribe" => Event::Ack,
        "error" => Event::Error,
        _ => Event::Other,
    }
}

fn action_of(action: &str) -> Action {
    match action {
        "snapshot" => Action::Snapshot,
        "update" => Action::Update,
        _ => Action::Other,
    }
}

/// `arg`: `{"channel":..,"instId":..}` (other keys such as `instType` skipped).
struct ArgSeed<'a>(&'a SymbolMap);

impl<'de> DeserializeSeed<'de> for ArgSeed<'_> {
    type Value = (Option<Channel>, Lookup);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ArgSeed<'_> {
    type Value = (Option<Channel>, Lookup);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an OKX arg object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
        let (mut channel, mut lookup) = (None, Lookup::Absent);
        while let Some(key) = map.next_key_seed(StrSeed(arg_key))? {
            match key {
                ArgKey::Channel => {
                    channel = Some(map.next_value_seed(StrSeed(Channel::from_name))?)
                }
                ArgKey::InstId => {
                    let id = map.next_value_seed(StrSeed(|s: &str| self.0.get(s)))?;
                    lookup = id.map_or(Lookup::Unknown, Lookup::Known);
                }
                ArgKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok((channel, lookup))
    }
}

#[derive(Debug, Clone, Copy)]
enum ArgKey {
    Channel,
    InstId,
    Other,
}

fn arg_key(key: &str) -> ArgKey {
    match key {
        "channel" => ArgKey::Channel,
        "instId" => ArgKey::InstId,
        _ => ArgKey::Other,
    }
}
