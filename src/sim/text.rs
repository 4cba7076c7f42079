//! Decimal text shared by the simulator's venue formats: the simulator's fixed-point
//! unit (10^-8) and the two ways venues print it (fixed decimals, or trimmed).
//!
//! Pure functions appending to a caller's `String`, used by every `*_format` module on the
//! model thread and by connection threads. Allocates only by growing that string (cold
//! path). Writing to a `String` cannot fail, so the `fmt::Result`s are discarded.

use crate::types::Price;
use std::fmt::Write;

/// Digits of the simulator's own fixed-point unit for everything it prints: 10^-8, the
/// finest decimal any simulated venue prints.
pub(crate) const SCALE_DIGITS: u32 = 8;
/// Raw simulator units per one.
pub(crate) const SCALE: i64 = 100_000_000;

/// A price in simulator units (10^-8); digits below that are truncated (the
/// configuration is checked to be on that grid).
pub(crate) fn sim_units(price: Price) -> i64 {
    i64::try_from(price.raw() / (Price::SCALE / i128::from(SCALE))).unwrap_or(i64::MAX)
}

/// Decimals a market prints its prices and quantities with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Decimals {
    /// Digits after the point for prices.
    pub(crate) price: u32,
    /// Digits after the point for quantities.
    pub(crate) qty: u32,
}

/// Digits after the point needed to print `raw` (units of 10^-8) exactly.
pub(crate) fn decimals_of(raw: i64) -> u32 {
    let mut digits = SCALE_DIGITS;
    let mut rest = raw;
    while digits > 0 && rest % 10 == 0 {
        rest /= 10;
        digits -= 1;
    }
    digits
}

/// Appends `raw` (units of 10^-8) as a quoted decimal with exactly `decimals` digits
/// after the point (at most 8), the way Binance and Bybit print: `"60000.10"`. Digits
/// beyond `decimals` are truncated: callers pass values on the market's grid, where that
/// is exact.
pub(crate) fn push_decimal(out: &mut String, raw: i64, decimals: u32) {
    let decimals = decimals.min(SCALE_DIGITS);
    let sign = if raw < 0 { "-" } else { "" };
    let abs = raw.unsigned_abs();
    let int = abs / SCALE.unsigned_abs();
    if decimals == 0 {
        let _ = write!(out, "\"{sign}{int}\"");
        return;
    }
    let frac = (abs % SCALE.unsigned_abs()) / 10u64.pow(SCALE_DIGITS - decimals);
    let width = usize::try_from(decimals).unwrap_or(8);
    let _ = write!(out, "\"{sign}{int}.{frac:0width$}\"");
}

/// Appends `raw` (units of 10^-8) unquoted with trailing zeros trimmed but at least
/// `decimals_min` digits after the point: OKX prints with 0 (`60000.1`, `60000`),
/// Hyperliquid with 1 (`60000.0`).
pub(crate) fn write_trimmed(out: &mut String, raw: i64, decimals_min: u32) {
    let sign = if raw < 0 { "-" } else { "" };
    let abs = raw.unsigned_abs();
    let int = abs / SCALE.unsigned_abs();
    let mut frac = abs % SCALE.unsigned_abs();
    let mut digits = SCALE_DIGITS;
    while digits > decimals_min.min(SCALE_DIGITS) && frac.is_multiple_of(10) {
        frac /= 10;
        digits -= 1;
    }
    let _ = write!(out, "{sign}{int}");
    if digits > 0 {
        let width = usize::try_from(digits).unwrap_or(8);
        let _ = write!(out, ".{frac:0width$}");
    }
}

/// [`write_trimmed`], quoted.
pub(crate) fn push_trimmed(out: &mut String, raw: i64, decimals_min: u32) {
    out.push('"');
    write_trimmed(out, raw, decimals_min);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_decimal_prints_like_binance() {
        let cases = [
            (6_000_001_000_000, 8, "\"60000.01000000\""),
            (6_000_010_000_000, 2, "\"60000.10\""),
            (123_400_000, 3, "\"1.234\""),
            (0, 8, "\"0.00000000\""),
            (-38_167, 8, "\"-0.00038167\""),
            (500_000_000, 0, "\"5\""),
        ];
        for (raw, decimals, want) in cases {
            let mut s = String::new();
            push_decimal(&mut s, raw, decimals);
            assert_eq!(s, want);
        }
    }

    #[test]
    fn test_trimmed_prints_like_okx_and_hyperliquid() {
        let cases = [
            (6_000_010_000_000, 0, "\"60000.1\""),
            (6_000_000_000_000, 0, "\"60000\""),
            (6_000_000_000_000, 1, "\"60000.0\""),
            (14_368_878, 0, "\"0.14368878\""),
            (-1_250, 1, "\"-0.0000125\""),
            (0, 0, "\"0\""),
        ];
        for (raw, min, want) in cases {
            let mut s = String::new();
            push_trimmed(&mut s, raw, min);
            assert_eq!(s, want);
        }
        assert_eq!((decimals_of(1_000_000), decimals_of(100_000_000)), (2, 0));
    }
}
