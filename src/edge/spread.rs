//! Cross-venue spread: the pure arithmetic of one candidate, buy on one venue at its ask
//! and sell the same instrument kind on another at its bid.
//!
//! Owned by the edge stage's thread; nothing here allocates or reads a clock (the caller
//! passes venue delays in). All values are fixed point: prices exact, ratios `Bps`.
//! Formulas (bps unless said otherwise):
//! - gross = (sell_bid - buy_ask) / mid, mid = (sell_bid + buy_ask) / 2; no candidate
//!   unless gross > 0;
//! - sizes: multiple × max(min notional of both venues) (a floor of
//!   [`SIZE_BASE_FLOOR`] quote units when neither has one); qty = notional / buy_ask;
//! - executable VWAP of each leg from the top of book, then the ladder levels strictly
//!   behind it (see [`crate::book::top`]), quantities converted to base by the contract
//!   size; vwap_spread = (vwap_sell - vwap_buy) / mid;
//! - slippage per leg = min(cap, base + per_depth × notional / depth), depth being the
//!   tracked depth of the book side the leg takes (defaults 2 + 3 × size/depth, cap 5);
//!   every size scales from the base notional's values (quantity, size/depth), so a size
//!   costs multiplications and the divisions are paid once per candidate;
//! - funding delta (perps) = sell-leg rate - buy-leg rate per interval (the short
//!   receives its rate, the long pays its own); only an adverse delta is a cost;
//! - net = vwap_spread - both taker fees - both legs' slippage - max(0, -funding delta);
//!   expected profit = net × notional;
//! - hard constraints, in order (the first failing is the reason, confidence 0): both
//!   books valid, both venues' delay within their `stale_after`, for perps both funding
//!   rates known and the delta at or above the threshold, per size tracked depth at least
//!   [`DEPTH_MULTIPLE`] × notional on both books and the ladder able to fill it; a size
//!   is accepted when its net reaches the record threshold. A candidate whose best
//!   possible net (gross - fees - base slippage of both legs - adverse funding) misses
//!   the record threshold is rejected as unprofitable before any size is evaluated:
//!   most candidates (a spread of a few bps against ~10 bps of fees) cost no division;
//! - confidence = 100 × Σ weight × score / Σ weight over the available metrics, minus
//!   the penalty of each venue whose delay is above the soft limit; scores in 0..=1:
//!   funding 1 at a delta ≥ 0 falling to 0 at the threshold; imbalance
//!   1 - (|imb_buy| + |imb_sell|) / 2 of the tracked depths; open interest
//!   min/max of the two; VWAP deviation 1 - deviation / gross; volatility
//!   1 - movement / gross; liquidation distance is never available yet (no positions).

use crate::book::top::{LadderLevel, LadderSide, TopUpdate};
use crate::edge::spread_opportunity::{
    Metric, MetricScores, RejectReason, SIZES_MAX, SizeEval, SpreadOpportunity,
};
use crate::types::bps::{Bps, bps_of, ratio};
use crate::types::decimal::{Price, Qty, Rate, mul_div};

/// Tracked depth must be at least this many times the size on both books.
pub const DEPTH_MULTIPLE: i128 = 2;

/// Base notional (quote units) when neither venue has a minimum notional.
pub const SIZE_BASE_FLOOR: i128 = 10;

/// Mid changes a market needs before its volatility is available.
pub const VOLATILITY_SAMPLES_MIN: u32 = 8;

/// The depth-based slippage model of one leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlippageModel {
    /// Slippage at zero size (default 2 bps).
    pub base_bps: Bps,
    /// Added per unit of size / depth (default 3 bps).
    pub per_depth_bps: Bps,
    /// Upper bound (default 5 bps).
    pub cap_bps: Bps,
}

impl Default for SlippageModel {
    fn default() -> Self {
        Self {
            base_bps: Bps::lit("2"),
            per_depth_bps: Bps::lit("3"),
            cap_bps: Bps::lit("5"),
        }
    }
}

impl SlippageModel {
    /// Slippage of one leg whose size is `size_to_depth` times the tracked depth it
    /// takes from (`Bps::MAX` without depth: the cap).
    pub fn leg_bps(&self, size_to_depth: Bps) -> Bps {
        self.base_bps
            .saturating_add(self.per_depth_bps.saturating_mul(size_to_depth))
            .min(self.cap_bps)
    }
}

/// Weights of the soft metrics, in [`Metric`] order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weights(pub [u16; Metric::COUNT]);

impl Default for Weights {
    /// Funding delta 9, book imbalance 8, open interest 7, VWAP deviation 6,
    /// volatility 5, liquidation distance 5.
    fn default() -> Self {
        Self([9, 8, 7, 6, 5, 5])
    }
}

/// Configuration of the scanner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScannerParams {
    /// Run the scanner at all (default true).
    pub enabled: bool,
    /// Size multiples of the base notional; the first `sizes_len` are used (default
    /// 1, 2, 5, 10).
    pub size_multiples: [u32; SIZES_MAX],
    /// Sizes in use, 1..=[`SIZES_MAX`].
    pub sizes_len: usize,
    /// Slippage model.
    pub slippage: SlippageModel,
    /// Confidence weights.
    pub weights: Weights,
    /// Lifetime of a signal in nanoseconds (default 2 s).
    pub expiry_ns: u64,
    /// Lowest funding delta (bps per interval) a perp pair may have (default -2).
    pub funding_delta_min_bps: Bps,
    /// Best opportunities kept for status views (default 10).
    pub top_n: usize,
    /// A size is accepted (and recorded) at or above this net edge (default 0.5 bps).
    pub record_threshold_bps: Bps,
    /// An accepted opportunity is traded at or above this net edge (default 5 bps).
    pub trade_threshold_bps: Bps,
    /// ... and at or above this confidence (default 50).
    pub confidence_min: u8,
    /// Venue delay above which confidence is reduced (default 200 ms).
    pub soft_delay_ms: u32,
    /// Points taken per venue between the soft limit and its stale limit (default 30).
    pub stale_penalty_points: u8,
}

impl Default for ScannerParams {
    fn default() -> Self {
        let mut size_multiples = [0; SIZES_MAX];
        size_multiples[..4].copy_from_slice(&[1, 2, 5, 10]);
        Self {
            enabled: true,
            size_multiples,
            sizes_len: 4,
            slippage: SlippageModel::default(),
            weights: Weights::default(),
            expiry_ns: 2_000_000_000,
            funding_delta_min_bps: Bps::lit("-2"),
            top_n: 10,
            record_threshold_bps: Bps::lit("0.5"),
            trade_threshold_bps: Bps::lit("5"),
            confidence_min: 50,
            soft_delay_ms: 200,
            stale_penalty_points: 30,
        }
    }
}

/// What the scanner knows of one leg's market.
#[derive(Debug, Clone, Copy)]
pub struct LegView<'a> {
    /// The latest update (last valid prices when the book is now invalid).
    pub top: &'a TopUpdate,
    /// Whether the book is valid now.
    pub valid: bool,
    /// Contract size as raw `Qty` (base units per venue quantity unit).
    pub contract_raw: i128,
    /// Venue minimum notional, quote units.
    pub min_notional: Price,
    /// Taker fee, bps.
    pub taker_fee: Bps,
    /// The venue's latest delay, ms.
    pub delay_ms: u32,
    /// The venue's stale limit, ms.
    pub stale_after_ms: u32,
    /// Recent mid movement, bps (`None` until enough samples).
    pub volatility: Option<Bps>,
    /// A perpetual (funding and open interest apply).
    pub perp: bool,
}

/// (sell_bid - buy_ask) / mid in bps.
pub fn gross_bps(buy_ask: Price, sell_bid: Price) -> Bps {
    let (a, b) = (buy_ask.raw(), sell_bid.raw());
    bps_of(2 * (b - a), a + b)
}

/// A leg walked through the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Walk {
    /// Volume-weighted price (truncated).
    pub vwap: Price,
    /// Worst price touched.
    pub worst: Price,
}

/// Which side a leg takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taking {
    /// Buys: walks the asks upward.
    Asks,
    /// Sells: walks the bids downward.
    Bids,
}

/// Walks `qty_raw` (base units) through `top` and then the ladder levels strictly behind
/// it; quantities are venue units × `contract_raw`. `None` when they cannot fill it.
pub fn walk(
    top: LadderLevel,
    ladder: &LadderSide,
    taking: Taking,
    qty_raw: i128,
    contract_raw: i128,
) -> Option<Walk> {
    let behind = |p: Price| match taking {
        Taking::Asks => p > top.price,
        Taking::Bids => p < top.price,
    };
    let levels = std::iter::once(top).chain(
        ladder
            .as_slice()
            .iter()
            .copied()
            .filter(move |l| behind(l.price)),
    );
    let want = qty_raw;
    let to_base = |q: Qty| {
        if contract_raw == Qty::SCALE {
            q.raw()
        } else {
            mul_div(q.raw(), contract_raw, Qty::SCALE)
        }
    };
    if want > 0 && to_base(top.qty) >= want {
        // The touch fills it all: no division (the common case for small sizes).
        return Some(Walk {
            vwap: top.price,
            worst: top.price,
        });
    }
    let (mut filled, mut value, mut worst) = (0i128, 0i128, Price::ZERO);
    for level in levels {
        if filled >= want {
            break;
        }
        let base = to_base(level.qty);
        let take = base.min(want - filled);
        if take <= 0 {
            continue;
        }
        filled += take;
        // Exact; a product beyond `i128` (10^18 quote and more, never a real level)
        // cannot be filled.
        value = value.checked_add(level.price.raw().checked_mul(take)?)?;
        worst = level.price;
    }
    if filled < want || filled == 0 {
        return None;
    }
    Some(Walk {
        vwap: Price::from_raw(value / filled),
        worst,
    })
}

/// Funding received minus paid per interval, bps: the short (sell leg) receives its
/// rate, the long (buy leg) pays its own.
pub fn funding_delta_bps(buy_rate: Rate, sell_rate: Rate) -> Bps {
    bps_of(
        i128::from(sell_rate.raw()) - i128::from(buy_rate.raw()),
        i128::from(Rate::SCALE),
    )
}

/// `x` clamped to 0..=1.
fn unit(x: Bps) -> Bps {
    x.clamp(Bps::ZERO, Bps::ONE)
}

/// Funding score: 1 at a delta ≥ 0, falling linearly to 0 at the threshold.
pub fn funding_score(delta: Bps, min: Bps) -> Bps {
    if delta >= Bps::ZERO {
        return Bps::ONE;
    }
    if min >= Bps::ZERO {
        return Bps::ZERO;
    }
    unit(Bps::ONE - ratio(i128::from(delta.to_bits()), i128::from(min.to_bits())))
}

/// (bid - ask) / (bid + ask) of a book's tracked depths; `None` when both are empty.
fn imbalance(bid_depth: i64, ask_depth: i64) -> Option<Bps> {
    let (b, a) = (i128::from(bid_depth), i128::from(ask_depth));
    (b + a > 0).then(|| ratio(b - a, b + a))
}

/// Book imbalance score: 1 - (|imb_buy| + |imb_sell|) / 2; balanced books are stable.
pub fn imbalance_score(buy: &TopUpdate, sell: &TopUpdate) -> Option<Bps> {
    let b = imbalance(buy.bid_depth_quote, buy.ask_depth_quote)?;
    let s = imbalance(sell.bid_depth_quote, sell.ask_depth_quote)?;
    Some(unit(Bps::ONE - (b.abs() + s.abs()) / 2))
}

/// Open interest score: min / max of the two (in base units); `None` unless both known
/// and positive.
pub fn open_interest_score(buy: &LegView<'_>, sell: &LegView<'_>) -> Option<Bps> {
    let base = |leg: &LegView<'_>| {
        let oi = leg.top.perp.open_interest?;
        let v = oi.raw().saturating_mul(leg.contract_raw);
        (v > 0).then_some(v)
    };
    let (a, b) = (base(buy)?, base(sell)?);
    Some(ratio(a.min(b), a.max(b)))
}

/// 1 - `cost` / `gross`, clamped (gross > 0).
fn against_gross(cost: Bps, gross: Bps) -> Bps {
    unit(Bps::ONE - ratio(i128::from(cost.to_bits()), i128::from(gross.to_bits())))
}

/// Confidence 0..=100: the weighted mean of the available scores, minus `penalty`.
/// 0 when no metric is available (nothing vouches for the signal).
pub fn confidence(scores: &MetricScores, weights: &Weights, penalty: u8) -> u8 {
    let (mut sum, mut total) = (Bps::ZERO, 0u32);
    for (score, &w) in scores.0.iter().zip(&weights.0) {
        if let Some(s) = score {
            sum = sum.saturating_add(s.saturating_mul(Bps::from_num(w)));
            total += u32::from(w);
        }
    }
    if total == 0 {
        return 0;
    }
    // round(sum × 100 / total) in integers: sum ≤ 6 × 1000 × 2^32, so × 100 fits an i64.
    let den = i64::from(total) << 32;
    let points = (sum.to_bits().saturating_mul(100) + den / 2) / den;
    u8::try_from((points - i64::from(penalty)).clamp(0, 100)).unwrap_or(0)
}

/// Evaluates buying `buy` at its ask and selling `sell` at its bid. `None` when there is
/// no candidate (either side has no price, or gross ≤ 0); `Err` with the reason when the
/// candidate is rejected; the opportunity (timestamps left zero) otherwise.
pub fn evaluate(
    buy: &LegView<'_>,
    sell: &LegView<'_>,
    p: &ScannerParams,
) -> Option<Result<SpreadOpportunity, RejectReason>> {
    let (buy_ask, sell_bid) = (buy.top.ask, sell.top.bid);
    if buy_ask <= Price::ZERO || sell_bid <= buy_ask {
        return None;
    }
    let gross = gross_bps(buy_ask, sell_bid);
    Some(evaluate_candidate(buy, sell, p, gross))
}

fn evaluate_candidate(
    buy: &LegView<'_>,
    sell: &LegView<'_>,
    p: &ScannerParams,
    gross: Bps,
) -> Result<SpreadOpportunity, RejectReason> {
    if !buy.valid || !sell.valid {
        return Err(RejectReason::BookInvalid);
    }
    if buy.delay_ms > buy.stale_after_ms || sell.delay_ms > sell.stale_after_ms {
        return Err(RejectReason::VenueStale);
    }
    let funding_delta = if buy.perp && sell.perp {
        let (Some(b), Some(s)) = (buy.top.perp.funding_rate, sell.top.perp.funding_rate) else {
            return Err(RejectReason::FundingUnknown);
        };
        let delta = funding_delta_bps(b, s);
        if delta < p.funding_delta_min_bps {
            return Err(RejectReason::FundingDelta);
        }
        Some(delta)
    } else {
        None
    };
    let slow =
        u32::from(buy.delay_ms > p.soft_delay_ms) + u32::from(sell.delay_ms > p.soft_delay_ms);
    let penalty = slow * u32::from(p.stale_penalty_points);
    // No size can do better than the touch with the base slippage on both legs: reject
    // at once when even that misses the record threshold (most candidates, cheaply).
    let funding_cost = funding_delta.map_or(Bps::ZERO, |d| (-d).max(Bps::ZERO));
    let floor = p.slippage.base_bps.min(p.slippage.cap_bps);
    let bound = gross - buy.taker_fee - sell.taker_fee - floor - floor - funding_cost;
    if bound < p.record_threshold_bps {
        return Err(RejectReason::Unprofitable);
    }
    let mut metrics = MetricScores::default();
    metrics.set(
        Metric::FundingDelta,
        funding_delta.map(|d| funding_score(d, p.funding_delta_min_bps)),
    );
    metrics.set(Metric::BookImbalance, imbalance_score(buy.top, sell.top));
    if funding_delta.is_some() {
        metrics.set(Metric::OpenInterest, open_interest_score(buy, sell));
    }
    let volatility = buy.volatility.zip(sell.volatility).map(|(a, b)| a.max(b));
    metrics.set(
        Metric::Volatility,
        volatility.map(|v| against_gross(v, gross)),
    );
    let mut opp = SpreadOpportunity {
        buy: buy.top.instrument,
        sell: sell.top.instrument,
        ts_recv_raw: 0,
        ts_decision_raw: 0,
        expires_raw: 0,
        buy_ask: buy.top.ask,
        sell_bid: sell.top.bid,
        gross_bps: gross,
        fees_bps: buy.taker_fee + sell.taker_fee,
        funding_delta_bps: funding_delta.unwrap_or(Bps::ZERO),
        venue_delay_ms: [buy.delay_ms, sell.delay_ms],
        stale_penalty: u8::try_from(penalty.min(100)).unwrap_or(100),
        metrics,
        sizes: [SizeEval::default(); SIZES_MAX],
        sizes_len: 0,
        best: 0,
    };
    evaluate_sizes(buy, sell, p, &mut opp).map(|()| opp)
}

/// What every size of a candidate scales from: the values of the base notional (one
/// multiple), computed once so that a size costs multiplications, not divisions.
struct Unit {
    /// Base notional in raw 10^-8 quote units.
    notional_raw: i128,
    /// Base quantity (base notional / buy ask), raw.
    qty_raw: i128,
    /// Tracked depth of the book side each leg takes (buy asks, sell bids), raw quote.
    depth: [i128; 2],
    /// Base notional / depth of each leg.
    size_to_depth: [Bps; 2],
}

impl Unit {
    fn new(buy: &LegView<'_>, sell: &LegView<'_>) -> Self {
        let base = buy.min_notional.max(sell.min_notional);
        let base = if base > Price::ZERO {
            base
        } else {
            Price::from_raw(SIZE_BASE_FLOOR * Price::SCALE)
        };
        let depth = |d: i64, leg: &LegView<'_>| {
            if leg.contract_raw == Qty::SCALE {
                i128::from(d)
            } else {
                mul_div(i128::from(d), leg.contract_raw, Qty::SCALE)
            }
        };
        let depth = [
            depth(buy.top.ask_depth_quote, buy),
            depth(sell.top.bid_depth_quote, sell),
        ];
        let notional_raw = base.raw() / (Price::SCALE / Qty::SCALE);
        let qty_raw = mul_div(base.raw(), Qty::SCALE, buy.top.ask.raw().max(1));
        Self {
            notional_raw,
            qty_raw,
            size_to_depth: depth.map(|d| {
                if d > 0 {
                    ratio(notional_raw, d)
                } else {
                    Bps::MAX
                }
            }),
            depth,
        }
    }
}

/// Fills `opp.sizes` and `opp.best`; the candidate's reason when no size is accepted.
fn evaluate_sizes(
    buy: &LegView<'_>,
    sell: &LegView<'_>,
    p: &ScannerParams,
    opp: &mut SpreadOpportunity,
) -> Result<(), RejectReason> {
    let unit = Unit::new(buy, sell);
    let len = p.sizes_len.min(SIZES_MAX);
    let (mut best, mut any_depth) = (None::<usize>, false);
    for i in 0..len {
        let size = evaluate_size(buy, sell, p, opp, &unit, p.size_multiples[i]);
        any_depth |= size.rejected != Some(RejectReason::InsufficientDepth);
        if size.rejected.is_none()
            && best
                .is_none_or(|b: usize| size.expected_profit_raw > opp.sizes[b].expected_profit_raw)
        {
            best = Some(i);
        }
        opp.sizes[i] = size;
    }
    opp.sizes_len = u8::try_from(len).unwrap_or(0);
    match best {
        Some(b) => {
            opp.best = u8::try_from(b).unwrap_or(0);
            Ok(())
        }
        None if any_depth => Err(RejectReason::Unprofitable),
        None => Err(RejectReason::InsufficientDepth),
    }
}

/// One size: depth check, VWAPs, slippage, net, expected profit, confidence.
fn evaluate_size(
    buy: &LegView<'_>,
    sell: &LegView<'_>,
    p: &ScannerParams,
    opp: &SpreadOpportunity,
    unit: &Unit,
    multiple: u32,
) -> SizeEval {
    let m = i128::from(multiple);
    let notional_raw = unit.notional_raw.saturating_mul(m);
    let qty = Qty::from_raw(unit.qty_raw.saturating_mul(m));
    let mut size = SizeEval {
        notional: Price::from_raw(
            unit.notional_raw
                .saturating_mul(m)
                .saturating_mul(Price::SCALE / Qty::SCALE),
        ),
        qty,
        rejected: Some(RejectReason::InsufficientDepth),
        ..SizeEval::default()
    };
    if unit
        .depth
        .iter()
        .any(|&d| d < DEPTH_MULTIPLE * notional_raw)
    {
        return size;
    }
    let top_buy = LadderLevel {
        price: buy.top.ask,
        qty: buy.top.ask_qty,
    };
    let top_sell = LadderLevel {
        price: sell.top.bid,
        qty: sell.top.bid_qty,
    };
    let (Some(wb), Some(ws)) = (
        walk(
            top_buy,
            &buy.top.ladder.asks,
            Taking::Asks,
            qty.raw(),
            buy.contract_raw,
        ),
        walk(
            top_sell,
            &sell.top.ladder.bids,
            Taking::Bids,
            qty.raw(),
            sell.contract_raw,
        ),
    ) else {
        return size;
    };
    let at_touch = wb.vwap == opp.buy_ask && ws.vwap == opp.sell_bid;
    let (a, b) = (opp.buy_ask.raw(), opp.sell_bid.raw());
    size.vwap_buy = wb.vwap;
    size.vwap_sell = ws.vwap;
    size.worst_buy = wb.worst;
    size.worst_sell = ws.worst;
    size.vwap_spread_bps = if at_touch {
        opp.gross_bps
    } else {
        bps_of(2 * (ws.vwap.raw() - wb.vwap.raw()), a + b)
    };
    let leg = |k: usize| {
        p.slippage
            .leg_bps(unit.size_to_depth[k].saturating_mul_int(i64::from(multiple)))
    };
    size.slippage_bps = leg(0) + leg(1);
    let funding_cost = (-opp.funding_delta_bps).max(Bps::ZERO);
    size.net_bps = size.vwap_spread_bps - opp.fees_bps - size.slippage_bps - funding_cost;
    let profit = i128::from(size.net_bps.to_bits()).saturating_mul(notional_raw) >> 32;
    size.expected_profit_raw = i64::try_from(profit).unwrap_or(0) / 10_000;
    if size.net_bps < p.record_threshold_bps {
        size.rejected = Some(RejectReason::Unprofitable);
        return size;
    }
    size.rejected = None;
    let score = if at_touch {
        Bps::ONE
    } else {
        let deviation = bps_of(wb.vwap.raw() - a, a) + bps_of(b - ws.vwap.raw(), b);
        against_gross(deviation, opp.gross_bps)
    };
    size.vwap_deviation_score = Some(score);
    let mut metrics = opp.metrics;
    metrics.set(Metric::VwapDeviation, Some(score));
    size.confidence = confidence(&metrics, &p.weights, opp.stale_penalty);
    size
}

/// Recent mid movement of one market: an exponential mean (weight 1/8) of |Δmid| in bps
/// over the mid changes seen. Allocation-free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MidVolatility {
    last_mid_x2: i128,
    mean_bps: Bps,
    samples: u32,
}

impl MidVolatility {
    /// Takes a new top of book.
    pub fn update(&mut self, bid: Price, ask: Price) {
        let mid_x2 = bid.raw() + ask.raw();
        if self.last_mid_x2 > 0 && mid_x2 != self.last_mid_x2 {
            let moved = bps_of(mid_x2 - self.last_mid_x2, self.last_mid_x2).abs();
            self.mean_bps += (moved - self.mean_bps) / 8;
            self.samples = self.samples.saturating_add(1);
        }
        self.last_mid_x2 = mid_x2;
    }

    /// The mean movement, once [`VOLATILITY_SAMPLES_MIN`] changes were seen.
    pub fn get(&self) -> Option<Bps> {
        (self.samples >= VOLATILITY_SAMPLES_MIN).then_some(self.mean_bps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::top::{Ladder, PerpInfo};
    use crate::types::InstrumentId;

    fn px(s: &str) -> Price {
        Price::from_decimal_str(s).unwrap()
    }

    fn qty(s: &str) -> Qty {
        Qty::from_decimal_str(s).unwrap()
    }

    fn close(got: Bps, want: f64) {
        let got = got.to_num::<f64>();
        assert!((got - want).abs() < 1e-6, "got {got}, want {want}");
    }

    /// Raw 10^-8 quote units of `quote`.
    fn quote(quote: i64) -> i64 {
        quote * 100_000_000
    }

    fn top(id: u32, (bid, ask): (&str, &str), q: &str, depth: i64) -> TopUpdate {
        TopUpdate {
            instrument: InstrumentId(id),
            bid: px(bid),
            bid_qty: qty(q),
            ask: px(ask),
            ask_qty: qty(q),
            bid_depth_quote: quote(depth),
            ask_depth_quote: quote(depth),
            ladder: Ladder::default(),
            perp: PerpInfo::default(),
            valid: true,
            ts_recv_raw: 0,
            ts_venue_ms: 0,
        }
    }

    fn leg(top: &TopUpdate) -> LegView<'_> {
        LegView {
            top,
            valid: true,
            contract_raw: Qty::SCALE,
            min_notional: px("100"),
            taker_fee: Bps::ONE,
            delay_ms: 5,
            stale_after_ms: 200,
            volatility: None,
            perp: false,
        }
    }

    fn level(price: &str, q: &str) -> LadderLevel {
        LadderLevel {
            price: px(price),
            qty: qty(q),
        }
    }

    #[test]
    fn test_gross_bps_hand_values() {
        close(gross_bps(px("100"), px("100.2")), 2.0 * 0.2 / 200.2 * 1e4);
        assert_eq!(gross_bps(px("100"), px("100")), Bps::ZERO);
        assert!(gross_bps(px("100.1"), px("100")) < Bps::ZERO);
    }

    #[test]
    fn test_slippage_model_base_slope_and_cap() {
        let m = SlippageModel::default();
        close(m.leg_bps(ratio(1_000, 10_000)), 2.3);
        close(m.leg_bps(Bps::ZERO), 2.0);
        assert_eq!(m.leg_bps(Bps::ONE), Bps::from_num(5));
        assert_eq!(m.leg_bps(Bps::from_num(2)), Bps::from_num(5));
        assert_eq!(m.leg_bps(Bps::MAX), Bps::from_num(5), "no depth: the cap");
    }

    #[test]
    fn test_walk_takes_the_top_then_the_ladder_behind_it() {
        let asks = LadderSide::from_levels([
            level("99.5", "9"),
            level("100", "9"),
            level("101", "2"),
            level("102", "5"),
        ]);
        let top = level("100", "1");
        let w = walk(top, &asks, Taking::Asks, qty("2").raw(), Qty::SCALE).unwrap();
        assert_eq!((w.vwap, w.worst), (px("100.5"), px("101")));
        let w = walk(top, &asks, Taking::Asks, qty("1").raw(), Qty::SCALE).unwrap();
        assert_eq!((w.vwap, w.worst), (px("100"), px("100")));
        assert_eq!(
            walk(top, &asks, Taking::Asks, qty("8.1").raw(), Qty::SCALE),
            None
        );
        let bids = LadderSide::from_levels([level("100", "3"), level("99", "4")]);
        let w = walk(
            level("100", "1"),
            &bids,
            Taking::Bids,
            qty("3").raw(),
            Qty::SCALE,
        );
        let w = w.unwrap();
        close(
            Bps::from_num(w.vwap.to_f64_lossy()),
            (100.0 + 2.0 * 99.0) / 3.0,
        );
        // Contracts of 0.01 base: 100 contracts fill 1 base.
        let contract = qty("0.01").raw();
        let w = walk(
            level("100", "100"),
            &LadderSide::default(),
            Taking::Asks,
            qty("1").raw(),
            contract,
        );
        assert_eq!(w.unwrap().vwap, px("100"));
        assert_eq!(
            walk(
                level("100", "99"),
                &LadderSide::default(),
                Taking::Asks,
                qty("1").raw(),
                contract
            ),
            None
        );
    }

    #[test]
    fn test_funding_delta_and_score() {
        let r = |s: &str| Rate::from_decimal_str(s).unwrap();
        close(funding_delta_bps(r("0.0001"), r("0.0003")), 2.0);
        close(funding_delta_bps(r("0.0003"), r("0.0001")), -2.0);
        let min = Bps::from_num(-2);
        assert_eq!(funding_score(Bps::from_num(2), min), Bps::ONE);
        close(funding_score(Bps::from_num(-1), min), 0.5);
        assert_eq!(funding_score(Bps::from_num(-2), min), Bps::ZERO);
        assert_eq!(funding_score(Bps::from_num(-1), Bps::ZERO), Bps::ZERO);
    }

    #[test]
    fn test_confidence_weighted_mean_of_available_metrics() {
        let w = Weights::default();
        let mut s = MetricScores::default();
        assert_eq!(confidence(&s, &w, 0), 0, "nothing available");
        s.set(Metric::FundingDelta, Some(Bps::ONE));
        s.set(Metric::BookImbalance, Some(Bps::from_num(0.5)));
        // (9 × 1 + 8 × 0.5) / 17 = 76.47 %
        assert_eq!(confidence(&s, &w, 0), 76);
        assert_eq!(confidence(&s, &w, 30), 46);
        assert_eq!(confidence(&s, &w, 90), 0);
    }

    #[test]
    fn test_imbalance_and_open_interest_scores() {
        let mut a = top(0, ("100", "100.1"), "1", 3000);
        a.ask_depth_quote = quote(1000);
        let b = top(1, ("100", "100.1"), "1", 1000);
        // imb_a = (3000 - 1000) / 4000 = 0.5, imb_b = 0 → 1 - 0.25.
        close(imbalance_score(&a, &b).unwrap(), 0.75);
        a.bid_depth_quote = 0;
        a.ask_depth_quote = 0;
        assert_eq!(imbalance_score(&a, &b), None);
        let (mut x, mut y) = (b, b);
        x.perp.open_interest = Some(qty("100"));
        y.perp.open_interest = Some(qty("10000"));
        let (mut lx, ly) = (leg(&x), leg(&y));
        lx.contract_raw = qty("0.01").raw();
        // 100 contracts of 0.01 = 1 base against 10000 base.
        close(open_interest_score(&lx, &ly).unwrap(), 1e-4);
        assert_eq!(open_interest_score(&leg(&b), &ly), None);
    }

    #[test]
    fn test_evaluate_spot_pair_hand_values() {
        let a = top(0, ("99.9", "100"), "10", 1_000_000);
        let b = top(1, ("100.3", "100.4"), "10", 1_000_000);
        let opp = evaluate(&leg(&a), &leg(&b), &ScannerParams::default())
            .unwrap()
            .unwrap();
        let gross = 2.0 * 0.3 / 200.3 * 1e4;
        close(opp.gross_bps, gross);
        close(opp.fees_bps, 2.0);
        assert_eq!(opp.sizes().len(), 4);
        let s0 = opp.sizes()[0];
        assert_eq!((s0.notional, s0.qty), (px("100"), qty("1")));
        assert_eq!((s0.vwap_buy, s0.vwap_sell), (px("100"), px("100.3")));
        close(s0.slippage_bps, 2.0 * (2.0 + 3.0 * 100.0 / 1e6));
        close(s0.net_bps, gross - 2.0 - 2.0 * (2.0 + 3.0 * 1e-4));
        let s3 = opp.sizes()[3];
        assert_eq!((s3.notional, s3.qty), (px("1000"), qty("10")));
        let net3 = gross - 2.0 - 2.0 * (2.0 + 3.0 * 1e-3);
        close(s3.net_bps, net3);
        let profit = s3.expected_profit_raw as f64 / 1e8;
        assert!((profit - net3 * 1000.0 / 1e4).abs() < 1e-6, "{profit}");
        assert_eq!(opp.best, 3, "the largest size earns the most");
        // Balanced books, VWAP at the touch: every available metric scores 1.
        assert_eq!(s3.confidence, 100);
        assert_eq!(opp.metrics.get(Metric::FundingDelta), None);
        assert_eq!(opp.metrics.get(Metric::LiquidationDistance), None);
    }

    #[test]
    fn test_no_candidate_on_zero_spread_or_a_missing_side() {
        let p = ScannerParams::default();
        let a = top(0, ("99.9", "100"), "10", 1_000_000);
        let b = top(1, ("100", "100.1"), "10", 1_000_000);
        assert_eq!(evaluate(&leg(&a), &leg(&b), &p), None, "zero spread");
        let mut empty = b;
        empty.bid = Price::ZERO;
        assert_eq!(evaluate(&leg(&a), &leg(&empty), &p), None, "no bid");
    }

    #[test]
    fn test_hard_constraints_reject_with_their_reason() {
        let p = ScannerParams::default();
        let a = top(0, ("99.9", "100"), "10", 1_000_000);
        let b = top(1, ("100.3", "100.4"), "10", 1_000_000);
        let reject =
            |buy: LegView<'_>, sell: LegView<'_>| evaluate(&buy, &sell, &p).unwrap().unwrap_err();
        let invalid = LegView {
            valid: false,
            ..leg(&b)
        };
        assert_eq!(reject(leg(&a), invalid), RejectReason::BookInvalid);
        let stale = LegView {
            delay_ms: 201,
            ..leg(&a)
        };
        assert_eq!(reject(stale, leg(&b)), RejectReason::VenueStale);
        let thin = top(1, ("100.3", "100.4"), "10", 150);
        assert_eq!(reject(leg(&a), leg(&thin)), RejectReason::InsufficientDepth);
        let dear = LegView {
            taker_fee: Bps::from_num(30),
            ..leg(&a)
        };
        assert_eq!(reject(dear, leg(&b)), RejectReason::Unprofitable);
        let perp = |t| LegView {
            perp: true,
            ..leg(t)
        };
        assert_eq!(reject(perp(&a), perp(&b)), RejectReason::FundingUnknown);
        let (mut fa, mut fb) = (a, b);
        fa.perp.funding_rate = Some(Rate::from_decimal_str("0.0003").unwrap());
        fb.perp.funding_rate = Some(Rate::from_decimal_str("0").unwrap());
        assert_eq!(reject(perp(&fa), perp(&fb)), RejectReason::FundingDelta);
    }

    #[test]
    fn test_depth_gates_each_size() {
        // 350 quote of depth: 2 × 100 fits, 2 × 200 does not.
        let a = top(0, ("99.9", "100"), "10", 350);
        let b = top(1, ("100.3", "100.4"), "10", 1_000_000);
        let opp = evaluate(&leg(&a), &leg(&b), &ScannerParams::default())
            .unwrap()
            .unwrap();
        assert_eq!(opp.best, 0);
        assert_eq!(opp.sizes()[0].rejected, None);
        assert_eq!(
            opp.sizes()[1].rejected,
            Some(RejectReason::InsufficientDepth)
        );
        assert_eq!(opp.sizes()[1].confidence, 0);
        // Depth enough, but the top holds 1.5 and the ladder nothing: 1 fits, 2 does not.
        let short = top(0, ("99.9", "100"), "1.5", 1_000_000);
        let opp = evaluate(&leg(&short), &leg(&b), &ScannerParams::default())
            .unwrap()
            .unwrap();
        assert_eq!(
            opp.sizes()[1].rejected,
            Some(RejectReason::InsufficientDepth)
        );
        assert_eq!(opp.best, 0);
    }

    #[test]
    fn test_soft_stale_venue_costs_points_and_perp_funding_counts() {
        let p = ScannerParams::default();
        let mut a = top(0, ("99.9", "100"), "10", 1_000_000);
        let mut b = top(1, ("100.3", "100.4"), "10", 1_000_000);
        let slow = LegView {
            delay_ms: 300,
            stale_after_ms: 1000,
            ..leg(&a)
        };
        let opp = evaluate(&slow, &leg(&b), &p).unwrap().unwrap();
        assert_eq!(opp.stale_penalty, 30);
        assert_eq!(opp.best_size().confidence, 70);
        a.perp.funding_rate = Some(Rate::from_decimal_str("0.0002").unwrap());
        b.perp.funding_rate = Some(Rate::from_decimal_str("0.0001").unwrap());
        let perp = |t| LegView {
            perp: true,
            ..leg(t)
        };
        let opp = evaluate(&perp(&a), &perp(&b), &p).unwrap().unwrap();
        close(opp.funding_delta_bps, -1.0);
        let gross = 2.0 * 0.3 / 200.3 * 1e4;
        // The adverse funding is a cost: 1 bps off the net.
        close(
            opp.sizes()[0].net_bps,
            gross - 2.0 - 2.0 * (2.0 + 3.0 * 1e-4) - 1.0,
        );
        close(opp.metrics.get(Metric::FundingDelta).unwrap(), 0.5);
        // (9 × 0.5 + 8 + 6) / 23 = 80.4 %
        assert_eq!(opp.best_size().confidence, 80);
    }

    #[test]
    fn test_mid_volatility_mean_of_moves() {
        let mut v = MidVolatility::default();
        let mut mid = 1_000_000i64;
        v.update(
            Price::from_raw(i128::from(mid) * Price::SCALE / 100),
            Price::from_raw(i128::from(mid) * Price::SCALE / 100),
        );
        for _ in 0..7 {
            mid += mid / 10_000;
            let p = Price::from_raw(i128::from(mid) * Price::SCALE / 100);
            v.update(p, p);
            assert_eq!(v.get(), None);
        }
        mid += mid / 10_000;
        let p = Price::from_raw(i128::from(mid) * Price::SCALE / 100);
        v.update(p, p);
        // Eight moves of 1 bps: 1 - (7/8)^8.
        let got = v.get().unwrap().to_num::<f64>();
        assert!((got - (1.0 - 0.875f64.powi(8))).abs() < 1e-3, "{got}");
    }
}
