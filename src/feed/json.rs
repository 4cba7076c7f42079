//! Serde building blocks shared by the venue decoders: visitors that hand a borrowed
//! string to a closure, parse `[price, qty, ..]` levels straight into fixed point, and
//! write depth levels into the caller's [`EventBuf`] without allocating.
//!
//! Owns no state; errors that serde cannot carry (a bad decimal, a full buffer) are left
//! in a [`Failure`] cell the decoder reads after the parse.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, SeqAccess, Visitor};

use crate::feed::decode::DecodeError;
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
