//! Exact fixed-point decimals: [`Price`], [`Qty`] and [`Rate`], parsed straight from the
//! venues' decimal strings.
//!
//! Owns the representation and the one parser every decoder uses: a [`Price`] or a
//! [`Qty`] is an `i128` count of 10^-`DIGITS` units (12 decimals for prices, 8 for
//! quantities) bounded to ±10^24 raw units, a [`Rate`] an `i64` of 10^-16. No `f64` is
//! involved anywhere on the way in; a string that does not fit (too many significant
//! decimals, out of range, not a decimal at all) is an error that names the input, never
//! a silent rounding. Allocation-free, usable on any thread. `to_f64_lossy` exists for
//! telemetry only.
//!
//! Why `i128` (measured, see LATENCY.md "Numbers"): the listed instruments need both a
//! fine scale and a wide range at once. OKX `ELON-USDT` quotes 11-decimal prices with
//! sizes up to 6·10^12, while BTC lots are 10^-8 and fiat-quoted pairs price a coin in
//! the millions; no single 64-bit scale holds both ends (quantities alone need
//! 6·10^12 · 10^8 = 2^69 raw units). A per-instrument scale would keep 64 bits but make
//! every cross-venue comparison and notional convert scales; the wide integer keeps one
//! unit per type everywhere, and the common values still take 64-bit fast paths
//! (parsing, rendering, notional products).
//!
//! The bounds make every product exact: `price * qty` of any two in-range values fits
//! the notional arithmetic of [`Price::notional_raw`] without overflow, so no notional
//! can wrap silently; a value beyond the bounds is [`DecimalErrorKind::OutOfRange`].

use std::fmt;

/// Digits after the point of a [`Price`]. 12: OKX lists `ELON-USDT` with an
/// 11-decimal tick (0.00000000001) and BTC-quoted pairs trade below 10^-8 (OKX
/// `FUN-BTC` at 0.000000452, in `../shared/data/okx`); one more digit of headroom.
pub const PRICE_DIGITS: u32 = 12;
/// Digits after the point of a [`Qty`]: the smallest lot on the supported venues is
/// 10^-8 (OKX `BTC-USDT`).
pub const QTY_DIGITS: u32 = 8;
/// Digits after the point of a [`Rate`]: OKX prints funding rates with 16 decimals
/// (`0.0001534702159002`); range ±922 per unit, far above any funding rate.
pub const RATE_DIGITS: u32 = 16;
/// Notionals (`price * qty`) are counted in raw units of 10^-`NOTIONAL_DIGITS` quote.
pub const NOTIONAL_DIGITS: u32 = QTY_DIGITS;

/// Largest magnitude of a [`Price`] in raw units: 10^24, i.e. 10^12 quote per unit
/// (a coin priced in any fiat currency fits with room to spare).
pub const PRICE_RAW_MAX: i128 = 10i128.pow(24);
/// Largest magnitude of a [`Qty`] in raw units: 10^24, i.e. 10^16 units (meme coins
/// trade in sizes of 10^12 to 10^13).
pub const QTY_RAW_MAX: i128 = 10i128.pow(24);

/// Longest input kept inside a [`DecimalError`] to name it, in bytes.
pub const ERROR_INPUT_MAX: usize = 40;

/// What was wrong with a decimal string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalErrorKind {
    /// The string was empty (or only a sign).
    Empty,
    /// A byte that is not a digit, a leading sign or one decimal point.
    InvalidCharacter,
    /// Non-zero digits beyond the type's decimals: keeping them would round.
    TooPrecise,
    /// The value does not fit in the `i64` representation.
    OutOfRange,
}

/// A decimal string that could not be represented exactly. Copy and allocation-free, so
/// the hot path can count and log it; it carries up to [`ERROR_INPUT_MAX`] bytes of the
/// input so the message names what was received.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DecimalError {
    /// What was wrong.
    pub kind: DecimalErrorKind,
    digits: u8,
    input: [u8; ERROR_INPUT_MAX],
    input_len: u8,
    truncated: bool,
}

impl DecimalError {
    fn new(kind: DecimalErrorKind, digits: u32, input: &[u8]) -> Self {
        let len = input.len().min(ERROR_INPUT_MAX);
        let mut buf = [0u8; ERROR_INPUT_MAX];
        buf[..len].copy_from_slice(&input[..len]);
        Self {
            kind,
            digits: u8::try_from(digits).unwrap_or(u8::MAX),
            input: buf,
            input_len: u8::try_from(len).unwrap_or(u8::MAX),
            truncated: input.len() > ERROR_INPUT_MAX,
        }
    }

    /// The (possibly truncated) input that failed, lossily as text.
    pub fn input(&self) -> String {
        String::from_utf8_lossy(&self.input[..usize::from(self.input_len)]).into_owned()
    }
}

impl fmt::Debug for DecimalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DecimalError({:?}, {:?})", self.kind, self.input())
    }
}

impl fmt::Display for DecimalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dots = if self.truncated { "..." } else { "" };
        match self.kind {
            DecimalErrorKind::Empty => write!(f, "empty"),
            DecimalErrorKind::InvalidCharacter => write!(f, "not a decimal number"),
            DecimalErrorKind::TooPrecise => {
                write!(f, "more than {} significant decimals", self.digits)
            }
            DecimalErrorKind::OutOfRange => write!(f, "out of range"),
        }?;
        write!(f, ": \"{}{dots}\"", self.input())
    }
}

impl std::error::Error for DecimalError {}

/// Powers of ten up to 10^38, so scaling a parsed value is a table load (the parser
/// here and the decoders' fast path, `feed::scan`).
pub(crate) const POW10: [i128; 39] = {
    let mut table = [1i128; 39];
    let mut i = 1;
    while i < 39 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// Parses a decimal string into raw units of 10^-`digits` (at most 18), exactly, with
/// a magnitude of at most `max` raw units.
///
/// Accepts an optional leading `-` or `+`, digits, and at most one `.`; trailing zeros
/// beyond the scale are accepted (`"0.100000000000"`), other digits beyond it are
/// [`DecimalErrorKind::TooPrecise`]; a magnitude above `max` is
/// [`DecimalErrorKind::OutOfRange`]. Exponents are rejected: venues send plain decimals.
pub fn parse_raw(input: &[u8], digits: u32, max: i128) -> Result<i128, DecimalError> {
    let err = |kind| DecimalError::new(kind, digits, input);
    let (negative, body) = match input.first() {
        Some(b'-') => (true, &input[1..]),
        Some(b'+') => (false, &input[1..]),
        _ => (false, input),
    };
    if body.is_empty() || body == b"." {
        return Err(err(DecimalErrorKind::Empty));
    }
    let mut value: i128 = 0;
    let mut frac_digits: u32 = 0;
    let mut seen_point = false;
    for &byte in body {
        match byte {
            b'0'..=b'9' if seen_point && frac_digits >= digits => {
                if byte != b'0' {
                    return Err(err(DecimalErrorKind::TooPrecise));
                }
            }
            b'0'..=b'9' => {
                value = value * 10 + i128::from(byte - b'0');
                if value > max {
                    return Err(err(DecimalErrorKind::OutOfRange));
                }
                frac_digits += u32::from(seen_point);
            }
            b'.' if !seen_point => seen_point = true,
            _ => return Err(err(DecimalErrorKind::InvalidCharacter)),
        }
    }
    let scaled = value
        .checked_mul(POW10[(digits - frac_digits) as usize])
        .filter(|v| *v <= max)
        .ok_or_else(|| err(DecimalErrorKind::OutOfRange))?;
    Ok(if negative { -scaled } else { scaled })
}

/// Longest text [`write_decimal`] produces: sign, 39 digits, point, leading zeros.
pub const DECIMAL_TEXT_MAX: usize = 64;

/// Writes raw units of 10^-`digits` (at most 18) as a plain decimal with trailing zeros
/// trimmed (at least one integer digit, no exponent) into `out`; returns the length.
/// Allocation-free: the OKX checksum uses it on the hot path, where magnitudes below
/// 2^64 (every price under 1.8·10^7, every size under 1.8·10^11) take 64-bit divisions
/// only. NB: this is also how OKX prints its prices and sizes (no trailing zeros:
/// checked on every level of the OKX recordings in `../shared/data`).
pub fn write_decimal(raw: i128, digits: u32, out: &mut [u8; DECIMAL_TEXT_MAX]) -> usize {
    let mut len = 0;
    if raw < 0 {
        out[0] = b'-';
        len = 1;
    }
    let abs = raw.unsigned_abs();
    let scale = 10u64.pow(digits);
    let (int, mut frac) = match u64::try_from(abs) {
        Ok(small) => (u128::from(small / scale), small % scale),
        Err(_) => (
            abs / u128::from(scale),
            u64::try_from(abs % u128::from(scale)).unwrap_or(0),
        ),
    };
    len += write_digits(int, &mut out[len..]);
    if frac != 0 {
        out[len] = b'.';
        len += 1;
        let mut divisor = scale / 10;
        while frac != 0 {
            let digit = frac / divisor;
            out[len] = b'0' + u8::try_from(digit).unwrap_or(0);
            len += 1;
            frac %= divisor;
            divisor /= 10;
        }
    }
    len
}

fn write_digits(value: u128, out: &mut [u8]) -> usize {
    let mut tmp = [0u8; 40];
    let mut n = 0;
    match u64::try_from(value) {
        Ok(mut small) => loop {
            tmp[n] = b'0' + u8::try_from(small % 10).unwrap_or(0);
            n += 1;
            small /= 10;
            if small == 0 {
                break;
            }
        },
        Err(_) => {
            let mut wide = value;
            loop {
                tmp[n] = b'0' + u8::try_from(wide % 10).unwrap_or(0);
                n += 1;
                wide /= 10;
                if wide == 0 {
                    break;
                }
            }
        }
    }
    for (i, digit) in tmp[..n].iter().rev().enumerate() {
        out[i] = *digit;
    }
    n
}

fn fmt_raw(raw: i128, digits: u32, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut buf = [0u8; DECIMAL_TEXT_MAX];
    let len = write_decimal(raw, digits, &mut buf);
    f.write_str(std::str::from_utf8(&buf[..len]).map_err(|_| fmt::Error)?)
}

macro_rules! decimal_type {
    ($(#[$doc:meta])* $name:ident, $repr:ty, $digits:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(transparent)]
        pub struct $name($repr);

        impl $name {
            /// Zero.
            pub const ZERO: Self = Self(0);
            /// The largest representable value.
            pub const MAX: Self = Self($max);
            /// Digits after the point.
            pub const DIGITS: u32 = $digits;
            /// Raw units per one: 10^`DIGITS`.
            pub const SCALE: $repr = (10 as $repr).pow($digits);

            /// From raw units of 10^-`DIGITS`.
            pub const fn from_raw(raw: $repr) -> Self {
                Self(raw)
            }

            /// Raw units of 10^-`DIGITS`.
            pub const fn raw(self) -> $repr {
                self.0
            }

            /// Parses a venue decimal string exactly (see [`parse_raw`]).
            pub fn from_decimal_str(s: &str) -> Result<Self, DecimalError> {
                Self::from_decimal_bytes(s.as_bytes())
            }

            /// Parses decimal bytes exactly (see [`parse_raw`]).
            pub fn from_decimal_bytes(s: &[u8]) -> Result<Self, DecimalError> {
                let raw = parse_raw(s, $digits, i128::from($max))?;
                // In range: `parse_raw` bounded it by `MAX`, which `$repr` holds.
                Ok(Self(<$repr>::try_from(raw).unwrap_or($max)))
            }

            /// Nearest `f64`: for telemetry and reports only, never for decisions.
            pub fn to_f64_lossy(self) -> f64 {
                self.0 as f64 / Self::SCALE as f64
            }

            /// Whether the value is zero.
            pub const fn is_zero(self) -> bool {
                self.0 == 0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt_raw(i128::from(self.0), $digits, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(", stringify!($name))?;
                fmt_raw(i128::from(self.0), $digits, f)?;
                write!(f, ")")
            }
        }

        impl std::str::FromStr for $name {
            type Err = DecimalError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::from_decimal_str(s)
            }
        }
    };
}

decimal_type!(
    /// A price in quote currency, exact to 10^-12, at most ±10^12.
    Price,
    i128,
    PRICE_DIGITS,
    PRICE_RAW_MAX
);
decimal_type!(
    /// A quantity in base currency (or contracts), exact to 10^-8, at most ±10^16.
    Qty,
    i128,
    QTY_DIGITS,
    QTY_RAW_MAX
);
decimal_type!(
    /// A dimensionless rate (funding rate per interval), exact to 10^-16.
    Rate,
    i64,
    RATE_DIGITS,
    i64::MAX
);

impl Price {
    /// Notional value `price * qty` in quote currency, as raw units of
    /// 10^-[`NOTIONAL_DIGITS`], truncated toward zero below a hundred-millionth of a
    /// quote unit. Exact and free of overflow for every pair of in-range values (at most
    /// 10^24 · 10^24 / 10^12 = 10^36 raw units): when both fit 64 bits (every common
    /// price and size) the product is one 64-by-64 multiply and one division; otherwise
    /// [`mul_div`] splits the price at the scale when the full product would not fit,
    /// and for in-range values neither of its terms exceeds 10^36.
    #[inline]
    pub fn notional_raw(self, qty: Qty) -> i128 {
        let scale = Price::SCALE;
        match (i64::try_from(self.0), i64::try_from(qty.0)) {
            (Ok(price), Ok(qty)) => i128::from(price) * i128::from(qty) / scale,
            _ => mul_div(self.0, qty.0, scale),
        }
    }
}

/// `a * b / d` truncated toward zero, for derived values (VWAPs, offsets, shares) whose
/// operands are prices, quantities or notionals: exact whenever `a * b` fits `i128`,
/// and otherwise whenever `a / d * b` and `a % d * b` do (`a` split at `d`); saturated
/// to the `i128` range only beyond that, which in-range prices and quantities never
/// reach. `d` must not be zero (zero gives zero).
#[inline]
pub fn mul_div(a: i128, b: i128, d: i128) -> i128 {
    if d == 0 {
        return 0;
    }
    match a.checked_mul(b) {
        Some(product) => product / d,
        None => mul_div_wide(a, b, d),
    }
}

#[inline(never)]
fn mul_div_wide(a: i128, b: i128, d: i128) -> i128 {
    let (whole, part) = (a / d, a % d);
    whole
        .checked_mul(b)
        .zip(part.checked_mul(b))
        .and_then(|(w, p)| w.checked_add(p / d))
        .unwrap_or(if ((a < 0) != (b < 0)) != (d < 0) {
            i128::MIN
        } else {
            i128::MAX
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    const SCALE: i128 = Qty::SCALE;

    fn raw(s: &str) -> i128 {
        Qty::from_decimal_str(s).unwrap().raw()
    }

    fn kind(s: &str) -> DecimalErrorKind {
        Qty::from_decimal_str(s).unwrap_err().kind
    }

    #[test]
    fn test_parse_plain_values() {
        assert_eq!(raw("0"), 0);
        assert_eq!(raw("1"), SCALE);
        assert_eq!(raw("25.35190000"), 2_535_190_000);
        assert_eq!(raw("0.00000001"), 1);
        assert_eq!(raw(".5"), 50_000_000);
        assert_eq!(raw("5."), 500_000_000);
        assert_eq!(raw("-0.0024"), -240_000);
        assert_eq!(raw("+7"), 7 * SCALE);
        assert_eq!(raw("0.10000000000000"), 10_000_000);
    }

    #[test]
    fn test_parse_extremes() {
        assert_eq!(raw("10000000000000000"), QTY_RAW_MAX);
        assert_eq!(raw("-10000000000000000.00000000"), -QTY_RAW_MAX);
        assert_eq!(
            kind("10000000000000000.00000001"),
            DecimalErrorKind::OutOfRange
        );
        assert_eq!(kind("10000000000000001"), DecimalErrorKind::OutOfRange);
        assert_eq!(kind(&"9".repeat(60)), DecimalErrorKind::OutOfRange);
        let price = Price::from_decimal_str("1000000000000").unwrap();
        assert_eq!(price, Price::MAX);
        assert_eq!(
            Price::from_decimal_str("1000000000000.000000000001")
                .unwrap_err()
                .kind,
            DecimalErrorKind::OutOfRange
        );
        assert_eq!(
            Rate::from_decimal_str("922.3372036854775807")
                .unwrap()
                .raw(),
            i64::MAX
        );
        assert_eq!(
            Rate::from_decimal_str("922.3372036854775808")
                .unwrap_err()
                .kind,
            DecimalErrorKind::OutOfRange
        );
    }

    /// The instruments that did not fit the 64-bit scales: OKX `ELON-USDT` (11-decimal
    /// prices, sizes to 6·10^12), a coin priced in the billions, 10^-8 BTC lots.
    #[test]
    fn test_real_instrument_extremes() {
        let elon = Price::from_decimal_str("0.00000012345").unwrap();
        assert_eq!(elon.raw(), 123_450);
        let size = Qty::from_decimal_str("6000000000000").unwrap();
        assert_eq!(size.raw(), 600_000_000_000_000_000_000);
        // 6e12 ELON at 1.2345e-7 USDT: 740,700 USDT, exactly.
        assert_eq!(elon.notional_raw(size), 740_700 * 100_000_000);
        let idr = Price::from_decimal_str("1650000000.5").unwrap();
        let lot = Qty::from_decimal_str("0.00000001").unwrap();
        assert_eq!(idr.notional_raw(lot), 1_650_000_000);
        assert_eq!(elon.to_string(), "0.00000012345");
        assert_eq!(size.to_string(), "6000000000000");
        assert_eq!(idr.to_string(), "1650000000.5");
    }

    #[test]
    fn test_parse_malformed() {
        assert_eq!(kind(""), DecimalErrorKind::Empty);
        assert_eq!(kind("-"), DecimalErrorKind::Empty);
        assert_eq!(kind("."), DecimalErrorKind::Empty);
        assert_eq!(kind("1.2.3"), DecimalErrorKind::InvalidCharacter);
        assert_eq!(kind("1e5"), DecimalErrorKind::InvalidCharacter);
        assert_eq!(kind(" 1"), DecimalErrorKind::InvalidCharacter);
        assert_eq!(kind("NaN"), DecimalErrorKind::InvalidCharacter);
        assert_eq!(kind("--1"), DecimalErrorKind::InvalidCharacter);
        assert_eq!(kind("0.000000001"), DecimalErrorKind::TooPrecise);
    }

    #[test]
    fn test_error_names_input() {
        let e = Price::from_decimal_str("12.3x").unwrap_err();
        assert_eq!(e.to_string(), "not a decimal number: \"12.3x\"");
        let e = Qty::from_decimal_str("0.000000001").unwrap_err();
        assert_eq!(
            e.to_string(),
            "more than 8 significant decimals: \"0.000000001\""
        );
        let long = "1".repeat(60);
        let e = Qty::from_decimal_str(&long).unwrap_err();
        assert!(e.to_string().starts_with("out of range: \"1111"));
        assert!(e.to_string().ends_with("...\""));
    }

    #[test]
    fn test_display_round_trip() {
        for s in [
            "0",
            "1",
            "0.5",
            "60000.01",
            "-0.0024",
            "922337203.6854775807",
            "0.000000452",
            "0.00000000001",
            "1000000000000",
            "-999999999999.999999999999",
        ] {
            let p = Price::from_decimal_str(s).unwrap();
            assert_eq!(p.to_string(), s);
            assert_eq!(Price::from_decimal_str(&p.to_string()).unwrap(), p);
        }
    }

    #[test]
    fn test_write_decimal_extremes() {
        let mut buf = [0u8; DECIMAL_TEXT_MAX];
        for (raw, text) in [
            (i128::from(i64::MIN), "-92233720368.54775808"),
            (i128::from(i64::MAX), "92233720368.54775807"),
            (i128::MIN, "-1701411834604692317316873037158.84105728"),
            (i128::MAX, "1701411834604692317316873037158.84105727"),
            (1i128 << 64, "184467440737.09551616"),
            (1, "0.00000001"),
            (-10, "-0.0000001"),
            (0, "0"),
            (SCALE * 30_316, "30316"),
        ] {
            let len = write_decimal(raw, QTY_DIGITS, &mut buf);
            assert_eq!(std::str::from_utf8(&buf[..len]).unwrap(), text);
        }
    }

    #[test]
    fn test_notional_exact() {
        let p = Price::from_decimal_str("60000.5").unwrap();
        let q = Qty::from_decimal_str("0.001").unwrap();
        assert_eq!(p.notional_raw(q), 6_000_050_000);
        let fun = Price::from_decimal_str("0.000000452").unwrap();
        assert_eq!(
            fun.notional_raw(Qty::from_decimal_str("1000000").unwrap()),
            45_200_000
        );
    }

    /// The reference for [`Price::notional_raw`]: the exact product, truncated, in
    /// a width that cannot overflow (the magnitudes split into 64-bit halves).
    fn notional_reference(price: i128, qty: i128) -> i128 {
        let negative = (price < 0) != (qty < 0);
        let (p, q) = (price.unsigned_abs(), qty.unsigned_abs());
        let mask = u128::from(u64::MAX);
        let (p1, p0, q1, q0) = (p >> 64, p & mask, q >> 64, q & mask);
        // p * q = hi * 2^128 + lo, by schoolbook over 64-bit limbs.
        let low = p0 * q0;
        let mid1 = p1 * q0;
        let mid2 = p0 * q1;
        let (mid, mid_carry) = mid1.overflowing_add(mid2);
        let (lo, lo_carry) = low.overflowing_add(mid << 64);
        let hi = p1 * q1 + (mid >> 64) + (u128::from(mid_carry) << 64) + u128::from(lo_carry);
        // (hi * 2^128 + lo) / 10^12 by long division in 64-bit limbs.
        let d = Price::SCALE.unsigned_abs();
        let mut rem = 0u128;
        let mut quotient = 0u128;
        for limb in [hi >> 64, hi & mask, lo >> 64, lo & mask] {
            let cur = (rem << 64) | limb;
            quotient = (quotient << 64) | (cur / d);
            rem = cur % d;
        }
        let magnitude = i128::try_from(quotient).unwrap();
        if negative { -magnitude } else { magnitude }
    }

    #[test]
    fn test_notional_at_the_bounds() {
        for (price, qty) in [
            (PRICE_RAW_MAX, QTY_RAW_MAX),
            (-PRICE_RAW_MAX, QTY_RAW_MAX),
            (PRICE_RAW_MAX, -QTY_RAW_MAX),
            (PRICE_RAW_MAX - 1, QTY_RAW_MAX - 7),
            (i128::from(i64::MAX), i128::from(i64::MAX)),
            (i128::from(i64::MAX) + 1, 3),
        ] {
            let got = Price::from_raw(price).notional_raw(Qty::from_raw(qty));
            assert_eq!(got, notional_reference(price, qty), "{price} x {qty}");
        }
    }

    proptest::proptest! {
        #[test]
        fn prop_decimal_round_trip(
            raw_value in proptest::prop_oneof![
                proptest::num::i64::ANY.prop_map(i128::from),
                -PRICE_RAW_MAX..=PRICE_RAW_MAX,
            ],
        ) {
            let p = Price::from_raw(raw_value);
            let back = Price::from_decimal_str(&p.to_string()).unwrap_or(Price::ZERO);
            let in_range = raw_value.abs() <= PRICE_RAW_MAX;
            proptest::prop_assert_eq!(back == p, in_range);
        }

        #[test]
        fn prop_notional_exact_in_range(
            price in proptest::prop_oneof![
                -PRICE_RAW_MAX..=PRICE_RAW_MAX,
                proptest::num::i64::ANY.prop_map(i128::from),
                -1_000_000_000_000i128..1_000_000_000_000,
            ],
            qty in proptest::prop_oneof![
                -QTY_RAW_MAX..=QTY_RAW_MAX,
                proptest::num::i64::ANY.prop_map(i128::from),
                0i128..1_000_000_000,
            ],
        ) {
            let got = Price::from_raw(price).notional_raw(Qty::from_raw(qty));
            proptest::prop_assert_eq!(got, notional_reference(price, qty));
        }
    }
}
