//! The byte cursor of the venue fast paths: strict, allocation-free reading of the few
//! JSON shapes a hot venue message is made of (short keys, plain ASCII strings, integers,
//! decimal strings), declining (`None`) on anything else.
//!
//! Strict by design, so that what a fast path accepts is valid JSON the generic decoder
//! reads the same way: no whitespace, strings of printable ASCII with no escapes, JSON
//! integers without leading zeros. Owns no state beyond its position; used on the feed
//! thread only.

use crate::feed::decode::Decoded;
use crate::feed::event_buf::EventBuf;
use crate::feed::json::placeholder;
use crate::types::{EventBody, MarketEvent, Price, Qty, Side};

/// Runs a venue's fast-path `scan`, which appends a frame's events to `out` from index
/// `start` (its second argument); when the scan declines (`None`), `out` is left as it was.
#[inline]
pub fn keep_if_accepted(
    out: &mut EventBuf,
    scan: impl FnOnce(&mut EventBuf, usize) -> Option<Decoded>,
) -> Option<Decoded> {
    let start = out.len();
    let decoded = scan(out, start);
    if decoded.is_none() {
        out.truncate(start);
    }
    decoded
}

/// The events a fast path's `decode` left in a fresh `out`, `None` when it declined;
/// checks that a declined frame leaves nothing (the venues' fast-path unit tests).
#[cfg(test)]
pub(crate) fn accepted_events(
    decoded: Option<Decoded>,
    out: &EventBuf,
) -> Option<Vec<MarketEvent>> {
    match decoded {
        Some(Decoded::Events(n)) => {
            assert_eq!(n, out.len());
            Some(out.as_slice().to_vec())
        }
        Some(other) => panic!("unexpected {other:?}"),
        None => {
            assert!(out.is_empty(), "a declined frame leaves nothing");
            None
        }
    }
}

/// Marks key `bit` as read in `seen`; `None` when it was read before (a repeated key
/// declines the frame: JSON leaves its meaning to the reader).
#[inline]
pub fn first_time(seen: &mut u16, bit: u16) -> Option<()> {
    if *seen & bit != 0 {
        return None;
    }
    *seen |= bit;
    Some(())
}

/// A position in the frame. Every method either consumes exactly what it expects or
/// returns `None` (the whole frame is then declined).
pub struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `frame`.
    #[inline]
    pub fn new(frame: &'a [u8]) -> Self {
        Self { b: frame, i: 0 }
    }

    /// `Some` when the whole frame has been consumed.
    #[inline]
    pub fn end(&self) -> Option<()> {
        (self.i == self.b.len()).then_some(())
    }

    /// The next byte, not consumed.
    #[inline]
    pub fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// The next byte, consumed.
    #[inline]
    pub fn byte(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.i += 1;
        Some(byte)
    }

    /// Exactly `expected`.
    #[inline]
    pub fn lit(&mut self, expected: &[u8]) -> Option<()> {
        let end = self.i + expected.len();
        (self.b.get(self.i..end)? == expected).then(|| self.i = end)
    }

    /// After a member's value: `,"` (another key follows: `true`) or `}` (the object
    /// ends: `false`).
    #[inline]
    pub fn more_keys(&mut self) -> Option<bool> {
        match self.byte()? {
            b',' => self.lit(b"\"").map(|()| true),
            b'}' => Some(false),
            _ => None,
        }
    }

    /// A key after its opening quote, up to and including `":`. Its bytes are not
    /// checked: a caller compares them with the keys it knows and declines the rest.
    #[inline]
    pub fn key(&mut self) -> Option<&'a [u8]> {
        let rest = self.b.get(self.i..)?;
        let len = memchr::memchr(b'"', rest)?;
        let key = &rest[..len];
        self.i += len;
        self.lit(b"\":")?;
        Some(key)
    }

    /// A string of printable ASCII without escapes; its content.
    #[inline]
    pub fn string(&mut self) -> Option<&'a [u8]> {
        self.lit(b"\"")?;
        let rest = self.b.get(self.i..)?;
        let len = memchr::memchr(b'"', rest)?;
        let content = &rest[..len];
        if !content
            .iter()
            .all(|&b| (0x20..0x7f).contains(&b) && b != b'\\')
        {
            return None;
        }
        self.i += len + 1;
        Some(content)
    }

    /// A decimal string parsed by `parse` (which accepts only digits, one point and a
    /// sign, so any escape or other byte declines).
    #[inline]
    pub fn decimal<T, E>(&mut self, parse: impl FnOnce(&[u8]) -> Result<T, E>) -> Option<T> {
        self.lit(b"\"")?;
        let rest = self.b.get(self.i..)?;
        let len = memchr::memchr(b'"', rest)?;
        let value = parse(&rest[..len]).ok()?;
        self.i += len + 1;
        Some(value)
    }

    /// A JSON non-negative integer that fits `u64` (no leading zeros, no fraction).
    #[inline]
    pub fn uint(&mut self) -> Option<u64> {
        let digits = self
            .b
            .get(self.i..)?
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let text = &self.b[self.i..self.i + digits];
        if digits == 0 || (digits > 1 && text[0] == b'0') {
            return None;
        }
        let mut value: u64 = 0;
        for &d in text {
            value = value.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        }
        self.i += digits;
        Some(value)
    }

    /// `[["price","qty"],...]` (exactly two strings a level), each level pushed to `out`
    /// as an [`EventBody::DepthLevel`] of `side`; the number of levels.
    pub fn levels(&mut self, side: Side, out: &mut EventBuf) -> Option<usize> {
        self.lit(b"[")?;
        if self.lit(b"]").is_some() {
            return Some(0);
        }
        let mut count = 0;
        loop {
            self.lit(b"[")?;
            let price = self.decimal(Price::from_decimal_bytes)?;
            self.lit(b",")?;
            let qty = self.decimal(Qty::from_decimal_bytes)?;
            self.lit(b"]")?;
            out.push(MarketEvent {
                body: EventBody::DepthLevel { side, price, qty },
                ..placeholder(0)
            })
            .ok()?;
            count += 1;
            match self.byte()? {
                b',' => {}
                b']' => return Some(count),
                _ => return None,
            }
        }
    }
}
