//! `edgeline backtest`: a replay with the paper gateway, then a report people can read.
//!
//! - [`data`]: what the report reads back from the run's database;
//! - [`report`]: the figures, as Markdown and JSON;
//! - [`plot`]: the PNG plots beside the report;
//! - [`grid`]: a parameter grid and each point's configuration;
//! - [`sweep`]: the grid backtested in parallel with a walk-forward split;
//! - [`sweep_report`]: in-sample against out-of-sample, as Markdown and JSON.
//!
//! Cold path only: everything here runs after the replay has finished.

pub mod data;
pub mod grid;
pub mod plot;
pub mod report;
pub mod sweep;
pub mod sweep_report;

use std::path::{Path, PathBuf};

pub use data::BacktestData;
pub use report::{BacktestReport, JSON_FILE, MARKDOWN_FILE};

use crate::runtime::HistogramSummary;
use crate::telemetry::plot::PlotError;

/// Why the report's files were not all written.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    /// Writing `backtest.md` or `backtest.json` failed: check the output folder.
    #[error("writing the backtest report: {0}")]
    Io(#[from] std::io::Error),
    /// A plot could not be drawn or written.
    #[error(transparent)]
    Plot(#[from] PlotError),
}

/// Writes the plots into `dir`, then the report linking them; returns every file.
pub fn write_backtest(
    dir: &Path,
    report: &mut BacktestReport,
    data: &BacktestData,
    histograms: &[HistogramSummary],
) -> Result<Vec<PathBuf>, BacktestError> {
    let mut files = plot::write_plots(dir, &data.trades, &data.edges, histograms)?;
    report.plots = plot::PLOTS.to_vec();
    files.extend(report.write(dir)?);
    Ok(files)
}
