//! Margin: what a perpetual leg posts, when it is liquidated, and how much of the
//! capital the open legs hold.
//!
//! Each instrument has a [`MarginRule`] resolved from `[gateway.margin]`: a spot leg is
//! fully funded (it locks its whole notional and is never liquidated); a perp leg at
//! leverage `L` posts the initial margin `IM = ceil(N / L)` of its notional `N`, or
//! `ceil(N × initial_margin_bps / 10^4)` where that rate is configured, and must keep the
//! maintenance margin `MM = N_mark × m` (`m` = `maintenance_margin_bps / 10^4`; venue
//! defaults: Binance 40, Bybit 50, OKX 40, Hyperliquid 125 bps, the first tier of BTC on
//! each). The default leverage is 1: a perp leg then locks its notional like a spot one.
//!
//! Isolated margin, liquidation price. A leg of `q` (venue units) entered for `N = q × E`
//! with margin `M` posted (its initial margin, less funding its margin paid) has, at mark
//! `P`, the equity `M + q(P − E)` (long) or `M + q(E − P)` (short). The venue liquidates
//! when that equity reaches the maintenance margin `q × P × m`:
//!
//! - long: `M + qP − N = qPm` ⇒ `P_liq = (N − M) / (q (1 − m))`
//! - short: `M + N − qP = qPm` ⇒ `P_liq = (N + M) / (q (1 + m))`
//!
//! Worked: 0.5 BTC at 60,000 (N = 30,000) at 10x posts M = 3,000; with m = 0.4% a long is
//! liquidated at 27,000 / (0.5 × 0.996) = 54,216.867469…, a short at 33,000 /
//! (0.5 × 1.004) = 65,737.051792…. A long with `M ≥ N` (leverage 1) has no liquidation
//! price. Prices are truncated to the raw unit (10^-12): exact integer arithmetic,
//! [`mul_div`]. The paper venue closes a liquidated leg at its liquidation price (what
//! lies beyond it is the venue's insurance fund), paying the taker fee.
//!
//! Owned by the gateway thread; plain functions and a copied rule per instrument, no
//! allocation.

use crate::gateway::config::BPS_ONE;
use crate::types::decimal::mul_div;
use crate::types::{OrderSide, Price, Qty};

/// The margin rule of one instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarginRule {
    /// Whether it is margined at all (a perp); a spot leg is fully funded.
    pub margined: bool,
    /// Leverage, 1 or more.
    pub leverage: u32,
    /// Initial margin rate, bps of notional, when set apart from `1 / leverage`.
    pub initial_bps: Option<i64>,
    /// Maintenance margin rate, bps of notional.
    pub maintenance_bps: i64,
}

impl MarginRule {
    /// A fully funded instrument (spot).
    pub const FUNDED: MarginRule = MarginRule {
        margined: false,
        leverage: 1,
        initial_bps: None,
        maintenance_bps: 0,
    };

    /// The initial margin of `notional_raw`, rounded up; a fully funded instrument
    /// posts the notional itself.
    pub fn initial_raw(&self, notional_raw: i128) -> i128 {
        if !self.margined {
            return notional_raw;
        }
        let (num, den) = match self.initial_bps {
            Some(bps) => (i128::from(bps), i128::from(BPS_ONE)),
            None => (1, i128::from(self.leverage.max(1))),
        };
        let product = notional_raw * num;
        product / den + i128::from(product % den > 0)
    }

    /// The maintenance margin of a leg whose notional at the mark is `notional_raw`.
    pub fn maintenance_raw(&self, notional_raw: i128) -> i128 {
        mul_div(
            notional_raw,
            i128::from(self.maintenance_bps),
            i128::from(BPS_ONE),
        )
    }

    /// The liquidation price of a leg of `qty` on `side` entered for `entry_notional_raw`
    /// with `margin_raw` posted; `None` when it has none (fully funded, or a long whose
    /// margin covers its notional).
    pub fn liquidation_price(
        &self,
        side: OrderSide,
        qty: Qty,
        entry_notional_raw: i128,
        margin_raw: i128,
    ) -> Option<Price> {
        if !self.margined || qty.raw() <= 0 {
            return None;
        }
        let one = i128::from(BPS_ONE);
        let m = i128::from(self.maintenance_bps);
        let (numer, factor) = match side {
            OrderSide::Buy => (entry_notional_raw - margin_raw, one - m),
            OrderSide::Sell => (entry_notional_raw + margin_raw, one + m),
        };
        if numer <= 0 || factor <= 0 {
            return None;
        }
        let raw = mul_div(numer * one, Price::SCALE, qty.raw() * factor);
        Some(Price::from_raw(raw))
    }
}

/// Whether `mark` has reached a leg's liquidation price: at or below it for a long, at
/// or above it for a short.
pub fn crossed(side: OrderSide, mark: Price, liquidation: Price) -> bool {
    match side {
        OrderSide::Buy => mark <= liquidation,
        OrderSide::Sell => mark >= liquidation,
    }
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

    fn rule(leverage: u32) -> MarginRule {
        MarginRule {
            margined: true,
            leverage,
            initial_bps: None,
            maintenance_bps: 40,
        }
    }

    #[test]
    fn test_margin_initial_and_maintenance_by_hand() {
        let n = p("60000").notional_raw(q("0.5"));
        assert_eq!(n, usd(30_000));
        assert_eq!(rule(10).initial_raw(n), usd(3_000));
        // 30,000 / 7 = 4,285.71428571 and 3/7 of a raw unit: rounded up.
        assert_eq!(rule(7).initial_raw(n), 428_571_428_572);
        let rated = MarginRule {
            initial_bps: Some(1_250),
            ..rule(10)
        };
        assert_eq!(rated.initial_raw(n), usd(3_750));
        assert_eq!(MarginRule::FUNDED.initial_raw(n), n);
        // 0.4% of 30,000.
        assert_eq!(rule(10).maintenance_raw(n), usd(120));
    }

    #[test]
    fn test_margin_liquidation_price_by_hand() {
        let n = usd(30_000);
        let long = rule(10).liquidation_price(OrderSide::Buy, q("0.5"), n, usd(3_000));
        // 27,000 / (0.5 × 0.996) = 54,216.867469879518…
        assert_eq!(long, Some(Price::from_raw(54_216_867_469_879_518)));
        let short = rule(10).liquidation_price(OrderSide::Sell, q("0.5"), n, usd(3_000));
        // 33,000 / (0.5 × 1.004) = 65,737.051792828685…
        assert_eq!(short, Some(Price::from_raw(65_737_051_792_828_685)));
        // At the long's liquidation price the equity is the maintenance margin.
        let px = long.unwrap();
        let equity = usd(3_000) + px.notional_raw(q("0.5")) - n;
        let mm = rule(10).maintenance_raw(px.notional_raw(q("0.5")));
        assert!((equity - mm).abs() <= 1, "{equity} vs {mm}");
        assert_eq!(
            rule(1).liquidation_price(OrderSide::Buy, q("0.5"), n, n),
            None,
            "a fully margined long is never liquidated"
        );
        assert_eq!(
            MarginRule::FUNDED.liquidation_price(OrderSide::Sell, q("0.5"), n, n),
            None
        );
        assert!(crossed(OrderSide::Buy, p("54216"), long.unwrap()));
        assert!(!crossed(OrderSide::Buy, p("54217"), long.unwrap()));
        assert!(crossed(OrderSide::Sell, p("65738"), short.unwrap()));
        assert!(!crossed(OrderSide::Sell, p("65737"), short.unwrap()));
    }
}
