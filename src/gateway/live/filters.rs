//! Symbol filters from `exchangeInfo`, read once at start, and the check every order
//! passes before it is sent: an order that would break one is refused locally and
//! never reaches the venue.
//!
//! Filters read (spot `filters.md`, USD-M `exchangeInfo`, read 2026-12-08):
//! `PRICE_FILTER` (`tickSize`, `minPrice`, `maxPrice`), `LOT_SIZE` (`stepSize`,
//! `minQty`, `maxQty`), `MARKET_LOT_SIZE` (market orders' own `maxQty`),
//! `NOTIONAL` / `MIN_NOTIONAL` (spot `minNotional`, USD-M `notional`) and
//! `PERCENT_PRICE` / `PERCENT_PRICE_BY_SIDE` (`multiplierUp` / `multiplierDown`,
//! against a reference price the caller gives: the book's mid). A zero bound means
//! "not set", as Binance documents.
//!
//! Cold to build (the I/O thread parses the JSON at start-up); [`SymbolFilters::check`]
//! is plain integer arithmetic.

use crate::gateway::order::OrderStyle;
use crate::types::{Price, Qty};

/// One symbol's trading rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SymbolFilters {
    /// Price increment (zero: none).
    pub tick: Price,
    /// Lowest and highest price (zero: none).
    pub min_price: Price,
    /// Highest price (zero: none).
    pub max_price: Price,
    /// Quantity increment.
    pub step: Qty,
    /// Smallest quantity.
    pub min_qty: Qty,
    /// Largest quantity of a limit order (zero: none).
    pub max_qty: Qty,
    /// Largest quantity of a market order (zero: `max_qty`).
    pub market_max_qty: Qty,
    /// Smallest order value, quote units (zero: none).
    pub min_notional: Price,
    /// `PERCENT_PRICE` bounds as 10^-4 multipliers of the reference price (zero: none).
    pub multiplier_up_bps: i64,
    /// Lower bound, 10^-4 of the reference.
    pub multiplier_down_bps: i64,
}

/// The filter an order breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// Price not a multiple of the tick, or outside `minPrice`..`maxPrice`.
    #[error("PRICE_FILTER")]
    Price,
    /// Quantity not a multiple of the step, or outside `minQty`..`maxQty`.
    #[error("LOT_SIZE")]
    Lot,
    /// Value under the minimum notional.
    #[error("MIN_NOTIONAL")]
    MinNotional,
    /// Price too far from the reference.
    #[error("PERCENT_PRICE")]
    PercentPrice,
    /// The symbol has no filters (not listed in `exchangeInfo`).
    #[error("unknown symbol")]
    UnknownSymbol,
}

impl SymbolFilters {
    /// Checks an order of `style` at `limit` for `qty`; `reference` is the price the
    /// value and percent-price checks use for a market order and the percent band's
    /// centre (the book's mid; zero: unknown, those checks are skipped).
    pub fn check(
        &self,
        style: OrderStyle,
        limit: Price,
        qty: Qty,
        reference: Price,
    ) -> Result<(), FilterError> {
        let max_qty = match style {
            OrderStyle::Market if !self.market_max_qty.is_zero() => self.market_max_qty,
            _ => self.max_qty,
        };
        let off_step = !self.step.is_zero() && qty.raw() % self.step.raw() != 0;
        if qty.raw() <= 0 || off_step || qty < self.min_qty || (!max_qty.is_zero() && qty > max_qty)
        {
            return Err(FilterError::Lot);
        }
        let price = if style == OrderStyle::Market {
            reference
        } else {
            self.check_price(limit)?;
            limit
        };
        if !self.min_notional.is_zero()
            && !price.is_zero()
            && price.notional_raw(qty) < self.min_notional.notional_raw(Qty::from_raw(Qty::SCALE))
        {
            return Err(FilterError::MinNotional);
        }
        if style != OrderStyle::Market && !reference.is_zero() && self.multiplier_up_bps > 0 {
            let r = reference.raw();
            let up = r * i128::from(self.multiplier_up_bps) / 10_000;
            let down = r * i128::from(self.multiplier_down_bps) / 10_000;
            if limit.raw() > up || limit.raw() < down {
                return Err(FilterError::PercentPrice);
            }
        }
        Ok(())
    }

    fn check_price(&self, limit: Price) -> Result<(), FilterError> {
        let off_tick = !self.tick.is_zero() && limit.raw() % self.tick.raw() != 0;
        let low = !self.min_price.is_zero() && limit < self.min_price;
        let high = !self.max_price.is_zero() && limit > self.max_price;
        if limit.raw() <= 0 || off_tick || low || high {
            return Err(FilterError::Price);
        }
        Ok(())
    }

    /// The filters of `symbol` in an `exchangeInfo` body (spot or USD-M).
    pub fn from_exchange_info(body: &str, symbol: &str) -> Result<Self, FilterError> {
        use sonic_rs::{JsonContainerTrait as _, JsonValueTrait as _};
        let v: sonic_rs::Value =
            sonic_rs::from_str(body).map_err(|_| FilterError::UnknownSymbol)?;
        let symbols = v["symbols"].as_array().ok_or(FilterError::UnknownSymbol)?;
        let entry = symbols
            .iter()
            .find(|s| s["symbol"].as_str() == Some(symbol))
            .ok_or(FilterError::UnknownSymbol)?;
        let mut f = SymbolFilters::default();
        let filters = entry["filters"]
            .as_array()
            .ok_or(FilterError::UnknownSymbol)?;
        for filter in filters.iter() {
            let p = |k: &str| dec::<Price>(filter, k);
            let q = |k: &str| dec::<Qty>(filter, k);
            match filter["filterType"].as_str().unwrap_or("") {
                "PRICE_FILTER" => {
                    (f.tick, f.min_price, f.max_price) =
                        (p("tickSize"), p("minPrice"), p("maxPrice"));
                }
                "LOT_SIZE" => {
                    (f.step, f.min_qty, f.max_qty) = (q("stepSize"), q("minQty"), q("maxQty"))
                }
                "MARKET_LOT_SIZE" => f.market_max_qty = q("maxQty"),
                "NOTIONAL" | "MIN_NOTIONAL" => {
                    f.min_notional = if filter["minNotional"].is_null() {
                        p("notional")
                    } else {
                        p("minNotional")
                    };
                }
                "PERCENT_PRICE" | "PERCENT_PRICE_BY_SIDE" => {
                    let (up, down) = if filter["multiplierUp"].is_null() {
                        ("askMultiplierUp", "bidMultiplierDown")
                    } else {
                        ("multiplierUp", "multiplierDown")
                    };
                    f.multiplier_up_bps = bps(filter, up);
                    f.multiplier_down_bps = bps(filter, down);
                }
                _ => {}
            }
        }
        Ok(f)
    }
}

trait FromDec: Default {
    fn from_dec(s: &str) -> Option<Self>;
}

impl FromDec for Price {
    fn from_dec(s: &str) -> Option<Self> {
        Price::from_decimal_str(s).ok()
    }
}

impl FromDec for Qty {
    fn from_dec(s: &str) -> Option<Self> {
        Qty::from_decimal_str(s).ok()
    }
}

fn dec<T: FromDec>(v: &sonic_rs::Value, key: &str) -> T {
    use sonic_rs::JsonValueTrait as _;
    v[key].as_str().and_then(T::from_dec).unwrap_or_default()
}

fn bps(v: &sonic_rs::Value, key: &str) -> i64 {
    let p: Price = dec(v, key);
    i64::try_from(p.raw() * 10_000 / Price::SCALE).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = r#"{"symbols":[{"symbol":"BTCUSDT","filters":[
        {"filterType":"PRICE_FILTER","minPrice":"0.01","maxPrice":"1000000.00","tickSize":"0.01"},
        {"filterType":"LOT_SIZE","minQty":"0.00001","maxQty":"9000.00","stepSize":"0.00001"},
        {"filterType":"MARKET_LOT_SIZE","minQty":"0","maxQty":"100.0","stepSize":"0"},
        {"filterType":"NOTIONAL","minNotional":"5.00","applyMinToMarket":true},
        {"filterType":"PERCENT_PRICE_BY_SIDE","bidMultiplierUp":"5","bidMultiplierDown":"0.2","askMultiplierUp":"5","askMultiplierDown":"0.2"}]}]}"#;

    fn p(s: &str) -> Price {
        Price::from_decimal_str(s).unwrap()
    }

    fn q(s: &str) -> Qty {
        Qty::from_decimal_str(s).unwrap()
    }

    #[test]
    fn test_filters_parsed_and_each_refuses_its_order() {
        let f = SymbolFilters::from_exchange_info(INFO, "BTCUSDT").unwrap();
        assert_eq!(
            (f.tick, f.step, f.min_notional),
            (p("0.01"), q("0.00001"), p("5"))
        );
        assert_eq!(
            (f.multiplier_up_bps, f.multiplier_down_bps),
            (50_000, 2_000)
        );
        let ioc = OrderStyle::Ioc;
        let mid = p("50000");
        assert_eq!(f.check(ioc, p("50000.01"), q("0.001"), mid), Ok(()));
        assert_eq!(
            f.check(ioc, p("50000.005"), q("0.001"), mid),
            Err(FilterError::Price)
        );
        assert_eq!(
            f.check(ioc, p("50000"), q("0.000015"), mid),
            Err(FilterError::Lot)
        );
        assert_eq!(
            f.check(ioc, p("50000"), q("9001"), mid),
            Err(FilterError::Lot)
        );
        assert_eq!(
            f.check(ioc, p("50000"), q("0.00009"), mid),
            Err(FilterError::MinNotional)
        );
        assert_eq!(
            f.check(ioc, p("260000"), q("0.001"), mid),
            Err(FilterError::PercentPrice)
        );
        let market = OrderStyle::Market;
        assert_eq!(
            f.check(market, Price::ZERO, q("101"), mid),
            Err(FilterError::Lot)
        );
        assert_eq!(f.check(market, Price::ZERO, q("0.001"), mid), Ok(()));
        assert_eq!(
            SymbolFilters::from_exchange_info(INFO, "ETHUSDT"),
            Err(FilterError::UnknownSymbol)
        );
    }
}
