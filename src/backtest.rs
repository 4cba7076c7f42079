//! `edgeline backtest`: a replay (with the paper gateway the configuration enables)
//! followed by a report of what it traded, as Markdown and JSON in the output folder:
//! trades, win rate, profit factor, net PnL, fee share, per-trade Sharpe and Sortino
//! (of PnL in bps, not annualised), max drawdown, Calmar (net PnL over max drawdown),
//! opportunities per recorded hour, and the replay's own figures.
//!
//! Cold path, after the replay: reads the trades back through the database layer
//! ([`Reader::trades`]) so SQLite and PostgreSQL give the same report.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use crate::replay::ReplayOutcome;
use crate::telemetry::db::trade_analytics::{TradeLine, TradeStats};

/// File names of the report in the output folder.
pub const MARKDOWN_FILE: &str = "backtest.md";
/// See [`MARKDOWN_FILE`].
pub const JSON_FILE: &str = "backtest.json";

/// What a backtest reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestReport {
    /// Frames replayed.
    pub frames: u64,
    /// Recorded time covered, hours.
    pub recorded_hours: f64,
    /// Wall time of the replay, seconds.
    pub replay_secs: f64,
    /// Basis opportunities recorded.
    pub basis_opportunities: u64,
    /// Cross-venue opportunities accepted.
    pub spread_opportunities: u64,
    /// Opportunities (both kinds) per recorded hour.
    pub opportunities_per_hour: f64,
    /// Closed trades.
    pub trades: u64,
    /// Winning share, 0..=1.
    pub win_rate: f64,
    /// Net PnL, quote.
    pub pnl_quote: f64,
    /// Fees, quote.
    pub fees_quote: f64,
    /// Fees over gross PnL (net + fees); `None` when gross PnL is not positive.
    pub fee_share: Option<f64>,
    /// Gross profit over gross loss; `None` without losses.
    pub profit_factor: Option<f64>,
    /// Mean PnL per trade, bps.
    pub mean_pnl_bps: f64,
    /// Mean over standard deviation of per-trade PnL (bps); `None` under two trades.
    pub sharpe_per_trade: Option<f64>,
    /// Mean over downside deviation of per-trade PnL (bps); `None` without losses.
    pub sortino_per_trade: Option<f64>,
    /// Largest fall of cumulative PnL from a peak, quote.
    pub max_drawdown_quote: f64,
    /// Net PnL over max drawdown; `None` without a drawdown.
    pub calmar: Option<f64>,
    /// Damage found in the inputs (everything before it was replayed).
    pub damage: Vec<String>,
}

impl BacktestReport {
    /// The report of a replay and the trades it closed (in exit order).
    pub fn new(outcome: &ReplayOutcome, trades: &[TradeLine]) -> Self {
        let stats = TradeStats::from_trades(trades);
        let r = &outcome.report;
        let recorded_hours = outcome.last_ts_ns.saturating_sub(outcome.first_ts_ns) as f64 / 3.6e12;
        let basis = r.counter("edge.opportunities");
        let spread = r.counter("edge.spread_accepted");
        let bps: Vec<f64> = trades.iter().map(|t| t.pnl_bps).collect();
        let mean = mean(&bps);
        let gross = stats.all.pnl_quote + stats.fees_quote;
        let finite = |x: f64| x.is_finite().then_some(x);
        Self {
            frames: outcome.frames,
            recorded_hours,
            replay_secs: outcome.elapsed.as_secs_f64(),
            basis_opportunities: basis,
            spread_opportunities: spread,
            opportunities_per_hour: if recorded_hours > 0.0 {
                (basis + spread) as f64 / recorded_hours
            } else {
                0.0
            },
            trades: stats.all.trades,
            win_rate: stats.all.win_rate(),
            pnl_quote: stats.all.pnl_quote,
            fees_quote: stats.fees_quote,
            fee_share: (gross > 0.0).then(|| stats.fees_quote / gross),
            profit_factor: finite(stats.profit_factor).filter(|_| !trades.is_empty()),
            mean_pnl_bps: mean,
            sharpe_per_trade: deviation(&bps, mean, |_| true)
                .filter(|_| bps.len() > 1)
                .and_then(|sd| finite(mean / sd)),
            sortino_per_trade: deviation(&bps, mean, |x| x < 0.0).and_then(|dd| finite(mean / dd)),
            max_drawdown_quote: stats.max_drawdown_quote,
            calmar: (stats.max_drawdown_quote > 0.0)
                .then(|| stats.all.pnl_quote / stats.max_drawdown_quote),
            damage: outcome.damage.clone(),
        }
    }

    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let opt = |x: Option<f64>| x.map_or("-".to_owned(), |v| format!("{v:.3}"));
        let mut out = String::from("# Backtest\n\n| figure | value |\n|---|---|\n");
        let rows = [
            ("frames replayed", self.frames.to_string()),
            ("recorded hours", format!("{:.3}", self.recorded_hours)),
            ("replay time, s", format!("{:.3}", self.replay_secs)),
            ("basis opportunities", self.basis_opportunities.to_string()),
            (
                "cross-venue opportunities",
                self.spread_opportunities.to_string(),
            ),
            (
                "opportunities per hour",
                format!("{:.1}", self.opportunities_per_hour),
            ),
            ("trades", self.trades.to_string()),
            ("win rate", format!("{:.1}%", self.win_rate * 100.0)),
            ("net PnL (quote)", format!("{:+.4}", self.pnl_quote)),
            ("fees (quote)", format!("{:.4}", self.fees_quote)),
            ("fee share of gross PnL", opt(self.fee_share)),
            ("profit factor", opt(self.profit_factor)),
            (
                "mean PnL per trade, bps",
                format!("{:+.3}", self.mean_pnl_bps),
            ),
            ("Sharpe per trade", opt(self.sharpe_per_trade)),
            ("Sortino per trade", opt(self.sortino_per_trade)),
            (
                "max drawdown (quote)",
                format!("{:.4}", self.max_drawdown_quote),
            ),
            ("Calmar (net PnL / max drawdown)", opt(self.calmar)),
        ];
        for (name, value) in rows {
            let _ = writeln!(out, "| {name} | {value} |");
        }
        for d in &self.damage {
            let _ = writeln!(out, "\nDamaged input: {d}");
        }
        out
    }

    /// Writes `backtest.md` and `backtest.json` into `dir`; returns their paths.
    pub fn write(&self, dir: &std::path::Path) -> std::io::Result<[PathBuf; 2]> {
        let md = dir.join(MARKDOWN_FILE);
        let json = dir.join(JSON_FILE);
        std::fs::write(&md, self.to_markdown())?;
        let text = sonic_rs::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&json, text)?;
        Ok([md, json])
    }
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// Root mean square of the deviations of the values `counted` keeps (from `mean` for
/// all, from 0 for the downside), over all values; `None` when it is 0.
fn deviation(xs: &[f64], mean: f64, counted: impl Fn(f64) -> bool) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    let all = counted(f64::INFINITY);
    let sum: f64 = xs
        .iter()
        .filter(|&&x| counted(x))
        .map(|&x| if all { (x - mean).powi(2) } else { x * x })
        .sum();
    let sd = (sum / xs.len() as f64).sqrt();
    (sd > 0.0).then_some(sd)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::runtime::{RunReport, StopReason};

    fn trade(pnl_quote: f64, pnl_bps: f64) -> TradeLine {
        TradeLine {
            exit_at: "2026-11-21T10:00:00Z".into(),
            hour: 10,
            strategy: "BASIS".into(),
            long: "binance BTCUSDT".into(),
            short: "binance BTCUSDT".into(),
            qty: 0.01,
            pnl_quote,
            pnl_bps,
            fees_quote: 0.5,
            confidence: 80,
            exit_reason: "TARGET".into(),
        }
    }

    #[test]
    fn test_report_figures_of_known_trades() {
        let mut report = RunReport::default();
        report.set("edge.opportunities", 30);
        report.set("edge.spread_accepted", 10);
        let outcome = ReplayOutcome {
            report,
            stop: StopReason::EndOfInput,
            frames: 1000,
            elapsed: Duration::from_millis(250),
            damage: Vec::new(),
            first_ts_ns: 0,
            last_ts_ns: 7_200_000_000_000,
        };
        let trades = [
            trade(3.0, 6.0),
            trade(-1.0, -2.0),
            trade(2.0, 4.0),
            trade(-2.0, -4.0),
        ];
        let r = BacktestReport::new(&outcome, &trades);
        assert_eq!(r.trades, 4);
        assert!((r.win_rate - 0.5).abs() < 1e-12);
        assert!((r.pnl_quote - 2.0).abs() < 1e-12);
        assert!((r.fees_quote - 2.0).abs() < 1e-12);
        assert_eq!(r.fee_share, Some(0.5));
        assert_eq!(r.profit_factor, Some(5.0 / 3.0));
        assert!((r.mean_pnl_bps - 1.0).abs() < 1e-12);
        // Deviations from 1: 5, -3, 3, -5 → sd = sqrt(68 / 4).
        assert!((r.sharpe_per_trade.unwrap() - 1.0 / 17f64.sqrt()).abs() < 1e-12);
        // Downside: -2 and -4 → sqrt(20 / 4).
        assert!((r.sortino_per_trade.unwrap() - 1.0 / 5f64.sqrt()).abs() < 1e-12);
        assert!((r.max_drawdown_quote - 2.0).abs() < 1e-12);
        assert_eq!(r.calmar, Some(1.0));
        assert!((r.recorded_hours - 2.0).abs() < 1e-12);
        assert!((r.opportunities_per_hour - 20.0).abs() < 1e-12);
        let md = r.to_markdown();
        assert!(md.contains("| win rate | 50.0% |"), "{md}");
        let dir = tempfile::tempdir().unwrap();
        let [_, json] = r.write(dir.path()).unwrap();
        let text = std::fs::read_to_string(json).unwrap();
        assert!(text.contains("\"trades\": 4"), "{text}");
    }
}
