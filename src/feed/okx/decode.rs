//! OKX v5 public WebSocket decoder (spot and swaps share one format): one text frame →
//! `MarketEvent`s. Runs on the feed stage's thread: single pass with sonic-rs through serde
//! visitors, decimal strings parsed straight into fixed point, events written into the
//! caller's preallocated [`EventBuf`]; no allocation per message, no `f64`. The hot
//! pushes (books, `bbo-tbt`, `trades`) take the schema-specific scanner in [`super::fast`]
//! first.
//!
//! A push is `{"arg":{"channel":..,"instId":..},"action":..,"data":[{..},..]}`; the
//! instrument is `arg.instId`, each element of `data` is stamped with its own `ts`.
//! OKX sends `arg` first; should `data` come before it, the frame is parsed a second
//! time with `arg` known, so key order never matters (and the common order costs one
//! pass). NB: not sonic-rs's `LazyValue`: on invalid UTF-8 it debug-asserts and is
//! unchecked in release (found by `tests/fuzz_okx.rs`).
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
//! or -1, which OKX sends on snapshots); `checksum = Some(checksum)` read as a signed
//! 32-bit integer (CRC32 of the top 25 levels a side, see `L2Book::okx_checksum`; 0 since
//! OKX deprecated it in June 2026, and then not checked), `None` when absent (`books5`,
//! the REST book of [`super::rest`]); `ts_venue_ms = ts`.
//!
//! Decisions, documented here because the venue leaves them open:
//! - `bbo-tbt` with an empty side (`"bids":[]`, seen on illiquid options) is well-formed
//!   but has no top of book: `Ok(Decoded::Events(0))`, no event, not an error. The
//!   previous top stays until the next two-sided message; the book channel carries the
//!   one-sided state.
//! - `funding-rate`: `fundingTime` is the next settlement (the one `fundingRate` applies
//!   to), so it is `next_funding_ms`; `nextFundingTime` (the one after) is not kept.
//!   `ts_venue_ms` is `ts` when present, 0 otherwise (older pushes have none).
//!   OKX prints rates with 16 decimals, exactly what `Rate` keeps.
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

use super::data::{Channel, DataSeed};
use super::fast;
pub use crate::feed::decode::{DecodeError, Decoded};
use crate::feed::event_buf::EventBuf;
use crate::feed::json::{Failure, SeenKeys, StrSeed, fail};
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
    /// On error nothing is left in `out` from this frame. Book, `bbo-tbt` and `trades`
    /// pushes go through the schema-specific [`fast`] scanner; whatever it declines,
    /// through the generic path.
    #[inline]
    pub fn decode(
        &mut self,
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
    /// error. [`OkxDecoder::decode`] tries the fast path first; this is public for the
    /// differential test and the benchmark.
    pub fn decode_generic(
        &self,
        frame: &[u8],
        ts_recv_raw: u64,
        out: &mut EventBuf,
    ) -> Result<Decoded, DecodeError> {
        if frame == PONG {
            return Ok(Decoded::Heartbeat);
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
        let mut envelope = self.parse(frame, ts_recv_raw, out, None)?;
        let skipped = envelope.data == Data::Skipped && envelope.event.is_none();
        if let Some(channel) = envelope.channel.filter(|&c| skipped && c != Channel::Other) {
            let arg = (channel, envelope.instrument);
            envelope = self.parse(frame, ts_recv_raw, out, Some(arg))?;
        }
        finish(envelope, out, start)
    }

    /// One pass over the frame; `arg` given, `data` is decoded wherever it comes.
    fn parse(
        &self,
        frame: &[u8],
        ts_recv_raw: u64,
        out: &mut EventBuf,
        arg: Option<(Channel, Lookup)>,
    ) -> Result<Envelope, DecodeError> {
        let failure = Failure::default();
        let mut de = sonic_rs::Deserializer::from_slice(frame);
        EnvelopeSeed {
            symbols: &self.symbols,
            arg,
            ts_recv_raw,
            out,
            failure: &failure,
        }
        .deserialize(&mut de)
        .and_then(|envelope| de.end().map(|()| envelope))
        .map_err(|_| failure.get().unwrap_or(DecodeError::Json))
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

/// `data`: not seen, decoded (or skipped as of no interest), or skipped because it came
/// before `arg` (decoded by a second pass).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Data {
    #[default]
    Absent,
    Decoded,
    Skipped,
}

/// The envelope of one message, as collected in one pass.
#[derive(Debug, Default)]
struct Envelope {
    event: Option<Event>,
    channel: Option<Channel>,
    instrument: Lookup,
    action: Option<Action>,
    data: Data,
}

/// Turns the envelope into the outcome; sets the books' `snapshot` flag from `action`.
fn finish(envelope: Envelope, out: &mut EventBuf, start: usize) -> Result<Decoded, DecodeError> {
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
        // The second pass decodes `data` wherever it comes: skipped only before `arg`.
        Data::Skipped => return Err(DecodeError::Json),
        Data::Decoded => {}
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
    /// `arg` from an earlier pass, when `data` came first.
    arg: Option<(Channel, Lookup)>,
    ts_recv_raw: u64,
    out: &'a mut EventBuf,
    failure: &'a Failure,
}

impl<'de> DeserializeSeed<'de> for EnvelopeSeed<'_> {
    type Value = Envelope;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Envelope, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EnvelopeSeed<'_> {
    type Value = Envelope;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an OKX v5 message")
    }

    fn visit_map<M: MapAccess<'de>>(mut self, mut map: M) -> Result<Envelope, M::Error> {
        let mut envelope = Envelope::default();
        if let Some((channel, instrument)) = self.arg {
            (envelope.channel, envelope.instrument) = (Some(channel), instrument);
        }
        let mut seen = SeenKeys::default();
        while let Some(key) = map.next_key_seed(StrSeed(Key::from_name))? {
            if !matches!(key, Key::Other) {
                seen.first(key as u32, self.failure)?;
            }
            match key {
                Key::Event => envelope.event = Some(map.next_value_seed(StrSeed(event_of))?),
                Key::Arg => {
                    let (channel, instrument) =
                        map.next_value_seed(ArgSeed(self.symbols, self.failure))?;
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
    /// Decodes `data` when `arg` is known, skips it otherwise.
    fn data<'de, M: MapAccess<'de>>(
        &mut self,
        envelope: &Envelope,
        map: &mut M,
    ) -> Result<Data, M::Error> {
        let channel = match envelope.channel {
            None => {
                map.next_value::<IgnoredAny>()?;
                return Ok(Data::Skipped);
            }
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

/// `arg`: `{"channel":..,"instId":..}` (other keys such as `instType` skipped), and
/// where a repeated key is reported.
struct ArgSeed<'a>(&'a SymbolMap, &'a Failure);

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
        let mut seen = SeenKeys::default();
        while let Some(key) = map.next_key_seed(StrSeed(arg_key))? {
            if !matches!(key, ArgKey::Other) {
                seen.first(key as u32, self.1)?;
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::json::assert_duplicates_refused;
    use crate::types::{FundingFields, MarketEvent, Price, Qty, Rate, Side};

    const SPOT: InstrumentId = InstrumentId(3);
    const SWAP: InstrumentId = InstrumentId(4);

    fn decoder() -> OkxDecoder {
        let mut symbols = SymbolMap::default();
        symbols.insert("BTC-USDT", SPOT);
        symbols.insert("BTC-USDT-SWAP", SWAP);
        OkxDecoder::new(MarketKind::Perp, symbols)
    }

    fn decode(frame: &str) -> (Result<Decoded, DecodeError>, Vec<MarketEvent>) {
        let mut buf = EventBuf::with_capacity(16);
        let result = decoder().decode(frame.as_bytes(), 77, &mut buf);
        (result, buf.as_slice().to_vec())
    }

    fn px(s: &str) -> Price {
        Price::from_decimal_str(s).unwrap()
    }

    fn qty(s: &str) -> Qty {
        Qty::from_decimal_str(s).unwrap()
    }

    fn level(side: Side, p: &str, q: &str) -> EventBody {
        EventBody::DepthLevel {
            side,
            price: px(p),
            qty: qty(q),
        }
    }

    /// The order book channel example of the OKX v5 docs, with `seqId`/`prevSeqId`.
    const BOOKS_SNAPSHOT: &str = r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"snapshot","data":[{"asks":[["8476.98","415","0","13"],["8477","7","0","2"]],"bids":[["8476.97","256","0","12"]],"ts":"1597026383085","checksum":-855196043,"prevSeqId":-1,"seqId":123456}]}"#;

    #[test]
    fn test_duplicated_keys_of_hot_messages_are_refused() {
        const TRADES: &str = r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","tradeId":"130639474","px":"42219.9","sz":"0.12060306","side":"buy","ts":"1630048897897"}]}"#;
        const BBO: &str = r#"{"arg":{"channel":"bbo-tbt","instId":"BTC-USDT"},"data":[{"asks":[["8476.98","415","0","13"]],"bids":[["8476.97","256","0","12"]],"ts":"1597026383085"}]}"#;
        const FUNDING: &str = r#"{"arg":{"channel":"funding-rate","instId":"BTC-USDT-SWAP"},"data":[{"fundingRate":"0.0001534702150000","fundingTime":"1646323200000","instId":"BTC-USDT-SWAP","instType":"SWAP","nextFundingRate":"0.0001542145319804"}]}"#;
        assert_duplicates_refused(
            decode,
            &[
                (BOOKS_SNAPSHOT, "asks", r#"[["8477.5","1","0","1"]]"#),
                (BOOKS_SNAPSHOT, "bids", r#"[["8476.5","1","0","1"]]"#),
                (BOOKS_SNAPSHOT, "checksum", "5"),
                (BOOKS_SNAPSHOT, "seqId", "123455"),
                (BOOKS_SNAPSHOT, "action", r#""update""#),
                (BOOKS_SNAPSHOT, "instId", r#""BTC-USDT-SWAP""#),
                (
                    BOOKS_SNAPSHOT,
                    "arg",
                    r#"{"channel":"books","instId":"BTC-USDT"}"#,
                ),
                (TRADES, "px", r#""1""#),
                (TRADES, "sz", r#""1""#),
                (TRADES, "side", r#""sell""#),
                (BBO, "asks", r#"[["8477","1","0","1"]]"#),
                (BBO, "ts", r#""1""#),
                (FUNDING, "fundingRate", r#""0.1""#),
            ],
        );
    }

    #[test]
    fn test_decode_books_snapshot_asks_then_bids_as_sent() {
        let (r, ev) = decode(BOOKS_SNAPSHOT);
        assert_eq!(r, Ok(Decoded::Events(4)));
        assert_eq!(
            ev[0].body,
            EventBody::DepthBegin {
                first_update_id: 123456,
                last_update_id: 123456,
                prev_update_id: 0,
                levels: 3,
                snapshot: true,
                checksum: Some(-855196043),
            }
        );
        assert_eq!(ev[1].body, level(Side::Ask, "8476.98", "415"));
        assert_eq!(ev[2].body, level(Side::Ask, "8477", "7"));
        assert_eq!(ev[3].body, level(Side::Bid, "8476.97", "256"));
        assert!(ev.iter().all(|e| e.instrument == SPOT
            && e.ts_venue_ms == 1597026383085
            && e.ts_recv_raw == 77));
    }

    #[test]
    fn test_decode_books_update_links_prev_seq_id() {
        let (r, ev) = decode(
            r#"{"arg":{"channel":"books","instId":"BTC-USDT-SWAP"},"action":"update","data":[{"asks":[],"bids":[["8476.97","0","0","0"]],"ts":"1597026383090","checksum":12345,"prevSeqId":123456,"seqId":123457}]}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(2)));
        assert_eq!(
            ev[0].body,
            EventBody::DepthBegin {
                first_update_id: 123457,
                last_update_id: 123457,
                prev_update_id: 123456,
                levels: 1,
                snapshot: false,
                checksum: Some(12345),
            }
        );
        assert_eq!(ev[1].body, level(Side::Bid, "8476.97", "0"));
        assert_eq!(ev[1].instrument, SWAP);
    }

    #[test]
    fn test_decode_books_l2_tbt_without_seq_ids_and_books5() {
        let (r, ev) = decode(
            r#"{"arg":{"channel":"books-l2-tbt","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["43736.2","0.1358","0","2"]],"bids":[["43675.6","0.05","0","1"]],"ts":"1646314295200","checksum":796530682}]}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(3)));
        assert!(matches!(
            ev[0].body,
            EventBody::DepthBegin {
                first_update_id: 0,
                last_update_id: 0,
                prev_update_id: 0,
                levels: 2,
                snapshot: false,
                checksum: Some(796530682)
            }
        ));
        let (r, ev) = decode(
            r#"{"arg":{"channel":"books5","instId":"BTC-USDT-SWAP"},"data":[{"asks":[["31806.6","159","0","6"]],"bids":[["31806.5","54","0","3"]],"instId":"BTC-USDT-SWAP","ts":"1653997254735"}]}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(3)));
        assert!(matches!(
            ev[0].body,
            EventBody::DepthBegin {
                snapshot: true,
                checksum: None,
                levels: 2,
                ..
            }
        ));
        assert_eq!(ev[2].ts_venue_ms, 1653997254735);
    }

    #[test]
    fn test_decode_bbo_tbt_and_one_sided_bbo() {
        let (r, ev) = decode(
            r#"{"arg":{"channel":"bbo-tbt","instId":"BTC-USDT"},"data":[{"asks":[["31774.7","0.14368878","0","3"]],"bids":[["31774.6","0.3392211","0","3"]],"ts":"1654032991947"}]}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(1)));
        assert_eq!(
            ev[0].body,
            EventBody::TopOfBook {
                bid: px("31774.6"),
                bid_qty: qty("0.3392211"),
                ask: px("31774.7"),
                ask_qty: qty("0.14368878"),
                update_id: 1654032991947,
            }
        );
        assert_eq!(ev[0].ts_venue_ms, 1654032991947);
        let (r, ev) = decode(
            r#"{"arg":{"channel":"bbo-tbt","instId":"BTC-USDT"},"data":[{"asks":[["0.0015","8","0","1"]],"bids":[],"ts":"1654033343415"}]}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(0)));
        assert!(ev.is_empty());
    }

    #[test]
    fn test_decode_trades_one_event_per_element() {
        let (r, ev) = decode(
            r#"{"arg":{"channel":"trades","instId":"BTC-USDT-SWAP"},"data":[{"instId":"BTC-USDT-SWAP","tradeId":"219066264","px":"43568.8","sz":"7","side":"buy","ts":"1646312440645"},{"instId":"BTC-USDT-SWAP","tradeId":"219066265","px":"43568.7","sz":"1","side":"sell","ts":"1646312440646"}]}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(2)));
        assert_eq!(
            ev[0].body,
            EventBody::Trade {
                price: px("43568.8"),
                qty: qty("7"),
                aggressor: Side::Bid,
                trade_id: 219066264,
            }
        );
        assert!(matches!(
            ev[1].body,
            EventBody::Trade {
                aggressor: Side::Ask,
                trade_id: 219066265,
                ..
            }
        ));
        assert_eq!(
            (ev[0].ts_venue_ms, ev[1].ts_venue_ms),
            (1646312440645, 1646312440646)
        );
    }

    #[test]
    fn test_decode_funding_rate_mark_price_open_interest() {
        let (r, ev) = decode(
            r#"{"arg":{"channel":"funding-rate","instId":"BTC-USDT-SWAP"},"data":[{"fundingRate":"0.0001534702150000","fundingTime":"1646323200000","instId":"BTC-USDT-SWAP","instType":"SWAP","nextFundingRate":"0.0001542145319804"}]}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(1)));
        assert_eq!(
            ev[0].body,
            EventBody::Funding {
                mark: Price::ZERO,
                index: Price::ZERO,
                rate: Rate::from_decimal_str("0.000153470215").unwrap(),
                next_funding_ms: 1646323200000,
                fields: FundingFields::RATE.with(FundingFields::NEXT_FUNDING),
            }
        );
        assert_eq!(ev[0].ts_venue_ms, 0);
        let (r, ev) = decode(
            r#"{"arg":{"channel":"mark-price","instId":"BTC-USDT-SWAP"},"data":[{"instType":"SWAP","instId":"BTC-USDT-SWAP","markPx":"42310.6","ts":"1630049139746"}]}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(1)));
        assert!(matches!(
            ev[0].body,
            EventBody::Funding { mark, fields: FundingFields::MARK, .. } if mark == px("42310.6")
        ));
        assert_eq!(ev[0].ts_venue_ms, 1630049139746);
        let (r, ev) = decode(
            r#"{"arg":{"channel":"open-interest","instId":"BTC-USDT-SWAP"},"data":[{"instId":"BTC-USDT-SWAP","instType":"SWAP","oi":"4092973","oiCcy":"13840.048827662696883","ts":"1654348683853"}]}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(1)));
        assert_eq!(
            ev[0].body,
            EventBody::OpenInterest {
                qty: qty("4092973")
            }
        );
    }

    /// OKX prints rates with 16 decimals; `Rate` holds exactly 16.
    #[test]
    fn test_decode_funding_rate_with_16_decimals_is_exact() {
        let (r, ev) = decode(
            r#"{"arg":{"channel":"funding-rate","instId":"BTC-USDT-SWAP"},"data":[{"fundingRate":"0.0001534702159002","fundingTime":"1646323200000","instId":"BTC-USDT-SWAP"}]}"#,
        );
        assert_eq!(r, Ok(Decoded::Events(1)));
        assert!(matches!(
            ev[0].body,
            EventBody::Funding { rate, next_funding_ms: 1646323200000, .. }
                if rate == Rate::from_raw(1_534_702_159_002)
        ));
    }

    #[test]
    fn test_decode_control_messages() {
        let cases: &[(&str, Result<Decoded, DecodeError>)] = &[
            ("pong", Ok(Decoded::Heartbeat)),
            (
                r#"{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a4d3ae55"}"#,
                Ok(Decoded::Ack),
            ),
            (
                r#"{"event":"unsubscribe","arg":{"channel":"books","instId":"ETH-USDT"},"connId":"a4d3ae55"}"#,
                Ok(Decoded::Ack),
            ),
            (
                r#"{"event":"error","code":"60012","msg":"Invalid request: {\"op\": \"subscribe\"}","connId":"a4d3ae55"}"#,
                Err(DecodeError::VenueError),
            ),
            (
                r#"{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade.","connId":"a4d3ae55"}"#,
                Ok(Decoded::Unknown),
            ),
            (
                r#"{"arg":{"channel":"tickers","instId":"ETH-USDT"},"data":[{"instType":"SPOT","instId":"ETH-USDT","last":"1"}]}"#,
                Ok(Decoded::Unknown),
            ),
            (
                r#"{"code":"0","msg":"","data":[{"asks":[["29692.5","0.1","0","5"]],"bids":[],"ts":"1654328918680"}]}"#,
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
    fn test_decode_key_order_independent() {
        let reordered = r#"{"data":[{"seqId":123456,"checksum":-855196043,"ts":"1597026383085","bids":[["8476.97","256","0","12"]],"asks":[["8476.98","415","0","13"],["8477","7","0","2"]],"prevSeqId":-1}],"action":"snapshot","arg":{"instId":"BTC-USDT","channel":"books"}}"#;
        let (r, ev) = decode(reordered);
        let (want_r, want_ev) = decode(BOOKS_SNAPSHOT);
        assert_eq!(r, want_r);
        assert_eq!(ev[0], want_ev[0]);
        assert_eq!(
            ev[1], want_ev[3],
            "levels follow the order sent: bids first here"
        );
        let (r, _) = decode(
            r#"{"data":[{"asks":[],"bids":[],"ts":"1"}],"arg":{"channel":"books","instId":"XRP-USDT"},"action":"update"}"#,
        );
        assert_eq!(r, Err(DecodeError::UnknownSymbol));
    }

    /// Minimised from `tests/fuzz_okx.rs`: invalid UTF-8 in a `data` that comes before
    /// `arg` (it once went through sonic-rs's `LazyValue`, which debug-asserts on it).
    #[test]
    fn test_decode_invalid_utf8_before_arg_is_an_error() {
        let frame = b"{\"data\":[{\"px\":\"1\xff\"}],\"arg\":{\"channel\":\"trades\",\"instId\":\"BTC-USDT\"}}";
        let mut buf = EventBuf::with_capacity(4);
        let r = decoder().decode(frame, 0, &mut buf);
        assert!(r.is_err(), "{r:?}");
        assert!(buf.is_empty());
    }

    #[test]
    fn test_decode_malformed_is_typed_and_leaves_nothing() {
        let book = |data: &str| {
            format!(
                r#"{{"arg":{{"channel":"books","instId":"BTC-USDT"}},"action":"update","data":[{data}]}}"#
            )
        };
        let cases: Vec<(String, DecodeError)> = vec![
            (String::new(), DecodeError::Json),
            ("ping".into(), DecodeError::Json),
            ("{not json".into(), DecodeError::Json),
            (BOOKS_SNAPSHOT[..BOOKS_SNAPSHOT.len() - 3].into(), DecodeError::Json),
            (book(r#"{"asks":[["1","1"]],"bids":[],"checksum":1}"#), DecodeError::MissingField("ts")),
            (book(r#"{"asks":[["1","1"]],"bids":[],"ts":"17x"}"#), DecodeError::Json),
            (book(r#"{"asks":[[1.5,"1"]],"bids":[],"ts":"1"}"#), DecodeError::Json),
            (book(r#"{"asks":[],"bids":[],"ts":"1","checksum":4294967295}"#), DecodeError::Json),
            (book(r#"{"asks":[],"bids":[],"ts":"1","prevSeqId":-2}"#), DecodeError::Json),
            (
                r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"data":[{"asks":[],"bids":[],"ts":"1"}]}"#.into(),
                DecodeError::MissingField("action"),
            ),
            (
                r#"{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update"}"#.into(),
                DecodeError::MissingField("data"),
            ),
            (
                r#"{"arg":{"channel":"trades","instId":"ETH-USDT"},"data":[{"tradeId":"1","px":"1","sz":"1","side":"buy","ts":"1"}]}"#.into(),
                DecodeError::UnknownSymbol,
            ),
            (
                r#"{"arg":{"channel":"trades"},"data":[{"tradeId":"1","px":"1","sz":"1","side":"buy","ts":"1"}]}"#.into(),
                DecodeError::MissingField("instId"),
            ),
            (
                r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"tradeId":"1","px":"1","sz":"1","side":"up","ts":"1"}]}"#.into(),
                DecodeError::Json,
            ),
            (
                r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"tradeId":"1","px":"1","side":"buy","ts":"1"}]}"#.into(),
                DecodeError::MissingField("sz"),
            ),
            (
                r#"{"arg":{"channel":"bbo-tbt","instId":"BTC-USDT"},"data":[{"asks":[["1","1"]],"ts":"1"}]}"#.into(),
                DecodeError::MissingField("bids"),
            ),
        ];
        for (frame, want) in &cases {
            let (r, ev) = decode(frame);
            assert_eq!(r, Err(*want), "{frame}");
            assert!(ev.is_empty(), "{frame}");
        }
        let (r, _) = decode(&book(r#"{"asks":[["1.0x","1"]],"bids":[],"ts":"1"}"#));
        assert!(matches!(r, Err(DecodeError::Decimal(e)) if e.input() == "1.0x"));
    }

    #[test]
    fn test_decode_too_many_levels_keeps_earlier_events() {
        let mut buf = EventBuf::with_capacity(3);
        let mut dec = decoder();
        let trade = r#"{"arg":{"channel":"trades","instId":"BTC-USDT"},"data":[{"tradeId":"1","px":"1","sz":"1","side":"buy","ts":"1"}]}"#;
        assert_eq!(
            dec.decode(trade.as_bytes(), 0, &mut buf),
            Ok(Decoded::Events(1))
        );
        let r = dec.decode(BOOKS_SNAPSHOT.as_bytes(), 0, &mut buf);
        assert_eq!(r, Err(DecodeError::TooManyEvents));
        assert_eq!(buf.len(), 1);
    }
}
