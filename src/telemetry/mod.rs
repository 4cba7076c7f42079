//! Telemetry sidecar: latency histograms, the opportunity database and progress lines.

pub mod hgrm;
pub mod histograms;
pub mod progress;
pub mod sample;
pub mod sidecar;
pub mod sqlite;
pub mod tracker_stats;

pub use sidecar::{TelemetryConfig, TelemetryError, TelemetryInputs, TelemetryStage};
