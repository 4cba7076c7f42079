//! Telemetry sidecar: latency histograms, the database (SQLite or PostgreSQL, with its
//! spool) and progress lines.

pub mod db;
pub mod hgrm;
pub mod histograms;
pub mod progress;
pub mod sample;
pub mod sidecar;
pub mod tracker_stats;

pub use sidecar::{TelemetryConfig, TelemetryError, TelemetryInputs, TelemetryStage};
