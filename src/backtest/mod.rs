//! `edgeline backtest`: a replay with the paper gateway, then a report people can read.
//!
//! - [`data`]: what the report reads back from the run's database;
//! - [`report`]: the figures, as Markdown and JSON.
//!
//! Cold path only: everything here runs after the replay has finished.

pub mod data;
pub mod report;

pub use data::BacktestData;
pub use report::{BacktestReport, JSON_FILE, MARKDOWN_FILE};
