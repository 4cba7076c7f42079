//! OKX v5 REST order book, the snapshot a book starts or restarts from now that OKX
//! delists the initial snapshot push of its book channels: the request path, and the
//! decoder of the body into one snapshot `DepthBegin` (its `seqId`, no checksum) and its
//! levels, asks then bids as sent.
//!
//! `GET /api/v5/market/books?instId=BTC-USDT&sz=400` (`sz` up to 400 a side, default
//! 1; 40 requests per 2 s per IP) answers
//! `{"code":"0","msg":"","data":[{"asks":[[px,sz,"0",orders],..],"bids":[..],
//! "ts":"1597026383085","seqId":123456}]}`. A `code` other than `"0"` is the venue's
//! refusal (`Err(VenueError)`); a book without `seqId` cannot be bridged to the stream
//! and is refused (`MissingField("seqId")`). Followed: the API changelog's "Delist
//! initial snapshot and checksum field in order book channels" (last update
//! 2026-02-12), read 2026-12-07; see `docs/venues.md`.
//!
//! Runs on the feed stage's thread when a snapshot arrives (rare): single pass with
//! sonic-rs, events written into the caller's [`EventBuf`], no allocation.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::data::{Channel, DataSeed};
use crate::feed::decode::{DecodeError, Decoded};
use crate::feed::event_buf::EventBuf;
use crate::feed::json::{Failure, StrSeed, decode_frame};
use crate::feed::rest_budget::Limit;
use crate::types::InstrumentId;

/// Levels per side asked of the REST book: the most OKX serves (`sz` 400), as many as
/// the `books` channel's snapshot held.
pub const BOOK_DEPTH: u32 = 400;

/// The order-book endpoint's limit: 40 requests per 2 s per IP, spot and swaps alike.
pub const BOOK_LIMIT: Limit = Limit {
    limit: 40,
    window: std::time::Duration::from_secs(2),
};

/// The path and query of `symbol`'s REST book with `depth` levels a side.
pub fn book_path(symbol: &str, depth: u32) -> String {
    format!("/api/v5/market/books?instId={symbol}&sz={depth}")
}

/// Decodes a REST book body of `instrument` into `out` (events stamped with
/// `ts_recv_raw`); on error nothing of it stays in `out`.
pub fn decode_book(
    body: &[u8],
    instrument: InstrumentId,
    ts_recv_raw: u64,
    out: &mut EventBuf,
) -> Result<Decoded, DecodeError> {
    decode_frame(body, out, |_, out, start| {
        let failure = Failure::default();
        let mut de = sonic_rs::Deserializer::from_slice(body);
        let envelope = BodySeed {
            instrument,
            ts_recv_raw,
            out: &mut *out,
            failure: &failure,
        }
        .deserialize(&mut de)
        .and_then(|envelope| de.end().map(|()| envelope))
        .map_err(|_| failure.get().unwrap_or(DecodeError::Json))?;
        match envelope {
            Body { code: None, .. } => Err(DecodeError::MissingField("code")),
            Body {
                code: Some(false), ..
            } => Err(DecodeError::VenueError),
            Body { data: false, .. } => Err(DecodeError::MissingField("data")),
            _ if out.len() == start => Err(DecodeError::MissingField("data")),
            _ => {
                crate::feed::sanity::check_events(&out.as_slice()[start..])?;
                Ok(Decoded::Events(out.len() - start))
            }
        }
    })
}

/// What the envelope held: whether `code` was `"0"`, whether `data` came.
#[derive(Debug, Default)]
struct Body {
    code: Option<bool>,
    data: bool,
}

struct BodySeed<'a> {
    instrument: InstrumentId,
    ts_recv_raw: u64,
    out: &'a mut EventBuf,
    failure: &'a Failure,
}

impl<'de> DeserializeSeed<'de> for BodySeed<'_> {
    type Value = Body;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Body, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for BodySeed<'_> {
    type Value = Body;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an OKX REST order book")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Body, M::Error> {
        let mut body = Body::default();
        while let Some(key) = map.next_key_seed(StrSeed(Key::from_name))? {
            match key {
                Key::Code => body.code = Some(map.next_value_seed(StrSeed(|c: &str| c == "0"))?),
                Key::Data => {
                    map.next_value_seed(DataSeed {
                        channel: Channel::RestBook,
                        instrument: self.instrument,
                        ts_recv_raw: self.ts_recv_raw,
                        out: &mut *self.out,
                        failure: self.failure,
                    })?;
                    body.data = true;
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(body)
    }
}

#[derive(Debug, Clone, Copy)]
enum Key {
    Code,
    Data,
    Other,
}

impl Key {
    fn from_name(key: &str) -> Self {
        match key {
            "code" => Key::Code,
            "data" => Key::Data,
            _ => Key::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{EventBody, MarketEvent, Price, Qty, Side};

    const ID: InstrumentId = InstrumentId(2);

    fn decode(body: &str) -> (Result<Decoded, DecodeError>, Vec<MarketEvent>) {
        let mut buf = EventBuf::with_capacity(8);
        let r = decode_book(body.as_bytes(), ID, 9, &mut buf);
        (r, buf.as_slice().to_vec())
    }

    #[test]
    fn test_book_path_asks_the_deepest_book() {
        assert_eq!(
            book_path("BTC-USDT-SWAP", BOOK_DEPTH),
            "/api/v5/market/books?instId=BTC-USDT-SWAP&sz=400"
        );
    }

    #[test]
    fn test_decode_book_is_a_snapshot_at_its_seq_id_without_checksum() {
        let body = r#"{"code":"0","msg":"","data":[{"asks":[["8476.98","415","0","13"]],"bids":[["8476.97","256","0","12"],["8475.55","101","0","1"]],"ts":"1597026383085","seqId":123456}]}"#;
        let (r, ev) = decode(body);
        assert_eq!(r, Ok(Decoded::Events(4)));
        assert_eq!(
            ev[0].body,
            EventBody::DepthBegin {
                first_update_id: 123_456,
                last_update_id: 123_456,
                prev_update_id: 0,
                levels: 3,
                snapshot: true,
                checksum: None,
            }
        );
        assert_eq!(
            ev[1].body,
            EventBody::DepthLevel {
                side: Side::Ask,
                price: Price::from_decimal_str("8476.98").unwrap(),
                qty: Qty::from_decimal_str("415").unwrap(),
            }
        );
        assert!(ev.iter().all(|e| e.instrument == ID
            && e.ts_venue_ms == 1_597_026_383_085
            && e.ts_recv_raw == 9));
        let quoted = body
            .replace("123456", "\"123456\"")
            .replace(r#""code":"0","msg":"","#, "");
        let quoted = quoted.replace("}]}", r#"}],"code":"0"}"#);
        let (r, ev2) = decode(&quoted);
        assert_eq!(r, Ok(Decoded::Events(4)), "{quoted}");
        assert_eq!(ev2[0].body, ev[0].body, "a quoted seqId, code after data");
    }

    #[test]
    fn test_decode_book_refusals_and_malformed_leave_nothing() {
        let book = r#"{"asks":[],"bids":[["1","1","0","1"]],"ts":"1","seqId":5}"#;
        let cases = [
            (
                r#"{"code":"51001","msg":"Instrument ID does not exist.","data":[]}"#.to_owned(),
                DecodeError::VenueError,
            ),
            (
                format!(r#"{{"msg":"","data":[{book}]}}"#),
                DecodeError::MissingField("code"),
            ),
            (
                r#"{"code":"0","msg":""}"#.to_owned(),
                DecodeError::MissingField("data"),
            ),
            (
                r#"{"code":"0","data":[]}"#.to_owned(),
                DecodeError::MissingField("data"),
            ),
            (
                r#"{"code":"0","data":[{"asks":[],"bids":[],"ts":"1"}]}"#.to_owned(),
                DecodeError::MissingField("seqId"),
            ),
            (
                r#"{"code":"0","data":[{"asks":[],"bids":[],"ts":"1","seqId":-3}]}"#.to_owned(),
                DecodeError::Json,
            ),
            (
                r#"{"code":"0","data":[{"asks":[],"bids":[],"seqId":3}]}"#.to_owned(),
                DecodeError::MissingField("ts"),
            ),
            (
                r#"{"code":"0","data":[{"asks":[["#.to_owned(),
                DecodeError::Json,
            ),
        ];
        for (body, want) in &cases {
            let (r, ev) = decode(body);
            assert_eq!(r, Err(*want), "{body}");
            assert!(ev.is_empty(), "{body}");
        }
    }
}
