//! Position sizing: how much of an intent the gateway trades, by the configured method
//! (fixed-fraction risk, capped half-Kelly, volatility scaling or the spread-design rule),
//! rounded down to both legs' lot sizes and checked against tick precision. Where the
//! rounded size is under a leg's minimum notional (or zero lots), it is rounded up to
//! the smallest lot multiple every leg's venue accepts ([`Sized::rounded_up`]); risk
//! then decides whether the caps allow it (refused: `min_size_over_caps`). A trade a
//! slow venue downgraded is not raised ([`SizeError::BelowMinimum`]).
//!
//! Owned by the gateway thread; allocation-free after construction (the Kelly window
//! and the per-instrument ATR trackers are sized at start-up). Integer and fixed-point
//! arithmetic only.
//!
//! Confidence buckets (the intent's 0..=100 score): 70 and above is HIGH (x1.0), 40 to
//! 69 MEDIUM (x0.7), below 40 LOW (x0.4). The cut-offs split the score range roughly in
//! thirds with the top third reserved for strong signals; the edge stage's score puts a
//! fresh, deep, wide opportunity above 70.

use crate::gateway::config::{BPS_ONE, KELLY_WINDOW_CAP, SizingConfig, SizingMethod};
use crate::types::bps::{Bps, bps_of};
use crate::types::decimal::mul_div;
use crate::types::{Price, Qty};

/// A signal confidence bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfidenceBucket {
    /// Score 70..=100: full size.
    High,
    /// Score 40..=69: 70% of the size.
    Medium,
    /// Score 0..=39: 40% of the size.
    Low,
}

/// Lowest score in the HIGH bucket.
pub const CONFIDENCE_HIGH_MIN: u8 = 70;
/// Lowest score in the MEDIUM bucket.
pub const CONFIDENCE_MEDIUM_MIN: u8 = 40;

impl ConfidenceBucket {
    /// The bucket of a 0..=100 confidence score.
    pub const fn of(score: u8) -> Self {
        if score >= CONFIDENCE_HIGH_MIN {
            ConfidenceBucket::High
        } else if score >= CONFIDENCE_MEDIUM_MIN {
            ConfidenceBucket::Medium
        } else {
            ConfidenceBucket::Low
        }
    }

    /// Size multiplier in per mille (1.0, 0.7, 0.4).
    pub const fn per_mille(self) -> i128 {
        match self {
            ConfidenceBucket::High => 1_000,
            ConfidenceBucket::Medium => 700,
            ConfidenceBucket::Low => 400,
        }
    }
}

/// Trailing closed-trade PnLs, for the half-Kelly estimate.
#[derive(Debug, Clone)]
pub struct KellyWindow {
    pnl_raw: Vec<i128>,
    head: usize,
    cap: usize,
}

impl KellyWindow {
    /// A window of the last `trades` trades (at most [`KELLY_WINDOW_CAP`]).
    pub fn new(trades: usize) -> Self {
        let cap = trades.clamp(1, KELLY_WINDOW_CAP);
        Self {
            pnl_raw: Vec::with_capacity(cap),
            head: 0,
            cap,
        }
    }

    /// Records a closed trade's PnL.
    pub fn record(&mut self, pnl_raw: i128) {
        if self.pnl_raw.len() < self.cap {
            self.pnl_raw.push(pnl_raw);
        } else {
            self.pnl_raw[self.head] = pnl_raw;
            self.head = (self.head + 1) % self.cap;
        }
    }

    /// Half the Kelly fraction in bps of equity, clamped to `[floor, cap]`; the floor
    /// until `min_trades` trades are known. With win rate p and win/loss ratio b,
    /// Kelly is p - (1 - p) / b = W (S_win - S_loss) / (n S_win) for W wins of total
    /// S_win and losses of total S_loss over n trades.
    pub fn half_kelly_bps(&self, min_trades: usize, floor_bps: i64, cap_bps: i64) -> i64 {
        let n = self.pnl_raw.len();
        if n < min_trades.max(1) {
            return floor_bps;
        }
        let wins = self.pnl_raw.iter().filter(|&&p| p > 0).count() as i128;
        let sum_win: i128 = self.pnl_raw.iter().filter(|&&p| p > 0).sum();
        let sum_loss: i128 = -self.pnl_raw.iter().filter(|&&p| p < 0).sum::<i128>();
        if sum_win == 0 {
            return floor_bps;
        }
        let kelly_bps = wins * (sum_win - sum_loss) * i128::from(BPS_ONE) / (n as i128 * sum_win);
        let half = i64::try_from(kelly_bps / 2).unwrap_or(i64::MIN);
        half.clamp(floor_bps, cap_bps)
    }
}

/// Average true range of one instrument's mid, in bps, over fixed-length bars: a fast
/// average (current) and a slow one (baseline), both exponential.
#[derive(Debug, Clone, Copy)]
pub struct AtrTracker {
    bar_ns: u64,
    fast_bars: u32,
    slow_bars: u32,
    bar: u64,
    /// Start of bar `bar` (`bar * bar_ns`; meaningless before the first mid).
    bar_start_ns: u64,
    high: i128,
    low: i128,
    fast: Bps,
    slow: Bps,
    bars_seen: u32,
}

/// Bounds of the volatility scale, per mille (0.2 and 2.0).
pub const VOL_SCALE_PER_MILLE: (i128, i128) = (200, 2_000);

impl AtrTracker {
    /// A tracker with bars of `bar_ns` and the given averaging lengths.
    pub fn new(bar_ns: u64, fast_bars: u32, slow_bars: u32) -> Self {
        Self {
            bar_ns: bar_ns.max(1),
            fast_bars: fast_bars.max(1),
            slow_bars: slow_bars.max(1),
            bar: u64::MAX,
            bar_start_ns: 0,
            high: 0,
            low: 0,
            fast: Bps::ZERO,
            slow: Bps::ZERO,
            bars_seen: 0,
        }
    }

    /// Feeds a mid price at `now_ns`; a bar closes when a mid of a later bar arrives.
    pub fn on_mid(&mut self, now_ns: u64, mid: Price) {
        // Within the current bar's span no division is needed to know the bar.
        let in_bar = self.bar != u64::MAX
            && now_ns >= self.bar_start_ns
            && now_ns - self.bar_start_ns < self.bar_ns;
        let bar = if in_bar {
            self.bar
        } else {
            now_ns / self.bar_ns
        };
        if bar != self.bar {
            if self.bar != u64::MAX {
                self.close_bar();
            }
            self.bar = bar;
            self.bar_start_ns = bar * self.bar_ns;
            self.high = mid.raw();
            self.low = mid.raw();
        }
        self.high = self.high.max(mid.raw());
        self.low = self.low.min(mid.raw());
    }

    fn close_bar(&mut self) {
        let mid = (self.high + self.low) / 2;
        let range = bps_of(self.high - self.low, mid);
        if self.bars_seen == 0 {
            (self.fast, self.slow) = (range, range);
        } else {
            self.fast += (range - self.fast) / Bps::from_num(self.fast_bars);
            self.slow += (range - self.slow) / Bps::from_num(self.slow_bars);
        }
        self.bars_seen = self.bars_seen.saturating_add(1);
    }

    /// Current (fast) ATR in bps.
    pub fn current_bps(&self) -> Bps {
        self.fast
    }

    /// Baseline (slow) ATR in bps.
    pub fn baseline_bps(&self) -> Bps {
        self.slow
    }

    /// Baseline / current clamped to [0.2, 2.0], per mille; 1.0 until a bar with a
    /// range has closed.
    pub fn scale_per_mille(&self) -> i128 {
        if self.fast <= Bps::ZERO {
            return 1_000;
        }
        let scale = (self.slow * Bps::from_num(1_000) / self.fast).to_num::<i128>();
        scale.clamp(VOL_SCALE_PER_MILLE.0, VOL_SCALE_PER_MILLE.1)
    }
}

/// The instrument rules a leg is sized against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegRules {
    /// The leg's limit price (per base unit).
    pub limit: Price,
    /// Price increment.
    pub tick_size: Price,
    /// Quantity increment, in the venue's unit.
    pub lot_size: Qty,
    /// Base units per venue unit.
    pub contract_size: Qty,
    /// Minimum order value.
    pub min_notional: Price,
}

impl LegRules {
    /// The lot in base units.
    fn base_lot_raw(&self) -> i128 {
        mul_div(self.lot_size.raw(), self.contract_size.raw(), Qty::SCALE).max(1)
    }

    /// Minimum notional as raw 10^-8 quote units.
    fn min_notional_raw(&self) -> i128 {
        self.min_notional.raw() * Qty::SCALE / Price::SCALE
    }
}

/// What the sizer needs about one intent and the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeRequest {
    /// The two legs' rules.
    pub legs: [LegRules; 2],
    /// Confidence score 0..=100.
    pub confidence: u8,
    /// Expected profit after costs, bps of notional (the net spread).
    pub net_spread_bps: Bps,
    /// Realised equity (starting capital + realised PnL).
    pub equity_raw: i128,
    /// Available capital.
    pub available_raw: i128,
    /// Volatility scale, per mille (see [`AtrTracker::scale_per_mille`]).
    pub vol_scale_per_mille: i128,
    /// Largest base quantity to trade: the intent's proposal.
    pub base_qty_max: Qty,
    /// Whether a size under a venue minimum may be raised to it (not for a trade a slow
    /// venue downgraded: its reduced size is the point).
    pub round_up: bool,
}

/// Why an intent could not be sized into a tradable order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// The size is under a venue minimum (or zero lots) and may not be raised.
    #[error("under the venue minimum")]
    BelowMinimum,
    /// A leg's limit price is not a multiple of its tick size.
    #[error("leg {leg}: limit off the tick grid")]
    OffTick {
        /// Leg index.
        leg: usize,
    },
    /// The two legs' lot sizes have no common multiple that one of them divides.
    #[error("lot sizes of the two legs are incompatible")]
    LotMismatch,
    /// A leg has no positive price.
    #[error("leg {leg}: no price")]
    NoPrice {
        /// Leg index.
        leg: usize,
    },
    /// Nothing to size with: the method gave a zero or negative notional.
    #[error("no capital for this trade")]
    NoCapital,
}

/// A sized entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sized {
    /// Base quantity both legs trade.
    pub base_qty: Qty,
    /// Each leg's quantity in its venue's unit.
    pub venue_qty: [Qty; 2],
    /// Each leg's notional at its limit, raw 10^-8 quote units.
    pub notional_raw: [i128; 2],
    /// The method's size rounded to the lots was under a venue minimum (or zero) and
    /// was raised to the smallest size every leg accepts.
    pub rounded_up: bool,
}

/// The position sizer.
#[derive(Debug, Clone)]
pub struct Sizer {
    cfg: SizingConfig,
    kelly: KellyWindow,
}

impl Sizer {
    /// A sizer with `cfg`.
    pub fn new(cfg: SizingConfig) -> Self {
        Self {
            kelly: KellyWindow::new(cfg.kelly_window),
            cfg,
        }
    }

    /// Records a closed trade for the Kelly estimate.
    pub fn record_trade(&mut self, pnl_raw: i128) {
        self.kelly.record(pnl_raw);
    }

    /// The notional per leg the configured method asks for, before rounding.
    pub fn target_notional_raw(&self, req: &SizeRequest) -> i128 {
        let c = &self.cfg;
        let one = i128::from(BPS_ONE);
        let conf = ConfidenceBucket::of(req.confidence).per_mille();
        let fixed = req.equity_raw * i128::from(c.risk_fraction_bps)
            / i128::from(c.stop_distance_bps)
            * conf
            / 1_000;
        match c.method {
            SizingMethod::FixedFraction => fixed,
            SizingMethod::VolatilityScaled => fixed * req.vol_scale_per_mille / 1_000,
            SizingMethod::HalfKelly => {
                let f = self.kelly.half_kelly_bps(
                    c.kelly_min_trades,
                    c.kelly_floor_bps,
                    c.kelly_cap_bps,
                );
                req.equity_raw * i128::from(f) / one
            }
            SizingMethod::SpreadDesign => {
                let cap = req.available_raw * i128::from(c.spread_capital_share_bps) / one;
                let spread = req.net_spread_bps.max(Bps::ZERO);
                let full = Bps::from_num(c.spread_full_size_bps);
                let scaled = if spread >= full {
                    cap
                } else {
                    cap * (spread * Bps::from_num(1_000) / full).to_num::<i128>() / 1_000
                };
                let floor = req
                    .legs
                    .iter()
                    .map(LegRules::min_notional_raw)
                    .max()
                    .unwrap_or(0);
                scaled.max(floor).min(cap)
            }
        }
    }

    /// Sizes an entry: the method's notional, to base quantity at the higher leg price,
    /// rounded down to both lots, then checked against tick and minimum notional.
    pub fn size(&self, req: &SizeRequest) -> Result<Sized, SizeError> {
        for (leg, rules) in req.legs.iter().enumerate() {
            if rules.limit.raw() <= 0 {
                return Err(SizeError::NoPrice { leg });
            }
            if rules.limit.raw() % rules.tick_size.raw().max(1) != 0 {
                return Err(SizeError::OffTick { leg });
            }
        }
        let notional = self.target_notional_raw(req);
        if notional <= 0 {
            return Err(SizeError::NoCapital);
        }
        let price = req.legs[0].limit.raw().max(req.legs[1].limit.raw());
        let base = mul_div(notional, Price::SCALE, price).min(req.base_qty_max.raw());
        let sized = round_and_check(base, &req.legs)?;
        if sized.rounded_up && !req.round_up {
            return Err(SizeError::BelowMinimum);
        }
        Ok(sized)
    }
}

fn round_and_check(base_raw: i128, legs: &[LegRules; 2]) -> Result<Sized, SizeError> {
    let lots = [legs[0].base_lot_raw(), legs[1].base_lot_raw()];
    let coarse = lots[0].max(lots[1]);
    if coarse % lots[0] != 0 || coarse % lots[1] != 0 {
        return Err(SizeError::LotMismatch);
    }
    let down = base_raw - base_raw.rem_euclid(coarse);
    let minimum = minimum_base_raw(coarse, legs);
    let base = down.max(minimum);
    let base_qty = Qty::from_raw(base);
    let mut sized = Sized {
        base_qty,
        venue_qty: [Qty::ZERO; 2],
        notional_raw: [0; 2],
        rounded_up: down < minimum,
    };
    for (leg, rules) in legs.iter().enumerate() {
        let venue = mul_div(base, Qty::SCALE, rules.contract_size.raw().max(1));
        sized.venue_qty[leg] = Qty::from_raw(venue);
        sized.notional_raw[leg] = rules.limit.notional_raw(base_qty);
    }
    Ok(sized)
}

/// The smallest multiple of `coarse` base units (one at least) at which every leg's
/// value at its limit reaches its venue's minimum notional.
fn minimum_base_raw(coarse: i128, legs: &[LegRules; 2]) -> i128 {
    let mut base = coarse;
    for rules in legs {
        let min = rules.min_notional_raw();
        let exact = mul_div(min, Price::SCALE, rules.limit.raw().max(1));
        let mut b = (exact.div_euclid(coarse) + 1) * coarse;
        // One lot down may still reach it (the quotient was exact or truncation).
        if b > coarse && rules.limit.notional_raw(Qty::from_raw(b - coarse)) >= min {
            b -= coarse;
        }
        base = base.max(b);
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::config::usd;

    fn p(s: &str) -> Price {
        Price::from_decimal_str(s).unwrap()
    }

    fn q(s: &str) -> Qty {
        Qty::from_decimal_str(s).unwrap()
    }

    fn rules(limit: &str, lot: &str) -> LegRules {
        LegRules {
            limit: p(limit),
            tick_size: p("0.1"),
            lot_size: q(lot),
            contract_size: q("1"),
            min_notional: p("5"),
        }
    }

    fn request(confidence: u8) -> SizeRequest {
        SizeRequest {
            legs: [rules("50000", "0.001"), rules("50010", "0.0001")],
            confidence,
            net_spread_bps: Bps::from_num(10),
            equity_raw: usd(20_000),
            available_raw: usd(20_000),
            vol_scale_per_mille: 1_000,
            base_qty_max: Qty::MAX,
            round_up: true,
        }
    }

    fn sizer(method: SizingMethod) -> Sizer {
        Sizer::new(SizingConfig {
            method,
            ..SizingConfig::default()
        })
    }

    #[test]
    fn test_confidence_buckets() {
        assert_eq!(ConfidenceBucket::of(100), ConfidenceBucket::High);
        assert_eq!(ConfidenceBucket::of(70), ConfidenceBucket::High);
        assert_eq!(ConfidenceBucket::of(69), ConfidenceBucket::Medium);
        assert_eq!(ConfidenceBucket::of(40), ConfidenceBucket::Medium);
        assert_eq!(ConfidenceBucket::of(39), ConfidenceBucket::Low);
        assert_eq!(ConfidenceBucket::of(0).per_mille(), 400);
    }

    #[test]
    fn test_fixed_fraction_scales_by_confidence() {
        let s = sizer(SizingMethod::FixedFraction);
        // 1% of 20,000 over a 1% stop: 20,000 of notional, x0.7 for MEDIUM.
        assert_eq!(s.target_notional_raw(&request(90)), usd(20_000));
        assert_eq!(s.target_notional_raw(&request(50)), usd(14_000));
        assert_eq!(s.target_notional_raw(&request(10)), usd(8_000));
    }

    #[test]
    fn test_spread_design_caps_at_half_of_available_and_lot_rounds() {
        let s = sizer(SizingMethod::SpreadDesign);
        // 10 bps of a 20 bps full-size spread: half of the 50% share.
        let want = usd(5_000);
        let got = s.target_notional_raw(&request(90));
        assert!((got - want).abs() <= usd(1), "{got}");
        let mut wide = request(90);
        wide.net_spread_bps = Bps::from_num(80);
        assert_eq!(s.target_notional_raw(&wide), usd(10_000));
        let sized = s.size(&wide).unwrap();
        // 10,000 / 50,010 = 0.19996 BTC, down to the 0.001 lot.
        assert_eq!(sized.base_qty, q("0.199"));
        assert_eq!(sized.venue_qty, [q("0.199"), q("0.199")]);
        assert_eq!(sized.notional_raw[0], usd(9_950));
    }

    #[test]
    fn test_spread_design_at_least_venue_minimum() {
        let s = sizer(SizingMethod::SpreadDesign);
        let mut thin = request(90);
        thin.net_spread_bps = Bps::ZERO;
        thin.legs[0].min_notional = p("100");
        assert!(s.target_notional_raw(&thin) >= usd(100));
    }

    #[test]
    fn test_size_errors() {
        let s = sizer(SizingMethod::FixedFraction);
        let mut off = request(90);
        off.legs[1].limit = p("50010.05");
        assert_eq!(s.size(&off), Err(SizeError::OffTick { leg: 1 }));
        let mut odd = request(90);
        odd.legs[1].lot_size = q("0.0003");
        assert_eq!(s.size(&odd), Err(SizeError::LotMismatch));
        let mut none = request(90);
        none.equity_raw = 0;
        assert_eq!(s.size(&none), Err(SizeError::NoCapital));
    }

    #[test]
    fn test_size_under_the_venue_minimum_rounds_up_to_it() {
        let s = sizer(SizingMethod::FixedFraction);
        // 1 USD of equity sizes 1 USD: zero 0.001 lots, up to one lot (50 USD >= 5).
        let mut tiny = request(90);
        tiny.equity_raw = usd(1);
        let sized = s.size(&tiny).unwrap();
        assert_eq!((sized.base_qty, sized.rounded_up), (q("0.001"), true));
        // The case: 100 USD at 57,000 is 0.00175 BTC, 0.001 on the lot (57 USD,
        // under Binance's 100 USD perp minimum): up to 0.002 (114 USD).
        let mut binance = request(90);
        binance.net_spread_bps = Bps::ZERO;
        for leg in &mut binance.legs {
            leg.limit = p("57000");
            leg.min_notional = p("100");
        }
        binance.base_qty_max = q("0.00175");
        let sized = s.size(&binance).unwrap();
        assert_eq!((sized.base_qty, sized.rounded_up), (q("0.002"), true));
        assert_eq!(sized.notional_raw, [usd(114); 2]);
        // Exactly the minimum is not raised: 0.002 at 50,000 is 100.
        let mut exact = binance;
        exact.legs[0].limit = p("50000");
        exact.legs[1].limit = p("50000");
        exact.base_qty_max = q("0.002");
        let sized = s.size(&exact).unwrap();
        assert_eq!((sized.base_qty, sized.rounded_up), (q("0.002"), false));
        assert_eq!(
            minimum_base_raw(q("0.001").raw(), &exact.legs),
            q("0.002").raw()
        );
        tiny.round_up = false;
        assert_eq!(s.size(&tiny), Err(SizeError::BelowMinimum));
        // A size above the minimum is left as it is.
        assert!(!s.size(&request(90)).unwrap().rounded_up);
    }

    #[test]
    fn test_size_contracts() {
        let s = sizer(SizingMethod::FixedFraction);
        let mut r = request(90);
        r.legs[1].lot_size = q("1");
        r.legs[1].contract_size = q("0.01");
        let sized = s.size(&r).unwrap();
        assert_eq!(sized.base_qty, q("0.39"));
        assert_eq!(sized.venue_qty[1], q("39"));
    }

    #[test]
    fn test_half_kelly_floor_cap_and_value() {
        let mut k = KellyWindow::new(10);
        assert_eq!(k.half_kelly_bps(4, 50, 1_000), 50);
        // 3 wins of 2, 1 loss of 1: p = 0.75, b = 2, Kelly = 0.625, half = 3,125 bps.
        for pnl in [2, 2, 2, -1] {
            k.record(pnl);
        }
        assert_eq!(k.half_kelly_bps(4, 50, 10_000), 3_125);
        assert_eq!(k.half_kelly_bps(4, 50, 1_000), 1_000);
        for _ in 0..10 {
            k.record(-1);
        }
        assert_eq!(k.half_kelly_bps(4, 50, 1_000), 50);
        let mut s = sizer(SizingMethod::HalfKelly);
        assert_eq!(s.target_notional_raw(&request(90)), usd(100));
        for _ in 0..20 {
            s.record_trade(usd(10));
        }
        assert_eq!(s.target_notional_raw(&request(90)), usd(2_000));
    }

    /// The bar found by division on every mid, as before the in-bar shortcut.
    fn on_mid_by_division(atr: &mut AtrTracker, now_ns: u64, mid: Price) {
        let bar = now_ns / atr.bar_ns;
        if bar != atr.bar {
            if atr.bar != u64::MAX {
                atr.close_bar();
            }
            atr.bar = bar;
            atr.high = mid.raw();
            atr.low = mid.raw();
        }
        atr.high = atr.high.max(mid.raw());
        atr.low = atr.low.min(mid.raw());
    }

    proptest::proptest! {
        /// The in-bar shortcut finds the same bars as a division on every mid, with
        /// times in any order.
        #[test]
        fn prop_atr_bars_as_by_division(
            bar_ns in 1u64..50,
            mids in proptest::collection::vec((0u64..500, 900_000i64..1_100_000), 0..100),
        ) {
            let mut fast = AtrTracker::new(bar_ns, 2, 8);
            let mut divided = AtrTracker::new(bar_ns, 2, 8);
            for (now_ns, mid) in mids {
                fast.on_mid(now_ns, Price::from_raw(i128::from(mid)));
                on_mid_by_division(&mut divided, now_ns, Price::from_raw(i128::from(mid)));
                proptest::prop_assert_eq!(
                    (fast.bar, fast.high, fast.low, fast.fast, fast.slow, fast.bars_seen),
                    (divided.bar, divided.high, divided.low, divided.fast, divided.slow, divided.bars_seen)
                );
            }
        }
    }

    #[test]
    fn test_atr_scale_clamped() {
        let mut atr = AtrTracker::new(10, 2, 8);
        assert_eq!(atr.scale_per_mille(), 1_000);
        // Calm bars, then a wild one: current ATR jumps above baseline, size shrinks.
        for bar in 0..20u64 {
            let range = if bar < 19 { 10 } else { 10_000 };
            atr.on_mid(bar * 10, Price::from_raw(1_000_000));
            atr.on_mid(bar * 10 + 5, Price::from_raw(1_000_000 + range));
        }
        atr.on_mid(200, Price::from_raw(1_000_000));
        assert!(atr.current_bps() > atr.baseline_bps());
        assert!(atr.scale_per_mille() < 1_000);
        assert!(atr.scale_per_mille() >= 200);
        let s = sizer(SizingMethod::VolatilityScaled);
        let mut r = request(90);
        r.vol_scale_per_mille = 2_000;
        assert_eq!(s.target_notional_raw(&r), usd(40_000));
    }
}
