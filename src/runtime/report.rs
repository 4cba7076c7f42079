//! What a finished run reports: named counters from every stage and a summary of every
//! latency histogram. Filled by [`crate::runtime::Stage::finish`] on the control thread.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Percentiles of one latency histogram, in nanoseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistogramSummary {
    /// Histogram name (`feed`, `book`, `edge`, `ingress_to_decision`).
    pub name: String,
    /// Number of samples.
    pub count: u64,
    /// Median.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
    /// 99.99th percentile.
    pub p9999_ns: u64,
    /// Largest sample.
    pub max_ns: u64,
}

/// Figures of a finished run.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// Counters by `stage.name`, for example `feed.frames`.
    pub counters: BTreeMap<&'static str, u64>,
    /// One entry per latency histogram.
    pub histograms: Vec<HistogramSummary>,
    /// Where the run wrote its files.
    pub output_dir: PathBuf,
    /// Lines stages add for the operator (the scanner's best opportunities).
    pub notes: Vec<String>,
}

impl RunReport {
    /// Sets a counter.
    pub fn set(&mut self, name: &'static str, value: u64) {
        self.counters.insert(name, value);
    }

    /// A counter's value (0 when never set).
    pub fn counter(&self, name: &str) -> u64 {
        self.counters.get(name).copied().unwrap_or(0)
    }

    /// The histogram summary with this name.
    pub fn histogram(&self, name: &str) -> Option<&HistogramSummary> {
        self.histograms.iter().find(|h| h.name == name)
    }
}
