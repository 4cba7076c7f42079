//! How the trading statistics are shown: a figure the sample cannot estimate is shown as
//! such instead of as a number (a Sharpe of 49,154 or an APR of 266,132% from a few
//! seconds of paper trading is noise, and a profit factor without losses is not a ratio).
//!
//! - Annualised figures (realised APR, Sharpe) are shown only when the sample covers at
//!   least [`ANNUALISE_SPAN_MIN_NS`] (7 days) and holds at least
//!   [`ANNUALISE_TRADES_MIN`] (30) closed trades; otherwise "not meaningful", with the
//!   sample and the threshold.
//! - The profit factor needs a loss: without one it is "n/a (no losses)", without
//!   trades "n/a (no trades)".
//!
//! Pure formatting, run once at the end of a run (or by a query command) on whatever
//! thread reports; it touches no state.

use std::fmt;

use crate::gateway::config::NS_PER_DAY;

/// Shortest span of trading annualised figures are shown for (7 days).
pub const ANNUALISE_SPAN_MIN_NS: u64 = 7 * NS_PER_DAY;
/// Fewest closed trades annualised figures are shown for.
pub const ANNUALISE_TRADES_MIN: u64 = 30;

/// The sample the statistics come from: closed trades over a span of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Closed trades.
    pub trades: u64,
    /// Time covered, ns.
    pub span_ns: u64,
}

impl Sample {
    /// Whether annualised figures can be estimated from it.
    pub fn annualisable(self) -> bool {
        self.trades >= ANNUALISE_TRADES_MIN && self.span_ns >= ANNUALISE_SPAN_MIN_NS
    }

    /// An annualised figure: `value` formatted by `show` when the sample allows it,
    /// otherwise why not.
    pub fn annualised(self, value: f64, show: impl Fn(f64) -> String) -> String {
        if self.annualisable() && value.is_finite() {
            show(value)
        } else {
            format!(
                "not meaningful ({self}; needs {ANNUALISE_TRADES_MIN}+ trades over {}+ days)",
                ANNUALISE_SPAN_MIN_NS / NS_PER_DAY
            )
        }
    }
}

impl fmt::Display for Sample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let trades = if self.trades == 1 { "trade" } else { "trades" };
        write!(f, "{} {trades} over {}", self.trades, span(self.span_ns))
    }
}

/// A span in the largest unit that keeps it readable: `12.3 s`, `4.5 min`, `2.1 h`,
/// `3.0 days`.
pub fn span(ns: u64) -> String {
    let s = ns as f64 / 1e9;
    if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3_600.0 {
        format!("{:.1} min", s / 60.0)
    } else if s < 86_400.0 {
        format!("{:.1} h", s / 3_600.0)
    } else {
        format!("{:.1} days", s / 86_400.0)
    }
}

/// A profit factor (gross profit / gross loss) of `trades` closed trades: "n/a (no
/// losses)" when it is infinite, "n/a (no trades)" without trades.
pub fn profit_factor(value: f64, trades: u64) -> String {
    if trades == 0 {
        "n/a (no trades)".into()
    } else if value.is_infinite() {
        "n/a (no losses)".into()
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = NS_PER_DAY;

    #[test]
    fn test_seconds_of_trading_are_not_annualised() {
        let s = Sample {
            trades: 7,
            span_ns: 15_000_000_000,
        };
        let shown = s.annualised(1_624.27, |v| format!("{:.2}%", v * 100.0));
        assert_eq!(
            shown,
            "not meaningful (7 trades over 15.0 s; needs 30+ trades over 7+ days)"
        );
    }

    #[test]
    fn test_threshold_needs_both_trades_and_time() {
        let show = |v: f64| format!("{v:.2}");
        let many_short = Sample {
            trades: 10_000,
            span_ns: 7 * DAY - 1,
        };
        assert!(
            many_short
                .annualised(1.5, show)
                .starts_with("not meaningful")
        );
        let few_long = Sample {
            trades: 29,
            span_ns: 30 * DAY,
        };
        assert!(few_long.annualised(1.5, show).starts_with("not meaningful"));
        let enough = Sample {
            trades: 30,
            span_ns: 7 * DAY,
        };
        assert_eq!(enough.annualised(1.5, show), "1.50");
        assert!(
            enough
                .annualised(f64::NAN, show)
                .starts_with("not meaningful")
        );
    }

    #[test]
    fn test_profit_factor_without_losses_or_trades() {
        assert_eq!(profit_factor(f64::INFINITY, 3), "n/a (no losses)");
        assert_eq!(profit_factor(0.0, 0), "n/a (no trades)");
        assert_eq!(profit_factor(7.3, 7), "7.30");
        assert_eq!(profit_factor(0.0, 2), "0.00");
    }

    #[test]
    fn test_spans_switch_units() {
        assert_eq!(span(0), "0.0 s");
        assert_eq!(span(90_000_000_000), "1.5 min");
        assert_eq!(span(2 * 3_600_000_000_000), "2.0 h");
        assert_eq!(span(3 * DAY), "3.0 days");
        assert_eq!(
            Sample {
                trades: 1,
                span_ns: 1_000_000_000
            }
            .to_string(),
            "1 trade over 1.0 s"
        );
    }
}
