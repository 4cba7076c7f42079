//! Basis points and other derived ratios, as binary fixed point (`fixed::I32F32`).
//!
//! Prices are exact decimals ([`crate::types::Price`]); a ratio of two prices is not, so
//! edges, deviations and costs are computed as `I32F32` (2^-32 resolution, ±2^31 range):
//! deterministic integer arithmetic with no `f64` on the hot path. Allocation-free.

use fixed::types::I32F32;

/// A value in basis points (or any other small dimensionless ratio).
pub type Bps = I32F32;

/// `numer / denom * 10_000` in basis points, from raw integers of the same unit,
/// truncated toward zero and saturated to the `Bps` range. `denom` must be non-zero;
/// zero gives zero (a missing reference price makes no edge).
#[inline]
pub fn bps_of(numer: i128, denom: i128) -> Bps {
    ratio(numer * 10_000, denom)
}

/// `numer / denom` as `Bps`, truncated toward zero, saturated; zero for a zero `denom`.
#[inline]
pub fn ratio(numer: i128, denom: i128) -> Bps {
    if denom == 0 {
        return Bps::ZERO;
    }
    let bits = numer.saturating_mul(1i128 << 32) / denom;
    Bps::from_bits(i64::try_from(bits).unwrap_or(if bits < 0 { i64::MIN } else { i64::MAX }))
}

/// Parses a configuration number (cold path) into `Bps`, `None` when out of range or not
/// finite.
pub fn bps_from_config(value: f64) -> Option<Bps> {
    Bps::checked_from_num(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_bps_of_hand_values() {
        assert_eq!(bps_of(1, 10_000), Bps::ONE);
        assert_eq!(bps_of(25, 10_000), Bps::from_num(25));
        assert_eq!(bps_of(-3, 2), Bps::from_num(-15_000));
        assert_eq!(bps_of(5, 0), Bps::ZERO);
    }

    #[test]
    fn test_ratio_saturates() {
        assert_eq!(ratio(i128::MAX / 2, 1), Bps::MAX);
        assert_eq!(ratio(-(i128::MAX / 2), 1), Bps::MIN);
        assert_eq!(ratio(3, 2), Bps::from_num(1.5));
    }
}
