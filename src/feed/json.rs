//! Serde building blocks shared by the venue decoders: visitors that hand a borrowed
//! string to a closure, parse `[price, qty, ..]` levels straight into fixed point, and
//! write depth levels into the caller's [`EventBuf`] without allocating.
//!
//! Owns no state; errors that serde cannot carry (a bad decimal, a full buffer) are left
//! in a [`Failure`] cell the decoder reads after the parse.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, SeqAccess, Visitor};

use crate::feed::decode::{DecodeError, Decoded};
use crate::feed::event_buf::EventBuf;
use crate::types::{DecimalError, EventBody, InstrumentId, MarketEvent, Price, Qty, Side};

/// Where a visitor leaves the precise reason of a failure for its decoder.
pub type Failure = Cell<Option<DecodeError>>;

/// A borrowed-or-transient string handed to a closure, never stored.
pub struct StrSeed<F>(pub F);

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

/// Runs a venue decode of `frame` that appends its events to `out` after those already
/// held, and keeps them only when it returns `Ok(Decoded::Events(_))`: on any other
/// outcome nothing of the frame stays. `decode` gets the frame as text, the buffer and
/// the index the frame's events start at.
///
/// The frame is checked first for what sonic-rs does not check in the values it skips
/// (and `Deserializer::end` does not make up for): UTF-8 (an unchecked `&str` in a
/// borrowed value is undefined behaviour), JSON's escapes, and nesting no deeper than
/// [`NESTING_MAX`] (sonic-rs skips an unknown value by recursion, with no limit of its
/// own: one frame nested 30,000 deep overflowed the stack). Once per frame, here, before
/// any recursive parser sees it.
#[inline]
pub fn decode_frame(
    frame: &[u8],
    out: &mut EventBuf,
    decode: impl FnOnce(&str, &mut EventBuf, usize) -> Result<Decoded, DecodeError>,
) -> Result<Decoded, DecodeError> {
    let text = std::str::from_utf8(frame).map_err(|_| DecodeError::Json)?;
    if !escapes_valid(frame) {
        return Err(DecodeError::Json);
    }
    if !nesting_within(frame, NESTING_MAX) {
        return Err(DecodeError::TooDeep);
    }
    let start = out.len();
    let result = decode(text, out, start);
    if !matches!(result, Ok(Decoded::Events(_))) {
        out.truncate(start);
    }
    result
}

/// Whether every backslash escape in `frame` is one JSON allows (`\"`, `\\`, `\/`,
/// `\b`, `\f`, `\n`, `\r`, `\t`, `\uXXXX`). Venue frames rarely hold a backslash, so
/// this is one vectorised scan that finds none.
pub fn escapes_valid(frame: &[u8]) -> bool {
    let mut rest = frame;
    while let Some(i) = memchr::memchr(b'\\', rest) {
        let tail = &rest[i + 1..];
        let len = match tail.first() {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => 1,
            Some(b'u') if tail.len() >= 5 && tail[1..5].iter().all(u8::is_ascii_hexdigit) => 5,
            _ => return false,
        };
        rest = &tail[len..];
    }
    true
}

/// The deepest nesting of arrays and objects any outside JSON may have before a
/// recursive parser reads it. Venue messages nest 5 deep at most (OKX's
/// `{"data":[{"asks":[["px","sz"]]}]}`); a recursion this deep is a few KiB of stack.
pub const NESTING_MAX: usize = 32;

/// Whether no array or object in `text` is nested deeper than `max` (brackets inside
/// strings do not count). Not a validator: what it passes a parser still judges, so an
/// unterminated string passes (the parser then sees no deeper than `max`). Without
/// recursion: a text with at most `max` opening brackets in all (most venue messages) is
/// passed after one word-at-a-time count; any other is walked, strings skipped with
/// `memchr`.
pub fn nesting_within(text: &[u8], max: usize) -> bool {
    if openers(text) <= max {
        return true;
    }
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&byte) = text.get(i) {
        match byte {
            b'"' => match string_end(text, i + 1) {
                Some(end) => i = end,
                None => return true,
            },
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    true
}

/// How many bytes of `text` are `[` or `{` (inside strings too), eight at a time:
/// `[` (0x5B) and `{` (0x7B) differ only in bit 0x20, so a byte is one of them when it
/// equals 0x7B with that bit set.
fn openers(text: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const LOW7: u64 = u64::from_ne_bytes([0x7F; 8]);
    let lanes = |word: u64| {
        let x = (word | (ONES * 0x20)) ^ (ONES * 0x7B);
        // The high bit of each lane that is zero in `x`, exactly (no borrow between lanes).
        let zero = !(((x & LOW7) + LOW7) | x | LOW7);
        zero.count_ones() as usize
    };
    let mut chunks = text.chunks_exact(8);
    let mut count = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        count += lanes(u64::from_ne_bytes(word));
    }
    count
        + chunks
            .remainder()
            .iter()
            .filter(|&&b| b | 0x20 == b'{')
            .count()
}

/// The index of the quote closing the string whose contents start at `from`, escapes
/// skipped; `None` when it is not closed.
fn string_end(text: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let at = from + memchr::memchr2(b'"', b'\\', text.get(from..)?)?;
        if text[at] == b'"' {
            return Some(at);
        }
        from = at + 2;
    }
}

/// The keys of one JSON object a decoder has read so far, one bit per key it knows (a
/// key enum's discriminant, below 64). A repeated known key is refused as
/// [`DecodeError::DuplicateKey`]: JSON leaves a duplicate's meaning to the reader, and a
/// decoder that let the last value win for one field and added both levels arrays for
/// another told different stories of one frame. Unknown keys are skipped unread, so
/// their repeats change nothing and are not looked at. One test and one or per key.
#[derive(Debug, Default, Clone, Copy)]
pub struct SeenKeys(u64);

impl SeenKeys {
    /// Marks key number `index` read; `Err` (with `DuplicateKey` through `failure`) when
    /// it was read before in this object.
    #[inline(always)]
    pub fn first<E: de::Error>(&mut self, index: u32, failure: &Failure) -> Result<(), E> {
        let bit = 1u64 << (index & 63);
        if self.0 & bit != 0 {
            return Err(fail(failure, DecodeError::DuplicateKey));
        }
        self.0 |= bit;
        Ok(())
    }
}

/// Test helper of the decoders' duplicate-key tests: `frame` with a second `"key":value`
/// member put in front of the first occurrence of `"key":` (so the copy comes first and
/// the original, with its own value, second).
#[cfg(test)]
pub(crate) fn with_duplicate(frame: &str, key: &str, value: &str) -> String {
    let member = format!("\"{key}\":");
    let at = frame.find(&member).expect("the key is in the frame");
    format!("{}{member}{value},{}", &frame[..at], &frame[at..])
}

/// Test helper: every `(frame, key, value)` case decodes with `decode` as events, and as
/// `DuplicateKey` leaving nothing once `key` is repeated with `value`.
#[cfg(test)]
pub(crate) fn assert_duplicates_refused(
    decode: impl Fn(&str) -> (Result<Decoded, DecodeError>, Vec<MarketEvent>),
    cases: &[(&str, &str, &str)],
) {
    for &(frame, key, value) in cases {
        let (r, _) = decode(frame);
        assert!(matches!(r, Ok(Decoded::Events(_))), "{frame}: {r:?}");
        let twice = with_duplicate(frame, key, value);
        let (r, events) = decode(&twice);
        assert_eq!(r, Err(DecodeError::DuplicateKey), "{twice}");
        assert!(events.is_empty(), "{twice}");
    }
}

/// Records a decimal failure for the caller and turns it into a serde error.
pub fn decimal<T, E: de::Error>(
    parsed: Result<T, DecimalError>,
    failure: &Failure,
) -> Result<T, E> {
    parsed.map_err(|e| {
        failure.set(Some(DecodeError::Decimal(e)));
        E::custom("decimal")
    })
}

/// Records `error` for the caller and returns a serde error.
pub fn fail<E: de::Error>(failure: &Failure, error: DecodeError) -> E {
    failure.set(Some(error));
    E::custom("decode")
}

/// An event with every field zeroed: decoders push it first and finish it with
/// [`stamp`] once the whole message has been read.
pub fn placeholder(ts_recv_raw: u64) -> MarketEvent {
    MarketEvent {
        ts_recv_raw,
        ts_venue_ms: 0,
        instrument: InstrumentId::default(),
        body: EventBody::OpenInterest { qty: Qty::ZERO },
    }
}

/// Stamps the receive time, venue time and instrument on every event from `start` on.
pub fn stamp(
    out: &mut EventBuf,
    start: usize,
    ts_recv_raw: u64,
    ts_venue_ms: u64,
    instrument: InstrumentId,
) {
    for event in out.tail_mut(start) {
        event.ts_recv_raw = ts_recv_raw;
        event.ts_venue_ms = ts_venue_ms;
        event.instrument = instrument;
    }
}

/// One `["price", "qty"]` level; with `trailing` set, further elements (OKX's
/// `"0","orders"`, Bybit's none) are skipped.
pub struct LevelSeed<'a> {
    /// Where a bad decimal is reported.
    pub failure: &'a Failure,
    /// Whether elements after the quantity are allowed.
    pub trailing: bool,
}

impl<'de> DeserializeSeed<'de> for LevelSeed<'_> {
    type Value = (Price, Qty);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(Price, Qty), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for LevelSeed<'_> {
    type Value = (Price, Qty);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a [price, qty] array of decimal strings")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(Price, Qty), S::Error> {
        let price = seq.next_element_seed(StrSeed(Price::from_decimal_str))?;
        let qty = seq.next_element_seed(StrSeed(Qty::from_decimal_str))?;
        let (Some(price), Some(qty)) = (price, qty) else {
            return Err(de::Error::invalid_length(0, &self));
        };
        if self.trailing {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
        } else if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(3, &self));
        }
        Ok((decimal(price, self.failure)?, decimal(qty, self.failure)?))
    }
}

/// An array of `[price, qty, ..]` levels of one side: each becomes a
/// [`EventBody::DepthLevel`] pushed to `out`; the value is how many were pushed.
pub struct LevelsSeed<'a> {
    /// Book side of every level.
    pub side: Side,
    /// Where the level events go.
    pub out: &'a mut EventBuf,
    /// Where a bad decimal or a full buffer is reported.
    pub failure: &'a Failure,
    /// Whether a level may carry elements after the quantity.
    pub trailing: bool,
}

impl<'de> DeserializeSeed<'de> for LevelsSeed<'_> {
    type Value = usize;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for LevelsSeed<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of [price, qty] levels")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<usize, S::Error> {
        let mut count = 0;
        let level = LevelSeed {
            failure: self.failure,
            trailing: self.trailing,
        };
        while let Some((price, qty)) = seq.next_element_seed(LevelSeed { ..level })? {
            push_level(self.out, self.failure, self.side, price, qty)?;
            count += 1;
        }
        Ok(count)
    }
}

/// Pushes one depth level, reporting a full buffer through `failure`.
pub fn push_level<E: de::Error>(
    out: &mut EventBuf,
    failure: &Failure,
    side: Side,
    price: Price,
    qty: Qty,
) -> Result<(), E> {
    let event = MarketEvent {
        body: EventBody::DepthLevel { side, price, qty },
        ..placeholder(0)
    };
    out.push(event).map_err(|full| fail(failure, full.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(text: &str, trailing: bool) -> (Result<usize, sonic_rs::Error>, EventBuf) {
        let mut out = EventBuf::with_capacity(4);
        let failure = Failure::default();
        let mut de = sonic_rs::Deserializer::from_str(text);
        let r = LevelsSeed {
            side: Side::Ask,
            out: &mut out,
            failure: &failure,
            trailing,
        }
        .deserialize(&mut de);
        (r, out)
    }

    #[test]
    fn test_levels_with_and_without_trailing_elements() {
        let (r, out) = levels(r#"[["1.5","2"],["1.6","0"]]"#, false);
        assert_eq!(r.unwrap(), 2);
        assert_eq!(
            out.as_slice()[1].body,
            EventBody::DepthLevel {
                side: Side::Ask,
                price: Price::from_decimal_str("1.6").unwrap(),
                qty: Qty::ZERO
            }
        );
        assert!(levels(r#"[["1.5","2","0","3"]]"#, false).0.is_err());
        assert_eq!(levels(r#"[["1.5","2","0","3"]]"#, true).0.unwrap(), 1);
    }

    #[test]
    fn test_escapes_valid_only_for_json_escapes() {
        assert!(escapes_valid(br#"{"a":"x\"y\\z\/\n\u00e9"}"#));
        assert!(escapes_valid(b"{}"));
        assert!(!escapes_valid(br#"{"a":"Zero\usTick"}"#));
        assert!(!escapes_valid(br#"{"a":"\x"}"#));
        assert!(!escapes_valid(br#"{"a":"\u12"}"#));
        assert!(!escapes_valid(br"{\"));
    }

    #[test]
    fn test_nesting_within_counts_brackets_outside_strings() {
        assert!(nesting_within(br#"{"a":[[1]]}"#, 3));
        assert!(!nesting_within(br#"{"a":[[1]]}"#, 2));
        assert!(nesting_within(br#"[{"k":"[[[[{{{{"}]"#, 2));
        assert!(nesting_within(br#"["\"[[[[","x"]"#, 1));
        assert!(!nesting_within(br#"["\\",[[]]]"#, 2));
        assert!(nesting_within(br#"[["unterminated"#, 2));
        assert!(nesting_within(b"", 0));
        let deep = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
        assert!(!nesting_within(deep.as_bytes(), NESTING_MAX));
        let flat = format!("[{}1]", "[1],".repeat(10_000));
        assert!(nesting_within(flat.as_bytes(), 2));
    }

    #[test]
    fn test_openers_counts_brackets_and_braces_only() {
        let all: Vec<u8> = (0..=255u8).collect();
        assert_eq!(openers(&all), 2);
        for len in 0..40 {
            let text: Vec<u8> = (0..len).map(|i| b"[a{]}\"z;"[i % 8]).collect();
            let want = text.iter().filter(|&&b| b == b'[' || b == b'{').count();
            assert_eq!(openers(&text), want, "{len}");
        }
        let text = b"\xfb\xdb{{{{{{{{\x5b\x7b\x7f";
        assert_eq!(openers(text), 10);
    }

    #[test]
    fn test_decode_frame_refuses_deep_nesting_before_the_parser() {
        let mut out = EventBuf::with_capacity(4);
        let deep = format!(
            r#"{{"e":"bookTicker","x":{}1{}}}"#,
            "[".repeat(30_000),
            "]".repeat(30_000)
        );
        let r = decode_frame(deep.as_bytes(), &mut out, |_, _, _| unreachable!("parsed"));
        assert_eq!(r, Err(DecodeError::TooDeep));
        let ok = format!("{}{}", "[".repeat(NESTING_MAX), "]".repeat(NESTING_MAX));
        let r = decode_frame(ok.as_bytes(), &mut out, |_, _, _| Ok(Decoded::Unknown));
        assert_eq!(r, Ok(Decoded::Unknown));
    }

    #[test]
    fn test_levels_beyond_buffer_report_too_many() {
        let mut out = EventBuf::with_capacity(1);
        let failure = Failure::default();
        let mut de = sonic_rs::Deserializer::from_str(r#"[["1","1"],["2","1"]]"#);
        let r = LevelsSeed {
            side: Side::Bid,
            out: &mut out,
            failure: &failure,
            trailing: false,
        }
        .deserialize(&mut de);
        assert!(r.is_err());
        assert_eq!(failure.get(), Some(DecodeError::TooManyEvents));
    }
}
