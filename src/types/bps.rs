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
///
/// Prices and sums of prices keep `denom` within 64 bits and the quotient within the
/// `Bps` range, so the usual case is one 128-by-64-bit division of the magnitudes
/// ([`div_128_by_64`]) instead of a full 128-bit one; anything wider takes the full one.
#[inline]
pub fn ratio(numer: i128, denom: i128) -> Bps {
    if denom == 0 {
        return Bps::ZERO;
    }
    let negative = (numer < 0) != (denom < 0);
    let (n, d) = (numer.unsigned_abs(), denom.unsigned_abs());
    let Ok(d64) = u64::try_from(d) else {
        return ratio_wide(numer, denom);
    };
    if n >= 1u128 << 95 {
        return ratio_wide(numer, denom);
    }
    let shifted = n << 32;
    let quotient = if high_half(shifted) < d64 {
        u128::from(div_128_by_64(shifted, d64))
    } else {
        u128::MAX
    };
    let bits = if negative {
        i64::try_from(quotient).map_or(i64::MIN, |q| -q)
    } else {
        i64::try_from(quotient).unwrap_or(i64::MAX)
    };
    Bps::from_bits(bits)
}

/// [`ratio`] through a full 128-bit division (the reference its fast path must match).
fn ratio_wide(numer: i128, denom: i128) -> Bps {
    let bits = numer.saturating_mul(1i128 << 32).saturating_div(denom);
    Bps::from_bits(i64::try_from(bits).unwrap_or(if bits < 0 { i64::MIN } else { i64::MAX }))
}

/// The high 64 bits of `n`.
#[inline]
fn high_half(n: u128) -> u64 {
    u64::try_from(n >> 64).unwrap_or(u64::MAX)
}

/// `n / d` where the quotient fits 64 bits (`n >> 64 < d`, so `d` is not zero): one
/// hardware `div` on x86-64.
#[inline]
fn div_128_by_64(n: u128, d: u64) -> u64 {
    debug_assert!(high_half(n) < d);
    #[cfg(target_arch = "x86_64")]
    {
        let low = u64::try_from(n & u128::from(u64::MAX)).unwrap_or(0);
        let quotient: u64;
        // SAFETY: `div` divides rdx:rax by `d` and faults only when `d` is zero or the
        // quotient does not fit 64 bits; the caller guarantees rdx (n >> 64) < d, which
        // rules out both. It touches no memory and only the registers named here.
        unsafe {
            std::arch::asm!(
                "div {d}",
                d = in(reg) d,
                inout("rax") low => quotient,
                inout("rdx") high_half(n) => _,
                options(pure, nomem, nostack),
            );
        }
        quotient
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        u64::try_from(n / u128::from(d)).unwrap_or(u64::MAX)
    }
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

    proptest::proptest! {
        #[test]
        fn prop_ratio_matches_the_full_division(
            numer in proptest::prop_oneof![
                -(1i128 << 70)..(1i128 << 70),
                proptest::num::i128::ANY,
            ],
            denom in proptest::prop_oneof![
                -(1i128 << 64)..(1i128 << 64),
                -1_000_000i128..1_000_000,
                proptest::num::i128::ANY,
            ],
        ) {
            let expected = if denom == 0 { Bps::ZERO } else { ratio_wide(numer, denom) };
            proptest::prop_assert_eq!(ratio(numer, denom), expected);
        }
    }

    #[test]
    fn test_ratio_at_the_edges_of_the_fast_path() {
        let max_d = i128::from(u64::MAX);
        for (numer, denom) in [
            (1, max_d),
            (-1, max_d),
            (max_d, max_d + 1),
            ((1i128 << 95) - 1, 1),
            (-((1i128 << 95) - 1), 3),
            (1i128 << 95, 7),
            (i128::from(i64::MAX), 1 << 32),
            (-(1i128 << 31), 1),
            (1i128 << 31, 1),
            (-(1i128 << 31), -1),
            (i128::MIN, -1),
            (i128::MAX, -max_d),
        ] {
            assert_eq!(
                ratio(numer, denom),
                ratio_wide(numer, denom),
                "{numer} / {denom}"
            );
        }
    }

    #[test]
    fn test_ratio_saturates() {
        assert_eq!(ratio(i128::MAX / 2, 1), Bps::MAX);
        assert_eq!(ratio(-(i128::MAX / 2), 1), Bps::MIN);
        assert_eq!(ratio(3, 2), Bps::from_num(1.5));
    }
}
