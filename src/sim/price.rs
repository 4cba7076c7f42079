//! The simulator's price model: the fair price random walk, the perp's normal basis and
//! the injected dislocations.
//!
//! Owned by the model thread (or by a test stepping the model by hand). Allocates only to
//! record a dislocation (one [`Dislocation`] per injection, at most
//! [`DISLOCATIONS_RECORDED_MAX`]). Every draw comes from the caller's [`SimRng`] in a
//! fixed order, so the mids are a pure function of the seed and the step index.
//!
//! The model, per step (constants are per step, calibrated for the default 1 ms step):
//! - the fair (spot) price moves on [`FAIR_MOVE_CHANCE`] of the steps by a bounded
//!   normal-ish return of [`FAIR_MOVE_BPS`] standard deviation (≈ 2.5 bps per second);
//! - the perp premium over spot is `basis = slow + noise`, both redrawn on 5% of the
//!   steps: `slow` mean-reverts to [`BASIS_MEAN_BPS`] inside [`BASIS_SLOW_RANGE_BPS`],
//!   `noise` is bounded by [`BASIS_NOISE_MAX_BPS`], so without a dislocation the premium
//!   stays in [0.6, 3.4] bps and both edges stay far below 8 bps;
//! - a dislocation sets the premium to its signed `peak_bps` at its first step (the jump
//!   is `peak - basis`, applied to the chosen leg), then that excess decays exponentially
//!   with the configured half-life; it ends at the first step where the excess is below
//!   [`DISLOCATION_END_BPS`]. The next one starts [`DISLOCATION_GAP_MIN`] plus an
//!   exponential gap later (mean gap from end to start = `dislocation_mean_interval`).

use super::rng::SimRng;
use super::{Dislocation, SimConfig, SimLeg};
use std::time::Duration;

/// Chance per step that the fair price moves.
pub(crate) const FAIR_MOVE_CHANCE: f64 = 0.1;
/// Standard deviation of one fair price move, bps (a few 0.1 bps, as on a liquid venue).
pub(crate) const FAIR_MOVE_BPS: f64 = 0.25;
/// Long-run mean of the perp premium over spot, bps.
pub(crate) const BASIS_MEAN_BPS: f64 = 2.0;
/// Bounds of the slowly wandering part of the premium, bps.
pub(crate) const BASIS_SLOW_RANGE_BPS: (f64, f64) = (1.0, 3.0);
/// Chance per step that the premium moves (slow part and noise redrawn); otherwise the
/// perp follows spot exactly, as a quote does between two updates.
const BASIS_MOVE_CHANCE: f64 = 0.05;
/// Fraction of the distance to the mean recovered per premium move (mean reversion).
const BASIS_PULL_PER_MOVE: f64 = 0.02;
/// Standard deviation of the slow part's move, bps (stationary spread ≈ 0.45 bps).
const BASIS_WANDER_BPS: f64 = 0.09;
/// Standard deviation of the premium noise, bps.
const BASIS_NOISE_BPS: f64 = 0.1;
/// Bound of the premium noise, bps.
pub(crate) const BASIS_NOISE_MAX_BPS: f64 = 0.4;
/// A dislocation ends when its excess over the normal basis falls below this, bps.
pub(crate) const DISLOCATION_END_BPS: f64 = 1.0;
/// Minimum sim time from the end of one dislocation to the start of the next.
pub(crate) const DISLOCATION_GAP_MIN: Duration = Duration::from_millis(600);
/// Most dislocations recorded (and so injected) in one run: ~48 MB, about 25 days at the
/// default rate. Keeps the record list bounded; injection stops (logged) at the cap.
pub(crate) const DISLOCATIONS_RECORDED_MAX: usize = 1_000_000;

/// The mid prices of one step, in quote units (lossy `f64`: the books round them to
/// ticks, exactly).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mids {
    /// Spot mid.
    pub(crate) spot: f64,
    /// Perp mid.
    pub(crate) perp: f64,
    /// Index price (the undisturbed fair spot price).
    pub(crate) index: f64,
    /// The normal premium (without dislocation) this step, bps: drives funding.
    pub(crate) basis_bps: f64,
}

/// The dislocation in progress.
#[derive(Clone, Copy, Debug)]
struct Active {
    leg: SimLeg,
    excess_bps: f64,
}

/// Step-independent parameters derived from [`SimConfig`].
#[derive(Clone, Copy, Debug)]
struct DislocationParams {
    bps_min: f64,
    bps_max: f64,
    decay_per_step: f64,
    gap_min_steps: u64,
    gap_extra_mean_steps: f64,
}

impl DislocationParams {
    fn new(config: &SimConfig) -> Self {
        let step_s = config.step.as_secs_f64();
        let half_life_steps = config.dislocation_half_life.as_secs_f64() / step_s;
        let extra = config
            .dislocation_mean_interval
            .saturating_sub(DISLOCATION_GAP_MIN);
        Self {
            bps_min: f64::from(config.dislocation_bps_min),
            bps_max: f64::from(config.dislocation_bps_max),
            decay_per_step: 0.5f64.powf(1.0 / half_life_steps),
            gap_min_steps: f64_to_u64((DISLOCATION_GAP_MIN.as_secs_f64() / step_s).ceil()),
            gap_extra_mean_steps: extra.as_secs_f64() / step_s,
        }
    }
}

/// The fair price, the basis and the dislocation schedule.
#[derive(Clone, Debug)]
pub(crate) struct PriceModel {
    fair: f64,
    basis_slow_bps: f64,
    basis_noise_bps: f64,
    params: DislocationParams,
    active: Option<Active>,
    next_start_step: u64,
    dislocations: Vec<Dislocation>,
}

impl PriceModel {
    /// A model at `config.start_price`, its first dislocation scheduled from step 0.
    pub(crate) fn new(config: &SimConfig, rng: &mut SimRng) -> Self {
        let params = DislocationParams::new(config);
        let mut model = Self {
            fair: config.start_price.to_f64_lossy(),
            basis_slow_bps: BASIS_MEAN_BPS,
            basis_noise_bps: 0.0,
            params,
            active: None,
            next_start_step: 0,
            dislocations: Vec::new(),
        };
        model.next_start_step = model.gap_steps(rng);
        model
    }

    /// Advances to step `step` (venue time `venue_ms`); returns the mids and whether the
    /// dislocation list changed (one started or ended).
    pub(crate) fn step(&mut self, rng: &mut SimRng, step: u64, venue_ms: u64) -> (Mids, bool) {
        if rng.chance(FAIR_MOVE_CHANCE) {
            self.fair *= 1.0 + FAIR_MOVE_BPS * 1e-4 * rng.normalish();
        }
        let basis_bps = self.next_basis(rng);
        let changed = match self.active {
            Some(_) => self.decay(rng, step, venue_ms),
            None if step >= self.next_start_step => self.inject(rng, basis_bps, venue_ms),
            None => false,
        };
        (self.mids(basis_bps), changed)
    }

    /// Every dislocation recorded so far, in order.
    pub(crate) fn dislocations(&self) -> &[Dislocation] {
        &self.dislocations
    }

    /// Closes a dislocation still in progress at `venue_ms` (the sim is stopping).
    pub(crate) fn finish(&mut self, venue_ms: u64) {
        if self.active.take().is_some()
            && let Some(last) = self.dislocations.last_mut()
        {
            last.end_ms = venue_ms;
        }
    }

    fn next_basis(&mut self, rng: &mut SimRng) -> f64 {
        if rng.chance(BASIS_MOVE_CHANCE) {
            let (lo, hi) = BASIS_SLOW_RANGE_BPS;
            let pull = BASIS_PULL_PER_MOVE * (BASIS_MEAN_BPS - self.basis_slow_bps);
            let slow = self.basis_slow_bps + pull + BASIS_WANDER_BPS * rng.normalish();
            self.basis_slow_bps = slow.clamp(lo, hi);
            self.basis_noise_bps = (BASIS_NOISE_BPS * rng.normalish())
                .clamp(-BASIS_NOISE_MAX_BPS, BASIS_NOISE_MAX_BPS);
        }
        self.basis_slow_bps + self.basis_noise_bps
    }

    fn inject(&mut self, rng: &mut SimRng, basis_bps: f64, venue_ms: u64) -> bool {
        if self.dislocations.len() >= DISLOCATIONS_RECORDED_MAX {
            if self.next_start_step != u64::MAX {
                log::warn!("sim: {DISLOCATIONS_RECORDED_MAX} dislocations recorded; no more");
            }
            self.next_start_step = u64::MAX;
            return false;
        }
        let p = self.params;
        let magnitude = p.bps_min + (p.bps_max - p.bps_min) * rng.unit();
        let peak_bps = if rng.chance(0.5) {
            magnitude
        } else {
            -magnitude
        };
        let leg = if rng.chance(0.5) {
            SimLeg::Perp
        } else {
            SimLeg::Spot
        };
        self.active = Some(Active {
            leg,
            excess_bps: peak_bps - basis_bps,
        });
        self.dislocations.push(Dislocation {
            start_ms: venue_ms,
            end_ms: venue_ms,
            peak_bps,
            leg,
        });
        true
    }

    fn decay(&mut self, rng: &mut SimRng, step: u64, venue_ms: u64) -> bool {
        let Some(active) = self.active.as_mut() else {
            return false;
        };
        active.excess_bps *= self.params.decay_per_step;
        if active.excess_bps.abs() >= DISLOCATION_END_BPS {
            return false;
        }
        self.finish(venue_ms);
        self.next_start_step = step.saturating_add(self.gap_steps(rng));
        true
    }

    fn gap_steps(&self, rng: &mut SimRng) -> u64 {
        let extra = rng.exponential(self.params.gap_extra_mean_steps);
        self.params
            .gap_min_steps
            .saturating_add(f64_to_u64(extra.round()))
    }

    fn mids(&self, basis_bps: f64) -> Mids {
        let normal_perp = self.fair * (1.0 + basis_bps * 1e-4);
        let (spot, perp) = match self.active {
            None => (self.fair, normal_perp),
            Some(Active { leg, excess_bps }) => {
                let premium = 1.0 + (basis_bps + excess_bps) * 1e-4;
                match leg {
                    SimLeg::Perp => (self.fair, self.fair * premium),
                    SimLeg::Spot => (normal_perp / premium, normal_perp),
                }
            }
        };
        Mids {
            spot,
            perp,
            index: self.fair,
            basis_bps,
        }
    }
}

/// Nearest `u64`, saturating: Rust's float-to-integer `as` saturates at the bounds and
/// maps NaN to 0, which is exactly what a step count wants.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(crate) fn f64_to_u64(x: f64) -> u64 {
    x as u64
}

/// Nearest `i64` (rounded half away from zero), saturating like [`f64_to_u64`].
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn f64_to_i64(x: f64) -> i64 {
    x.round() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(interval: Duration) -> SimConfig {
        SimConfig {
            dislocation_mean_interval: interval,
            ..SimConfig::default()
        }
    }

    #[test]
    fn test_price_model_dislocation_gaps_respect_minimum() {
        let mut rng = SimRng::new(3);
        let mut model = PriceModel::new(&config(Duration::from_millis(1_500)), &mut rng);
        for k in 0..60_000 {
            model.step(&mut rng, k, k);
        }
        let d = model.dislocations();
        assert!(d.len() > 10, "only {} dislocations in 60 s", d.len());
        assert!(d[0].start_ms >= 600);
        for pair in d.windows(2) {
            assert!(pair[1].start_ms >= pair[0].end_ms + 600);
            assert!(pair[0].end_ms > pair[0].start_ms);
        }
    }

    #[test]
    fn test_price_model_huge_interval_never_dislocates() {
        let mut rng = SimRng::new(3);
        let huge = Duration::from_secs(1_000_000_000);
        let mut model = PriceModel::new(&config(huge), &mut rng);
        for k in 0..10_000 {
            let (mids, changed) = model.step(&mut rng, k, k);
            assert!(!changed);
            let premium = (mids.perp / mids.spot - 1.0) * 1e4;
            assert!((0.5..3.5).contains(&premium), "premium {premium}");
        }
    }

    #[test]
    fn test_price_model_finish_closes_active() {
        let mut rng = SimRng::new(1);
        let mut model = PriceModel::new(&config(Duration::ZERO), &mut rng);
        let mut k = 0;
        while model.dislocations().is_empty() {
            model.step(&mut rng, k, k);
            k += 1;
        }
        model.finish(k + 5);
        assert_eq!(model.dislocations()[0].end_ms, k + 5);
        assert!(model.active.is_none());
    }
}
