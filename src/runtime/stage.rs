//! The stage abstraction: every part of the pipeline is an object with a non-blocking
//! [`Stage::poll`], whatever thread or core it ends up on.
//!
//! A stage owns its state and its ring ends; it never blocks, never locks and (on the hot
//! path) never allocates inside `poll`. [`Stage::finish`] runs once on the control thread
//! after every worker thread stopped, in pipeline order, to drain and report.

use std::fmt;

use crate::runtime::report::RunReport;

/// The stages of the pipeline, in pipeline order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StageKind {
    /// Sockets and venue decoders.
    Feed,
    /// Order books.
    Book,
    /// Edge strategies and the opportunity tracker.
    Edge,
    /// Order gateway: risk, sizing, the paper venue and two-leg execution.
    Gateway,
    /// Telemetry sidecar: histograms, database, progress.
    Telemetry,
}

impl StageKind {
    /// Every stage, in pipeline order.
    pub const ALL: [StageKind; 5] = [
        StageKind::Feed,
        StageKind::Book,
        StageKind::Edge,
        StageKind::Gateway,
        StageKind::Telemetry,
    ];

    /// Configuration and report name.
    pub const fn name(self) -> &'static str {
        match self {
            StageKind::Feed => "feed",
            StageKind::Book => "book",
            StageKind::Edge => "edge",
            StageKind::Gateway => "gateway",
            StageKind::Telemetry => "telemetry",
        }
    }

    /// Parses a configuration name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for StageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One pipeline stage.
pub trait Stage: Send {
    /// Which stage this is.
    fn kind(&self) -> StageKind;

    /// Does a bounded amount of work without blocking; returns how many items it handled
    /// (0 means it found nothing to do, which drives the core's idle policy).
    fn poll(&mut self) -> usize;

    /// Runs once after all worker threads stopped, in pipeline order: drain what is left
    /// and add this stage's figures to the report.
    fn finish(&mut self, report: &mut RunReport);
}
