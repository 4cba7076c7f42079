//! The basis tracker: perp-vs-spot edge of one coin, its rolling baseline, which leg
//! moved, and the projected costs.
//!
//! Pure arithmetic on exact prices, owned by the edge stage's thread; the baseline window
//! is allocated once at construction, nothing allocates per tick. Formulas (all in bps):
//! - mid = (perp_bid + perp_ask + spot_bid + spot_ask) / 4;
//! - short perp / long spot: (perp_bid - spot_ask) / mid; long perp / short spot:
//!   (spot_bid - perp_ask) / mid; `edge_bps` is the better one (ties: short perp);
//! - baseline: mean of the last N ticks of each price, current tick included;
//! - deviation of a price: (price - baseline) / mid; the movement of a leg is the absolute
//!   deviation of the price that leg trades at in the chosen direction;
//! - source: both movements under 0.1 bps → BOTH (ratio 1); otherwise
//!   ratio = perp / max(spot, 0.01): above 1.5 PERP, below 0.67 SPOT, else BOTH.

use crate::edge::opportunity::{CostModel, Direction, Quad, QuadBps, VolatilitySource};
use crate::types::Price;
use crate::types::bps::{Bps, bps_of, ratio};

/// Movements under this (both legs) mean nothing moved.
const STILL_BPS: Bps = Bps::lit("0.1");
/// Floor of the spot movement in the ratio's denominator.
const SPOT_MOVEMENT_FLOOR_BPS: Bps = Bps::lit("0.01");
/// Ratio above which the perp is the source.
const PERP_RATIO_MIN: Bps = Bps::lit("1.5");
/// Ratio below which the spot is the source.
const SPOT_RATIO_MAX: Bps = Bps::lit("0.67");

/// Configuration of the tracker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BasisParams {
    /// Ticks in the baseline window (default 20). At least 1.
    pub baseline_ticks: usize,
    /// Record everything at or above this edge (default 10 bps).
    pub tracker_threshold: Bps,
    /// An edge at or above this would be traded (default 20 bps).
    pub trade_threshold: Bps,
    /// Projected costs.
    pub costs: CostModel,
    /// Lifetime of an order intent, ms (default 2000).
    pub intent_expiry_ms: u64,
}

impl Default for BasisParams {
    fn default() -> Self {
        Self {
            baseline_ticks: 20,
            tracker_threshold: Bps::lit("10"),
            trade_threshold: Bps::lit("20"),
            costs: CostModel {
                ioc_both: Bps::lit("18.2"),
                ioc_perp_alo_spot: Bps::lit("14.0"),
                alo_both: Bps::lit("11.0"),
            },
            intent_expiry_ms: 2000,
        }
    }
}

/// The analysis of one tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BasisEval {
    /// Prices at the tick.
    pub prices: Quad,
    /// Mid reference (truncated to the price unit).
    pub mid_ref: Price,
    /// Baseline means (truncated to the price unit).
    pub baseline: Quad,
    /// Deviations from the baseline.
    pub deviation: QuadBps,
    /// Chosen direction.
    pub direction: Direction,
    /// Edge of the chosen direction.
    pub edge_bps: Bps,
    /// Movement of the perp leg.
    pub perp_movement_bps: Bps,
    /// Movement of the spot leg.
    pub spot_movement_bps: Bps,
    /// Which leg moved.
    pub source: VolatilitySource,
    /// perp / max(spot, 0.01), or 1 when nothing moved.
    pub ratio: Bps,
}

/// Rolling state of one perp/spot pair.
#[derive(Debug, Clone)]
pub struct BasisTracker {
    params: BasisParams,
    window: Vec<[i128; 4]>,
    next: usize,
    sums: [i128; 4],
}

impl BasisTracker {
    /// A tracker with an empty baseline window of `params.baseline_ticks`.
    pub fn new(params: BasisParams) -> Self {
        let ticks = params.baseline_ticks.max(1);
        Self {
            params: BasisParams {
                baseline_ticks: ticks,
                ..params
            },
            window: Vec::with_capacity(ticks),
            next: 0,
            sums: [0; 4],
        }
    }

    /// The configuration.
    pub fn params(&self) -> &BasisParams {
        &self.params
    }

    /// Takes new recording and trading thresholds (an operator's reload); the baseline
    /// window and its ticks are kept.
    pub fn set_thresholds(&mut self, tracker: Bps, trade: Bps) {
        self.params.tracker_threshold = tracker;
        self.params.trade_threshold = trade;
    }

    /// Adds the tick to the baseline, then analyses it. `None` until the baseline holds
    /// `baseline_ticks` ticks.
    pub fn on_tick(&mut self, q: Quad) -> Option<BasisEval> {
        let prices = self.add(q)?;
        Some(self.evaluate(q, prices))
    }

    /// As [`BasisTracker::on_tick`], but analyses only a tick whose edge reaches
    /// `min_edge`: the edge alone (one division) decides, and the rest of the analysis
    /// (ten more) is left out for the ticks below, which are most of them.
    pub fn on_tick_from(&mut self, q: Quad, min_edge: Bps) -> Option<BasisEval> {
        let prices = self.add(q)?;
        (!edge_below(prices, min_edge)).then(|| self.evaluate(q, prices))
    }

    /// Adds the tick to the baseline; its raw prices once the baseline is full.
    fn add(&mut self, q: Quad) -> Option<[i128; 4]> {
        let prices = [
            q.perp_bid.raw(),
            q.perp_ask.raw(),
            q.spot_bid.raw(),
            q.spot_ask.raw(),
        ];
        self.push(prices);
        (self.window.len() >= self.params.baseline_ticks).then_some(prices)
    }

    fn push(&mut self, prices: [i128; 4]) {
        if self.window.len() < self.params.baseline_ticks {
            self.window.push(prices);
        } else {
            let old = std::mem::replace(&mut self.window[self.next], prices);
            for (sum, old) in self.sums.iter_mut().zip(old) {
                *sum -= old;
            }
            self.next += 1;
            if self.next == self.params.baseline_ticks {
                self.next = 0;
            }
        }
        for (sum, new) in self.sums.iter_mut().zip(prices) {
            *sum += new;
        }
    }

    fn evaluate(&self, q: Quad, p: [i128; 4]) -> BasisEval {
        let sum4: i128 = p.iter().sum();
        let n = self.params.baseline_ticks as i128;
        let short_perp = bps_of(4 * (p[0] - p[3]), sum4);
        let long_perp = bps_of(4 * (p[2] - p[1]), sum4);
        let dev = |i: usize| bps_of(4 * (p[i] * n - self.sums[i]), n * sum4);
        let deviation = QuadBps {
            perp_bid: dev(0),
            perp_ask: dev(1),
            spot_bid: dev(2),
            spot_ask: dev(3),
        };
        let (direction, edge_bps, perp_mv, spot_mv) = if short_perp >= long_perp {
            let d = Direction::ShortPerpLongSpot;
            (
                d,
                short_perp,
                deviation.perp_bid.abs(),
                deviation.spot_ask.abs(),
            )
        } else {
            let d = Direction::LongPerpShortSpot;
            (
                d,
                long_perp,
                deviation.perp_ask.abs(),
                deviation.spot_bid.abs(),
            )
        };
        let (source, ratio) = classify(perp_mv, spot_mv);
        let mean = |i: usize| Price::from_raw(mean_of(self.sums[i], n));
        BasisEval {
            prices: q,
            mid_ref: Price::from_raw(sum4 / 4),
            baseline: Quad {
                perp_bid: mean(0),
                perp_ask: mean(1),
                spot_bid: mean(2),
                spot_ask: mean(3),
            },
            deviation,
            direction,
            edge_bps,
            perp_movement_bps: perp_mv,
            spot_movement_bps: spot_mv,
            source,
            ratio,
        }
    }
}

/// Whether the edge of the tick `p` is below `min_edge`. Both directions divide by the
/// same sum, so when it is positive the better direction is the one with the larger
/// numerator (a truncating division keeps their order) and one division tells; any
/// other sum is never skipped.
#[inline]
fn edge_below(p: [i128; 4], min_edge: Bps) -> bool {
    let sum4: i128 = p.iter().sum();
    if sum4 <= 0 {
        return false;
    }
    let short_perp = p[0] - p[3];
    let long_perp = p[2] - p[1];
    bps_of(4 * short_perp.max(long_perp), sum4) < min_edge
}

/// `sum / n` as a raw price (0 for no ticks); a 64-bit division when the sum fits (it
/// does for any price window under 9.2·10^6 per unit), the 128-bit one otherwise.
#[inline]
fn mean_of(sum: i128, n: i128) -> i128 {
    match (i64::try_from(sum), i64::try_from(n)) {
        (Ok(sum), Ok(n)) if n > 0 => i128::from(sum / n),
        _ if n > 0 => sum / n,
        _ => 0,
    }
}

/// Which leg moved, from the two movements (bps).
pub fn classify(perp_movement: Bps, spot_movement: Bps) -> (VolatilitySource, Bps) {
    if perp_movement < STILL_BPS && spot_movement < STILL_BPS {
        return (VolatilitySource::Both, Bps::ONE);
    }
    let denom = spot_movement.max(SPOT_MOVEMENT_FLOOR_BPS);
    let r = ratio(
        i128::from(perp_movement.to_bits()),
        i128::from(denom.to_bits()),
    );
    let source = if r > PERP_RATIO_MIN {
        VolatilitySource::Perp
    } else if r < SPOT_RATIO_MAX {
        VolatilitySource::Spot
    } else {
        VolatilitySource::Both
    };
    (source, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quad(pb: &str, pa: &str, sb: &str, sa: &str) -> Quad {
        let p = |s: &str| Price::from_decimal_str(s).unwrap();
        Quad {
            perp_bid: p(pb),
            perp_ask: p(pa),
            spot_bid: p(sb),
            spot_ask: p(sa),
        }
    }

    fn tracker(ticks: usize) -> BasisTracker {
        BasisTracker::new(BasisParams {
            baseline_ticks: ticks,
            ..BasisParams::default()
        })
    }

    fn close(got: Bps, want: f64) {
        let got = got.to_num::<f64>();
        assert!((got - want).abs() < 1e-6, "got {got}, want {want}");
    }

    #[test]
    fn test_edge_both_directions_hand_values() {
        let e = tracker(1)
            .on_tick(quad("100.20", "100.30", "99.90", "100.00"))
            .unwrap();
        assert_eq!(e.mid_ref, Price::from_decimal_str("100.10").unwrap());
        assert_eq!(e.direction, Direction::ShortPerpLongSpot);
        close(e.edge_bps, 0.20 / 100.10 * 1e4);
        let e = tracker(1)
            .on_tick(quad("99.70", "99.80", "100.00", "100.10"))
            .unwrap();
        assert_eq!(e.direction, Direction::LongPerpShortSpot);
        close(e.edge_bps, 0.20 / 99.90 * 1e4);
    }

    #[test]
    fn test_empty_baseline_gives_nothing_until_full() {
        let mut t = tracker(3);
        let q = quad("100", "100.1", "99.9", "100");
        assert!(t.on_tick(q).is_none());
        assert!(t.on_tick(q).is_none());
        assert!(t.on_tick(q).is_some());
    }

    #[test]
    fn test_zero_movement_is_both_with_ratio_one() {
        let e = tracker(1)
            .on_tick(quad("100", "100.1", "99.9", "100"))
            .unwrap();
        assert_eq!(e.deviation, QuadBps::default());
        assert_eq!((e.source, e.ratio), (VolatilitySource::Both, Bps::ONE));
    }

    #[test]
    fn test_perp_move_is_perp_source() {
        let mut t = tracker(2);
        t.on_tick(quad("100.00", "100.10", "99.99", "100.00"));
        let e = t
            .on_tick(quad("100.20", "100.30", "99.99", "100.00"))
            .unwrap();
        let mid = 400.49 / 4.0;
        close(e.edge_bps, 0.20 / mid * 1e4);
        assert_eq!(
            e.baseline.perp_bid,
            Price::from_decimal_str("100.10").unwrap()
        );
        close(e.deviation.perp_bid, 0.10 / mid * 1e4);
        close(e.perp_movement_bps, 0.10 / mid * 1e4);
        close(e.spot_movement_bps, 0.0);
        assert_eq!(e.source, VolatilitySource::Perp);
        close(e.ratio, 0.10 / mid * 1e4 / 0.01);
    }

    #[test]
    fn test_spot_move_is_spot_source() {
        let mut t = tracker(2);
        t.on_tick(quad("100.00", "100.10", "99.99", "100.00"));
        let e = t
            .on_tick(quad("100.00", "100.10", "99.79", "99.80"))
            .unwrap();
        let mid = 399.69 / 4.0;
        assert_eq!(e.direction, Direction::ShortPerpLongSpot);
        close(e.edge_bps, 0.20 / mid * 1e4);
        close(e.deviation.spot_ask, -0.10 / mid * 1e4);
        close(e.spot_movement_bps, 0.10 / mid * 1e4);
        assert_eq!(e.source, VolatilitySource::Spot);
        close(e.ratio, 0.0);
    }

    #[test]
    fn test_baseline_window_rolls() {
        let mut t = tracker(2);
        t.on_tick(quad("1", "2", "1", "2"));
        t.on_tick(quad("3", "4", "3", "4"));
        let e = t.on_tick(quad("5", "6", "5", "6")).unwrap();
        assert_eq!(e.baseline.perp_bid, Price::from_decimal_str("4").unwrap());
        assert_eq!(e.baseline.spot_ask, Price::from_decimal_str("5").unwrap());
    }

    proptest::proptest! {
        /// Leaving out the ticks below a minimum edge gives exactly the full analyses
        /// that reach it, and the baseline goes on the same.
        #[test]
        fn prop_ticks_from_a_minimum_edge_as_the_full_analysis(
            ticks in proptest::collection::vec(
                (-2_000i64..2_000, 0i64..500, -2_000i64..2_000, 0i64..500), 1..60),
            window in 1usize..6,
            min_edge_bits in -(8i64 << 32)..(8i64 << 32),
        ) {
            let min_edge = Bps::from_bits(min_edge_bits);
            let (mut full, mut from) = (tracker(window), tracker(window));
            for (perp, perp_spread, spot, spot_spread) in ticks {
                let base = 600_000_000_000_000i128;
                let (perp, perp_spread) = (i128::from(perp), i128::from(perp_spread));
                let (spot, spot_spread) = (i128::from(spot), i128::from(spot_spread));
                let q = Quad {
                    perp_bid: Price::from_raw(base + perp * 100_000_000),
                    perp_ask: Price::from_raw(base + (perp + perp_spread) * 100_000_000),
                    spot_bid: Price::from_raw(base + spot * 100_000_000),
                    spot_ask: Price::from_raw(base + (spot + spot_spread) * 100_000_000),
                };
                let want = full.on_tick(q).filter(|e| e.edge_bps >= min_edge);
                proptest::prop_assert_eq!(from.on_tick_from(q, min_edge), want);
            }
        }
    }

    #[test]
    fn test_classify_boundaries() {
        let b = |s: &str| s.parse::<Bps>().unwrap();
        assert_eq!(classify(b("0.09"), b("0.09")).0, VolatilitySource::Both);
        assert_eq!(classify(b("1.5"), b("1")).0, VolatilitySource::Both);
        assert_eq!(classify(b("1.6"), b("1")).0, VolatilitySource::Perp);
        assert_eq!(classify(b("0.66"), b("1")).0, VolatilitySource::Spot);
        assert_eq!(classify(b("0.67"), b("1")).0, VolatilitySource::Both);
        let (source, r) = classify(b("0.5"), b("0"));
        assert_eq!(source, VolatilitySource::Perp);
        close(r, 50.0);
    }
}
