//! The simulator's price model: the fair price random walk common to every venue
//! ([`FairPrice`]) and, per venue ([`PriceModel`]), a small offset from it, the perp's
//! normal basis and the injected dislocations.
//!
//! Owned by the model thread (or by a test stepping the model by hand). Never allocates:
//! dislocations are reported as [`DislocationChange`]s and recorded by the caller (at most
//! [`DISLOCATIONS_RECORDED_MAX`] per venue). Every draw comes from the caller's
//! [`SimRng`] in a fixed order (the fair price from the common generator, the rest from
//! the venue's own), so the mids are a pure function of the seed, the venue and the step.
//!
//! The model, per step (constants are per step, calibrated for the default 1 ms step):
//! - the fair price moves on [`FAIR_MOVE_CHANCE`] of the steps by a bounded
//!   normal-ish return of [`FAIR_MOVE_BPS`] standard deviation (≈ 2.5 bps per second);
//! - each venue's spot price is the fair price times `1 + offset`, the offset wandering
//!   inside ±[`VENUE_OFFSET_MAX_BPS`], so cross-venue spreads stay within a few bps
//!   outside dislocations;
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
use super::{SimConfig, SimLeg};
use std::time::Duration;

/// Chance per step that the fair price moves.
pub(crate) const FAIR_MOVE_CHANCE: f64 = 0.1;
/// Standard deviation of one fair price move, bps (a few 0.1 bps, as on a liquid venue).
pub(crate) const FAIR_MOVE_BPS: f64 = 0.25;
/// Long-run mean of the perp premium over spot, bps.
pub(crate) const BASIS_MEAN_BPS: f64 = 2.0;
/// Bounds of the slowly wandering part of the premium, bps.
pub(crate) const BASIS_SLOW_RANGE_BPS: (f64, f64) = (1.0, 3.0);
/// Bound of a venue's offset from the fair price, bps.
pub(crate) const VENUE_OFFSET_MAX_BPS: f64 = 0.5;
/// Standard deviation of one offset move, bps (moves on [`BASIS_MOVE_CHANCE`] of steps).
const VENUE_OFFSET_MOVE_BPS: f64 = 0.05;
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
    /// Index price (the common fair price, undisturbed by dislocations).
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

/// The fair price of one base, which every venue follows.
#[derive(Clone, Debug)]
pub(crate) struct FairPrice {
    fair: f64,
}

impl FairPrice {
    /// The process at `start`.
    pub(crate) fn new(start: crate::types::Price) -> Self {
        Self {
            fair: start.to_f64_lossy(),
        }
    }

    /// Advances one step; returns the new fair price.
    pub(crate) fn step(&mut self, rng: &mut SimRng) -> f64 {
        if rng.chance(FAIR_MOVE_CHANCE) {
            self.fair *= 1.0 + FAIR_MOVE_BPS * 1e-4 * rng.normalish();
        }
        self.fair
    }
}

/// What a step did to a venue's dislocations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum DislocationChange {
    /// One started this step, with this signed peak premium (bps) on this leg.
    Started {
        /// The perp premium over spot at the first step, bps.
        peak_bps: f64,
        /// The leg that moved.
        leg: SimLeg,
    },
    /// The active one ended this step.
    Ended,
}

/// One venue's offset, basis and dislocation schedule.
#[derive(Clone, Debug)]
pub(crate) struct PriceModel {
    offset_bps: f64,
    basis_slow_bps: f64,
    basis_noise_bps: f64,
    params: DislocationParams,
    active: Option<Active>,
    next_start_step: u64,
    injected: usize,
}

impl PriceModel {
    /// A venue's model, its first dislocation scheduled from step 0.
    pub(crate) fn new(config: &SimConfig, rng: &mut SimRng) -> Self {
        let params = DislocationParams::new(config);
        let mut model = Self {
            offset_bps: 0.0,
            basis_slow_bps: BASIS_MEAN_BPS,
            basis_noise_bps: 0.0,
            params,
            active: None,
            next_start_step: 0,
            injected: 0,
        };
        model.next_start_step = model.gap_steps(rng);
        model
    }

    /// Advances to step `step` with the common `fair` price; returns the mids and what
    /// happened to the dislocations.
    pub(crate) fn step(
        &mut self,
        rng: &mut SimRng,
        fair: f64,
        step: u64,
    ) -> (Mids, Option<DislocationChange>) {
        let basis_bps = self.next_basis(rng);
        let change = match self.active {
            Some(_) => self.decay(rng, step),
            None if step >= self.next_start_step => self.inject(rng, basis_bps),
            None => None,
        };
        (self.mids(fair, basis_bps), change)
    }

    /// Ends a dislocation still in progress (the sim is stopping); returns whether one was.
    pub(crate) fn finish(&mut self) -> bool {
        self.active.take().is_some()
    }

    fn next_basis(&mut self, rng: &mut SimRng) -> f64 {
        if rng.chance(BASIS_MOVE_CHANCE) {
            let (lo, hi) = BASIS_SLOW_RANGE_BPS;
            let pull = BASIS_PULL_PER_MOVE * (BASIS_MEAN_BPS - self.basis_slow_bps);
            let slow = self.basis_slow_bps + pull + BASIS_WANDER_BPS * rng.normalish();
            self.basis_slow_bps = slow.clamp(lo, hi);
            self.basis_noise_bps = (BASIS_NOISE_BPS * rng.normalish())
                .clamp(-BASIS_NOISE_MAX_BPS, BASIS_NOISE_MAX_BPS);
            let offset = self.offset_bps * (1.0 - BASIS_PULL_PER_MOVE)
                + VENUE_OFFSET_MOVE_BPS * rng.normalish();
            self.offset_bps = offset.clamp(-VENUE_OFFSET_MAX_BPS, VENUE_OFFSET_MAX_BPS);
        }
        self.basis_slow_bps + self.basis_noise_bps
    }

    fn inject(&mut self, rng: &mut SimRng, basis_bps: f64) -> Option<DislocationChange> {
        if self.injected >= DISLOCATIONS_RECORDED_MAX {
            if self.next_start_step != u64::MAX {
                log::warn!("sim: {DISLOCATIONS_RECORDED_MAX} dislocations recorded; no more");
            }
            self.next_start_step = u64::MAX;
            return None;
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
        self.injected += 1;
        Some(DislocationChange::Started { peak_bps, leg })
    }

    fn decay(&mut self, rng: &mut SimRng, step: u64) -> Option<DislocationChange> {
        let active = self.active.as_mut()?;
        active.excess_bps *= self.params.decay_per_step;
        if active.excess_bps.abs() >= DISLOCATION_END_BPS {
            return None;
        }
        self.active = None;
        self.next_start_step = step.saturating_add(self.gap_steps(rng));
        Some(DislocationChange::Ended)
    }

    fn gap_steps(&self, rng: &mut SimRng) -> u64 {
        let extra = rng.exponential(self.params.gap_extra_mean_steps);
        self.params
            .gap_min_steps
            .saturating_add(f64_to_u64(extra.round()))
    }

    fn mids(&self, fair: f64, basis_bps: f64) -> Mids {
        let venue_fair = fair * (1.0 + self.offset_bps * 1e-4);
        let normal_perp = venue_fair * (1.0 + basis_bps * 1e-4);
        let (spot, perp) = match self.active {
            None => (venue_fair, normal_perp),
            Some(Active { leg, excess_bps }) => {
                let premium = 1.0 + (basis_bps + excess_bps) * 1e-4;
                match leg {
                    SimLeg::Perp => (venue_fair, venue_fair * premium),
                    SimLeg::Spot => (normal_perp / premium, normal_perp),
                }
            }
        };
        Mids {
            spot,
            perp,
            index: fair,
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

    /// Steps a venue model `steps` times at a fixed fair price; returns the steps at which
    /// dislocations started and ended.
    fn run(model: &mut PriceModel, rng: &mut SimRng, steps: u64) -> (Vec<u64>, Vec<u64>) {
        let (mut starts, mut ends) = (Vec::new(), Vec::new());
        for k in 0..steps {
            match model.step(rng, 60_000.0, k).1 {
                Some(DislocationChange::Started { peak_bps, .. }) => {
                    assert!((10.0..=40.0).contains(&peak_bps.abs()));
                    starts.push(k);
                }
                Some(DislocationChange::Ended) => ends.push(k),
                None => {}
            }
        }
        (starts, ends)
    }

    #[test]
    fn test_price_model_dislocation_gaps_respect_minimum() {
        let mut rng = SimRng::new(3);
        let mut model = PriceModel::new(&config(Duration::from_millis(1_500)), &mut rng);
        let (starts, ends) = run(&mut model, &mut rng, 60_000);
        assert!(
            starts.len() > 10,
            "only {} dislocations in 60 s",
            starts.len()
        );
        assert!(starts[0] >= 600);
        for (i, end) in ends.iter().enumerate() {
            assert!(*end > starts[i]);
            if let Some(next) = starts.get(i + 1) {
                assert!(*next >= end + 600);
            }
        }
    }

    #[test]
    fn test_price_model_huge_interval_never_dislocates() {
        let mut rng = SimRng::new(3);
        let huge = Duration::from_secs(1_000_000_000);
        let mut model = PriceModel::new(&config(huge), &mut rng);
        for k in 0..10_000 {
            let (mids, change) = model.step(&mut rng, 60_000.0, k);
            assert!(change.is_none());
            let premium = (mids.perp / mids.spot - 1.0) * 1e4;
            assert!((0.5..3.5).contains(&premium), "premium {premium}");
            let offset = (mids.spot / mids.index - 1.0) * 1e4;
            assert!(
                offset.abs() <= VENUE_OFFSET_MAX_BPS + 1e-9,
                "offset {offset}"
            );
        }
    }

    #[test]
    fn test_price_model_finish_closes_active() {
        let mut rng = SimRng::new(1);
        let mut model = PriceModel::new(&config(Duration::ZERO), &mut rng);
        let mut k = 0;
        while model.step(&mut rng, 60_000.0, k).1.is_none() {
            k += 1;
        }
        assert!(model.finish());
        assert!(!model.finish());
    }

    #[test]
    fn test_fair_price_moves_boundedly() {
        let mut rng = SimRng::new(2);
        let mut fair = FairPrice::new(SimConfig::default().start_price);
        let last = (0..10_000).map(|_| fair.step(&mut rng)).last().unwrap();
        assert!((last / 60_000.0 - 1.0).abs() < 0.01, "fair {last}");
    }
}
