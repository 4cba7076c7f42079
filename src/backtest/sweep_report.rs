//! The sweep's report: every grid point's in-sample and out-of-sample figures side by
//! side, the ranking by the chosen metric on the in-sample figures only, and the chosen
//! point's out-of-sample result; as `sweep.md` and `sweep.json`. A point that shines
//! in-sample and fails out-of-sample is overfitted, and the table shows it.
//!
//! Cold path: pure arithmetic on the trades each replay closed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::backtest::grid::Point;
use crate::backtest::report::sharpe_per_trade;
use crate::telemetry::db::trade_analytics::{TradeLine, TradeStats};

/// File names of the report in the sweep's folder.
pub const MARKDOWN_FILE: &str = "sweep.md";
/// See [`MARKDOWN_FILE`].
pub const JSON_FILE: &str = "sweep.json";

/// What the best in-sample point is chosen by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Net PnL, quote.
    NetPnl,
    /// Per-trade Sharpe (points with under two trades rank last).
    Sharpe,
}

impl Metric {
    /// `pnl` or `sharpe`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pnl" => Some(Self::NetPnl),
            "sharpe" => Some(Self::Sharpe),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::NetPnl => "net PnL",
            Self::Sharpe => "Sharpe per trade",
        }
    }
}

/// The figures of one part (in- or out-of-sample) of one point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Figures {
    /// Closed trades.
    pub trades: u64,
    /// Winning share, 0..=1.
    pub win_rate: f64,
    /// Net PnL, quote.
    pub pnl_quote: f64,
    /// Per-trade Sharpe of PnL in bps; `None` under two trades.
    pub sharpe_per_trade: Option<f64>,
    /// Largest fall of cumulative PnL from a peak, quote.
    pub max_drawdown_quote: f64,
}

impl Figures {
    /// The figures of `trades` (in exit order).
    pub fn of(trades: &[TradeLine]) -> Self {
        let stats = TradeStats::from_trades(trades);
        let bps: Vec<f64> = trades.iter().map(|t| t.pnl_bps).collect();
        Self {
            trades: stats.all.trades,
            win_rate: stats.all.win_rate(),
            pnl_quote: stats.all.pnl_quote,
            sharpe_per_trade: sharpe_per_trade(&bps),
            max_drawdown_quote: stats.max_drawdown_quote,
        }
    }

    /// The figure `metric` ranks by.
    pub fn metric(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::NetPnl => Some(self.pnl_quote),
            Metric::Sharpe => self.sharpe_per_trade,
        }
    }
}

/// One grid point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepRow {
    /// The point, `key=value` pairs.
    pub point: String,
    /// Rank by the metric in-sample, from 1.
    pub rank: usize,
    /// Trades entered before the split, from a replay that stops there.
    pub in_sample: Figures,
    /// Trades entered after the split.
    pub out_of_sample: Figures,
}

/// The sweep's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepReport {
    /// Share of the recorded time that is in-sample.
    pub in_sample_fraction: f64,
    /// The split: the last in-sample receive time, RFC 3339.
    pub split_at: String,
    /// What the choice ranks by.
    pub metric: Metric,
    /// Every point, in grid order.
    pub rows: Vec<SweepRow>,
    /// The chosen point's index in `rows` (the best in-sample); `None` when no point
    /// has the metric in-sample.
    pub chosen: Option<usize>,
    /// The chosen point's out-of-sample figures.
    pub chosen_out_of_sample: Option<Figures>,
}

impl SweepReport {
    /// Ranks `points` (with their in- and out-of-sample trades) by `metric` in-sample.
    pub fn new(
        in_sample_fraction: f64,
        split_at: String,
        metric: Metric,
        points: &[(Point, Vec<TradeLine>, Vec<TradeLine>)],
    ) -> Self {
        let mut rows: Vec<SweepRow> = points
            .iter()
            .map(|(point, is, oos)| SweepRow {
                point: point.to_string(),
                rank: 0,
                in_sample: Figures::of(is),
                out_of_sample: Figures::of(oos),
            })
            .collect();
        let keys: Vec<Option<f64>> = rows.iter().map(|r| r.in_sample.metric(metric)).collect();
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by(|&a, &b| match (keys[a], keys[b]) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (x, y) => y.is_some().cmp(&x.is_some()),
        });
        for (rank, &i) in order.iter().enumerate() {
            rows[i].rank = rank + 1;
        }
        let chosen = order.first().copied().filter(|&i| keys[i].is_some());
        Self {
            in_sample_fraction,
            split_at,
            metric,
            chosen_out_of_sample: chosen.map(|i| rows[i].out_of_sample),
            chosen,
            rows,
        }
    }

    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let opt = |x: Option<f64>| x.map_or("-".to_owned(), |v| format!("{v:.3}"));
        let mut out = format!(
            "# Parameter sweep\n\nWalk-forward: the first {:.0}% of the recorded time \
             (to {}) is in-sample; points are ranked by {} in-sample only.\n\n\
             | rank | point | IS trades | IS win | IS PnL | IS Sharpe | IS max DD \
             | OOS trades | OOS win | OOS PnL | OOS Sharpe | OOS max DD |\n\
             |---|---|---|---|---|---|---|---|---|---|---|---|\n",
            self.in_sample_fraction * 100.0,
            self.split_at,
            self.metric.name()
        );
        for r in &self.rows {
            let (a, b) = (&r.in_sample, &r.out_of_sample);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.1}% | {:+.4} | {} | {:.4} | {} | {:.1}% | {:+.4} | {} | {:.4} |",
                r.rank,
                r.point,
                a.trades,
                a.win_rate * 100.0,
                a.pnl_quote,
                opt(a.sharpe_per_trade),
                a.max_drawdown_quote,
                b.trades,
                b.win_rate * 100.0,
                b.pnl_quote,
                opt(b.sharpe_per_trade),
                b.max_drawdown_quote,
            );
        }
        match (self.chosen, self.chosen_out_of_sample) {
            (Some(i), Some(oos)) => {
                let _ = write!(
                    out,
                    "\nChosen (best in-sample): `{}`. Out-of-sample: {} trades, net PnL \
                     {:+.4}, Sharpe per trade {}, max drawdown {:.4}.\n",
                    self.rows[i].point,
                    oos.trades,
                    oos.pnl_quote,
                    opt(oos.sharpe_per_trade),
                    oos.max_drawdown_quote
                );
            }
            _ => out.push_str("\nNo point has the metric in-sample: nothing chosen.\n"),
        }
        out
    }

    /// Writes `sweep.md` and `sweep.json` into `dir`; returns their paths.
    pub fn write(&self, dir: &Path) -> std::io::Result<[PathBuf; 2]> {
        let md = dir.join(MARKDOWN_FILE);
        let json = dir.join(JSON_FILE);
        std::fs::write(&md, self.to_markdown())?;
        let text = sonic_rs::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&json, text)?;
        Ok([md, json])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::grid::{Axis, points};

    fn trades(pnls: &[f64]) -> Vec<TradeLine> {
        pnls.iter()
            .map(|&pnl| TradeLine {
                entry_at: "2026-11-21T09:59:59.000Z".into(),
                exit_at: "2026-11-21T10:00:00.000Z".into(),
                hour: 10,
                strategy: "BASIS".into(),
                long: "binance BTCUSDT".into(),
                short: "binance BTCUSDT".into(),
                qty: 0.01,
                pnl_quote: pnl,
                pnl_bps: pnl,
                fees_quote: 0.1,
                confidence: 100,
                exit_reason: "TARGET".into(),
                slippage_bps: 0.0,
                notional_quote: 1_000.0,
                hold_ms: 1_000.0,
            })
            .collect()
    }

    fn grid() -> Vec<(Point, Vec<TradeLine>, Vec<TradeLine>)> {
        let grid =
            points(&[Axis::parse("basis.trade_threshold_bps=15,20,25,30").unwrap()]).unwrap();
        let is = [&[2.0, 1.0][..], &[5.0, -1.0], &[1.0], &[]];
        let oos = [&[1.0][..], &[-2.0], &[], &[0.5, 0.5]];
        grid.into_iter()
            .zip(is.iter().zip(oos))
            .map(|(p, (is, oos))| (p, trades(is), trades(oos)))
            .collect()
    }

    #[test]
    fn test_sweep_ranks_in_sample_and_reports_the_choice_out_of_sample() {
        let by_pnl = SweepReport::new(
            0.7,
            "2026-11-21T10:00:00.000Z".into(),
            Metric::NetPnl,
            &grid(),
        );
        let ranks: Vec<usize> = by_pnl.rows.iter().map(|r| r.rank).collect();
        assert_eq!(ranks, [2, 1, 3, 4], "in-sample PnL 3, 4, 1, 0");
        assert_eq!(by_pnl.chosen, Some(1));
        let oos = by_pnl.chosen_out_of_sample.unwrap();
        assert_eq!((oos.trades, oos.pnl_quote), (1, -2.0));
        // Sharpe: (1.5 / 0.5) = 3 and (2 / 3); one trade or none has no Sharpe.
        let by_sharpe = SweepReport::new(0.7, String::new(), Metric::Sharpe, &grid());
        let ranks: Vec<usize> = by_sharpe.rows.iter().map(|r| r.rank).collect();
        assert_eq!(ranks, [1, 2, 3, 4]);
        assert_eq!(by_sharpe.rows[0].in_sample.sharpe_per_trade, Some(3.0));
        assert_eq!(by_sharpe.chosen, Some(0));
        assert_eq!(by_sharpe.chosen_out_of_sample.unwrap().pnl_quote, 1.0);
        let none = SweepReport::new(0.7, String::new(), Metric::Sharpe, &grid()[2..]);
        assert_eq!((none.chosen, none.chosen_out_of_sample), (None, None));
        let md = by_pnl.to_markdown();
        assert!(
            md.contains("| 1 | basis.trade_threshold_bps=20 | 2 | 50.0% | +4.0000 |"),
            "{md}"
        );
        assert!(
            md.contains("Chosen (best in-sample): `basis.trade_threshold_bps=20`"),
            "{md}"
        );
        assert!(none.to_markdown().contains("nothing chosen"));
        let dir = tempfile::tempdir().unwrap();
        let [_, json] = by_pnl.write(dir.path()).unwrap();
        let text = std::fs::read_to_string(json).unwrap();
        assert!(text.contains("\"metric\": \"net_pnl\""), "{text}");
        assert_eq!(Metric::parse("sharpe"), Some(Metric::Sharpe));
        assert_eq!(Metric::parse("calmar"), None);
    }
}
