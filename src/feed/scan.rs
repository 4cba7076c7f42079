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
#[cfg(test)]
use crate::feed::symbols::SymbolMap;
use crate::types::decimal;
use crate::types::{DecimalError, EventBody, InstrumentId, MarketEvent, Price, Qty, Rate, Side};

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
/// are its content. A word at a time (SWAR), the last partial word read as the word that
/// ends the text (its lanes before the tail were already checked; the same verdict);
/// shorter texts byte by byte. The long strings a fast path skips (Hyperliquid's trade
/// hashes) and the unknown keys it checks (Bybit's tickers) cost a few operations a word.
#[inline]
pub fn is_plain(text: &[u8]) -> bool {
    let mut chunks = text.chunks_exact(8);
    let mut unusual = 0;
    for chunk in &mut chunks {
        unusual |= unusual_lanes(u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
    }
    if !chunks.remainder().is_empty() {
        match text.len().checked_sub(8).and_then(|at| word(text, at)) {
            Some(last) => unusual |= unusual_lanes(last),
            None => {
                return text
                    .iter()
                    .all(|&b| (0x20..0x7f).contains(&b) && b != b'\\');
            }
        }
    }
    unusual == 0
}

/// A fixed-point type read by [`Cursor::decimal`].
pub trait Fixed: Sized {
    /// Digits after the point.
    const DIGITS: usize;
    /// `digits * 10^pow` raw units (`pow` at most `DIGITS`), when within the type's
    /// range (`None` otherwise, as the exact parser refuses it).
    fn from_scaled(digits: u64, pow: usize) -> Option<Self>;
    /// The exact parser, [`crate::types::decimal::parse_raw`] through the type.
    fn parse(text: &[u8]) -> Result<Self, DecimalError>;
}

macro_rules! fixed_wide {
    ($($name:ident),*) => {$(
        impl Fixed for $name {
            const DIGITS: usize = $name::DIGITS as usize;
            #[inline(always)]
            fn from_scaled(digits: u64, pow: usize) -> Option<Self> {
                // `digits` is below 10^18 and `pow` at most the type's digits, so the
                // product stays below 10^36, far inside `i128`.
                let raw = i128::from(digits) * *decimal::POW10.get(pow)?;
                (raw <= $name::MAX.raw()).then_some($name::from_raw(raw))
            }
            fn parse(text: &[u8]) -> Result<Self, DecimalError> {
                $name::from_decimal_bytes(text)
            }
        }
    )*};
}

fixed_wide!(Price, Qty);

impl Fixed for Rate {
    const DIGITS: usize = Rate::DIGITS as usize;
    #[inline(always)]
    fn from_scaled(digits: u64, pow: usize) -> Option<Self> {
        let raw = i64::try_from(digits).ok()?.checked_mul(*POW10.get(pow)?)?;
        Some(Rate::from_raw(raw))
    }
    fn parse(text: &[u8]) -> Result<Self, DecimalError> {
        Rate::from_decimal_bytes(text)
    }
}

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

/// `byte` in each of the eight lanes of a word.
const fn lanes(byte: u8) -> u64 {
    u64::from_le_bytes([byte; 8])
}

/// The eight bytes of `bytes` from `at`, as a little-endian word (the first byte in the
/// lowest lane); `None` when fewer are left.
#[inline(always)]
fn word(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(*bytes.get(at..)?.first_chunk::<8>()?))
}

/// The high bit of each lane of `word` that is zero, exact up to the first one (a borrow
/// may mark lanes above it): its trailing zeros find the first zero lane.
#[inline(always)]
fn zero_lanes(word: u64) -> u64 {
    word.wrapping_sub(lanes(1)) & !word & lanes(0x80)
}

/// The digit values of `word`'s lanes (meaningful where they are digits), and the high
/// bit of each lane that is not an ASCII digit.
#[inline(always)]
fn digit_lanes(word: u64) -> (u64, u64) {
    // Digits become their values 0..=9; a byte is a digit iff it is below 10, which
    // adding 0x76 to its low seven bits (no carry between lanes) leaves below 0x80.
    let values = word ^ lanes(b'0');
    let not_digit = (((values & lanes(0x7f)) + lanes(0x76)) | values) & lanes(0x80);
    (values, not_digit)
}

/// The first `len` (at most 8) digit values of `values`, the first most significant, as
/// an integer: right-aligned behind leading zeros, then combined.
#[inline(always)]
fn lanes_value(values: u64, len: usize) -> u64 {
    // `len` 0 shifts everything out (`checked_shl` refuses a shift of 64).
    let aligned = u32::try_from(8 * (8 - len))
        .ok()
        .and_then(|shift| values.checked_shl(shift))
        .unwrap_or(0);
    eight_digits(aligned)
}

/// The run of ASCII digits at `at` in `bytes`: its value and length, branch-free over
/// one or two words (SWAR, SIMD within a register). `None` for 16 digits or more, or
/// when fewer than 8 bytes (16 for a run of 8 or more) are left. Always inlined, as
/// [`plain_decimal`] is: left to the compiler, one of the two became a call per level.
#[inline(always)]
fn digit_run(bytes: &[u8], at: usize) -> Option<(u64, usize)> {
    let (values, not_digit) = digit_lanes(word(bytes, at)?);
    if not_digit != 0 {
        let len = (not_digit.trailing_zeros() / 8) as usize;
        return Some((lanes_value(values, len), len));
    }
    let (more, not_digit) = digit_lanes(word(bytes, at + 8)?);
    if not_digit == 0 {
        return None;
    }
    let len = (not_digit.trailing_zeros() / 8) as usize;
    let value = eight_digits(values) * POW10[len].unsigned_abs() + lanes_value(more, len);
    Some((value, 8 + len))
}

/// Most digits [`plain_decimal`] combines: their value stays below 10^18.
const PLAIN_DIGITS_MAX: usize = 18;

/// Reads `rest`, what follows a string's opening quote, as `digits[.digits]"` with 1 to
/// [`PLAIN_DIGITS_MAX`] digits in all, fewer than 16 on either side of the point: the
/// digits as one integer, the number of decimals, and the length before the closing
/// quote. `None` for anything else, and near the end of the frame (the words read need
/// their eight bytes). Always inlined, at one call site in [`Cursor::decimal`]: called,
/// its result went through memory and its constants were loaded again on every call (a
/// level of two decimals cost about 30 instructions more).
#[inline(always)]
fn plain_decimal(rest: &[u8]) -> Option<(u64, usize, usize)> {
    let (int, int_len) = digit_run(rest, 0)?;
    match *rest.get(int_len)? {
        b'"' if int_len > 0 => Some((int, 0, int_len)),
        b'.' => {
            let (frac, decimals) = digit_run(rest, int_len + 1)?;
            let end = int_len + 1 + decimals;
            let count = int_len + decimals;
            (*rest.get(end)? == b'"' && count > 0 && count <= PLAIN_DIGITS_MAX)
                .then(|| (int * POW10[decimals].unsigned_abs() + frac, decimals, end))
        }
        _ => None,
    }
}

/// Bytes [`plain_decimal`] may read: two runs of up to two words each.
const PLAIN_WINDOW: usize = 32;

/// Masks of sixteen lanes: `LANES_FROM[k]` has every lane from `k` on set (`k` in
/// `0..=16`; `LANES_FROM[16]` is empty). A `static`: a `const` indexed at run time is
/// copied whole to the stack at every use.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
static LANES_FROM: [[u8; 16]; 17] = {
    let mut table = [[0u8; 16]; 17];
    let mut k = 0;
    while k < 17 {
        let mut lane = k;
        while lane < 16 {
            table[k][lane] = 0xff;
            lane += 1;
        }
        k += 1;
    }
    table
};

/// [`plain_decimal`] of a short string in a register: the content that starts at
/// `start` in `frame` (after its opening quote), when it is `digits[.digits]` in fewer
/// than 16 bytes with at least one digit. `None` (the caller then reads it by
/// [`long_decimal`]) for anything else, and when the frame has fewer than 16 bytes up
/// to the closing quote.
///
/// SSE2, no loop and no general-purpose constant: the first load finds the closing
/// quote (the frame's last 16 bytes when fewer are left from `start`); a second load
/// ends just before it, so that the last digit sits in the last lane; the digits left
/// of the point move one lane right, onto the point, which leaves one run of digits
/// whose value is the decimal's integer; that run is combined by three multiply-adds.
/// In a book's level loop this keeps the SWAR constants of [`plain_decimal`] out of
/// the general registers, which had spilled to the stack.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn short_decimal(frame: &[u8], start: usize) -> Option<(u64, usize, usize)> {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_andnot_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8,
        _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8, _mm_slli_si128, _mm_sub_epi8,
    };
    // The 16 bytes from `start`, or the frame's last 16 when fewer are left.
    let block_at = start.min(frame.len().checked_sub(16)?);
    let head = frame.get(block_at..)?.first_chunk::<16>()?;
    // SAFETY: SSE2 is enabled (the cfg above); the load reads the 16 bytes of `head`.
    let quotes = unsafe {
        let v = _mm_loadu_si128(head.as_ptr().cast());
        _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'"'.cast_signed())))
    }
    .cast_unsigned()
        >> (start - block_at);
    if quotes == 0 {
        return None;
    }
    let len = quotes.trailing_zeros() as usize;
    let end = start + len;
    let tail = frame.get(end.checked_sub(16)?..end)?.first_chunk::<16>()?;
    let inside = 16 - len;
    // SAFETY: SSE2 is enabled (the cfg above); the loads read the 16 bytes of `tail`
    // and of two entries of `LANES_FROM`, all in bounds.
    unsafe {
        let load = |bytes: &[u8; 16]| -> __m128i { _mm_loadu_si128(bytes.as_ptr().cast()) };
        let from = |lane: usize| load(&LANES_FROM[lane]);
        let t = load(tail);
        let content = from(inside);
        let values = _mm_sub_epi8(t, _mm_set1_epi8(b'0'.cast_signed()));
        let digit = _mm_and_si128(
            _mm_cmpeq_epi8(_mm_min_epu8(values, _mm_set1_epi8(9)), values),
            content,
        );
        let point = _mm_and_si128(
            _mm_cmpeq_epi8(t, _mm_set1_epi8(b'.'.cast_signed())),
            content,
        );
        let digit_bits = _mm_movemask_epi8(digit).cast_unsigned();
        let point_bits = _mm_movemask_epi8(point).cast_unsigned();
        let content_bits = _mm_movemask_epi8(content).cast_unsigned();
        if digit_bits | point_bits != content_bits || digit_bits == 0 || point_bits.count_ones() > 1
        {
            return None;
        }
        // Without a point every digit counts as a decimal of the run: nothing moves.
        let (decimals, frac) = match point_bits.trailing_zeros() as usize {
            16.. => (0, content),
            point => (15 - point, from(point + 1)),
        };
        let digits = _mm_and_si128(values, digit);
        let run = _mm_or_si128(
            _mm_and_si128(digits, frac),
            _mm_slli_si128::<1>(_mm_andnot_si128(frac, digits)),
        );
        Some((sixteen_digits(run), decimals, len))
    }
}

/// The value of sixteen digit lanes (0..=9, the first most significant): pairs, then
/// fours, then eights by multiply-adds, then the two eights.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn sixteen_digits(lanes: std::arch::x86_64::__m128i) -> u64 {
    use std::arch::x86_64::{
        _mm_cvtsi128_si64, _mm_madd_epi16, _mm_packs_epi32, _mm_set1_epi32, _mm_setzero_si128,
        _mm_unpackhi_epi8, _mm_unpacklo_epi8,
    };
    // SAFETY: SSE2 is enabled (the cfg above), which is all the intrinsics need; they
    // touch registers only.
    let both = unsafe {
        // Each 32-bit lane of a weight holds two 16-bit weights, the first in its low
        // half: a multiply-add gives first * high weight + second.
        let weights = |high: i32| _mm_set1_epi32((1 << 16) | high);
        let zero = _mm_setzero_si128();
        // Pairs of at most 99 and fours of at most 9,999 fit the signed 16-bit packs.
        let pairs = _mm_packs_epi32(
            _mm_madd_epi16(_mm_unpacklo_epi8(lanes, zero), weights(10)),
            _mm_madd_epi16(_mm_unpackhi_epi8(lanes, zero), weights(10)),
        );
        let fours = _mm_madd_epi16(pairs, weights(100));
        let eights = _mm_madd_epi16(_mm_packs_epi32(fours, fours), weights(10_000));
        _mm_cvtsi128_si64(eights).cast_unsigned()
    };
    (both & 0xffff_ffff) * 100_000_000 + (both >> 32)
}

/// Portable [`short_decimal`]: never read in a register, so [`Cursor::decimal`] reads
/// every decimal by [`plain_decimal`].
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline(always)]
fn short_decimal(_frame: &[u8], _start: usize) -> Option<(u64, usize, usize)> {
    None
}

/// Bytes [`short_level`] needs from a level's start: `["`, a short decimal, `","`,
/// another, and the closing quote, with the 16 bytes each decimal's first load reads.
const LEVEL_WINDOW: usize = 2 + 15 + 3 + 16;

/// The start of a level at `at` in `frame`, `["price","qty"` (up to the quantity's
/// closing quote), when both decimals are short (see [`short_decimal`]) and within
/// what their types keep: the price, the quantity and the position after them. `None`
/// otherwise ([`Cursor::level`] then reads the level piece by piece, to the same
/// values or to the same refusal). One bounds check for the level's bytes, no cursor
/// update between its pieces, no merge with the long path in between.
#[inline(always)]
fn short_level(frame: &[u8], at: usize) -> Option<(Price, Qty, usize)> {
    let window = frame.get(at..)?.first_chunk::<LEVEL_WINDOW>()?;
    if window[..2] != *b"[\"" {
        return None;
    }
    let (price, price_decimals, price_len) = short_decimal(frame, at + 2)?;
    let qty_at = 2 + price_len + 3;
    if window.get(qty_at - 3..qty_at)? != b"\",\"" {
        return None;
    }
    let (qty, qty_decimals, qty_len) = short_decimal(frame, at + qty_at)?;
    Some((
        scaled(price, price_decimals)?,
        scaled(qty, qty_decimals)?,
        at + qty_at + qty_len + 1,
    ))
}

/// `digits` with `decimals` decimals as a `T`, when `T` keeps that many and the value
/// fits.
#[inline(always)]
fn scaled<T: Fixed>(digits: u64, decimals: usize) -> Option<T> {
    T::from_scaled(digits, T::DIGITS.checked_sub(decimals)?)
}

/// [`plain_decimal`] of the content at `start` in `frame` (near the frame's end, on a
/// zero-padded copy): what [`short_decimal`] leaves, decimals of 16 bytes or more and
/// frames under 16 bytes. Out of line: inlined, its SWAR constants crowded the
/// registers of every loop that reads decimals, and a level loop spilled to the stack.
#[inline(never)]
fn long_decimal(frame: &[u8], start: usize) -> Option<(u64, usize, usize)> {
    let rest = frame.get(start..)?;
    if rest.len() >= PLAIN_WINDOW {
        return plain_decimal(rest);
    }
    plain_decimal(&padded::<PLAIN_WINDOW>(frame, rest.len()))
}

/// The high bit of each lane of `word` that cannot be inside a plain string: below
/// 0x20, 0x7f and above, or `\`. Exact in every lane (no carry crosses a lane).
#[inline(always)]
fn unusual_lanes(word: u64) -> u64 {
    let low = word & lanes(0x7f);
    let control = !(low + lanes(0x60)) & lanes(0x80);
    let delete = (low + lanes(0x01)) & lanes(0x80);
    let backslash = low ^ lanes(b'\\');
    let is_backslash = !((backslash + lanes(0x7f)) | backslash) & lanes(0x80);
    control | delete | is_backslash | (word & lanes(0x80))
}

/// The length of a plain string's content (see [`is_plain`]) that `bytes` starts with,
/// up to its closing quote; `None` when an unusual byte comes first. Sixteen bytes at a
/// time ([`block_marks`], exact in every lane: symbols, topics, Bybit's trade UUIDs and
/// Hyperliquid's hashes alike); the last bytes of the frame, under a block (and every
/// string without SSE2), by `memchr` and [`is_plain`].
#[inline(always)]
fn plain_len(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some((quotes, unusual)) = block_marks(bytes, at) {
        if quotes != 0 {
            return plain_before(quotes, unusual, at);
        }
        if unusual != 0 {
            return None;
        }
        at += BLOCK;
    }
    let rest = bytes.get(at..)?;
    let len = memchr::memchr(b'"', rest)?;
    is_plain(&rest[..len]).then_some(at + len)
}

/// The string's length when the first quote of a block read at `at` comes before any
/// unusual byte; `quotes` and `unusual` as [`block_marks`] gives them.
#[inline(always)]
fn plain_before(quotes: u64, unusual: u64, at: usize) -> Option<usize> {
    let first = quotes & quotes.wrapping_neg();
    (unusual & (first - 1) == 0).then(|| at + quotes.trailing_zeros() as usize)
}

/// Bytes [`block_marks`] reads at once.
const BLOCK: usize = 16;

/// The [`BLOCK`] bytes of `bytes` from `at` (`None` when fewer are left) as two masks,
/// bit `k` for byte `k`: the quotes, and the bytes that cannot be inside a plain string
/// (below 0x20, 0x7f and above, or `\`; see [`unusual_lanes`]). SSE2 compares.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn block_marks(bytes: &[u8], at: usize) -> Option<(u64, u64)> {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    let block = bytes.get(at..)?.first_chunk::<BLOCK>()?;
    // SAFETY: SSE2 is enabled (the cfg above), which is all the intrinsics need; the
    // unaligned load reads the BLOCK (16) bytes of `block`, all in bounds.
    let (quotes, unusual) = unsafe {
        let v = _mm_loadu_si128(block.as_ptr().cast());
        // Signed lanes: bytes 0x80 and above are negative, so the one compare below
        // 0x20 finds them with the control bytes.
        let unusual = _mm_or_si128(
            _mm_or_si128(
                _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)),
            ),
            _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\'.cast_signed())),
        );
        let quotes = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"'.cast_signed()));
        (_mm_movemask_epi8(quotes), _mm_movemask_epi8(unusual))
    };
    Some((
        u64::from(quotes.cast_unsigned()),
        u64::from(unusual.cast_unsigned()),
    ))
}

/// Portable [`block_marks`]: never a block, so [`plain_len`] reads by `memchr`.
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline(always)]
fn block_marks(_bytes: &[u8], _at: usize) -> Option<(u64, u64)> {
    None
}

/// The last `rest_len` bytes of `frame` (fewer than `N`, at most 32: what is left of
/// the frame near its end) followed by zeros (neither digits, point nor quote), as `N`
/// bytes: the frame's last `N` bytes copied whole (a fixed-size copy, no call) in front
/// of zeros, then `N` bytes read from where the rest starts. A frame shorter than `N` is
/// copied as long as it is (out of line).
#[inline(always)]
fn padded<const N: usize>(frame: &[u8], rest_len: usize) -> [u8; N] {
    let mut both = [0u8; 64];
    match frame.last_chunk::<N>() {
        Some(last) => both[..N].copy_from_slice(last),
        None => short_frame(&mut both[..N], frame),
    }
    let mut window = [0u8; N];
    window.copy_from_slice(&both[N - rest_len.min(N)..][..N]);
    window
}

/// [`padded`] of 16 bytes, in registers: the frame's last 16 bytes as one little-endian
/// integer, shifted down past the bytes before the rest (the zeros come in from the
/// top), with no copy through the stack. A frame shorter than 16 bytes goes to [`padded`].
#[inline(always)]
fn padded16(frame: &[u8], rest_len: usize) -> [u8; 16] {
    match frame.last_chunk::<16>() {
        Some(last) => {
            let shift = u32::try_from(8 * (16 - rest_len.min(16))).unwrap_or(u32::MAX);
            u128::from_le_bytes(*last)
                .checked_shr(shift)
                .unwrap_or(0)
                .to_le_bytes()
        }
        None => padded::<16>(frame, rest_len),
    }
}

/// [`padded`] of a frame shorter than the window: `frame` right-aligned in `window`.
#[cold]
#[inline(never)]
fn short_frame(window: &mut [u8], frame: &[u8]) {
    let len = frame.len().min(window.len());
    let at = window.len() - len;
    window[at..].copy_from_slice(&frame[frame.len() - len..]);
}

/// Index of the first `"` in `bytes`: SWAR over the first 32 bytes (every key and most
/// strings of a hot message end there), else `memchr`.
#[inline(always)]
fn quote(bytes: &[u8]) -> Option<usize> {
    for at in [0, 8, 16, 24] {
        let Some(word) = word(bytes, at) else {
            break;
        };
        let quotes = zero_lanes(word ^ lanes(b'"'));
        if quotes != 0 {
            return Some(at + (quotes.trailing_zeros() / 8) as usize);
        }
    }
    memchr::memchr(b'"', bytes)
}

/// Eight digit values (0..=9), the most significant in the lowest byte, as an integer.
#[inline(always)]
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
/// returns `None` (the whole frame is then declined). A copy is a saved position: a
/// scanner that tries a message's usual key order first goes back to it to read the
/// same bytes in any order.
#[derive(Clone, Copy)]
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

    /// The whole frame, whatever has been consumed.
    #[inline]
    pub fn frame(&self) -> &'a [u8] {
        self.b
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
    #[inline(always)]
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
    #[inline(always)]
    pub fn key(&mut self) -> Option<&'a [u8]> {
        let rest = self.b.get(self.i..)?;
        // One-letter keys (most of Binance's and Bybit's) skip the search.
        if let Some([key, b'"', b':']) = rest.first_chunk::<3>()
            && *key != b'"'
            && *key != b'\\'
        {
            self.i += 3;
            return Some(std::slice::from_ref(key));
        }
        let len = quote(rest)?;
        let key = rest.get(..len)?;
        self.i += len;
        self.lit(b"\":")?;
        Some(key)
    }

    /// A string of printable ASCII without escapes; its content.
    #[inline(always)]
    pub fn string(&mut self) -> Option<&'a [u8]> {
        self.lit(b"\"")?;
        let rest = self.b.get(self.i..)?;
        let len = plain_len(rest)?;
        let content = rest.get(..len)?;
        self.i += len + 1;
        Some(content)
    }

    /// A decimal string, exactly as [`Fixed::parse`] reads it (which accepts only digits,
    /// one point and a sign, so any escape or other byte declines).
    ///
    /// The common case, digits with at most one point and no more decimals than `T`
    /// keeps, is read without a loop: in registers by `short_decimal` (under 16 bytes,
    /// with at least 16 bytes of frame up to its closing quote), else by `plain_decimal`
    /// through `long_decimal` (near the end of the frame, from a zero-padded copy);
    /// anything else (a sign, extra decimals, no digits, another byte) goes to the exact
    /// parser. All give the same value (`prop_decimal_same_as_exact_parser`).
    #[inline(always)]
    pub fn decimal<T: Fixed>(&mut self) -> Option<T> {
        self.lit(b"\"")?;
        let rest = self.b.get(self.i..)?;
        let plain = match short_decimal(self.b, self.i) {
            Some(read) => Some(read),
            None => long_decimal(self.b, self.i),
        };
        if let Some((digits, decimals, len)) = plain
            && decimals <= T::DIGITS
        {
            let value = scaled(digits, decimals)?;
            self.i += len + 1;
            return Some(value);
        }
        let len = memchr::memchr(b'"', rest)?;
        let value = T::parse(&rest[..len]).ok()?;
        self.i += len + 1;
        Some(value)
    }

    /// A JSON non-negative integer that fits `u64` (no leading zeros, no fraction): up
    /// to 15 digits by `digit_run` (SWAR; at the end of the frame on a zero-padded
    /// copy), longer ones digit by digit. Both read the same (`prop_uint_same_as_reference`).
    #[inline]
    pub fn uint(&mut self) -> Option<u64> {
        let rest = self.b.get(self.i..)?;
        let run = if rest.len() >= 16 {
            digit_run(rest, 0)
        } else {
            digit_run(&padded16(self.b, rest.len()), 0)
        };
        let Some((value, digits)) = run else {
            return self.long_uint();
        };
        if digits == 0 || (digits > 1 && rest[0] == b'0') {
            return None;
        }
        self.i += digits;
        Some(value)
    }

    /// [`Cursor::uint`], a digit at a time.
    fn long_uint(&mut self) -> Option<u64> {
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
    /// integers: OKX's `"ts":"1597026383085"`): 1 to 15 digits by `digit_run` (SWAR; at
    /// the end of the frame on a zero-padded copy), anything else by `str::parse`. Both
    /// read the same (`prop_quoted_u64_same_as_parse`).
    #[inline]
    pub fn quoted_u64(&mut self) -> Option<u64> {
        let content = self.i + 1;
        let text = self.string()?;
        let rest = &self.b[content..];
        let run = if rest.len() >= 16 {
            digit_run(rest, 0)
        } else {
            digit_run(&padded16(self.b, rest.len()), 0)
        };
        match run {
            Some((value, digits)) if digits > 0 && digits == text.len() => Some(value),
            _ => std::str::from_utf8(text).ok()?.parse().ok(),
        }
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
    /// quantity are skipped (OKX's `["price","qty","0","orders"]`). Its price and
    /// quantity are read in one go by `short_level` when both are short, else piece by
    /// piece.
    #[inline]
    pub fn level(&mut self, trailing: bool) -> Option<(Price, Qty)> {
        let (price, qty) = match short_level(self.b, self.i) {
            Some((price, qty, next)) => {
                self.i = next;
                (price, qty)
            }
            None => {
                self.lit(b"[")?;
                let price = self.decimal::<Price>()?;
                self.lit(b",")?;
                (price, self.decimal::<Qty>()?)
            }
        };
        while trailing && self.lit(b",").is_some() {
            self.string()?;
        }
        self.lit(b"]")?;
        Some((price, qty))
    }

    /// `[level,...]` (see [`Cursor::level`]), each level pushed to `out` as an
    /// [`EventBody::DepthLevel`] of `side` stamped with `stamp`; the number of levels.
    /// Read on a copy of the cursor, written back once when the whole array is read:
    /// through `self` the position was stored to memory at every step, as a decline
    /// leaves it where it failed (callgrind: 8 fewer instructions per Bybit level).
    pub fn levels(
        &mut self,
        side: Side,
        trailing: bool,
        stamp: Stamp,
        out: &mut EventBuf,
    ) -> Option<usize> {
        let mut c = *self;
        let mut count = 0;
        c.items(|c| {
            let (price, qty) = c.level(trailing)?;
            push_level(out, stamp, side, price, qty)?;
            count += 1;
            Some(())
        })?;
        *self = c;
        Some(count)
    }
}

/// What a frame's events carry besides their body: our receive time, the venue's time
/// and the instrument. A scanner that does not know them yet when it writes an event
/// writes [`Stamp::default`] and stamps the frame's events once it does
/// ([`crate::feed::json::stamp`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stamp {
    /// Quanta raw ticks when the frame was read.
    pub ts_recv_raw: u64,
    /// The venue's event time, unix milliseconds.
    pub ts_venue_ms: u64,
    /// Which market.
    pub instrument: InstrumentId,
}

impl Stamp {
    /// The event of `body` with this stamp.
    #[inline]
    pub fn event(self, body: EventBody) -> MarketEvent {
        MarketEvent {
            ts_recv_raw: self.ts_recv_raw,
            ts_venue_ms: self.ts_venue_ms,
            instrument: self.instrument,
            body,
        }
    }
}

/// Pushes one depth level stamped with `stamp` to `out`; `None` when it is full.
#[inline]
pub fn push_level(
    out: &mut EventBuf,
    stamp: Stamp,
    side: Side,
    price: Price,
    qty: Qty,
) -> Option<()> {
    out.push(stamp.event(EventBody::DepthLevel { side, price, qty }))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `text` quoted, followed by `after`, read by [`Cursor::decimal`], which must then
    /// stand before `after`.
    fn read_before<T: Fixed>(text: &[u8], after: &[u8]) -> Option<T> {
        read_within(b"", text, after)
    }

    /// `text` read as a quoted decimal that `before` precedes in the frame.
    fn read_within<T: Fixed>(before: &[u8], text: &[u8], after: &[u8]) -> Option<T> {
        let mut frame = Vec::from(before);
        frame.push(b'"');
        frame.extend_from_slice(text);
        frame.push(b'"');
        frame.extend_from_slice(after);
        let mut c = Cursor::new(&frame);
        c.i = before.len();
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
        before: &[u8],
        text: &[u8],
        after: &[u8],
    ) -> Result<(), TestCaseError> {
        prop_assert_eq!(
            read_within::<T>(before, text, after),
            T::parse(text).ok(),
            "{:?} after {:?}",
            text,
            before
        );
        Ok(())
    }

    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    #[test]
    fn test_short_decimal_reads_as_plain_decimal() {
        let before = b"{\"b\":[[\"1.5\",\"2\"],[";
        for text in [
            "65114.2",
            "5.954",
            "0.00100000",
            "5.",
            ".5",
            "7",
            "123456789012345",
            "1234567890123.4",
            ".12345678901234",
            "00012.3400",
        ] {
            let frame = [&before[..], text.as_bytes(), b"\",\"1\"]],\"u\":12345678}"].concat();
            let start = before.len();
            let want = plain_decimal(&frame[start..]);
            assert!(want.is_some(), "{text}");
            assert_eq!(short_decimal(&frame, start), want, "{text}");
        }
        for text in [
            "",
            ".",
            "1.2.3",
            "-1.5",
            "1e5",
            "12 3",
            "1234567890123456",
            "12345678901234.5",
            "1\\5",
        ] {
            let frame = [&before[..], text.as_bytes(), b"\",\"1\"]],\"u\":12345678}"].concat();
            assert_eq!(short_decimal(&frame, before.len()), None, "{text}");
        }
        let frame = b"\"65114.2\",\"1.5\"],[\"2\",\"3\"]]";
        assert_eq!(
            short_decimal(frame, 1),
            None,
            "fewer than 16 bytes before its end"
        );
        let frame = [&before[..], b"65114.2\"]]}"].concat();
        assert_eq!(
            short_decimal(&frame, before.len()),
            Some((651_142, 1, 7)),
            "near the frame's end"
        );
        assert_eq!(
            short_decimal(b"\"5.5\"]", 1),
            None,
            "a frame under 16 bytes"
        );
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
        assert_eq!(price("1234567890123456"), "1234567890123456".parse().ok());
        assert_eq!(
            read_before::<Price>(b"61837.63000000", b",\"B\":\"3.78826000\""),
            "61837.63".parse().ok()
        );
        assert_eq!(
            read_before::<Qty>(b"123456789.12345678", b"}}}}}}}}}}}}}}}}"),
            "123456789.12345678".parse().ok()
        );
        assert_eq!(read::<Qty>(b"0.00000001"), "0.00000001".parse().ok());
        assert_eq!(read::<Qty>(b"0.000000010"), "0.00000001".parse().ok());
        for bad in [
            "",
            ".",
            "1.2.3",
            "1e5",
            "0.0000000000001",
            "1000000000000.5",
            "1\\u0030",
        ] {
            assert_eq!(price(bad), None, "{bad}");
        }
    }

    /// `text` then `after`, after `before` in the frame, read by [`Cursor::uint`] against
    /// the JSON rule: the leading digits, no leading zero unless alone, within `u64`; the
    /// cursor after them.
    fn same_uint(before: &[u8], text: &[u8], after: &[u8]) -> Result<(), TestCaseError> {
        let frame = [before, text, after].concat();
        let rest = &frame[before.len()..];
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let want = std::str::from_utf8(&rest[..digits])
            .ok()
            .filter(|d| !d.is_empty() && (d.len() == 1 || !d.starts_with('0')))
            .and_then(|d| d.parse::<u64>().ok());
        let mut c = Cursor::new(&frame);
        c.i = before.len();
        prop_assert_eq!(c.uint(), want, "{:?}", frame);
        if want.is_some() {
            prop_assert_eq!(c.i, before.len() + digits);
        }
        Ok(())
    }

    #[test]
    fn test_key_one_letter_long_and_malformed() {
        let key = |frame: &[u8]| Cursor::new(frame).key().map(<[u8]>::to_vec);
        assert_eq!(key(b"u\":1"), Some(b"u".to_vec()));
        assert_eq!(
            key(b"singleOpenInterestValue\":\"1\""),
            Some(b"singleOpenInterestValue".to_vec())
        );
        assert_eq!(
            key(b"\"\":1"),
            None,
            "an empty key is not followed by `\":`"
        );
        assert_eq!(key(b"u\" :1"), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn prop_string_same_as_reference(
            bytes in proptest::collection::vec(
                prop_oneof![4 => 0x20u8..0x7f, 1 => any::<u8>(), 1 => Just(b'"')],
                0..48,
            ),
        ) {
            let mut frame = vec![b'"'];
            frame.extend_from_slice(&bytes);
            let want = memchr::memchr(b'"', &bytes)
                .filter(|&len| is_plain(&bytes[..len]))
                .map(|len| bytes[..len].to_vec());
            let mut c = Cursor::new(&frame);
            prop_assert_eq!(c.string().map(<[u8]>::to_vec), want);
        }

        #[test]
        fn prop_quoted_u64_same_as_parse(
            text in "[+]?[0-9]{0,22}",
            after in proptest::collection::vec(any::<u8>(), 0..24),
        ) {
            let frame = [b"\"", text.as_bytes(), b"\"", &after].concat();
            let mut c = Cursor::new(&frame);
            prop_assert_eq!(c.quoted_u64(), text.parse::<u64>().ok(), "{:?}", text);
        }

        #[test]
        fn prop_block_marks_same_as_bytes(
            bytes in proptest::collection::vec(
                prop_oneof![4 => 0x20u8..0x7f, 1 => any::<u8>(), 1 => Just(b'"')],
                0..24,
            ),
        ) {
            let mark = |is: &dyn Fn(u8) -> bool| {
                bytes.iter().take(BLOCK).enumerate()
                    .filter(|&(_, &b)| is(b))
                    .fold(0u64, |m, (k, _)| m | 1 << k)
            };
            let want = (bytes.len() >= BLOCK).then(|| {
                (mark(&|b| b == b'"'), mark(&|b| !is_plain(&[b])))
            });
            let got = block_marks(&bytes, 0);
            if cfg!(all(target_arch = "x86_64", target_feature = "sse2")) {
                prop_assert_eq!(got, want);
            } else {
                prop_assert_eq!(got, None);
            }
        }

        #[test]
        fn prop_uint_same_as_reference(
            text in "[0-9]{0,22}",
            before in proptest::collection::vec(any::<u8>(), 0..24),
            after in proptest::collection::vec(any::<u8>(), 0..24),
        ) {
            same_uint(&before, text.as_bytes(), &after)?;
        }

        #[test]
        fn prop_level_same_as_exact_parser(
            price in "[-+]?[0-9]{0,17}(\\.[0-9]{0,17})?",
            qty in "[0-9]{0,17}(\\.[0-9]{0,17})?",
            open in prop_oneof![4 => Just("[\""), 1 => Just("[["), 1 => Just("{\"")],
            between in prop_oneof![4 => Just("\",\""), 1 => Just("\";\""), 1 => Just("\"\"")],
            close in prop_oneof![4 => Just("\"]"), 1 => Just("\"}")],
            before in proptest::collection::vec(any::<u8>(), 0..24),
            after in proptest::collection::vec(any::<u8>(), 0..48),
        ) {
            let level = format!("{open}{price}{between}{qty}{close}");
            let frame = [&before[..], level.as_bytes(), &after].concat();
            let mut c = Cursor::new(&frame);
            c.i = before.len();
            let want = Price::parse(price.as_bytes())
                .ok()
                .zip(Qty::parse(qty.as_bytes()).ok())
                .filter(|_| level.starts_with("[\"") && between == "\",\"" && close == "\"]");
            prop_assert_eq!(c.level(false), want, "{}", level);
            if want.is_some() {
                prop_assert_eq!(c.i, before.len() + level.len());
            }
        }

        #[test]
        fn prop_decimal_same_as_exact_parser(
            text in "[-+]?[0-9]{0,21}(\\.[0-9]{0,21})?",
            bytes in proptest::collection::vec(any::<u8>(), 0..24),
            before in proptest::collection::vec(any::<u8>(), 0..24),
            after in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            for t in [text.as_bytes(), &bytes] {
                if memchr::memchr(b'"', t).is_none() {
                    same::<Price>(&before, t, &after)?;
                    same::<Qty>(&before, t, &after)?;
                    same::<Rate>(&before, t, &after)?;
                }
            }
        }
    }
}
