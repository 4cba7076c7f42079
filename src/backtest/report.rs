//! The backtest report: trades, win rate, profit factor, net PnL, per-trade Sharpe and
//! Sortino (of PnL in bps, not annualised), max drawdown, Calmar (net PnL over max
//! drawdown), mean hold time, leg-out rate and loss, fee and slippage shares of the
//! gross PnL, opportunities per recorded hour overall and by volatility source, the
//! entries' fill rate (sent, filled, abandoned, hedged), the trades closed at the end
//! of the run, the risk peaks against their caps (exposure filled plus working, lowest
//! cash), and the replay's own figures; as Markdown and JSON in the output folder.
//!
//! Cold path, after the replay: pure arithmetic on [`BacktestData`] read back through
//! the database layer.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;

use crate::backtest::BacktestData;
use crate::backtest::plot::PlotFile;
use crate::gateway::config::QUOTE_SCALE;
use crate::gateway::stage::{report_money_raw, risk_keys};
use crate::replay::ReplayOutcome;
use crate::telemetry::db::trade_analytics::TradeStats;

/// The `trades.exit_reason` of a trade closed at the end of the run.
const END_OF_RUN: &str = "END_OF_RUN";

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
    /// Basis opportunities by volatility source (which leg moved), by name.
    pub by_source: Vec<SourceRate>,
    /// Entries sent (intents accepted: the first leg went out).
    pub entries_sent: u64,
    /// Entries filled (both legs on), hedged ones included.
    pub entries_filled: u64,
    /// Entries abandoned (the first leg filled nothing).
    pub entries_abandoned: u64,
    /// Entries whose second leg was completed by a market hedge.
    pub entries_hedged: u64,
    /// Entries filled over entries sent; `None` without entries.
    pub fill_rate: Option<f64>,
    /// Closed trades (those closed at the end of the run included).
    pub trades: u64,
    /// Trades still open when the run ended, closed at the marks (`END_OF_RUN`).
    pub end_of_run_trades: u64,
    /// Winning share, 0..=1.
    pub win_rate: f64,
    /// Net PnL, quote.
    pub pnl_quote: f64,
    /// Fees, quote.
    pub fees_quote: f64,
    /// Funding the perp legs received (positive) or paid, quote; part of the net PnL.
    pub funding_quote: f64,
    /// Funding over the gross PnL before costs; `None` when that is not positive.
    pub funding_share: Option<f64>,
    /// Perp legs the paper venue liquidated (trades closed `LIQUIDATION`).
    pub liquidations: u64,
    /// Entry slippage against the decision prices, quote: each trade's mean slippage
    /// of its two legs (bps) times the entry notional of both legs (positive: worse).
    pub slippage_quote: f64,
    /// Fees over the gross PnL before costs (net + fees + slippage); `None` when that
    /// is not positive.
    pub fee_share: Option<f64>,
    /// Slippage over the gross PnL before costs; `None` when that is not positive
    /// (negative when fills were better than the decision prices).
    pub slippage_share: Option<f64>,
    /// Mean time from the first entry fill to the close, seconds of recorded time;
    /// `None` without trades.
    pub mean_hold_secs: Option<f64>,
    /// Leg-outs: a first leg filled, the second did not, and the first was hedged.
    pub leg_outs: u64,
    /// Leg-outs per closed trade; `None` without trades.
    pub leg_out_rate: Option<f64>,
    /// Summed cost of the leg-out hedges against the intended edge, quote.
    pub leg_out_loss_quote: f64,
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
    /// The highest exposure and lowest cash of the run, against the caps.
    pub risk: RiskPeaks,
    /// Damage found in the inputs (everything before it was replayed).
    pub damage: Vec<String>,
    /// The plots written beside the report (linked from the Markdown).
    pub plots: Vec<PlotFile>,
}

/// The risk peaks of a run, quote (exposure is filled plus working, as risk checks it).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RiskPeaks {
    /// Highest exposure of one instrument.
    pub instrument_quote: f64,
    /// `risk.position_per_symbol_max`.
    pub instrument_cap_quote: f64,
    /// Highest exposure of one venue.
    pub venue_quote: f64,
    /// `risk.position_per_venue_max`.
    pub venue_cap_quote: f64,
    /// Highest total exposure.
    pub total_quote: f64,
    /// `risk.exposure_total_max`.
    pub total_cap_quote: f64,
    /// Lowest available capital.
    pub cash_min_quote: f64,
    /// Lowest available capital less what working orders reserved.
    pub free_cash_min_quote: f64,
    /// `risk.balance_min`.
    pub balance_min_quote: f64,
    /// Entry fills that locked more than their reservation.
    pub reservation_overruns: u64,
}

impl RiskPeaks {
    fn of(r: &crate::runtime::RunReport) -> Self {
        let quote = |keys| report_money_raw(r, keys) as f64 / QUOTE_SCALE as f64;
        Self {
            instrument_quote: quote(risk_keys::PEAK_INSTRUMENT),
            instrument_cap_quote: quote(risk_keys::CAP_INSTRUMENT),
            venue_quote: quote(risk_keys::PEAK_VENUE),
            venue_cap_quote: quote(risk_keys::CAP_VENUE),
            total_quote: quote(risk_keys::PEAK_TOTAL),
            total_cap_quote: quote(risk_keys::CAP_TOTAL),
            cash_min_quote: quote(risk_keys::CASH_MIN),
            free_cash_min_quote: quote(risk_keys::FREE_CASH_MIN),
            balance_min_quote: quote(risk_keys::BALANCE_MIN),
            reservation_overruns: r.counter("gateway.reservation_overruns"),
        }
    }

    fn to_markdown(self, out: &mut String) {
        out.push_str(
            "\n## Risk (filled plus working)\n\n| figure | peak | limit |\n|---|---|---|\n",
        );
        let rows = [
            (
                "exposure of one instrument",
                self.instrument_quote,
                self.instrument_cap_quote,
            ),
            (
                "exposure of one venue",
                self.venue_quote,
                self.venue_cap_quote,
            ),
            ("total exposure", self.total_quote, self.total_cap_quote),
            (
                "lowest cash (minimum balance)",
                self.cash_min_quote,
                self.balance_min_quote,
            ),
            (
                "lowest cash after reservations",
                self.free_cash_min_quote,
                self.balance_min_quote,
            ),
        ];
        for (name, peak, limit) in rows {
            let _ = writeln!(out, "| {name} | {peak:.2} | {limit:.2} |");
        }
        let _ = writeln!(
            out,
            "\nEntry fills over their reservation: {}",
            self.reservation_overruns
        );
    }
}

/// Basis opportunities of one volatility source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceRate {
    /// `PERP`, `SPOT` or `BOTH`.
    pub source: String,
    /// Opportunities.
    pub count: u64,
    /// Per recorded hour (0 when no time was recorded).
    pub per_hour: f64,
    /// Share of all basis opportunities, 0..=1.
    pub share: f64,
}

impl BacktestReport {
    /// The report of a replay and the rows it wrote.
    pub fn new(outcome: &ReplayOutcome, data: &BacktestData) -> Self {
        let trades = &data.trades;
        let stats = TradeStats::from_trades(trades);
        let r = &outcome.report;
        let recorded_hours = outcome.last_ts_ns.saturating_sub(outcome.first_ts_ns) as f64 / 3.6e12;
        let per_hour = |n: u64| {
            if recorded_hours > 0.0 {
                n as f64 / recorded_hours
            } else {
                0.0
            }
        };
        let basis = r.counter("edge.opportunities");
        let spread = r.counter("edge.spread_accepted");
        let bps: Vec<f64> = trades.iter().map(|t| t.pnl_bps).collect();
        let mean = mean(&bps);
        let slippage_quote = trades
            .iter()
            .map(|t| t.slippage_bps * t.notional_quote / 10_000.0)
            .fold(0.0, |sum, x| sum + x);
        let gross = stats.all.pnl_quote + stats.fees_quote + slippage_quote;
        let funding_quote =
            report_money_raw(&outcome.report, risk_keys::FUNDING) as f64 / QUOTE_SCALE as f64;
        let share = |cost: f64| (gross > 0.0).then(|| cost / gross);
        let per_trade = |x: f64| (!trades.is_empty()).then(|| x / trades.len() as f64);
        let finite = |x: f64| x.is_finite().then_some(x);
        let sourced: u64 = data.sources.iter().map(|s| s.count).sum();
        let sent = r.counter("gateway.accepted");
        let filled = r.counter("gateway.entries_filled");
        Self {
            frames: outcome.frames,
            recorded_hours,
            replay_secs: outcome.elapsed.as_secs_f64(),
            basis_opportunities: basis,
            spread_opportunities: spread,
            opportunities_per_hour: per_hour(basis + spread),
            by_source: data
                .sources
                .iter()
                .map(|s| SourceRate {
                    source: s.source.clone(),
                    count: s.count,
                    per_hour: per_hour(s.count),
                    share: s.count as f64 / sourced.max(1) as f64,
                })
                .collect(),
            entries_sent: sent,
            entries_filled: filled,
            entries_abandoned: r.counter("gateway.trades_abandoned"),
            entries_hedged: r.counter("gateway.entries_hedged"),
            fill_rate: (sent > 0).then(|| filled as f64 / sent as f64),
            trades: stats.all.trades,
            end_of_run_trades: trades
                .iter()
                .filter(|t| t.exit_reason == END_OF_RUN)
                .count() as u64,
            win_rate: stats.all.win_rate(),
            pnl_quote: stats.all.pnl_quote,
            fees_quote: stats.fees_quote,
            funding_quote,
            funding_share: share(funding_quote),
            liquidations: r.counter("gateway.liquidations"),
            slippage_quote,
            fee_share: share(stats.fees_quote),
            slippage_share: share(slippage_quote),
            mean_hold_secs: per_trade(trades.iter().map(|t| t.hold_ms / 1e3).sum()),
            leg_outs: data.leg_outs.events,
            leg_out_rate: per_trade(data.leg_outs.events as f64),
            leg_out_loss_quote: data.leg_outs.loss_quote,
            profit_factor: finite(stats.profit_factor).filter(|_| !trades.is_empty()),
            mean_pnl_bps: mean,
            sharpe_per_trade: sharpe_per_trade(&bps),
            sortino_per_trade: deviation(&bps, mean, |x| x < 0.0).and_then(|dd| finite(mean / dd)),
            max_drawdown_quote: stats.max_drawdown_quote,
            calmar: (stats.max_drawdown_quote > 0.0)
                .then(|| stats.all.pnl_quote / stats.max_drawdown_quote),
            risk: RiskPeaks::of(r),
            damage: outcome.damage.clone(),
            plots: Vec::new(),
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
            ("entries sent", self.entries_sent.to_string()),
            ("entries filled", self.entries_filled.to_string()),
            ("entries abandoned", self.entries_abandoned.to_string()),
            ("entries hedged (leg-out)", self.entries_hedged.to_string()),
            ("fill rate", opt(self.fill_rate)),
            ("trades", self.trades.to_string()),
            (
                "of which closed at the end of the run",
                self.end_of_run_trades.to_string(),
            ),
            ("win rate", format!("{:.1}%", self.win_rate * 100.0)),
            ("net PnL (quote)", format!("{:+.4}", self.pnl_quote)),
            ("fees (quote)", format!("{:.4}", self.fees_quote)),
            ("funding (quote)", format!("{:+.4}", self.funding_quote)),
            ("funding share of gross PnL", opt(self.funding_share)),
            ("liquidations", self.liquidations.to_string()),
            ("slippage (quote)", format!("{:+.4}", self.slippage_quote)),
            ("fee share of gross PnL", opt(self.fee_share)),
            ("slippage share of gross PnL", opt(self.slippage_share)),
            ("mean hold time, s", opt(self.mean_hold_secs)),
            ("leg-outs", self.leg_outs.to_string()),
            ("leg-outs per trade", opt(self.leg_out_rate)),
            (
                "leg-out loss (quote)",
                format!("{:.4}", self.leg_out_loss_quote),
            ),
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
        self.risk.to_markdown(&mut out);
        if !self.by_source.is_empty() {
            out.push_str(
                "\n## Basis opportunities by volatility source\n\n\
                 | source | count | share | per hour |\n|---|---|---|---|\n",
            );
            for s in &self.by_source {
                let _ = writeln!(
                    out,
                    "| {} | {} | {:.1}% | {:.1} |",
                    s.source,
                    s.count,
                    s.share * 100.0,
                    s.per_hour
                );
            }
        }
        if !self.plots.is_empty() {
            out.push_str("\n## Plots\n");
            for p in &self.plots {
                let _ = write!(out, "\n![{}]({})\n", p.title, p.file);
            }
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

/// Mean over standard deviation of per-trade PnL (bps); `None` under two trades or
/// without dispersion.
pub(crate) fn sharpe_per_trade(bps: &[f64]) -> Option<f64> {
    let mean = mean(bps);
    deviation(bps, mean, |_| true)
        .filter(|_| bps.len() > 1)
        .map(|sd| mean / sd)
        .filter(|x| x.is_finite())
}

fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        0.0
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// Deviations below this share of the largest value are rounding noise.
const RELATIVE_NOISE: f64 = 1e-9;

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
    // Rounding leaves equal values a deviation of ~1e-16 of their size: not dispersion.
    let scale = xs.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    (sd > scale * RELATIVE_NOISE).then_some(sd)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::runtime::{RunReport, StopReason};
    use crate::telemetry::db::analytics::SourceLine;
    use crate::telemetry::db::backtest_reads::{LegOutTotals, NetEdges};
    use crate::telemetry::db::trade_analytics::TradeLine;

    fn trade(pnl_quote: f64, pnl_bps: f64, hold_ms: f64) -> TradeLine {
        TradeLine {
            entry_at: "2026-11-21T09:59:59.000Z".into(),
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
            slippage_bps: 1.0,
            notional_quote: 5_000.0,
            hold_ms,
        }
    }

    fn source(name: &str, count: u64) -> SourceLine {
        SourceLine {
            source: name.into(),
            count,
            avg_edge_bps: 15.0,
            avg_hybrid_advantage_bps: 1.0,
        }
    }

    fn outcome() -> ReplayOutcome {
        let mut report = RunReport::default();
        report.set("edge.opportunities", 30);
        report.set("edge.spread_accepted", 10);
        report.set("gateway.accepted", 8);
        report.set("gateway.entries_filled", 4);
        report.set("gateway.entries_hedged", 1);
        report.set("gateway.trades_abandoned", 3);
        report.set(risk_keys::PEAK_INSTRUMENT[0], 999_950_000_000);
        report.set(risk_keys::CAP_INSTRUMENT[0], 1_000_000_000_000);
        report.set(risk_keys::CASH_MIN[1], 1_060_600_000_000);
        ReplayOutcome {
            report,
            stop: StopReason::EndOfInput,
            frames: 1000,
            elapsed: Duration::from_millis(250),
            damage: Vec::new(),
            first_ts_ns: 0,
            last_ts_ns: 7_200_000_000_000,
        }
    }

    #[test]
    fn test_report_figures_of_known_trades() {
        let data = BacktestData {
            trades: vec![
                trade(3.0, 6.0, 1_000.0),
                trade(-1.0, -2.0, 2_000.0),
                trade(2.0, 4.0, 3_000.0),
                TradeLine {
                    exit_reason: END_OF_RUN.into(),
                    ..trade(-2.0, -4.0, 6_000.0)
                },
            ],
            leg_outs: LegOutTotals {
                events: 1,
                loss_quote: 0.75,
            },
            sources: vec![source("BOTH", 3), source("PERP", 24), source("SPOT", 3)],
            edges: NetEdges::default(),
        };
        let r = BacktestReport::new(&outcome(), &data);
        assert_eq!(r.trades, 4);
        assert_eq!(r.end_of_run_trades, 1);
        assert_eq!(
            (
                r.entries_sent,
                r.entries_filled,
                r.entries_abandoned,
                r.entries_hedged
            ),
            (8, 4, 3, 1)
        );
        assert_eq!(r.fill_rate, Some(0.5));
        assert_eq!(
            (r.risk.instrument_quote, r.risk.instrument_cap_quote),
            (9_999.5, 10_000.0)
        );
        assert_eq!(r.risk.cash_min_quote, -10_606.0);
        assert!((r.win_rate - 0.5).abs() < 1e-12);
        assert!((r.pnl_quote - 2.0).abs() < 1e-12);
        assert!((r.fees_quote - 2.0).abs() < 1e-12);
        // 1 bps of 5,000 per trade: 0.5 each; gross before costs 2 + 2 + 2 = 6.
        assert!((r.slippage_quote - 2.0).abs() < 1e-12);
        assert!((r.fee_share.unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert!((r.slippage_share.unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert!((r.mean_hold_secs.unwrap() - 3.0).abs() < 1e-12);
        assert_eq!(r.leg_outs, 1);
        assert_eq!(r.leg_out_rate, Some(0.25));
        assert!((r.leg_out_loss_quote - 0.75).abs() < 1e-12);
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
        let perp = &r.by_source[1];
        assert_eq!((perp.source.as_str(), perp.count), ("PERP", 24));
        assert!((perp.per_hour - 12.0).abs() < 1e-12);
        assert!((perp.share - 0.8).abs() < 1e-12);
        assert!((r.by_source[0].per_hour - 1.5).abs() < 1e-12);
        let md = r.to_markdown();
        assert!(md.contains("| win rate | 50.0% |"), "{md}");
        assert!(md.contains("| leg-outs per trade | 0.250 |"), "{md}");
        assert!(md.contains("| fill rate | 0.500 |"), "{md}");
        assert!(
            md.contains("| exposure of one instrument | 9999.50 | 10000.00 |"),
            "{md}"
        );
        assert!(
            md.contains("| lowest cash (minimum balance) | -10606.00 | 0.00 |"),
            "{md}"
        );
        assert!(
            md.contains("| of which closed at the end of the run | 1 |"),
            "{md}"
        );
        assert!(md.contains("| PERP | 24 | 80.0% | 12.0 |"), "{md}");
        let dir = tempfile::tempdir().unwrap();
        let [_, json] = r.write(dir.path()).unwrap();
        let text = std::fs::read_to_string(json).unwrap();
        assert!(text.contains("\"trades\": 4"), "{text}");
        assert!(text.contains("\"leg_out_rate\": 0.25"), "{text}");
    }

    #[test]
    fn test_report_equal_trades_have_no_sharpe() {
        // -14.989 bps each, as float sums leave them: no dispersion, no ratio.
        let bps = [-14.989_f64, -14.989 + 1e-14, -14.989 - 1e-14, -14.989];
        assert_eq!(sharpe_per_trade(&bps), None);
        assert_eq!(sharpe_per_trade(&[1.0, 2.0]), Some(3.0));
    }

    #[test]
    fn test_report_without_trades_has_no_ratios() {
        let r = BacktestReport::new(&outcome(), &BacktestData::default());
        assert_eq!(r.trades, 0);
        assert_eq!(
            (
                r.fee_share,
                r.slippage_share,
                r.mean_hold_secs,
                r.leg_out_rate
            ),
            (None, None, None, None)
        );
        assert_eq!(
            (r.profit_factor, r.sharpe_per_trade, r.calmar),
            (None, None, None)
        );
        assert!(r.by_source.is_empty());
        assert!(r.to_markdown().contains("| slippage (quote) | +0.0000 |"));
        assert!(!r.to_markdown().contains("volatility source"));
    }
}
