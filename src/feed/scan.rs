//! The byte cursor of the venue fast paths: strict, allocation-free reading of the few
//! JSON shapes a hot venue message is made of (objects of short keys, arrays, plain ASCII
//! strings, integers, decimal strings, `[price, qty]` levels), declining (`None`) on
//! anything else. Every venue's `fast.rs` is built from these pieces only.
//!
//! Strict by design, so that what a fast path accepts is valid JSON the generic decoder
//! reads the same way: no whitespace, strings of printable ASCII with no escapes, JSON
//! integers without leading zeros, decimals exactly as the shared parser
//! ([`crate::types::decimal::parse_raw`]) reads them. Owns no state beyond its position;
//! used on the feed thread only; may not touch anything but the frame and the caller's
//! [`EventBuf`].

use crate::feed::decode::Decoded;
use crate::feed::event_buf::EventBuf;
use crate::feed::json::placeholder;
#[cfg(test)]
use crate::feed::symbols::SymbolMap;
use crate::types::{DecimalError, EventBody, MarketEvent, Price, Qty, Rate, Side};

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

/// Test helper of the venues' fast paths: runs `decode` on `frame` with `symbol`
/// configured as `instrument` (receive time 4) into a fresh buffer; the events when it
/// accepted the frame, `None` when it declined (checking that it then left nothing).
#[cfg(test)]
pub(crate) fn run_fast(
    decode: fn(&SymbolMap, &[u8], u64, &mut EventBuf) -> Option<Decoded>,
    symbol: &str,
    instrument: crate::types::InstrumentId,
    frame: &str,
) -> Option<Vec<MarketEvent>> {
    let mut symbols = SymbolMap::default();
    symbols.insert(symbol, instrument);
    let mut out = EventBuf::with_capacity(16);
    match decode(&symbols, frame.as_bytes(), 4, &mut out) {
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

/// Test shorthands: a price and a quantity from their text.
#[cfg(test)]
pub(crate) fn px(text: &str) -> Price {
    Price::from_decimal_str(text).unwrap()
}

/// See [`px`].
#[cfg(test)]
pub(crate) fn qty(text: &str) -> Qty {
    Qty::from_decimal_str(text).unwrap()
}

/// Marks key `bit` as read in `seen`; `None` when it was read before (a repeated key
/// declines the frame: JSON leaves its meaning to the reader).
#[inline]
pub fn first_time(seen: &mut u32, bit: u32) -> Option<()> {
    if *seen & bit != 0 {
        return None;
    }
    *seen |= bit;
    Some(())
}

/// Whether `text` is printable ASCII without a backslash: a string (or key) whose bytes
/// are its content. Without an early exit, so that it vectorises: the long strings a
/// fast path skips (Hyperliquid's trade hashes and user addresses) cost little.
#[inline]
pub fn is_plain(text: &[u8]) -> bool {
    !text.iter().fold(false, |any, &b| {
        any | !(0x20..0x7f).contains(&b) | (b == b'\\')
    })
}

/// A fixed-point type read by [`Cursor::decimal`].
pub trait Fixed: Sized {
    /// Digits after the point.
    const DIGITS: usize;
    /// From raw units of 10^-`DIGITS`.
    fn from_raw(raw: i64) -> Self;
    /// The exact parser, [`crate::types::decimal::parse_raw`] through the type.
    fn parse(text: &[u8]) -> Result<Self, DecimalError>;
}

macro_rules! fixed {
    ($($name:ident),*) => {$(
        impl Fixed for $name {
            const DIGITS: usize = $name::DIGITS as usize;
            #[inline]
            fn from_raw(raw: i64) -> Self {
                $name::from_raw(raw)
            }
            fn parse(text: &[u8]) -> Result<Self, DecimalError> {
                $name::from_decimal_bytes(text)
            }
        }
    )*};
}

fixed!(Price, Qty, Rate);

/// Powers of ten up to 10^18: the scale of a decimal read with fewer decimals than its
/// type keeps.
const POW10: [i64; 19] = {
    let mut table = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// Every byte of a 16-byte lane set to `byte`.
const fn lanes(byte: u8) -> u128 {
    u128::from_le_bytes([byte; 16])
}

/// Reads `window`, the 16 bytes after a string's opening quote (zero-padded at the end
/// of the frame), as `digits[.digits]"` with 1 to 15 digits in all: the digits as one
/// integer, the number of decimals, and the length before the closing quote. `None` for
/// anything else. Branch-free SWAR (SIMD within a register): the digit mask finds the
/// point and the quote, then eight digits at a time are combined by multiplication.
#[inline]
fn plain_decimal(window: [u8; 16]) -> Option<(u64, usize, usize)> {
    let text = u128::from_le_bytes(window);
    // Digits become their values 0..=9; a byte is a digit iff it is below 10, which
    // adding 0x76 to its low seven bits (no carry between lanes) leaves below 0x80.
    let values = text ^ lanes(b'0');
    let not_digit = (((values & lanes(0x7f)) + lanes(0x76)) | values) & lanes(0x80);
    let first = (not_digit.trailing_zeros() / 8) as usize;
    let (int_len, end) = match window.get(first)? {
        b'"' => (first, first),
        b'.' if first < 15 => {
            let after = not_digit & (!0u128 << (8 * (first + 1)));
            let end = (after.trailing_zeros() / 8) as usize;
            (window.get(end)? == &b'"').then_some((first, end))?
        }
        _ => return None,
    };
    let decimals = end - int_len - usize::from(end > int_len);
    let count = int_len + decimals;
    if count == 0 {
        return None;
    }
    // The digits without the point, first digit in byte 0, then right-aligned into 16
    // lanes behind leading zeros.
    let low_bytes = |n: usize| (1u128 << (8 * n)) - 1;
    let int_part = values & low_bytes(int_len);
    let frac_part = (values >> (8 * (int_len + 1)).min(127)) & low_bytes(decimals);
    let aligned = (int_part | (frac_part << (8 * int_len))) << (8 * (16 - count));
    let bytes = aligned.to_le_bytes();
    let high = eight_digits(u64::from_le_bytes(*bytes.first_chunk()?));
    let low = eight_digits(u64::from_le_bytes(*bytes.last_chunk()?));
    Some((high * 100_000_000 + low, decimals, end))
}

/// Eight digit values (0..=9), the most significant in the lowest byte, as an integer.
#[inline]
fn eight_digits(lanes: u64) -> u64 {
    const MASK: u64 = 0x0000_00ff_0000_00ff;
    const MUL1: u64 = 100 + (1_000_000 << 32);
    const MUL2: u64 = 1 + (10_000 << 32);
    let pairs = lanes.wrapping_mul(10).wrapping_add(lanes >> 8);
    (MASK & pairs)
        .wrapping_mul(MUL1)
        .wrapping_add(((pairs >> 16) & MASK).wrapping_mul(MUL2))
        >> 32
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
        // Keys are a few bytes: a plain loop beats a call to `memchr`.
        let len = rest.iter().position(|&b| b == b'"')?;
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
        if !is_plain(content) {
            return None;
        }
        self.i += len + 1;
        Some(content)
    }

    /// A decimal string, exactly as [`Fixed::parse`] reads it (which accepts only digits,
    /// one point and a sign, so any escape or other byte declines).
    ///
    /// The common case, up to 15 digits with at most one point, no more decimals than `T`
    /// keeps and the closing quote within 16 bytes, is read without a loop by
    /// `plain_decimal`; anything else (a sign, extra decimals, no digits, another byte)
    /// goes to the exact parser. Both give the same value
    /// (`prop_decimal_same_as_exact_parser`).
    #[inline]
    pub fn decimal<T: Fixed>(&mut self) -> Option<T> {
        self.lit(b"\"")?;
        let rest = self.b.get(self.i..)?;
        let mut window = [0u8; 16];
        match rest.first_chunk::<16>() {
            Some(chunk) => window = *chunk,
            None => window[..rest.len()].copy_from_slice(rest),
        }
        if let Some((digits, decimals, len)) = plain_decimal(window)
            && decimals <= T::DIGITS
        {
            let raw = i64::try_from(digits)
                .ok()?
                .checked_mul(POW10[T::DIGITS - decimals])?;
            self.i += len + 1;
            return Some(T::from_raw(raw));
        }
        let len = memchr::memchr(b'"', rest)?;
        let value = T::parse(&rest[..len]).ok()?;
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

    /// A JSON integer that fits `i64` (an optional `-`, then as [`Cursor::uint`]; `-0`
    /// declines).
    #[inline]
    pub fn int(&mut self) -> Option<i64> {
        if self.lit(b"-").is_some() {
            let magnitude = self.uint()?;
            if magnitude == 0 {
                return None;
            }
            return 0i64.checked_sub_unsigned(magnitude);
        }
        i64::try_from(self.uint()?).ok()
    }

    /// A string of digits read as `str::parse::<u64>` reads it (venues that quote their
    /// integers: OKX's `"ts":"1597026383085"`).
    #[inline]
    pub fn quoted_u64(&mut self) -> Option<u64> {
        std::str::from_utf8(self.string()?).ok()?.parse().ok()
    }

    /// `true` or `false`.
    #[inline]
    pub fn boolean(&mut self) -> Option<bool> {
        match self.peek()? {
            b't' => self.lit(b"true").map(|()| true),
            _ => self.lit(b"false").map(|()| false),
        }
    }

    /// `null`.
    #[inline]
    pub fn null(&mut self) -> Option<()> {
        self.lit(b"null")
    }

    /// An array of strings (`[]` included), skipped.
    pub fn strings(&mut self) -> Option<()> {
        self.lit(b"[")?;
        if self.lit(b"]").is_some() {
            return Some(());
        }
        loop {
            self.string()?;
            match self.byte()? {
                b',' => {}
                b']' => return Some(()),
                _ => return None,
            }
        }
    }

    /// An object `{"key":value,...}` (at least one member): `member` reads each value
    /// after its key (returning `None` for a key it does not know) until the object ends.
    #[inline]
    pub fn members(
        &mut self,
        mut member: impl FnMut(&mut Self, &'a [u8]) -> Option<()>,
    ) -> Option<()> {
        self.lit(b"{\"")?;
        loop {
            let key = self.key()?;
            member(self, key)?;
            if !self.more_keys()? {
                return Some(());
            }
        }
    }

    /// An array `[item,...]` (`[]` included): `item` reads each element.
    #[inline]
    pub fn items(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.lit(b"[")?;
        if self.lit(b"]").is_some() {
            return Some(());
        }
        loop {
            item(self)?;
            match self.byte()? {
                b',' => {}
                b']' => return Some(()),
                _ => return None,
            }
        }
    }

    /// One `["price","qty"]` level; with `trailing` set, further strings after the
    /// quantity are skipped (OKX's `["price","qty","0","orders"]`).
    #[inline]
    pub fn level(&mut self, trailing: bool) -> Option<(Price, Qty)> {
        self.lit(b"[")?;
        let price = self.decimal::<Price>()?;
        self.lit(b",")?;
        let qty = self.decimal::<Qty>()?;
        while trailing && self.lit(b",").is_some() {
            self.string()?;
        }
        self.lit(b"]")?;
        Some((price, qty))
    }

    /// `[level,...]` (see [`Cursor::level`]), each level pushed to `out` as an
    /// [`EventBody::DepthLevel`] of `side`; the number of levels.
    pub fn levels(&mut self, side: Side, trailing: bool, out: &mut EventBuf) -> Option<usize> {
        let mut count = 0;
        self.items(|c| {
            let (price, qty) = c.level(trailing)?;
            push_level(out, side, price, qty)?;
            count += 1;
            Some(())
        })?;
        Some(count)
    }
}

/// Pushes one depth level to `out`; `None` when it is full.
#[inline]
pub fn push_level(out: &mut EventBuf, side: Side, price: Price, qty: Qty) -> Option<()> {
    out.push(MarketEvent {
        body: EventBody::DepthLevel { side, price, qty },
        ..placeholder(0)
    })
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `text` quoted, followed by `after`, read by [`Cursor::decimal`], which must then
    /// stand before `after`.
    fn read_before<T: Fixed>(text: &[u8], after: &[u8]) -> Option<T> {
        let mut frame = Vec::from(&b"\""[..]);
        frame.extend_from_slice(text);
        frame.push(b'"');
        frame.extend_from_slice(after);
        let mut c = Cursor::new(&frame);
        let value = c.decimal::<T>();
        if value.is_some() {
            c.lit(after)?;
            c.end()?;
        }
        value
    }

    fn read<T: Fixed>(text: &[u8]) -> Option<T> {
        read_before(text, b"")
    }

    fn same<T: Fixed + PartialEq + std::fmt::Debug>(
        text: &[u8],
        after: &[u8],
    ) -> Result<(), TestCaseError> {
        prop_assert_eq!(
            read_before::<T>(text, after),
            T::parse(text).ok(),
            "{:?}",
            text
        );
        Ok(())
    }

    #[test]
    fn test_decimal_plain_and_unusual() {
        let price = |s: &str| read::<Price>(s.as_bytes());
        assert_eq!(price("61837.63000000"), "61837.63".parse().ok());
        assert_eq!(price(".5"), "0.5".parse().ok());
        assert_eq!(price("5."), "5".parse().ok());
        assert_eq!(price("-0.0024"), "-0.0024".parse().ok());
        assert_eq!(price("0.100000000000000"), "0.1".parse().ok());
        assert_eq!(price("123456789012345"), "123456789012345".parse().ok());
        assert_eq!(price("12345.6789012345"), "12345.6789012345".parse().ok());
        assert_eq!(read::<Qty>(b"0.00000001"), "0.00000001".parse().ok());
        assert_eq!(read::<Qty>(b"0.000000010"), "0.00000001".parse().ok());
        for bad in [
            "",
            ".",
            "1.2.3",
            "1e5",
            "0.00000000001",
            "922337203685.5",
            "1\\u0030",
        ] {
            assert_eq!(price(bad), None, "{bad}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn prop_decimal_same_as_exact_parser(
            text in "[-+]?[0-9]{0,21}(\\.[0-9]{0,21})?",
            bytes in proptest::collection::vec(any::<u8>(), 0..24),
            after in proptest::collection::vec(any::<u8>(), 0..20),
        ) {
            for t in [text.as_bytes(), &bytes] {
                if memchr::memchr(b'"', t).is_none() {
                    same::<Price>(t, &after)?;
                    same::<Qty>(t, &after)?;
                    same::<Rate>(t, &after)?;
                }
            }
        }
    }
}
