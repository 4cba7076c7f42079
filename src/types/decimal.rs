//! Exact fixed-point decimals: [`Price`], [`Qty`] and [`Rate`], parsed straight from the
//! venues' decimal strings.
//!
//! Owns the representation (an `i64` count of 10^-`DIGITS` units, `DIGITS` per type: 10
//! for prices, 8 for quantities, 12 for rates) and the one parser every decoder uses. No `f64` is involved anywhere on the way in; a string that
//! does not fit (too many significant decimals, out of range, not a decimal at all) is an
//! error that names the input, never a silent rounding. Allocation-free, usable on any
//! thread. `to_f64_lossy` exists for telemetry only.

use std::fmt;

/// Digits after the point of a [`Price`]. 10, not 8: BTC-quoted pairs trade below
/// 10^-8 (OKX `FUN-BTC` at 0.000000452, in `../shared/data/okx`). Range left:
/// ±922,337,203 per unit, far above any crypto price.
pub const PRICE_DIGITS: u32 = 10;
/// Digits after the point of a [`Qty`]: the smallest lot on the supported venues is
/// 10^-8; range ±92,233,720,368 units.
pub const QTY_DIGITS: u32 = 8;
/// Digits after the point of a [`Rate`]: OKX prints funding rates with 16 decimals
/// (`0.0001534702159002`); range ±922 per unit, far above any funding rate.
pub const RATE_DIGITS: u32 = 16;
/// Notionals (`price * qty`) are counted in raw units of 10^-`NOTIONAL_DIGITS` quote.
pub const NOTIONAL_DIGITS: u32 = QTY_DIGITS;

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

/// Powers of ten up to 10^18, so scaling a parsed value is a table load.
const POW10: [i64; 19] = {
    let mut table = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

/// Parses a decimal string into raw units of 10^-`digits` (at most 18), exactly.
///
/// Accepts an optional leading `-` or `+`, digits, and at most one `.`; trailing zeros
/// beyond the scale are accepted (`"0.100000000000"`), other digits beyond it are
/// [`DecimalErrorKind::TooPrecise`]. Exponents are rejected: venues send plain decimals.
pub fn parse_raw(input: &[u8], digits: u32) -> Result<i64, DecimalError> {
    let err = |kind| DecimalError::new(kind, digits, input);
    let (negative, body) = match input.first() {
        Some(b'-') => (true, &input[1..]),
        Some(b'+') => (false, &input[1..]),
        _ => (false, input),
    };
    if body.is_empty() || body == b"." {
        return Err(err(DecimalErrorKind::Empty));
    }
    let mut value: i64 = 0;
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
                let digit = i64::from(byte - b'0');
                value = value
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(digit))
                    .ok_or_else(|| err(DecimalErrorKind::OutOfRange))?;
                frac_digits += u32::from(seen_point);
            }
            b'.' if !seen_point => seen_point = true,
            _ => return Err(err(DecimalErrorKind::InvalidCharacter)),
        }
    }
    let scaled = value
        .checked_mul(POW10[(digits - frac_digits) as usize])
        .ok_or_else(|| err(DecimalErrorKind::OutOfRange))?;
    Ok(if negative { -scaled } else { scaled })
}

/// Longest text [`write_decimal`] produces: sign, 19 digits, point, leading zeros.
pub const DECIMAL_TEXT_MAX: usize = 40;

/// Writes raw units of 10^-`digits` (at most 18) as a plain decimal with trailing zeros trimmed (at least one integer
/// digit, no exponent) into `out`; returns the length. Allocation-free: the OKX checksum
/// uses it on the hot path. NB: this is also how OKX prints its prices and sizes (no
/// trailing zeros: checked on every level of the OKX recordings in `../shared/data`).
pub fn write_decimal(raw: i64, digits: u32, out: &mut [u8; DECIMAL_TEXT_MAX]) -> usize {
    let mut len = 0;
    if raw < 0 {
        out[0] = b'-';
        len = 1;
    }
    let abs = raw.unsigned_abs();
    let scale = 10u64.pow(digits);
    len += write_digits(abs / scale, &mut out[len..]);
    let mut frac = abs % scale;
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

fn write_digits(mut value: u64, out: &mut [u8]) -> usize {
    let mut tmp = [0u8; 20];
    let mut n = 0;
    loop {
        tmp[n] = b'0' + u8::try_from(value % 10).unwrap_or(0);
        n += 1;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    for (i, digit) in tmp[..n].iter().rev().enumerate() {
        out[i] = *digit;
    }
    n
}

fn fmt_raw(raw: i64, digits: u32, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut buf = [0u8; DECIMAL_TEXT_MAX];
    let len = write_decimal(raw, digits, &mut buf);
    f.write_str(std::str::from_utf8(&buf[..len]).map_err(|_| fmt::Error)?)
}

macro_rules! decimal_type {
    ($(#[$doc:meta])* $name:ident, $digits:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(transparent)]
        pub struct $name(i64);

        impl $name {
            /// Zero.
            pub const ZERO: Self = Self(0);
            /// The largest representable value.
            pub const MAX: Self = Self(i64::MAX);
            /// Digits after the point.
            pub const DIGITS: u32 = $digits;
            /// Raw units per one: 10^`DIGITS`.
            pub const SCALE: i64 = 10i64.pow($digits);

            /// From raw units of 10^-`DIGITS`.
            pub const fn from_raw(raw: i64) -> Self {
                Self(raw)
            }

            /// Raw units of 10^-`DIGITS`.
            pub const fn raw(self) -> i64 {
                self.0
            }

            /// Parses a venue decimal string exactly (see [`parse_raw`]).
            pub fn from_decimal_str(s: &str) -> Result<Self, DecimalError> {
                parse_raw(s.as_bytes(), $digits).map(Self)
            }

            /// Parses decimal bytes exactly (see [`parse_raw`]).
            pub fn from_decimal_bytes(s: &[u8]) -> Result<Self, DecimalError> {
                parse_raw(s, $digits).map(Self)
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
                fmt_raw(self.0, $digits, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(", stringify!($name))?;
                fmt_raw(self.0, $digits, f)?;
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
    /// A price in quote currency, exact to 10^-10.
    Price,
    PRICE_DIGITS
);
decimal_type!(
    /// A quantity in base currency (or contracts), exact to 10^-8.
    Qty,
    QTY_DIGITS
);
decimal_type!(
    /// A dimensionless rate (funding rate per interval), exact to 10^-12.
    Rate,
    RATE_DIGITS
);

impl Price {
    /// Notional value `price * qty` in quote currency, as raw units of
    /// 10^-[`NOTIONAL_DIGITS`] in an `i128` (the product is exact; the division back to
    /// 10^-8 truncates below a hundred-millionth of a quote unit).
    pub fn notional_raw(self, qty: Qty) -> i128 {
        i128::from(self.0) * i128::from(qty.0) / i128::from(Price::SCALE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCALE: i64 = Qty::SCALE;

    fn raw(s: &str) -> i64 {
        parse_raw(s.as_bytes(), QTY_DIGITS).unwrap()
    }

    fn kind(s: &str) -> DecimalErrorKind {
        parse_raw(s.as_bytes(), QTY_DIGITS).unwrap_err().kind
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
        assert_eq!(raw("92233720368.54775807"), i64::MAX);
        assert_eq!(raw("-92233720368.54775807"), -i64::MAX);
        assert_eq!(kind("92233720368.54775808"), DecimalErrorKind::OutOfRange);
        assert_eq!(kind("92233720369"), DecimalErrorKind::OutOfRange);
        assert_eq!(
            kind("99999999999999999999999"),
            DecimalErrorKind::OutOfRange
        );
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
            (i64::MIN, "-92233720368.54775808"),
            (i64::MAX, "92233720368.54775807"),
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

    proptest::proptest! {
        #[test]
        fn prop_decimal_round_trip(raw_value in proptest::num::i64::ANY) {
            let p = Price::from_raw(raw_value.max(-i64::MAX));
            let back = Price::from_decimal_str(&p.to_string()).unwrap();
            proptest::prop_assert_eq!(back, p);
        }
    }
}
