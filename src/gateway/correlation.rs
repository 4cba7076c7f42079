//! Correlated exposure: a rolling correlation of the instruments' returns, and the cap on
//! same-direction exposure it weights (`risk.correlated_exposure_max`, refusal
//! `correlation`). Three coins that move together are one bet.
//!
//! Returns: one bar every `risk.correlation_bar_ms` on a clock shared by every
//! instrument, so their series stay aligned. At each bar's end every instrument pushes
//! its return over the bar, `(mid_end − mid_start) × 10^6 / mid_start` (integer parts
//! per million, truncated), zero without a move or a mid; a gap of several bars rolls
//! once. The last `risk.correlation_window` returns are kept in a fixed ring per
//! instrument.
//!
//! Correlation (exact integers except one square root): over the `n` common returns,
//! `ρ = (nΣxy − ΣxΣy) / isqrt((nΣx² − (Σx)²)(nΣy² − (Σy)²))` in basis points, truncated,
//! clamped to ±10,000; `isqrt` is the integer square root (floor). Returns are at most
//! ±10^6 × 10^6 ppm and the window at most [`CORRELATION_WINDOW_CAP`], so every sum and
//! product fits `i128`. Until `risk.correlation_min_bars` returns are known, or while a
//! series is flat, a pair counts as correlated (`ρ = 1`, one bet: the cautious reading).
//! The matrix is recomputed at each bar's end (`instruments² × window` multiply-adds
//! once per bar), so an entry check only reads it.
//!
//! The cap: for each direction (long, short) and each instrument `k` exposed in it, the
//! correlated exposure `C_k = Σ_j max(ρ_kj, 0) × e_j` over the instruments `j` exposed in
//! the same direction (`e_j`: filled plus working exposure) must stay within the cap
//! after the entry. Perfectly correlated instruments add up (`C = Σ e`); uncorrelated ones
//! are independent (`C_k = e_k`); a negative correlation is not a hedge (clamped to 0).
//!
//! Owned by the gateway thread; every buffer is sized in [`Correlation::new`], nothing
//! allocates afterwards.

use crate::gateway::config::BPS_ONE;
use crate::types::OrderSide;

/// Largest `risk.correlation_window` (returns per instrument).
pub const CORRELATION_WINDOW_CAP: usize = 1_024;

/// Returns are in parts per million.
const PPM: i128 = 1_000_000;

/// The rolling return series and their correlation matrix.
#[derive(Debug, Clone)]
pub struct Correlation {
    n: usize,
    bar_ns: u64,
    window: usize,
    min_bars: usize,
    bar: Option<u64>,
    last_mid: Vec<i128>,
    bar_open: Vec<i128>,
    returns: Vec<i64>,
    len: usize,
    head: usize,
    rho_bps: Vec<i64>,
    long: Vec<i128>,
    short: Vec<i128>,
}

impl Correlation {
    /// Series for `n` instruments, bars of `bar_ns`, `window` returns kept, `min_bars`
    /// needed before a correlation is trusted.
    pub fn new(n: usize, bar_ns: u64, window: usize, min_bars: usize) -> Self {
        let window = window.clamp(2, CORRELATION_WINDOW_CAP);
        Self {
            n,
            bar_ns: bar_ns.max(1),
            window,
            min_bars: min_bars.clamp(2, window),
            bar: None,
            last_mid: vec![0; n],
            bar_open: vec![0; n],
            returns: vec![0; n * window],
            len: 0,
            head: 0,
            rho_bps: vec![BPS_ONE; n * n],
            long: vec![0; n],
            short: vec![0; n],
        }
    }

    /// A mid of instrument `id` at `now_ns` (raw price units).
    pub fn on_mid(&mut self, id: usize, now_ns: u64, mid_raw: i128) {
        self.roll(now_ns);
        if let Some(slot) = self.last_mid.get_mut(id) {
            *slot = mid_raw;
            if self.bar_open[id] == 0 {
                self.bar_open[id] = mid_raw;
            }
        }
    }

    /// Ends the bar if `now_ns` is past it: pushes every instrument's return and
    /// recomputes the matrix.
    pub fn roll(&mut self, now_ns: u64) {
        let bar = now_ns / self.bar_ns;
        let Some(current) = self.bar else {
            self.bar = Some(bar);
            return;
        };
        if bar <= current {
            return;
        }
        self.bar = Some(bar);
        for i in 0..self.n {
            let (open, last) = (self.bar_open[i], self.last_mid[i]);
            let r = if open > 0 && last > 0 {
                (last - open) * PPM / open
            } else {
                0
            };
            self.returns[i * self.window + self.head] = i64::try_from(r).unwrap_or(0);
            self.bar_open[i] = last;
        }
        self.head = (self.head + 1) % self.window;
        self.len = (self.len + 1).min(self.window);
        self.recompute();
    }

    fn recompute(&mut self) {
        for i in 0..self.n {
            for j in i..self.n {
                let rho = self.pair_bps(i, j);
                self.rho_bps[i * self.n + j] = rho;
                self.rho_bps[j * self.n + i] = rho;
            }
        }
    }

    fn pair_bps(&self, i: usize, j: usize) -> i64 {
        let one = BPS_ONE;
        if i == j || self.len < self.min_bars {
            return one;
        }
        let (xs, ys) = (self.series(i), self.series(j));
        let n = self.len as i128;
        let (mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0i128, 0i128, 0i128, 0i128, 0i128);
        for (&x, &y) in xs.iter().zip(ys) {
            let (x, y) = (i128::from(x), i128::from(y));
            sx += x;
            sy += y;
            sxx += x * x;
            syy += y * y;
            sxy += x * y;
        }
        let vx = n * sxx - sx * sx;
        let vy = n * syy - sy * sy;
        if vx <= 0 || vy <= 0 {
            return one;
        }
        let den = vx.unsigned_abs().saturating_mul(vy.unsigned_abs()).isqrt();
        let den = i128::try_from(den).unwrap_or(i128::MAX).max(1);
        let rho = (n * sxy - sx * sy) * i128::from(BPS_ONE) / den;
        i64::try_from(rho.clamp(-i128::from(BPS_ONE), i128::from(BPS_ONE))).unwrap_or(one)
    }

    /// Instrument `i`'s returns held so far (ring order does not matter for the sums:
    /// both series of a pair use the same slots).
    fn series(&self, i: usize) -> &[i64] {
        let start = i * self.window;
        let end = if self.len == self.window {
            start + self.window
        } else {
            start + self.len
        };
        &self.returns[start..end]
    }

    /// ρ of instruments `i` and `j`, bps.
    pub fn rho_bps(&self, i: usize, j: usize) -> i64 {
        self.rho_bps.get(i * self.n + j).copied().unwrap_or(BPS_ONE)
    }

    /// Whether adding `added` (instrument, side, exposure) to the `existing` filled and
    /// working exposure keeps every instrument's correlated exposure, in each direction,
    /// within `cap_raw`.
    pub fn within_cap(
        &mut self,
        existing: impl Iterator<Item = (usize, OrderSide, i128)>,
        added: &[(usize, OrderSide, i128)],
        cap_raw: i128,
    ) -> bool {
        self.long.iter_mut().for_each(|v| *v = 0);
        self.short.iter_mut().for_each(|v| *v = 0);
        for (id, side, v) in existing.chain(added.iter().copied()) {
            let book = match side {
                OrderSide::Buy => &mut self.long,
                OrderSide::Sell => &mut self.short,
            };
            if let Some(slot) = book.get_mut(id) {
                *slot += v;
            }
        }
        let limit = cap_raw * i128::from(BPS_ONE);
        [&self.long, &self.short].into_iter().all(|e| {
            (0..self.n).filter(|&k| e[k] > 0).all(|k| {
                let weighted: i128 = (0..self.n)
                    .filter(|&j| e[j] > 0)
                    .map(|j| i128::from(self.rho_bps[k * self.n + j].max(0)) * e[j])
                    .sum();
                weighted <= limit
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::config::usd;

    const BAR: u64 = 1_000;

    /// Feeds mids (raw units) per bar: `paths[i][b]` is instrument `i`'s mid in bar `b`.
    fn fed(paths: &[&[i128]]) -> Correlation {
        let bars = paths[0].len();
        let mut c = Correlation::new(paths.len(), BAR, 64, 4);
        for b in 0..bars {
            for (i, path) in paths.iter().enumerate() {
                c.on_mid(i, b as u64 * BAR, path[b]);
            }
        }
        c.roll(bars as u64 * BAR);
        c
    }

    // Mids (raw) whose returns are exact in ppm: A +1%, -0.99%, +1%, -0.99%; B twice A
    // (the same returns); D the mirror (-1%, +0.99%, ...); E +1%, +1%, -1%, -1%, so
    // that Σ(A·E) = 0 with ΣE = 0: uncorrelated.
    const A: &[i128] = &[
        1_000_000_000_000,
        1_010_000_000_000,
        1_000_001_000_000,
        1_010_001_010_000,
        1_000_002_000_001,
    ];
    const B: &[i128] = &[
        2_000_000_000_000,
        2_020_000_000_000,
        2_000_002_000_000,
        2_020_002_020_000,
        2_000_004_000_002,
    ];
    const D: &[i128] = &[
        1_000_000_000_000,
        990_000_000_000,
        999_801_000_000,
        989_802_990_000,
        999_602_039_601,
    ];
    const E: &[i128] = &[
        1_000_000_000_000,
        1_010_000_000_000,
        1_020_100_000_000,
        1_009_899_000_000,
        999_800_010_000,
    ];

    #[test]
    fn test_correlation_of_hand_made_series() {
        let c = fed(&[A, B, D, E]);
        assert_eq!(c.rho_bps(0, 1), 10_000, "same moves: perfectly correlated");
        assert_eq!(
            c.rho_bps(0, 2),
            -10_000,
            "mirror: perfectly anti-correlated"
        );
        assert_eq!(c.rho_bps(0, 3), 0, "orthogonal returns: uncorrelated");
        assert_eq!(c.rho_bps(3, 3), 10_000);
    }

    #[test]
    fn test_correlated_coins_are_one_bet_uncorrelated_are_independent() {
        let mut c = fed(&[A, B, E]);
        let cap = usd(10_000);
        let long = |id, v: i64| (id, OrderSide::Buy, usd(v));
        // 6,000 long A and 6,000 long B are one bet of 12,000: over the cap.
        assert!(!c.within_cap([long(0, 6_000)].into_iter(), &[long(1, 6_000)], cap));
        // 6,000 long A and 6,000 long E are two bets of 6,000 each.
        assert!(c.within_cap([long(0, 6_000)].into_iter(), &[long(2, 6_000)], cap));
        // Opposite directions never add: long A, short B.
        let short_b = (1, OrderSide::Sell, usd(6_000));
        assert!(c.within_cap([long(0, 6_000)].into_iter(), &[short_b], cap));
        // Too few bars: every pair counts as one bet.
        let mut young = Correlation::new(3, BAR, 64, 4);
        assert!(!young.within_cap([long(0, 6_000)].into_iter(), &[long(2, 6_000)], cap));
    }
}
