//! The backtest's PNG plots, written beside `backtest.md` (which links them): the
//! equity curve and the drawdown (cumulative net PnL after each closed trade), the
//! distribution of the opportunities' net edges, and the replay's latency percentiles.
//!
//! Cold path, after the replay; allocates the images. Same look as the latency dump's
//! plot ([`crate::telemetry::plot`]): its size, embedded font and palette. It reads only
//! what it is handed.

use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::runtime::HistogramSummary;
use crate::telemetry::db::backtest_reads::NetEdges;
use crate::telemetry::db::trade_analytics::TradeLine;
use crate::telemetry::plot::{
    FONT_FAMILY, PLOT_SIZE, PercentileLine, PlotError, draw_error, percentile_point,
    register_embedded_font, write_percentile_lines,
};

/// Bars of the edge distribution.
pub const EDGE_BINS: usize = 40;

/// One plot: its title in the report and its file name in the output folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PlotFile {
    /// Title (the report's link text).
    pub title: &'static str,
    /// File name.
    pub file: &'static str,
}

/// Equity curve.
pub const EQUITY: PlotFile = PlotFile {
    title: "Equity curve: cumulative net PnL after each trade",
    file: "backtest_equity.png",
};
/// Drawdown.
pub const DRAWDOWN: PlotFile = PlotFile {
    title: "Drawdown: cumulative net PnL below its peak",
    file: "backtest_drawdown.png",
};
/// Edge distribution.
pub const EDGES: PlotFile = PlotFile {
    title: "Net edge of the opportunities (basis: edge less IOC cost; cross-venue: net)",
    file: "backtest_edges.png",
};
/// Latency percentiles.
pub const LATENCY: PlotFile = PlotFile {
    title: "Replay latency percentiles (virtual clock: recorded time, not processing cost)",
    file: "backtest_latency.png",
};

/// Every plot, in the report's order.
pub const PLOTS: [PlotFile; 4] = [EQUITY, DRAWDOWN, EDGES, LATENCY];

/// Percentiles of a histogram summary drawn on the latency plot.
const SUMMARY_QUANTILES: [f64; 5] = [0.5, 0.9, 0.99, 0.999, 0.9999];

/// Writes every plot of [`PLOTS`] into `dir`; returns their paths.
pub fn write_plots(
    dir: &Path,
    trades: &[TradeLine],
    edges: &NetEdges,
    histograms: &[HistogramSummary],
) -> Result<Vec<PathBuf>, PlotError> {
    let cumulative = cumulative_pnl(trades);
    let mut peak = f64::MIN;
    let drawdown: Vec<(f64, f64)> = cumulative
        .iter()
        .map(|&(x, y)| {
            peak = peak.max(y);
            (x, y - peak)
        })
        .collect();
    let path = |p: PlotFile| dir.join(p.file);
    write_curve(&path(EQUITY), EQUITY.title, "net PnL (quote)", &cumulative)?;
    write_curve(
        &path(DRAWDOWN),
        DRAWDOWN.title,
        "below peak (quote)",
        &drawdown,
    )?;
    write_edges(&path(EDGES), edges)?;
    write_percentile_lines(&path(LATENCY), LATENCY.title, latency_lines(histograms))?;
    Ok(PLOTS.iter().map(|&p| path(p)).collect())
}

/// `(trade number, cumulative net PnL)`, from `(0, 0)`.
fn cumulative_pnl(trades: &[TradeLine]) -> Vec<(f64, f64)> {
    let mut sum = 0.0;
    let mut points = vec![(0.0, 0.0)];
    for (i, t) in trades.iter().enumerate() {
        sum += t.pnl_quote;
        points.push(((i + 1) as f64, sum));
    }
    points
}

/// `lo..hi` widened to at least `min_width` and by a 5% margin, so a flat or single
/// point still has axes.
fn padded(values: impl Iterator<Item = f64>, min_width: f64) -> std::ops::Range<f64> {
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if lo > hi { (0.0, 0.0) } else { (lo, hi) };
    let margin = ((hi - lo) * 0.05).max(min_width / 2.0);
    (lo - margin)..(hi + margin)
}

/// A line with the area under it filled, against the trade number.
fn write_curve(
    path: &Path,
    title: &str,
    y_desc: &str,
    points: &[(f64, f64)],
) -> Result<(), PlotError> {
    register_embedded_font()?;
    let draw_err = |e: &dyn std::fmt::Display| draw_error(path, e);
    let x_max = points.last().map_or(1.0, |p| p.0.max(1.0));
    let y = padded(points.iter().map(|p| p.1), 1e-6);
    let root = BitMapBackend::new(path, PLOT_SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| draw_err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT_FAMILY, 22))
        .margin(16)
        .margin_right(48)
        .x_label_area_size(48)
        .y_label_area_size(96)
        .build_cartesian_2d(0.0..x_max, y)
        .map_err(|e| draw_err(&e))?;
    chart
        .configure_mesh()
        .x_desc("closed trades")
        .y_desc(y_desc)
        .label_style((FONT_FAMILY, 14))
        .draw()
        .map_err(|e| draw_err(&e))?;
    let color = Palette99::pick(0).to_rgba();
    chart
        .draw_series(
            AreaSeries::new(points.iter().copied(), 0.0, color.mix(0.2))
                .border_style(color.stroke_width(2)),
        )
        .map_err(|e| draw_err(&e))?;
    root.present().map_err(|e| draw_err(&e))
}

/// `EDGE_BINS` equal bins over every value of both series: the bins' lower bounds,
/// their width, and each series' counts.
fn bins(series: &[&[f64]]) -> (f64, f64, Vec<Vec<u32>>) {
    let all = series.iter().flat_map(|s| s.iter().copied());
    let (lo, hi) = all.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lo, hi) = if lo > hi {
        (0.0, 1.0)
    } else {
        (lo.floor(), hi.ceil().max(lo.floor() + 1.0))
    };
    let width = (hi - lo) / EDGE_BINS as f64;
    let counts = series
        .iter()
        .map(|s| {
            let mut c = vec![0u32; EDGE_BINS];
            for v in s.iter() {
                // v >= lo: the quotient is 0..=EDGE_BINS (NaN saturates to 0).
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let i = (((v - lo) / width) as usize).min(EDGE_BINS - 1);
                c[i] += 1;
            }
            c
        })
        .collect();
    (lo, width, counts)
}

/// The histogram of both kinds' net edges, overlaid.
fn write_edges(path: &Path, edges: &NetEdges) -> Result<(), PlotError> {
    register_embedded_font()?;
    let draw_err = |e: &dyn std::fmt::Display| draw_error(path, e);
    let named = [
        ("basis", edges.basis_bps.as_slice()),
        ("cross-venue", edges.spread_bps.as_slice()),
    ];
    let (lo, width, counts) = bins(&named.map(|(_, s)| s));
    let top = counts.iter().flatten().copied().max().unwrap_or(0).max(1);
    let root = BitMapBackend::new(path, PLOT_SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| draw_err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(EDGES.title, (FONT_FAMILY, 22))
        .margin(16)
        .margin_right(48)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(lo..lo + width * EDGE_BINS as f64, 0u32..top + top / 10 + 1)
        .map_err(|e| draw_err(&e))?;
    chart
        .configure_mesh()
        .x_desc("net edge (bps)")
        .y_desc("opportunities")
        .label_style((FONT_FAMILY, 14))
        .draw()
        .map_err(|e| draw_err(&e))?;
    for (k, ((name, values), counts)) in named.iter().zip(&counts).enumerate() {
        let color = Palette99::pick(k).to_rgba();
        let bars = counts.iter().enumerate().map(|(i, &n)| {
            let x = lo + width * i as f64;
            Rectangle::new([(x, 0), (x + width, n)], color.mix(0.5).filled())
        });
        chart
            .draw_series(bars)
            .map_err(|e| draw_err(&e))?
            .label(format!("{name} ({})", values.len()))
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 6), (x + 16, y + 6)], color.mix(0.5).filled())
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font((FONT_FAMILY, 14))
        .draw()
        .map_err(|e| draw_err(&e))?;
    root.present().map_err(|e| draw_err(&e))
}

/// One line per histogram with samples, through its summary's percentiles.
fn latency_lines(histograms: &[HistogramSummary]) -> Vec<PercentileLine<'_>> {
    histograms
        .iter()
        .filter(|h| h.count > 0)
        .map(|h| {
            let values = [h.p50_ns, h.p90_ns, h.p99_ns, h.p999_ns, h.p9999_ns];
            let points = SUMMARY_QUANTILES
                .iter()
                .zip(values)
                .map(|(&q, ns)| percentile_point(q, ns))
                .collect();
            (h.name.as_str(), points)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::plot::decode_png;

    fn trade(pnl_quote: f64) -> TradeLine {
        TradeLine {
            entry_at: "2026-11-21T09:59:59.000Z".into(),
            exit_at: "2026-11-21T10:00:00.000Z".into(),
            hour: 10,
            strategy: "BASIS".into(),
            long: "binance BTCUSDT".into(),
            short: "binance BTCUSDT".into(),
            qty: 0.01,
            pnl_quote,
            pnl_bps: pnl_quote,
            fees_quote: 0.1,
            confidence: 100,
            exit_reason: "TARGET".into(),
            slippage_bps: 0.0,
            notional_quote: 1_000.0,
            hold_ms: 100.0,
        }
    }

    fn summary(name: &str, count: u64, p50_ns: u64) -> HistogramSummary {
        HistogramSummary {
            name: name.into(),
            count,
            p50_ns,
            p90_ns: p50_ns * 2,
            p99_ns: p50_ns * 5,
            p999_ns: p50_ns * 10,
            p9999_ns: p50_ns * 20,
            max_ns: p50_ns * 40,
        }
    }

    #[test]
    fn test_backtest_plots_are_drawn_pngs() {
        let dir = tempfile::tempdir().unwrap();
        let trades: Vec<_> = [2.0, -1.0, 3.0, -4.0, 1.5].map(trade).into();
        let edges = NetEdges {
            basis_bps: (0..200).map(|i| f64::from(i % 17) - 3.0).collect(),
            spread_bps: vec![1.0, 2.5, 2.5, 8.0],
        };
        let histograms = [
            summary("edge", 100, 0),
            summary("venue_delay_binance", 100, 2_000_000),
        ];
        let files = write_plots(dir.path(), &trades, &edges, &histograms).unwrap();
        assert_eq!(files.len(), PLOTS.len());
        let pixels = (PLOT_SIZE.0 * PLOT_SIZE.1) as usize;
        for file in &files {
            let (size, inked) = decode_png(file);
            assert_eq!(size, PLOT_SIZE, "{}", file.display());
            assert!(inked > pixels / 100, "{}: {inked} drawn", file.display());
            assert!(inked < pixels * 2 / 3, "{}: {inked} drawn", file.display());
        }
    }

    #[test]
    fn test_backtest_plots_of_nothing_still_draw_axes() {
        let dir = tempfile::tempdir().unwrap();
        let files = write_plots(dir.path(), &[], &NetEdges::default(), &[]).unwrap();
        for file in &files {
            let (size, inked) = decode_png(file);
            assert_eq!(size, PLOT_SIZE);
            assert!(inked > 0, "{}", file.display());
        }
    }

    #[test]
    fn test_plot_series_of_known_values() {
        let trades: Vec<_> = [2.0, -1.0, 3.0].map(trade).into();
        assert_eq!(
            cumulative_pnl(&trades),
            [(0.0, 0.0), (1.0, 2.0), (2.0, 1.0), (3.0, 4.0)]
        );
        // 0..=40 over 40 bins of 1 bps; 40 falls in the last bin.
        let (lo, width, counts) = bins(&[&[0.0, 0.5, 1.0, 40.0], &[39.9]]);
        assert_eq!((lo, width), (0.0, 1.0));
        assert_eq!((counts[0][0], counts[0][1], counts[0][39]), (2, 1, 1));
        assert_eq!(counts[1][39], 1);
        assert_eq!(counts[0].iter().sum::<u32>(), 4);
        let (lo, width, _) = bins(&[&[], &[]]);
        assert!(lo == 0.0 && width > 0.0);
        let summaries = [summary("book", 0, 5), summary("feed", 3, 1_000)];
        let lines = latency_lines(&summaries);
        assert_eq!(lines.len(), 1, "empty histograms are left out");
        assert_eq!(lines[0].1[0], (2.0, 1.0), "p50 at 1/(1-0.5), 1 µs");
    }
}
